#include "domain/parameters/parameter_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "domain/kms/key_directory.h"
#include "domain/parameters/internal/records.h"
#include "keyring/keyring.h"
#include "storage/memory/memory_backend.h"
#include "support/faulty_backend.h"
#include "util/id_generator.h"
#include "util/time.h"
#include "support/domain_fixture.h"
#include "support/matchers.h"

namespace coffer::domain::parameters {
namespace {

constexpr char kUser[] = "arn:aws:iam::000000000000:user/alice";

// Wraps a real backend and counts reads, to prove the cached read path.
class CountingBackend final : public storage::Backend {
 public:
  explicit CountingBackend(storage::Backend& inner) : inner_(inner) {}
  Result<storage::Entry> Get(std::string_view key) override {
    ++reads;
    return inner_.Get(key);
  }
  Result<storage::RangeResult> Range(std::string_view s, std::string_view e, size_t l) override {
    ++reads;
    return inner_.Range(s, e, l);
  }
  Result<storage::Revision> Commit(const storage::Txn& txn) override {
    return inner_.Commit(txn);
  }
  Result<storage::Revision> CurrentRevision() override { return inner_.CurrentRevision(); }
  Result<std::vector<storage::Event>> Changes(storage::Revision since, size_t limit) override {
    return inner_.Changes(since, limit);
  }
  uint64_t Watch(WatchCallback cb) override { return inner_.Watch(std::move(cb)); }
  void Unwatch(uint64_t id) override { inner_.Unwatch(id); }

  int reads = 0;

 private:
  storage::Backend& inner_;
};

class ParameterStoreTest : public testing::DomainTest {
 protected:
  ParameterStoreTest()
      : DomainTest({.start = util::FromUnixMillis(1'800'000'000'123)}), counting_(backend_) {}

  void SetUp() override {
    DomainTest::SetUp();
    if (HasFatalFailure()) return;
    // The store under test reads through counting_, to prove the cached read path.
    store_ = std::make_unique<ParameterStore>(counting_, *keyring_, *keys_, clock_, "us-east-1",
                                              "000000000000");
  }

  Result<PutParameterResult> Put(std::string name, std::string value,
                                 std::optional<ParameterType> type = ParameterType::kString,
                                 bool overwrite = false) {
    PutParameterRequest req;
    req.name = std::move(name);
    req.value = SecretBytes(value);
    req.type = type;
    req.overwrite = overwrite;
    return store_->PutParameter(req, kUser);
  }

  // True when the parameter's value equals `expected` (compared without printing).
  bool ValueIs(std::string_view selector, std::string_view expected, bool decrypt = true) {
    auto p = store_->GetParameter(selector, decrypt);
    return p.has_value() && p->value.Reveal() == expected;
  }

  storage::memory::MemoryBackend& backend_ = domain_.memory;
  util::SimulatedClock& clock_ = domain_.clock;
  util::SequentialIdGenerator& ids_ = domain_.ids;
  CountingBackend counting_;
  std::unique_ptr<keyring::Keyring>& keyring_ = domain_.keyring;
  std::unique_ptr<kms::KeyDirectory>& keys_ = domain_.keys;
  std::unique_ptr<ParameterStore> store_;
};

// A new parameter starts at version 1 on the Standard tier and reads back.
TEST_F(ParameterStoreTest, PutThenGetReturnsValueAndMetadata) {
  auto put = Put("/app/db/user", "admin");
  ASSERT_TRUE(IsOk(put));
  EXPECT_EQ(put->version, 1);
  EXPECT_EQ(put->tier, ParameterTier::kStandard);
  auto p = store_->GetParameter("/app/db/user", false);
  ASSERT_TRUE(IsOk(p));
  EXPECT_EQ(p->name, "/app/db/user");
  EXPECT_EQ(p->type, ParameterType::kString);
  EXPECT_TRUE(p->value.Reveal() == "admin");
  EXPECT_EQ(p->version, 1);
  EXPECT_EQ(p->arn, "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/user");
  EXPECT_EQ(p->data_type, "text");
  EXPECT_EQ(p->last_modified, clock_.Now());
  EXPECT_EQ(p->selector, "");
}

// Values never reach storage in plaintext, String values included.
TEST_F(ParameterStoreTest, StoredRecordsDoNotContainThePlaintext) {
  ASSERT_TRUE(IsOk(Put("/app/plain", "canary-plaintext-value")));
  auto all = backend_.Range("", "", 0);
  ASSERT_TRUE(all.has_value());
  for (const auto& e : all->entries) {
    EXPECT_EQ(e.value.find("canary-plaintext-value"), std::string::npos) << e.key;
  }
}

// Without overwrite an existing name is refused and nothing changes.
TEST_F(ParameterStoreTest, PutWithoutOverwriteOnExistingNameFailsWithAlreadyExists) {
  ASSERT_TRUE(IsOk(Put("/a", "one")));
  EXPECT_TRUE(HasError(Put("/a", "two"), ErrorCode::kAlreadyExists,
                       Reason::kParameterAlreadyExists));
  EXPECT_TRUE(ValueIs("/a", "one"));
}

// Overwrite creates the next version and inherits type and description.
TEST_F(ParameterStoreTest, OverwriteCreatesNextVersionAndCarriesOverFields) {
  PutParameterRequest req;
  req.name = "/a";
  req.value = SecretBytes("one");
  req.type = ParameterType::kStringList;
  req.description = "desc";
  ASSERT_TRUE(IsOk(store_->PutParameter(req, kUser)));
  auto put = Put("/a", "two", std::nullopt, true);
  ASSERT_TRUE(IsOk(put));
  EXPECT_EQ(put->version, 2);
  auto meta = store_->DescribeParameters({});
  ASSERT_TRUE(IsOk(meta));
  ASSERT_EQ(meta->parameters.size(), 1u);
  EXPECT_EQ(meta->parameters[0].type, ParameterType::kStringList);
  EXPECT_EQ(meta->parameters[0].description, "desc");
  EXPECT_EQ(meta->parameters[0].version, 2);
  EXPECT_EQ(meta->parameters[0].last_modified_user, kUser);
  EXPECT_TRUE(ValueIs("/a", "two"));
  EXPECT_TRUE(ValueIs("/a:1", "one"));
}

// Creating without a type is a validation error.
TEST_F(ParameterStoreTest, CreateWithoutTypeFailsWithValidation) {
  EXPECT_TRUE(HasError(Put("/a", "v", std::nullopt), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

// Tags cannot be combined with overwrite.
TEST_F(ParameterStoreTest, TagsWithOverwriteFailWithValidation) {
  PutParameterRequest req;
  req.name = "/a";
  req.value = SecretBytes("v");
  req.type = ParameterType::kString;
  req.overwrite = true;
  req.tags = {Tag{"env", "dev"}};
  EXPECT_TRUE(HasError(store_->PutParameter(req, kUser), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

// Name rules: charset, leading slash, reserved prefixes, depth.
TEST_F(ParameterStoreTest, InvalidNamesAreRejectedWithTheirReason) {
  EXPECT_TRUE(HasError(Put("a/b", "v"), ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(Put("/a b", "v"), ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(Put("/a//b", "v"), ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(Put("/a/", "v"), ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(Put("/aws/x", "v"), ErrorCode::kInvalidArgument,
                       Reason::kReservedParameterName));
  EXPECT_TRUE(HasError(Put("SSMthing", "v"), ErrorCode::kInvalidArgument,
                       Reason::kReservedParameterName));
  std::string deep;
  for (int i = 0; i < 16; ++i) deep += "/l" + std::to_string(i);
  EXPECT_TRUE(HasError(Put(deep, "v"), ErrorCode::kInvalidArgument,
                       Reason::kHierarchyLevelLimitExceeded));
  std::string ok15;
  for (int i = 0; i < 15; ++i) ok15 += "/l" + std::to_string(i);
  EXPECT_TRUE(IsOk(Put(ok15, "v")));
  EXPECT_TRUE(HasError(Put("/" + std::string(1000, 'x'), "v"), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  EXPECT_TRUE(IsOk(Put("plain_name.with-dots", "v")));
}

// Standard holds 4096 bytes, Advanced 8192; Intelligent-Tiering picks.
TEST_F(ParameterStoreTest, TierLimitsAndIntelligentTiering) {
  EXPECT_TRUE(IsOk(Put("/s", std::string(4096, 'x'))));
  EXPECT_TRUE(HasError(Put("/s2", std::string(4097, 'x')), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  PutParameterRequest req;
  req.name = "/adv";
  req.value = SecretBytes(std::string(8192, 'x'));
  req.type = ParameterType::kString;
  req.tier = ParameterTier::kAdvanced;
  EXPECT_TRUE(IsOk(store_->PutParameter(req, kUser)));
  req.name = "/adv2";
  req.value = SecretBytes(std::string(8193, 'x'));
  EXPECT_TRUE(HasError(store_->PutParameter(req, kUser), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  req.name = "/it";
  req.value = SecretBytes(std::string(5000, 'x'));
  req.tier = ParameterTier::kIntelligentTiering;
  auto put = store_->PutParameter(req, kUser);
  ASSERT_TRUE(IsOk(put));
  EXPECT_EQ(put->tier, ParameterTier::kAdvanced);
}

// An Advanced parameter cannot go back to Standard.
TEST_F(ParameterStoreTest, AdvancedToStandardDowngradeFails) {
  PutParameterRequest req;
  req.name = "/adv";
  req.value = SecretBytes("v");
  req.type = ParameterType::kString;
  req.tier = ParameterTier::kAdvanced;
  ASSERT_TRUE(IsOk(store_->PutParameter(req, kUser)));
  req.tier = ParameterTier::kStandard;
  req.overwrite = true;
  EXPECT_TRUE(HasError(store_->PutParameter(req, kUser), ErrorCode::kInvalidArgument,
                       Reason::kUnsupportedParameterTierChange));
  // Without a tier the current one is kept.
  req.tier.reset();
  auto put = store_->PutParameter(req, kUser);
  ASSERT_TRUE(IsOk(put));
  EXPECT_EQ(put->tier, ParameterTier::kAdvanced);
}

// AllowedPattern: bad regex and mismatching value are distinct errors; the
// pattern is kept on overwrite.
TEST_F(ParameterStoreTest, AllowedPatternIsEnforced) {
  PutParameterRequest req;
  req.name = "/n";
  req.value = SecretBytes("123");
  req.type = ParameterType::kString;
  req.allowed_pattern = "([";
  EXPECT_TRUE(HasError(store_->PutParameter(req, kUser), ErrorCode::kInvalidArgument,
                       Reason::kInvalidAllowedPattern));
  req.allowed_pattern = "^\\d+$";
  req.value = SecretBytes("12a");
  EXPECT_TRUE(HasError(store_->PutParameter(req, kUser), ErrorCode::kInvalidArgument,
                       Reason::kParameterPatternMismatch));
  req.value = SecretBytes("123");
  ASSERT_TRUE(IsOk(store_->PutParameter(req, kUser)));
  EXPECT_TRUE(HasError(Put("/n", "abc", std::nullopt, true), ErrorCode::kInvalidArgument,
                       Reason::kParameterPatternMismatch));
  EXPECT_TRUE(IsOk(Put("/n", "456", std::nullopt, true)));
}

// Only text, aws:ec2:image and aws:ssm:integration are data types.
TEST_F(ParameterStoreTest, UnknownDataTypeFailsWithValidation) {
  PutParameterRequest req;
  req.name = "/d";
  req.value = SecretBytes("v");
  req.type = ParameterType::kString;
  req.data_type = "binary";
  EXPECT_TRUE(HasError(store_->PutParameter(req, kUser), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  req.data_type = "aws:ec2:image";
  ASSERT_TRUE(IsOk(store_->PutParameter(req, kUser)));
  auto p = store_->GetParameter("/d", false);
  ASSERT_TRUE(IsOk(p));
  EXPECT_EQ(p->data_type, "aws:ec2:image");
}

// Changing to or from SecureString is refused; String <-> StringList is fine.
TEST_F(ParameterStoreTest, TypeChangeToSecureStringFailsWithHierarchyTypeMismatch) {
  ASSERT_TRUE(IsOk(Put("/t", "v")));
  EXPECT_TRUE(HasError(Put("/t", "v2", ParameterType::kSecureString, true),
                       ErrorCode::kInvalidArgument, Reason::kHierarchyTypeMismatch));
  EXPECT_TRUE(IsOk(Put("/t", "a,b", ParameterType::kStringList, true)));
}

// SecureString: default key alias/aws/ssm, envelope without decryption,
// plaintext with it.
TEST_F(ParameterStoreTest, SecureStringDefaultsToAwsSsmKeyAndHidesValueWithoutDecryption) {
  ASSERT_TRUE(IsOk(Put("/sec", "s3cr3t", ParameterType::kSecureString)));
  auto meta = store_->DescribeParameters({});
  ASSERT_TRUE(IsOk(meta));
  ASSERT_EQ(meta->parameters.size(), 1u);
  ASSERT_TRUE(meta->parameters[0].key_id.has_value());
  EXPECT_EQ(*meta->parameters[0].key_id, "alias/aws/ssm");
  auto hidden = store_->GetParameter("/sec", false);
  ASSERT_TRUE(IsOk(hidden));
  EXPECT_FALSE(hidden->value.Reveal() == "s3cr3t");
  EXPECT_FALSE(hidden->value.empty());
  EXPECT_TRUE(ValueIs("/sec", "s3cr3t", true));
}

// An unknown KeyId is refused with kInvalidKeyId and creates nothing.
TEST_F(ParameterStoreTest, UnknownKeyIdFailsWithInvalidKeyId) {
  PutParameterRequest req;
  req.name = "/sec";
  req.value = SecretBytes("v");
  req.type = ParameterType::kSecureString;
  req.key_id = "alias/does-not-exist";
  auto put = store_->PutParameter(req, kUser);
  ASSERT_FALSE(put.has_value());
  EXPECT_EQ(put.error().reason, Reason::kInvalidKeyId);
  EXPECT_TRUE(HasError(store_->GetParameter("/sec", true), ErrorCode::kNotFound,
                       Reason::kParameterNotFound));
}

// String parameters ignore KeyId and report none.
TEST_F(ParameterStoreTest, StringParameterReportsNoKeyId) {
  ASSERT_TRUE(IsOk(Put("/s", "v")));
  auto meta = store_->DescribeParameters({});
  ASSERT_TRUE(IsOk(meta));
  EXPECT_FALSE(meta->parameters[0].key_id.has_value());
}

// A ciphertext copied onto another record does not decrypt.
TEST_F(ParameterStoreTest, CiphertextCopiedToAnotherRecordFailsWithDataLoss) {
  ASSERT_TRUE(IsOk(Put("/a", "value-a", ParameterType::kSecureString)));
  ASSERT_TRUE(IsOk(Put("/b", "value-b", ParameterType::kSecureString)));
  auto a = backend_.Get(internal::VersionKey("/a", 1));
  ASSERT_TRUE(a.has_value());
  storage::Txn txn;
  txn.writes.push_back(storage::Write::Put(internal::VersionKey("/b", 1), a->value));
  ASSERT_TRUE(backend_.Commit(txn).has_value());
  auto b = store_->GetParameter("/b", true);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code, ErrorCode::kDataLoss);
}

// Selectors: name:version, name:label, ARN; unknown version vs unknown label.
TEST_F(ParameterStoreTest, SelectorsResolveVersionsLabelsAndArns) {
  ASSERT_TRUE(IsOk(Put("/app/k", "v1")));
  ASSERT_TRUE(IsOk(Put("/app/k", "v2", std::nullopt, true)));
  ASSERT_TRUE(IsOk(store_->LabelParameterVersion("/app/k", 1, {"prod"})));
  auto p = store_->GetParameter("/app/k:1", true);
  ASSERT_TRUE(IsOk(p));
  EXPECT_EQ(p->version, 1);
  EXPECT_EQ(p->selector, ":1");
  EXPECT_EQ(p->name, "/app/k");
  auto l = store_->GetParameter("/app/k:prod", true);
  ASSERT_TRUE(IsOk(l));
  EXPECT_EQ(l->version, 1);
  EXPECT_EQ(l->selector, ":prod");
  EXPECT_TRUE(ValueIs("arn:aws:ssm:us-east-1:000000000000:parameter/app/k", "v2"));
  EXPECT_TRUE(ValueIs("arn:aws:ssm:us-east-1:000000000000:parameter/app/k:1", "v1"));
  EXPECT_TRUE(HasError(store_->GetParameter("/app/k:7", true), ErrorCode::kNotFound,
                       Reason::kParameterVersionNotFound));
  EXPECT_TRUE(HasError(store_->GetParameter("/app/k:nolabel", true), ErrorCode::kNotFound,
                       Reason::kParameterNotFound));
  EXPECT_TRUE(HasError(store_->GetParameter("/app/k:1:2", true), ErrorCode::kNotFound,
                       Reason::kParameterNotFound));
  EXPECT_TRUE(HasError(store_->GetParameter("/nope", true), ErrorCode::kNotFound,
                       Reason::kParameterNotFound));
}

// GetParameters reports unknown names instead of failing.
TEST_F(ParameterStoreTest, GetParametersListsUnknownNamesAsInvalid) {
  ASSERT_TRUE(IsOk(Put("/a", "1")));
  auto r = store_->GetParameters({"/a", "/missing", "/a:9"}, true);
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->parameters.size(), 1u);
  EXPECT_EQ(r->parameters[0].name, "/a");
  EXPECT_EQ(r->invalid_parameters, (std::vector<std::string>{"/missing", "/a:9"}));
  std::vector<std::string> eleven(11, "/a");
  EXPECT_TRUE(HasError(store_->GetParameters(eleven, true), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

// The cached read path serves the latest version without storage access, and
// a write (through any writer) invalidates it.
TEST_F(ParameterStoreTest, CachedGetDoesNoStorageReadAndWatchInvalidates) {
  ASSERT_TRUE(IsOk(Put("/hot", "one")));
  ASSERT_TRUE(ValueIs("/hot", "one"));
  int before = counting_.reads;
  ASSERT_TRUE(ValueIs("/hot", "one"));
  ASSERT_TRUE(ValueIs("/hot", "one"));
  EXPECT_EQ(counting_.reads, before);
  // Another server instance writes through the same storage.
  ParameterStore other(backend_, *keyring_, *keys_, clock_, "us-east-1", "000000000000");
  PutParameterRequest req;
  req.name = "/hot";
  req.value = SecretBytes("two");
  req.overwrite = true;
  ASSERT_TRUE(IsOk(other.PutParameter(req, kUser)));
  EXPECT_TRUE(ValueIs("/hot", "two"));
  ASSERT_TRUE(IsOk(other.DeleteParameter("/hot")));
  EXPECT_TRUE(HasError(store_->GetParameter("/hot", true), ErrorCode::kNotFound,
                       Reason::kParameterNotFound));
}

// The 101st version drops the oldest, unless the oldest carries a label.
TEST_F(ParameterStoreTest, HundredAndFirstVersionDropsOldestUnlessLabelled) {
  ASSERT_TRUE(IsOk(Put("/v", "1")));
  for (int i = 2; i <= 100; ++i) {
    ASSERT_TRUE(IsOk(Put("/v", std::to_string(i), std::nullopt, true)));
  }
  ASSERT_TRUE(IsOk(store_->LabelParameterVersion("/v", 1, {"keep"})));
  EXPECT_TRUE(HasError(Put("/v", "101", std::nullopt, true), ErrorCode::kFailedPrecondition,
                       Reason::kParameterMaxVersionLimitExceeded));
  ASSERT_TRUE(IsOk(store_->LabelParameterVersion("/v", 2, {"keep"})));  // moves the label
  auto put = Put("/v", "101", std::nullopt, true);
  ASSERT_TRUE(IsOk(put));
  EXPECT_EQ(put->version, 101);
  EXPECT_TRUE(HasError(store_->GetParameter("/v:1", true), ErrorCode::kNotFound,
                       Reason::kParameterVersionNotFound));
  EXPECT_TRUE(ValueIs("/v:2", "2"));
  EXPECT_FALSE(backend_.Get(internal::VersionKey("/v", 1)).has_value());
  HistoryQuery q;
  q.name = "/v";
  int count = 0;
  std::set<std::string> tokens;
  do {
    auto page = store_->GetParameterHistory(q);
    ASSERT_TRUE(IsOk(page));
    count += static_cast<int>(page->entries.size());
    if (!page->next_token.empty()) {
      EXPECT_TRUE(tokens.insert(page->next_token).second);
    }
    q.next_token = page->next_token;
  } while (!q.next_token.empty());
  EXPECT_EQ(count, 100);
}

// Label rules: invalid labels come back, labels move, at most 10 per version.
TEST_F(ParameterStoreTest, LabelRulesInvalidLabelsMovesAndLimit) {
  ASSERT_TRUE(IsOk(Put("/l", "1")));
  ASSERT_TRUE(IsOk(Put("/l", "2", std::nullopt, true)));
  auto r = store_->LabelParameterVersion(
      "/l", 1, {"good", "1starts-digit", "awsLabel", "SSMx", "bad/char", std::string(101, 'a')});
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->parameter_version, 1);
  EXPECT_EQ(r->invalid_labels.size(), 5u);
  // Labelling version 2 moves "good".
  auto moved = store_->LabelParameterVersion("/l", std::nullopt, {"good"});
  ASSERT_TRUE(IsOk(moved));
  EXPECT_EQ(moved->parameter_version, 2);
  auto p = store_->GetParameter("/l:good", true);
  ASSERT_TRUE(IsOk(p));
  EXPECT_EQ(p->version, 2);
  EXPECT_TRUE(HasError(store_->LabelParameterVersion("/l", 5, {"x"}), ErrorCode::kNotFound,
                       Reason::kParameterVersionNotFound));
  EXPECT_TRUE(HasError(store_->LabelParameterVersion("/nope", 1, {"x"}), ErrorCode::kNotFound,
                       Reason::kParameterNotFound));
  std::vector<std::string> ten;
  for (int i = 0; i < 10; ++i) ten.push_back("l" + std::to_string(i));
  ASSERT_TRUE(IsOk(store_->LabelParameterVersion("/l", 1, ten)));
  EXPECT_TRUE(HasError(store_->LabelParameterVersion("/l", 1, {"eleventh"}),
                       ErrorCode::kResourceExhausted,
                       Reason::kParameterVersionLabelLimitExceeded));
  // History carries the labels per version.
  HistoryQuery q;
  q.name = "/l";
  auto h = store_->GetParameterHistory(q);
  ASSERT_TRUE(IsOk(h));
  ASSERT_EQ(h->entries.size(), 2u);
  EXPECT_EQ(h->entries[0].labels.size(), 10u);
  EXPECT_EQ(h->entries[1].labels, (std::vector<std::string>{"good"}));
}

// Unlabel removes labels on that version and reports the others.
TEST_F(ParameterStoreTest, UnlabelRemovesOnlyLabelsOnThatVersion) {
  ASSERT_TRUE(IsOk(Put("/l", "1")));
  ASSERT_TRUE(IsOk(store_->LabelParameterVersion("/l", 1, {"a", "b"})));
  auto r = store_->UnlabelParameterVersion("/l", 1, {"a", "zzz"});
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->removed_labels, (std::vector<std::string>{"a"}));
  EXPECT_EQ(r->invalid_labels, (std::vector<std::string>{"zzz"}));
  EXPECT_TRUE(HasError(store_->GetParameter("/l:a", true), ErrorCode::kNotFound,
                       Reason::kParameterNotFound));
  EXPECT_TRUE(HasError(store_->UnlabelParameterVersion("/l", 3, {"b"}), ErrorCode::kNotFound,
                       Reason::kParameterVersionNotFound));
}

// GetParametersByPath: direct children vs recursive, trailing slash, filters.
TEST_F(ParameterStoreTest, GetParametersByPathHonoursRecursionAndFilters) {
  ASSERT_TRUE(IsOk(Put("/svc/a", "1")));
  ASSERT_TRUE(IsOk(Put("/svc/b", "2", ParameterType::kSecureString)));
  ASSERT_TRUE(IsOk(Put("/svc/sub/c", "3")));
  ASSERT_TRUE(IsOk(Put("/svcx/d", "4")));
  ASSERT_TRUE(IsOk(store_->LabelParameterVersion("/svc/a", 1, {"prod"})));
  PathQuery q;
  q.path = "/svc/";
  q.with_decryption = true;
  auto direct = store_->GetParametersByPath(q);
  ASSERT_TRUE(IsOk(direct));
  ASSERT_EQ(direct->parameters.size(), 2u);
  EXPECT_EQ(direct->parameters[0].name, "/svc/a");
  EXPECT_EQ(direct->parameters[1].name, "/svc/b");
  EXPECT_TRUE(direct->parameters[1].value.Reveal() == "2");
  q.recursive = true;
  auto all = store_->GetParametersByPath(q);
  ASSERT_TRUE(IsOk(all));
  EXPECT_EQ(all->parameters.size(), 3u);
  q.filters = {ParameterFilter{"Type", "Equals", {"SecureString"}}};
  auto secure = store_->GetParametersByPath(q);
  ASSERT_TRUE(IsOk(secure));
  ASSERT_EQ(secure->parameters.size(), 1u);
  EXPECT_EQ(secure->parameters[0].name, "/svc/b");
  q.filters = {ParameterFilter{"Label", "Equals", {"prod"}}};
  auto labelled = store_->GetParametersByPath(q);
  ASSERT_TRUE(IsOk(labelled));
  ASSERT_EQ(labelled->parameters.size(), 1u);
  EXPECT_EQ(labelled->parameters[0].name, "/svc/a");
  q.filters = {ParameterFilter{"tag:env", "Equals", {"x"}}};
  EXPECT_TRUE(HasError(store_->GetParametersByPath(q), ErrorCode::kInvalidArgument,
                       Reason::kInvalidFilterKey));
  q.filters = {ParameterFilter{"Label", "BeginsWith", {"p"}}};
  EXPECT_TRUE(HasError(store_->GetParametersByPath(q), ErrorCode::kInvalidArgument,
                       Reason::kInvalidFilterOption));
  q.filters = {ParameterFilter{"Type", "Equals", {"Blob"}}};
  EXPECT_TRUE(HasError(store_->GetParametersByPath(q), ErrorCode::kInvalidArgument,
                       Reason::kInvalidFilterValue));
  q.filters.clear();
  q.path = "svc";
  EXPECT_TRUE(HasError(store_->GetParametersByPath(q), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

// Pages advance, never repeat a token, and together return every match once.
TEST_F(ParameterStoreTest, PaginationTokensAdvanceAndNeverRepeat) {
  for (int i = 0; i < 23; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "/p/k%02d", i);
    ASSERT_TRUE(IsOk(Put(name, "v")));
  }
  PathQuery q;
  q.path = "/p";
  q.max_results = 10;
  std::set<std::string> names;
  std::set<std::string> tokens;
  int pages = 0;
  do {
    auto page = store_->GetParametersByPath(q);
    ASSERT_TRUE(IsOk(page));
    for (const auto& p : page->parameters) EXPECT_TRUE(names.insert(p.name).second) << p.name;
    if (!page->next_token.empty()) {
      EXPECT_TRUE(tokens.insert(page->next_token).second);
    }
    q.next_token = page->next_token;
    ASSERT_LT(++pages, 10);
  } while (!q.next_token.empty());
  EXPECT_EQ(names.size(), 23u);

  DescribeQuery d;
  d.max_results = 5;
  names.clear();
  tokens.clear();
  do {
    auto page = store_->DescribeParameters(d);
    ASSERT_TRUE(IsOk(page));
    for (const auto& m : page->parameters) EXPECT_TRUE(names.insert(m.name).second) << m.name;
    if (!page->next_token.empty()) {
      EXPECT_TRUE(tokens.insert(page->next_token).second);
    }
    d.next_token = page->next_token;
  } while (!d.next_token.empty());
  EXPECT_EQ(names.size(), 23u);
}

// A token from another listing or a garbled one is kInvalidNextToken.
TEST_F(ParameterStoreTest, ForeignOrGarbledTokenFailsWithInvalidNextToken) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(IsOk(Put("/p/k" + std::to_string(i), "v")));
  DescribeQuery d;
  d.max_results = 1;
  auto page = store_->DescribeParameters(d);
  ASSERT_TRUE(IsOk(page));
  ASSERT_FALSE(page->next_token.empty());
  PathQuery q;
  q.path = "/p";
  q.next_token = page->next_token;
  EXPECT_TRUE(HasError(store_->GetParametersByPath(q), ErrorCode::kInvalidArgument,
                       Reason::kInvalidNextToken));
  d.next_token = "!!not-a-token!!";
  EXPECT_TRUE(HasError(store_->DescribeParameters(d), ErrorCode::kInvalidArgument,
                       Reason::kInvalidNextToken));
}

// DescribeParameters filters: Name options, Path levels, Type, Tier, tags, bad keys.
TEST_F(ParameterStoreTest, DescribeParametersFilters) {
  PutParameterRequest req;
  req.name = "/svc/a";
  req.value = SecretBytes("v");
  req.type = ParameterType::kString;
  req.tags = {Tag{"env", "prod"}};
  ASSERT_TRUE(IsOk(store_->PutParameter(req, kUser)));
  ASSERT_TRUE(IsOk(Put("/svc/deep/b", "v", ParameterType::kSecureString)));
  ASSERT_TRUE(IsOk(Put("/other/c", "v")));
  auto names = [&](std::vector<ParameterFilter> filters) {
    DescribeQuery d;
    d.filters = std::move(filters);
    std::vector<std::string> out;
    auto page = store_->DescribeParameters(d);
    EXPECT_TRUE(IsOk(page));
    if (page) {
      for (const auto& m : page->parameters) out.push_back(m.name);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names({{"Path", "OneLevel", {"/svc"}}}), (V{"/svc/a"}));
  EXPECT_EQ(names({{"Path", "Recursive", {"/svc"}}}), (V{"/svc/a", "/svc/deep/b"}));
  EXPECT_EQ(names({{"Name", "BeginsWith", {"/svc"}}}), (V{"/svc/a", "/svc/deep/b"}));
  EXPECT_EQ(names({{"Name", "Equals", {"/other/c"}}}), (V{"/other/c"}));
  EXPECT_EQ(names({{"Name", "Contains", {"deep"}}}), (V{"/svc/deep/b"}));
  EXPECT_EQ(names({{"Type", "Equals", {"SecureString"}}}), (V{"/svc/deep/b"}));
  EXPECT_EQ(names({{"KeyId", "Equals", {"alias/aws/ssm"}}}), (V{"/svc/deep/b"}));
  EXPECT_EQ(names({{"tag:env", "Equals", {"prod"}}}), (V{"/svc/a"}));
  EXPECT_EQ(names({{"Tier", "Equals", {"Standard"}}}).size(), 3u);
  EXPECT_EQ(names({{"DataType", "Equals", {"text"}}}).size(), 3u);
  DescribeQuery bad;
  bad.filters = {{"Label", "Equals", {"x"}}};
  EXPECT_TRUE(HasError(store_->DescribeParameters(bad), ErrorCode::kInvalidArgument,
                       Reason::kInvalidFilterKey));
  bad.filters = {{"Path", "Equals", {"/svc"}}};
  EXPECT_TRUE(HasError(store_->DescribeParameters(bad), ErrorCode::kInvalidArgument,
                       Reason::kInvalidFilterOption));
  bad.filters = {{"Tier", "Equals", {"Gold"}}};
  EXPECT_TRUE(HasError(store_->DescribeParameters(bad), ErrorCode::kInvalidArgument,
                       Reason::kInvalidFilterValue));
  DescribeQuery legacy;
  legacy.legacy_filters = {{"Type", "", {"String"}}};
  auto l = store_->DescribeParameters(legacy);
  ASSERT_TRUE(IsOk(l));
  EXPECT_EQ(l->parameters.size(), 2u);
}

// Delete removes the head and every version atomically.
TEST_F(ParameterStoreTest, DeleteRemovesAllVersions) {
  ASSERT_TRUE(IsOk(Put("/d", "1")));
  ASSERT_TRUE(IsOk(Put("/d", "2", std::nullopt, true)));
  ASSERT_TRUE(IsOk(Put("/d/child", "c")));
  ASSERT_TRUE(IsOk(store_->DeleteParameter("/d")));
  auto left = backend_.Range("ssm/", storage::PrefixEnd("ssm/"), 0);
  ASSERT_TRUE(left.has_value());
  for (const auto& e : left->entries) EXPECT_NE(internal::NameOfKey(e.key), "/d") << e.key;
  EXPECT_TRUE(ValueIs("/d/child", "c"));
  EXPECT_TRUE(HasError(store_->DeleteParameter("/d"), ErrorCode::kNotFound,
                       Reason::kParameterNotFound));
  // The name can be created again from version 1.
  auto again = Put("/d", "new");
  ASSERT_TRUE(IsOk(again));
  EXPECT_EQ(again->version, 1);
  auto multi = store_->DeleteParameters({"/d", "/missing"});
  ASSERT_TRUE(IsOk(multi));
  EXPECT_EQ(multi->deleted_parameters, (std::vector<std::string>{"/d"}));
  EXPECT_EQ(multi->invalid_parameters, (std::vector<std::string>{"/missing"}));
}

// Tags: add replaces, remove, list sorted, missing resource, 50-tag limit.
TEST_F(ParameterStoreTest, TagsAddRemoveListAndLimits) {
  ASSERT_TRUE(IsOk(Put("/t", "v")));
  ASSERT_TRUE(IsOk(store_->AddTags("/t", {{"b", "1"}, {"a", "2"}})));
  ASSERT_TRUE(IsOk(store_->AddTags("/t", {{"b", "3"}})));
  auto tags = store_->ListTags("/t");
  ASSERT_TRUE(IsOk(tags));
  EXPECT_EQ(*tags, (std::vector<Tag>{{"a", "2"}, {"b", "3"}}));
  ASSERT_TRUE(IsOk(store_->RemoveTags("/t", {"a", "zzz"})));
  tags = store_->ListTags("/t");
  ASSERT_TRUE(IsOk(tags));
  EXPECT_EQ(*tags, (std::vector<Tag>{{"b", "3"}}));
  EXPECT_TRUE(HasError(store_->AddTags("/missing", {{"a", "b"}}), ErrorCode::kNotFound,
                       Reason::kInvalidResourceId));
  EXPECT_TRUE(HasError(store_->ListTags("/missing"), ErrorCode::kNotFound,
                       Reason::kInvalidResourceId));
  EXPECT_TRUE(HasError(store_->AddTags("/t", {{"bad#key", "b"}}), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  std::vector<Tag> many;
  for (int i = 0; i < 50; ++i) many.push_back({"k" + std::to_string(i), "v"});
  EXPECT_TRUE(HasError(store_->AddTags("/t", many), ErrorCode::kResourceExhausted,
                       Reason::kTooManyTags));
  EXPECT_EQ(store_->ListTags("/t")->size(), 1u);
}

// History lists every version oldest first with its metadata.
TEST_F(ParameterStoreTest, HistoryListsVersionsWithMetadata) {
  ASSERT_TRUE(IsOk(Put("/h", "1", ParameterType::kSecureString)));
  clock_.Advance(std::chrono::seconds(5));
  PutParameterRequest req;
  req.name = "/h";
  req.value = SecretBytes("2");
  req.overwrite = true;
  req.description = "second";
  ASSERT_TRUE(IsOk(store_->PutParameter(req, "arn:aws:iam::000000000000:user/bob")));
  HistoryQuery q;
  q.name = "/h";
  q.with_decryption = true;
  q.max_results = 1;
  auto first = store_->GetParameterHistory(q);
  ASSERT_TRUE(IsOk(first));
  ASSERT_EQ(first->entries.size(), 1u);
  EXPECT_EQ(first->entries[0].metadata.version, 1);
  EXPECT_EQ(first->entries[0].metadata.last_modified_user, kUser);
  EXPECT_TRUE(first->entries[0].value.Reveal() == "1");
  ASSERT_FALSE(first->next_token.empty());
  q.next_token = first->next_token;
  auto second = store_->GetParameterHistory(q);
  ASSERT_TRUE(IsOk(second));
  ASSERT_EQ(second->entries.size(), 1u);
  EXPECT_EQ(second->entries[0].metadata.version, 2);
  EXPECT_EQ(second->entries[0].metadata.description, "second");
  EXPECT_EQ(second->entries[0].metadata.last_modified_user, "arn:aws:iam::000000000000:user/bob");
  EXPECT_TRUE(second->next_token.empty());
  q.name = "/none";
  q.next_token.clear();
  EXPECT_TRUE(HasError(store_->GetParameterHistory(q), ErrorCode::kNotFound,
                       Reason::kParameterNotFound));
}

// Concurrent overwrites never lose or duplicate a version: every success got
// its own version, and conflicts beyond the retries are TooManyUpdates.
TEST_F(ParameterStoreTest, ConcurrentOverwritesGetDistinctVersions) {
  ASSERT_TRUE(IsOk(Put("/c", "0")));
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20;
  std::atomic<int> successes{0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = Put("/c", "v", std::nullopt, true);
        if (r) {
          successes.fetch_add(1);
        } else if (r.error().reason != Reason::kTooManyUpdates) {
          unexpected.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(unexpected.load(), 0);
  auto p = store_->GetParameter("/c", true);
  ASSERT_TRUE(IsOk(p));
  EXPECT_EQ(p->version, 1 + successes.load());
}

// A failed commit changes nothing and the error reaches the caller.
TEST_F(ParameterStoreTest, FailedCommitChangesNothing) {
  testing::FaultyBackend faulty(backend_);
  ParameterStore store(faulty, *keyring_, *keys_, clock_, "us-east-1", "000000000000");
  PutParameterRequest req;
  req.name = "/f";
  req.value = SecretBytes("v");
  req.type = ParameterType::kString;
  ASSERT_TRUE(IsOk(store.PutParameter(req, kUser)));
  faulty.FailNextCommits(1);
  req.overwrite = true;
  req.value = SecretBytes("w");
  auto r = store.PutParameter(req, kUser);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  auto p = store.GetParameter("/f", true);
  ASSERT_TRUE(IsOk(p));
  EXPECT_EQ(p->version, 1);
  EXPECT_TRUE(p->value.Reveal() == "v");
}

// RewrapValues re-seals retained versions under an older key version under the
// newest one, with values, versions, labels and metadata unchanged; the key
// filter limits it; a second pass finds nothing stale.
TEST_F(ParameterStoreTest, RewrapValuesResealsStaleVersionsOnly) {
  auto key = keys_->CreateKey(kms::CreateKeyRequest{});
  ASSERT_TRUE(IsOk(key));
  PutParameterRequest req;
  req.name = "/rw/secure";
  req.value = SecretBytes("v1");
  req.type = ParameterType::kSecureString;
  req.key_id = key->key_id;
  ASSERT_TRUE(IsOk(store_->PutParameter(req, kUser)));
  req.value = SecretBytes("v2");
  req.overwrite = true;
  ASSERT_TRUE(IsOk(store_->PutParameter(req, kUser)));
  ASSERT_TRUE(IsOk(store_->LabelParameterVersion("/rw/secure", 1, {"old"})));
  ASSERT_TRUE(IsOk(Put("/rw/plain", "p")));  // under the default alias/aws/ssm key
  auto key_version = [&](int64_t v) {
    auto e = backend_.Get(internal::VersionKey("/rw/secure", v));
    return keyring::Keyring::Inspect(internal::DecodeVersion(e->value)->envelope)->version;
  };
  auto before = store_->GetParameterHistory(HistoryQuery{"/rw/secure", true, 50, "", {}});
  ASSERT_TRUE(IsOk(before));
  ASSERT_TRUE(IsOk(keyring_->RotateKey(key->key_id)));

  auto r = store_->RewrapValues(key->key_id);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->scanned, 2);
  EXPECT_EQ(r->rewrapped, 2);
  EXPECT_TRUE(r->failures.empty());
  EXPECT_EQ(key_version(1), 2u);
  EXPECT_EQ(key_version(2), 2u);
  auto all = store_->RewrapValues(std::nullopt);
  ASSERT_TRUE(IsOk(all));
  EXPECT_EQ(all->scanned, 3);
  EXPECT_EQ(all->rewrapped, 0);

  EXPECT_TRUE(ValueIs("/rw/secure:old", "v1"));
  EXPECT_TRUE(ValueIs("/rw/secure", "v2"));
  EXPECT_TRUE(ValueIs("/rw/plain", "p"));
  auto after = store_->GetParameterHistory(HistoryQuery{"/rw/secure", true, 50, "", {}});
  ASSERT_TRUE(IsOk(after));
  ASSERT_EQ(after->entries.size(), before->entries.size());
  for (size_t i = 0; i < after->entries.size(); ++i) {
    EXPECT_EQ(after->entries[i].metadata.version, before->entries[i].metadata.version);
    EXPECT_EQ(after->entries[i].labels, before->entries[i].labels);
    EXPECT_EQ(after->entries[i].metadata.last_modified, before->entries[i].metadata.last_modified);
  }
}

// A SecureString reads only while its KMS key is enabled, as on AWS; without
// decryption, and for String values, the key's state does not matter.
TEST_F(ParameterStoreTest, SecureStringNeedsAnEnabledKey) {
  auto key = keys_->CreateKey(kms::CreateKeyRequest{});
  ASSERT_TRUE(IsOk(key));
  PutParameterRequest req;
  req.name = "/k/secure";
  req.value = SecretBytes("s3cr3t");
  req.type = ParameterType::kSecureString;
  req.key_id = key->key_id;
  ASSERT_TRUE(IsOk(store_->PutParameter(req, kUser)));
  ASSERT_TRUE(IsOk(Put("/k/plain", "p")));

  ASSERT_TRUE(IsOk(keys_->DisableKey(key->key_id)));
  EXPECT_TRUE(HasError(store_->GetParameter("/k/secure", true), ErrorCode::kFailedPrecondition,
                       Reason::kKeyDisabled));
  EXPECT_TRUE(HasError(store_->GetParameters({"/k/secure", "/k/plain"}, true),
                       ErrorCode::kFailedPrecondition, Reason::kKeyDisabled));
  EXPECT_TRUE(IsOk(store_->GetParameter("/k/secure", false)));
  EXPECT_TRUE(ValueIs("/k/plain", "p"));
  req.overwrite = true;
  EXPECT_FALSE(IsOk(store_->PutParameter(req, kUser)));

  ASSERT_TRUE(IsOk(keys_->EnableKey(key->key_id)));
  EXPECT_TRUE(ValueIs("/k/secure", "s3cr3t"));
  ASSERT_TRUE(IsOk(keys_->ScheduleKeyDeletion(key->key_id, 7)));
  EXPECT_TRUE(HasError(store_->GetParameter("/k/secure", true), ErrorCode::kFailedPrecondition,
                       Reason::kKeyDisabled));
  EXPECT_TRUE(ValueIs("/k/plain", "p"));
}

// The resolver: every form naming "/prod/db" (bare, :version, :label, its
// ARN, the ARN with a selector) resolves to its one canonical name and ARN
// with its tags -- the regression of the tag-Deny bypass by ARN.
TEST_F(ParameterStoreTest, ResolveTurnsEveryNameFormIntoTheOneParameter) {
  PutParameterRequest req;
  req.name = "/prod/db";
  req.value = SecretBytes("v1");
  req.type = ParameterType::kString;
  req.tags = {Tag{"env", "prod"}};
  ASSERT_TRUE(IsOk(store_->PutParameter(req, kUser)));
  ASSERT_TRUE(IsOk(store_->LabelParameterVersion("/prod/db", 1, {"blue"})));
  const std::string arn = "arn:aws:ssm:us-east-1:000000000000:parameter/prod/db";
  struct Case {
    std::string input;
    std::string selector;
  };
  for (const Case& c : {Case{"/prod/db", ""}, Case{"/prod/db:1", ":1"},
                        Case{"/prod/db:blue", ":blue"}, Case{arn, ""}, Case{arn + ":1", ":1"},
                        Case{arn + ":blue", ":blue"}}) {
    auto r = store_->Resolve(c.input, NameForms::kAny, /*with_tags=*/true);
    ASSERT_TRUE(IsOk(r)) << c.input;
    EXPECT_EQ(r->name, "/prod/db") << c.input;
    EXPECT_EQ(r->arn, arn) << c.input;
    EXPECT_EQ(r->selector, c.selector) << c.input;
    EXPECT_TRUE(r->exists) << c.input;
    EXPECT_EQ(r->tags, (std::vector<Tag>{Tag{"env", "prod"}})) << c.input;
  }
  // Tags only when asked for.
  auto untagged = store_->Resolve(arn, NameForms::kAny, /*with_tags=*/false);
  ASSERT_TRUE(IsOk(untagged));
  EXPECT_TRUE(untagged->tags.empty());
  // The ARN form of "/prod/db" is what ResourceTagKeys turns into both keys.
  auto keys = ResourceTagKeys("ssm", store_->Resolve(arn, NameForms::kAny, true)->tags);
  EXPECT_EQ(keys["ssm:ResourceTag/env"], std::vector<std::string>{"prod"});
  EXPECT_EQ(keys["aws:ResourceTag/env"], std::vector<std::string>{"prod"});
}

// A name without a leading slash: "a" and its ARN "...:parameter/a" are one
// parameter; an ARN "...:parameter/a" finds "/a" when only that exists.
TEST_F(ParameterStoreTest, ResolveHandlesNamesWithoutALeadingSlash) {
  ASSERT_TRUE(IsOk(Put("plain", "v")));
  ASSERT_TRUE(IsOk(Put("/slash", "v")));
  auto plain = store_->Resolve("arn:aws:ssm:us-east-1:000000000000:parameter/plain",
                               NameForms::kAny, false);
  ASSERT_TRUE(IsOk(plain));
  EXPECT_EQ(plain->name, "plain");
  EXPECT_EQ(plain->arn, "arn:aws:ssm:us-east-1:000000000000:parameter/plain");
  EXPECT_TRUE(plain->exists);
  auto bare = store_->Resolve("plain", NameForms::kNameOnly, false);
  ASSERT_TRUE(IsOk(bare));
  EXPECT_EQ(bare->arn, plain->arn);
  auto slash = store_->Resolve("arn:aws:ssm:us-east-1:000000000000:parameter/slash",
                               NameForms::kAny, false);
  ASSERT_TRUE(IsOk(slash));
  EXPECT_EQ(slash->name, "/slash");
  EXPECT_TRUE(slash->exists);
  // A parameter that does not exist still has its canonical ARN.
  auto missing = store_->Resolve("/nope:3", NameForms::kAny, true);
  ASSERT_TRUE(IsOk(missing));
  EXPECT_FALSE(missing->exists);
  EXPECT_EQ(missing->name, "/nope");
  EXPECT_EQ(missing->arn, "arn:aws:ssm:us-east-1:000000000000:parameter/nope");
}

// An ARN of another partition, account, region or service, or a malformed
// selector, names no parameter here: ParameterNotFound, never the local one.
// Name-only operations take the input literally (an ARN is a name that does
// not exist).
TEST_F(ParameterStoreTest, ResolveRefusesForeignArnsAndMalformedSelectors) {
  ASSERT_TRUE(IsOk(Put("/prod/db", "v")));
  for (const char* foreign : {"arn:aws-cn:ssm:us-east-1:000000000000:parameter/prod/db",
                              "arn:aws:ssm:us-east-1:111111111111:parameter/prod/db",
                              "arn:aws:ssm:eu-west-1:000000000000:parameter/prod/db",
                              "arn:aws:secretsmanager:us-east-1:000000000000:parameter/prod/db",
                              "arn:aws:ssm:us-east-1:000000000000:document/prod/db",
                              "/prod/db:1:2", "/prod/db:"}) {
    EXPECT_TRUE(HasError(store_->Resolve(foreign, NameForms::kAny, true), ErrorCode::kNotFound,
                         Reason::kParameterNotFound))
        << foreign;
    EXPECT_TRUE(HasError(store_->GetParameter(foreign, true), ErrorCode::kNotFound,
                         Reason::kParameterNotFound))
        << foreign;
  }
  auto literal = store_->Resolve("arn:aws:ssm:us-east-1:000000000000:parameter/prod/db",
                                 NameForms::kNameOnly, true);
  ASSERT_TRUE(IsOk(literal));
  EXPECT_FALSE(literal->exists);
}

}  // namespace
}  // namespace coffer::domain::parameters
