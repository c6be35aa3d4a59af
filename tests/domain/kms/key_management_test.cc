// KeyDirectory's KMS API: CreateKey, DescribeKey, ListKeys, state changes,
// rotation settings and schedule, deletion, aliases.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "domain/kms/internal/records.h"
#include "kms_test_support.h"

namespace coffer::domain::kms {
namespace {

class KeyManagementTest : public KmsFixture {};

// A created key is an enabled customer key with its metadata stored durably.
TEST_F(KeyManagementTest, CreateKeyMakesEnabledCustomerKey) {
  CreateKeyRequest req;
  req.description = "orders";
  req.policy = R"({"Version":"2012-10-17"})";
  req.tags = {{"team", "payments"}};
  auto meta = dir_->CreateKey(req);
  ASSERT_TRUE(meta.has_value()) << meta.error().message;
  EXPECT_EQ(meta->state, KeyState::kEnabled);
  EXPECT_FALSE(meta->aws_managed);
  EXPECT_FALSE(meta->rotation_enabled);
  EXPECT_EQ(meta->arn, "arn:aws:kms:us-east-1:000000000000:key/" + meta->key_id);
  EXPECT_TRUE(keyring_->HasKey(meta->key_id));

  // A fresh directory reads the same record back.
  KeyDirectory other(backend_, *keyring_, clock_, ids_, "us-east-1", "000000000000");
  auto again = other.DescribeKey(meta->arn);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->description, "orders");
  EXPECT_EQ(again->policy, req.policy);
  ASSERT_EQ(again->tags.size(), 1u);
  EXPECT_EQ(again->tags[0].key, "team");
  EXPECT_EQ(again->tags[0].value, "payments");
  EXPECT_EQ(again->created, clock_.Now());
}

// Asymmetric, HMAC, external-origin and multi-region keys are refused.
TEST_F(KeyManagementTest, CreateKeyRefusesNonSymmetricKeysWithUnsupportedOperation) {
  CreateKeyRequest rsa;
  rsa.key_spec = "RSA_2048";
  EXPECT_TRUE(
      HasError(dir_->CreateKey(rsa), ErrorCode::kInvalidArgument, Reason::kKmsUnsupportedOperation));
  CreateKeyRequest sign;
  sign.key_usage = "SIGN_VERIFY";
  EXPECT_TRUE(
      HasError(dir_->CreateKey(sign), ErrorCode::kInvalidArgument, Reason::kKmsUnsupportedOperation));
  CreateKeyRequest external;
  external.origin = "EXTERNAL";
  EXPECT_TRUE(HasError(dir_->CreateKey(external), ErrorCode::kInvalidArgument,
                    Reason::kKmsUnsupportedOperation));
  CreateKeyRequest multi;
  multi.multi_region = true;
  EXPECT_TRUE(
      HasError(dir_->CreateKey(multi), ErrorCode::kInvalidArgument, Reason::kKmsUnsupportedOperation));
  auto page = dir_->ListKeys(100, "");
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->keys.empty());
}

// Descriptions over 8192 characters are validation errors; invalid tags are
// KMS's TagException (kKmsTagError).
TEST_F(KeyManagementTest, CreateKeyRejectsLongDescriptionAndBadTag) {
  CreateKeyRequest req;
  req.description = std::string(8193, 'd');
  EXPECT_TRUE(HasError(dir_->CreateKey(req), ErrorCode::kInvalidArgument, Reason::kValidation));
  CreateKeyRequest tagged;
  tagged.tags = {{"aws:reserved", "x"}};
  EXPECT_TRUE(HasError(dir_->CreateKey(tagged), ErrorCode::kInvalidArgument, Reason::kKmsTagError));
}

// TagResource adds and replaces tags durably; UntagResource removes them;
// ListResourceTags pages through them in key order.
TEST_F(KeyManagementTest, TagUntagAndListResourceTags) {
  CreateKeyRequest req;
  req.tags = {{"env", "dev"}};
  auto meta = dir_->CreateKey(req);
  ASSERT_TRUE(meta.has_value());
  ASSERT_TRUE(dir_->TagResource(meta->arn, {{"env", "prod"}, {"team", "a"}, {"cost", "1"}}));
  KeyDirectory other(backend_, *keyring_, clock_, ids_, "us-east-1", "000000000000");
  auto first = other.ListResourceTags(meta->key_id, 2, "");
  ASSERT_TRUE(first.has_value()) << first.error().message;
  ASSERT_EQ(first->tags.size(), 2u);
  EXPECT_EQ(first->tags[0], (Tag{"cost", "1"}));
  EXPECT_EQ(first->tags[1], (Tag{"env", "prod"}));
  ASSERT_FALSE(first->next_marker.empty());
  auto second = other.ListResourceTags(meta->key_id, 2, first->next_marker);
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->tags.size(), 1u);
  EXPECT_EQ(second->tags[0], (Tag{"team", "a"}));
  EXPECT_TRUE(second->next_marker.empty());

  ASSERT_TRUE(dir_->UntagResource(meta->key_id, {"env", "absent"}));
  auto after = dir_->DescribeKey(meta->key_id);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->tags.size(), 2u);
  EXPECT_TRUE(HasError(dir_->ListResourceTags(meta->key_id, 10, "bogus"),
                       ErrorCode::kInvalidArgument, Reason::kInvalidNextToken));
}

// Bad tags, more than 50, aliases, managed keys and keys pending deletion are
// refused, and a refused call changes nothing.
TEST_F(KeyManagementTest, TagResourceRefusalsChangeNothing) {
  auto meta = dir_->CreateKey(CreateKeyRequest{});
  ASSERT_TRUE(meta.has_value());
  EXPECT_TRUE(HasError(dir_->TagResource(meta->key_id, {{"ok", "1"}, {"aws:x", "y"}}),
                       ErrorCode::kInvalidArgument, Reason::kKmsTagError));
  std::vector<Tag> many;
  for (int i = 0; i < 51; ++i) many.push_back({"k" + std::to_string(i), "v"});
  EXPECT_TRUE(HasError(dir_->TagResource(meta->key_id, many), ErrorCode::kResourceExhausted,
                       Reason::kTooManyTags));
  ASSERT_TRUE(dir_->CreateAlias("alias/tagged", meta->key_id));
  EXPECT_TRUE(HasError(dir_->TagResource("alias/tagged", {{"a", "b"}}), ErrorCode::kNotFound,
                       Reason::kInvalidKeyId));
  auto managed = dir_->DescribeKey("alias/aws/ssm");
  ASSERT_TRUE(managed.has_value());
  EXPECT_TRUE(HasError(dir_->TagResource(managed->key_id, {{"a", "b"}}),
                       ErrorCode::kInvalidArgument, Reason::kKmsUnsupportedOperation));
  ASSERT_TRUE(dir_->ScheduleKeyDeletion(meta->key_id, 7));
  EXPECT_TRUE(HasError(dir_->TagResource(meta->key_id, {{"a", "b"}}),
                       ErrorCode::kFailedPrecondition, Reason::kKmsInvalidState));
  auto after = dir_->DescribeKey(meta->key_id);
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->tags.empty());
}

// PutKeyPolicy replaces the stored policy, which survives a fresh directory
// (durable); aliases, managed keys and bad sizes are refused and change nothing.
TEST_F(KeyManagementTest, PutKeyPolicyStoresPolicyAndRefusalsChangeNothing) {
  CreateKeyRequest req;
  req.policy = "first";
  auto meta = dir_->CreateKey(req);
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->policy, "first");
  ASSERT_TRUE(dir_->PutKeyPolicy(meta->arn, "second"));
  auto described = dir_->DescribeKeyOnly(meta->key_id);
  ASSERT_TRUE(described.has_value());
  EXPECT_EQ(described->policy, "second");
  ASSERT_TRUE(dir_->CreateAlias("alias/pol", meta->key_id));
  EXPECT_TRUE(HasError(dir_->PutKeyPolicy("alias/pol", "third"), ErrorCode::kNotFound,
                       Reason::kInvalidKeyId));
  EXPECT_TRUE(HasError(dir_->DescribeKeyOnly("alias/pol"), ErrorCode::kNotFound,
                       Reason::kInvalidKeyId));
  EXPECT_TRUE(HasError(dir_->PutKeyPolicy(meta->key_id, ""), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  EXPECT_TRUE(HasError(dir_->PutKeyPolicy(meta->key_id, std::string(kMaxPolicyLength + 1, 'x')),
                       ErrorCode::kInvalidArgument, Reason::kValidation));
  auto managed = dir_->DescribeKey("alias/aws/secretsmanager");
  ASSERT_TRUE(managed.has_value());
  EXPECT_TRUE(HasError(dir_->PutKeyPolicy(managed->key_id, "x"), ErrorCode::kInvalidArgument,
                       Reason::kKmsUnsupportedOperation));
  EXPECT_TRUE(dir_->DescribeKey(managed->key_id)->policy.empty());
  EXPECT_EQ(dir_->DescribeKey(meta->key_id)->policy, "second");
  // CreateKey refuses a policy over 32 KB.
  CreateKeyRequest big;
  big.policy = std::string(kMaxPolicyLength + 1, 'x');
  EXPECT_TRUE(HasError(dir_->CreateKey(big), ErrorCode::kInvalidArgument, Reason::kValidation));
}

// DescribeKey of a managed alias reports an AWS-managed key that rotates yearly.
TEST_F(KeyManagementTest, DescribeManagedAliasReportsAwsManagedRotatingKey) {
  auto meta = dir_->DescribeKey("alias/aws/secretsmanager");
  ASSERT_TRUE(meta.has_value());
  EXPECT_TRUE(meta->aws_managed);
  auto status = dir_->GetKeyRotationStatus(meta->key_id);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(status->enabled);
  ASSERT_TRUE(status->next_rotation.has_value());
  EXPECT_EQ(*status->next_rotation, clock_.Now() + Days(365));
}

// An "arn:" KeyId that is not a KMS ARN is InvalidArn; an unknown key is NotFound.
TEST_F(KeyManagementTest, DescribeKeyErrorsDistinguishBadArnFromUnknownKey) {
  EXPECT_TRUE(HasError(dir_->DescribeKey("arn:aws:ssm:us-east-1:000000000000:parameter/x"),
                    ErrorCode::kInvalidArgument, Reason::kKmsInvalidArn));
  EXPECT_TRUE(HasError(dir_->DescribeKey("arn:nonsense"), ErrorCode::kInvalidArgument,
                    Reason::kKmsInvalidArn));
  EXPECT_TRUE(HasError(dir_->DescribeKey("11111111-2222-3333-4444-555555555555"), ErrorCode::kNotFound,
                    Reason::kInvalidKeyId));
}

// ListKeys pages through every key in id order with markers.
TEST_F(KeyManagementTest, ListKeysPaginatesWithMarkers) {
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i) created.insert(NewKey().key_id);
  std::set<std::string> seen;
  std::string marker;
  int pages = 0;
  do {
    auto page = dir_->ListKeys(2, marker);
    ASSERT_TRUE(page.has_value()) << page.error().message;
    EXPECT_LE(page->keys.size(), 2u);
    for (const KeyMetadata& k : page->keys) EXPECT_TRUE(seen.insert(k.key_id).second);
    marker = page->next_marker;
    ++pages;
  } while (!marker.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, created);
}

// A marker that was not issued by ListKeys is InvalidMarker (kInvalidNextToken).
TEST_F(KeyManagementTest, ListKeysWithForeignMarkerFails) {
  EXPECT_TRUE(HasError(dir_->ListKeys(10, "not-a-marker!"), ErrorCode::kInvalidArgument,
                    Reason::kInvalidNextToken));
}

// Disable then enable moves the key between Disabled and Enabled.
TEST_F(KeyManagementTest, DisableAndEnableChangeState) {
  KeyMetadata key = NewKey();
  ASSERT_TRUE(dir_->DisableKey(key.key_id).has_value());
  EXPECT_EQ(dir_->DescribeKey(key.key_id)->state, KeyState::kDisabled);
  EXPECT_TRUE(
      HasError(dir_->Resolve(key.key_id), ErrorCode::kFailedPrecondition, Reason::kKeyDisabled));
  ASSERT_TRUE(dir_->EnableKey(key.arn).has_value());
  EXPECT_EQ(dir_->DescribeKey(key.key_id)->state, KeyState::kEnabled);
}

// AWS-managed keys cannot be disabled, scheduled for deletion or have rotation changed.
TEST_F(KeyManagementTest, ManagedKeyChangesFailWithUnsupportedOperation) {
  auto managed = dir_->DescribeKey("alias/aws/ssm");
  ASSERT_TRUE(managed.has_value());
  EXPECT_TRUE(HasError(dir_->DisableKey(managed->key_id), ErrorCode::kInvalidArgument,
                    Reason::kKmsUnsupportedOperation));
  EXPECT_TRUE(HasError(dir_->ScheduleKeyDeletion(managed->key_id, 7), ErrorCode::kInvalidArgument,
                    Reason::kKmsUnsupportedOperation));
  EXPECT_TRUE(HasError(dir_->DisableKeyRotation(managed->key_id), ErrorCode::kInvalidArgument,
                    Reason::kKmsUnsupportedOperation));
}

// EnableKeyRotation schedules the next rotation one period away; Disable clears it.
TEST_F(KeyManagementTest, EnableKeyRotationSchedulesNextRotation) {
  KeyMetadata key = NewKey();
  auto off = dir_->GetKeyRotationStatus(key.key_id);
  ASSERT_TRUE(off.has_value());
  EXPECT_FALSE(off->enabled);
  ASSERT_TRUE(dir_->EnableKeyRotation(key.key_id, std::nullopt).has_value());
  auto on = dir_->GetKeyRotationStatus(key.arn);
  ASSERT_TRUE(on.has_value());
  EXPECT_TRUE(on->enabled);
  EXPECT_EQ(on->period_days, 365);
  EXPECT_EQ(*on->next_rotation, clock_.Now() + Days(365));
  ASSERT_TRUE(dir_->EnableKeyRotation(key.key_id, 90).has_value());
  EXPECT_EQ(*dir_->GetKeyRotationStatus(key.key_id)->next_rotation, clock_.Now() + Days(90));
  ASSERT_TRUE(dir_->DisableKeyRotation(key.key_id).has_value());
  EXPECT_FALSE(dir_->GetKeyRotationStatus(key.key_id)->enabled);
}

// EnableKeyRotation takes a key id or ARN only, a period of 90..2560 days, and an enabled key.
TEST_F(KeyManagementTest, EnableKeyRotationRejectsAliasBadPeriodAndDisabledKey) {
  KeyMetadata key = NewKey();
  ASSERT_TRUE(dir_->CreateAlias("alias/app", key.key_id).has_value());
  EXPECT_TRUE(HasError(dir_->EnableKeyRotation("alias/app", std::nullopt), ErrorCode::kNotFound,
                    Reason::kInvalidKeyId));
  EXPECT_TRUE(HasError(dir_->EnableKeyRotation(key.key_id, 89), ErrorCode::kInvalidArgument,
                    Reason::kValidation));
  ASSERT_TRUE(dir_->DisableKey(key.key_id).has_value());
  EXPECT_TRUE(HasError(dir_->EnableKeyRotation(key.key_id, std::nullopt),
                    ErrorCode::kFailedPrecondition, Reason::kKeyDisabled));
}

// RunDueRotations rotates only keys whose date has come, once, and reschedules them.
TEST_F(KeyManagementTest, RunDueRotationsRotatesDueKeysOnce) {
  KeyMetadata due = NewKey();
  KeyMetadata later = NewKey();
  KeyMetadata off = NewKey();
  ASSERT_TRUE(dir_->EnableKeyRotation(due.key_id, 90).has_value());
  ASSERT_TRUE(dir_->EnableKeyRotation(later.key_id, 365).has_value());
  (void)off;
  clock_.Advance(Days(100));
  auto n = dir_->RunDueRotations(clock_.Now());
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(*keyring_->LatestVersion(due.key_id), 2u);
  EXPECT_EQ(*keyring_->LatestVersion(later.key_id), 1u);
  EXPECT_EQ(*keyring_->LatestVersion(off.key_id), 1u);
  EXPECT_EQ(*dir_->GetKeyRotationStatus(due.key_id)->next_rotation, clock_.Now() + Days(90));
  EXPECT_EQ(*dir_->DescribeKey(due.key_id)->last_rotated, clock_.Now());
  // A second run at the same time finds nothing due.
  EXPECT_EQ(*dir_->RunDueRotations(clock_.Now()), 0);
  EXPECT_EQ(*keyring_->LatestVersion(due.key_id), 2u);
}

// A disabled key is not rotated automatically.
TEST_F(KeyManagementTest, RunDueRotationsSkipsDisabledKeys) {
  KeyMetadata key = NewKey();
  ASSERT_TRUE(dir_->EnableKeyRotation(key.key_id, 90).has_value());
  ASSERT_TRUE(dir_->DisableKey(key.key_id).has_value());
  clock_.Advance(Days(91));
  EXPECT_EQ(*dir_->RunDueRotations(clock_.Now()), 0);
  EXPECT_EQ(*keyring_->LatestVersion(key.key_id), 1u);
}

// RotateKeyOnDemand adds a version and keeps the automatic schedule.
TEST_F(KeyManagementTest, RotateKeyOnDemandAddsVersion) {
  KeyMetadata key = NewKey();
  auto arn = dir_->RotateKeyOnDemand(key.key_id);
  ASSERT_TRUE(arn.has_value());
  EXPECT_EQ(*arn, key.arn);
  EXPECT_EQ(*keyring_->LatestVersion(key.key_id), 2u);
  EXPECT_FALSE(dir_->GetKeyRotationStatus(key.key_id)->enabled);
  ASSERT_TRUE(dir_->DisableKey(key.key_id).has_value());
  EXPECT_TRUE(HasError(dir_->RotateKeyOnDemand(key.key_id), ErrorCode::kFailedPrecondition,
                    Reason::kKeyDisabled));
}

// ScheduleKeyDeletion sets PendingDeletion with its date; Cancel returns it to Disabled.
TEST_F(KeyManagementTest, ScheduleAndCancelDeletion) {
  KeyMetadata key = NewKey();
  auto s = dir_->ScheduleKeyDeletion(key.key_id, 7);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->deletion_date, clock_.Now() + Days(7));
  EXPECT_EQ(s->pending_window_days, 7);
  auto meta = dir_->DescribeKey(key.key_id);
  EXPECT_EQ(meta->state, KeyState::kPendingDeletion);
  EXPECT_EQ(meta->pending_window_days, 7);
  // Pending deletion: state-changing operations fail with KMSInvalidState.
  EXPECT_TRUE(HasError(dir_->ScheduleKeyDeletion(key.key_id, 30), ErrorCode::kFailedPrecondition,
                    Reason::kKmsInvalidState));
  EXPECT_TRUE(
      HasError(dir_->EnableKey(key.key_id), ErrorCode::kFailedPrecondition, Reason::kKmsInvalidState));
  EXPECT_TRUE(HasError(dir_->GetKeyRotationStatus(key.key_id), ErrorCode::kFailedPrecondition,
                    Reason::kKmsInvalidState));
  auto arn = dir_->CancelKeyDeletion(key.key_id);
  ASSERT_TRUE(arn.has_value());
  meta = dir_->DescribeKey(key.key_id);
  EXPECT_EQ(meta->state, KeyState::kDisabled);
  EXPECT_FALSE(meta->deletion_date.has_value());
  EXPECT_TRUE(HasError(dir_->CancelKeyDeletion(key.key_id), ErrorCode::kFailedPrecondition,
                    Reason::kKmsInvalidState));
}

// PendingWindowInDays outside 7..30 is a validation error.
TEST_F(KeyManagementTest, ScheduleDeletionRejectsWindowOutOfRange) {
  KeyMetadata key = NewKey();
  EXPECT_TRUE(HasError(dir_->ScheduleKeyDeletion(key.key_id, 6), ErrorCode::kInvalidArgument,
                    Reason::kValidation));
  EXPECT_TRUE(HasError(dir_->ScheduleKeyDeletion(key.key_id, 31), ErrorCode::kInvalidArgument,
                    Reason::kValidation));
  EXPECT_EQ(dir_->DescribeKey(key.key_id)->state, KeyState::kEnabled);
}

// RunDueDeletions deletes keys (and their aliases) only after the deletion date.
TEST_F(KeyManagementTest, RunDueDeletionsDeletesKeyAndAliasesAfterDate) {
  KeyMetadata doomed = NewKey();
  KeyMetadata kept = NewKey();
  ASSERT_TRUE(dir_->CreateAlias("alias/doomed", doomed.key_id).has_value());
  ASSERT_TRUE(dir_->CreateAlias("alias/kept", kept.key_id).has_value());
  ASSERT_TRUE(dir_->ScheduleKeyDeletion(doomed.key_id, 7).has_value());
  clock_.Advance(Days(7) - std::chrono::seconds(1));
  EXPECT_EQ(*dir_->RunDueDeletions(clock_.Now()), 0);
  EXPECT_TRUE(dir_->DescribeKey(doomed.key_id).has_value());
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(*dir_->RunDueDeletions(clock_.Now()), 1);
  EXPECT_TRUE(HasError(dir_->DescribeKey(doomed.key_id), ErrorCode::kNotFound, Reason::kInvalidKeyId));
  EXPECT_TRUE(
      HasError(dir_->DescribeKey("alias/doomed"), ErrorCode::kNotFound, Reason::kInvalidKeyId));
  EXPECT_TRUE(dir_->DescribeKey("alias/kept").has_value());
}

// A cancelled deletion is not carried out.
TEST_F(KeyManagementTest, RunDueDeletionsSkipsCancelledKeys) {
  KeyMetadata key = NewKey();
  ASSERT_TRUE(dir_->ScheduleKeyDeletion(key.key_id, 7).has_value());
  ASSERT_TRUE(dir_->CancelKeyDeletion(key.key_id).has_value());
  clock_.Advance(Days(8));
  EXPECT_EQ(*dir_->RunDueDeletions(clock_.Now()), 0);
  EXPECT_TRUE(dir_->DescribeKey(key.key_id).has_value());
}

// CreateAlias validates the name: prefix, characters, reserved alias/aws/.
TEST_F(KeyManagementTest, CreateAliasRejectsInvalidNames) {
  KeyMetadata key = NewKey();
  for (std::string_view bad :
       {"app", "alias/", "alias/aws/mine", "alias/has space", "alias/star*"}) {
    EXPECT_TRUE(HasError(dir_->CreateAlias(bad, key.key_id), ErrorCode::kInvalidArgument,
                      Reason::kKmsInvalidAliasName))
        << bad;
  }
  EXPECT_TRUE(HasError(dir_->CreateAlias("alias/" + std::string(251, 'a'), key.key_id),
                    ErrorCode::kInvalidArgument, Reason::kKmsInvalidAliasName));
}

// CreateAlias needs a key id or ARN target, refuses duplicates and pending-deletion keys.
TEST_F(KeyManagementTest, CreateAliasTargetAndDuplicateRules) {
  KeyMetadata key = NewKey();
  ASSERT_TRUE(dir_->CreateAlias("alias/a", key.arn).has_value());
  EXPECT_TRUE(HasError(dir_->CreateAlias("alias/a", key.key_id), ErrorCode::kAlreadyExists,
                    Reason::kKmsAliasExists));
  EXPECT_TRUE(
      HasError(dir_->CreateAlias("alias/b", "alias/a"), ErrorCode::kNotFound, Reason::kInvalidKeyId));
  EXPECT_TRUE(HasError(dir_->CreateAlias("alias/b", "arn:aws:kms:us-east-1:000000000000:alias/a"),
                    ErrorCode::kNotFound, Reason::kInvalidKeyId));
  EXPECT_TRUE(HasError(dir_->CreateAlias("alias/b", "11111111-2222-3333-4444-555555555555"),
                    ErrorCode::kNotFound, Reason::kInvalidKeyId));
  KeyMetadata doomed = NewKey();
  ASSERT_TRUE(dir_->ScheduleKeyDeletion(doomed.key_id, 7).has_value());
  EXPECT_TRUE(HasError(dir_->CreateAlias("alias/b", doomed.key_id), ErrorCode::kFailedPrecondition,
                    Reason::kKmsInvalidState));
  EXPECT_EQ(dir_->DescribeKey("alias/a")->key_id, key.key_id);
}

// UpdateAlias retargets an alias; DeleteAlias removes it; unknown aliases are NotFound.
TEST_F(KeyManagementTest, UpdateAndDeleteAlias) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  ASSERT_TRUE(dir_->CreateAlias("alias/app", a.key_id).has_value());
  ASSERT_TRUE(dir_->UpdateAlias("alias/app", b.key_id).has_value());
  EXPECT_EQ(dir_->DescribeKey("alias/app")->key_id, b.key_id);
  EXPECT_TRUE(HasError(dir_->UpdateAlias("alias/none", b.key_id), ErrorCode::kNotFound,
                    Reason::kKmsAliasNotFound));
  ASSERT_TRUE(dir_->DeleteAlias("alias/app").has_value());
  EXPECT_TRUE(HasError(dir_->DescribeKey("alias/app"), ErrorCode::kNotFound, Reason::kInvalidKeyId));
  EXPECT_TRUE(
      HasError(dir_->DeleteAlias("alias/app"), ErrorCode::kNotFound, Reason::kKmsAliasNotFound));
  EXPECT_TRUE(HasError(dir_->DeleteAlias("alias/aws/ssm"), ErrorCode::kInvalidArgument,
                    Reason::kKmsInvalidAliasName));
}

// ListAliases includes the managed aliases, filters by key and paginates.
TEST_F(KeyManagementTest, ListAliasesIncludesManagedFiltersAndPaginates) {
  KeyMetadata a = NewKey();
  KeyMetadata b = NewKey();
  ASSERT_TRUE(dir_->CreateAlias("alias/a1", a.key_id).has_value());
  ASSERT_TRUE(dir_->CreateAlias("alias/a2", a.key_id).has_value());
  ASSERT_TRUE(dir_->CreateAlias("alias/b1", b.key_id).has_value());

  std::vector<std::string> names;
  std::string marker;
  int pages = 0;
  do {
    auto page = dir_->ListAliases(std::nullopt, 2, marker);
    ASSERT_TRUE(page.has_value()) << page.error().message;
    for (const AliasEntry& e : page->aliases) names.push_back(e.name);
    marker = page->next_marker;
    ++pages;
  } while (!marker.empty() && pages < 10);
  EXPECT_EQ(names, (std::vector<std::string>{"alias/a1", "alias/a2", "alias/aws/s3",
                                             "alias/aws/secretsmanager", "alias/aws/ssm",
                                             "alias/b1"}));
  EXPECT_EQ(pages, 3);

  auto only_a = dir_->ListAliases(a.arn, 100, "");
  ASSERT_TRUE(only_a.has_value());
  ASSERT_EQ(only_a->aliases.size(), 2u);
  EXPECT_EQ(only_a->aliases[0].target_key_id, a.key_id);
  EXPECT_EQ(only_a->aliases[0].arn, "arn:aws:kms:us-east-1:000000000000:alias/a1");
  EXPECT_TRUE(only_a->aliases[0].created.has_value());
}

// Metadata with every optional field survives an encode/decode round trip.
TEST_F(KeyManagementTest, KeyRecordRoundTripsNewFields) {
  KeyMetadata m;
  m.key_id = "k";
  m.arn = "arn";
  m.state = KeyState::kPendingDeletion;
  m.created = clock_.Now();
  m.policy = "{}";
  m.tags = {{"a", "1"}, {"b", ""}};
  m.deletion_date = clock_.Now() + Days(7);
  m.pending_window_days = 7;
  m.rotation_enabled = true;
  m.rotation_period_days = 90;
  m.next_rotation = clock_.Now() + Days(90);
  m.last_rotated = clock_.Now();
  auto back = internal::DecodeKey(internal::EncodeKey(m));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->policy, m.policy);
  EXPECT_EQ(back->tags, m.tags);
  EXPECT_EQ(back->deletion_date, m.deletion_date);
  EXPECT_EQ(back->pending_window_days, 7);
  EXPECT_TRUE(back->rotation_enabled);
  EXPECT_EQ(back->rotation_period_days, 90);
  EXPECT_EQ(back->next_rotation, m.next_rotation);
  EXPECT_EQ(back->last_rotated, m.last_rotated);
}

}  // namespace
}  // namespace coffer::domain::kms
