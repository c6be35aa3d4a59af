// Tags as the domain knows them (SSM parameters, secrets, keys): key/value
// pairs validated against AWS's tag rules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace coffer::domain {

struct Tag {
  std::string key;
  std::string value;
  bool operator==(const Tag&) const = default;
};

inline constexpr size_t kMaxTagKeyLength = 128;
inline constexpr size_t kMaxTagValueLength = 256;

// Checks one tag: key 1..128 and value 0..256 characters, each made only of
// letters, digits, spaces and `_ . : / = + - @` (non-ASCII UTF-8 counts as a
// letter), and the key does not start with "aws:". kInvalidArgument (kValidation)
// with a message naming the failing rule (never the value).
Status ValidateTag(const Tag& tag);
// Checks only a tag key, as above.
Status ValidateTagKey(std::string_view key);

}  // namespace coffer::domain
