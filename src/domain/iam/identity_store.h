// Identities and what they may do: users with long-term access keys, groups
// (teams), roles (applications, CI) with trust policies, customer-managed
// policies with versions, inline policies, attachments, OIDC providers, and STS
// sessions (temporary credentials issued for a role). Policy documents are
// stored as text: domain/ knows nothing of JSON; api/ validates documents with
// auth::ParsePolicy before they get here, and auth/ compiles what PoliciesFor
// returns.
//
// Storage records (docs/formats/storage-keys.md; encodings in internal/records.cc):
//   iam/user/<name>                    user (name, id, arn, path, created, is_admin, tags)
//   iam/akid/<AccessKeyId>             access key; the secret is sealed by keyring with
//                                      aad "iam/akid/<AccessKeyId>"
//   iam/userkeys/<user>/<akid>         index: the user's access keys
//   iam/group/<name>                   group
//   iam/member/<group>/<user>          group membership
//   iam/usergroups/<user>/<group>      index: the user's groups
//   iam/role/<name>                    role (with its trust policy text)
//   iam/policy/<name>                  managed policy with all its versions
//   iam/attach/<kind>/<entity>/<policy name>     attachment (value: policy ARN)
//   iam/attached/<policy name>/<kind>/<entity>   index: who a policy is attached to
//   iam/inline/<kind>/<entity>/<policy name>     inline policy document
//   iam/profile/<name>                 instance profile (with its role names)
//   iam/profilerole/<role>/<profile>   index: the instance profiles a role is in
//   iam/oidc/<url without scheme>      OIDC provider
//   iam/session/<ASIA akid>            STS session; secret and token sealed by keyring
// <kind> is "user", "group" or "role".
//
// Operations on a child record (keys, memberships, attachments, inline
// policies) rewrite the parent record in the same transaction, so a delete of
// the parent that checked for children cannot race with a child's creation.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "domain/tags.h"
#include "keyring/keyring.h"
#include "storage/backend.h"
#include "util/id_generator.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/thread_annotations.h"
#include "util/time.h"

namespace coffer::domain::iam {

// The key id whose material seals access-key secrets and session tokens.
inline constexpr std::string_view kIdentityKeyId = "coffer-identity";

// Quotas (AWS defaults unless noted).
inline constexpr size_t kMaxAccessKeysPerUser = 2;
inline constexpr size_t kMaxPolicyVersions = 5;
inline constexpr size_t kMaxAttachedPoliciesPerEntity = 20;  // AWS: 10, raisable to 20
inline constexpr size_t kMaxTags = 50;
inline constexpr size_t kMaxOidcThumbprints = 5;
inline constexpr size_t kMaxOidcClientIds = 100;
inline constexpr int kMinRoleSessionSeconds = 3600;
inline constexpr int kMaxRoleSessionSeconds = 43200;
inline constexpr int kMinSessionDurationSeconds = 900;
// Expired session records stay this long (so callers get "expired", not
// "unknown"), then PurgeExpiredSessions / CreateSession remove them.
inline constexpr std::chrono::hours kExpiredSessionRetention{24};

// Tags are the domain's one Tag (domain/tags.h).
using Tag = domain::Tag;

struct User {
  std::string name;
  std::string user_id;  // "AIDA..."
  std::string arn;      // arn:aws:iam::<account>:user/<path><name>
  std::string path = "/";
  util::SystemTime created;
  bool is_admin = false;  // the dev admin: may do everything
  std::vector<Tag> tags;
};

struct AccessKey {
  std::string access_key_id;      // "AKIA..." (long-term) or "ASIA..." (session)
  SecretBytes secret_access_key;  // empty in listings
  std::string user_name;          // empty for a session
  bool active = true;
  util::SystemTime created;
};

struct Group {
  std::string name;
  std::string group_id;  // "AGPA..."
  std::string arn;       // arn:aws:iam::<account>:group/<path><name>
  std::string path = "/";
  util::SystemTime created;
};

struct Role {
  std::string name;
  std::string role_id;  // "AROA..."
  std::string arn;      // arn:aws:iam::<account>:role/<path><name>
  std::string path = "/";
  util::SystemTime created;
  std::string assume_role_policy;  // trust policy document (JSON text)
  std::string description;
  int max_session_duration = kMinRoleSessionSeconds;  // seconds, 3600..43200
  std::vector<Tag> tags;
};

// An instance profile: a container for one role (EC2's way to hand a role to
// an instance). Coffer stores them so that role lifecycles that check them
// (Terraform's aws_iam_role) work; nothing is launched.
inline constexpr size_t kMaxRolesPerInstanceProfile = 1;

struct InstanceProfile {
  std::string name;
  std::string instance_profile_id;  // "AIPA..."
  std::string arn;                  // arn:aws:iam::<account>:instance-profile/<path><name>
  std::string path = "/";
  util::SystemTime created;
  std::vector<Role> roles;  // at most kMaxRolesPerInstanceProfile
  std::vector<Tag> tags;
};

struct PolicyVersion {
  std::string version_id;  // "v1", "v2", ...
  std::string document;    // JSON text
  bool is_default = false;
  util::SystemTime created;
};

struct ManagedPolicy {
  std::string name;
  std::string policy_id;  // "ANPA..."
  std::string arn;        // arn:aws:iam::<account>:policy/<path><name>
  std::string path = "/";
  std::string description;
  std::string default_version_id;
  util::SystemTime created;
  util::SystemTime updated;
  size_t attachment_count = 0;  // computed on read
  std::vector<Tag> tags;
  std::vector<PolicyVersion> versions;  // oldest first
};

struct AttachedPolicy {
  std::string name;
  std::string arn;
};

struct OidcProvider {
  std::string url;  // as registered, with scheme ("https://token.actions.githubusercontent.com")
  std::string arn;  // arn:aws:iam::<account>:oidc-provider/<url without scheme>
  std::vector<std::string> client_ids;
  std::vector<std::string> thumbprints;  // 40 hex digits each
  util::SystemTime created;
  std::vector<Tag> tags;
};

// Temporary credentials for a role (STS AssumeRole / AssumeRoleWithWebIdentity).
struct Session {
  std::string access_key_id;      // "ASIA" + 16 of [A-Z0-9]
  SecretBytes secret_access_key;  // 40 characters
  SecretBytes session_token;      // opaque, 128 characters of base64
  util::SystemTime created;
  util::SystemTime expiration;
  std::string role_name;
  std::string role_id;
  std::string role_arn;
  std::string session_name;
  std::string assumed_role_arn;  // arn:aws:sts::<account>:assumed-role/<role>/<session>
  std::string assumed_role_id;   // "<role id>:<session>"
  // Who assumed the role (see SessionSource).
  std::string source_principal_arn;
  std::string source_provider;
  std::string source_subject;
  std::string source_identity;
  // Extra condition keys fixed at creation (e.g. web identity claims
  // "token.actions.githubusercontent.com:sub"), for policy evaluation.
  std::map<std::string, std::vector<std::string>, std::less<>> condition_keys;

  bool Expired(util::SystemTime now) const { return now >= expiration; }
};

// Who asks for a session. All optional; stored with the session.
struct SessionSource {
  std::string principal_arn;  // AssumeRole: the calling user's (or session's) ARN
  std::string provider;       // web identity: the provider ("token.actions.githubusercontent.com")
  std::string subject;        // web identity: the token's sub
  std::string source_identity;  // SourceIdentity, if the caller set one
};

enum class EntityKind { kUser, kGroup, kRole };
std::string_view EntityKindName(EntityKind kind);  // "user" | "group" | "role"

struct NewUser {
  std::string name;
  std::string path = "/";
  std::vector<Tag> tags;
  bool is_admin = false;
};

struct NewRole {
  std::string name;
  std::string path = "/";
  std::string assume_role_policy;
  std::string description;
  int max_session_duration = kMinRoleSessionSeconds;
  std::vector<Tag> tags;
};

struct NewPolicy {
  std::string name;
  std::string path = "/";
  std::string document;
  std::string description;
  std::vector<Tag> tags;
};

// One policy document that applies to a principal, with a stable name:
// "user/<u>/inline/<p>", "group/<g>/inline/<p>", "role/<r>/inline/<p>", or the
// managed policy's ARN (its default version).
struct PolicyText {
  std::string name;
  std::string document;
};

// The identity policies of one principal. Immutable once returned.
struct PrincipalPolicies {
  std::string principal;  // "user/<name>" or "role/<name>"
  // The generation() these were read at. A compiled form may be cached under
  // (principal, generation) and is current while generation() is unchanged.
  uint64_t generation = 0;
  std::vector<PolicyText> policies;
};

// Thread-safe. Lookups (LookupAccessKey, PoliciesFor) are served from
// in-memory caches that a storage watch on "iam/" keeps current; everything
// else reads storage.
//
// Errors shared by most methods: kNotFound (Reason::kNoSuchEntity) for a
// missing user/group/role/policy/provider/key (a malformed name is "missing"
// on reads); kInvalidArgument (Reason::kValidation) for a bad name, path or
// value on creates; kAlreadyExists (kEntityAlreadyExists); kFailedPrecondition
// (kDeleteConflict); kResourceExhausted (kLimitExceeded); kAborted
// (kConcurrentModification) if storage kept changing under a write; storage
// and keyring errors pass through.
class IdentityStore {
 public:
  IdentityStore(storage::Backend& backend, keyring::Keyring& keyring, util::Clock& clock,
                util::IdGenerator& ids, std::string account_id);
  ~IdentityStore();

  // ---- users
  // Creates user `name` at path "/". kAlreadyExists if present; kInvalidArgument
  // (kValidation) for a bad name.
  Result<User> CreateUser(std::string_view name, bool is_admin);
  // Same, with a path ("/" or "/a/b/", 1-512 chars) and up to 50 tags.
  Result<User> CreateUser(const NewUser& spec);
  // kNotFound.
  Result<User> GetUser(std::string_view name);
  // Users whose path starts with `path_prefix` ("" = all), by name.
  Result<std::vector<User>> ListUsers(std::string_view path_prefix);
  // kNotFound; kFailedPrecondition (kDeleteConflict) while the user has access
  // keys, inline or attached policies, or group memberships.
  Status DeleteUser(std::string_view name);

  // ---- access keys
  // Creates a new random access key for `user_name`. kNotFound if no such
  // user; kResourceExhausted (kLimitExceeded) if it already has 2 keys.
  Result<AccessKey> CreateAccessKey(std::string_view user_name);
  // Stores a caller-chosen key pair (dev set-up, tests with documented example
  // keys). kAlreadyExists if the access key id is taken; kInvalidArgument for an
  // id that is not 4-128 of [A-Z0-9] or starts with "ASIA"; no key limit.
  Result<AccessKey> ImportAccessKey(std::string_view user_name, std::string_view access_key_id,
                                    const SecretBytes& secret);
  // The user's keys without secrets, by id. kNotFound if no such user.
  Result<std::vector<AccessKey>> ListAccessKeys(std::string_view user_name);
  // Activates or deactivates a key; inactive keys do not authenticate.
  // kNotFound if the user or the key (of that user) does not exist.
  Status UpdateAccessKey(std::string_view user_name, std::string_view access_key_id, bool active);
  // kNotFound as UpdateAccessKey.
  Status DeleteAccessKey(std::string_view user_name, std::string_view access_key_id);

  // The credentials behind an access key id: a user's key (AKIA...) or a
  // session (ASIA...). Served from memory on the hot path.
  struct Resolved {
    AccessKey key;
    // For a user's key: the user. For a session: name empty, user_id =
    // "<role id>:<session>", arn = the assumed-role ARN, path = the role's path.
    User user;
    // Temporary credentials: session.session_token must be presented
    // (X-Amz-Security-Token; compare in constant time) and session.expiration
    // is to be checked by the caller. Expired sessions ARE returned.
    bool is_session = false;
    Session session;  // only when is_session
  };
  // kNotFound (kUnknownAccessKey) when unknown, inactive, or a session whose
  // role was deleted.
  Result<Resolved> LookupAccessKey(std::string_view access_key_id);

  // ---- groups
  // kAlreadyExists; kInvalidArgument for a bad name (1-128) or path.
  Result<Group> CreateGroup(std::string_view name, std::string_view path);
  Result<Group> GetGroup(std::string_view name);
  // The group's members, by name. kNotFound.
  Result<std::vector<User>> ListGroupMembers(std::string_view group_name);
  Result<std::vector<Group>> ListGroups(std::string_view path_prefix);
  // kFailedPrecondition (kDeleteConflict) while it has members or policies.
  Status DeleteGroup(std::string_view name);
  // Idempotent. kNotFound if the group or the user does not exist.
  Status AddUserToGroup(std::string_view group_name, std::string_view user_name);
  // kNotFound if either is missing or the user is not a member.
  Status RemoveUserFromGroup(std::string_view group_name, std::string_view user_name);
  Result<std::vector<Group>> ListGroupsForUser(std::string_view user_name);

  // ---- roles
  // kAlreadyExists; kInvalidArgument for a bad name (1-64), path, description
  // (> 1000) or max session duration (outside 3600..43200).
  Result<Role> CreateRole(const NewRole& spec);
  Result<Role> GetRole(std::string_view name);
  Result<std::vector<Role>> ListRoles(std::string_view path_prefix);
  // kFailedPrecondition (kDeleteConflict) while it has inline or attached
  // policies or is in an instance profile.
  Status DeleteRole(std::string_view name);
  Status UpdateAssumeRolePolicy(std::string_view name, std::string_view document);

  // ---- instance profiles
  // kAlreadyExists; kInvalidArgument for a bad name (1-128), path or tags.
  Result<InstanceProfile> CreateInstanceProfile(std::string_view name, std::string_view path,
                                                const std::vector<Tag>& tags);
  // With its roles. kNotFound (kNoSuchEntity).
  Result<InstanceProfile> GetInstanceProfile(std::string_view name);
  // Profiles under `path_prefix`, by name, with their roles.
  Result<std::vector<InstanceProfile>> ListInstanceProfiles(std::string_view path_prefix);
  // The profiles `role_name` is in, by name (empty when none). kNotFound if no
  // such role.
  Result<std::vector<InstanceProfile>> ListInstanceProfilesForRole(std::string_view role_name);
  // kFailedPrecondition (kDeleteConflict) while it holds a role. kNotFound.
  Status DeleteInstanceProfile(std::string_view name);
  // kNotFound for a missing profile or role; kResourceExhausted
  // (kLimitExceeded) when the profile already holds a role (the same role
  // included, as AWS does).
  Status AddRoleToInstanceProfile(std::string_view profile_name, std::string_view role_name);
  // kNotFound for a missing profile or role, or a role not in the profile.
  Status RemoveRoleFromInstanceProfile(std::string_view profile_name, std::string_view role_name);

  // ---- managed policies (identified by ARN)
  // Version "v1", the default. kAlreadyExists for a taken name.
  Result<ManagedPolicy> CreatePolicy(const NewPolicy& spec);
  // With attachment_count filled in. kNotFound (also for a foreign or AWS ARN).
  Result<ManagedPolicy> GetPolicy(std::string_view arn);
  // kNotFound for an unknown policy or version.
  Result<PolicyVersion> GetPolicyVersion(std::string_view arn, std::string_view version_id);
  // kResourceExhausted (kLimitExceeded) when the policy has 5 versions.
  Result<PolicyVersion> CreatePolicyVersion(std::string_view arn, std::string_view document,
                                            bool set_as_default);
  // kFailedPrecondition (kDeleteConflict) for the default version.
  Status DeletePolicyVersion(std::string_view arn, std::string_view version_id);
  Status SetDefaultPolicyVersion(std::string_view arn, std::string_view version_id);
  // Policies under `path_prefix`, by name; only attached ones if `only_attached`.
  Result<std::vector<ManagedPolicy>> ListPolicies(std::string_view path_prefix, bool only_attached);
  // kFailedPrecondition (kDeleteConflict) while attached to any entity.
  Status DeletePolicy(std::string_view arn);
  // How many users, groups and roles the policy is attached to. kNotFound.
  Result<size_t> AttachmentCount(std::string_view arn);

  // ---- attachments and inline policies (entity = user, group or role name)
  // Idempotent. kNotFound for a missing entity or policy; kResourceExhausted
  // (kLimitExceeded) beyond 20 attached policies.
  Status AttachPolicy(EntityKind kind, std::string_view entity, std::string_view policy_arn);
  // kNotFound if the entity is missing or the policy is not attached to it.
  Status DetachPolicy(EntityKind kind, std::string_view entity, std::string_view policy_arn);
  Result<std::vector<AttachedPolicy>> ListAttachedPolicies(EntityKind kind,
                                                           std::string_view entity);
  // Creates or replaces. kInvalidArgument for a bad policy name (1-128).
  Status PutInlinePolicy(EntityKind kind, std::string_view entity, std::string_view policy_name,
                         std::string_view document);
  // The document. kNotFound for a missing entity or policy.
  Result<std::string> GetInlinePolicy(EntityKind kind, std::string_view entity,
                                      std::string_view policy_name);
  Status DeleteInlinePolicy(EntityKind kind, std::string_view entity, std::string_view policy_name);
  // Policy names, sorted.
  Result<std::vector<std::string>> ListInlinePolicies(EntityKind kind, std::string_view entity);

  // ---- OIDC providers
  // `url` must start with "https://" (a trailing "/" is dropped). kAlreadyExists
  // for the same URL; kInvalidArgument for a bad URL, thumbprint (40 hex) or
  // list sizes (<= 5 thumbprints, <= 100 client ids).
  Result<OidcProvider> CreateOidcProvider(std::string_view url,
                                          const std::vector<std::string>& client_ids,
                                          const std::vector<std::string>& thumbprints,
                                          const std::vector<Tag>& tags);
  Result<OidcProvider> GetOidcProvider(std::string_view arn);
  // The provider registered for a token issuer ("https://host[/path]"). kNotFound.
  Result<OidcProvider> GetOidcProviderForIssuer(std::string_view issuer);
  Result<std::vector<OidcProvider>> ListOidcProviders();
  Status DeleteOidcProvider(std::string_view arn);

  // ---- STS sessions
  // Creates temporary credentials for `role_name`, valid `duration` from now.
  // kNotFound if no such role; kInvalidArgument (kValidation) for a session
  // name that is not 2-64 of [\w+=,.@-] or a duration outside
  // 900 s..the role's MaxSessionDuration (callers cap it first if they want).
  // Also purges a few long-expired session records.
  Result<Session> CreateSession(
      std::string_view role_name, std::string_view session_name, std::chrono::seconds duration,
      const SessionSource& source,
      std::map<std::string, std::vector<std::string>, std::less<>> condition_keys);
  // Deletes session records expired for longer than kExpiredSessionRetention.
  // Returns how many were removed.
  Result<size_t> PurgeExpiredSessions();

  // ---- for the authorizer
  // The identity policies that apply to the caller: for a user, its inline and
  // attached policies and those of its groups; for a session, its role's.
  // Cached per principal until the next IAM change. kNotFound if the user or
  // role no longer exists.
  Result<std::shared_ptr<const PrincipalPolicies>> PoliciesFor(const Resolved& caller);
  // Increments on every change to users, groups, roles, policies, attachments,
  // memberships and OIDC providers (not on access key or session changes,
  // which affect no policy).
  uint64_t generation() const;

  const std::string& account_id() const { return account_id_; }

  // ---- tags on entities after creation (entity_tags.cc)
  // Users, roles and instance profiles by name; managed policies and OIDC
  // providers by ARN.
  enum class TaggedKind { kUser, kRole, kInstanceProfile, kPolicy, kOidcProvider };
  // Adds `tags` (a key given again takes the new value). kNotFound
  // (kNoSuchEntity); kInvalidArgument for a bad tag; kResourceExhausted
  // (kLimitExceeded) when the entity would have more than kMaxTags.
  Status TagEntity(TaggedKind kind, std::string_view id, const std::vector<Tag>& tags);
  // Removes the tags with these keys (absent keys are ignored). kNotFound.
  Status UntagEntity(TaggedKind kind, std::string_view id, const std::vector<std::string>& keys);
  Result<std::vector<Tag>> EntityTags(TaggedKind kind, std::string_view id);

 private:
  struct TagTarget;
  Result<TagTarget> TargetOf(TaggedKind kind, std::string_view id);
  Status RetagEntity(TaggedKind kind, std::string_view id, const std::vector<Tag>& add,
                     const std::vector<std::string>& remove);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string account_id_;
};

}  // namespace coffer::domain::iam
