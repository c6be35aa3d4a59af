#include "domain/iam/identity_store.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "util/encoding.h"
#include "util/mutex.h"

namespace coffer::domain::iam {
namespace {

constexpr std::string_view kIamPrefix = "iam/";
constexpr std::string_view kUserPrefix = "iam/user/";
constexpr std::string_view kAccessKeyPrefix = "iam/akid/";
constexpr std::string_view kUserKeysPrefix = "iam/userkeys/";
constexpr std::string_view kGroupPrefix = "iam/group/";
constexpr std::string_view kMemberPrefix = "iam/member/";
constexpr std::string_view kUserGroupsPrefix = "iam/usergroups/";
constexpr std::string_view kRolePrefix = "iam/role/";
constexpr std::string_view kPolicyPrefix = "iam/policy/";
constexpr std::string_view kAttachPrefix = "iam/attach/";
constexpr std::string_view kAttachedPrefix = "iam/attached/";
constexpr std::string_view kInlinePrefix = "iam/inline/";
constexpr std::string_view kOidcPrefix = "iam/oidc/";
constexpr std::string_view kProfilePrefix = "iam/profile/";
constexpr std::string_view kProfileRolePrefix = "iam/profilerole/";
constexpr std::string_view kSessionPrefix = "iam/session/";

constexpr int kMaxCommitAttempts = 10;
constexpr size_t kPurgeBatch = 32;

// Record encodings (persisted: never renumber or reorder fields). Each record
// starts with a format byte, then fields in order: strings as u32 little-endian
// length + bytes, counts as u32, times as i64 little-endian Unix milliseconds,
// flags as one byte; tags as count + (key, value) strings.
//   user (format 1):       name, user_id, arn, path, created, is_admin
//   user (format 2):       format 1 fields, tags
//   access key (format 1): access_key_id, user_name, sealed_secret, active, created
//   group (format 1):      name, group_id, arn, path, created
//   role (format 1):       name, role_id, arn, path, created, trust policy, description,
//                          max_session_duration (u32), tags
//   policy (format 1):     name, policy_id, arn, path, description, default_version_id,
//                          created, updated, next_version (u32), tags,
//                          versions: count + (version_id, document, created)
//   instance profile (format 1): name, instance_profile_id, arn, path, created,
//                          role names (count + strings), tags
//   oidc (format 1):       url, arn, client_ids (count + strings), thumbprints, created, tags
//   session (format 1):    access_key_id, role_name, role_id, session_name, sealed_secret,
//                          sealed_token, created, expiration, source_principal_arn,
//                          source_provider, source_subject, source_identity,
//                          condition keys: count + (key, count + values)
constexpr uint8_t kUserFormatV1 = 1;
constexpr uint8_t kUserFormat = 2;
constexpr uint8_t kAccessKeyFormat = 1;
constexpr uint8_t kGroupFormat = 1;
constexpr uint8_t kRoleFormat = 1;
constexpr uint8_t kPolicyFormat = 1;
constexpr uint8_t kOidcFormat = 1;
constexpr uint8_t kProfileFormat = 1;
constexpr uint8_t kSessionFormat = 1;

class RecordWriter {
 public:
  explicit RecordWriter(uint8_t format) { out_.push_back(static_cast<char>(format)); }
  void String(std::string_view s) {
    U64(s.size(), 4);
    out_ += s;
  }
  void Count(size_t n) { U64(n, 4); }
  void Time(util::SystemTime t) { U64(static_cast<uint64_t>(util::ToUnixMillis(t)), 8); }
  void Flag(bool b) { out_.push_back(b ? 1 : 0); }
  void Strings(const std::vector<std::string>& v) {
    Count(v.size());
    for (const std::string& s : v) String(s);
  }
  void Tags(const std::vector<Tag>& tags) {
    Count(tags.size());
    for (const Tag& t : tags) {
      String(t.key);
      String(t.value);
    }
  }
  std::string Take() { return std::move(out_); }

 private:
  void U64(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  // Consumes the format byte and returns it (0 when empty).
  uint8_t Format() {
    if (in_.empty()) {
      ok_ = false;
      return 0;
    }
    uint8_t f = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return f;
  }
  bool Format(uint8_t expected) {
    if (Format() != expected) ok_ = false;
    return ok_;
  }
  std::string String() {
    uint64_t n = U64(4);
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  // A count, bounded by the bytes left (each element takes at least one byte).
  size_t Count() {
    uint64_t n = U64(4);
    if (n > in_.size()) {
      ok_ = false;
      return 0;
    }
    return static_cast<size_t>(n);
  }
  util::SystemTime Time() { return util::FromUnixMillis(static_cast<int64_t>(U64(8))); }
  bool Flag() {
    if (in_.empty()) {
      ok_ = false;
      return false;
    }
    char c = in_[0];
    in_.remove_prefix(1);
    return c != 0;
  }
  std::vector<std::string> Strings() {
    std::vector<std::string> out;
    size_t n = Count();
    for (size_t i = 0; i < n && ok_; ++i) out.push_back(String());
    return out;
  }
  std::vector<Tag> Tags() {
    std::vector<Tag> out;
    size_t n = Count();
    for (size_t i = 0; i < n && ok_; ++i) {
      Tag t;
      t.key = String();
      t.value = String();
      out.push_back(std::move(t));
    }
    return out;
  }
  uint32_t U32() { return static_cast<uint32_t>(U64(4)); }
  bool good() const { return ok_; }
  bool ok() const { return ok_ && in_.empty(); }

 private:
  uint64_t U64(int bytes) {
    if (!ok_ || in_.size() < static_cast<size_t>(bytes)) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(bytes);
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

Error Corrupt(std::string_view what, std::string_view key) {
  return Error{ErrorCode::kDataLoss, Reason::kNone,
               "corrupt " + std::string(what) + " record " + std::string(key)};
}

std::string EncodeUser(const User& u) {
  RecordWriter w(kUserFormat);
  w.String(u.name);
  w.String(u.user_id);
  w.String(u.arn);
  w.String(u.path);
  w.Time(u.created);
  w.Flag(u.is_admin);
  w.Tags(u.tags);
  return w.Take();
}

Result<User> DecodeUser(std::string_view key, std::string_view value) {
  RecordReader r(value);
  User u;
  uint8_t format = r.Format();
  if (format == kUserFormatV1 || format == kUserFormat) {
    u.name = r.String();
    u.user_id = r.String();
    u.arn = r.String();
    u.path = r.String();
    u.created = r.Time();
    u.is_admin = r.Flag();
    if (format == kUserFormat) u.tags = r.Tags();
  } else {
    return Fail(Corrupt("user", key));
  }
  if (!r.ok()) return Fail(Corrupt("user", key));
  return u;
}

struct StoredAccessKey {
  std::string access_key_id;
  std::string user_name;
  std::string sealed_secret;
  bool active = true;
  util::SystemTime created;
};

std::string EncodeAccessKey(const StoredAccessKey& k) {
  RecordWriter w(kAccessKeyFormat);
  w.String(k.access_key_id);
  w.String(k.user_name);
  w.String(k.sealed_secret);
  w.Flag(k.active);
  w.Time(k.created);
  return w.Take();
}

Result<StoredAccessKey> DecodeAccessKey(std::string_view key, std::string_view value) {
  RecordReader r(value);
  StoredAccessKey k;
  if (r.Format(kAccessKeyFormat)) {
    k.access_key_id = r.String();
    k.user_name = r.String();
    k.sealed_secret = r.String();
    k.active = r.Flag();
    k.created = r.Time();
  }
  if (!r.ok()) return Fail(Corrupt("access key", key));
  return k;
}

std::string EncodeGroup(const Group& g) {
  RecordWriter w(kGroupFormat);
  w.String(g.name);
  w.String(g.group_id);
  w.String(g.arn);
  w.String(g.path);
  w.Time(g.created);
  return w.Take();
}

Result<Group> DecodeGroup(std::string_view key, std::string_view value) {
  RecordReader r(value);
  Group g;
  if (r.Format(kGroupFormat)) {
    g.name = r.String();
    g.group_id = r.String();
    g.arn = r.String();
    g.path = r.String();
    g.created = r.Time();
  }
  if (!r.ok()) return Fail(Corrupt("group", key));
  return g;
}

std::string EncodeRole(const Role& role) {
  RecordWriter w(kRoleFormat);
  w.String(role.name);
  w.String(role.role_id);
  w.String(role.arn);
  w.String(role.path);
  w.Time(role.created);
  w.String(role.assume_role_policy);
  w.String(role.description);
  w.Count(static_cast<size_t>(role.max_session_duration));  // u32
  w.Tags(role.tags);
  return w.Take();
}

Result<Role> DecodeRole(std::string_view key, std::string_view value) {
  RecordReader r(value);
  Role role;
  if (r.Format(kRoleFormat)) {
    role.name = r.String();
    role.role_id = r.String();
    role.arn = r.String();
    role.path = r.String();
    role.created = r.Time();
    role.assume_role_policy = r.String();
    role.description = r.String();
    role.max_session_duration = static_cast<int>(r.U32());
    role.tags = r.Tags();
  }
  if (!r.ok()) return Fail(Corrupt("role", key));
  return role;
}

// An instance profile as stored: its roles by name (GetInstanceProfile reads them).
struct StoredProfile {
  InstanceProfile profile;  // roles empty
  std::vector<std::string> role_names;
};

std::string EncodeProfile(const StoredProfile& p) {
  RecordWriter w(kProfileFormat);
  w.String(p.profile.name);
  w.String(p.profile.instance_profile_id);
  w.String(p.profile.arn);
  w.String(p.profile.path);
  w.Time(p.profile.created);
  w.Strings(p.role_names);
  w.Tags(p.profile.tags);
  return w.Take();
}

Result<StoredProfile> DecodeProfile(std::string_view key, std::string_view value) {
  RecordReader r(value);
  StoredProfile p;
  if (r.Format(kProfileFormat)) {
    p.profile.name = r.String();
    p.profile.instance_profile_id = r.String();
    p.profile.arn = r.String();
    p.profile.path = r.String();
    p.profile.created = r.Time();
    p.role_names = r.Strings();
    p.profile.tags = r.Tags();
  }
  if (!r.ok()) return Fail(Corrupt("instance profile", key));
  return p;
}

struct StoredPolicy {
  ManagedPolicy policy;
  uint32_t next_version = 2;
};

std::string EncodePolicy(const StoredPolicy& s) {
  const ManagedPolicy& p = s.policy;
  RecordWriter w(kPolicyFormat);
  w.String(p.name);
  w.String(p.policy_id);
  w.String(p.arn);
  w.String(p.path);
  w.String(p.description);
  w.String(p.default_version_id);
  w.Time(p.created);
  w.Time(p.updated);
  w.Count(s.next_version);
  w.Tags(p.tags);
  w.Count(p.versions.size());
  for (const PolicyVersion& v : p.versions) {
    w.String(v.version_id);
    w.String(v.document);
    w.Time(v.created);
  }
  return w.Take();
}

Result<StoredPolicy> DecodePolicy(std::string_view key, std::string_view value) {
  RecordReader r(value);
  StoredPolicy s;
  ManagedPolicy& p = s.policy;
  if (r.Format(kPolicyFormat)) {
    p.name = r.String();
    p.policy_id = r.String();
    p.arn = r.String();
    p.path = r.String();
    p.description = r.String();
    p.default_version_id = r.String();
    p.created = r.Time();
    p.updated = r.Time();
    s.next_version = r.U32();
    p.tags = r.Tags();
    size_t n = r.Count();
    for (size_t i = 0; i < n && r.good(); ++i) {
      PolicyVersion v;
      v.version_id = r.String();
      v.document = r.String();
      v.created = r.Time();
      v.is_default = v.version_id == p.default_version_id;
      p.versions.push_back(std::move(v));
    }
  }
  if (!r.ok()) return Fail(Corrupt("policy", key));
  return s;
}

std::string EncodeOidc(const OidcProvider& o) {
  RecordWriter w(kOidcFormat);
  w.String(o.url);
  w.String(o.arn);
  w.Strings(o.client_ids);
  w.Strings(o.thumbprints);
  w.Time(o.created);
  w.Tags(o.tags);
  return w.Take();
}

Result<OidcProvider> DecodeOidc(std::string_view key, std::string_view value) {
  RecordReader r(value);
  OidcProvider o;
  if (r.Format(kOidcFormat)) {
    o.url = r.String();
    o.arn = r.String();
    o.client_ids = r.Strings();
    o.thumbprints = r.Strings();
    o.created = r.Time();
    o.tags = r.Tags();
  }
  if (!r.ok()) return Fail(Corrupt("oidc provider", key));
  return o;
}

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

std::string EncodeSession(const StoredSession& s) {
  RecordWriter w(kSessionFormat);
  w.String(s.access_key_id);
  w.String(s.role_name);
  w.String(s.role_id);
  w.String(s.session_name);
  w.String(s.sealed_secret);
  w.String(s.sealed_token);
  w.Time(s.created);
  w.Time(s.expiration);
  w.String(s.source_principal_arn);
  w.String(s.source_provider);
  w.String(s.source_subject);
  w.String(s.source_identity);
  w.Count(s.condition_keys.size());
  for (const auto& [k, values] : s.condition_keys) {
    w.String(k);
    w.Strings(values);
  }
  return w.Take();
}

Result<StoredSession> DecodeSession(std::string_view key, std::string_view value) {
  RecordReader r(value);
  StoredSession s;
  if (r.Format(kSessionFormat)) {
    s.access_key_id = r.String();
    s.role_name = r.String();
    s.role_id = r.String();
    s.session_name = r.String();
    s.sealed_secret = r.String();
    s.sealed_token = r.String();
    s.created = r.Time();
    s.expiration = r.Time();
    s.source_principal_arn = r.String();
    s.source_provider = r.String();
    s.source_subject = r.String();
    s.source_identity = r.String();
    size_t n = r.Count();
    for (size_t i = 0; i < n && r.good(); ++i) {
      std::string k = r.String();
      s.condition_keys[std::move(k)] = r.Strings();
    }
  }
  if (!r.ok()) return Fail(Corrupt("session", key));
  return s;
}

// ---- keys

std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out += p;
  return out;
}
std::string UserKey(std::string_view name) { return Cat({kUserPrefix, name}); }
std::string AccessKeyKey(std::string_view id) { return Cat({kAccessKeyPrefix, id}); }
std::string UserKeysPrefix(std::string_view user) { return Cat({kUserKeysPrefix, user, "/"}); }
std::string GroupKey(std::string_view name) { return Cat({kGroupPrefix, name}); }
std::string MembersPrefix(std::string_view group) { return Cat({kMemberPrefix, group, "/"}); }
std::string UserGroupsPrefix(std::string_view user) { return Cat({kUserGroupsPrefix, user, "/"}); }
std::string RoleKey(std::string_view name) { return Cat({kRolePrefix, name}); }
std::string PolicyKey(std::string_view name) { return Cat({kPolicyPrefix, name}); }
std::string ProfileKey(std::string_view name) { return Cat({kProfilePrefix, name}); }
std::string ProfileRolePrefix(std::string_view role) { return Cat({kProfileRolePrefix, role, "/"}); }
std::string AttachPrefix(EntityKind kind, std::string_view entity) {
  return Cat({kAttachPrefix, EntityKindName(kind), "/", entity, "/"});
}
std::string AttachedPrefix(std::string_view policy_name) {
  return Cat({kAttachedPrefix, policy_name, "/"});
}
std::string InlinePrefix(EntityKind kind, std::string_view entity) {
  return Cat({kInlinePrefix, EntityKindName(kind), "/", entity, "/"});
}
std::string OidcKey(std::string_view url_without_scheme) {
  return Cat({kOidcPrefix, url_without_scheme});
}
std::string SessionKey(std::string_view id) { return Cat({kSessionPrefix, id}); }

// ---- validation

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::strchr("+=,.@_-", c) != nullptr;
}

// IAM names: 1-`max` of [A-Za-z0-9+=,.@_-].
bool IsValidName(std::string_view name, size_t max) {
  if (name.empty() || name.size() > max) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c != 0 && IsNameChar(c); });
}
bool IsValidUserName(std::string_view name) { return IsValidName(name, 64); }

// "/" or "/a/b/": 1-512 printable ASCII characters, starting and ending with "/".
bool IsValidPath(std::string_view path) {
  if (path.empty() || path.size() > 512 || path.front() != '/' || path.back() != '/') return false;
  return std::all_of(path.begin(), path.end(), [](char c) { return c >= 0x21 && c <= 0x7E; });
}

// Access key ids: 4-128 of [A-Z0-9] (allows AWS's documented AKIDEXAMPLE).
bool IsValidAccessKeyId(std::string_view id) {
  if (id.size() < 4 || id.size() > 128) return false;
  for (char c : id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool IsSessionKeyId(std::string_view id) { return id.starts_with("ASIA"); }

bool IsHex40(std::string_view s) {
  if (s.size() != 40) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

Error Invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, Reason::kValidation, std::move(message)};
}

Status ValidateTags(const std::vector<Tag>& tags) {
  if (tags.size() > kMaxTags) return Fail(Invalid("at most 50 tags are allowed"));
  std::set<std::string_view> seen;
  for (const Tag& t : tags) {
    if (t.key.empty() || t.key.size() > 128) {
      return Fail(Invalid("tag keys must be 1-128 characters"));
    }
    if (t.value.size() > 256) return Fail(Invalid("tag values must be at most 256 characters"));
    if (!seen.insert(t.key).second) return Fail(Invalid("duplicate tag key " + t.key));
  }
  return Ok();
}

Status ValidatePath(std::string_view path) {
  if (!IsValidPath(path)) {
    return Fail(Invalid("path must be \"/\" or begin and end with \"/\" (1-512 characters)"));
  }
  return Ok();
}

// `prefix` + 16 characters drawn uniformly from [A-Z0-9] with the CSPRNG.
std::string RandomIdentifier(std::string_view prefix) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out(prefix);
  while (out.size() < prefix.size() + 16) {
    std::string bytes = crypto::RandomBytes(32);
    for (unsigned char b : bytes) {
      if (b >= 252) continue;  // 252 = 7 * 36: reject to keep the draw uniform
      out.push_back(kAlphabet[b % 36]);
      if (out.size() == prefix.size() + 16) break;
    }
  }
  return out;
}

// Base64 of `random_bytes` CSPRNG bytes, as a secret.
SecretBytes RandomBase64Secret(size_t random_bytes) {
  std::string random = crypto::RandomBytes(random_bytes);
  std::string encoded = util::Base64Encode(random);
  SecretBytes secret(encoded);
  util::SecureClear(random);
  util::SecureClear(encoded);
  return secret;
}

// ---- errors

Error UnknownKey(std::string_view id) {
  return Error{ErrorCode::kNotFound, Reason::kUnknownAccessKey,
               "access key " + std::string(id) + " is unknown or inactive"};
}

Error NoSuchEntity(std::string message) {
  return Error{ErrorCode::kNotFound, Reason::kNoSuchEntity, std::move(message)};
}

Error NoSuch(EntityKind kind, std::string_view name) {
  return NoSuchEntity("The " + std::string(EntityKindName(kind)) + " with name " +
                      std::string(name) + " cannot be found.");
}

Error NoSuchPolicy(std::string_view arn) {
  return NoSuchEntity("Policy " + std::string(arn) + " does not exist or is not attachable.");
}

Error AlreadyExists(std::string message) {
  return Error{ErrorCode::kAlreadyExists, Reason::kEntityAlreadyExists, std::move(message)};
}

Error DeleteConflict(std::string message) {
  return Error{ErrorCode::kFailedPrecondition, Reason::kDeleteConflict, std::move(message)};
}

Error LimitExceeded(std::string message) {
  return Error{ErrorCode::kResourceExhausted, Reason::kLimitExceeded, std::move(message)};
}

bool IsCasConflict(const Error& e) { return e.code == ErrorCode::kAborted; }

std::string_view LastSegment(std::string_view key) {
  size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? key : key.substr(slash + 1);
}

void Touch(storage::Txn& txn, const storage::Entry& entry) {
  txn.compares.push_back(storage::Compare{entry.key, entry.mod_revision});
  txn.writes.push_back(storage::Write::Put(entry.key, entry.value));
}

void Guard(storage::Txn& txn, const storage::Entry& entry) {
  txn.compares.push_back(storage::Compare{entry.key, entry.mod_revision});
}

}  // namespace

std::string_view EntityKindName(EntityKind kind) {
  switch (kind) {
    case EntityKind::kUser:
      return "user";
    case EntityKind::kGroup:
      return "group";
    case EntityKind::kRole:
      return "role";
  }
  return "user";
}

struct IdentityStore::Impl {
  Impl(storage::Backend& b, keyring::Keyring& k, util::Clock& c, util::IdGenerator& i,
       const std::string& a)
      : backend(b), keyring(k), clock(c), ids(i), account(a) {}

  storage::Backend& backend;
  keyring::Keyring& keyring;
  util::Clock& clock;
  util::IdGenerator& ids;  // non-secret ids only; keys and tokens come from the CSPRNG
  const std::string& account;
  uint64_t watch_id = 0;

  mutable util::SharedMutex mu;
  // Resolved keys by access key id (inactive ones too: Lookup filters them).
  std::map<std::string, std::shared_ptr<const Resolved>, std::less<>> cache COFFER_GUARDED_BY(mu);
  // Bumped on every change under iam/. A lookup that read storage under an older
  // generation does not fill the cache, so a fill can never resurrect data that a
  // watch event has already invalidated.
  uint64_t generation COFFER_GUARDED_BY(mu) = 0;
  // The same for policy-relevant records (everything but keys and sessions).
  uint64_t policy_generation COFFER_GUARDED_BY(mu) = 0;
  std::map<std::string, std::shared_ptr<const PrincipalPolicies>, std::less<>> policies
      COFFER_GUARDED_BY(mu);

  util::Mutex purge_mu;
  std::string purge_cursor COFFER_GUARDED_BY(purge_mu);

  void OnEvents(const std::vector<storage::Event>& events) {
    util::WriterLock lock(mu);
    for (const storage::Event& e : events) Invalidate(e.key);
  }

  void Invalidate(std::string_view key) COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (!key.starts_with(kIamPrefix)) return;
    ++generation;
    if (key.starts_with(kAccessKeyPrefix)) {
      auto it = cache.find(key.substr(kAccessKeyPrefix.size()));
      if (it != cache.end()) cache.erase(it);
      return;
    }
    if (key.starts_with(kSessionPrefix)) {
      auto it = cache.find(key.substr(kSessionPrefix.size()));
      if (it != cache.end()) cache.erase(it);
      return;
    }
    if (key.starts_with(kUserKeysPrefix)) return;
    if (key.starts_with(kUserPrefix)) {
      std::string_view name = key.substr(kUserPrefix.size());
      std::erase_if(cache, [name](const auto& kv) {
        return !kv.second->is_session && kv.second->user.name == name;
      });
    } else if (key.starts_with(kRolePrefix)) {
      std::string_view name = key.substr(kRolePrefix.size());
      std::erase_if(cache, [name](const auto& kv) {
        return kv.second->is_session && kv.second->session.role_name == name;
      });
    }
    ++policy_generation;
    policies.clear();
  }

  // Commits `txn` and invalidates the caches for its writes (a remote backend
  // runs watches later; embedded ones already ran them).
  Status Commit(const storage::Txn& txn) {
    auto committed = backend.Commit(txn);
    if (!committed.has_value()) return Fail(std::move(committed).error());
    util::WriterLock lock(mu);
    for (const storage::Write& w : txn.writes) Invalidate(w.key);
    return Ok();
  }

  // Runs `attempt` until it does not fail with a compare-and-swap conflict.
  template <class F>
  auto Retry(F attempt) -> decltype(attempt()) {
    for (int i = 0; i < kMaxCommitAttempts; ++i) {
      auto r = attempt();
      if (r.has_value() || !IsCasConflict(r.error())) return r;
    }
    return Fail(ErrorCode::kAborted, "concurrent modification, try again", Reason::kCasConflict);
  }

  Result<std::optional<storage::Entry>> GetOptional(std::string_view key) {
    auto entry = backend.Get(key);
    if (entry.has_value()) return std::optional<storage::Entry>(std::move(*entry));
    if (entry.error().code == ErrorCode::kNotFound) return std::optional<storage::Entry>();
    return Fail(std::move(entry).error());
  }

  Result<std::vector<storage::Entry>> Scan(std::string_view prefix, size_t limit = 0) {
    COFFER_ASSIGN_OR_RETURN(storage::RangeResult r,
                            backend.Range(prefix, storage::PrefixEnd(prefix), limit));
    return std::move(r.entries);
  }

  Result<bool> HasAny(std::string_view prefix) {
    COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, Scan(prefix, 1));
    return !entries.empty();
  }

  std::string EntityKey(EntityKind kind, std::string_view name) {
    switch (kind) {
      case EntityKind::kUser:
        return UserKey(name);
      case EntityKind::kGroup:
        return GroupKey(name);
      case EntityKind::kRole:
        return RoleKey(name);
    }
    return UserKey(name);
  }

  // The record of a user, group or role; kNotFound (kNoSuchEntity).
  Result<storage::Entry> GetEntity(EntityKind kind, std::string_view name) {
    size_t max = kind == EntityKind::kGroup ? 128 : 64;
    if (!IsValidName(name, max)) return Fail(NoSuch(kind, name));
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry,
                            GetOptional(EntityKey(kind, name)));
    if (!entry) return Fail(NoSuch(kind, name));
    return std::move(*entry);
  }

  // "arn:aws:iam::<account>:policy/<path><name>" -> name; kNotFound otherwise.
  Result<std::string> PolicyNameFromArn(std::string_view arn) {
    std::string prefix = "arn:aws:iam::" + account + ":policy/";
    if (!arn.starts_with(prefix)) return Fail(NoSuchPolicy(arn));
    std::string_view name = LastSegment(arn.substr(prefix.size()));
    if (!IsValidName(name, 128)) return Fail(NoSuchPolicy(arn));
    return std::string(name);
  }

  // The policy record named by `arn` (the stored ARN must match exactly).
  Result<std::pair<storage::Entry, StoredPolicy>> GetPolicyEntry(std::string_view arn) {
    COFFER_ASSIGN_OR_RETURN(std::string name, PolicyNameFromArn(arn));
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, GetOptional(PolicyKey(name)));
    if (!entry) return Fail(NoSuchPolicy(arn));
    COFFER_ASSIGN_OR_RETURN(StoredPolicy stored, DecodePolicy(entry->key, entry->value));
    if (stored.policy.arn != arn) return Fail(NoSuchPolicy(arn));
    return std::make_pair(std::move(*entry), std::move(stored));
  }

  Status EnsureIdentityKey() {
    if (keyring.HasKey(kIdentityKeyId)) return Ok();
    Status created = keyring.CreateKey(kIdentityKeyId);
    if (!created.has_value() && created.error().code != ErrorCode::kAlreadyExists) return created;
    return Ok();
  }

  // Seals `secret` and writes the access key record and its index entry,
  // provided the key id is free and the user record is unchanged (which it
  // rewrites, so a concurrent DeleteUser or CreateAccessKey retries).
  // `limit` > 0: refuse when the user already has that many keys.
  Result<AccessKey> StoreKey(std::string_view user_name, std::string_view access_key_id,
                             const SecretBytes& secret, size_t limit) {
    COFFER_RETURN_IF_ERROR(EnsureIdentityKey());
    std::string key = AccessKeyKey(access_key_id);
    return Retry([&]() -> Result<AccessKey> {
      COFFER_ASSIGN_OR_RETURN(storage::Entry user_entry, GetEntity(EntityKind::kUser, user_name));
      COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> existing, GetOptional(key));
      if (existing) {
        return Fail(AlreadyExists("Access key " + std::string(access_key_id) + " already exists."));
      }
      if (limit > 0) {
        COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> keys, Scan(UserKeysPrefix(user_name)));
        if (keys.size() >= limit) {
          return Fail(
              LimitExceeded("Cannot exceed quota for AccessKeysPerUser: " + std::to_string(limit)));
        }
      }
      StoredAccessKey stored;
      stored.access_key_id = std::string(access_key_id);
      stored.user_name = std::string(user_name);
      stored.active = true;
      stored.created = clock.Now();
      COFFER_ASSIGN_OR_RETURN(stored.sealed_secret,
                              keyring.Encrypt(kIdentityKeyId, key, secret.Reveal()));
      storage::Txn txn;
      txn.compares.push_back(storage::Compare{key, 0});
      Touch(txn, user_entry);
      txn.writes.push_back(storage::Write::Put(key, EncodeAccessKey(stored)));
      txn.writes.push_back(
          storage::Write::Put(UserKeysPrefix(user_name) + std::string(access_key_id), ""));
      COFFER_RETURN_IF_ERROR(Commit(txn));
      AccessKey out;
      out.access_key_id = stored.access_key_id;
      out.secret_access_key = secret;
      out.user_name = stored.user_name;
      out.active = true;
      out.created = stored.created;
      return out;
    });
  }

  // Reads and decrypts an access key and its user from storage.
  Result<std::shared_ptr<const Resolved>> LoadKey(std::string_view access_key_id) {
    std::string key = AccessKeyKey(access_key_id);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, GetOptional(key));
    if (!entry) return Fail(UnknownKey(access_key_id));
    COFFER_ASSIGN_OR_RETURN(StoredAccessKey stored, DecodeAccessKey(key, entry->value));
    COFFER_ASSIGN_OR_RETURN(keyring::Decrypted secret, keyring.Decrypt(key, stored.sealed_secret));
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> user_entry,
                            GetOptional(UserKey(stored.user_name)));
    if (!user_entry) return Fail(UnknownKey(access_key_id));
    COFFER_ASSIGN_OR_RETURN(User user, DecodeUser(user_entry->key, user_entry->value));
    auto resolved = std::make_shared<Resolved>();
    resolved->key.access_key_id = std::move(stored.access_key_id);
    resolved->key.secret_access_key = std::move(secret.plaintext);
    resolved->key.user_name = std::move(stored.user_name);
    resolved->key.active = stored.active;
    resolved->key.created = stored.created;
    resolved->user = std::move(user);
    return std::shared_ptr<const Resolved>(std::move(resolved));
  }

  // Reads and decrypts a session and checks its role still exists.
  Result<std::shared_ptr<const Resolved>> LoadSession(std::string_view access_key_id) {
    std::string key = SessionKey(access_key_id);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, GetOptional(key));
    if (!entry) return Fail(UnknownKey(access_key_id));
    COFFER_ASSIGN_OR_RETURN(StoredSession stored, DecodeSession(key, entry->value));
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> role_entry,
                            GetOptional(RoleKey(stored.role_name)));
    if (!role_entry) return Fail(UnknownKey(access_key_id));
    COFFER_ASSIGN_OR_RETURN(Role role, DecodeRole(role_entry->key, role_entry->value));
    if (role.role_id != stored.role_id) return Fail(UnknownKey(access_key_id));
    COFFER_ASSIGN_OR_RETURN(keyring::Decrypted secret,
                            keyring.Decrypt(key + "/secret", stored.sealed_secret));
    COFFER_ASSIGN_OR_RETURN(keyring::Decrypted token,
                            keyring.Decrypt(key + "/token", stored.sealed_token));
    auto resolved = std::make_shared<Resolved>();
    resolved->is_session = true;
    Session& s = resolved->session;
    s.access_key_id = stored.access_key_id;
    s.secret_access_key = std::move(secret.plaintext);
    s.session_token = std::move(token.plaintext);
    s.created = stored.created;
    s.expiration = stored.expiration;
    s.role_name = role.name;
    s.role_id = role.role_id;
    s.role_arn = role.arn;
    s.session_name = stored.session_name;
    s.assumed_role_arn = AssumedRoleArn(role.name, stored.session_name);
    s.assumed_role_id = role.role_id + ":" + stored.session_name;
    s.source_principal_arn = std::move(stored.source_principal_arn);
    s.source_provider = std::move(stored.source_provider);
    s.source_subject = std::move(stored.source_subject);
    s.source_identity = std::move(stored.source_identity);
    s.condition_keys = std::move(stored.condition_keys);
    resolved->key.access_key_id = s.access_key_id;
    resolved->key.secret_access_key = s.secret_access_key;
    resolved->key.active = true;
    resolved->key.created = s.created;
    resolved->user.user_id = s.assumed_role_id;
    resolved->user.arn = s.assumed_role_arn;
    resolved->user.path = role.path;
    resolved->user.created = s.created;
    return std::shared_ptr<const Resolved>(std::move(resolved));
  }

  std::string AssumedRoleArn(std::string_view role, std::string_view session) {
    return Cat({"arn:aws:sts::", account, ":assumed-role/", role, "/", session});
  }

  // Deletes up to `batch` long-expired sessions, continuing where the last call
  // stopped (wrapping around), or all of them when batch == 0.
  Result<size_t> Purge(size_t batch) {
    std::string start;
    {
      util::MutexLock lock(purge_mu);
      start = batch == 0 ? std::string(kSessionPrefix) : purge_cursor;
      if (start.empty()) start = std::string(kSessionPrefix);
    }
    COFFER_ASSIGN_OR_RETURN(storage::RangeResult range,
                            backend.Range(start, storage::PrefixEnd(kSessionPrefix), batch));
    {
      util::MutexLock lock(purge_mu);
      purge_cursor = range.more && !range.entries.empty() ? range.entries.back().key + '\0' : "";
    }
    util::SystemTime cutoff = clock.Now() - kExpiredSessionRetention;
    size_t purged = 0;
    for (const storage::Entry& e : range.entries) {
      auto stored = DecodeSession(e.key, e.value);
      if (stored.has_value() && stored->expiration > cutoff) continue;
      storage::Txn txn;
      Guard(txn, e);
      txn.writes.push_back(storage::Write::Delete(e.key));
      if (Commit(txn).has_value()) ++purged;
    }
    return purged;
  }

  // Appends the inline and attached policies of one entity.
  Status CollectPolicies(EntityKind kind, std::string_view entity, std::set<std::string>& seen,
                         std::vector<PolicyText>& out) {
    std::string inline_prefix = InlinePrefix(kind, entity);
    COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> inlines, Scan(inline_prefix));
    for (storage::Entry& e : inlines) {
      out.push_back(PolicyText{Cat({EntityKindName(kind), "/", entity, "/inline/",
                                    std::string_view(e.key).substr(inline_prefix.size())}),
                               std::move(e.value)});
    }
    COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> attached, Scan(AttachPrefix(kind, entity)));
    for (const storage::Entry& e : attached) {
      const std::string& arn = e.value;
      if (!seen.insert(arn).second) continue;
      auto policy = GetPolicyEntry(arn);
      if (!policy.has_value()) {
        if (policy.error().code == ErrorCode::kNotFound) continue;  // raced with a delete
        return Fail(std::move(policy).error());
      }
      const ManagedPolicy& p = policy->second.policy;
      for (const PolicyVersion& v : p.versions) {
        if (v.version_id == p.default_version_id) out.push_back(PolicyText{arn, v.document});
      }
    }
    return Ok();
  }
};

IdentityStore::IdentityStore(storage::Backend& backend, keyring::Keyring& keyring,
                             util::Clock& clock, util::IdGenerator& ids, std::string account_id)
    : account_id_(std::move(account_id)) {
  impl_ = std::make_unique<Impl>(backend, keyring, clock, ids, account_id_);
  Impl* impl = impl_.get();
  impl_->watch_id =
      backend.Watch([impl](const std::vector<storage::Event>& events) { impl->OnEvents(events); });
}

IdentityStore::~IdentityStore() { impl_->backend.Unwatch(impl_->watch_id); }

// ---------------------------------------------------------------- users

Result<User> IdentityStore::CreateUser(std::string_view name, bool is_admin) {
  NewUser spec;
  spec.name = std::string(name);
  spec.is_admin = is_admin;
  return CreateUser(spec);
}

Result<User> IdentityStore::CreateUser(const NewUser& spec) {
  if (!IsValidUserName(spec.name)) {
    return Fail(Invalid("user name must be 1-64 characters of [A-Za-z0-9+=,.@_-]"));
  }
  COFFER_RETURN_IF_ERROR(ValidatePath(spec.path));
  COFFER_RETURN_IF_ERROR(ValidateTags(spec.tags));
  User user;
  user.name = spec.name;
  user.user_id = RandomIdentifier("AIDA");
  user.path = spec.path;
  user.arn = "arn:aws:iam::" + account_id_ + ":user" + user.path + user.name;
  user.created = impl_->clock.Now();
  user.is_admin = spec.is_admin;
  user.tags = spec.tags;
  std::string key = UserKey(spec.name);
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{key, 0});
  txn.writes.push_back(storage::Write::Put(key, EncodeUser(user)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(AlreadyExists("User with name " + spec.name + " already exists."));
    }
    return Fail(std::move(committed).error());
  }
  return user;
}

Result<User> IdentityStore::GetUser(std::string_view name) {
  COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetEntity(EntityKind::kUser, name));
  return DecodeUser(entry.key, entry.value);
}

Result<std::vector<User>> IdentityStore::ListUsers(std::string_view path_prefix) {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(kUserPrefix));
  std::vector<User> out;
  for (const storage::Entry& e : entries) {
    COFFER_ASSIGN_OR_RETURN(User u, DecodeUser(e.key, e.value));
    if (u.path.starts_with(path_prefix)) out.push_back(std::move(u));
  }
  return out;
}

Status IdentityStore::DeleteUser(std::string_view name) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetEntity(EntityKind::kUser, name));
    COFFER_ASSIGN_OR_RETURN(bool keys, impl_->HasAny(UserKeysPrefix(name)));
    if (keys) return Fail(DeleteConflict("Cannot delete entity, must delete access keys first."));
    COFFER_ASSIGN_OR_RETURN(bool inlines, impl_->HasAny(InlinePrefix(EntityKind::kUser, name)));
    if (inlines) return Fail(DeleteConflict("Cannot delete entity, must delete policies first."));
    COFFER_ASSIGN_OR_RETURN(bool attached, impl_->HasAny(AttachPrefix(EntityKind::kUser, name)));
    if (attached) {
      return Fail(DeleteConflict("Cannot delete entity, must detach all policies first."));
    }
    COFFER_ASSIGN_OR_RETURN(bool groups, impl_->HasAny(UserGroupsPrefix(name)));
    if (groups) {
      return Fail(DeleteConflict("Cannot delete entity, must remove user from all groups first."));
    }
    storage::Txn txn;
    Guard(txn, entry);
    txn.writes.push_back(storage::Write::Delete(entry.key));
    return impl_->Commit(txn);
  });
}

// ---------------------------------------------------------------- access keys

Result<AccessKey> IdentityStore::CreateAccessKey(std::string_view user_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
  SecretBytes secret = RandomBase64Secret(30);  // 40 characters
  return impl_->StoreKey(user_name, RandomIdentifier("AKIA"), secret, kMaxAccessKeysPerUser);
}

Result<AccessKey> IdentityStore::ImportAccessKey(std::string_view user_name,
                                                 std::string_view access_key_id,
                                                 const SecretBytes& secret) {
  if (!IsValidAccessKeyId(access_key_id) || IsSessionKeyId(access_key_id)) {
    return Fail(Invalid("access key id must be 4-128 characters of [A-Z0-9], not ASIA..."));
  }
  if (secret.empty() || secret.size() > 128) {
    return Fail(Invalid("secret access key must be 1-128 bytes"));
  }
  return impl_->StoreKey(user_name, access_key_id, secret, 0);
}

Result<std::vector<AccessKey>> IdentityStore::ListAccessKeys(std::string_view user_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
  std::string prefix = UserKeysPrefix(user_name);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> index, impl_->Scan(prefix));
  std::vector<AccessKey> out;
  for (const storage::Entry& e : index) {
    std::string key = AccessKeyKey(std::string_view(e.key).substr(prefix.size()));
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
    if (!entry) continue;
    COFFER_ASSIGN_OR_RETURN(StoredAccessKey stored, DecodeAccessKey(key, entry->value));
    AccessKey k;
    k.access_key_id = std::move(stored.access_key_id);
    k.user_name = std::move(stored.user_name);
    k.active = stored.active;
    k.created = stored.created;
    out.push_back(std::move(k));
  }
  return out;
}

namespace {
Error NoSuchAccessKey(std::string_view id) {
  return NoSuchEntity("The Access Key with id " + std::string(id) + " cannot be found.");
}
}  // namespace

Status IdentityStore::UpdateAccessKey(std::string_view user_name, std::string_view access_key_id,
                                      bool active) {
  return impl_->Retry([&]() -> Status {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
    if (!IsValidAccessKeyId(access_key_id)) return Fail(NoSuchAccessKey(access_key_id));
    std::string key = AccessKeyKey(access_key_id);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
    if (!entry) return Fail(NoSuchAccessKey(access_key_id));
    COFFER_ASSIGN_OR_RETURN(StoredAccessKey stored, DecodeAccessKey(key, entry->value));
    if (stored.user_name != user_name) return Fail(NoSuchAccessKey(access_key_id));
    if (stored.active == active) return Ok();
    stored.active = active;
    storage::Txn txn;
    Guard(txn, *entry);
    txn.writes.push_back(storage::Write::Put(key, EncodeAccessKey(stored)));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::DeleteAccessKey(std::string_view user_name, std::string_view access_key_id) {
  return impl_->Retry([&]() -> Status {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
    if (!IsValidAccessKeyId(access_key_id)) return Fail(NoSuchAccessKey(access_key_id));
    std::string key = AccessKeyKey(access_key_id);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
    if (!entry) return Fail(NoSuchAccessKey(access_key_id));
    COFFER_ASSIGN_OR_RETURN(StoredAccessKey stored, DecodeAccessKey(key, entry->value));
    if (stored.user_name != user_name) return Fail(NoSuchAccessKey(access_key_id));
    storage::Txn txn;
    Guard(txn, *entry);
    txn.writes.push_back(storage::Write::Delete(key));
    txn.writes.push_back(
        storage::Write::Delete(UserKeysPrefix(user_name) + std::string(access_key_id)));
    return impl_->Commit(txn);
  });
}

Result<IdentityStore::Resolved> IdentityStore::LookupAccessKey(std::string_view access_key_id) {
  uint64_t generation;
  {
    util::ReaderLock lock(impl_->mu);
    auto it = impl_->cache.find(access_key_id);
    if (it != impl_->cache.end()) {
      if (!it->second->key.active) return Fail(UnknownKey(access_key_id));
      return *it->second;
    }
    generation = impl_->generation;
  }
  if (!IsValidAccessKeyId(access_key_id)) return Fail(UnknownKey(access_key_id));
  std::shared_ptr<const Resolved> resolved;
  if (IsSessionKeyId(access_key_id)) {
    COFFER_ASSIGN_OR_RETURN(resolved, impl_->LoadSession(access_key_id));
  } else {
    COFFER_ASSIGN_OR_RETURN(resolved, impl_->LoadKey(access_key_id));
  }
  {
    util::WriterLock lock(impl_->mu);
    if (impl_->generation == generation) impl_->cache[std::string(access_key_id)] = resolved;
  }
  if (!resolved->key.active) return Fail(UnknownKey(access_key_id));
  return *resolved;
}

// ---------------------------------------------------------------- groups

Result<Group> IdentityStore::CreateGroup(std::string_view name, std::string_view path) {
  if (!IsValidName(name, 128)) {
    return Fail(Invalid("group name must be 1-128 characters of [A-Za-z0-9+=,.@_-]"));
  }
  COFFER_RETURN_IF_ERROR(ValidatePath(path));
  Group g;
  g.name = std::string(name);
  g.group_id = RandomIdentifier("AGPA");
  g.path = std::string(path);
  g.arn = "arn:aws:iam::" + account_id_ + ":group" + g.path + g.name;
  g.created = impl_->clock.Now();
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{GroupKey(name), 0});
  txn.writes.push_back(storage::Write::Put(GroupKey(name), EncodeGroup(g)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(AlreadyExists("Group with name " + g.name + " already exists."));
    }
    return Fail(std::move(committed).error());
  }
  return g;
}

Result<Group> IdentityStore::GetGroup(std::string_view name) {
  COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetEntity(EntityKind::kGroup, name));
  return DecodeGroup(entry.key, entry.value);
}

Result<std::vector<User>> IdentityStore::ListGroupMembers(std::string_view group_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kGroup, group_name));
  std::string prefix = MembersPrefix(group_name);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> members, impl_->Scan(prefix));
  std::vector<User> out;
  for (const storage::Entry& e : members) {
    auto user = GetUser(std::string_view(e.key).substr(prefix.size()));
    if (!user.has_value()) {
      if (user.error().code == ErrorCode::kNotFound) continue;
      return Fail(std::move(user).error());
    }
    out.push_back(std::move(*user));
  }
  return out;
}

Result<std::vector<Group>> IdentityStore::ListGroups(std::string_view path_prefix) {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(kGroupPrefix));
  std::vector<Group> out;
  for (const storage::Entry& e : entries) {
    COFFER_ASSIGN_OR_RETURN(Group g, DecodeGroup(e.key, e.value));
    if (g.path.starts_with(path_prefix)) out.push_back(std::move(g));
  }
  return out;
}

Status IdentityStore::DeleteGroup(std::string_view name) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetEntity(EntityKind::kGroup, name));
    COFFER_ASSIGN_OR_RETURN(bool members, impl_->HasAny(MembersPrefix(name)));
    if (members) {
      return Fail(DeleteConflict("Cannot delete entity, must remove users from group first."));
    }
    COFFER_ASSIGN_OR_RETURN(bool inlines, impl_->HasAny(InlinePrefix(EntityKind::kGroup, name)));
    if (inlines) return Fail(DeleteConflict("Cannot delete entity, must delete policies first."));
    COFFER_ASSIGN_OR_RETURN(bool attached, impl_->HasAny(AttachPrefix(EntityKind::kGroup, name)));
    if (attached) {
      return Fail(DeleteConflict("Cannot delete entity, must detach all policies first."));
    }
    storage::Txn txn;
    Guard(txn, entry);
    txn.writes.push_back(storage::Write::Delete(entry.key));
    return impl_->Commit(txn);
  });
}

// ---------------------------------------------------------------- roles

Result<Role> IdentityStore::CreateRole(const NewRole& spec) {
  if (!IsValidName(spec.name, 64)) {
    return Fail(Invalid("role name must be 1-64 characters of [A-Za-z0-9+=,.@_-]"));
  }
  COFFER_RETURN_IF_ERROR(ValidatePath(spec.path));
  COFFER_RETURN_IF_ERROR(ValidateTags(spec.tags));
  if (spec.description.size() > 1000) {
    return Fail(Invalid("description must be at most 1000 characters"));
  }
  if (spec.max_session_duration < kMinRoleSessionSeconds ||
      spec.max_session_duration > kMaxRoleSessionSeconds) {
    return Fail(Invalid("MaxSessionDuration must be between 3600 and 43200 seconds"));
  }
  if (spec.assume_role_policy.empty()) return Fail(Invalid("the trust policy must not be empty"));
  Role role;
  role.name = spec.name;
  role.role_id = RandomIdentifier("AROA");
  role.path = spec.path;
  role.arn = "arn:aws:iam::" + account_id_ + ":role" + role.path + role.name;
  role.created = impl_->clock.Now();
  role.assume_role_policy = spec.assume_role_policy;
  role.description = spec.description;
  role.max_session_duration = spec.max_session_duration;
  role.tags = spec.tags;
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{RoleKey(spec.name), 0});
  txn.writes.push_back(storage::Write::Put(RoleKey(spec.name), EncodeRole(role)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(AlreadyExists("Role with name " + spec.name + " already exists."));
    }
    return Fail(std::move(committed).error());
  }
  return role;
}

Result<Role> IdentityStore::GetRole(std::string_view name) {
  COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetEntity(EntityKind::kRole, name));
  return DecodeRole(entry.key, entry.value);
}

Result<std::vector<Role>> IdentityStore::ListRoles(std::string_view path_prefix) {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(kRolePrefix));
  std::vector<Role> out;
  for (const storage::Entry& e : entries) {
    COFFER_ASSIGN_OR_RETURN(Role r, DecodeRole(e.key, e.value));
    if (r.path.starts_with(path_prefix)) out.push_back(std::move(r));
  }
  return out;
}

Status IdentityStore::DeleteRole(std::string_view name) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetEntity(EntityKind::kRole, name));
    COFFER_ASSIGN_OR_RETURN(bool inlines, impl_->HasAny(InlinePrefix(EntityKind::kRole, name)));
    if (inlines) return Fail(DeleteConflict("Cannot delete entity, must delete policies first."));
    COFFER_ASSIGN_OR_RETURN(bool attached, impl_->HasAny(AttachPrefix(EntityKind::kRole, name)));
    if (attached) {
      return Fail(DeleteConflict("Cannot delete entity, must detach all policies first."));
    }
    COFFER_ASSIGN_OR_RETURN(bool in_profile, impl_->HasAny(ProfileRolePrefix(name)));
    if (in_profile) {
      return Fail(DeleteConflict("Cannot delete entity, must remove roles from instance profile "
                                 "first."));
    }
    storage::Txn txn;
    Guard(txn, entry);
    txn.writes.push_back(storage::Write::Delete(entry.key));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::UpdateAssumeRolePolicy(std::string_view name, std::string_view document) {
  if (document.empty()) return Fail(Invalid("the trust policy must not be empty"));
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetEntity(EntityKind::kRole, name));
    COFFER_ASSIGN_OR_RETURN(Role role, DecodeRole(entry.key, entry.value));
    role.assume_role_policy = std::string(document);
    storage::Txn txn;
    Guard(txn, entry);
    txn.writes.push_back(storage::Write::Put(entry.key, EncodeRole(role)));
    return impl_->Commit(txn);
  });
}

// ---------------------------------------------------------------- instance profiles

namespace {

Error NoSuchProfile(std::string_view name) {
  return NoSuchEntity("Instance Profile " + std::string(name) + " cannot be found.");
}

}  // namespace

Result<InstanceProfile> IdentityStore::CreateInstanceProfile(std::string_view name,
                                                             std::string_view path,
                                                             const std::vector<Tag>& tags) {
  if (!IsValidName(name, 128)) {
    return Fail(Invalid("instance profile name must be 1-128 characters of [A-Za-z0-9+=,.@_-]"));
  }
  COFFER_RETURN_IF_ERROR(ValidatePath(path));
  COFFER_RETURN_IF_ERROR(ValidateTags(tags));
  StoredProfile stored;
  InstanceProfile& p = stored.profile;
  p.name = std::string(name);
  p.instance_profile_id = RandomIdentifier("AIPA");
  p.path = std::string(path);
  p.arn = "arn:aws:iam::" + account_id_ + ":instance-profile" + p.path + p.name;
  p.created = impl_->clock.Now();
  p.tags = tags;
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{ProfileKey(name), 0});
  txn.writes.push_back(storage::Write::Put(ProfileKey(name), EncodeProfile(stored)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(AlreadyExists("Instance Profile " + p.name + " already exists."));
    }
    return Fail(std::move(committed).error());
  }
  return p;
}

namespace {

// The stored profile `name` (kNotFound (kNoSuchEntity) when there is none).
Result<std::pair<storage::Entry, StoredProfile>> GetProfileEntry(
    const std::function<Result<std::optional<storage::Entry>>(std::string_view)>& get,
    std::string_view name) {
  if (!IsValidName(name, 128)) return Fail(NoSuchProfile(name));
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, get(ProfileKey(name)));
  if (!entry) return Fail(NoSuchProfile(name));
  COFFER_ASSIGN_OR_RETURN(StoredProfile stored, DecodeProfile(entry->key, entry->value));
  return std::make_pair(std::move(*entry), std::move(stored));
}

}  // namespace

Result<InstanceProfile> IdentityStore::GetInstanceProfile(std::string_view name) {
  auto get = [&](std::string_view key) { return impl_->GetOptional(key); };
  COFFER_ASSIGN_OR_RETURN(auto found, GetProfileEntry(get, name));
  InstanceProfile out = std::move(found.second.profile);
  for (const std::string& role : found.second.role_names) {
    auto r = GetRole(role);
    if (r.has_value()) out.roles.push_back(std::move(*r));
  }
  return out;
}

Result<std::vector<InstanceProfile>> IdentityStore::ListInstanceProfiles(
    std::string_view path_prefix) {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(kProfilePrefix));
  std::vector<InstanceProfile> out;
  for (const storage::Entry& e : entries) {
    COFFER_ASSIGN_OR_RETURN(StoredProfile stored, DecodeProfile(e.key, e.value));
    if (!stored.profile.path.starts_with(path_prefix)) continue;
    for (const std::string& role : stored.role_names) {
      auto r = GetRole(role);
      if (r.has_value()) stored.profile.roles.push_back(std::move(*r));
    }
    out.push_back(std::move(stored.profile));
  }
  return out;
}

Result<std::vector<InstanceProfile>> IdentityStore::ListInstanceProfilesForRole(
    std::string_view role_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kRole, role_name));
  std::string prefix = ProfileRolePrefix(role_name);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> index, impl_->Scan(prefix));
  std::vector<InstanceProfile> out;
  for (const storage::Entry& e : index) {
    auto profile = GetInstanceProfile(std::string_view(e.key).substr(prefix.size()));
    if (profile.has_value()) {
      out.push_back(std::move(*profile));
    } else if (profile.error().code != ErrorCode::kNotFound) {
      return Fail(std::move(profile).error());
    }
  }
  return out;
}

Status IdentityStore::DeleteInstanceProfile(std::string_view name) {
  auto get = [&](std::string_view key) { return impl_->GetOptional(key); };
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, GetProfileEntry(get, name));
    if (!found.second.role_names.empty()) {
      return Fail(DeleteConflict("Cannot delete entity, must remove roles from instance profile "
                                 "first."));
    }
    storage::Txn txn;
    Guard(txn, found.first);
    txn.writes.push_back(storage::Write::Delete(found.first.key));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::AddRoleToInstanceProfile(std::string_view profile_name,
                                               std::string_view role_name) {
  auto get = [&](std::string_view key) { return impl_->GetOptional(key); };
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, GetProfileEntry(get, profile_name));
    COFFER_ASSIGN_OR_RETURN(storage::Entry role, impl_->GetEntity(EntityKind::kRole, role_name));
    StoredProfile& stored = found.second;
    if (stored.role_names.size() >= kMaxRolesPerInstanceProfile) {
      return Fail(LimitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"));
    }
    stored.role_names.emplace_back(role_name);
    storage::Txn txn;
    Guard(txn, found.first);
    Touch(txn, role);  // a DeleteRole that saw no profile then fails its compare
    txn.writes.push_back(storage::Write::Put(found.first.key, EncodeProfile(stored)));
    txn.writes.push_back(
        storage::Write::Put(ProfileRolePrefix(role_name) + std::string(profile_name), ""));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::RemoveRoleFromInstanceProfile(std::string_view profile_name,
                                                    std::string_view role_name) {
  auto get = [&](std::string_view key) { return impl_->GetOptional(key); };
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, GetProfileEntry(get, profile_name));
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kRole, role_name));
    StoredProfile& stored = found.second;
    auto it = std::find(stored.role_names.begin(), stored.role_names.end(), role_name);
    if (it == stored.role_names.end()) {
      return Fail(NoSuchEntity("The role with name " + std::string(role_name) +
                               " cannot be found in instance profile " +
                               std::string(profile_name) + "."));
    }
    stored.role_names.erase(it);
    storage::Txn txn;
    Guard(txn, found.first);
    txn.writes.push_back(storage::Write::Put(found.first.key, EncodeProfile(stored)));
    txn.writes.push_back(
        storage::Write::Delete(ProfileRolePrefix(role_name) + std::string(profile_name)));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::AddUserToGroup(std::string_view group_name, std::string_view user_name) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry group, impl_->GetEntity(EntityKind::kGroup, group_name));
    COFFER_ASSIGN_OR_RETURN(storage::Entry user, impl_->GetEntity(EntityKind::kUser, user_name));
    std::string member = MembersPrefix(group_name) + std::string(user_name);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> existing, impl_->GetOptional(member));
    if (existing) return Ok();
    storage::Txn txn;
    Touch(txn, group);
    Touch(txn, user);
    txn.writes.push_back(storage::Write::Put(member, ""));
    txn.writes.push_back(
        storage::Write::Put(UserGroupsPrefix(user_name) + std::string(group_name), ""));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::RemoveUserFromGroup(std::string_view group_name, std::string_view user_name) {
  return impl_->Retry([&]() -> Status {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kGroup, group_name));
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
    std::string member = MembersPrefix(group_name) + std::string(user_name);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> existing, impl_->GetOptional(member));
    if (!existing) {
      return Fail(NoSuchEntity("The user with name " + std::string(user_name) +
                               " is not a member of group " + std::string(group_name) + "."));
    }
    storage::Txn txn;
    Guard(txn, *existing);
    txn.writes.push_back(storage::Write::Delete(member));
    txn.writes.push_back(
        storage::Write::Delete(UserGroupsPrefix(user_name) + std::string(group_name)));
    return impl_->Commit(txn);
  });
}

Result<std::vector<Group>> IdentityStore::ListGroupsForUser(std::string_view user_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
  std::string prefix = UserGroupsPrefix(user_name);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> groups, impl_->Scan(prefix));
  std::vector<Group> out;
  for (const storage::Entry& e : groups) {
    auto g = GetGroup(std::string_view(e.key).substr(prefix.size()));
    if (!g.has_value()) {
      if (g.error().code == ErrorCode::kNotFound) continue;
      return Fail(std::move(g).error());
    }
    out.push_back(std::move(*g));
  }
  return out;
}

// ---------------------------------------------------------------- managed policies

Result<ManagedPolicy> IdentityStore::CreatePolicy(const NewPolicy& spec) {
  if (!IsValidName(spec.name, 128)) {
    return Fail(Invalid("policy name must be 1-128 characters of [A-Za-z0-9+=,.@_-]"));
  }
  COFFER_RETURN_IF_ERROR(ValidatePath(spec.path));
  COFFER_RETURN_IF_ERROR(ValidateTags(spec.tags));
  if (spec.description.size() > 1000) {
    return Fail(Invalid("description must be at most 1000 characters"));
  }
  if (spec.document.empty()) return Fail(Invalid("the policy document must not be empty"));
  StoredPolicy stored;
  ManagedPolicy& p = stored.policy;
  p.name = spec.name;
  p.policy_id = RandomIdentifier("ANPA");
  p.path = spec.path;
  p.arn = "arn:aws:iam::" + account_id_ + ":policy" + p.path + p.name;
  p.description = spec.description;
  p.default_version_id = "v1";
  p.created = p.updated = impl_->clock.Now();
  p.tags = spec.tags;
  p.versions.push_back(PolicyVersion{"v1", spec.document, true, p.created});
  stored.next_version = 2;
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{PolicyKey(p.name), 0});
  txn.writes.push_back(storage::Write::Put(PolicyKey(p.name), EncodePolicy(stored)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(AlreadyExists("A policy called " + p.name +
                                " already exists. Duplicate names are not allowed."));
    }
    return Fail(std::move(committed).error());
  }
  return p;
}

Result<ManagedPolicy> IdentityStore::GetPolicy(std::string_view arn) {
  COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> attached,
                          impl_->Scan(AttachedPrefix(found.second.policy.name)));
  found.second.policy.attachment_count = attached.size();
  return std::move(found.second.policy);
}

namespace {
Error NoSuchVersion(std::string_view arn, std::string_view version_id) {
  return NoSuchEntity("Policy " + std::string(arn) + " version " + std::string(version_id) +
                      " does not exist or is not attachable.");
}
}  // namespace

Result<PolicyVersion> IdentityStore::GetPolicyVersion(std::string_view arn,
                                                      std::string_view version_id) {
  COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
  for (PolicyVersion& v : found.second.policy.versions) {
    if (v.version_id == version_id) return std::move(v);
  }
  return Fail(NoSuchVersion(arn, version_id));
}

Result<PolicyVersion> IdentityStore::CreatePolicyVersion(std::string_view arn,
                                                         std::string_view document,
                                                         bool set_as_default) {
  if (document.empty()) return Fail(Invalid("the policy document must not be empty"));
  return impl_->Retry([&]() -> Result<PolicyVersion> {
    COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
    StoredPolicy& stored = found.second;
    ManagedPolicy& p = stored.policy;
    if (p.versions.size() >= kMaxPolicyVersions) {
      return Fail(LimitExceeded(
          "A managed policy can have up to 5 versions. Before you create a new version, you must "
          "delete an existing version."));
    }
    PolicyVersion v;
    v.version_id = "v" + std::to_string(stored.next_version++);
    v.document = std::string(document);
    v.created = impl_->clock.Now();
    v.is_default = set_as_default;
    p.versions.push_back(v);
    if (set_as_default) p.default_version_id = v.version_id;
    p.updated = v.created;
    storage::Txn txn;
    Guard(txn, found.first);
    txn.writes.push_back(storage::Write::Put(found.first.key, EncodePolicy(stored)));
    COFFER_RETURN_IF_ERROR(impl_->Commit(txn));
    return v;
  });
}

Status IdentityStore::DeletePolicyVersion(std::string_view arn, std::string_view version_id) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
    ManagedPolicy& p = found.second.policy;
    auto it = std::find_if(p.versions.begin(), p.versions.end(),
                           [&](const PolicyVersion& v) { return v.version_id == version_id; });
    if (it == p.versions.end()) return Fail(NoSuchVersion(arn, version_id));
    if (it->version_id == p.default_version_id) {
      return Fail(DeleteConflict("Cannot delete the default version of a policy."));
    }
    p.versions.erase(it);
    storage::Txn txn;
    Guard(txn, found.first);
    txn.writes.push_back(storage::Write::Put(found.first.key, EncodePolicy(found.second)));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::SetDefaultPolicyVersion(std::string_view arn, std::string_view version_id) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
    ManagedPolicy& p = found.second.policy;
    bool exists = std::any_of(p.versions.begin(), p.versions.end(),
                              [&](const PolicyVersion& v) { return v.version_id == version_id; });
    if (!exists) return Fail(NoSuchVersion(arn, version_id));
    p.default_version_id = std::string(version_id);
    p.updated = impl_->clock.Now();
    storage::Txn txn;
    Guard(txn, found.first);
    txn.writes.push_back(storage::Write::Put(found.first.key, EncodePolicy(found.second)));
    return impl_->Commit(txn);
  });
}

Result<std::vector<ManagedPolicy>> IdentityStore::ListPolicies(std::string_view path_prefix,
                                                               bool only_attached) {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> attached, impl_->Scan(kAttachedPrefix));
  std::map<std::string, size_t, std::less<>> counts;
  for (const storage::Entry& e : attached) {
    std::string_view rest = std::string_view(e.key).substr(kAttachedPrefix.size());
    ++counts[std::string(rest.substr(0, rest.find('/')))];
  }
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(kPolicyPrefix));
  std::vector<ManagedPolicy> out;
  for (const storage::Entry& e : entries) {
    COFFER_ASSIGN_OR_RETURN(StoredPolicy s, DecodePolicy(e.key, e.value));
    auto it = counts.find(s.policy.name);
    s.policy.attachment_count = it == counts.end() ? 0 : it->second;
    if (!s.policy.path.starts_with(path_prefix)) continue;
    if (only_attached && s.policy.attachment_count == 0) continue;
    out.push_back(std::move(s.policy));
  }
  return out;
}

Status IdentityStore::DeletePolicy(std::string_view arn) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
    COFFER_ASSIGN_OR_RETURN(bool attached, impl_->HasAny(AttachedPrefix(found.second.policy.name)));
    if (attached) return Fail(DeleteConflict("Cannot delete a policy attached to entities."));
    storage::Txn txn;
    Guard(txn, found.first);
    txn.writes.push_back(storage::Write::Delete(found.first.key));
    return impl_->Commit(txn);
  });
}

Result<size_t> IdentityStore::AttachmentCount(std::string_view arn) {
  COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> attached,
                          impl_->Scan(AttachedPrefix(found.second.policy.name)));
  return attached.size();
}

// ---------------------------------------------------------------- attachments, inline

Status IdentityStore::AttachPolicy(EntityKind kind, std::string_view entity,
                                   std::string_view policy_arn) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry owner, impl_->GetEntity(kind, entity));
    COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(policy_arn));
    const std::string& policy_name = found.second.policy.name;
    std::string prefix = AttachPrefix(kind, entity);
    std::string attach_key = prefix + policy_name;
    COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> current, impl_->Scan(prefix));
    for (const storage::Entry& e : current) {
      if (e.key == attach_key) return Ok();
    }
    if (current.size() >= kMaxAttachedPoliciesPerEntity) {
      return Fail(LimitExceeded("Cannot exceed quota for PoliciesPer" +
                                std::string(kind == EntityKind::kUser    ? "User"
                                            : kind == EntityKind::kGroup ? "Group"
                                                                         : "Role") +
                                ": " + std::to_string(kMaxAttachedPoliciesPerEntity)));
    }
    storage::Txn txn;
    Touch(txn, owner);
    Touch(txn, found.first);
    txn.writes.push_back(storage::Write::Put(attach_key, std::string(policy_arn)));
    txn.writes.push_back(storage::Write::Put(
        Cat({AttachedPrefix(policy_name), EntityKindName(kind), "/", entity}), ""));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::DetachPolicy(EntityKind kind, std::string_view entity,
                                   std::string_view policy_arn) {
  return impl_->Retry([&]() -> Status {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(kind, entity));
    COFFER_ASSIGN_OR_RETURN(std::string policy_name, impl_->PolicyNameFromArn(policy_arn));
    std::string attach_key = AttachPrefix(kind, entity) + policy_name;
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> existing, impl_->GetOptional(attach_key));
    if (!existing || existing->value != policy_arn) {
      return Fail(NoSuchEntity("Policy " + std::string(policy_arn) + " was not found."));
    }
    storage::Txn txn;
    Guard(txn, *existing);
    txn.writes.push_back(storage::Write::Delete(attach_key));
    txn.writes.push_back(storage::Write::Delete(
        Cat({AttachedPrefix(policy_name), EntityKindName(kind), "/", entity})));
    return impl_->Commit(txn);
  });
}

Result<std::vector<AttachedPolicy>> IdentityStore::ListAttachedPolicies(EntityKind kind,
                                                                        std::string_view entity) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(kind, entity));
  std::string prefix = AttachPrefix(kind, entity);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(prefix));
  std::vector<AttachedPolicy> out;
  for (storage::Entry& e : entries) {
    out.push_back(AttachedPolicy{std::string(std::string_view(e.key).substr(prefix.size())),
                                 std::move(e.value)});
  }
  return out;
}

namespace {
Error NoSuchInline(EntityKind kind, std::string_view policy_name) {
  return NoSuchEntity("The " + std::string(EntityKindName(kind)) + " policy with name " +
                      std::string(policy_name) + " cannot be found.");
}
}  // namespace

Status IdentityStore::PutInlinePolicy(EntityKind kind, std::string_view entity,
                                      std::string_view policy_name, std::string_view document) {
  if (!IsValidName(policy_name, 128)) {
    return Fail(Invalid("policy name must be 1-128 characters of [A-Za-z0-9+=,.@_-]"));
  }
  if (document.empty()) return Fail(Invalid("the policy document must not be empty"));
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry owner, impl_->GetEntity(kind, entity));
    storage::Txn txn;
    Touch(txn, owner);
    txn.writes.push_back(storage::Write::Put(InlinePrefix(kind, entity) + std::string(policy_name),
                                             std::string(document)));
    return impl_->Commit(txn);
  });
}

Result<std::string> IdentityStore::GetInlinePolicy(EntityKind kind, std::string_view entity,
                                                   std::string_view policy_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(kind, entity));
  if (!IsValidName(policy_name, 128)) return Fail(NoSuchInline(kind, policy_name));
  COFFER_ASSIGN_OR_RETURN(
      std::optional<storage::Entry> entry,
      impl_->GetOptional(InlinePrefix(kind, entity) + std::string(policy_name)));
  if (!entry) return Fail(NoSuchInline(kind, policy_name));
  return std::move(entry->value);
}

Status IdentityStore::DeleteInlinePolicy(EntityKind kind, std::string_view entity,
                                         std::string_view policy_name) {
  return impl_->Retry([&]() -> Status {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(kind, entity));
    if (!IsValidName(policy_name, 128)) return Fail(NoSuchInline(kind, policy_name));
    std::string key = InlinePrefix(kind, entity) + std::string(policy_name);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
    if (!entry) return Fail(NoSuchInline(kind, policy_name));
    storage::Txn txn;
    Guard(txn, *entry);
    txn.writes.push_back(storage::Write::Delete(key));
    return impl_->Commit(txn);
  });
}

Result<std::vector<std::string>> IdentityStore::ListInlinePolicies(EntityKind kind,
                                                                   std::string_view entity) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(kind, entity));
  std::string prefix = InlinePrefix(kind, entity);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(prefix));
  std::vector<std::string> out;
  for (const storage::Entry& e : entries) {
    out.emplace_back(std::string_view(e.key).substr(prefix.size()));
  }
  return out;
}

// ---------------------------------------------------------------- OIDC providers

namespace {

// "https://host/path/" -> "host/path"; nullopt when not an https URL.
std::optional<std::string> UrlWithoutScheme(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), url.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty() || rest.front() == '/') return std::nullopt;
  for (char c : rest) {
    if (c <= 0x20 || c >= 0x7F || c == '?' || c == '#') return std::nullopt;
  }
  return std::string(rest);
}

}  // namespace

Result<OidcProvider> IdentityStore::CreateOidcProvider(const std::string_view url,
                                                       const std::vector<std::string>& client_ids,
                                                       const std::vector<std::string>& thumbprints,
                                                       const std::vector<Tag>& tags) {
  std::optional<std::string> host = UrlWithoutScheme(url);
  if (url.size() > 255 || !host) {
    return Fail(Invalid("Url must be an https URL of at most 255 characters"));
  }
  if (thumbprints.size() > kMaxOidcThumbprints) {
    return Fail(Invalid("ThumbprintList may hold at most 5 thumbprints"));
  }
  for (const std::string& t : thumbprints) {
    if (!IsHex40(t)) return Fail(Invalid("thumbprints must be 40 hexadecimal characters"));
  }
  if (client_ids.size() > kMaxOidcClientIds) {
    return Fail(Invalid("ClientIDList may hold at most 100 client ids"));
  }
  for (const std::string& c : client_ids) {
    if (c.empty() || c.size() > 255) return Fail(Invalid("client ids must be 1-255 characters"));
  }
  COFFER_RETURN_IF_ERROR(ValidateTags(tags));
  OidcProvider p;
  p.url = "https://" + *host;
  p.arn = "arn:aws:iam::" + account_id_ + ":oidc-provider/" + *host;
  p.client_ids = client_ids;
  p.thumbprints = thumbprints;
  p.created = impl_->clock.Now();
  p.tags = tags;
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{OidcKey(*host), 0});
  txn.writes.push_back(storage::Write::Put(OidcKey(*host), EncodeOidc(p)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(AlreadyExists("Provider with url " + p.url + " already exists."));
    }
    return Fail(std::move(committed).error());
  }
  return p;
}

namespace {
Error NoSuchProvider(std::string_view what) {
  return NoSuchEntity("OpenIDConnect Provider not found for arn " + std::string(what));
}
}  // namespace

Result<OidcProvider> IdentityStore::GetOidcProvider(std::string_view arn) {
  std::string prefix = "arn:aws:iam::" + account_id_ + ":oidc-provider/";
  if (!arn.starts_with(prefix) || arn.size() == prefix.size()) return Fail(NoSuchProvider(arn));
  std::string key = OidcKey(arn.substr(prefix.size()));
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
  if (!entry) return Fail(NoSuchProvider(arn));
  return DecodeOidc(entry->key, entry->value);
}

Result<OidcProvider> IdentityStore::GetOidcProviderForIssuer(std::string_view issuer) {
  std::optional<std::string> host = UrlWithoutScheme(issuer);
  if (!host) {
    return Fail(NoSuchEntity("No OpenIDConnect provider found for issuer " + std::string(issuer)));
  }
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(OidcKey(*host)));
  if (!entry) {
    return Fail(NoSuchEntity("No OpenIDConnect provider found for issuer " + std::string(issuer)));
  }
  return DecodeOidc(entry->key, entry->value);
}

Result<std::vector<OidcProvider>> IdentityStore::ListOidcProviders() {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(kOidcPrefix));
  std::vector<OidcProvider> out;
  for (const storage::Entry& e : entries) {
    COFFER_ASSIGN_OR_RETURN(OidcProvider p, DecodeOidc(e.key, e.value));
    out.push_back(std::move(p));
  }
  return out;
}

Status IdentityStore::DeleteOidcProvider(std::string_view arn) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(OidcProvider p, GetOidcProvider(arn));
    std::string key = OidcKey(std::string_view(p.url).substr(8));
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
    if (!entry) return Fail(NoSuchProvider(arn));
    storage::Txn txn;
    Guard(txn, *entry);
    txn.writes.push_back(storage::Write::Delete(key));
    return impl_->Commit(txn);
  });
}

// ---------------------------------------------------------------- sessions

Result<Session> IdentityStore::CreateSession(
    std::string_view role_name, std::string_view session_name, std::chrono::seconds duration,
    const SessionSource& source,
    std::map<std::string, std::vector<std::string>, std::less<>> condition_keys) {
  if (session_name.size() < 2 || !IsValidName(session_name, 64)) {
    return Fail(Invalid("RoleSessionName must be 2-64 characters of [\\w+=,.@-]"));
  }
  COFFER_ASSIGN_OR_RETURN(storage::Entry role_entry,
                          impl_->GetEntity(EntityKind::kRole, role_name));
  COFFER_ASSIGN_OR_RETURN(Role role, DecodeRole(role_entry.key, role_entry.value));
  if (duration.count() < kMinSessionDurationSeconds ||
      duration.count() > role.max_session_duration) {
    return Fail(
        Invalid("The requested DurationSeconds exceeds the MaxSessionDuration set for "
                "this role, or is below 900 seconds."));
  }
  COFFER_RETURN_IF_ERROR(impl_->EnsureIdentityKey());
  Session s;
  s.access_key_id = RandomIdentifier("ASIA");
  s.secret_access_key = RandomBase64Secret(30);  // 40 characters
  s.session_token = RandomBase64Secret(96);      // 128 characters
  s.created = impl_->clock.Now();
  s.expiration = s.created + duration;
  s.role_name = role.name;
  s.role_id = role.role_id;
  s.role_arn = role.arn;
  s.session_name = std::string(session_name);
  s.assumed_role_arn = impl_->AssumedRoleArn(role.name, session_name);
  s.assumed_role_id = role.role_id + ":" + s.session_name;
  s.source_principal_arn = source.principal_arn;
  s.source_provider = source.provider;
  s.source_subject = source.subject;
  s.source_identity = source.source_identity;
  s.condition_keys = std::move(condition_keys);

  std::string key = SessionKey(s.access_key_id);
  StoredSession stored;
  stored.access_key_id = s.access_key_id;
  stored.role_name = s.role_name;
  stored.role_id = s.role_id;
  stored.session_name = s.session_name;
  COFFER_ASSIGN_OR_RETURN(
      stored.sealed_secret,
      impl_->keyring.Encrypt(kIdentityKeyId, key + "/secret", s.secret_access_key.Reveal()));
  COFFER_ASSIGN_OR_RETURN(
      stored.sealed_token,
      impl_->keyring.Encrypt(kIdentityKeyId, key + "/token", s.session_token.Reveal()));
  stored.created = s.created;
  stored.expiration = s.expiration;
  stored.source_principal_arn = s.source_principal_arn;
  stored.source_provider = s.source_provider;
  stored.source_subject = s.source_subject;
  stored.source_identity = s.source_identity;
  stored.condition_keys = s.condition_keys;
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{key, 0});
  Guard(txn, role_entry);
  txn.writes.push_back(storage::Write::Put(key, EncodeSession(stored)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(ErrorCode::kAborted, "the role changed while the session was created",
                  Reason::kCasConflict);
    }
    return Fail(std::move(committed).error());
  }
  IgnoreError(impl_->Purge(kPurgeBatch),
              "best effort: expired sessions are purged again by the next one created");
  return s;
}

Result<size_t> IdentityStore::PurgeExpiredSessions() { return impl_->Purge(0); }

// ---------------------------------------------------------------- authorizer

Result<std::shared_ptr<const PrincipalPolicies>> IdentityStore::PoliciesFor(
    const Resolved& caller) {
  std::string principal =
      caller.is_session ? "role/" + caller.session.role_name : "user/" + caller.user.name;
  uint64_t generation;
  {
    util::ReaderLock lock(impl_->mu);
    auto it = impl_->policies.find(principal);
    if (it != impl_->policies.end()) return it->second;
    generation = impl_->policy_generation;
  }
  auto out = std::make_shared<PrincipalPolicies>();
  out->principal = principal;
  out->generation = generation;
  std::set<std::string> seen;
  if (caller.is_session) {
    COFFER_ASSIGN_OR_RETURN(Role role, GetRole(caller.session.role_name));
    if (role.role_id != caller.session.role_id) {
      return Fail(NoSuch(EntityKind::kRole, caller.session.role_name));
    }
    COFFER_RETURN_IF_ERROR(
        impl_->CollectPolicies(EntityKind::kRole, role.name, seen, out->policies));
  } else {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, caller.user.name));
    COFFER_RETURN_IF_ERROR(
        impl_->CollectPolicies(EntityKind::kUser, caller.user.name, seen, out->policies));
    std::string prefix = UserGroupsPrefix(caller.user.name);
    COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> groups, impl_->Scan(prefix));
    for (const storage::Entry& g : groups) {
      COFFER_RETURN_IF_ERROR(impl_->CollectPolicies(
          EntityKind::kGroup, std::string_view(g.key).substr(prefix.size()), seen, out->policies));
    }
  }
  std::shared_ptr<const PrincipalPolicies> result = std::move(out);
  {
    util::WriterLock lock(impl_->mu);
    if (impl_->policy_generation == generation) impl_->policies[principal] = result;
  }
  return result;
}

uint64_t IdentityStore::generation() const {
  util::ReaderLock lock(impl_->mu);
  return impl_->policy_generation;
}

}  // namespace coffer::domain::iam
