#include "util/secret_bytes.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace coffer::util {
namespace {

// Contents are compared with Equals (never printed).
TEST(SecretBytesTest, ConstructFromBytesAndSize) {
  SecretBytes s("hunter2");
  EXPECT_EQ(s.size(), 7u);
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(s.Reveal() == "hunter2");
  SecretBytes zeros(size_t{4});
  EXPECT_EQ(zeros.size(), 4u);
  EXPECT_TRUE(zeros.Reveal() == std::string(4, '\0'));
  SecretBytes empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(empty.Reveal().empty());
  SecretBytes binary(std::string_view("a\0b", 3));
  EXPECT_EQ(binary.size(), 3u);
}

// A copy is independent of the original; copy-assignment replaces contents.
TEST(SecretBytesTest, CopyIsDeepAndEqual) {
  SecretBytes a("value");
  SecretBytes b(a);
  EXPECT_TRUE(a.Equals(b));
  EXPECT_NE(a.bytes(), b.bytes());
  b.MutableData()[0] = 'V';
  EXPECT_FALSE(a.Equals(b));
  SecretBytes c("other, longer");
  c = a;
  EXPECT_TRUE(c.Equals(a));
  c = c;  // self-assignment keeps the contents
  EXPECT_TRUE(c.Reveal() == "value");
}

// A move transfers the buffer and leaves the source empty.
TEST(SecretBytesTest, MoveTransfersAndEmptiesSource) {
  SecretBytes a("value");
  const uint8_t* data = a.bytes();
  SecretBytes b(std::move(a));
  EXPECT_EQ(b.bytes(), data);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented state
  EXPECT_TRUE(b.Reveal() == "value");
  SecretBytes c("x");
  c = std::move(b);
  EXPECT_TRUE(c.Reveal() == "value");
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

// Equals compares contents and lengths.
TEST(SecretBytesTest, EqualsComparesContentAndLength) {
  EXPECT_TRUE(SecretBytes("abc").Equals(SecretBytes("abc")));
  EXPECT_FALSE(SecretBytes("abc").Equals(SecretBytes("abd")));
  EXPECT_FALSE(SecretBytes("abc").Equals(SecretBytes("ab")));
  EXPECT_TRUE(SecretBytes().Equals(SecretBytes("")));
}

// Truncate shrinks and zeroes the tail that is no longer visible.
TEST(SecretBytesTest, TruncateShrinksAndZeroesTail) {
  SecretBytes s("abcdef");
  const uint8_t* data = s.bytes();
  s.Truncate(2);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.Reveal() == "ab");
  for (size_t i = 2; i < 6; ++i) EXPECT_EQ(data[i], 0) << i;
  s.Truncate(0);
  EXPECT_TRUE(s.empty());
  SecretBytes copy(s);
  EXPECT_TRUE(copy.empty());
}

// SecureClear zeroes and empties a string.
TEST(SecretBytesTest, SecureClearEmptiesString) {
  std::string s = "secret";
  SecureClear(s);
  EXPECT_TRUE(s.empty());
  char buf[4] = {'a', 'b', 'c', 'd'};
  SecureZero(buf, sizeof buf);
  for (char c : buf) EXPECT_EQ(c, 0);
}

}  // namespace
}  // namespace coffer::util
