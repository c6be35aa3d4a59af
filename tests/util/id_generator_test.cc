#include "util/id_generator.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

namespace coffer::util {
namespace {

const std::regex kUuidV4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

// Random UUIDs are lower-case version 4, variant 1, and unique.
TEST(IdGeneratorTest, RandomUuidsAreVersion4AndUnique) {
  RandomIdGenerator ids;
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string u = ids.NewUuid();
    EXPECT_TRUE(std::regex_match(u, kUuidV4)) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 200u);
}

// Random tokens have the requested length and use only the alphabet, all of it.
TEST(IdGeneratorTest, RandomTokensUseOnlyTheAlphabet) {
  RandomIdGenerator ids;
  std::string token = ids.NewToken(kAlphanumeric, 4000);
  ASSERT_EQ(token.size(), 4000u);
  std::set<char> used(token.begin(), token.end());
  for (char c : used) EXPECT_NE(kAlphanumeric.find(c), std::string_view::npos) << c;
  EXPECT_EQ(used.size(), kAlphanumeric.size());
  EXPECT_EQ(ids.NewToken("ab", 0), "");
  std::string binary = ids.NewToken("01", 64);
  EXPECT_EQ(binary.find_first_not_of("01"), std::string::npos);
}

// The sequential generator is deterministic and still well-formed.
TEST(IdGeneratorTest, SequentialIdsAreDeterministic) {
  SequentialIdGenerator ids;
  EXPECT_EQ(ids.NewUuid(), "00000000-0000-4000-8000-000000000001");
  EXPECT_EQ(ids.NewUuid(), "00000000-0000-4000-8000-000000000002");
  EXPECT_TRUE(std::regex_match(ids.NewUuid(), kUuidV4));
  std::string t = ids.NewToken(kAlphanumeric, 6);
  EXPECT_EQ(t.size(), 6u);
  EXPECT_EQ(t.find_first_not_of(kAlphanumeric), std::string::npos);
  SequentialIdGenerator other;
  EXPECT_EQ(other.NewUuid(), "00000000-0000-4000-8000-000000000001");
}

}  // namespace
}  // namespace coffer::util
