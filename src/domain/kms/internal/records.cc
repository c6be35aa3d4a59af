#include "domain/kms/internal/records.h"

#include <cstdint>
#include <functional>
#include <optional>

#include "domain/record.h"

namespace coffer::domain::kms::internal {
namespace {

// Persisted: never renumber. Format 1 is the tag-length-value layout of the
// first releases (read only); format 2 is the record codec's (domain/record.h).
constexpr uint8_t kKeyRecordV1 = 0x01;
constexpr uint8_t kAliasRecordV1 = 0x01;
constexpr uint64_t kKeyFormat = 2;
constexpr uint64_t kAliasFormat = 2;

enum KeyTag : uint8_t {
  kKeyTagId = 1,
  kKeyTagArn = 2,
  kKeyTagDescription = 3,
  kKeyTagState = 4,
  kKeyTagAwsManaged = 5,
  kKeyTagCreatedMillis = 6,
  // Added by #3 (optional: absent in records of the first cut).
  kKeyTagPolicy = 7,
  kKeyTagTag = 8,  // repeated: u32 key length | key | value
  kKeyTagDeletionMillis = 9,
  kKeyTagPendingWindowDays = 10,
  kKeyTagRotationEnabled = 11,
  kKeyTagRotationPeriodDays = 12,
  kKeyTagNextRotationMillis = 13,
  kKeyTagLastRotatedMillis = 14,
};

enum AliasTag : uint8_t {
  kAliasTagTarget = 1,
  kAliasTagCreatedMillis = 2,
  kAliasTagUpdatedMillis = 3,
};

// Persisted state codes (independent of the KeyState enum's order).
constexpr uint8_t kStateEnabled = 1;
constexpr uint8_t kStateDisabled = 2;
constexpr uint8_t kStatePendingDeletion = 3;

uint8_t StateCode(KeyState s) {
  switch (s) {
    case KeyState::kEnabled:
      return kStateEnabled;
    case KeyState::kDisabled:
      return kStateDisabled;
    case KeyState::kPendingDeletion:
      return kStatePendingDeletion;
  }
  return kStateDisabled;
}

class Writer {
 public:
  explicit Writer(uint8_t format) { out_.push_back(static_cast<char>(format)); }
  void Bytes(uint8_t tag, std::string_view v) {
    out_.push_back(static_cast<char>(tag));
    uint32_t n = static_cast<uint32_t>(v.size());
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<char>(n >> shift));
    out_ += v;
  }
  void Byte(uint8_t tag, uint8_t v) {
    Bytes(tag, std::string_view(reinterpret_cast<char*>(&v), 1));
  }
  void U32(uint8_t tag, uint32_t n) {
    char buf[4];
    for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(n >> (24 - 8 * i));
    Bytes(tag, std::string_view(buf, 4));
  }
  void Time(uint8_t tag, util::SystemTime t) {
    uint64_t v = static_cast<uint64_t>(util::ToUnixMillis(t));
    char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (56 - 8 * i));
    Bytes(tag, std::string_view(buf, 8));
  }
  std::string Release() && { return std::move(out_); }

 private:
  std::string out_;
};

std::unexpected<Error> Corrupt(std::string_view what, std::string_view detail) {
  return Fail(ErrorCode::kDataLoss,
              "kms " + std::string(what) + " record is corrupt: " + std::string(detail),
              Reason::kMalformedInput);
}

// Calls `field(tag, value)` for every field; stops at the first error.
Status ForEachField(std::string_view what, uint8_t format, std::string_view data,
                    const std::function<Status(uint8_t, std::string_view)>& field) {
  if (data.empty() || static_cast<uint8_t>(data[0]) != format) {
    return Corrupt(what, "unknown format");
  }
  size_t pos = 1;
  while (pos < data.size()) {
    if (data.size() - pos < 5) return Corrupt(what, "truncated field header");
    uint8_t tag = static_cast<uint8_t>(data[pos]);
    uint32_t len = 0;
    for (size_t i = 1; i <= 4; ++i) len = (len << 8) | static_cast<unsigned char>(data[pos + i]);
    pos += 5;
    if (data.size() - pos < len) return Corrupt(what, "truncated field");
    COFFER_RETURN_IF_ERROR(field(tag, data.substr(pos, len)));
    pos += len;
  }
  return Ok();
}

Result<util::SystemTime> TimeField(std::string_view what, std::string_view v) {
  if (v.size() != 8) return Corrupt(what, "bad timestamp");
  uint64_t n = 0;
  for (char c : v) n = (n << 8) | static_cast<unsigned char>(c);
  return util::FromUnixMillis(static_cast<int64_t>(n));
}

Result<uint32_t> U32Field(std::string_view what, std::string_view v) {
  if (v.size() != 4) return Corrupt(what, "bad number");
  uint32_t n = 0;
  for (char c : v) n = (n << 8) | static_cast<unsigned char>(c);
  return n;
}

Result<bool> BoolField(std::string_view what, std::string_view v) {
  if (v.size() != 1 || static_cast<uint8_t>(v[0]) > 1) return Corrupt(what, "bad flag");
  return v[0] == 1;
}

}  // namespace

std::string KeyRecordKey(std::string_view key_id) {
  std::string k(kKeyPrefix);
  k += key_id;
  return k;
}

std::string AliasRecordKey(std::string_view alias_name) {
  std::string k(kAliasPrefix);
  k += alias_name;
  return k;
}

std::string EncodeKeyFormat1ForTest(const KeyMetadata& key) {
  Writer w(kKeyRecordV1);
  // Optional fields first and the required v1 fields last, so that any
  // truncation loses a required field and is detected.
  if (!key.policy.empty()) w.Bytes(kKeyTagPolicy, key.policy);
  for (const Tag& t : key.tags) {
    std::string v;
    uint32_t n = static_cast<uint32_t>(t.key.size());
    for (int shift = 24; shift >= 0; shift -= 8) v.push_back(static_cast<char>(n >> shift));
    v += t.key;
    v += t.value;
    w.Bytes(kKeyTagTag, v);
  }
  if (key.deletion_date) w.Time(kKeyTagDeletionMillis, *key.deletion_date);
  if (key.pending_window_days > 0) {
    w.U32(kKeyTagPendingWindowDays, static_cast<uint32_t>(key.pending_window_days));
  }
  w.Byte(kKeyTagRotationEnabled, key.rotation_enabled ? 1 : 0);
  w.U32(kKeyTagRotationPeriodDays, static_cast<uint32_t>(key.rotation_period_days));
  if (key.next_rotation) w.Time(kKeyTagNextRotationMillis, *key.next_rotation);
  if (key.last_rotated) w.Time(kKeyTagLastRotatedMillis, *key.last_rotated);
  w.Bytes(kKeyTagId, key.key_id);
  w.Bytes(kKeyTagArn, key.arn);
  w.Bytes(kKeyTagDescription, key.description);
  w.Byte(kKeyTagState, StateCode(key.state));
  w.Byte(kKeyTagAwsManaged, key.aws_managed ? 1 : 0);
  w.Time(kKeyTagCreatedMillis, key.created);
  return std::move(w).Release();
}

Result<KeyMetadata> DecodeKeyFormat1(std::string_view data) {
  constexpr std::string_view kWhat = "key";
  KeyMetadata key;
  uint32_t seen = 0;  // bit per tag: every v1 field must be present
  COFFER_RETURN_IF_ERROR(
      ForEachField(kWhat, kKeyRecordV1, data, [&](uint8_t tag, std::string_view v) -> Status {
        if (tag < 32) seen |= 1u << tag;
        switch (tag) {
          case kKeyTagId:
            if (v.empty()) return Corrupt(kWhat, "empty key id");
            key.key_id = std::string(v);
            break;
          case kKeyTagArn:
            key.arn = std::string(v);
            break;
          case kKeyTagDescription:
            key.description = std::string(v);
            break;
          case kKeyTagState: {
            if (v.size() != 1) return Corrupt(kWhat, "bad state");
            switch (static_cast<uint8_t>(v[0])) {
              case kStateEnabled:
                key.state = KeyState::kEnabled;
                break;
              case kStateDisabled:
                key.state = KeyState::kDisabled;
                break;
              case kStatePendingDeletion:
                key.state = KeyState::kPendingDeletion;
                break;
              default:
                return Corrupt(kWhat, "unknown state");
            }
            break;
          }
          case kKeyTagAwsManaged: {
            COFFER_ASSIGN_OR_RETURN(key.aws_managed, BoolField(kWhat, v));
            break;
          }
          case kKeyTagCreatedMillis: {
            COFFER_ASSIGN_OR_RETURN(key.created, TimeField(kWhat, v));
            break;
          }
          case kKeyTagPolicy:
            key.policy = std::string(v);
            break;
          case kKeyTagTag: {
            COFFER_ASSIGN_OR_RETURN(uint32_t n, U32Field(kWhat, v.substr(0, 4)));
            if (v.size() - 4 < n) return Corrupt(kWhat, "bad tag");
            key.tags.push_back(Tag{std::string(v.substr(4, n)), std::string(v.substr(4 + n))});
            break;
          }
          case kKeyTagDeletionMillis: {
            COFFER_ASSIGN_OR_RETURN(key.deletion_date, TimeField(kWhat, v));
            break;
          }
          case kKeyTagPendingWindowDays: {
            COFFER_ASSIGN_OR_RETURN(uint32_t n, U32Field(kWhat, v));
            key.pending_window_days = static_cast<int>(n);
            break;
          }
          case kKeyTagRotationEnabled: {
            COFFER_ASSIGN_OR_RETURN(key.rotation_enabled, BoolField(kWhat, v));
            break;
          }
          case kKeyTagRotationPeriodDays: {
            COFFER_ASSIGN_OR_RETURN(uint32_t n, U32Field(kWhat, v));
            if (n == 0 || n > 100000) return Corrupt(kWhat, "bad rotation period");
            key.rotation_period_days = static_cast<int>(n);
            break;
          }
          case kKeyTagNextRotationMillis: {
            COFFER_ASSIGN_OR_RETURN(key.next_rotation, TimeField(kWhat, v));
            break;
          }
          case kKeyTagLastRotatedMillis: {
            COFFER_ASSIGN_OR_RETURN(key.last_rotated, TimeField(kWhat, v));
            break;
          }
          default:
            break;  // a field from a newer writer
        }
        return Ok();
      }));
  constexpr uint32_t kV1Fields = (1u << kKeyTagId) | (1u << kKeyTagArn) |
                                 (1u << kKeyTagDescription) | (1u << kKeyTagState) |
                                 (1u << kKeyTagAwsManaged) | (1u << kKeyTagCreatedMillis);
  if ((seen & kV1Fields) != kV1Fields) return Corrupt(kWhat, "missing fields");
  return key;
}

std::string EncodeAliasFormat1ForTest(const AliasRecord& alias) {
  Writer w(kAliasRecordV1);
  w.Bytes(kAliasTagTarget, alias.target_key_id);
  w.Time(kAliasTagCreatedMillis, alias.created);
  w.Time(kAliasTagUpdatedMillis, alias.updated);
  return std::move(w).Release();
}

Result<AliasRecord> DecodeAliasFormat1(std::string_view data) {
  constexpr std::string_view kWhat = "alias";
  AliasRecord alias;
  uint32_t seen = 0;
  COFFER_RETURN_IF_ERROR(
      ForEachField(kWhat, kAliasRecordV1, data, [&](uint8_t tag, std::string_view v) -> Status {
        if (tag < 32) seen |= 1u << tag;
        switch (tag) {
          case kAliasTagTarget:
            alias.target_key_id = std::string(v);
            break;
          case kAliasTagCreatedMillis: {
            COFFER_ASSIGN_OR_RETURN(alias.created, TimeField(kWhat, v));
            break;
          }
          case kAliasTagUpdatedMillis: {
            COFFER_ASSIGN_OR_RETURN(alias.updated, TimeField(kWhat, v));
            break;
          }
          default:
            break;
        }
        return Ok();
      }));
  constexpr uint32_t kV1Fields =
      (1u << kAliasTagTarget) | (1u << kAliasTagCreatedMillis) | (1u << kAliasTagUpdatedMillis);
  if ((seen & kV1Fields) != kV1Fields || alias.target_key_id.empty()) {
    return Corrupt(kWhat, "missing fields");
  }
  return alias;
}

namespace {

Result<KeyState> StateOf(uint64_t code) {
  switch (code) {
    case kStateEnabled:
      return KeyState::kEnabled;
    case kStateDisabled:
      return KeyState::kDisabled;
    case kStatePendingDeletion:
      return KeyState::kPendingDeletion;
    default:
      return Corrupt("key", "unknown state");
  }
}

void PutTime(RecordWriter& w, util::SystemTime t) { w.PutSignedVarint(util::ToUnixMillis(t)); }

void PutOptionalTime(RecordWriter& w, const std::optional<util::SystemTime>& t) {
  w.PutBool(t.has_value());
  if (t) PutTime(w, *t);
}

Result<util::SystemTime> GetTime(RecordReader& r) {
  COFFER_ASSIGN_OR_RETURN(int64_t ms, r.SignedVarint());
  return util::FromUnixMillis(ms);
}

Result<std::optional<util::SystemTime>> GetOptionalTime(RecordReader& r) {
  COFFER_ASSIGN_OR_RETURN(bool present, r.Bool());
  if (!present) return std::optional<util::SystemTime>();
  COFFER_ASSIGN_OR_RETURN(util::SystemTime t, GetTime(r));
  return std::optional<util::SystemTime>(t);
}

// The record's format: the first byte of a format-1 record (0x01) reads as
// the varint 1, so both layouts are told apart by RecordReader::Format.
Result<uint64_t> FormatOf(std::string_view what, std::string_view data, uint64_t newest) {
  RecordReader r(data);
  return r.Format(what, newest);
}

}  // namespace

std::string EncodeKey(const KeyMetadata& key) {
  RecordWriter w;
  w.PutFormat(kKeyFormat);
  w.PutString(key.key_id);
  w.PutString(key.arn);
  w.PutString(key.description);
  w.PutVarint(StateCode(key.state));
  w.PutBool(key.aws_managed);
  PutTime(w, key.created);
  w.PutString(key.policy);
  w.PutVarint(key.tags.size());
  for (const Tag& t : key.tags) {
    w.PutString(t.key);
    w.PutString(t.value);
  }
  PutOptionalTime(w, key.deletion_date);
  w.PutSignedVarint(key.pending_window_days);
  w.PutBool(key.rotation_enabled);
  w.PutSignedVarint(key.rotation_period_days);
  PutOptionalTime(w, key.next_rotation);
  PutOptionalTime(w, key.last_rotated);
  return std::move(w).Release();
}

Result<KeyMetadata> DecodeKey(std::string_view data) {
  COFFER_ASSIGN_OR_RETURN(uint64_t format, FormatOf("kms key", data, kKeyFormat));
  if (format == 1) return DecodeKeyFormat1(data);
  RecordReader r(data);
  COFFER_RETURN_IF_ERROR(r.Format("kms key", kKeyFormat));
  KeyMetadata key;
  COFFER_ASSIGN_OR_RETURN(key.key_id, r.String());
  if (key.key_id.empty()) return Corrupt("key", "empty key id");
  COFFER_ASSIGN_OR_RETURN(key.arn, r.String());
  COFFER_ASSIGN_OR_RETURN(key.description, r.String());
  COFFER_ASSIGN_OR_RETURN(uint64_t state, r.Varint());
  COFFER_ASSIGN_OR_RETURN(key.state, StateOf(state));
  COFFER_ASSIGN_OR_RETURN(key.aws_managed, r.Bool());
  COFFER_ASSIGN_OR_RETURN(key.created, GetTime(r));
  COFFER_ASSIGN_OR_RETURN(key.policy, r.String());
  COFFER_ASSIGN_OR_RETURN(uint64_t tag_count, r.Varint());
  if (tag_count > data.size()) return Corrupt("key", "bad tag count");
  for (uint64_t i = 0; i < tag_count; ++i) {
    Tag t;
    COFFER_ASSIGN_OR_RETURN(t.key, r.String());
    COFFER_ASSIGN_OR_RETURN(t.value, r.String());
    key.tags.push_back(std::move(t));
  }
  COFFER_ASSIGN_OR_RETURN(key.deletion_date, GetOptionalTime(r));
  COFFER_ASSIGN_OR_RETURN(int64_t window, r.SignedVarint());
  if (window < 0 || window > 100000) return Corrupt("key", "bad pending window");
  key.pending_window_days = static_cast<int>(window);
  COFFER_ASSIGN_OR_RETURN(key.rotation_enabled, r.Bool());
  COFFER_ASSIGN_OR_RETURN(int64_t period, r.SignedVarint());
  if (period <= 0 || period > 100000) return Corrupt("key", "bad rotation period");
  key.rotation_period_days = static_cast<int>(period);
  COFFER_ASSIGN_OR_RETURN(key.next_rotation, GetOptionalTime(r));
  COFFER_ASSIGN_OR_RETURN(key.last_rotated, GetOptionalTime(r));
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  return key;
}

std::string EncodeAlias(const AliasRecord& alias) {
  RecordWriter w;
  w.PutFormat(kAliasFormat);
  w.PutString(alias.target_key_id);
  PutTime(w, alias.created);
  PutTime(w, alias.updated);
  return std::move(w).Release();
}

Result<AliasRecord> DecodeAlias(std::string_view data) {
  COFFER_ASSIGN_OR_RETURN(uint64_t format, FormatOf("kms alias", data, kAliasFormat));
  if (format == 1) return DecodeAliasFormat1(data);
  RecordReader r(data);
  COFFER_RETURN_IF_ERROR(r.Format("kms alias", kAliasFormat));
  AliasRecord alias;
  COFFER_ASSIGN_OR_RETURN(alias.target_key_id, r.String());
  if (alias.target_key_id.empty()) return Corrupt("alias", "missing fields");
  COFFER_ASSIGN_OR_RETURN(alias.created, GetTime(r));
  COFFER_ASSIGN_OR_RETURN(alias.updated, GetTime(r));
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  return alias;
}

}  // namespace coffer::domain::kms::internal
