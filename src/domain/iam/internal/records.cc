#include "domain/iam/internal/records.h"

#include <utility>

namespace coffer::domain::iam::internal {
namespace {

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
}  // namespace

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
std::string ProfileRolePrefix(std::string_view role) {
  return Cat({kProfileRolePrefix, role, "/"});
}
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

}  // namespace coffer::domain::iam::internal
