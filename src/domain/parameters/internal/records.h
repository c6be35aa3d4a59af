// Storage records of domain/parameters (docs/formats/storage-keys.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "domain/parameters/parameter_store.h"
#include "util/result.h"

namespace coffer::domain::parameters::internal {

inline constexpr std::string_view kRootPrefix = "ssm/";
inline constexpr std::string_view kHeadPrefix = "ssm/p/";
inline constexpr std::string_view kVersionPrefix = "ssm/v/";
inline constexpr size_t kVersionDigits = 10;

// Metadata that every version carries; the head holds a copy of the latest's.
struct VersionMeta {
  ParameterType type = ParameterType::kString;
  std::string description;
  std::string key_id;      // as the caller named it ("" unless SecureString)
  std::string kms_key_id;  // the resolved KMS key id that sealed the value
  ParameterTier tier = ParameterTier::kStandard;
  std::string allowed_pattern;
  std::string data_type = "text";
  int64_t modified_ms = 0;
  std::string modified_user;
};

// "ssm/p/<name>".
struct HeadRecord {
  int64_t latest = 0;
  int64_t oldest = 0;
  std::map<std::string, int64_t, std::less<>> labels;  // label -> version
  std::map<std::string, std::string, std::less<>> tags;
  VersionMeta meta;  // of `latest`
};

// "ssm/v/<name>/<version, 10 digits>".
struct VersionRecord {
  int64_t version = 0;
  std::string envelope;  // keyring envelope, aad = ValueAad(name, version)
  VersionMeta meta;
};

std::string HeadKey(std::string_view name);
std::string VersionKeyPrefix(std::string_view name);  // "ssm/v/<name>/"
std::string VersionKey(std::string_view name, int64_t version);
// The parameter name a key under "ssm/" belongs to; "" for other keys.
std::string NameOfKey(std::string_view key);
std::string ValueAad(std::string_view name, int64_t version);

std::string EncodeHead(const HeadRecord& head);
// kDataLoss when malformed.
Result<HeadRecord> DecodeHead(std::string_view bytes);
std::string EncodeVersion(const VersionRecord& record);
Result<VersionRecord> DecodeVersion(std::string_view bytes);

}  // namespace coffer::domain::parameters::internal
