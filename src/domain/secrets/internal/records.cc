#include "domain/secrets/internal/records.h"

#include "domain/record.h"
#include "util/encoding.h"

namespace coffer::domain::secrets::internal {
namespace {

// Persisted: the first varint of every record. Never reuse a number.
// Head format 2 = format 1 + the resource policy (a trailing string); format 1
// records (no policy) are still read.
constexpr uint64_t kHeadFormatV1 = 1;
constexpr uint64_t kHeadFormat = 2;
constexpr uint64_t kVersionFormat = 1;

std::unexpected<Error> Malformed(std::string message) {
  return Fail(ErrorCode::kDataLoss, std::move(message), Reason::kMalformedInput);
}

Result<uint64_t> Count(RecordReader& r, size_t limit) {
  COFFER_ASSIGN_OR_RETURN(uint64_t n, r.Varint());
  if (n > limit) return Malformed("bad count in secret record");
  return n;
}

}  // namespace

std::string HeadKey(std::string_view name) {
  std::string k(kHeadPrefix);
  k.append(name);
  return k;
}

std::string VersionKeyPrefix(std::string_view name) {
  std::string k(kVersionPrefix);
  k.append(name).push_back('/');
  return k;
}

std::string VersionKey(std::string_view name, std::string_view version_id) {
  // Hex keeps any token the client chose out of the key syntax.
  return VersionKeyPrefix(name) + util::HexEncode(version_id);
}

std::string NameOfKey(std::string_view key) {
  if (key.starts_with(kHeadPrefix)) return std::string(key.substr(kHeadPrefix.size()));
  if (key.starts_with(kVersionPrefix)) {
    // Names may contain '/', hex-encoded version ids never do: the last '/'
    // separates them.
    std::string_view rest = key.substr(kVersionPrefix.size());
    size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos) return "";
    return std::string(rest.substr(0, slash));
  }
  return "";
}

std::string ValueAad(std::string_view arn, std::string_view version_id) {
  std::string aad = "sm/secret/";
  aad.append(arn).push_back('/');
  aad.append(version_id);
  return aad;
}

std::string EncodeHead(const HeadRecord& h) {
  RecordWriter w;
  w.PutVarint(kHeadFormat);
  w.PutString(h.arn);
  w.PutBool(h.has_description);
  w.PutString(h.description);
  w.PutString(h.key_name);
  w.PutSignedVarint(h.created_ms);
  w.PutSignedVarint(h.last_changed_ms);
  w.PutSignedVarint(h.last_accessed_ms);
  w.PutSignedVarint(h.deleted_ms);
  w.PutSignedVarint(h.deletion_ms);
  const RotationRecord& rot = h.rotation;
  w.PutBool(rot.enabled);
  w.PutString(rot.hook);
  w.PutSignedVarint(rot.after_days);
  w.PutString(rot.schedule_expression);
  w.PutString(rot.duration);
  w.PutSignedVarint(rot.last_rotated_ms);
  w.PutSignedVarint(rot.next_rotation_ms);
  w.PutStringMap(h.tags);
  w.PutVarint(h.versions.size());
  for (const VersionInfo& v : h.versions) {
    w.PutString(v.id);
    w.PutVarint(v.stages.size());
    for (const std::string& s : v.stages) w.PutString(s);
    w.PutSignedVarint(v.created_ms);
    w.PutSignedVarint(v.last_accessed_ms);
    w.PutBool(v.has_value);
    w.PutString(v.key_name);
    w.PutString(v.kms_key_id);
  }
  w.PutString(h.resource_policy);
  return std::move(w).Release();
}

Result<HeadRecord> DecodeHead(std::string_view bytes) {
  RecordReader r(bytes);
  COFFER_ASSIGN_OR_RETURN(uint64_t format, r.Varint());
  if (format != kHeadFormat && format != kHeadFormatV1) {
    return Malformed("unknown secret head format");
  }
  HeadRecord h;
  COFFER_ASSIGN_OR_RETURN(h.arn, r.String());
  COFFER_ASSIGN_OR_RETURN(h.has_description, r.Bool());
  COFFER_ASSIGN_OR_RETURN(h.description, r.String());
  COFFER_ASSIGN_OR_RETURN(h.key_name, r.String());
  COFFER_ASSIGN_OR_RETURN(h.created_ms, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(h.last_changed_ms, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(h.last_accessed_ms, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(h.deleted_ms, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(h.deletion_ms, r.SignedVarint());
  RotationRecord& rot = h.rotation;
  COFFER_ASSIGN_OR_RETURN(rot.enabled, r.Bool());
  COFFER_ASSIGN_OR_RETURN(rot.hook, r.String());
  COFFER_ASSIGN_OR_RETURN(rot.after_days, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(rot.schedule_expression, r.String());
  COFFER_ASSIGN_OR_RETURN(rot.duration, r.String());
  COFFER_ASSIGN_OR_RETURN(rot.last_rotated_ms, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(rot.next_rotation_ms, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(h.tags, r.StringMap());
  COFFER_ASSIGN_OR_RETURN(uint64_t version_count, Count(r, bytes.size()));
  h.versions.reserve(version_count);
  for (uint64_t i = 0; i < version_count; ++i) {
    VersionInfo v;
    COFFER_ASSIGN_OR_RETURN(v.id, r.String());
    COFFER_ASSIGN_OR_RETURN(uint64_t stage_count, Count(r, bytes.size()));
    for (uint64_t j = 0; j < stage_count; ++j) {
      COFFER_ASSIGN_OR_RETURN(std::string stage, r.String());
      v.stages.push_back(std::move(stage));
    }
    COFFER_ASSIGN_OR_RETURN(v.created_ms, r.SignedVarint());
    COFFER_ASSIGN_OR_RETURN(v.last_accessed_ms, r.SignedVarint());
    COFFER_ASSIGN_OR_RETURN(v.has_value, r.Bool());
    COFFER_ASSIGN_OR_RETURN(v.key_name, r.String());
    COFFER_ASSIGN_OR_RETURN(v.kms_key_id, r.String());
    h.versions.push_back(std::move(v));
  }
  if (format >= kHeadFormat) {
    COFFER_ASSIGN_OR_RETURN(h.resource_policy, r.String());
  }
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  if (h.arn.empty()) return Malformed("secret head without ARN");
  return h;
}

std::string EncodeVersion(const VersionRecord& record) {
  RecordWriter w;
  w.PutVarint(kVersionFormat);
  w.PutString(record.id);
  w.PutBool(record.is_binary);
  w.PutString(record.envelope);
  return std::move(w).Release();
}

Result<VersionRecord> DecodeVersion(std::string_view bytes) {
  RecordReader r(bytes);
  COFFER_ASSIGN_OR_RETURN(uint64_t format, r.Varint());
  if (format != kVersionFormat) return Malformed("unknown secret version format");
  VersionRecord record;
  COFFER_ASSIGN_OR_RETURN(record.id, r.String());
  COFFER_ASSIGN_OR_RETURN(record.is_binary, r.Bool());
  COFFER_ASSIGN_OR_RETURN(record.envelope, r.String());
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  return record;
}

}  // namespace coffer::domain::secrets::internal
