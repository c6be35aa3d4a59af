// Storage records of domain/kms, encoded in one place (docs/formats/storage-keys.md
// lists the keys). Each record is a format byte followed by tag-length-value
// fields: u8 tag | u32 big-endian length | bytes. Readers skip tags they do not
// know, so later issues (#3: rotation, deletion dates, tags) add fields
// without a format change. Tags and codes are persisted: never renumber.
#pragma once

#include <string>
#include <string_view>

#include "domain/kms/key_directory.h"
#include "storage/backend.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::domain::kms::internal {

inline constexpr std::string_view kKeyPrefix = "kms/key/";
inline constexpr std::string_view kAliasPrefix = "kms/alias/";

// "kms/key/<key_id>".
std::string KeyRecordKey(std::string_view key_id);
// "kms/alias/<alias_name>" where alias_name includes "alias/".
std::string AliasRecordKey(std::string_view alias_name);

struct AliasRecord {
  std::string target_key_id;
  util::SystemTime created;
  util::SystemTime updated;
};

std::string EncodeKey(const KeyMetadata& key);
// kDataLoss (kMalformedInput) when `data` is not a key record.
Result<KeyMetadata> DecodeKey(std::string_view data);

std::string EncodeAlias(const AliasRecord& alias);
// kDataLoss (kMalformedInput) when `data` is not an alias record.
Result<AliasRecord> DecodeAlias(std::string_view data);

}  // namespace coffer::domain::kms::internal
