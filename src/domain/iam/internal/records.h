// Storage records of domain/iam: the keys (docs/formats/storage-keys.md and the
// list in identity_store.h) and the binary encoding of each record, in one place.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "domain/iam/identity_store.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::domain::iam::internal {

inline constexpr std::string_view kIamPrefix = "iam/";
inline constexpr std::string_view kUserPrefix = "iam/user/";
inline constexpr std::string_view kAccessKeyPrefix = "iam/akid/";
inline constexpr std::string_view kUserKeysPrefix = "iam/userkeys/";
inline constexpr std::string_view kGroupPrefix = "iam/group/";
inline constexpr std::string_view kMemberPrefix = "iam/member/";
inline constexpr std::string_view kUserGroupsPrefix = "iam/usergroups/";
inline constexpr std::string_view kRolePrefix = "iam/role/";
inline constexpr std::string_view kPolicyPrefix = "iam/policy/";
inline constexpr std::string_view kAttachPrefix = "iam/attach/";
inline constexpr std::string_view kAttachedPrefix = "iam/attached/";
inline constexpr std::string_view kInlinePrefix = "iam/inline/";
inline constexpr std::string_view kOidcPrefix = "iam/oidc/";
inline constexpr std::string_view kProfilePrefix = "iam/profile/";
inline constexpr std::string_view kProfileRolePrefix = "iam/profilerole/";
inline constexpr std::string_view kSessionPrefix = "iam/session/";

// ---- keys

std::string Cat(std::initializer_list<std::string_view> parts);
std::string UserKey(std::string_view name);
std::string AccessKeyKey(std::string_view id);
std::string UserKeysPrefix(std::string_view user);
std::string GroupKey(std::string_view name);
std::string MembersPrefix(std::string_view group);
std::string UserGroupsPrefix(std::string_view user);
std::string RoleKey(std::string_view name);
std::string PolicyKey(std::string_view name);
std::string ProfileKey(std::string_view name);
std::string ProfileRolePrefix(std::string_view role);
std::string AttachPrefix(EntityKind kind, std::string_view entity);
std::string AttachedPrefix(std::string_view policy_name);
std::string InlinePrefix(EntityKind kind, std::string_view entity);
std::string OidcKey(std::string_view url_without_scheme);
std::string SessionKey(std::string_view id);

// ---- records as stored (where they differ from the public types)

struct StoredAccessKey {
  std::string access_key_id;
  std::string user_name;
  std::string sealed_secret;
  bool active = true;
  util::SystemTime created;
};

// An instance profile as stored: its roles by name (GetInstanceProfile reads them).
struct StoredProfile {
  InstanceProfile profile;  // roles empty
  std::vector<std::string> role_names;
};

struct StoredPolicy {
  ManagedPolicy policy;
  uint32_t next_version = 2;
};

struct StoredSession {
  std::string access_key_id;
  std::string role_name;
  std::string role_id;
  std::string session_name;
  std::string sealed_secret;
  std::string sealed_token;
  util::SystemTime created;
  util::SystemTime expiration;
  std::string source_principal_arn;
  std::string source_provider;
  std::string source_subject;
  std::string source_identity;
  std::map<std::string, std::vector<std::string>, std::less<>> condition_keys;
};

// ---- codecs. Decoders take the storage key for their error message and
// return kDataLoss for a record they cannot read.

std::string EncodeUser(const User& u);
Result<User> DecodeUser(std::string_view key, std::string_view value);
std::string EncodeAccessKey(const StoredAccessKey& k);
Result<StoredAccessKey> DecodeAccessKey(std::string_view key, std::string_view value);
std::string EncodeGroup(const Group& g);
Result<Group> DecodeGroup(std::string_view key, std::string_view value);
std::string EncodeRole(const Role& role);
Result<Role> DecodeRole(std::string_view key, std::string_view value);
std::string EncodeProfile(const StoredProfile& p);
Result<StoredProfile> DecodeProfile(std::string_view key, std::string_view value);
std::string EncodePolicy(const StoredPolicy& s);
Result<StoredPolicy> DecodePolicy(std::string_view key, std::string_view value);
std::string EncodeOidc(const OidcProvider& o);
Result<OidcProvider> DecodeOidc(std::string_view key, std::string_view value);
std::string EncodeSession(const StoredSession& s);
Result<StoredSession> DecodeSession(std::string_view key, std::string_view value);

// ---- the top-level records (one per entity, under `prefix` + id), for the
// shared create/get/list/delete plumbing of IdentityStore::Impl.
template <class R>
struct RecordKind {
  std::string_view prefix;
  // Ids longer than this, or not of IAM name characters, name nothing (reads
  // answer "no such entity"); 0 = the caller checks the id.
  size_t max_id = 0;
  std::string (*encode)(const R&);
  Result<R> (*decode)(std::string_view key, std::string_view value);
};

inline constexpr RecordKind<User> kUsers{kUserPrefix, 64, &EncodeUser, &DecodeUser};
inline constexpr RecordKind<Group> kGroups{kGroupPrefix, 128, &EncodeGroup, &DecodeGroup};
inline constexpr RecordKind<Role> kRoles{kRolePrefix, 64, &EncodeRole, &DecodeRole};
inline constexpr RecordKind<StoredProfile> kProfiles{kProfilePrefix, 128, &EncodeProfile,
                                                     &DecodeProfile};
inline constexpr RecordKind<StoredPolicy> kPolicies{kPolicyPrefix, 128, &EncodePolicy,
                                                    &DecodePolicy};
inline constexpr RecordKind<OidcProvider> kOidcProviders{kOidcPrefix, 0, &EncodeOidc, &DecodeOidc};

}  // namespace coffer::domain::iam::internal
