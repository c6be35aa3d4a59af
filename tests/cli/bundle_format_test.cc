#include "cli/bundle_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "support/matchers.h"

namespace coffer::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Values = std::vector<std::pair<std::string, SecretBytes>>;

const SecretBytes kKey(std::string(32, '\x42'));
constexpr std::string_view kCanary = "canary-7f3a-bundle-value";

BundleHeader Header(const Values& values) {
  BundleHeader h;
  h.name = "app.bundle";
  h.kms_key_id = "arn:aws:kms:us-east-1:000000000000:key/1234";
  h.encrypted_data_key = "wrapped-data-key-bytes";
  h.created = "2026-12-03T18:00:00Z";
  h.services = {"shared", "app"};
  for (const auto& [n, v] : values) h.names.push_back(n);
  return h;
}

Values Sample() {
  Values v;
  v.emplace_back("A", SecretBytes(std::string(kCanary)));
  v.emplace_back("B_2", SecretBytes(std::string_view("")));
  v.emplace_back("C", SecretBytes(std::string_view("multi\nline 'quoted' \"x\" $HOME \xc3\xa9")));
  return v;
}

std::string Sealed() {
  Values v = Sample();
  auto r = SealBundle(Header(v), kKey, v);
  EXPECT_TRUE(IsOk(r));
  return r ? *r : std::string();
}

// A sealed bundle opens to exactly the names and bytes it was given.
TEST(BundleFormatTest, SealThenOpenRoundTripsEveryValueExactly) {
  std::string file = Sealed();
  auto parsed = ParseBundle(file);
  ASSERT_TRUE(IsOk(parsed));
  EXPECT_EQ(parsed->header.name, "app.bundle");
  EXPECT_EQ(parsed->header.services, (std::vector<std::string>{"shared", "app"}));
  EXPECT_EQ(parsed->header.names, (std::vector<std::string>{"A", "B_2", "C"}));
  auto opened = OpenBundle(*parsed, kKey);
  ASSERT_TRUE(IsOk(opened));
  Values want = Sample();
  ASSERT_EQ(opened->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*opened)[i].first, want[i].first);
    EXPECT_TRUE((*opened)[i].second.Equals(want[i].second)) << want[i].first;
  }
}

// Values are encrypted: the file never holds a value in the clear.
TEST(BundleFormatTest, FileNeverHoldsAValueInTheClear) {
  EXPECT_THAT(Sealed(), Not(HasSubstr(std::string(kCanary))));
}

// Flipping any single byte of the file (header, nonce, ciphertext or tag) is
// refused by parsing or authentication; nothing is released.
TEST(BundleFormatTest, ChangingAnyByteFailsAsTamperedOrMalformed) {
  std::string file = Sealed();
  for (size_t i = 0; i < file.size(); ++i) {
    std::string bad = file;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto parsed = ParseBundle(bad);
    if (!parsed) {
      EXPECT_TRUE(HasError(parsed, ErrorCode::kDataLoss, Reason::kCiphertextMalformed)) << i;
      continue;
    }
    auto opened = OpenBundle(*parsed, kKey);
    EXPECT_TRUE(HasError(opened, ErrorCode::kDataLoss, Reason::kCiphertextTampered)) << i;
  }
}

// Truncation at any length and trailing bytes are refused.
TEST(BundleFormatTest, TruncatedOrExtendedFileIsRefused) {
  std::string file = Sealed();
  for (size_t n = 0; n < file.size(); ++n) {
    auto parsed = ParseBundle(file.substr(0, n));
    if (parsed) {
      EXPECT_FALSE(OpenBundle(*parsed, kKey).has_value()) << n;
    }
  }
  auto parsed = ParseBundle(file + "x");
  ASSERT_TRUE(IsOk(parsed));
  EXPECT_TRUE(HasError(OpenBundle(*parsed, kKey), ErrorCode::kDataLoss,
                       Reason::kCiphertextTampered));
}

// Another data key does not open the bundle.
TEST(BundleFormatTest, WrongDataKeyFailsAsTampered) {
  auto parsed = ParseBundle(Sealed());
  ASSERT_TRUE(IsOk(parsed));
  SecretBytes other(std::string(32, '\x43'));
  EXPECT_TRUE(HasError(OpenBundle(*parsed, other), ErrorCode::kDataLoss,
                       Reason::kCiphertextTampered));
}

// Names that are not environment variable names, duplicates and NUL in a
// value are refused at creation, and the message never holds the value.
TEST(BundleFormatTest, SealRefusesBadNamesDuplicatesAndNul) {
  for (const char* name : {"", "1A", "A-B", "A=B", "A B"}) {
    Values v;
    v.emplace_back(name, SecretBytes(std::string_view("x")));
    EXPECT_TRUE(HasError(SealBundle(Header(v), kKey, v), ErrorCode::kInvalidArgument,
                         Reason::kValidation))
        << name;
  }
  Values dup;
  dup.emplace_back("A", SecretBytes(std::string_view("1")));
  dup.emplace_back("A", SecretBytes(std::string_view("2")));
  EXPECT_TRUE(HasError(SealBundle(Header(dup), kKey, dup), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  Values nul;
  nul.emplace_back("A", SecretBytes(std::string(kCanary) + std::string(1, '\0')));
  auto r = SealBundle(Header(nul), kKey, nul);
  ASSERT_TRUE(HasError(r, ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_THAT(r.error().message, Not(HasSubstr(std::string(kCanary))));
}

// A header that claims more entries than the file could hold is refused
// before anything is allocated for them.
TEST(BundleFormatTest, HugeCountsAreRefusedAsMalformed) {
  std::string file(kBundleMagic);
  file.push_back(static_cast<char>(kBundleVersion));
  for (const char* f : {"n", "k", "d", "t"}) {
    file += std::string("\0\0\0\1", 4) + f;
  }
  file += std::string("\xff\xff\xff\xff", 4);
  EXPECT_TRUE(HasError(ParseBundle(file), ErrorCode::kDataLoss, Reason::kCiphertextMalformed));
  EXPECT_TRUE(HasError(ParseBundle("not a bundle"), ErrorCode::kDataLoss,
                       Reason::kCiphertextMalformed));
}

}  // namespace
}  // namespace coffer::cli
