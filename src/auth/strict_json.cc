#include "auth/strict_json.h"

#include <functional>
#include <set>
#include <vector>

namespace coffer::auth {

StrictJson ParseStrictJson(std::string_view text) {
  using nlohmann::json;
  StrictJson out;
  // The parser callback sees every key of every object, innermost last: one
  // set of keys per open object finds a duplicate at any depth.
  std::vector<std::set<std::string, std::less<>>> open_objects;
  bool duplicate = false;
  json::parser_callback_t check_keys = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string() &&
            !open_objects.back().insert(parsed.get_ref<const std::string&>()).second &&
            !duplicate) {
          duplicate = true;
          out.duplicate_key = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    out.doc = json::parse(text, check_keys);
  } catch (const json::exception&) {
    out.problem = StrictJson::Problem::kSyntax;
    out.doc = nullptr;
    return out;
  }
  if (duplicate) {
    out.problem = StrictJson::Problem::kDuplicateKey;
    out.doc = nullptr;
  }
  return out;
}

}  // namespace coffer::auth
