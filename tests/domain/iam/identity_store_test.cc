#include "domain/iam/identity_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "crypto/crypto.h"
#include "keyring/keyring.h"
#include "storage/memory/memory_backend.h"
#include "util/id_generator.h"
#include "util/time.h"
#include "support/domain_fixture.h"

namespace coffer::domain::iam {
namespace {

const char kExampleSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

bool IsUpperAlnum(std::string_view s) {
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// Delegates to a MemoryBackend, counts Get calls, and can run a hook before a
// Get returns (to interleave a concurrent write deterministically).
class InstrumentedBackend final : public storage::Backend {
 public:
  Result<storage::Entry> Get(std::string_view key) override {
    ++gets;
    auto r = inner.Get(key);
    if (before_get_returns) {
      auto hook = std::move(before_get_returns);
      before_get_returns = nullptr;
      hook(key);
    }
    return r;
  }
  Result<storage::RangeResult> Range(std::string_view s, std::string_view e, size_t l) override {
    return inner.Range(s, e, l);
  }
  Result<storage::Revision> Commit(const storage::Txn& txn) override { return inner.Commit(txn); }
  Result<storage::Revision> CurrentRevision() override { return inner.CurrentRevision(); }
  Result<std::vector<storage::Event>> Changes(storage::Revision since, size_t limit) override {
    return inner.Changes(since, limit);
  }
  uint64_t Watch(WatchCallback cb) override { return inner.Watch(std::move(cb)); }
  void Unwatch(uint64_t id) override { inner.Unwatch(id); }

  storage::memory::MemoryBackend inner;
  std::atomic<int> gets{0};
  std::function<void(std::string_view)> before_get_returns;
};

class IdentityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(IsOk(domain_.Open(&backend_))); }

  Status DeleteKey(std::string_view key) {
    storage::Txn txn;
    txn.writes.push_back(storage::Write::Delete(std::string(key)));
    auto r = backend_.Commit(txn);
    if (!r.has_value()) return Fail(r.error());
    return Ok();
  }

  InstrumentedBackend backend_;  // declared first: the stores unwatch it when they go
  testing::DomainStores domain_{
      {.start = *util::ParseAmzDate("20261128T090000Z"), .account_id = "000000000000"}};
  util::SimulatedClock& clock_ = domain_.clock;
  util::SequentialIdGenerator& ids_ = domain_.ids;
  std::unique_ptr<keyring::Keyring>& keyring_ = domain_.keyring;
  std::unique_ptr<IdentityStore>& store_ = domain_.identities;
};

// A new user gets an AIDA id and an ARN in the store's account.
TEST_F(IdentityStoreTest, CreateUserAssignsAidaIdAndArn) {
  auto user = store_->CreateUser("admin", true);
  ASSERT_TRUE(user.has_value()) << user.error().message;
  EXPECT_EQ(user->user_id.size(), 20u);
  EXPECT_TRUE(user->user_id.starts_with("AIDA"));
  EXPECT_TRUE(IsUpperAlnum(user->user_id));
  EXPECT_EQ(user->arn, "arn:aws:iam::000000000000:user/admin");
  EXPECT_TRUE(user->is_admin);
  auto got = store_->GetUser("admin");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->user_id, user->user_id);
  EXPECT_EQ(got->arn, user->arn);
  EXPECT_EQ(got->created, clock_.Now());
  EXPECT_TRUE(got->is_admin);
}

// Creating the same user twice fails and keeps the first.
TEST_F(IdentityStoreTest, CreateUserTwiceFailsWithAlreadyExists) {
  auto first = store_->CreateUser("alice", false);
  ASSERT_TRUE(first.has_value());
  auto second = store_->CreateUser("alice", true);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(second.error().reason, Reason::kEntityAlreadyExists);
  EXPECT_EQ(store_->GetUser("alice")->user_id, first->user_id);
}

// Names outside IAM's character set or length are rejected.
TEST_F(IdentityStoreTest, CreateUserWithBadNameFailsWithValidation) {
  const std::string too_long(65, 'a');
  for (std::string_view name : {std::string_view(""), std::string_view("a/b"),
                                std::string_view("sp ace"), std::string_view(too_long)}) {
    auto r = store_->CreateUser(name, false);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().reason, Reason::kValidation);
  }
}

// An unknown user is reported as such.
TEST_F(IdentityStoreTest, GetUnknownUserFailsWithNoSuchEntity) {
  auto r = store_->GetUser("nobody");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().reason, Reason::kNoSuchEntity);
}

// A created key has AWS's shape and resolves to the same secret and user.
TEST_F(IdentityStoreTest, CreateAccessKeyResolvesToSameSecretAndUser) {
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  auto key = store_->CreateAccessKey("admin");
  ASSERT_TRUE(key.has_value()) << key.error().message;
  EXPECT_EQ(key->access_key_id.size(), 20u);
  EXPECT_TRUE(key->access_key_id.starts_with("AKIA"));
  EXPECT_TRUE(IsUpperAlnum(key->access_key_id));
  EXPECT_EQ(key->secret_access_key.size(), 40u);
  auto resolved = store_->LookupAccessKey(key->access_key_id);
  ASSERT_TRUE(resolved.has_value()) << resolved.error().message;
  EXPECT_TRUE(resolved->key.secret_access_key.Equals(key->secret_access_key));
  EXPECT_EQ(resolved->user.name, "admin");
  EXPECT_TRUE(resolved->user.is_admin);
  auto other = store_->CreateAccessKey("admin");
  ASSERT_TRUE(other.has_value());
  EXPECT_NE(other->access_key_id, key->access_key_id);
  EXPECT_FALSE(other->secret_access_key.Equals(key->secret_access_key));
}

// A key for a user that does not exist is refused.
TEST_F(IdentityStoreTest, CreateAccessKeyForUnknownUserFailsWithNotFound) {
  auto r = store_->CreateAccessKey("ghost");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().reason, Reason::kNoSuchEntity);
}

// The stored record holds the secret sealed, never in plain text.
TEST_F(IdentityStoreTest, StoredAccessKeyRecordDoesNotContainSecret) {
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  ASSERT_TRUE(store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes(kExampleSecret)));
  auto entry = backend_.inner.Get("iam/akid/AKIDEXAMPLE");
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value.find(kExampleSecret), std::string::npos);
  EXPECT_EQ(entry->value.find("EXAMPLEKEY"), std::string::npos);
}

// AWS's documented example key id imports and resolves; a second import of it fails.
TEST_F(IdentityStoreTest, ImportExampleKeyResolvesAndDuplicateFailsWithAlreadyExists) {
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  auto imported = store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes(kExampleSecret));
  ASSERT_TRUE(imported.has_value()) << imported.error().message;
  auto resolved = store_->LookupAccessKey("AKIDEXAMPLE");
  ASSERT_TRUE(resolved.has_value());
  EXPECT_TRUE(resolved->key.secret_access_key.Equals(SecretBytes(kExampleSecret)));
  auto again = store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes("other"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(store_->LookupAccessKey("AKIDEXAMPLE")
                  ->key.secret_access_key.Equals(SecretBytes(kExampleSecret)));
}

// Malformed key ids and empty secrets are input errors.
TEST_F(IdentityStoreTest, ImportWithBadIdOrSecretFailsWithValidation) {
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  for (std::string_view id : {"akidlower", "AK", "AKID/EXAMPLE"}) {
    auto r = store_->ImportAccessKey("admin", id, SecretBytes(kExampleSecret));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().reason, Reason::kValidation);
  }
  auto empty = store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes());
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().reason, Reason::kValidation);
}

// The identity key may already exist (created by another server): import still works.
TEST_F(IdentityStoreTest, ImportWorksWhenIdentityKeyAlreadyExists) {
  ASSERT_TRUE(keyring_->CreateKey(kIdentityKeyId).has_value());
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  EXPECT_TRUE(store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes(kExampleSecret)));
  EXPECT_TRUE(store_->LookupAccessKey("AKIDEXAMPLE").has_value());
}

// An unknown key id is reported with the auth reason.
TEST_F(IdentityStoreTest, LookupUnknownKeyFailsWithUnknownAccessKey) {
  for (std::string_view id : {"AKIAUNKNOWN0000000000", "bad/id", ""}) {
    auto r = store_->LookupAccessKey(id);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(r.error().reason, Reason::kUnknownAccessKey);
  }
}

// After the first lookup the key is served from memory without storage reads.
TEST_F(IdentityStoreTest, RepeatedLookupIsServedFromCache) {
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  ASSERT_TRUE(store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes(kExampleSecret)));
  ASSERT_TRUE(store_->LookupAccessKey("AKIDEXAMPLE").has_value());
  int gets = backend_.gets.load();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store_->LookupAccessKey("AKIDEXAMPLE").has_value());
  EXPECT_EQ(backend_.gets.load(), gets);
}

// Deleting the key record (by anyone writing storage) makes the cached key unknown.
TEST_F(IdentityStoreTest, DeletedKeyIsNotServedFromCacheAfterWatchFires) {
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  ASSERT_TRUE(store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes(kExampleSecret)));
  ASSERT_TRUE(store_->LookupAccessKey("AKIDEXAMPLE").has_value());
  ASSERT_TRUE(DeleteKey("iam/akid/AKIDEXAMPLE").has_value());
  auto r = store_->LookupAccessKey("AKIDEXAMPLE");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, Reason::kUnknownAccessKey);
}

// A key replaced with a new secret resolves to the new secret, not the cached one.
TEST_F(IdentityStoreTest, ChangedKeyResolvesToNewSecretAfterWatchFires) {
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  ASSERT_TRUE(store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes(kExampleSecret)));
  ASSERT_TRUE(store_->LookupAccessKey("AKIDEXAMPLE").has_value());
  ASSERT_TRUE(DeleteKey("iam/akid/AKIDEXAMPLE").has_value());
  ASSERT_TRUE(store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes("new-secret")));
  auto r = store_->LookupAccessKey("AKIDEXAMPLE");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->key.secret_access_key.Equals(SecretBytes("new-secret")));
}

// Deleting the owning user makes its cached keys unknown.
TEST_F(IdentityStoreTest, KeyOfDeletedUserIsNotServedFromCache) {
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  ASSERT_TRUE(store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes(kExampleSecret)));
  ASSERT_TRUE(store_->LookupAccessKey("AKIDEXAMPLE").has_value());
  ASSERT_TRUE(DeleteKey("iam/user/admin").has_value());
  auto r = store_->LookupAccessKey("AKIDEXAMPLE");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, Reason::kUnknownAccessKey);
}

// A lookup that read storage before a concurrent delete does not put the stale
// key into the cache: the next lookup sees the delete.
TEST_F(IdentityStoreTest, LookupRacingWithDeleteDoesNotCacheStaleKey) {
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  ASSERT_TRUE(store_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes(kExampleSecret)));
  backend_.before_get_returns = [this](std::string_view) {
    ASSERT_TRUE(DeleteKey("iam/akid/AKIDEXAMPLE").has_value());
  };
  // This lookup read the record before the delete committed; it may answer with it.
  ASSERT_TRUE(store_->LookupAccessKey("AKIDEXAMPLE").has_value());
  auto r = store_->LookupAccessKey("AKIDEXAMPLE");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, Reason::kUnknownAccessKey);
}

// A second store over the same storage sees keys the first one created.
TEST_F(IdentityStoreTest, SecondStoreOverSameStorageResolvesKeys) {
  ASSERT_TRUE(store_->CreateUser("admin", true).has_value());
  auto key = store_->CreateAccessKey("admin");
  ASSERT_TRUE(key.has_value());
  IdentityStore other(backend_, *keyring_, clock_, ids_, "000000000000");
  auto r = other.LookupAccessKey(key->access_key_id);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->key.secret_access_key.Equals(key->secret_access_key));
}

}  // namespace
}  // namespace coffer::domain::iam
