// Typed extraction of request members from a parsed AWS JSON body, with the
// AWS-shaped errors clients expect:
//   wrong JSON type     -> kInvalidArgument (kMalformedInput): SerializationException
//   missing / too long / out of range
//                       -> kInvalidArgument (kValidation): ValidationException
//                          "1 validation error detected: Value '…' at 'name' failed to
//                          satisfy constraint: Member must …"
// A JSON null counts as absent (botocore never sends one). Secret members are
// never echoed into a message.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/tags.h"
#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::api::awsjson {

inline constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();

// Reads members of one JSON object. `path` prefixes member names in messages
// ("parameterFilters.1.member" for elements of a list); "" at the top level.
class Fields {
 public:
  explicit Fields(const nlohmann::json& object, std::string path = "");

  Result<std::optional<std::string>> OptString(std::string_view member, size_t min_len = 0,
                                               size_t max_len = kNoLimit) const;
  Result<std::string> String(std::string_view member, size_t min_len = 0,
                             size_t max_len = kNoLimit) const;
  // Required secret string: length errors name the member but never the value.
  Result<SecretBytes> Secret(std::string_view member, size_t min_len, size_t max_len) const;
  Result<std::optional<bool>> OptBool(std::string_view member) const;
  Result<std::optional<int64_t>> OptInt(std::string_view member, int64_t min, int64_t max) const;
  Result<std::optional<std::vector<std::string>>> OptStringList(
      std::string_view member, size_t min_items, size_t max_items, size_t min_len = 0,
      size_t max_len = kNoLimit) const;
  Result<std::vector<std::string>> StringList(std::string_view member, size_t min_items,
                                              size_t max_items, size_t min_len = 0,
                                              size_t max_len = kNoLimit) const;
  // A list of structures: the elements (each checked to be an object), or
  // nullopt when absent.
  Result<std::optional<std::vector<const nlohmann::json*>>> OptObjectList(
      std::string_view member, size_t min_items, size_t max_items) const;

  // The message path of `member` ("name", "parameterFilters.1.member.key").
  std::string PathOf(std::string_view member) const;
  // The object read (for members Fields has no reader for: maps).
  const nlohmann::json& object() const { return object_; }

 private:
  const nlohmann::json* Find(std::string_view member) const;

  const nlohmann::json& object_;
  std::string path_;
};

// The member names of one tag: {Key, Value} (SSM, Secrets Manager) or
// {TagKey, TagValue} (KMS).
struct TagMembers {
  std::string_view key = "Key";
  std::string_view value = "Value";
};

// The AWS "Tags" member: a list of {Key (1..128), Value (0..256)} objects with
// at least `min_items` and at most `max_items` entries. Absent: an empty list,
// or a ValidationException ("Member must not be null") when `required`.
Result<std::vector<domain::Tag>> TagList(const Fields& f, bool required, size_t min_items,
                                         size_t max_items = 1000, TagMembers members = {});

// kInvalidArgument (kValidation) with AWS's one-error message.
std::unexpected<Error> ValidationError(std::string_view shown_value, std::string_view path,
                                       std::string_view constraint);
// kInvalidArgument (kMalformedInput): SerializationException.
std::unexpected<Error> SerializationError(std::string message);

}  // namespace coffer::api::awsjson
