// JSON parsing that refuses what nlohmann accepts silently: an object holding
// the same key twice (nlohmann keeps the last; another reader may take the
// first). Used for every JSON document auth/ decides on: policies and JWTs.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace coffer::auth::internal {

struct StrictJson {
  enum class Problem { kNone, kSyntax, kDuplicateKey } problem = Problem::kNone;
  nlohmann::json doc;         // the document when problem == kNone
  std::string duplicate_key;  // the first repeated key when kDuplicateKey
};

// Parses `text`; never throws.
StrictJson ParseStrictJson(std::string_view text);

}  // namespace coffer::auth::internal
