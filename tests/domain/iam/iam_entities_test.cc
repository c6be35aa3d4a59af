// Users, keys, groups, roles, managed and inline policies, OIDC providers,
// STS sessions and the per-principal policy view of IdentityStore.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "domain/iam/identity_store.h"
#include "keyring/keyring.h"
#include "storage/memory/memory_backend.h"
#include "util/id_generator.h"
#include "util/time.h"
#include "support/domain_fixture.h"

namespace coffer::domain::iam {
namespace {

using namespace std::chrono_literals;

constexpr char kDoc[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"}]})";
constexpr char kDoc2[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]})";
constexpr char kTrust[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]})";
constexpr char kThumb[] = "6938fd4d98bab03faadb97b34396831e3780aea1";

// Counts Get calls on a MemoryBackend.
class CountingBackend final : public storage::Backend {
 public:
  Result<storage::Entry> Get(std::string_view key) override {
    ++gets;
    return inner.Get(key);
  }
  Result<storage::RangeResult> Range(std::string_view s, std::string_view e, size_t l) override {
    ++gets;
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
  int gets = 0;
};

class IamEntitiesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(IsOk(domain_.Open(&backend_))); }

  Role MakeRole(const std::string& name, int max_session = 3600) {
    NewRole spec;
    spec.name = name;
    spec.assume_role_policy = kTrust;
    spec.max_session_duration = max_session;
    auto role = store_->CreateRole(spec);
    EXPECT_TRUE(role.has_value()) << role.error().message;
    return role.value_or(Role{});
  }

  ManagedPolicy MakePolicy(const std::string& name, const std::string& doc = kDoc) {
    NewPolicy spec;
    spec.name = name;
    spec.document = doc;
    auto p = store_->CreatePolicy(spec);
    EXPECT_TRUE(p.has_value()) << p.error().message;
    return p.value_or(ManagedPolicy{});
  }

  template <class T>
  static void ExpectError(const Result<T>& r, ErrorCode code, Reason reason) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_EQ(r.error().reason, reason) << r.error().message;
  }

  CountingBackend backend_;  // declared first: the stores unwatch it when they go
  testing::DomainStores domain_{
      {.start = *util::ParseAmzDate("20261128T090000Z"), .account_id = "123456789012"}};
  util::SimulatedClock& clock_ = domain_.clock;
  util::SequentialIdGenerator& ids_ = domain_.ids;
  std::unique_ptr<keyring::Keyring>& keyring_ = domain_.keyring;
  std::unique_ptr<IdentityStore>& store_ = domain_.identities;
};

// ---------------------------------------------------------------- users and keys

// Path and tags are kept and show in the ARN.
TEST_F(IamEntitiesTest, CreateUserWithPathAndTagsRoundTrips) {
  NewUser spec{"bot", "/ci/", {{"team", "core"}}, false};
  auto user = store_->CreateUser(spec);
  ASSERT_TRUE(user.has_value()) << user.error().message;
  EXPECT_EQ(user->arn, "arn:aws:iam::123456789012:user/ci/bot");
  auto got = store_->GetUser("bot");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->path, "/ci/");
  ASSERT_EQ(got->tags.size(), 1u);
  EXPECT_EQ(got->tags[0].key, "team");
  EXPECT_EQ(got->tags[0].value, "core");
}

// Paths must begin and end with a slash.
TEST_F(IamEntitiesTest, CreateUserWithBadPathFailsWithValidation) {
  ExpectError(store_->CreateUser(NewUser{"bot", "ci/", {}, false}), ErrorCode::kInvalidArgument,
              Reason::kValidation);
  ExpectError(store_->CreateUser(NewUser{"bot", "/ci", {}, false}), ErrorCode::kInvalidArgument,
              Reason::kValidation);
}

// ListUsers filters by path prefix.
TEST_F(IamEntitiesTest, ListUsersFiltersByPathPrefix) {
  ASSERT_TRUE(store_->CreateUser(NewUser{"a", "/", {}, false}).has_value());
  ASSERT_TRUE(store_->CreateUser(NewUser{"b", "/ci/", {}, false}).has_value());
  auto all = store_->ListUsers("");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 2u);
  auto ci = store_->ListUsers("/ci/");
  ASSERT_TRUE(ci.has_value());
  ASSERT_EQ(ci->size(), 1u);
  EXPECT_EQ((*ci)[0].name, "b");
}

// A user with an access key cannot be deleted until the key is gone.
TEST_F(IamEntitiesTest, DeleteUserWithAccessKeyFailsWithDeleteConflict) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  auto key = store_->CreateAccessKey("alice");
  ASSERT_TRUE(key.has_value());
  ExpectError(store_->DeleteUser("alice"), ErrorCode::kFailedPrecondition, Reason::kDeleteConflict);
  ASSERT_TRUE(store_->DeleteAccessKey("alice", key->access_key_id).has_value());
  ASSERT_TRUE(store_->DeleteUser("alice").has_value());
  ExpectError(store_->GetUser("alice"), ErrorCode::kNotFound, Reason::kNoSuchEntity);
}

// Group memberships, inline and attached policies each block DeleteUser.
TEST_F(IamEntitiesTest, DeleteUserWithGroupOrPoliciesFailsWithDeleteConflict) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  ASSERT_TRUE(store_->CreateGroup("dev", "/").has_value());
  ASSERT_TRUE(store_->AddUserToGroup("dev", "alice").has_value());
  ExpectError(store_->DeleteUser("alice"), ErrorCode::kFailedPrecondition, Reason::kDeleteConflict);
  ASSERT_TRUE(store_->RemoveUserFromGroup("dev", "alice").has_value());

  ASSERT_TRUE(store_->PutInlinePolicy(EntityKind::kUser, "alice", "p", kDoc).has_value());
  ExpectError(store_->DeleteUser("alice"), ErrorCode::kFailedPrecondition, Reason::kDeleteConflict);
  ASSERT_TRUE(store_->DeleteInlinePolicy(EntityKind::kUser, "alice", "p").has_value());

  ManagedPolicy policy = MakePolicy("read");
  ASSERT_TRUE(store_->AttachPolicy(EntityKind::kUser, "alice", policy.arn).has_value());
  ExpectError(store_->DeleteUser("alice"), ErrorCode::kFailedPrecondition, Reason::kDeleteConflict);
  ASSERT_TRUE(store_->DetachPolicy(EntityKind::kUser, "alice", policy.arn).has_value());
  EXPECT_TRUE(store_->DeleteUser("alice").has_value());
}

// A third access key exceeds the quota of two.
TEST_F(IamEntitiesTest, ThirdAccessKeyFailsWithLimitExceeded) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  ASSERT_TRUE(store_->CreateAccessKey("alice").has_value());
  ASSERT_TRUE(store_->CreateAccessKey("alice").has_value());
  ExpectError(store_->CreateAccessKey("alice"), ErrorCode::kResourceExhausted,
              Reason::kLimitExceeded);
  auto keys = store_->ListAccessKeys("alice");
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(keys->size(), 2u);
}

// Listed keys carry metadata but never the secret.
TEST_F(IamEntitiesTest, ListAccessKeysOmitsSecrets) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  auto key = store_->CreateAccessKey("alice");
  ASSERT_TRUE(key.has_value());
  auto keys = store_->ListAccessKeys("alice");
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].access_key_id, key->access_key_id);
  EXPECT_EQ((*keys)[0].user_name, "alice");
  EXPECT_TRUE((*keys)[0].active);
  EXPECT_TRUE((*keys)[0].secret_access_key.empty());
}

// An inactive key does not resolve; reactivating it restores it.
TEST_F(IamEntitiesTest, InactiveKeyDoesNotAuthenticate) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  auto key = store_->CreateAccessKey("alice");
  ASSERT_TRUE(key.has_value());
  ASSERT_TRUE(store_->LookupAccessKey(key->access_key_id).has_value());
  ASSERT_TRUE(store_->UpdateAccessKey("alice", key->access_key_id, false).has_value());
  ExpectError(store_->LookupAccessKey(key->access_key_id), ErrorCode::kNotFound,
              Reason::kUnknownAccessKey);
  auto keys = store_->ListAccessKeys("alice");
  ASSERT_TRUE(keys.has_value());
  EXPECT_FALSE((*keys)[0].active);
  ASSERT_TRUE(store_->UpdateAccessKey("alice", key->access_key_id, true).has_value());
  EXPECT_TRUE(store_->LookupAccessKey(key->access_key_id).has_value());
}

// A key cannot be changed or deleted through another user's name.
TEST_F(IamEntitiesTest, UpdateOrDeleteKeyOfOtherUserFailsWithNoSuchEntity) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  ASSERT_TRUE(store_->CreateUser("bob", false).has_value());
  auto key = store_->CreateAccessKey("alice");
  ASSERT_TRUE(key.has_value());
  ExpectError(store_->UpdateAccessKey("bob", key->access_key_id, false), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
  ExpectError(store_->DeleteAccessKey("bob", key->access_key_id), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
  EXPECT_TRUE(store_->LookupAccessKey(key->access_key_id).has_value());
}

// ---------------------------------------------------------------- groups

// Membership shows from both sides and can be removed.
TEST_F(IamEntitiesTest, GroupMembershipListsBothWays) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  auto group = store_->CreateGroup("dev", "/teams/");
  ASSERT_TRUE(group.has_value());
  EXPECT_EQ(group->arn, "arn:aws:iam::123456789012:group/teams/dev");
  EXPECT_TRUE(group->group_id.starts_with("AGPA"));
  ExpectError(store_->CreateGroup("dev", "/"), ErrorCode::kAlreadyExists,
              Reason::kEntityAlreadyExists);
  ASSERT_TRUE(store_->AddUserToGroup("dev", "alice").has_value());
  ASSERT_TRUE(store_->AddUserToGroup("dev", "alice").has_value());  // idempotent
  auto members = store_->ListGroupMembers("dev");
  ASSERT_TRUE(members.has_value());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0].name, "alice");
  auto groups = store_->ListGroupsForUser("alice");
  ASSERT_TRUE(groups.has_value());
  ASSERT_EQ(groups->size(), 1u);
  EXPECT_EQ((*groups)[0].name, "dev");
  ExpectError(store_->DeleteGroup("dev"), ErrorCode::kFailedPrecondition, Reason::kDeleteConflict);
  ASSERT_TRUE(store_->RemoveUserFromGroup("dev", "alice").has_value());
  ExpectError(store_->RemoveUserFromGroup("dev", "alice"), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
  EXPECT_TRUE(store_->ListGroupsForUser("alice")->empty());
  EXPECT_TRUE(store_->DeleteGroup("dev").has_value());
}

// Adding an unknown user or to an unknown group fails.
TEST_F(IamEntitiesTest, AddUnknownUserToGroupFailsWithNoSuchEntity) {
  ASSERT_TRUE(store_->CreateGroup("dev", "/").has_value());
  ExpectError(store_->AddUserToGroup("dev", "ghost"), ErrorCode::kNotFound, Reason::kNoSuchEntity);
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  ExpectError(store_->AddUserToGroup("nogroup", "alice"), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
}

// ---------------------------------------------------------------- roles

// A role keeps its trust policy, description and session limit.
TEST_F(IamEntitiesTest, CreateRoleKeepsTrustPolicyAndDefaults) {
  NewRole spec;
  spec.name = "ci";
  spec.path = "/apps/";
  spec.assume_role_policy = kTrust;
  spec.description = "CI role";
  auto role = store_->CreateRole(spec);
  ASSERT_TRUE(role.has_value()) << role.error().message;
  EXPECT_TRUE(role->role_id.starts_with("AROA"));
  EXPECT_EQ(role->arn, "arn:aws:iam::123456789012:role/apps/ci");
  auto got = store_->GetRole("ci");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->assume_role_policy, kTrust);
  EXPECT_EQ(got->description, "CI role");
  EXPECT_EQ(got->max_session_duration, 3600);
  ASSERT_TRUE(store_->UpdateAssumeRolePolicy("ci", "{}").has_value());
  EXPECT_EQ(store_->GetRole("ci")->assume_role_policy, "{}");
  EXPECT_EQ(store_->ListRoles("/apps/")->size(), 1u);
  EXPECT_TRUE(store_->ListRoles("/other/")->empty());
}

// MaxSessionDuration outside 3600..43200 is refused.
TEST_F(IamEntitiesTest, CreateRoleWithBadMaxSessionFailsWithValidation) {
  for (int max : {3599, 43201}) {
    NewRole spec;
    spec.name = "r";
    spec.assume_role_policy = kTrust;
    spec.max_session_duration = max;
    ExpectError(store_->CreateRole(spec), ErrorCode::kInvalidArgument, Reason::kValidation);
  }
}

// A role with policies cannot be deleted until they are removed.
TEST_F(IamEntitiesTest, DeleteRoleWithPoliciesFailsWithDeleteConflict) {
  MakeRole("app");
  ASSERT_TRUE(store_->PutInlinePolicy(EntityKind::kRole, "app", "p", kDoc).has_value());
  ExpectError(store_->DeleteRole("app"), ErrorCode::kFailedPrecondition, Reason::kDeleteConflict);
  ASSERT_TRUE(store_->DeleteInlinePolicy(EntityKind::kRole, "app", "p").has_value());
  ASSERT_TRUE(store_->DeleteRole("app").has_value());
  ExpectError(store_->GetRole("app"), ErrorCode::kNotFound, Reason::kNoSuchEntity);
}

// ---------------------------------------------------------------- instance profiles

// A profile holds one role; the role lists it; a role in a profile (and a
// profile holding a role) cannot be deleted until the role is removed.
TEST_F(IamEntitiesTest, InstanceProfileLifecycleWithDeleteConflicts) {
  MakeRole("web");
  auto none = store_->ListInstanceProfilesForRole("web");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  auto created = store_->CreateInstanceProfile("web-profile", "/apps/", {{"team", "core"}});
  ASSERT_TRUE(created.has_value()) << created.error().message;
  EXPECT_EQ(created->arn, "arn:aws:iam::123456789012:instance-profile/apps/web-profile");
  EXPECT_TRUE(created->instance_profile_id.starts_with("AIPA"));
  ExpectError(store_->CreateInstanceProfile("web-profile", "/", {}), ErrorCode::kAlreadyExists,
              Reason::kEntityAlreadyExists);
  ASSERT_TRUE(store_->AddRoleToInstanceProfile("web-profile", "web").has_value());
  MakeRole("other");
  ExpectError(store_->AddRoleToInstanceProfile("web-profile", "other"),
              ErrorCode::kResourceExhausted, Reason::kLimitExceeded);
  auto got = store_->GetInstanceProfile("web-profile");
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->roles.size(), 1u);
  EXPECT_EQ(got->roles[0].name, "web");
  auto listed = store_->ListInstanceProfilesForRole("web");
  ASSERT_TRUE(listed.has_value());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "web-profile");
  EXPECT_EQ(store_->ListInstanceProfiles("/apps/")->size(), 1u);
  EXPECT_TRUE(store_->ListInstanceProfiles("/other/")->empty());
  ExpectError(store_->DeleteRole("web"), ErrorCode::kFailedPrecondition, Reason::kDeleteConflict);
  ExpectError(store_->DeleteInstanceProfile("web-profile"), ErrorCode::kFailedPrecondition,
              Reason::kDeleteConflict);
  ExpectError(store_->RemoveRoleFromInstanceProfile("web-profile", "other"), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
  ASSERT_TRUE(store_->RemoveRoleFromInstanceProfile("web-profile", "web").has_value());
  EXPECT_TRUE(store_->ListInstanceProfilesForRole("web")->empty());
  ASSERT_TRUE(store_->DeleteRole("web").has_value());
  ASSERT_TRUE(store_->DeleteInstanceProfile("web-profile").has_value());
  ExpectError(store_->GetInstanceProfile("web-profile"), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
  ExpectError(store_->ListInstanceProfilesForRole("web"), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
}

// ---------------------------------------------------------------- managed policies

// A new policy has v1 as its default; new versions may become the default.
TEST_F(IamEntitiesTest, PolicyVersionsAndDefault) {
  ManagedPolicy p = MakePolicy("read");
  EXPECT_EQ(p.arn, "arn:aws:iam::123456789012:policy/read");
  EXPECT_TRUE(p.policy_id.starts_with("ANPA"));
  EXPECT_EQ(p.default_version_id, "v1");
  auto v2 = store_->CreatePolicyVersion(p.arn, kDoc2, false);
  ASSERT_TRUE(v2.has_value());
  EXPECT_EQ(v2->version_id, "v2");
  EXPECT_FALSE(v2->is_default);
  EXPECT_EQ(store_->GetPolicy(p.arn)->default_version_id, "v1");
  auto v3 = store_->CreatePolicyVersion(p.arn, kDoc2, true);
  ASSERT_TRUE(v3.has_value());
  EXPECT_EQ(store_->GetPolicy(p.arn)->default_version_id, "v3");
  auto got = store_->GetPolicyVersion(p.arn, "v1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->document, kDoc);
  EXPECT_FALSE(got->is_default);
  ExpectError(store_->GetPolicyVersion(p.arn, "v9"), ErrorCode::kNotFound, Reason::kNoSuchEntity);
  ExpectError(store_->DeletePolicyVersion(p.arn, "v3"), ErrorCode::kFailedPrecondition,
              Reason::kDeleteConflict);
  ASSERT_TRUE(store_->DeletePolicyVersion(p.arn, "v1").has_value());
  EXPECT_EQ(store_->GetPolicy(p.arn)->versions.size(), 2u);
}

// A sixth version exceeds the limit of five.
TEST_F(IamEntitiesTest, SixthPolicyVersionFailsWithLimitExceeded) {
  ManagedPolicy p = MakePolicy("read");
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store_->CreatePolicyVersion(p.arn, kDoc, false));
  ExpectError(store_->CreatePolicyVersion(p.arn, kDoc, false), ErrorCode::kResourceExhausted,
              Reason::kLimitExceeded);
}

// Duplicate names, unknown and foreign ARNs.
TEST_F(IamEntitiesTest, PolicyErrors) {
  MakePolicy("read");
  NewPolicy dup;
  dup.name = "read";
  dup.document = kDoc;
  ExpectError(store_->CreatePolicy(dup), ErrorCode::kAlreadyExists, Reason::kEntityAlreadyExists);
  ExpectError(store_->GetPolicy("arn:aws:iam::123456789012:policy/none"), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
  ExpectError(store_->GetPolicy("arn:aws:iam::999999999999:policy/read"), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
  ExpectError(store_->GetPolicy("arn:aws:iam::aws:policy/ReadOnlyAccess"), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
}

// An attached policy counts its attachments and cannot be deleted.
TEST_F(IamEntitiesTest, DeleteAttachedPolicyFailsWithDeleteConflict) {
  ManagedPolicy p = MakePolicy("read");
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  ASSERT_TRUE(store_->CreateGroup("dev", "/").has_value());
  MakeRole("app");
  ASSERT_TRUE(store_->AttachPolicy(EntityKind::kUser, "alice", p.arn).has_value());
  ASSERT_TRUE(store_->AttachPolicy(EntityKind::kGroup, "dev", p.arn).has_value());
  ASSERT_TRUE(store_->AttachPolicy(EntityKind::kRole, "app", p.arn).has_value());
  ASSERT_TRUE(store_->AttachPolicy(EntityKind::kRole, "app", p.arn).has_value());  // idempotent
  EXPECT_EQ(*store_->AttachmentCount(p.arn), 3u);
  EXPECT_EQ(store_->GetPolicy(p.arn)->attachment_count, 3u);
  EXPECT_EQ(store_->ListPolicies("", true)->size(), 1u);
  ExpectError(store_->DeletePolicy(p.arn), ErrorCode::kFailedPrecondition, Reason::kDeleteConflict);
  auto attached = store_->ListAttachedPolicies(EntityKind::kRole, "app");
  ASSERT_TRUE(attached.has_value());
  ASSERT_EQ(attached->size(), 1u);
  EXPECT_EQ((*attached)[0].name, "read");
  EXPECT_EQ((*attached)[0].arn, p.arn);
  ASSERT_TRUE(store_->DetachPolicy(EntityKind::kUser, "alice", p.arn).has_value());
  ASSERT_TRUE(store_->DetachPolicy(EntityKind::kGroup, "dev", p.arn).has_value());
  ASSERT_TRUE(store_->DetachPolicy(EntityKind::kRole, "app", p.arn).has_value());
  ExpectError(store_->DetachPolicy(EntityKind::kRole, "app", p.arn), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
  EXPECT_EQ(*store_->AttachmentCount(p.arn), 0u);
  EXPECT_TRUE(store_->ListPolicies("", true)->empty());
  EXPECT_TRUE(store_->DeletePolicy(p.arn).has_value());
}

// Attaching an unknown policy or to an unknown entity fails.
TEST_F(IamEntitiesTest, AttachUnknownPolicyFailsWithNoSuchEntity) {
  MakeRole("app");
  ExpectError(store_->AttachPolicy(EntityKind::kRole, "app", "arn:aws:iam::123456789012:policy/x"),
              ErrorCode::kNotFound, Reason::kNoSuchEntity);
  ManagedPolicy p = MakePolicy("read");
  ExpectError(store_->AttachPolicy(EntityKind::kRole, "ghost", p.arn), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
}

// Inline policies are created, replaced, listed and deleted per entity.
TEST_F(IamEntitiesTest, InlinePoliciesRoundTrip) {
  ASSERT_TRUE(store_->CreateGroup("dev", "/").has_value());
  ASSERT_TRUE(store_->PutInlinePolicy(EntityKind::kGroup, "dev", "b", kDoc).has_value());
  ASSERT_TRUE(store_->PutInlinePolicy(EntityKind::kGroup, "dev", "a", kDoc).has_value());
  ASSERT_TRUE(store_->PutInlinePolicy(EntityKind::kGroup, "dev", "a", kDoc2).has_value());
  EXPECT_EQ(*store_->GetInlinePolicy(EntityKind::kGroup, "dev", "a"), kDoc2);
  auto names = store_->ListInlinePolicies(EntityKind::kGroup, "dev");
  ASSERT_TRUE(names.has_value());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(store_->DeleteInlinePolicy(EntityKind::kGroup, "dev", "a").has_value());
  ExpectError(store_->GetInlinePolicy(EntityKind::kGroup, "dev", "a"), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
  ExpectError(store_->PutInlinePolicy(EntityKind::kGroup, "ghost", "a", kDoc), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
}

// ---------------------------------------------------------------- OIDC providers

// A provider is found by ARN and by issuer URL.
TEST_F(IamEntitiesTest, OidcProviderRoundTrips) {
  auto p = store_->CreateOidcProvider("https://token.actions.githubusercontent.com",
                                      {"sts.amazonaws.com"}, {kThumb}, {});
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->arn, "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com");
  auto got = store_->GetOidcProvider(p->arn);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->url, "https://token.actions.githubusercontent.com");
  EXPECT_EQ(got->client_ids, std::vector<std::string>{"sts.amazonaws.com"});
  EXPECT_EQ(got->thumbprints, std::vector<std::string>{kThumb});
  auto by_issuer = store_->GetOidcProviderForIssuer("https://token.actions.githubusercontent.com/");
  ASSERT_TRUE(by_issuer.has_value());
  EXPECT_EQ(by_issuer->arn, p->arn);
  ExpectError(store_->CreateOidcProvider("https://token.actions.githubusercontent.com", {}, {}, {}),
              ErrorCode::kAlreadyExists, Reason::kEntityAlreadyExists);
  EXPECT_EQ(store_->ListOidcProviders()->size(), 1u);
  ASSERT_TRUE(store_->DeleteOidcProvider(p->arn).has_value());
  ExpectError(store_->GetOidcProvider(p->arn), ErrorCode::kNotFound, Reason::kNoSuchEntity);
}

// Non-https URLs and malformed thumbprints are refused.
TEST_F(IamEntitiesTest, OidcProviderWithBadUrlOrThumbprintFailsWithValidation) {
  ExpectError(store_->CreateOidcProvider("http://issuer", {}, {kThumb}, {}),
              ErrorCode::kInvalidArgument, Reason::kValidation);
  ExpectError(store_->CreateOidcProvider("https://issuer", {}, {"abc"}, {}),
              ErrorCode::kInvalidArgument, Reason::kValidation);
  ExpectError(
      store_->CreateOidcProvider("https://issuer", {}, std::vector<std::string>(6, kThumb), {}),
      ErrorCode::kInvalidArgument, Reason::kValidation);
}

// ---------------------------------------------------------------- sessions

// A session resolves by its ASIA key to its secret, token, expiry and role.
TEST_F(IamEntitiesTest, SessionLookupReturnsTokenExpiryAndRole) {
  Role role = MakeRole("ci", 7200);
  SessionSource source;
  source.provider = "token.actions.githubusercontent.com";
  source.subject = "repo:org/repo:ref:refs/heads/main";
  auto s = store_->CreateSession("ci", "run-1", 3600s, source,
                                 {{"token.actions.githubusercontent.com:sub", {source.subject}}});
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_TRUE(s->access_key_id.starts_with("ASIA"));
  EXPECT_EQ(s->access_key_id.size(), 20u);
  EXPECT_EQ(s->secret_access_key.size(), 40u);
  EXPECT_GE(s->session_token.size(), 64u);
  EXPECT_EQ(s->expiration, clock_.Now() + 3600s);
  EXPECT_EQ(s->assumed_role_arn, "arn:aws:sts::123456789012:assumed-role/ci/run-1");
  EXPECT_EQ(s->assumed_role_id, role.role_id + ":run-1");

  auto r = store_->LookupAccessKey(s->access_key_id);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_TRUE(r->is_session);
  EXPECT_TRUE(r->key.secret_access_key.Equals(s->secret_access_key));
  EXPECT_TRUE(r->session.session_token.Equals(s->session_token));
  EXPECT_EQ(r->session.expiration, s->expiration);
  EXPECT_EQ(r->session.role_name, "ci");
  EXPECT_EQ(r->session.role_arn, role.arn);
  EXPECT_EQ(r->session.source_subject, source.subject);
  EXPECT_EQ(r->session.condition_keys.at("token.actions.githubusercontent.com:sub")[0],
            source.subject);
  EXPECT_EQ(r->user.arn, s->assumed_role_arn);
  EXPECT_EQ(r->user.user_id, s->assumed_role_id);
  EXPECT_TRUE(r->user.name.empty());
  EXPECT_FALSE(r->session.Expired(clock_.Now()));
}

// An expired session is still returned, flagged by its expiration.
TEST_F(IamEntitiesTest, ExpiredSessionIsReturnedWithExpiration) {
  MakeRole("ci");
  auto s = store_->CreateSession("ci", "run-1", 900s, {}, {});
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE(store_->LookupAccessKey(s->access_key_id).has_value());  // cached now
  clock_.Advance(901s);
  auto r = store_->LookupAccessKey(s->access_key_id);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->session.Expired(clock_.Now()));
}

// The session record holds neither the secret nor the token in plain text.
TEST_F(IamEntitiesTest, StoredSessionDoesNotContainSecretOrToken) {
  MakeRole("ci");
  auto s = store_->CreateSession("ci", "run-1", 900s, {}, {});
  ASSERT_TRUE(s.has_value());
  auto entry = backend_.inner.Get("iam/session/" + s->access_key_id);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->value.find(s->secret_access_key.Reveal()), std::string::npos);
  EXPECT_EQ(entry->value.find(s->session_token.Reveal()), std::string::npos);
}

// Durations outside 900 s..MaxSessionDuration and bad session names are refused.
TEST_F(IamEntitiesTest, CreateSessionWithBadDurationOrNameFailsWithValidation) {
  MakeRole("ci", 3600);
  ExpectError(store_->CreateSession("ci", "run-1", 899s, {}, {}), ErrorCode::kInvalidArgument,
              Reason::kValidation);
  ExpectError(store_->CreateSession("ci", "run-1", 3601s, {}, {}), ErrorCode::kInvalidArgument,
              Reason::kValidation);
  ExpectError(store_->CreateSession("ci", "x", 900s, {}, {}), ErrorCode::kInvalidArgument,
              Reason::kValidation);
  ExpectError(store_->CreateSession("ci", "bad name", 900s, {}, {}), ErrorCode::kInvalidArgument,
              Reason::kValidation);
  ExpectError(store_->CreateSession("ghost", "run-1", 900s, {}, {}), ErrorCode::kNotFound,
              Reason::kNoSuchEntity);
}

// Deleting (or recreating) the role invalidates its sessions.
TEST_F(IamEntitiesTest, SessionOfDeletedRoleIsUnknown) {
  MakeRole("ci");
  auto s = store_->CreateSession("ci", "run-1", 900s, {}, {});
  ASSERT_TRUE(s.has_value());
  ASSERT_TRUE(store_->LookupAccessKey(s->access_key_id).has_value());
  ASSERT_TRUE(store_->DeleteRole("ci").has_value());
  ExpectError(store_->LookupAccessKey(s->access_key_id), ErrorCode::kNotFound,
              Reason::kUnknownAccessKey);
  MakeRole("ci");
  ExpectError(store_->LookupAccessKey(s->access_key_id), ErrorCode::kNotFound,
              Reason::kUnknownAccessKey);
}

// Sessions expired longer than the retention are purged; recent ones stay.
TEST_F(IamEntitiesTest, PurgeRemovesLongExpiredSessionsOnly) {
  MakeRole("ci");
  auto old_session = store_->CreateSession("ci", "old", 900s, {}, {});
  ASSERT_TRUE(old_session.has_value());
  clock_.Advance(kExpiredSessionRetention + 1h);
  auto recent = store_->CreateSession("ci", "recent", 900s, {}, {});
  ASSERT_TRUE(recent.has_value());
  clock_.Advance(1h);  // recent is expired, but within retention
  auto purged = store_->PurgeExpiredSessions();
  ASSERT_TRUE(purged.has_value());
  EXPECT_FALSE(backend_.inner.Get("iam/session/" + old_session->access_key_id).has_value());
  EXPECT_TRUE(backend_.inner.Get("iam/session/" + recent->access_key_id).has_value());
  ExpectError(store_->LookupAccessKey(old_session->access_key_id), ErrorCode::kNotFound,
              Reason::kUnknownAccessKey);
}

// Importing a key id in the session namespace is refused.
TEST_F(IamEntitiesTest, ImportAsiaKeyFailsWithValidation) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  ExpectError(store_->ImportAccessKey("alice", "ASIAEXAMPLE", SecretBytes("s")),
              ErrorCode::kInvalidArgument, Reason::kValidation);
}

// ---------------------------------------------------------------- PoliciesFor

std::vector<std::string> Names(const PrincipalPolicies& p) {
  std::vector<std::string> out;
  for (const PolicyText& t : p.policies) out.push_back(t.name);
  std::sort(out.begin(), out.end());
  return out;
}

// A user's view combines its inline and attached policies with its groups'.
TEST_F(IamEntitiesTest, PoliciesForUserIncludesGroupsAndManagedDefaults) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  ASSERT_TRUE(store_->ImportAccessKey("alice", "AKIDALICE", SecretBytes("secret")).has_value());
  ASSERT_TRUE(store_->CreateGroup("dev", "/").has_value());
  ASSERT_TRUE(store_->AddUserToGroup("dev", "alice").has_value());
  ManagedPolicy shared = MakePolicy("shared");
  ASSERT_TRUE(store_->CreatePolicyVersion(shared.arn, kDoc2, true).has_value());
  ManagedPolicy team = MakePolicy("team");
  ASSERT_TRUE(store_->PutInlinePolicy(EntityKind::kUser, "alice", "mine", kDoc).has_value());
  ASSERT_TRUE(store_->AttachPolicy(EntityKind::kUser, "alice", shared.arn).has_value());
  ASSERT_TRUE(store_->PutInlinePolicy(EntityKind::kGroup, "dev", "g", kDoc).has_value());
  ASSERT_TRUE(store_->AttachPolicy(EntityKind::kGroup, "dev", shared.arn).has_value());
  ASSERT_TRUE(store_->AttachPolicy(EntityKind::kGroup, "dev", team.arn).has_value());

  auto caller = store_->LookupAccessKey("AKIDALICE");
  ASSERT_TRUE(caller.has_value());
  auto policies = store_->PoliciesFor(*caller);
  ASSERT_TRUE(policies.has_value()) << policies.error().message;
  EXPECT_EQ((*policies)->principal, "user/alice");
  EXPECT_EQ((*policies)->generation, store_->generation());
  EXPECT_EQ(Names(**policies), (std::vector<std::string>{shared.arn, team.arn, "group/dev/inline/g",
                                                         "user/alice/inline/mine"}));
  for (const PolicyText& t : (*policies)->policies) {
    if (t.name == shared.arn) {
      EXPECT_EQ(t.document, kDoc2);  // the default version
    }
  }
}

// A session's view is its role's policies.
TEST_F(IamEntitiesTest, PoliciesForSessionAreTheRolePolicies) {
  MakeRole("ci");
  ManagedPolicy p = MakePolicy("read");
  ASSERT_TRUE(store_->AttachPolicy(EntityKind::kRole, "ci", p.arn).has_value());
  ASSERT_TRUE(store_->PutInlinePolicy(EntityKind::kRole, "ci", "extra", kDoc2).has_value());
  auto s = store_->CreateSession("ci", "run-1", 900s, {}, {});
  ASSERT_TRUE(s.has_value());
  auto caller = store_->LookupAccessKey(s->access_key_id);
  ASSERT_TRUE(caller.has_value());
  auto policies = store_->PoliciesFor(*caller);
  ASSERT_TRUE(policies.has_value()) << policies.error().message;
  EXPECT_EQ((*policies)->principal, "role/ci");
  EXPECT_EQ(Names(**policies), (std::vector<std::string>{p.arn, "role/ci/inline/extra"}));
}

// Repeated calls are served from memory; an IAM change invalidates them and
// bumps the generation, while key and session changes do not.
TEST_F(IamEntitiesTest, PoliciesForIsCachedAndInvalidatedByChanges) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  ASSERT_TRUE(store_->ImportAccessKey("alice", "AKIDALICE", SecretBytes("secret")).has_value());
  auto caller = store_->LookupAccessKey("AKIDALICE");
  ASSERT_TRUE(caller.has_value());
  auto first = store_->PoliciesFor(*caller);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE((*first)->policies.empty());
  int gets = backend_.gets;
  auto again = store_->PoliciesFor(*caller);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->get(), first->get());
  EXPECT_EQ(backend_.gets, gets);

  uint64_t generation = store_->generation();
  MakeRole("ci");
  ASSERT_TRUE(store_->CreateSession("ci", "run-1", 900s, {}, {}).has_value());
  EXPECT_GT(store_->generation(), generation);  // the role
  generation = store_->generation();
  ASSERT_TRUE(store_->CreateSession("ci", "run-2", 900s, {}, {}).has_value());
  EXPECT_EQ(store_->generation(), generation);  // sessions do not count

  ASSERT_TRUE(store_->PutInlinePolicy(EntityKind::kUser, "alice", "p", kDoc).has_value());
  EXPECT_GT(store_->generation(), generation);
  auto after = store_->PoliciesFor(*caller);
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ((*after)->policies.size(), 1u);
  EXPECT_EQ((*after)->generation, store_->generation());
}

// A change written by another store over the same storage invalidates too.
TEST_F(IamEntitiesTest, PoliciesForSeesChangesFromAnotherStore) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  ASSERT_TRUE(store_->ImportAccessKey("alice", "AKIDALICE", SecretBytes("secret")).has_value());
  auto caller = store_->LookupAccessKey("AKIDALICE");
  ASSERT_TRUE(caller.has_value());
  ASSERT_TRUE(store_->PoliciesFor(*caller).has_value());
  IdentityStore other(backend_, *keyring_, clock_, ids_, "123456789012");
  ASSERT_TRUE(other.PutInlinePolicy(EntityKind::kUser, "alice", "p", kDoc).has_value());
  auto after = store_->PoliciesFor(*caller);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ((*after)->policies.size(), 1u);
}

// A deleted user has no policies to evaluate.
TEST_F(IamEntitiesTest, PoliciesForDeletedUserFailsWithNotFound) {
  ASSERT_TRUE(store_->CreateUser("alice", false).has_value());
  ASSERT_TRUE(store_->ImportAccessKey("alice", "AKIDALICE", SecretBytes("secret")).has_value());
  auto caller = store_->LookupAccessKey("AKIDALICE");
  ASSERT_TRUE(caller.has_value());
  ASSERT_TRUE(store_->DeleteAccessKey("alice", "AKIDALICE").has_value());
  ASSERT_TRUE(store_->DeleteUser("alice").has_value());
  ExpectError(store_->PoliciesFor(*caller), ErrorCode::kNotFound, Reason::kNoSuchEntity);
}

}  // namespace
}  // namespace coffer::domain::iam
