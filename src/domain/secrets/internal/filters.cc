#include "domain/secrets/internal/filters.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace coffer::domain::secrets::internal {
namespace {

std::unexpected<Error> InvalidParameter(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kSecretInvalidParameter);
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '/' || c == '-' || c == '_' || c == '+' || c == '=' || c == '.' ||
        c == '@' || c == ':') {
      if (!cur.empty()) out.push_back(ToLower(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(ToLower(cur));
  return out;
}

// Prefix match (case-sensitive), or with `words`, every word of the pattern is
// a case-insensitive prefix of some word of the value.
bool MatchOne(std::string_view pattern, std::string_view value, bool words) {
  if (!words) return value.starts_with(pattern);
  std::vector<std::string> pw = Words(pattern);
  if (pw.empty()) return false;
  std::vector<std::string> vw = Words(value);
  vw.push_back(ToLower(value));
  for (const std::string& p : pw) {
    bool found = false;
    for (const std::string& v : vw) found = found || v.starts_with(p);
    if (!found) return false;
  }
  return true;
}

// One filter: any value matches one of `attributes`; a "!" value matches when
// no attribute matches it.
bool MatchFilter(const std::vector<std::string>& values,
                 const std::vector<std::string_view>& attributes, bool words) {
  for (const std::string& value : values) {
    bool negate = value.starts_with('!');
    std::string_view pattern = negate ? std::string_view(value).substr(1) : value;
    bool any = false;
    for (std::string_view a : attributes) any = any || MatchOne(pattern, a, words);
    if (negate ? !any : any) return true;
  }
  return false;
}

}  // namespace

bool Matches(const std::string& name, const HeadRecord& h,
             const std::vector<SecretFilter>& filters) {
  for (const SecretFilter& f : filters) {
    std::vector<std::string_view> attrs;
    bool words = false;
    if (f.key == "name") {
      attrs.push_back(name);
    } else if (f.key == "description") {
      if (h.has_description) attrs.push_back(h.description);
      words = true;
    } else if (f.key == "tag-key") {
      for (const auto& [k, v] : h.tags) attrs.push_back(k);
    } else if (f.key == "tag-value") {
      for (const auto& [k, v] : h.tags) attrs.push_back(v);
    } else if (f.key == "all") {
      attrs.push_back(name);
      if (h.has_description) attrs.push_back(h.description);
      for (const auto& [k, v] : h.tags) {
        attrs.push_back(k);
        attrs.push_back(v);
      }
      words = true;
    }
    // primary-region / owning-service: no secret has either.
    if (!MatchFilter(f.values, attrs, words)) return false;
  }
  return true;
}

Status CheckFilters(const std::vector<SecretFilter>& filters) {
  if (filters.size() > 10) return InvalidParameter("You can specify at most 10 filters.");
  for (const SecretFilter& f : filters) {
    if (f.key != "description" && f.key != "name" && f.key != "tag-key" && f.key != "tag-value" &&
        f.key != "primary-region" && f.key != "owning-service" && f.key != "all") {
      return InvalidParameter("Invalid filter key: " + f.key);
    }
    if (f.values.empty() || f.values.size() > 10) {
      return InvalidParameter("A filter needs between 1 and 10 values.");
    }
    for (const std::string& v : f.values) {
      if (v.size() > 512)
        return InvalidParameter("A filter value can have at most 512 characters.");
      for (size_t i = 0; i < v.size(); ++i) {
        char c = v[i];
        bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
                  std::string_view(" :_@/+=.-!").find(c) != std::string_view::npos;
        if (!ok) return InvalidParameter("Invalid filter value for key " + f.key + ".");
      }
    }
  }
  return Ok();
}

}  // namespace coffer::domain::secrets::internal
