#include "crypto/shamir.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "crypto/crypto.h"

namespace coffer::crypto {
namespace {

SecretBytes Share(std::initializer_list<uint8_t> bytes) {
  std::string s;
  for (uint8_t b : bytes) s.push_back(static_cast<char>(b));
  return SecretBytes(s);
}

// Every subset of `threshold` or more of the shares gives the secret back.
TEST(ShamirTest, AnyThresholdSubsetRecombines) {
  SecretBytes secret = RandomSecret(32);
  auto shares = ShamirSplit(secret, 5, 3);
  ASSERT_TRUE(shares.has_value()) << shares.error().message;
  ASSERT_EQ(shares->size(), 5u);
  std::set<uint8_t> xs;
  for (const SecretBytes& s : *shares) {
    EXPECT_EQ(s.size(), 33u);
    xs.insert(s.bytes()[32]);
  }
  EXPECT_EQ(xs.size(), 5u);  // distinct x values
  EXPECT_EQ(xs.count(0), 0u);
  int subsets = 0;
  for (int mask = 0; mask < 32; ++mask) {
    if (__builtin_popcount(mask) < 3) continue;
    std::vector<SecretBytes> chosen;
    for (int i = 0; i < 5; ++i) {
      if (mask & (1 << i)) chosen.push_back((*shares)[i]);
    }
    // Order does not matter either.
    if (mask & 1) std::swap(chosen.front(), chosen.back());
    auto combined = ShamirCombine(chosen);
    ASSERT_TRUE(combined.has_value()) << combined.error().message;
    EXPECT_TRUE(combined->Equals(secret)) << "subset " << mask;
    ++subsets;
  }
  EXPECT_EQ(subsets, 16);
}

// Fewer shares than the threshold give something else (not an error: the
// caller verifies what it gets).
TEST(ShamirTest, FewerThanThresholdDoNotRecombine) {
  SecretBytes secret = RandomSecret(32);
  auto shares = ShamirSplit(secret, 5, 3);
  ASSERT_TRUE(shares.has_value());
  std::vector<SecretBytes> two = {(*shares)[0], (*shares)[3]};
  auto combined = ShamirCombine(two);
  ASSERT_TRUE(combined.has_value());
  EXPECT_FALSE(combined->Equals(secret));
}

// Hand-computed shares: f(x) = 0x42 + 0x83 x. f(1) = 0x42 ^ 0x83 = 0xC1;
// f(0x57) = 0x42 ^ (0x57 * 0x83) = 0x42 ^ 0xC1 = 0x83 (FIPS-197's product
// example 0x57 * 0x83 = 0xC1).
TEST(ShamirTest, KnownVectorInAesField) {
  std::vector<SecretBytes> shares = {Share({0xC1, 0x01}), Share({0x83, 0x57})};
  auto combined = ShamirCombine(shares);
  ASSERT_TRUE(combined.has_value()) << combined.error().message;
  EXPECT_TRUE(combined->Equals(Share({0x42})));
}

// Splits are fresh each time: the same secret gives different shares.
TEST(ShamirTest, SplitsAreRandomized) {
  SecretBytes secret = RandomSecret(16);
  auto a = ShamirSplit(secret, 3, 2);
  auto b = ShamirSplit(secret, 3, 2);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_FALSE((*a)[0].Equals((*b)[0]));
}

TEST(ShamirTest, BadArgumentsAreRefused) {
  SecretBytes secret = RandomSecret(16);
  for (auto [shares, threshold] : {std::pair{5, 1}, {2, 3}, {256, 3}, {0, 0}}) {
    auto r = ShamirSplit(secret, shares, threshold);
    ASSERT_FALSE(r.has_value()) << shares << "/" << threshold;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(ShamirSplit(SecretBytes(), 3, 2).has_value());
  EXPECT_TRUE(ShamirSplit(secret, 255, 255).has_value());

  auto shares = ShamirSplit(secret, 3, 2);
  ASSERT_TRUE(shares.has_value());
  std::vector<SecretBytes> one = {(*shares)[0]};
  EXPECT_FALSE(ShamirCombine(one).has_value());
  std::vector<SecretBytes> same = {(*shares)[0], (*shares)[0]};
  auto dup = ShamirCombine(same);
  ASSERT_FALSE(dup.has_value());
  EXPECT_NE(dup.error().message.find("same share"), std::string::npos);
  SecretBytes shorter((*shares)[1]);
  shorter.Truncate(5);
  std::vector<SecretBytes> mixed = {(*shares)[0], shorter};
  EXPECT_FALSE(ShamirCombine(mixed).has_value());
  SecretBytes at_zero((*shares)[1]);
  at_zero.MutableData()[at_zero.size() - 1] = 0;
  std::vector<SecretBytes> zero_x = {(*shares)[0], at_zero};
  EXPECT_FALSE(ShamirCombine(zero_x).has_value());
}

}  // namespace
}  // namespace coffer::crypto
