// Shared fixture for the KMS API tests: MemoryBackend, a real Keyring, a
// SimulatedClock and sequential ids.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "crypto/crypto.h"
#include "domain/kms/key_directory.h"
#include "domain/kms/kms_crypto.h"
#include "storage/memory/memory_backend.h"
#include "util/id_generator.h"
#include "util/time.h"
#include "support/matchers.h"

namespace coffer::domain::kms {

class KmsFixture : public ::testing::Test {
 protected:
  KmsFixture() : clock_(util::FromUnixMillis(1'800'000'000'000)) {}

  void SetUp() override {
    auto k = keyring::Keyring::Open(backend_, root_, clock_);
    ASSERT_TRUE(k.has_value());
    keyring_ = std::move(*k);
    dir_ = std::make_unique<KeyDirectory>(backend_, *keyring_, clock_, ids_, "us-east-1",
                                          "000000000000");
    crypto_ = std::make_unique<KmsCrypto>(*dir_, *keyring_);
  }

  KeyMetadata NewKey(std::string description = "test key") {
    CreateKeyRequest req;
    req.description = std::move(description);
    auto meta = dir_->CreateKey(req);
    EXPECT_TRUE(meta.has_value()) << meta.error().message;
    return meta.value_or(KeyMetadata{});
  }

  static std::chrono::system_clock::duration Days(int n) { return std::chrono::hours(24) * n; }

  storage::memory::MemoryBackend backend_;
  util::SimulatedClock clock_;
  util::SequentialIdGenerator ids_;
  keyring::RootKey root_ = keyring::RootKey::FromMaterial(crypto::RandomSecret(32));
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<KeyDirectory> dir_;
  std::unique_ptr<KmsCrypto> crypto_;
};

}  // namespace coffer::domain::kms
