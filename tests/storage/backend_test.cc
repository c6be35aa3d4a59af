#include "storage/backend.h"

#include <string>

#include <gtest/gtest.h>

namespace coffer::storage {
namespace {

// PrefixEnd increments the last byte.
TEST(PrefixEndTest, IncrementsLastByte) {
  EXPECT_EQ(PrefixEnd("/app/"), "/app0");
  EXPECT_EQ(PrefixEnd("a"), "b");
  EXPECT_EQ(PrefixEnd(std::string("a\xfe", 2)), std::string("a\xff", 2));
}

// Trailing 0xff bytes are dropped before incrementing, since they cannot be incremented.
TEST(PrefixEndTest, DropsTrailingFfBytesBeforeIncrementing) {
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("a\x00\xff\xff", 4)), std::string("a\x01", 2));
}

// A prefix of only 0xff bytes, or the empty prefix, has no upper bound ("").
TEST(PrefixEndTest, AllFfOrEmptyPrefixHasNoUpperBound) {
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), "");
  EXPECT_EQ(PrefixEnd(""), "");
}

}  // namespace
}  // namespace coffer::storage
