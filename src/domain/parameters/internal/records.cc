#include "domain/parameters/internal/records.h"

#include <cstdio>

#include "domain/record.h"

namespace coffer::domain::parameters::internal {
namespace {

// Persisted: the first varint of every record. Never reuse a number.
constexpr uint64_t kHeadFormat = 1;
constexpr uint64_t kVersionFormat = 1;

void PutMeta(RecordWriter& w, const VersionMeta& m) {
  w.PutVarint(static_cast<uint64_t>(m.type));
  w.PutString(m.description);
  w.PutString(m.key_id);
  w.PutString(m.kms_key_id);
  w.PutVarint(static_cast<uint64_t>(m.tier));
  w.PutString(m.allowed_pattern);
  w.PutString(m.data_type);
  w.PutSignedVarint(m.modified_ms);
  w.PutString(m.modified_user);
}

Result<VersionMeta> GetMeta(RecordReader& r) {
  VersionMeta m;
  COFFER_ASSIGN_OR_RETURN(uint64_t type, r.Varint());
  if (type > 2) return Fail(ErrorCode::kDataLoss, "bad parameter type in record");
  m.type = static_cast<ParameterType>(type);
  COFFER_ASSIGN_OR_RETURN(m.description, r.String());
  COFFER_ASSIGN_OR_RETURN(m.key_id, r.String());
  COFFER_ASSIGN_OR_RETURN(m.kms_key_id, r.String());
  COFFER_ASSIGN_OR_RETURN(uint64_t tier, r.Varint());
  if (tier > 2) return Fail(ErrorCode::kDataLoss, "bad parameter tier in record");
  m.tier = static_cast<ParameterTier>(tier);
  COFFER_ASSIGN_OR_RETURN(m.allowed_pattern, r.String());
  COFFER_ASSIGN_OR_RETURN(m.data_type, r.String());
  COFFER_ASSIGN_OR_RETURN(m.modified_ms, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(m.modified_user, r.String());
  return m;
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

std::string VersionKey(std::string_view name, int64_t version) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%010lld", static_cast<long long>(version));
  return VersionKeyPrefix(name) + digits;
}

std::string NameOfKey(std::string_view key) {
  if (key.starts_with(kHeadPrefix)) return std::string(key.substr(kHeadPrefix.size()));
  if (key.starts_with(kVersionPrefix)) {
    std::string_view rest = key.substr(kVersionPrefix.size());
    size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos) return "";
    return std::string(rest.substr(0, slash));
  }
  return "";
}

std::string ValueAad(std::string_view name, int64_t version) {
  std::string aad = "ssm/param/";
  aad.append(name).push_back('/');
  aad.append(std::to_string(version));
  return aad;
}

std::string EncodeHead(const HeadRecord& head) {
  RecordWriter w;
  w.PutVarint(kHeadFormat);
  w.PutSignedVarint(head.latest);
  w.PutSignedVarint(head.oldest);
  w.PutVarint(head.labels.size());
  for (const auto& [label, version] : head.labels) {
    w.PutString(label);
    w.PutSignedVarint(version);
  }
  w.PutStringMap(head.tags);
  PutMeta(w, head.meta);
  return std::move(w).Release();
}

Result<HeadRecord> DecodeHead(std::string_view bytes) {
  RecordReader r(bytes);
  COFFER_ASSIGN_OR_RETURN(uint64_t format, r.Varint());
  if (format != kHeadFormat) {
    return Fail(ErrorCode::kDataLoss, "unknown parameter head format", Reason::kMalformedInput);
  }
  HeadRecord head;
  COFFER_ASSIGN_OR_RETURN(head.latest, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(head.oldest, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(uint64_t label_count, r.Varint());
  if (label_count > bytes.size()) {
    return Fail(ErrorCode::kDataLoss, "bad label count", Reason::kMalformedInput);
  }
  for (uint64_t i = 0; i < label_count; ++i) {
    COFFER_ASSIGN_OR_RETURN(std::string label, r.String());
    COFFER_ASSIGN_OR_RETURN(int64_t version, r.SignedVarint());
    head.labels.insert_or_assign(std::move(label), version);
  }
  COFFER_ASSIGN_OR_RETURN(head.tags, r.StringMap());
  COFFER_ASSIGN_OR_RETURN(head.meta, GetMeta(r));
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  if (head.latest < 1 || head.oldest < 1 || head.oldest > head.latest) {
    return Fail(ErrorCode::kDataLoss, "bad version range in parameter head",
                Reason::kMalformedInput);
  }
  return head;
}

std::string EncodeVersion(const VersionRecord& record) {
  RecordWriter w;
  w.PutVarint(kVersionFormat);
  w.PutSignedVarint(record.version);
  w.PutString(record.envelope);
  PutMeta(w, record.meta);
  return std::move(w).Release();
}

Result<VersionRecord> DecodeVersion(std::string_view bytes) {
  RecordReader r(bytes);
  COFFER_ASSIGN_OR_RETURN(uint64_t format, r.Varint());
  if (format != kVersionFormat) {
    return Fail(ErrorCode::kDataLoss, "unknown parameter version format",
                Reason::kMalformedInput);
  }
  VersionRecord record;
  COFFER_ASSIGN_OR_RETURN(record.version, r.SignedVarint());
  COFFER_ASSIGN_OR_RETURN(record.envelope, r.String());
  COFFER_ASSIGN_OR_RETURN(record.meta, GetMeta(r));
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  return record;
}

}  // namespace coffer::domain::parameters::internal
