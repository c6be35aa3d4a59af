#include "domain/kms/key_directory.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "crypto/crypto.h"
#include "domain/kms/internal/records.h"
#include "storage/memory/memory_backend.h"
#include "support/matchers.h"

namespace coffer::domain::kms {
namespace {

class KeyDirectoryTest : public ::testing::Test {
 protected:
  KeyDirectoryTest() : clock_(util::FromUnixMillis(1'800'000'000'000)) {}

  void SetUp() override {
    auto k = keyring::Keyring::Open(backend_, root_, clock_);
    ASSERT_TRUE(k.has_value());
    keyring_ = std::move(*k);
    dir_ = NewDirectory();
  }

  std::unique_ptr<KeyDirectory> NewDirectory() {
    return std::make_unique<KeyDirectory>(backend_, *keyring_, clock_, ids_, "us-east-1",
                                          "000000000000");
  }

  // Writes a customer key directly, as the KMS API (#3) will.
  KeyMetadata PutKey(std::string id, KeyState state = KeyState::kEnabled) {
    KeyMetadata m;
    m.key_id = std::move(id);
    m.arn = "arn:aws:kms:us-east-1:000000000000:key/" + m.key_id;
    m.description = "test key";
    m.state = state;
    m.created = clock_.Now();
    EXPECT_TRUE(keyring_->CreateKey(m.key_id).has_value());
    storage::Txn txn;
    txn.writes.push_back(
        storage::Write::Put(internal::KeyRecordKey(m.key_id), internal::EncodeKey(m)));
    EXPECT_TRUE(backend_.Commit(txn).has_value());
    return m;
  }

  void PutAlias(std::string_view alias, std::string_view target) {
    storage::Txn txn;
    txn.writes.push_back(storage::Write::Put(
        internal::AliasRecordKey(alias),
        internal::EncodeAlias({std::string(target), clock_.Now(), clock_.Now()})));
    ASSERT_TRUE(backend_.Commit(txn).has_value());
  }

  storage::memory::MemoryBackend backend_;
  util::SimulatedClock clock_;
  util::SequentialIdGenerator ids_;
  keyring::RootKey root_ = keyring::RootKey::FromMaterial(crypto::RandomSecret(32));
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<KeyDirectory> dir_;
};

// The first Resolve of alias/aws/ssm creates an enabled, AWS-managed key with material.
TEST_F(KeyDirectoryTest, ResolveManagedAliasCreatesKeyWithMaterial) {
  auto meta = dir_->Resolve("alias/aws/ssm");
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  EXPECT_FALSE(meta->key_id.empty());
  EXPECT_EQ(meta->arn, "arn:aws:kms:us-east-1:000000000000:key/" + meta->key_id);
  EXPECT_TRUE(meta->aws_managed);
  EXPECT_EQ(meta->state, KeyState::kEnabled);
  EXPECT_EQ(meta->created, clock_.Now());
  EXPECT_TRUE(keyring_->HasKey(meta->key_id));
  EXPECT_TRUE(backend_.Get("kms/alias/alias/aws/ssm").has_value());
  EXPECT_TRUE(backend_.Get("kms/key/" + meta->key_id).has_value());

  // Later resolutions, in every form, give the same key.
  auto again = dir_->Resolve("alias/aws/ssm");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->key_id, meta->key_id);
  EXPECT_EQ(dir_->Resolve(meta->key_id)->key_id, meta->key_id);
  EXPECT_EQ(dir_->Resolve(meta->arn)->key_id, meta->key_id);
  EXPECT_EQ(dir_->Resolve("arn:aws:kms:us-east-1:000000000000:alias/aws/ssm")->key_id,
            meta->key_id);
  EXPECT_EQ(dir_->Get(meta->key_id)->key_id, meta->key_id);
}

// The two managed aliases are distinct keys.
TEST_F(KeyDirectoryTest, SsmAndSecretsManagerDefaultsAreDifferentKeys) {
  auto ssm = dir_->Resolve("alias/aws/ssm");
  auto sm = dir_->Resolve("alias/aws/secretsmanager");
  ASSERT_TRUE(ssm.has_value() && sm.has_value());
  EXPECT_NE(ssm->key_id, sm->key_id);
}

// A managed alias resolved through its ARN is also created on first use.
TEST_F(KeyDirectoryTest, ResolveManagedAliasArnCreatesKey) {
  auto meta = dir_->Resolve("arn:aws:kms:us-east-1:000000000000:alias/aws/secretsmanager");
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  EXPECT_TRUE(meta->aws_managed);
}

// A second directory over the same storage (a restart) finds the same managed key.
TEST_F(KeyDirectoryTest, ManagedKeySurvivesRestart) {
  auto first = dir_->Resolve("alias/aws/ssm");
  ASSERT_TRUE(first.has_value());
  dir_.reset();
  auto reopened = keyring::Keyring::Open(backend_, root_, clock_);
  ASSERT_TRUE(reopened.has_value());
  KeyDirectory other(backend_, **reopened, clock_, ids_, "us-east-1", "000000000000");
  auto second = other.Resolve("alias/aws/ssm");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->key_id, first->key_id);
  EXPECT_EQ(second->created, first->created);
  EXPECT_EQ(second->description, first->description);
}

// Threads resolving the managed alias at once, through two directories, end with one key.
TEST_F(KeyDirectoryTest, ConcurrentFirstResolveCreatesExactlyOneKey) {
  auto second = NewDirectory();
  std::vector<std::string> got(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      KeyDirectory& d = (t % 2 == 0) ? *dir_ : *second;
      auto m = d.Resolve("alias/aws/ssm");
      if (m.has_value()) got[t] = m->key_id;
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> ids(got.begin(), got.end());
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_FALSE(ids.begin()->empty());
  auto keys = backend_.Range("kms/key/", storage::PrefixEnd("kms/key/"), 0);
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->entries.size(), 1u);
}

// Unknown ids, aliases and ARNs fail with kInvalidKeyId and name the input.
TEST_F(KeyDirectoryTest, UnknownKeyIdFailsWithInvalidKeyId) {
  for (std::string_view id :
       {"alias/foo", "1234abcd-12ab-34cd-56ef-1234567890ab", "",
        "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:000000000000:alias/foo", "alias/", "alias/aws/other",
        "arn:aws:kms:us-east-1:000000000000:key/", "arn:aws:kms:us-east-1",
        "arn:aws:s3:us-east-1:000000000000:alias/aws/ssm",
        "arn:aws:kms:us-east-1:000000000000:foo/x"}) {
    auto r = dir_->Resolve(id);
    EXPECT_TRUE(HasError(r, ErrorCode::kNotFound, Reason::kInvalidKeyId)) << id;
  }
  auto r = dir_->Resolve("alias/foo");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "Invalid keyId alias/foo");
  // Nothing was created for unknown names.
  auto all = backend_.Range("kms/", storage::PrefixEnd("kms/"), 0);
  EXPECT_TRUE(all->entries.empty());
}

// An ARN from another region or account does not resolve to a local key.
TEST_F(KeyDirectoryTest, ArnOfOtherRegionOrAccountFailsWithInvalidKeyId) {
  KeyMetadata k = PutKey("11111111-1111-4111-8111-111111111111");
  EXPECT_TRUE(dir_->Resolve("arn:aws:kms:us-east-1:000000000000:key/" + k.key_id).has_value());
  EXPECT_TRUE(HasError(dir_->Resolve("arn:aws:kms:eu-west-1:000000000000:key/" + k.key_id),
                       ErrorCode::kNotFound, Reason::kInvalidKeyId));
  EXPECT_TRUE(HasError(dir_->Resolve("arn:aws:kms:us-east-1:123456789012:key/" + k.key_id),
                       ErrorCode::kNotFound, Reason::kInvalidKeyId));
}

// Customer keys and aliases written to storage resolve in all four forms.
TEST_F(KeyDirectoryTest, CustomerKeyResolvesByIdArnAliasAndAliasArn) {
  KeyMetadata k = PutKey("22222222-2222-4222-8222-222222222222");
  PutAlias("alias/app", k.key_id);
  for (std::string id : {k.key_id, k.arn, std::string("alias/app"),
                         std::string("arn:aws:kms:us-east-1:000000000000:alias/app")}) {
    auto m = dir_->Resolve(id);
    ASSERT_TRUE(m.has_value()) << id << ": " << m.error().message;
    EXPECT_EQ(m->key_id, k.key_id);
    EXPECT_EQ(m->description, "test key");
    EXPECT_FALSE(m->aws_managed);
  }
}

// A disabled key fails Resolve with kKeyDisabled unless enabled is not required.
TEST_F(KeyDirectoryTest, DisabledKeyFailsWithKeyDisabledWhenEnabledRequired) {
  KeyMetadata k = PutKey("33333333-3333-4333-8333-333333333333", KeyState::kDisabled);
  EXPECT_TRUE(
      HasError(dir_->Resolve(k.key_id), ErrorCode::kFailedPrecondition, Reason::kKeyDisabled));
  auto m = dir_->Resolve(k.key_id, /*require_enabled=*/false);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->state, KeyState::kDisabled);
}

// A key changed in storage after it was cached is seen through the change feed.
TEST_F(KeyDirectoryTest, CacheFollowsStorageChanges) {
  KeyMetadata k = PutKey("44444444-4444-4444-8444-444444444444");
  ASSERT_TRUE(dir_->Resolve(k.key_id).has_value());  // now cached
  k.state = KeyState::kPendingDeletion;
  storage::Txn txn;
  txn.writes.push_back(
      storage::Write::Put(internal::KeyRecordKey(k.key_id), internal::EncodeKey(k)));
  ASSERT_TRUE(backend_.Commit(txn).has_value());
  EXPECT_TRUE(
      HasError(dir_->Resolve(k.key_id), ErrorCode::kFailedPrecondition, Reason::kKeyDisabled));
}

// An alias whose key record is missing does not resolve.
TEST_F(KeyDirectoryTest, DanglingAliasFailsWithInvalidKeyId) {
  PutAlias("alias/ghost", "55555555-5555-4555-8555-555555555555");
  EXPECT_TRUE(HasError(dir_->Resolve("alias/ghost"), ErrorCode::kNotFound, Reason::kInvalidKeyId));
}

// Get looks up bare key ids only and reports kKeyNotFound.
TEST_F(KeyDirectoryTest, GetOfUnknownKeyFailsWithKeyNotFound) {
  EXPECT_TRUE(HasError(dir_->Get("66666666-6666-4666-8666-666666666666"), ErrorCode::kNotFound,
                       Reason::kKeyNotFound));
  EXPECT_TRUE(HasError(dir_->Get("alias/aws/ssm"), ErrorCode::kNotFound, Reason::kKeyNotFound));
}

// A corrupt key record is reported as kDataLoss, not as a missing key.
TEST_F(KeyDirectoryTest, CorruptKeyRecordFailsWithDataLoss) {
  storage::Txn txn;
  txn.writes.push_back(
      storage::Write::Put("kms/key/77777777-7777-4777-8777-777777777777", "\x01\x01"));
  ASSERT_TRUE(backend_.Commit(txn).has_value());
  auto r = dir_->Resolve("77777777-7777-4777-8777-777777777777");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace coffer::domain::kms
