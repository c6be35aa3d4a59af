#include "domain/secrets/secret_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "domain/kms/key_directory.h"
#include "domain/secrets/internal/records.h"
#include "keyring/keyring.h"
#include "storage/memory/memory_backend.h"
#include "util/id_generator.h"
#include "util/time.h"
#include "support/domain_fixture.h"
#include "support/matchers.h"

namespace coffer::domain::secrets {
namespace {

using std::chrono::hours;

constexpr char kTokenA[] = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
constexpr char kTokenB[] = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
constexpr char kTokenC[] = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
constexpr char kTokenD[] = "dddddddd-dddd-4ddd-8ddd-dddddddddddd";

SecretValue Str(std::string_view s) { return SecretValue{false, SecretBytes(s)}; }
SecretValue Bin(std::string_view s) { return SecretValue{true, SecretBytes(s)}; }

using Stages = std::vector<std::string>;

class SecretStoreTest : public testing::DomainTest {
 protected:
  SecretStoreTest() : DomainTest({.start = util::FromUnixMillis(1'800'000'000'123)}) {}

  Result<SecretRef> Create(std::string name, std::optional<SecretValue> value,
                           std::optional<std::string> token = std::nullopt) {
    CreateSecretRequest req;
    req.name = std::move(name);
    req.value = std::move(value);
    req.client_request_token = std::move(token);
    return store_->CreateSecret(req);
  }

  Result<SecretRef> Put(std::string id, SecretValue value, std::optional<std::string> token,
                        std::optional<Stages> stages = std::nullopt) {
    PutSecretValueRequest req;
    req.secret_id = std::move(id);
    req.value = std::move(value);
    req.client_request_token = std::move(token);
    req.version_stages = std::move(stages);
    return store_->PutSecretValue(req);
  }

  Result<VersionedSecret> Get(std::string_view id,
                              std::optional<std::string_view> version = std::nullopt,
                              std::optional<std::string_view> stage = std::nullopt) {
    return store_->GetSecretValue(id, version, stage);
  }

  bool ValueIs(std::string_view id, std::string_view expected,
               std::optional<std::string_view> stage = std::nullopt) {
    auto got = Get(id, std::nullopt, stage);
    return got.has_value() && got->value.bytes.Equals(SecretBytes(expected));
  }

  Stages StagesOf(std::string_view id, const std::string& version) {
    auto d = store_->DescribeSecret(id);
    if (!d) return {};
    auto it = d->version_ids_to_stages.find(version);
    if (it == d->version_ids_to_stages.end()) return {};
    Stages s = it->second;
    std::sort(s.begin(), s.end());
    return s;
  }

  Result<SecretRef> Rotate(std::string id, std::optional<std::string> token,
                           std::optional<std::string> hook = "/usr/local/bin/rotate",
                           std::optional<RotationRules> rules = std::nullopt,
                           bool immediately = true) {
    RotateSecretRequest req;
    req.secret_id = std::move(id);
    req.client_request_token = std::move(token);
    req.rotation_hook = std::move(hook);
    req.rules = std::move(rules);
    req.rotate_immediately = immediately;
    return store_->RotateSecret(req);
  }

  storage::memory::MemoryBackend& backend_ = domain_.memory;
  util::SimulatedClock& clock_ = domain_.clock;
  util::SequentialIdGenerator& ids_ = domain_.ids;
  std::unique_ptr<keyring::Keyring>& keyring_ = domain_.keyring;
  std::unique_ptr<kms::KeyDirectory>& keys_ = domain_.keys;
  std::unique_ptr<SecretStore>& store_ = domain_.secrets;
};

// A created secret has an ARN with a 6-character suffix and its value under AWSCURRENT.
TEST_F(SecretStoreTest, CreateWithValueMakesCurrentVersionAndSuffixedArn) {
  auto ref = Create("app/db", Str("s3cret"), kTokenA);
  ASSERT_TRUE(IsOk(ref));
  std::string prefix = "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-";
  EXPECT_TRUE(ref->arn.starts_with(prefix));
  EXPECT_EQ(ref->arn.size(), prefix.size() + 6);
  EXPECT_EQ(ref->version_id, kTokenA);
  auto got = Get("app/db");
  ASSERT_TRUE(IsOk(got));
  EXPECT_TRUE(got->value.bytes.Equals(SecretBytes("s3cret")));
  EXPECT_FALSE(got->value.is_binary);
  EXPECT_EQ(got->version_id, kTokenA);
  EXPECT_EQ(got->version_stages, Stages{"AWSCURRENT"});
}

// Full ARN, partial ARN (without suffix) and name all find the secret; a wrong suffix does not.
TEST_F(SecretStoreTest, LookupByNameFullArnAndPartialArn) {
  auto ref = Create("svc", Str("v"));
  ASSERT_TRUE(IsOk(ref));
  EXPECT_TRUE(ValueIs(ref->arn, "v"));
  EXPECT_TRUE(ValueIs("arn:aws:secretsmanager:us-east-1:000000000000:secret:svc", "v"));
  EXPECT_TRUE(HasError(Get("arn:aws:secretsmanager:us-east-1:000000000000:secret:svc-XXXXXX"),
                       ErrorCode::kNotFound, Reason::kSecretNotFound));
  EXPECT_TRUE(HasError(Get("arn:aws:secretsmanager:eu-west-1:000000000000:secret:svc"),
                       ErrorCode::kNotFound, Reason::kSecretNotFound));
  EXPECT_TRUE(HasError(Get("nope"), ErrorCode::kNotFound, Reason::kSecretNotFound));
}

// Every form naming the secret resolves (AccessInfo) to its one canonical ARN
// and its tags; an ARN of another partition, account, region or service names
// nothing here (it must not reach the local secret under a foreign ARN).
TEST_F(SecretStoreTest, AccessInfoResolvesEveryNameFormToTheCanonicalArn) {
  auto ref = Create("prod/db", Str("v"));
  ASSERT_TRUE(IsOk(ref));
  ASSERT_TRUE(IsOk(store_->TagResource("prod/db", {Tag{"env", "prod"}})));
  for (const std::string& id :
       {std::string("prod/db"), ref->arn,
        std::string("arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/db")}) {
    auto info = store_->AccessInfo(id);
    ASSERT_TRUE(IsOk(info)) << id;
    EXPECT_EQ(info->arn, ref->arn) << id;
    EXPECT_EQ(info->name, "prod/db");
    EXPECT_EQ(info->tags, (std::vector<Tag>{Tag{"env", "prod"}}));
  }
  for (const char* foreign :
       {"arn:aws-cn:secretsmanager:us-east-1:000000000000:secret:prod/db",
        "arn:aws-us-gov:secretsmanager:us-east-1:000000000000:secret:prod/db",
        "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db",
        "arn:aws:secretsmanager:eu-west-1:000000000000:secret:prod/db",
        "arn:aws:ssm:us-east-1:000000000000:secret:prod/db"}) {
    EXPECT_TRUE(HasError(store_->AccessInfo(foreign), ErrorCode::kNotFound,
                         Reason::kSecretNotFound))
        << foreign;
    EXPECT_TRUE(HasError(Get(foreign), ErrorCode::kNotFound, Reason::kSecretNotFound)) << foreign;
  }
}

// Binary values keep their type and bytes.
TEST_F(SecretStoreTest, BinaryValueRoundTrips) {
  ASSERT_TRUE(IsOk(Create("bin", Bin(std::string("\x00\x01\xff", 3)))));
  auto got = Get("bin");
  ASSERT_TRUE(IsOk(got));
  EXPECT_TRUE(got->value.is_binary);
  EXPECT_TRUE(got->value.bytes.Equals(SecretBytes(std::string("\x00\x01\xff", 3))));
}

// A secret created without a value has no version: GetSecretValue is ResourceNotFound.
TEST_F(SecretStoreTest, CreateWithoutValueHasNoVersion) {
  auto ref = Create("empty", std::nullopt);
  ASSERT_TRUE(IsOk(ref));
  EXPECT_FALSE(ref->version_id.has_value());
  EXPECT_TRUE(HasError(Get("empty"), ErrorCode::kNotFound, Reason::kSecretVersionNotFound));
}

// Creating an existing name fails with kSecretAlreadyExists.
TEST_F(SecretStoreTest, CreateExistingNameFailsWithAlreadyExists) {
  ASSERT_TRUE(IsOk(Create("dup", Str("a"))));
  EXPECT_TRUE(
      HasError(Create("dup", Str("b")), ErrorCode::kAlreadyExists, Reason::kSecretAlreadyExists));
}

// Create retried with the same token and value succeeds; another value fails.
TEST_F(SecretStoreTest, CreateIdempotentByTokenAndValue) {
  auto first = Create("idem", Str("a"), kTokenA);
  ASSERT_TRUE(IsOk(first));
  auto again = Create("idem", Str("a"), kTokenA);
  ASSERT_TRUE(IsOk(again));
  EXPECT_EQ(again->arn, first->arn);
  EXPECT_EQ(again->version_id, kTokenA);
  EXPECT_TRUE(HasError(Create("idem", Str("b"), kTokenA), ErrorCode::kAlreadyExists,
                       Reason::kSecretVersionAlreadyExists));
}

// Bad names, short tokens and values over 64 KiB are rejected and change nothing.
TEST_F(SecretStoreTest, CreateValidatesNameTokenAndSize) {
  EXPECT_TRUE(HasError(Create("bad name", Str("a")), ErrorCode::kInvalidArgument,
                       Reason::kSecretInvalidParameter));
  EXPECT_TRUE(HasError(Create("", Str("a")), ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(
      HasError(Create("t", Str("a"), "short"), ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(Create("big", Str(std::string(65537, 'x'))), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  EXPECT_TRUE(IsOk(Create("max", Str(std::string(65536, 'x')))));
  EXPECT_TRUE(
      HasError(store_->DescribeSecret("big"), ErrorCode::kNotFound, Reason::kSecretNotFound));
}

// Tags with the aws: prefix are refused; tag and untag work.
TEST_F(SecretStoreTest, TagAndUntag) {
  ASSERT_TRUE(IsOk(Create("tagged", Str("a"))));
  EXPECT_TRUE(HasError(store_->TagResource("tagged", {Tag{"aws:x", "1"}}),
                       ErrorCode::kInvalidArgument, Reason::kSecretInvalidParameter));
  ASSERT_TRUE(IsOk(store_->TagResource("tagged", {Tag{"env", "prod"}, Tag{"team", "a"}})));
  ASSERT_TRUE(IsOk(store_->UntagResource("tagged", {"team", "absent"})));
  auto d = store_->DescribeSecret("tagged");
  ASSERT_TRUE(IsOk(d));
  EXPECT_EQ(d->tags, (std::vector<Tag>{Tag{"env", "prod"}}));
}

// More than 50 tags in total fail with InvalidParameter.
TEST_F(SecretStoreTest, MoreThanFiftyTagsFail) {
  ASSERT_TRUE(IsOk(Create("many", Str("a"))));
  std::vector<Tag> tags;
  for (int i = 0; i < 51; ++i) tags.push_back(Tag{"k" + std::to_string(i), "v"});
  EXPECT_TRUE(HasError(store_->TagResource("many", tags), ErrorCode::kInvalidArgument,
                       Reason::kSecretInvalidParameter));
}

// PutSecretValue without stages moves AWSCURRENT and puts AWSPREVIOUS on the old version.
TEST_F(SecretStoreTest, PutMovesCurrentAndPrevious) {
  ASSERT_TRUE(IsOk(Create("s", Str("v1"), kTokenA)));
  ASSERT_TRUE(IsOk(Put("s", Str("v2"), kTokenB)));
  EXPECT_TRUE(ValueIs("s", "v2"));
  EXPECT_TRUE(ValueIs("s", "v1", "AWSPREVIOUS"));
  ASSERT_TRUE(IsOk(Put("s", Str("v3"), kTokenC)));
  EXPECT_EQ(StagesOf("s", kTokenC), Stages{"AWSCURRENT"});
  EXPECT_EQ(StagesOf("s", kTokenB), Stages{"AWSPREVIOUS"});
  EXPECT_EQ(StagesOf("s", kTokenA), Stages{});  // deprecated
}

// Put with explicit custom stages keeps AWSCURRENT where it was.
TEST_F(SecretStoreTest, PutWithExplicitStagesMovesOnlyThose) {
  ASSERT_TRUE(IsOk(Create("s", Str("v1"), kTokenA)));
  ASSERT_TRUE(IsOk(Put("s", Str("v2"), kTokenB, Stages{"CHAMBER1"})));
  EXPECT_TRUE(ValueIs("s", "v1"));
  EXPECT_TRUE(ValueIs("s", "v2", "CHAMBER1"));
  ASSERT_TRUE(IsOk(Put("s", Str("v3"), kTokenC, Stages{"AWSCURRENT", "CHAMBER1"})));
  EXPECT_EQ(StagesOf("s", kTokenC), (Stages{"AWSCURRENT", "CHAMBER1"}));
  EXPECT_EQ(StagesOf("s", kTokenA), Stages{"AWSPREVIOUS"});
  EXPECT_EQ(StagesOf("s", kTokenB), Stages{});
}

// Put with a known token: same value is a no-op, another value fails.
TEST_F(SecretStoreTest, PutIdempotency) {
  ASSERT_TRUE(IsOk(Create("s", Str("v1"), kTokenA)));
  ASSERT_TRUE(IsOk(Put("s", Str("v2"), kTokenB)));
  auto again = Put("s", Str("v2"), kTokenB);
  ASSERT_TRUE(IsOk(again));
  EXPECT_EQ(again->version_id, kTokenB);
  EXPECT_TRUE(ValueIs("s", "v1", "AWSPREVIOUS"));
  EXPECT_TRUE(HasError(Put("s", Str("other"), kTokenB), ErrorCode::kAlreadyExists,
                       Reason::kSecretVersionAlreadyExists));
  // A binary value with the same bytes is another value.
  EXPECT_TRUE(HasError(Put("s", Bin("v2"), kTokenB), ErrorCode::kAlreadyExists,
                       Reason::kSecretVersionAlreadyExists));
}

// More than 20 labels on one version fail with kSecretStageLimitExceeded.
TEST_F(SecretStoreTest, StageLimitPerVersion) {
  ASSERT_TRUE(IsOk(Create("s", Str("v1"), kTokenA)));
  Stages many;
  for (int i = 0; i < 20; ++i) many.push_back("L" + std::to_string(i));
  ASSERT_TRUE(IsOk(Put("s", Str("v2"), kTokenB, many)));
  UpdateStageRequest req{"s", "AWSCURRENT", kTokenA, kTokenB};
  EXPECT_TRUE(HasError(store_->UpdateSecretVersionStage(req), ErrorCode::kResourceExhausted,
                       Reason::kSecretStageLimitExceeded));
}

// GetSecretValue by VersionId and stage must agree.
TEST_F(SecretStoreTest, GetByVersionAndStage) {
  ASSERT_TRUE(IsOk(Create("s", Str("v1"), kTokenA)));
  ASSERT_TRUE(IsOk(Put("s", Str("v2"), kTokenB)));
  auto v1 = Get("s", kTokenA);
  ASSERT_TRUE(IsOk(v1));
  EXPECT_TRUE(v1->value.bytes.Equals(SecretBytes("v1")));
  EXPECT_TRUE(IsOk(Get("s", kTokenA, "AWSPREVIOUS")));
  EXPECT_TRUE(HasError(Get("s", kTokenA, "AWSCURRENT"), ErrorCode::kFailedPrecondition,
                       Reason::kSecretVersionStageMismatch));
  EXPECT_TRUE(HasError(Get("s", kTokenC), ErrorCode::kNotFound, Reason::kSecretVersionNotFound));
  EXPECT_TRUE(HasError(Get("s", std::nullopt, "NOPE"), ErrorCode::kNotFound,
                       Reason::kSecretVersionNotFound));
}

// UpdateSecret changes metadata without a version; with a value it adds one.
TEST_F(SecretStoreTest, UpdateSecretMetadataAndValue) {
  ASSERT_TRUE(IsOk(Create("s", Str("v1"), kTokenA)));
  UpdateSecretRequest meta;
  meta.secret_id = "s";
  meta.description = "new description";
  meta.client_request_token = kTokenA;  // ignored without a value
  auto r = store_->UpdateSecret(meta);
  ASSERT_TRUE(IsOk(r));
  EXPECT_FALSE(r->version_id.has_value());
  auto d = store_->DescribeSecret("s");
  ASSERT_TRUE(IsOk(d));
  EXPECT_EQ(d->description, "new description");
  UpdateSecretRequest value;
  value.secret_id = "s";
  value.value = Str("v2");
  value.client_request_token = kTokenB;
  r = store_->UpdateSecret(value);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->version_id, kTokenB);
  EXPECT_TRUE(ValueIs("s", "v2"));
  EXPECT_TRUE(ValueIs("s", "v1", "AWSPREVIOUS"));
}

// UpdateSecret with an unknown KMS key fails with EncryptionFailure and changes nothing.
TEST_F(SecretStoreTest, UpdateWithUnknownKeyFails) {
  ASSERT_TRUE(IsOk(Create("s", Str("v1"))));
  UpdateSecretRequest req;
  req.secret_id = "s";
  req.kms_key_id = "alias/does-not-exist";
  EXPECT_TRUE(HasError(store_->UpdateSecret(req), ErrorCode::kFailedPrecondition,
                       Reason::kSecretEncryptionFailure));
  auto d = store_->DescribeSecret("s");
  ASSERT_TRUE(IsOk(d));
  EXPECT_FALSE(d->kms_key_id.has_value());
}

// DescribeSecret reports dates, stages and rotation state.
TEST_F(SecretStoreTest, DescribeReportsFields) {
  CreateSecretRequest req;
  req.name = "d";
  req.description = "desc";
  req.value = Str("v");
  req.client_request_token = kTokenA;
  req.tags = {Tag{"a", "1"}};
  ASSERT_TRUE(IsOk(store_->CreateSecret(req)));
  auto d = store_->DescribeSecret("d");
  ASSERT_TRUE(IsOk(d));
  EXPECT_EQ(d->name, "d");
  EXPECT_EQ(d->description, "desc");
  EXPECT_FALSE(d->rotation_enabled);
  EXPECT_FALSE(d->last_accessed.has_value());
  EXPECT_FALSE(d->deleted.has_value());
  EXPECT_EQ(d->created, clock_.Now());
  EXPECT_EQ(d->version_ids_to_stages.at(kTokenA), Stages{"AWSCURRENT"});
  // A read records the day (midnight UTC).
  ASSERT_TRUE(IsOk(Get("d")));
  d = store_->DescribeSecret("d");
  ASSERT_TRUE(IsOk(d));
  ASSERT_TRUE(d->last_accessed.has_value());
  EXPECT_EQ(util::ToUnixMillis(*d->last_accessed) % (24 * 3600 * 1000), 0);
  EXPECT_LE(*d->last_accessed, clock_.Now());
}

// ListSecrets filters by name prefix, tag key, description words and negation.
TEST_F(SecretStoreTest, ListSecretsFilters) {
  CreateSecretRequest a;
  a.name = "prod/db";
  a.description = "Production database";
  a.tags = {Tag{"env", "prod"}};
  ASSERT_TRUE(IsOk(store_->CreateSecret(a)));
  clock_.Advance(std::chrono::seconds(1));
  CreateSecretRequest b;
  b.name = "dev/db";
  b.tags = {Tag{"env", "dev"}};
  ASSERT_TRUE(IsOk(store_->CreateSecret(b)));
  auto names = [&](std::vector<SecretFilter> filters) {
    ListSecretsQuery q;
    q.filters = std::move(filters);
    std::vector<std::string> out;
    auto page = store_->ListSecrets(q);
    if (page) {
      for (const auto& s : page->secrets) out.push_back(s.name);
    }
    return out;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(names({}), (Names{"prod/db", "dev/db"}));  // by CreatedDate
  EXPECT_EQ(names({{"name", {"prod"}}}), Names{"prod/db"});
  EXPECT_EQ(names({{"name", {"!prod"}}}), Names{"dev/db"});
  EXPECT_EQ(names({{"tag-value", {"dev"}}}), Names{"dev/db"});
  EXPECT_EQ(names({{"description", {"database"}}}), Names{"prod/db"});
  EXPECT_EQ(names({{"all", {"DEV"}}}), Names{"dev/db"});
  EXPECT_EQ(names({{"tag-key", {"env"}}, {"name", {"dev"}}}), Names{"dev/db"});
  ListSecretsQuery bad;
  bad.filters = {{"colour", {"x"}}};
  EXPECT_TRUE(HasError(store_->ListSecrets(bad), ErrorCode::kInvalidArgument,
                       Reason::kSecretInvalidParameter));
}

// ListSecrets pages with NextToken, in both sort orders; a forged token fails.
TEST_F(SecretStoreTest, ListSecretsPaginates) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(IsOk(Create("s" + std::to_string(i), Str("v"))));
    clock_.Advance(std::chrono::seconds(1));
  }
  for (bool desc : {false, true}) {
    ListSecretsQuery q;
    q.max_results = 2;
    q.descending = desc;
    std::vector<std::string> seen;
    for (int page = 0; page < 10; ++page) {
      auto r = store_->ListSecrets(q);
      ASSERT_TRUE(IsOk(r));
      for (const auto& s : r->secrets) seen.push_back(s.name);
      if (r->next_token.empty()) break;
      q.next_token = r->next_token;
    }
    std::vector<std::string> want = {"s0", "s1", "s2", "s3", "s4"};
    if (desc) std::reverse(want.begin(), want.end());
    EXPECT_EQ(seen, want);
  }
  ListSecretsQuery forged;
  forged.next_token = "not-a-token!";
  EXPECT_TRUE(HasError(store_->ListSecrets(forged), ErrorCode::kInvalidArgument,
                       Reason::kInvalidNextToken));
}

// ListSecretVersionIds hides deprecated versions unless asked, and pages.
TEST_F(SecretStoreTest, ListVersionIdsDeprecatedAndPaging) {
  ASSERT_TRUE(IsOk(Create("s", Str("v1"), kTokenA)));
  ASSERT_TRUE(IsOk(Put("s", Str("v2"), kTokenB)));
  ASSERT_TRUE(IsOk(Put("s", Str("v3"), kTokenC)));
  VersionQuery q;
  q.secret_id = "s";
  auto r = store_->ListSecretVersionIds(q);
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->versions.size(), 2u);
  EXPECT_EQ(r->versions[0].version_id, kTokenB);
  EXPECT_EQ(r->versions[0].kms_key_ids, Stages{"DEFAULT"});
  q.include_deprecated = true;
  q.max_results = 2;
  r = store_->ListSecretVersionIds(q);
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->versions.size(), 2u);
  EXPECT_EQ(r->versions[0].version_id, kTokenA);
  ASSERT_FALSE(r->next_token.empty());
  q.next_token = r->next_token;
  r = store_->ListSecretVersionIds(q);
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->versions.size(), 1u);
  EXPECT_EQ(r->versions[0].version_id, kTokenC);
  EXPECT_TRUE(r->next_token.empty());
}

// Deprecated versions beyond 100 are purged once older than 24 hours.
TEST_F(SecretStoreTest, DeprecatedVersionsPurgedBeyondHundred) {
  ASSERT_TRUE(IsOk(Create("s", Str("v0"))));
  for (int i = 1; i <= 105; ++i)
    ASSERT_TRUE(IsOk(Put("s", Str("v" + std::to_string(i)), std::nullopt)));
  VersionQuery q;
  q.secret_id = "s";
  q.include_deprecated = true;
  auto r = store_->ListSecretVersionIds(q);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->versions.size(), 100u);
  EXPECT_FALSE(r->next_token.empty());  // young versions are all kept
  clock_.Advance(hours(25));
  ASSERT_TRUE(IsOk(Put("s", Str("last"), std::nullopt)));
  r = store_->ListSecretVersionIds(q);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->versions.size(), 100u);
  EXPECT_TRUE(r->next_token.empty());
  EXPECT_TRUE(ValueIs("s", "last"));
  EXPECT_TRUE(ValueIs("s", "v105", "AWSPREVIOUS"));
}

// A secret pending deletion refuses Get/Put/Update/Rotate, stays describable, is
// hidden from ListSecrets and blocks its name; RestoreSecret undoes it all.
TEST_F(SecretStoreTest, PendingDeletionBehavesAsAws) {
  ASSERT_TRUE(IsOk(Create("gone", Str("v"), kTokenA)));
  auto del = store_->DeleteSecret(DeleteSecretRequest{"gone", 7, false});
  ASSERT_TRUE(IsOk(del));
  EXPECT_EQ(del->deletion_date, clock_.Now() + hours(24 * 7));
  auto sched = [](const auto& r) {
    return HasError(r, ErrorCode::kFailedPrecondition, Reason::kSecretScheduledForDeletion);
  };
  EXPECT_TRUE(sched(Get("gone")));
  EXPECT_TRUE(sched(Put("gone", Str("x"), kTokenB)));
  UpdateSecretRequest upd;
  upd.secret_id = "gone";
  upd.description = "x";
  EXPECT_TRUE(sched(store_->UpdateSecret(upd)));
  EXPECT_TRUE(sched(Rotate("gone", kTokenB)));
  EXPECT_TRUE(sched(Create("gone", Str("again"))));
  EXPECT_TRUE(sched(store_->DeleteSecret(DeleteSecretRequest{"gone", std::nullopt, false})));
  auto d = store_->DescribeSecret("gone");
  ASSERT_TRUE(IsOk(d));
  EXPECT_EQ(d->deleted, clock_.Now());
  ListSecretsQuery q;
  EXPECT_TRUE(store_->ListSecrets(q)->secrets.empty());
  q.include_planned_deletion = true;
  EXPECT_EQ(store_->ListSecrets(q)->secrets.size(), 1u);
  ASSERT_TRUE(IsOk(store_->RestoreSecret("gone")));
  EXPECT_TRUE(ValueIs("gone", "v"));
  EXPECT_FALSE(store_->DescribeSecret("gone")->deleted.has_value());
}

// Recovery window bounds and the window+force combination are InvalidParameter.
TEST_F(SecretStoreTest, DeleteValidatesWindow) {
  ASSERT_TRUE(IsOk(Create("s", Str("v"))));
  auto bad = [](const auto& r) {
    return HasError(r, ErrorCode::kInvalidArgument, Reason::kSecretInvalidParameter);
  };
  EXPECT_TRUE(bad(store_->DeleteSecret(DeleteSecretRequest{"s", 6, false})));
  EXPECT_TRUE(bad(store_->DeleteSecret(DeleteSecretRequest{"s", 31, false})));
  EXPECT_TRUE(bad(store_->DeleteSecret(DeleteSecretRequest{"s", 7, true})));
  EXPECT_TRUE(HasError(store_->DeleteSecret(DeleteSecretRequest{"nope", 7, false}),
                       ErrorCode::kNotFound, Reason::kSecretNotFound));
}

// Default window is 30 days; RunDueDeletions purges only due secrets, idempotently,
// and the name becomes free with a new ARN.
TEST_F(SecretStoreTest, RunDueDeletionsPurgesAfterWindow) {
  auto first = Create("s", Str("v"));
  ASSERT_TRUE(IsOk(first));
  ASSERT_TRUE(IsOk(Create("keep", Str("v"))));
  auto del = store_->DeleteSecret(DeleteSecretRequest{"s", std::nullopt, false});
  ASSERT_TRUE(IsOk(del));
  EXPECT_EQ(del->deletion_date, clock_.Now() + hours(24 * 30));
  EXPECT_EQ(*store_->RunDueDeletions(clock_.Now() + hours(24 * 29)), 0);
  EXPECT_TRUE(IsOk(store_->DescribeSecret("s")));
  EXPECT_EQ(*store_->RunDueDeletions(clock_.Now() + hours(24 * 30)), 1);
  EXPECT_EQ(*store_->RunDueDeletions(clock_.Now() + hours(24 * 30)), 0);
  EXPECT_TRUE(HasError(store_->DescribeSecret("s"), ErrorCode::kNotFound, Reason::kSecretNotFound));
  auto range = backend_.Range("sm/v/s/", storage::PrefixEnd("sm/v/s/"), 0);
  ASSERT_TRUE(range.has_value());
  EXPECT_TRUE(range->entries.empty());
  EXPECT_TRUE(ValueIs("keep", "v"));
  auto second = Create("s", Str("new"));
  ASSERT_TRUE(IsOk(second));
  EXPECT_NE(second->arn, first->arn);
  EXPECT_TRUE(HasError(Get(first->arn), ErrorCode::kNotFound, Reason::kSecretNotFound));
}

// A restored secret is not purged when its old date passes.
TEST_F(SecretStoreTest, RestoredSecretSurvivesDueDeletions) {
  ASSERT_TRUE(IsOk(Create("s", Str("v"))));
  ASSERT_TRUE(IsOk(store_->DeleteSecret(DeleteSecretRequest{"s", 7, false})));
  ASSERT_TRUE(IsOk(store_->RestoreSecret("s")));
  EXPECT_EQ(*store_->RunDueDeletions(clock_.Now() + hours(24 * 40)), 0);
  EXPECT_TRUE(ValueIs("s", "v"));
}

// Force delete removes the secret at once.
TEST_F(SecretStoreTest, ForceDeleteRemovesImmediately) {
  ASSERT_TRUE(IsOk(Create("s", Str("v"))));
  auto del = store_->DeleteSecret(DeleteSecretRequest{"s", std::nullopt, true});
  ASSERT_TRUE(IsOk(del));
  EXPECT_EQ(del->deletion_date, clock_.Now());
  EXPECT_TRUE(HasError(Get("s"), ErrorCode::kNotFound, Reason::kSecretNotFound));
  EXPECT_TRUE(IsOk(Create("s", Str("again"))));
}

// UpdateSecretVersionStage: moving AWSCURRENT needs RemoveFromVersionId and moves AWSPREVIOUS.
TEST_F(SecretStoreTest, UpdateStageMovesCurrentWithPrevious) {
  ASSERT_TRUE(IsOk(Create("s", Str("v1"), kTokenA)));
  ASSERT_TRUE(IsOk(Put("s", Str("v2"), kTokenB, Stages{"AWSPENDING"})));
  EXPECT_TRUE(HasError(store_->UpdateSecretVersionStage({"s", "AWSCURRENT", std::nullopt, kTokenB}),
                       ErrorCode::kInvalidArgument, Reason::kSecretInvalidParameter));
  EXPECT_TRUE(HasError(store_->UpdateSecretVersionStage({"s", "AWSCURRENT", kTokenB, kTokenB}),
                       ErrorCode::kInvalidArgument, Reason::kSecretInvalidParameter));
  EXPECT_TRUE(HasError(store_->UpdateSecretVersionStage({"s", "AWSCURRENT", kTokenA, kTokenC}),
                       ErrorCode::kInvalidArgument, Reason::kSecretInvalidParameter));
  ASSERT_TRUE(IsOk(store_->UpdateSecretVersionStage({"s", "AWSCURRENT", kTokenA, kTokenB})));
  EXPECT_EQ(StagesOf("s", kTokenB), (Stages{"AWSCURRENT", "AWSPENDING"}));
  EXPECT_EQ(StagesOf("s", kTokenA), Stages{"AWSPREVIOUS"});
  ASSERT_TRUE(IsOk(store_->UpdateSecretVersionStage({"s", "AWSPENDING", kTokenB, std::nullopt})));
  EXPECT_EQ(StagesOf("s", kTokenB), Stages{"AWSCURRENT"});
  EXPECT_TRUE(ValueIs("s", "v2"));
}

// AWSCURRENT can only be moved, never just removed.
TEST_F(SecretStoreTest, UpdateStageCannotDetachCurrent) {
  ASSERT_TRUE(IsOk(Create("s", Str("v1"), kTokenA)));
  EXPECT_TRUE(HasError(store_->UpdateSecretVersionStage({"s", "AWSCURRENT", kTokenA, std::nullopt}),
                       ErrorCode::kInvalidArgument, Reason::kSecretInvalidParameter));
  EXPECT_TRUE(
      HasError(store_->UpdateSecretVersionStage({"s", "AWSCURRENT", std::nullopt, std::nullopt}),
               ErrorCode::kInvalidArgument, Reason::kSecretInvalidParameter));
}

// The whole rotation flow of the AWS template works against the store.
TEST_F(SecretStoreTest, RotationFlowAsTheLambdaTemplateDrivesIt) {
  ASSERT_TRUE(IsOk(Create("db", Str("old"), kTokenA)));
  RotationRules rules;
  rules.automatically_after_days = 7;
  auto rot = Rotate("db", kTokenB, "/usr/local/bin/hook", rules);
  ASSERT_TRUE(IsOk(rot));
  EXPECT_EQ(rot->version_id, kTokenB);
  auto d = store_->DescribeSecret("db");
  ASSERT_TRUE(IsOk(d));
  EXPECT_TRUE(d->rotation_enabled);
  EXPECT_EQ(d->rotation_hook, "/usr/local/bin/hook");
  EXPECT_EQ(d->next_rotation, clock_.Now() + hours(24 * 7));
  EXPECT_EQ(d->version_ids_to_stages.at(kTokenB), Stages{"AWSPENDING"});
  // The engine sees a rotation in progress.
  auto due = store_->ListRotationsDue(clock_.Now());
  ASSERT_TRUE(IsOk(due));
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].pending_version_id, kTokenB);
  EXPECT_EQ((*due)[0].current_version_id, kTokenA);
  // createSecret: the placeholder has no value yet, then gets one.
  EXPECT_TRUE(HasError(Get("db", kTokenB, "AWSPENDING"), ErrorCode::kNotFound,
                       Reason::kSecretVersionNotFound));
  ASSERT_TRUE(IsOk(Put("db", Str("new"), kTokenB, Stages{"AWSPENDING"})));
  EXPECT_TRUE(ValueIs("db", "new", "AWSPENDING"));
  EXPECT_TRUE(ValueIs("db", "old"));
  // A second rotation while this one runs is refused.
  EXPECT_TRUE(
      HasError(Rotate("db", kTokenC), ErrorCode::kFailedPrecondition, Reason::kRotationInProgress));
  // finishSecret.
  ASSERT_TRUE(IsOk(store_->UpdateSecretVersionStage({"db", "AWSCURRENT", kTokenA, kTokenB})));
  ASSERT_TRUE(IsOk(store_->UpdateSecretVersionStage({"db", "AWSPENDING", kTokenB, std::nullopt})));
  clock_.Advance(hours(1));
  ASSERT_TRUE(IsOk(store_->MarkRotated("db", clock_.Now())));
  EXPECT_TRUE(ValueIs("db", "new"));
  EXPECT_TRUE(ValueIs("db", "old", "AWSPREVIOUS"));
  d = store_->DescribeSecret("db");
  EXPECT_EQ(d->last_rotated, clock_.Now());
  EXPECT_EQ(d->next_rotation, clock_.Now() + hours(24 * 7));
  EXPECT_TRUE(store_->ListRotationsDue(clock_.Now())->empty());
  EXPECT_EQ(store_->ListRotationsDue(clock_.Now() + hours(24 * 7))->size(), 1u);
}

// Rotation without a hook fails; bad rules are InvalidParameter.
TEST_F(SecretStoreTest, RotateValidatesHookAndRules) {
  ASSERT_TRUE(IsOk(Create("db", Str("v"), kTokenA)));
  EXPECT_TRUE(HasError(Rotate("db", kTokenB, std::nullopt), ErrorCode::kFailedPrecondition,
                       Reason::kRotationNotConfigured));
  EXPECT_TRUE(HasError(Rotate("db", kTokenB, "relative/hook"), ErrorCode::kInvalidArgument,
                       Reason::kSecretInvalidParameter));
  RotationRules days;
  days.automatically_after_days = 1001;
  EXPECT_TRUE(HasError(Rotate("db", kTokenB, "/bin/h", days), ErrorCode::kInvalidArgument,
                       Reason::kSecretInvalidParameter));
  RotationRules both;
  both.automatically_after_days = 3;
  both.schedule_expression = "rate(3 days)";
  EXPECT_TRUE(HasError(Rotate("db", kTokenB, "/bin/h", both), ErrorCode::kInvalidArgument,
                       Reason::kSecretInvalidParameter));
  RotationRules cron;
  cron.schedule_expression = "cron(0 16 1,15 * ? *)";
  cron.duration = "2h";
  auto r = Rotate("db", std::nullopt, "https://hooks.example/rotate", cron, false);
  ASSERT_TRUE(IsOk(r));
  EXPECT_FALSE(r->version_id.has_value());
  auto d = store_->DescribeSecret("db");
  ASSERT_TRUE(d->next_rotation.has_value());
  EXPECT_GT(*d->next_rotation, clock_.Now());
  ASSERT_TRUE(d->rotation_rules.has_value());
  EXPECT_EQ(d->rotation_rules->schedule_expression, "cron(0 16 1,15 * ? *)");
  // The stored hook is reused.
  EXPECT_TRUE(IsOk(Rotate("db", kTokenB, std::nullopt)));
}

// CancelRotateSecret disables rotation and removes the empty AWSPENDING placeholder.
TEST_F(SecretStoreTest, CancelRotateRemovesPlaceholder) {
  ASSERT_TRUE(IsOk(Create("db", Str("v"), kTokenA)));
  ASSERT_TRUE(IsOk(Rotate("db", kTokenB)));
  auto c = store_->CancelRotateSecret("db");
  ASSERT_TRUE(IsOk(c));
  EXPECT_EQ(c->version_id, kTokenB);
  auto d = store_->DescribeSecret("db");
  EXPECT_FALSE(d->rotation_enabled);
  EXPECT_FALSE(d->next_rotation.has_value());
  EXPECT_EQ(d->version_ids_to_stages.count(kTokenB), 0u);
  EXPECT_TRUE(IsOk(Rotate("db", kTokenC)));
}

// BatchGetSecretValue returns found values and per-secret errors.
TEST_F(SecretStoreTest, BatchGetReturnsValuesAndErrors) {
  ASSERT_TRUE(IsOk(Create("a", Str("va"))));
  ASSERT_TRUE(IsOk(Create("b", Str("vb"))));
  BatchGetRequest req;
  req.secret_ids = {"a", "missing", "b"};
  auto r = store_->BatchGetSecretValue(req);
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->values.size(), 2u);
  EXPECT_TRUE(r->values[1].value.bytes.Equals(SecretBytes("vb")));
  ASSERT_EQ(r->errors.size(), 1u);
  EXPECT_EQ(r->errors[0].secret_id, "missing");
  EXPECT_EQ(r->errors[0].error.reason, Reason::kSecretNotFound);
  BatchGetRequest filtered;
  filtered.filters = {{"name", {"a", "b"}}};
  filtered.max_results = 1;
  r = store_->BatchGetSecretValue(filtered);
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->values.size(), 1u);
  ASSERT_FALSE(r->next_token.empty());
  filtered.next_token = r->next_token;
  r = store_->BatchGetSecretValue(filtered);
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->values.size(), 1u);
  EXPECT_TRUE(r->next_token.empty());
  BatchGetRequest both = req;
  both.filters = filtered.filters;
  EXPECT_TRUE(HasError(store_->BatchGetSecretValue(both), ErrorCode::kInvalidArgument,
                       Reason::kSecretInvalidParameter));
  EXPECT_TRUE(HasError(store_->BatchGetSecretValue(BatchGetRequest{}), ErrorCode::kInvalidArgument,
                       Reason::kSecretInvalidParameter));
}

// A ciphertext copied onto another version record does not open: kDataLoss.
TEST_F(SecretStoreTest, CiphertextMovedToAnotherVersionFailsWithDataLoss) {
  ASSERT_TRUE(IsOk(Create("t", Str("one"), kTokenA)));
  ASSERT_TRUE(IsOk(Put("t", Str("two"), kTokenB)));
  auto a = backend_.Get(internal::VersionKey("t", kTokenA));
  auto b = backend_.Get(internal::VersionKey("t", kTokenB));
  ASSERT_TRUE(a.has_value() && b.has_value());
  auto rec_a = internal::DecodeVersion(a->value);
  auto rec_b = internal::DecodeVersion(b->value);
  ASSERT_TRUE(rec_a.has_value() && rec_b.has_value());
  rec_b->envelope = rec_a->envelope;
  storage::Txn txn;
  txn.writes.push_back(
      storage::Write::Put(internal::VersionKey("t", kTokenB), internal::EncodeVersion(*rec_b)));
  ASSERT_TRUE(backend_.Commit(txn).has_value());
  auto got = Get("t");
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, ErrorCode::kDataLoss);
}

// A second store on the same backend sees writes through the watch-driven cache.
TEST_F(SecretStoreTest, SecondStoreSeesWritesThroughWatch) {
  SecretStore other(backend_, *keyring_, *keys_, clock_, ids_, "us-east-1", "000000000000");
  ASSERT_TRUE(IsOk(Create("w", Str("v1"))));
  auto first = other.GetSecretValue("w", std::nullopt, std::nullopt);
  ASSERT_TRUE(IsOk(first));
  ASSERT_TRUE(IsOk(Put("w", Str("v2"), std::nullopt)));
  auto second = other.GetSecretValue("w", std::nullopt, std::nullopt);
  ASSERT_TRUE(IsOk(second));
  EXPECT_TRUE(second->value.bytes.Equals(SecretBytes("v2")));
}

constexpr char kPolicy[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},)"
    R"("Action":"secretsmanager:GetSecretValue","Resource":"*"}]})";

// A resource policy is stored as given, read back, replaced and removed; every
// change moves the revision that compiled forms are cached under.
TEST_F(SecretStoreTest, ResourcePolicyRoundTrip) {
  ASSERT_TRUE(IsOk(Create("p", Str("v"))));
  auto none = store_->GetResourcePolicy("p");
  ASSERT_TRUE(IsOk(none));
  EXPECT_FALSE(none->resource_policy.has_value());
  auto before = store_->AccessInfo("p");
  ASSERT_TRUE(IsOk(before));
  EXPECT_EQ(before->resource_policy, "");

  auto put = store_->PutResourcePolicy("p", kPolicy);
  ASSERT_TRUE(IsOk(put));
  EXPECT_EQ(put->name, "p");
  EXPECT_EQ(put->arn, before->arn);
  auto got = store_->GetResourcePolicy(before->arn);
  ASSERT_TRUE(IsOk(got));
  EXPECT_EQ(got->resource_policy, std::optional<std::string>(kPolicy));
  auto after = store_->AccessInfo("p");
  ASSERT_TRUE(IsOk(after));
  EXPECT_EQ(after->resource_policy, kPolicy);
  EXPECT_NE(after->revision, before->revision);

  // A store that starts later reads it from storage.
  SecretStore other(backend_, *keyring_, *keys_, clock_, ids_, "us-east-1", "000000000000");
  EXPECT_EQ(other.AccessInfo("p")->resource_policy, kPolicy);

  ASSERT_TRUE(IsOk(store_->DeleteResourcePolicy("p")));
  EXPECT_FALSE(store_->GetResourcePolicy("p")->resource_policy.has_value());
  EXPECT_EQ(other.AccessInfo("p")->resource_policy, "");
  EXPECT_TRUE(IsOk(store_->DeleteResourcePolicy("p")));  // no policy: a no-op
}

// Resource policy calls name their errors: unknown secret, pending deletion, length.
TEST_F(SecretStoreTest, ResourcePolicyErrors) {
  EXPECT_TRUE(HasError(store_->PutResourcePolicy("nope", kPolicy), ErrorCode::kNotFound,
                       Reason::kSecretNotFound));
  EXPECT_TRUE(
      HasError(store_->GetResourcePolicy("nope"), ErrorCode::kNotFound, Reason::kSecretNotFound));
  EXPECT_TRUE(HasError(store_->AccessInfo("nope"), ErrorCode::kNotFound, Reason::kSecretNotFound));
  ASSERT_TRUE(IsOk(Create("d", Str("v"))));
  EXPECT_TRUE(HasError(store_->PutResourcePolicy("d", ""), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  EXPECT_TRUE(
      HasError(store_->PutResourcePolicy("d", std::string(kMaxResourcePolicyLength + 1, ' ')),
               ErrorCode::kInvalidArgument, Reason::kValidation));
  ASSERT_TRUE(IsOk(store_->DeleteSecret(DeleteSecretRequest{"d", 7, false})));
  EXPECT_TRUE(HasError(store_->PutResourcePolicy("d", kPolicy), ErrorCode::kFailedPrecondition,
                       Reason::kSecretScheduledForDeletion));
  EXPECT_TRUE(HasError(store_->DeleteResourcePolicy("d"), ErrorCode::kFailedPrecondition,
                       Reason::kSecretScheduledForDeletion));
  EXPECT_TRUE(IsOk(store_->GetResourcePolicy("d")));
}

// Heads written before resource policies existed (format 1) still decode.
TEST_F(SecretStoreTest, FormatOneHeadStillDecodes) {
  internal::HeadRecord head;
  head.arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:old-AbCdEf";
  head.tags["team"] = "pay";
  std::string v2 = internal::EncodeHead(head);
  ASSERT_EQ(v2.front(), '\x02');
  ASSERT_EQ(v2.back(), '\x00');  // the empty policy string
  std::string v1 = "\x01" + v2.substr(1, v2.size() - 2);
  auto decoded = internal::DecodeHead(v1);
  ASSERT_TRUE(IsOk(decoded));
  EXPECT_EQ(decoded->arn, head.arn);
  EXPECT_EQ(decoded->tags, head.tags);
  EXPECT_EQ(decoded->resource_policy, "");
  head.resource_policy = kPolicy;
  EXPECT_EQ(internal::DecodeHead(internal::EncodeHead(head))->resource_policy, kPolicy);
}

// A value reads only while its KMS key is enabled (as on AWS); writes under a
// disabled key fail with EncryptionFailure and change nothing.
TEST_F(SecretStoreTest, DisabledKeyMakesValuesUnreadable) {
  auto key = keys_->CreateKey(kms::CreateKeyRequest{});
  ASSERT_TRUE(IsOk(key));
  CreateSecretRequest req;
  req.name = "k";
  req.kms_key_id = key->key_id;
  req.value = Str("v1");
  ASSERT_TRUE(IsOk(store_->CreateSecret(req)));
  ASSERT_TRUE(IsOk(keys_->DisableKey(key->key_id)));
  EXPECT_TRUE(HasError(Get("k"), ErrorCode::kFailedPrecondition, Reason::kSecretDecryptionFailure));
  EXPECT_TRUE(HasError(Put("k", Str("v2"), kTokenB), ErrorCode::kFailedPrecondition,
                       Reason::kSecretEncryptionFailure));
  ASSERT_TRUE(IsOk(keys_->EnableKey(key->key_id)));
  EXPECT_TRUE(ValueIs("k", "v1"));
}

// RewrapValues re-seals versions under an older key version under the newest
// one, keeps values, ids and stages, honours the key filter, and is a no-op
// once everything is current.
TEST_F(SecretStoreTest, RewrapValuesResealsStaleVersionsOnly) {
  auto k1 = keys_->CreateKey(kms::CreateKeyRequest{});
  auto k2 = keys_->CreateKey(kms::CreateKeyRequest{});
  ASSERT_TRUE(IsOk(k1) && IsOk(k2));
  CreateSecretRequest req;
  req.name = "a";
  req.kms_key_id = k1->key_id;
  req.value = Str("a1");
  req.client_request_token = kTokenA;
  ASSERT_TRUE(IsOk(store_->CreateSecret(req)));
  ASSERT_TRUE(IsOk(Put("a", Bin("a2"), kTokenB)));
  req.name = "b";
  req.kms_key_id = k2->key_id;
  req.value = Str("b1");
  ASSERT_TRUE(IsOk(store_->CreateSecret(req)));
  auto version_of = [&](const std::string& name, const std::string& id) {
    auto e = backend_.Get(internal::VersionKey(name, id));
    auto rec = internal::DecodeVersion(e->value);
    return keyring::Keyring::Inspect(rec->envelope)->version;
  };
  ASSERT_TRUE(IsOk(keyring_->RotateKey(k1->key_id)));
  ASSERT_TRUE(IsOk(keyring_->RotateKey(k2->key_id)));

  auto only_k1 = store_->RewrapValues(k1->key_id);
  ASSERT_TRUE(IsOk(only_k1));
  EXPECT_EQ(only_k1->scanned, 2);
  EXPECT_EQ(only_k1->rewrapped, 2);
  EXPECT_TRUE(only_k1->failures.empty());
  EXPECT_EQ(version_of("a", kTokenA), 2u);
  EXPECT_EQ(version_of("a", kTokenB), 2u);
  auto all = store_->RewrapValues(std::nullopt);
  ASSERT_TRUE(IsOk(all));
  EXPECT_EQ(all->scanned, 3);
  EXPECT_EQ(all->rewrapped, 1);
  EXPECT_EQ(store_->RewrapValues(std::nullopt)->rewrapped, 0);

  EXPECT_TRUE(ValueIs("a", "a1", "AWSPREVIOUS"));
  auto current = Get("a");
  ASSERT_TRUE(IsOk(current));
  EXPECT_TRUE(current->value.is_binary);
  EXPECT_TRUE(current->value.bytes.Equals(SecretBytes("a2")));
  EXPECT_EQ(current->version_id, kTokenB);
  EXPECT_EQ(StagesOf("a", kTokenA), Stages{"AWSPREVIOUS"});
  EXPECT_TRUE(ValueIs("b", "b1"));
}

// A version whose ciphertext was altered is reported, not re-wrapped, and the
// pass carries on with the others.
TEST_F(SecretStoreTest, RewrapValuesReportsDamagedVersions) {
  auto key = keys_->CreateKey(kms::CreateKeyRequest{});
  ASSERT_TRUE(IsOk(key));
  CreateSecretRequest req;
  req.kms_key_id = key->key_id;
  req.name = "bad";
  req.value = Str("x");
  req.client_request_token = kTokenA;
  ASSERT_TRUE(IsOk(store_->CreateSecret(req)));
  req.name = "good";
  req.value = Str("y");
  ASSERT_TRUE(IsOk(store_->CreateSecret(req)));
  auto e = backend_.Get(internal::VersionKey("bad", kTokenA));
  auto rec = internal::DecodeVersion(e->value);
  rec->envelope.back() = static_cast<char>(rec->envelope.back() ^ 1);
  storage::Txn txn;
  txn.writes.push_back(
      storage::Write::Put(internal::VersionKey("bad", kTokenA), internal::EncodeVersion(*rec)));
  ASSERT_TRUE(IsOk(backend_.Commit(txn)));
  ASSERT_TRUE(IsOk(keyring_->RotateKey(key->key_id)));
  auto r = store_->RewrapValues(std::nullopt);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->scanned, 2);
  EXPECT_EQ(r->rewrapped, 1);
  ASSERT_EQ(r->failures.size(), 1u);
  EXPECT_NE(r->failures[0].find("version " + std::string(kTokenA)), std::string::npos);
  EXPECT_TRUE(ValueIs("good", "y"));
}

}  // namespace
}  // namespace coffer::domain::secrets
