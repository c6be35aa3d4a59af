// Storage records of domain/kms, encoded in one place (docs/formats/storage-keys.md
// lists the keys and layouts). Records are written in format 2, on the domain's
// record codec (domain/record.h): a varint format number, then the fields in a
// fixed order. Format 1, the tag-length-value layout of release 0.1 (a format
// byte 0x01, then u8 tag | u32 big-endian length | bytes), still reads; a
// format newer than 2 is refused (kDataLoss), never misread. Codes are
// persisted: never renumber.
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
// Reads format 1 and 2. kDataLoss (kMalformedInput) when `data` is not a key
// record or has a newer format.
Result<KeyMetadata> DecodeKey(std::string_view data);

std::string EncodeAlias(const AliasRecord& alias);
// kDataLoss (kMalformedInput) when `data` is not an alias record.
Result<AliasRecord> DecodeAlias(std::string_view data);

// Format 1 (release 0.1): its decoders (DecodeKey / DecodeAlias call them for
// format-1 records), and its encoders, for the tests that prove it still reads.
Result<KeyMetadata> DecodeKeyFormat1(std::string_view data);
Result<AliasRecord> DecodeAliasFormat1(std::string_view data);
std::string EncodeKeyFormat1ForTest(const KeyMetadata& key);
std::string EncodeAliasFormat1ForTest(const AliasRecord& alias);

}  // namespace coffer::domain::kms::internal
