#include "keyring/seal.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "storage/memory/memory_backend.h"
#include "support/temp_dir.h"
#include "util/encoding.h"

namespace coffer::keyring {
namespace {

using storage::memory::MemoryBackend;

RootKey NewRoot() { return RootKey::FromMaterial(crypto::RandomSecret(32)); }

std::vector<std::string> Texts(const std::vector<SecretBytes>& shares) {
  std::vector<std::string> out;
  for (const auto& s : shares) out.emplace_back(s.Reveal());
  return out;
}

class SealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    roots_.push_back(NewRoot());
    ASSERT_TRUE(WrapRoots(seal_key_, roots_, config_).has_value());
    auto shares = MakeShares(seal_key_, 5, 3, config_);
    ASSERT_TRUE(shares.has_value()) << shares.error().message;
    shares_ = Texts(*shares);
  }

  Result<SecretBytes> Open(std::initializer_list<int> which) {
    std::vector<SecretBytes> raw;
    for (int i : which) {
      auto checked = CheckShare(config_, shares_[i]);
      if (!checked) return Fail(checked.error());
      raw.push_back(*checked);
    }
    return OpenWithShares(config_, raw);
  }

  SecretBytes seal_key_ = NewSealKey();
  std::vector<RootKey> roots_;
  SealConfig config_;
  std::vector<std::string> shares_;
};

TEST_F(SealTest, AnyThreeOfFiveSharesOpenTheSealKeyAndTheRoots) {
  for (auto which : {std::initializer_list<int>{0, 1, 2}, {4, 2, 0}, {1, 3, 4}}) {
    auto opened = Open(which);
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    EXPECT_TRUE(opened->Equals(seal_key_));
  }
  auto roots = OpenRoots(config_, seal_key_);
  ASSERT_TRUE(roots.has_value()) << roots.error().message;
  ASSERT_EQ(roots->size(), 1u);
  EXPECT_TRUE(roots->front().material().Equals(roots_.front().material()));
}

TEST_F(SealTest, TwoSharesDoNotOpen) {
  auto opened = Open({0, 1});
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().reason, Reason::kInvalidShare);
}

TEST_F(SealTest, AFlippedBitIsCorruptAndAShareOfAnotherSealIsWrong) {
  std::string raw = *util::Base64Decode(shares_[0]);
  raw[5] ^= 0x20;
  auto corrupt = CheckShare(config_, util::Base64Encode(raw));
  ASSERT_FALSE(corrupt.has_value());
  EXPECT_EQ(corrupt.error().reason, Reason::kCorruptShare);
  EXPECT_EQ(CheckShare(config_, "not base64 at all!").error().reason, Reason::kCorruptShare);
  EXPECT_EQ(CheckShare(config_, shares_[0].substr(0, 20)).error().reason, Reason::kCorruptShare);

  SealConfig other;
  ASSERT_TRUE(WrapRoots(seal_key_, roots_, other).has_value());
  auto other_shares = MakeShares(NewSealKey(), 5, 3, other);
  ASSERT_TRUE(other_shares.has_value());
  auto wrong = CheckShare(config_, std::string((*other_shares)[0].Reveal()));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().reason, Reason::kInvalidShare);
  // The messages never quote the share.
  EXPECT_EQ(wrong.error().message.find(std::string((*other_shares)[0].Reveal())),
            std::string::npos);
}

TEST_F(SealTest, RekeyMakesOldSharesWrongAndKeepsTheSealKey) {
  SealConfig rekeyed = config_;
  auto fresh = MakeShares(seal_key_, 3, 2, rekeyed);
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(CheckShare(rekeyed, shares_[0]).error().reason, Reason::kInvalidShare);
  std::vector<SecretBytes> raw = {*CheckShare(rekeyed, std::string((*fresh)[2].Reveal())),
                                  *CheckShare(rekeyed, std::string((*fresh)[0].Reveal()))};
  auto opened = OpenWithShares(rekeyed, raw);
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  EXPECT_TRUE(opened->Equals(seal_key_));
}

TEST_F(SealTest, OneShareOfOne) {
  SealConfig single = config_;
  auto only = MakeShares(seal_key_, 1, 1, single);
  ASSERT_TRUE(only.has_value());
  std::vector<SecretBytes> raw = {*CheckShare(single, std::string((*only)[0].Reveal()))};
  auto opened = OpenWithShares(single, raw);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(opened->Equals(seal_key_));
}

TEST_F(SealTest, BadShareCountsAreValidationErrors) {
  SealConfig c;
  for (auto [n, t] : {std::pair{0, 0}, {3, 4}, {5, 1}, {256, 3}, {3, 0}}) {
    auto made = MakeShares(seal_key_, n, t, c);
    ASSERT_FALSE(made.has_value()) << n << "/" << t;
    EXPECT_EQ(made.error().reason, Reason::kValidation);
  }
}

TEST_F(SealTest, RecordRoundTripsAndStorageDetectsConcurrentWriters) {
  SecretBytes file_key = crypto::RandomSecret(32);
  ASSERT_TRUE(WrapForKeyFile(seal_key_, file_key, config_).has_value());
  config_.kms_key_id = "1234abcd";
  config_.kms_blob = std::string("\x01\x02\x00\xff", 4);
  auto parsed = ParseSealConfig(EncodeSealConfig(config_));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(EncodeSealConfig(*parsed), EncodeSealConfig(config_));
  auto by_file = OpenWithKeyFile(*parsed, file_key);
  ASSERT_TRUE(by_file.has_value()) << by_file.error().message;
  EXPECT_TRUE(by_file->Equals(seal_key_));
  EXPECT_EQ(OpenWithKeyFile(*parsed, crypto::RandomSecret(32)).error().code,
            ErrorCode::kNotFound);

  MemoryBackend backend;
  auto none = LoadSealConfig(backend);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
  auto rev = StoreSealConfig(backend, config_, 0);
  ASSERT_TRUE(rev.has_value());
  auto again = StoreSealConfig(backend, config_, 0);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAborted);
  auto loaded = LoadSealConfig(backend);
  ASSERT_TRUE(loaded.has_value() && loaded->has_value());
  EXPECT_EQ((*loaded)->revision, *rev);
}

TEST_F(SealTest, ATamperedRecordDoesNotOpen) {
  std::string text = EncodeSealConfig(config_);
  EXPECT_FALSE(ParseSealConfig(text.substr(0, text.size() / 2)).has_value());
  EXPECT_FALSE(ParseSealConfig("coffer-seal 9\n").has_value());
  // Another fingerprint list: the roots wrap is bound to it.
  SealConfig swapped = config_;
  swapped.root_fingerprints = {NewRoot().Fingerprint()};
  EXPECT_FALSE(OpenRoots(swapped, seal_key_).has_value());
  EXPECT_FALSE(OpenRoots(config_, NewSealKey()).has_value());
}

TEST(SealKeyFileTest, ReadsRawOrBase64AndRefusesWideModes) {
  testing::ScopedTempDir dir;
  std::string path = dir.path() + "/unseal.key";
  std::string key = crypto::RandomBytes(32);
  {
    std::ofstream f(path);
    f << util::Base64Encode(key) << "\n";
  }
  ::chmod(path.c_str(), 0644);
  auto wide = ReadUnsealKeyFile(path);
  ASSERT_FALSE(wide.has_value());
  EXPECT_EQ(wide.error().code, ErrorCode::kFailedPrecondition);
  ::chmod(path.c_str(), 0600);
  auto read = ReadUnsealKeyFile(path);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_TRUE(crypto::ConstantTimeEquals(read->Reveal(), key));
  {
    std::ofstream f(path, std::ios::trunc | std::ios::binary);
    f << key;
  }
  read = ReadUnsealKeyFile(path);
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(crypto::ConstantTimeEquals(read->Reveal(), key));
  {
    std::ofstream f(path, std::ios::trunc);
    f << "too short\n";
  }
  EXPECT_FALSE(ReadUnsealKeyFile(path).has_value());
}

}  // namespace
}  // namespace coffer::keyring
