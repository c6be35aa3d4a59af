// JSON parsing that refuses what nlohmann accepts silently: an object holding
// the same key twice (nlohmann keeps the last; another reader, a proxy or a
// WAF in front of the server, may take the first). Used for every JSON
// document the server decides on: policies and JWTs here, and by api/ the
// bodies of JSON requests. Thread-safe (a pure function).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace coffer::auth {

struct StrictJson {
  enum class Problem { kNone, kSyntax, kDuplicateKey } problem = Problem::kNone;
  nlohmann::json doc;         // the document when problem == kNone
  std::string duplicate_key;  // the first repeated key when kDuplicateKey
};

// Parses `text`; never throws.
StrictJson ParseStrictJson(std::string_view text);

}  // namespace coffer::auth
