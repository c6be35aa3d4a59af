#include "domain/iam/internal/records.h"

#include <utility>

#include "domain/record.h"

namespace coffer::domain::iam::internal {
namespace {

// Every record starts with its format number (persisted: never reuse one),
// then its fields in a fixed order. Format 1 (and format 2 of a user) is the
// layout of the first releases: strings as u32 little-endian length + bytes,
// counts as u32, times as i64 little-endian Unix milliseconds, flags as one
// byte. The current format writes the same fields in the same order with the
// shared codec (domain/record.h): varint lengths and counts, zigzag varint
// milliseconds, bools. Both start with the format number as one byte (a
// varint below 128), so a reader tells them apart by it; a number above the
// current one is a record of a newer release and is refused, not misread.
//   user:       name, user_id, arn, path, created, is_admin, tags (not in format 1)
//   access key: access_key_id, user_name, sealed_secret, active, created
//   group:      name, group_id, arn, path, created
//   role:       name, role_id, arn, path, created, trust policy, description,
//               max_session_duration, tags
//   policy:     name, policy_id, arn, path, description, default_version_id,
//               created, updated, next_version, tags,
//               versions: count + (version_id, document, created)
//   instance profile: name, instance_profile_id, arn, path, created,
//               role names (count + strings), tags
//   oidc:       url, arn, client_ids (count + strings), thumbprints, created, tags
//   session:    access_key_id, role_name, role_id, session_name, sealed_secret,
//               sealed_token, created, expiration, source_principal_arn,
//               source_provider, source_subject, source_identity,
//               condition keys: count + (key, count + values)
// Tags are count + (key, value) strings, in the order given.
constexpr uint64_t kLegacyFormat = 1;      // every record of the first releases
constexpr uint64_t kLegacyUserFormat = 2;  // a user with tags, first releases
constexpr uint64_t kUserFormat = 3;
constexpr uint64_t kFormat = 2;  // every other record

// Reads the fields of a format 1 record (after its format byte). Errors are
// sticky: a failed read sets !good() and returns an empty value.
class LegacyReader {
 public:
  explicit LegacyReader(std::string_view in) : in_(in) {}
  std::string String() {
    uint64_t n = Fixed(4);
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
    uint64_t n = Fixed(4);
    if (n > in_.size()) {
      ok_ = false;
      return 0;
    }
    return static_cast<size_t>(n);
  }
  util::SystemTime Time() { return util::FromUnixMillis(static_cast<int64_t>(Fixed(8))); }
  bool Flag() {
    if (in_.empty()) {
      ok_ = false;
      return false;
    }
    char c = in_[0];
    in_.remove_prefix(1);
    return c != 0;
  }
  uint32_t U32() { return static_cast<uint32_t>(Fixed(4)); }
  bool good() const { return ok_; }
  bool ok() const { return ok_ && in_.empty(); }

 private:
  uint64_t Fixed(int bytes) {
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

// Reads the fields of a current-format record with domain::RecordReader, with
// LegacyReader's interface (sticky errors), so that one decoder per record
// reads both formats.
class FieldReader {
 public:
  explicit FieldReader(domain::RecordReader& r) : r_(r) {}
  std::string String() { return Take(r_.String()); }
  size_t Count() {
    uint64_t n = Take(r_.Varint());
    return static_cast<size_t>(n);
  }
  util::SystemTime Time() { return util::FromUnixMillis(Take(r_.SignedVarint())); }
  bool Flag() { return Take(r_.Bool()); }
  uint32_t U32() {
    uint64_t n = Take(r_.Varint());
    if (n > UINT32_MAX) ok_ = false;
    return static_cast<uint32_t>(n);
  }
  bool good() const { return ok_; }
  bool ok() const { return ok_ && r_.AtEnd(); }

 private:
  template <class T>
  T Take(Result<T> r) {
    if (!ok_ || !r.has_value()) {
      ok_ = false;
      return T{};
    }
    return std::move(*r);
  }
  domain::RecordReader& r_;
  bool ok_ = true;
};

// Writes the current format.
class FieldWriter {
 public:
  explicit FieldWriter(uint64_t format) { w_.PutVarint(format); }
  void String(std::string_view s) { w_.PutString(s); }
  void Count(size_t n) { w_.PutVarint(n); }
  void U32(uint32_t n) { w_.PutVarint(n); }
  void Time(util::SystemTime t) { w_.PutSignedVarint(util::ToUnixMillis(t)); }
  void Flag(bool b) { w_.PutBool(b); }
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
  std::string Take() && { return std::move(w_).Release(); }

 private:
  domain::RecordWriter w_;
};

template <class R>
std::vector<std::string> ReadStrings(R& r) {
  std::vector<std::string> out;
  size_t n = r.Count();
  for (size_t i = 0; i < n && r.good(); ++i) out.push_back(r.String());
  return out;
}

template <class R>
std::vector<Tag> ReadTags(R& r) {
  std::vector<Tag> out;
  size_t n = r.Count();
  for (size_t i = 0; i < n && r.good(); ++i) {
    Tag t;
    t.key = r.String();
    t.value = r.String();
    out.push_back(std::move(t));
  }
  return out;
}

Error Corrupt(std::string_view what, std::string_view key) {
  return Error{ErrorCode::kDataLoss, Reason::kNone,
               "corrupt " + std::string(what) + " record " + std::string(key)};
}

// Reads the format number of `value` and its fields with `read(reader,
// format, out)`, a generic lambda that serves both layouts: formats up to
// `newest_legacy` with LegacyReader, later ones up to `current` with FieldReader. kDataLoss
// (kMalformedInput) for a record that does not parse, or whose format is
// unknown (0, or newer than `current`: written by a later release).
template <class T, class Read>
Result<T> Decode(std::string_view what, std::string_view key, std::string_view value,
                 uint64_t newest_legacy, uint64_t current, Read read) {
  domain::RecordReader reader(value);
  auto format = reader.Varint();
  if (!format.has_value() || *format == 0) return Fail(Corrupt(what, key));
  if (*format > current) {
    return Fail(ErrorCode::kDataLoss,
                "iam " + std::string(what) + " record " + std::string(key) + " has format " +
                    std::to_string(*format) + ", newer than this release reads (1-" +
                    std::to_string(current) + "); it was written by a later release",
                Reason::kNone);
  }
  T out;
  if (*format <= newest_legacy) {
    LegacyReader r(value.substr(1));
    read(r, *format, out);
    if (!r.ok()) return Fail(Corrupt(what, key));
  } else {
    FieldReader r(reader);
    read(r, *format, out);
    if (!r.ok()) return Fail(Corrupt(what, key));
  }
  return out;
}

}  // namespace

std::string EncodeUser(const User& u) {
  FieldWriter w(kUserFormat);
  w.String(u.name);
  w.String(u.user_id);
  w.String(u.arn);
  w.String(u.path);
  w.Time(u.created);
  w.Flag(u.is_admin);
  w.Tags(u.tags);
  return std::move(w).Take();
}

Result<User> DecodeUser(std::string_view key, std::string_view value) {
  return Decode<User>("user", key, value, kLegacyUserFormat, kUserFormat,
                      [](auto& r, uint64_t format, User& u) {
                        u.name = r.String();
                        u.user_id = r.String();
                        u.arn = r.String();
                        u.path = r.String();
                        u.created = r.Time();
                        u.is_admin = r.Flag();
                        if (format != kLegacyFormat) u.tags = ReadTags(r);
                      });
}

std::string EncodeAccessKey(const StoredAccessKey& k) {
  FieldWriter w(kFormat);
  w.String(k.access_key_id);
  w.String(k.user_name);
  w.String(k.sealed_secret);
  w.Flag(k.active);
  w.Time(k.created);
  return std::move(w).Take();
}

Result<StoredAccessKey> DecodeAccessKey(std::string_view key, std::string_view value) {
  return Decode<StoredAccessKey>("access key", key, value, kLegacyFormat, kFormat,
                                 [](auto& r, uint64_t, StoredAccessKey& k) {
                                   k.access_key_id = r.String();
                                   k.user_name = r.String();
                                   k.sealed_secret = r.String();
                                   k.active = r.Flag();
                                   k.created = r.Time();
                                 });
}

std::string EncodeGroup(const Group& g) {
  FieldWriter w(kFormat);
  w.String(g.name);
  w.String(g.group_id);
  w.String(g.arn);
  w.String(g.path);
  w.Time(g.created);
  return std::move(w).Take();
}

Result<Group> DecodeGroup(std::string_view key, std::string_view value) {
  return Decode<Group>("group", key, value, kLegacyFormat, kFormat,
                       [](auto& r, uint64_t, Group& g) {
                         g.name = r.String();
                         g.group_id = r.String();
                         g.arn = r.String();
                         g.path = r.String();
                         g.created = r.Time();
                       });
}

std::string EncodeRole(const Role& role) {
  FieldWriter w(kFormat);
  w.String(role.name);
  w.String(role.role_id);
  w.String(role.arn);
  w.String(role.path);
  w.Time(role.created);
  w.String(role.assume_role_policy);
  w.String(role.description);
  w.U32(static_cast<uint32_t>(role.max_session_duration));
  w.Tags(role.tags);
  return std::move(w).Take();
}

Result<Role> DecodeRole(std::string_view key, std::string_view value) {
  return Decode<Role>("role", key, value, kLegacyFormat, kFormat,
                      [](auto& r, uint64_t, Role& role) {
                        role.name = r.String();
                        role.role_id = r.String();
                        role.arn = r.String();
                        role.path = r.String();
                        role.created = r.Time();
                        role.assume_role_policy = r.String();
                        role.description = r.String();
                        role.max_session_duration = static_cast<int>(r.U32());
                        role.tags = ReadTags(r);
                      });
}

std::string EncodeProfile(const StoredProfile& p) {
  FieldWriter w(kFormat);
  w.String(p.profile.name);
  w.String(p.profile.instance_profile_id);
  w.String(p.profile.arn);
  w.String(p.profile.path);
  w.Time(p.profile.created);
  w.Strings(p.role_names);
  w.Tags(p.profile.tags);
  return std::move(w).Take();
}

Result<StoredProfile> DecodeProfile(std::string_view key, std::string_view value) {
  return Decode<StoredProfile>("instance profile", key, value, kLegacyFormat, kFormat,
                               [](auto& r, uint64_t, StoredProfile& p) {
                                 p.profile.name = r.String();
                                 p.profile.instance_profile_id = r.String();
                                 p.profile.arn = r.String();
                                 p.profile.path = r.String();
                                 p.profile.created = r.Time();
                                 p.role_names = ReadStrings(r);
                                 p.profile.tags = ReadTags(r);
                               });
}

std::string EncodePolicy(const StoredPolicy& s) {
  const ManagedPolicy& p = s.policy;
  FieldWriter w(kFormat);
  w.String(p.name);
  w.String(p.policy_id);
  w.String(p.arn);
  w.String(p.path);
  w.String(p.description);
  w.String(p.default_version_id);
  w.Time(p.created);
  w.Time(p.updated);
  w.U32(s.next_version);
  w.Tags(p.tags);
  w.Count(p.versions.size());
  for (const PolicyVersion& v : p.versions) {
    w.String(v.version_id);
    w.String(v.document);
    w.Time(v.created);
  }
  return std::move(w).Take();
}

Result<StoredPolicy> DecodePolicy(std::string_view key, std::string_view value) {
  return Decode<StoredPolicy>("policy", key, value, kLegacyFormat, kFormat,
                              [](auto& r, uint64_t, StoredPolicy& s) {
                                ManagedPolicy& p = s.policy;
                                p.name = r.String();
                                p.policy_id = r.String();
                                p.arn = r.String();
                                p.path = r.String();
                                p.description = r.String();
                                p.default_version_id = r.String();
                                p.created = r.Time();
                                p.updated = r.Time();
                                s.next_version = r.U32();
                                p.tags = ReadTags(r);
                                size_t n = r.Count();
                                for (size_t i = 0; i < n && r.good(); ++i) {
                                  PolicyVersion v;
                                  v.version_id = r.String();
                                  v.document = r.String();
                                  v.created = r.Time();
                                  v.is_default = v.version_id == p.default_version_id;
                                  p.versions.push_back(std::move(v));
                                }
                              });
}

std::string EncodeOidc(const OidcProvider& o) {
  FieldWriter w(kFormat);
  w.String(o.url);
  w.String(o.arn);
  w.Strings(o.client_ids);
  w.Strings(o.thumbprints);
  w.Time(o.created);
  w.Tags(o.tags);
  return std::move(w).Take();
}

Result<OidcProvider> DecodeOidc(std::string_view key, std::string_view value) {
  return Decode<OidcProvider>("oidc provider", key, value, kLegacyFormat, kFormat,
                              [](auto& r, uint64_t, OidcProvider& o) {
                                o.url = r.String();
                                o.arn = r.String();
                                o.client_ids = ReadStrings(r);
                                o.thumbprints = ReadStrings(r);
                                o.created = r.Time();
                                o.tags = ReadTags(r);
                              });
}

std::string EncodeSession(const StoredSession& s) {
  FieldWriter w(kFormat);
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
  return std::move(w).Take();
}

Result<StoredSession> DecodeSession(std::string_view key, std::string_view value) {
  return Decode<StoredSession>("session", key, value, kLegacyFormat, kFormat,
                               [](auto& r, uint64_t, StoredSession& s) {
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
                                   s.condition_keys[std::move(k)] = ReadStrings(r);
                                 }
                               });
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
