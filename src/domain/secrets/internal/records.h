// Storage records of domain/secrets (docs/formats/storage-keys.md, "Secrets Manager").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace coffer::domain::secrets::internal {

inline constexpr std::string_view kRootPrefix = "sm/";
inline constexpr std::string_view kHeadPrefix = "sm/s/";
inline constexpr std::string_view kVersionPrefix = "sm/v/";

// What the head knows of one version (the value lives in its version record).
struct VersionInfo {
  std::string id;
  std::vector<std::string> stages;  // staging labels, in attach order
  int64_t created_ms = 0;
  int64_t last_accessed_ms = 0;  // midnight UTC of the last read day; 0 = never
  bool has_value = false;        // false: an AWSPENDING placeholder without a record
  std::string key_name;          // KMS key as the caller named it; "" = the default key
  std::string kms_key_id;        // resolved KMS key id that sealed the value
};

struct RotationRecord {
  bool enabled = false;
  std::string hook;                 // executable path, http(s) URL or Lambda ARN; "" = none
  int64_t after_days = 0;           // AutomaticallyAfterDays; 0 = unset
  std::string schedule_expression;  // "" = unset
  std::string duration;             // "" = unset
  int64_t last_rotated_ms = 0;
  int64_t next_rotation_ms = 0;  // 0 = none scheduled
};

// "sm/s/<name>".
struct HeadRecord {
  std::string arn;
  std::string description;
  bool has_description = false;
  std::string key_name;  // "" = alias/aws/secretsmanager
  int64_t created_ms = 0;
  int64_t last_changed_ms = 0;
  int64_t last_accessed_ms = 0;
  int64_t deleted_ms = 0;   // when DeleteSecret ran; 0 = not scheduled for deletion
  int64_t deletion_ms = 0;  // when the purge is due
  RotationRecord rotation;
  std::map<std::string, std::string, std::less<>> tags;
  std::vector<VersionInfo> versions;  // creation order
  std::string resource_policy;        // the policy document as given; "" = none
};

// "sm/v/<name>/<hex of version id>".
struct VersionRecord {
  std::string id;
  bool is_binary = false;
  std::string envelope;  // keyring envelope, aad = ValueAad(arn, id)
};

std::string HeadKey(std::string_view name);
std::string VersionKeyPrefix(std::string_view name);  // "sm/v/<name>/"
std::string VersionKey(std::string_view name, std::string_view version_id);
// The secret name a key under "sm/" belongs to; "" for other keys.
std::string NameOfKey(std::string_view key);
std::string ValueAad(std::string_view arn, std::string_view version_id);

std::string EncodeHead(const HeadRecord& head);
// kDataLoss (kMalformedInput) when malformed.
Result<HeadRecord> DecodeHead(std::string_view bytes);
std::string EncodeVersion(const VersionRecord& record);
Result<VersionRecord> DecodeVersion(std::string_view bytes);

}  // namespace coffer::domain::secrets::internal
