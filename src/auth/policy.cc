#include "auth/policy.h"

#include <arpa/inet.h>
#include <strings.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "auth/strict_json.h"
#include "util/time.h"

namespace coffer::auth {
namespace {

using nlohmann::json;

// ASCII case folding: policy grammar, keys and actions are ASCII, and this is
// what std::tolower does in the "C" locale, without a call per character.
char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

std::unexpected<Error> Malformed(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kMalformedPolicy);
}

// Part of a document for an error message: a policy is not secret, but a
// message stays short.
std::string Shown(std::string_view text) {
  constexpr size_t kMax = 100;
  if (text.size() <= kMax) return std::string(text);
  return std::string(text.substr(0, kMax)) + "...";
}

// A JSON string or array of strings -> list. Scalars other than strings are
// stringified as AWS does for condition values (true -> "true", 5 -> "5").
Result<std::vector<std::string>> StringList(const json& v, std::string_view what,
                                            bool allow_scalars) {
  std::vector<std::string> out;
  auto one = [&](const json& e) -> Status {
    if (e.is_string()) {
      out.push_back(e.get<std::string>());
    } else if (allow_scalars && e.is_boolean()) {
      out.push_back(e.get<bool>() ? "true" : "false");
    } else if (allow_scalars && e.is_number()) {
      out.push_back(e.dump());
    } else {
      return Malformed(std::string(what) + " must be a string or a list of strings");
    }
    return Ok();
  };
  if (v.is_array()) {
    if (v.empty()) return Malformed(std::string(what) + " must not be empty");
    for (const json& e : v) COFFER_RETURN_IF_ERROR(one(e));
  } else {
    COFFER_RETURN_IF_ERROR(one(v));
  }
  return out;
}

const std::vector<std::string_view>& KnownOperators() {
  static const std::vector<std::string_view> ops = {
      "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
      "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
      "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
      "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
      "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals",
      "ArnLike", "ArnNotEquals", "ArnNotLike", "Null"};
  return ops;
}

Result<PrincipalSpec> ParsePrincipal(const json& v) {
  PrincipalSpec p;
  p.present = true;
  if (v.is_string()) {
    if (v.get<std::string>() != "*") return Malformed("Principal must be \"*\" or an object");
    p.any = true;
    return p;
  }
  if (!v.is_object()) return Malformed("Principal must be \"*\" or an object");
  for (const auto& [k, val] : v.items()) {
    COFFER_ASSIGN_OR_RETURN(std::vector<std::string> list, StringList(val, "Principal", false));
    if (k == "AWS") {
      for (auto& s : list) {
        if (s == "*") p.any = true;
        p.aws.push_back(std::move(s));
      }
    } else if (k == "Federated") {
      p.federated = std::move(list);
    } else if (k == "Service") {
      p.service = std::move(list);
    } else if (k == "CanonicalUser") {
      // accepted and never matched
    } else {
      return Malformed("unknown Principal type " + k);
    }
  }
  return p;
}

// A decimal number as condition values write it: "-12", "3.5", "1e3". Not
// strtod's extras (leading blanks, "+", hex, "inf", "nan"), which AWS refuses.
std::optional<double> ParseNumber(std::string_view s) {
  size_t i = 0;
  auto digits = [&] {
    size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > from;
  };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digits()) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return std::nullopt;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digits()) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  std::string text(s);
  errno = 0;
  double v = std::strtod(text.c_str(), nullptr);
  if (errno != 0 || !std::isfinite(v)) return std::nullopt;
  return v;
}

// ISO 8601 ("2026-01-01T00:00:00Z", with optional fraction or offset), a bare
// date ("2026-01-01") or epoch seconds, as AWS's Date operators accept them.
std::optional<int64_t> ParseDate(std::string_view s) {
  if (auto t = util::ParseIso8601(s)) return util::ToUnixMillis(*t);
  if (s.size() == 10 && s[4] == '-') {  // date only
    if (auto t = util::ParseIso8601(std::string(s) + "T00:00:00Z")) return util::ToUnixMillis(*t);
  }
  if (auto n = ParseNumber(s); n && std::fabs(*n) < 1e15) {
    return static_cast<int64_t>(*n * 1000);  // epoch seconds
  }
  return std::nullopt;
}

// Dotted-quad IPv4 ("127.0.0.1"), strictly: four decimal octets of 1-3
// digits, no leading "+", nothing after. What inet_pton(AF_INET) accepts.
bool ParseIpv4(std::string_view s, unsigned char addr[4]) {
  size_t i = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
    size_t start = i;
    unsigned value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
    }
    if (i == start || value > 255) return false;
    if (i - start > 1 && s[start] == '0') return false;  // inet_pton refuses leading zeros
    addr[octet] = static_cast<unsigned char>(value);
  }
  return i == s.size();
}

// Parses an IPv4 or IPv6 address without allocating (inet_pton needs a NUL).
bool ParseIp(std::string_view s, int* family, unsigned char addr[16]) {
  if (s.find(':') == std::string_view::npos) {
    *family = AF_INET;
    return ParseIpv4(s, addr);
  }
  char text[INET6_ADDRSTRLEN + 1];
  if (s.empty() || s.size() >= sizeof text) return false;
  s.copy(text, s.size());
  text[s.size()] = '\0';
  if (inet_pton(AF_INET, text, addr) == 1) {
    *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, text, addr) == 1) {
    *family = AF_INET6;
    return true;
  }
  return false;
}

bool IpInCidr(std::string_view ip, std::string_view cidr) {
  std::string_view net = cidr;
  int prefix = -1;
  if (auto slash = cidr.find('/'); slash != std::string_view::npos) {
    net = cidr.substr(0, slash);
    std::string_view bits_text = cidr.substr(slash + 1);
    unsigned bits = 0;
    auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    if (bits_text.empty() || ec != std::errc() || end != bits_text.data() + bits_text.size() ||
        bits > 128) {
      return false;
    }
    prefix = static_cast<int>(bits);
  }
  int fa, fb;
  unsigned char a[16], b[16];
  if (!ParseIp(ip, &fa, a) || !ParseIp(net, &fb, b) || fa != fb) return false;
  int bits = fa == AF_INET ? 32 : 128;
  if (prefix < 0) prefix = bits;
  if (prefix > bits) return false;
  int whole = prefix / 8;
  if (std::memcmp(a, b, static_cast<size_t>(whole)) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  unsigned mask = (0xFFu << (8 - rest)) & 0xFFu;
  return (a[whole] & mask) == (b[whole] & mask);
}


// A CIDR block or a bare address: IPv4 with a prefix of 0-32, IPv6 with 0-128.
bool IsCidr(std::string_view cidr) {
  std::string_view net = cidr;
  std::optional<unsigned> prefix;
  if (auto slash = cidr.find('/'); slash != std::string_view::npos) {
    net = cidr.substr(0, slash);
    std::string_view bits_text = cidr.substr(slash + 1);
    unsigned bits = 0;
    auto [end, ec] = std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), bits);
    if (bits_text.empty() || bits_text.size() > 3 || ec != std::errc() ||
        end != bits_text.data() + bits_text.size() || (bits_text.size() > 1 && bits_text[0] == '0')) {
      return false;
    }
    prefix = bits;
  }
  int family;
  unsigned char addr[16];
  if (!ParseIp(net, &family, addr)) return false;
  return !prefix || *prefix <= (family == AF_INET ? 32u : 128u);
}

bool IsBase64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  for (size_t i = 0; i < s.size() - pad; ++i) {
    char c = s[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

// Whether `value` is an operand that the base operator `op` can evaluate, so
// that a stored condition never silently fails to match (a Deny that never
// applies) or, negated, matches everything. String and Arn operators take any
// string (policy variables included).
bool IsValidConditionValue(std::string_view op, std::string_view value) {
  if (op.starts_with("Numeric")) return ParseNumber(value).has_value();
  if (op.starts_with("Date")) return ParseDate(value).has_value();
  if (op == "Bool" || op == "Null") {
    std::string v = Lower(value);
    return v == "true" || v == "false";
  }
  if (op == "BinaryEquals") return IsBase64(value);
  if (op == "IpAddress" || op == "NotIpAddress") return IsCidr(value);
  return true;
}

Result<std::vector<ConditionClause>> ParseConditions(const json& v) {
  if (!v.is_object()) return Malformed("Condition must be an object");
  std::vector<ConditionClause> out;
  for (const auto& [raw_op, block] : v.items()) {
    ConditionClause base;
    std::string_view op = raw_op;
    if (op.starts_with("ForAnyValue:")) {
      base.qualifier = ConditionClause::SetQualifier::kForAnyValue;
      op.remove_prefix(12);
    } else if (op.starts_with("ForAllValues:")) {
      base.qualifier = ConditionClause::SetQualifier::kForAllValues;
      op.remove_prefix(13);
    }
    if (op.ends_with("IfExists")) {
      base.if_exists = true;
      op.remove_suffix(8);
    }
    const auto& known = KnownOperators();
    // Null tests presence itself: AWS has no NullIfExists.
    if (std::find(known.begin(), known.end(), op) == known.end() ||
        (op == "Null" && base.if_exists)) {
      return Malformed("Unknown condition operator " + Shown(raw_op));
    }
    base.op = std::string(op);
    if (!block.is_object()) return Malformed("condition block for " + raw_op + " must be an object");
    for (const auto& [key, values] : block.items()) {
      if (key.empty()) return Malformed("Condition key for " + raw_op + " must not be empty");
      ConditionClause c = base;
      c.key = key;
      c.key_lower = Lower(key);
      COFFER_ASSIGN_OR_RETURN(c.values, StringList(values, "condition value", true));
      for (const std::string& value : c.values) {
        if (!IsValidConditionValue(c.op, value)) {
          return Malformed("Invalid Condition value for " + raw_op + ": " + Shown(value));
        }
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

Result<Statement> ParseStatement(const json& s, bool require_resource) {
  if (!s.is_object()) return Malformed("each Statement must be an object");
  // An element this parser does not read (a misspelled "effect", "Conditions")
  // would be silently ignored: refuse it, as AWS does.
  static constexpr std::string_view kElements[] = {
      "Sid",          "Effect",    "Action",    "NotAction", "Resource",
      "NotResource",  "Principal", "NotPrincipal", "Condition"};
  for (const auto& [name, value] : s.items()) {
    if (std::find(std::begin(kElements), std::end(kElements), name) == std::end(kElements)) {
      return Malformed("Unknown field " + Shown(name) + " in a Statement");
    }
  }
  Statement st;
  if (auto it = s.find("Sid"); it != s.end()) {
    if (!it->is_string()) return Malformed("Sid must be a string");
    st.sid = it->get<std::string>();
  }
  auto effect = s.find("Effect");
  if (effect == s.end() || !effect->is_string()) return Malformed("Statement is missing Effect");
  if (*effect == "Allow") {
    st.effect = Effect::kAllow;
  } else if (*effect == "Deny") {
    st.effect = Effect::kDeny;
  } else {
    return Malformed("Effect must be Allow or Deny");
  }
  auto action = s.find("Action");
  auto not_action = s.find("NotAction");
  if ((action == s.end()) == (not_action == s.end())) {
    return Malformed("Statement needs exactly one of Action or NotAction");
  }
  st.not_action = not_action != s.end();
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> actions,
                          StringList(st.not_action ? *not_action : *action, "Action", false));
  for (auto& a : actions) {
    if (a != "*" && a.find(':') == std::string::npos) {
      return Malformed("Action " + a + " must have the form service:Operation");
    }
    st.actions.push_back(Lower(a));
  }
  auto resource = s.find("Resource");
  auto not_resource = s.find("NotResource");
  if (resource != s.end() && not_resource != s.end()) {
    return Malformed("Statement cannot have both Resource and NotResource");
  }
  if (resource != s.end() || not_resource != s.end()) {
    st.has_resource = true;
    st.not_resource = not_resource != s.end();
    COFFER_ASSIGN_OR_RETURN(st.resources,
                            StringList(st.not_resource ? *not_resource : *resource, "Resource", false));
  } else if (require_resource) {
    return Malformed("Statement is missing Resource");
  }
  auto principal = s.find("Principal");
  auto not_principal = s.find("NotPrincipal");
  if (principal != s.end() && not_principal != s.end()) {
    return Malformed("Statement cannot have both Principal and NotPrincipal");
  }
  if (principal != s.end() || not_principal != s.end()) {
    st.not_principal = not_principal != s.end();
    COFFER_ASSIGN_OR_RETURN(st.principal,
                            ParsePrincipal(st.not_principal ? *not_principal : *principal));
  }
  if (auto it = s.find("Condition"); it != s.end()) {
    COFFER_ASSIGN_OR_RETURN(st.conditions, ParseConditions(*it));
  }
  return st;
}

// --- matching -----------------------------------------------------------------

char Fold(char c, bool ignore_case) { return ignore_case ? AsciiLower(c) : c; }

// Replaces ${key} with the request's value of key; ${*}, ${?}, ${$} are the
// literal escapes. An unknown variable leaves the pattern unmatchable, as AWS
// treats a missing variable.
// Lower-cases a short ASCII string into `buf` without allocating; longer
// ones into `spill`.
template <size_t N>
std::string_view LowerInto(std::string_view s, char (&buf)[N], std::string& spill) {
  if (s.size() <= N) {
    for (size_t i = 0; i < s.size(); ++i) buf[i] = AsciiLower(s[i]);
    return std::string_view(buf, s.size());
  }
  spill = Lower(s);
  return spill;
}

bool Substitute(std::string_view pattern, const RequestContext& request, std::string* out) {
  out->clear();
  size_t i = 0;
  while (i < pattern.size()) {
    size_t at = pattern.find("${", i);
    if (at == std::string_view::npos) {
      out->append(pattern.substr(i));
      break;
    }
    out->append(pattern.substr(i, at - i));
    size_t end = pattern.find('}', at + 2);
    if (end == std::string_view::npos) {
      out->append(pattern.substr(at));
      break;
    }
    std::string_view name = pattern.substr(at + 2, end - at - 2);
    if (name == "*" || name == "?" || name == "$") {
      out->append(name);
    } else {
      char buf[64];
      std::string spill;
      auto it = request.keys.find(LowerInto(name, buf, spill));
      if (it == request.keys.end() || it->second.size() != 1) return false;
      out->append(it->second.front());
    }
    i = end + 1;
  }
  return true;
}

bool MatchWithVariables(std::string_view pattern, std::string_view text,
                        const RequestContext& request, bool ignore_case) {
  if (pattern.find("${") == std::string_view::npos) {
    return WildcardMatch(pattern, text, ignore_case);
  }
  std::string& expanded = request.scratch;  // reused: no allocation per evaluation
  if (!Substitute(pattern, request, &expanded)) return false;
  return WildcardMatch(expanded, text, ignore_case);
}

// Actions in statements are lower-cased when parsed, as `action_lower` is.
bool ActionMatches(const Statement& st, std::string_view action_lower) {
  bool any = false;
  for (const auto& a : st.actions) {
    if (WildcardMatch(a, action_lower, /*ignore_case=*/false)) {
      any = true;
      break;
    }
  }
  return st.not_action ? !any : any;
}

bool ResourceMatches(const Statement& st, const RequestContext& request) {
  if (!st.has_resource) return true;
  bool any = false;
  for (const auto& r : st.resources) {
    if (MatchWithVariables(r, request.resource, request, false)) {
      any = true;
      break;
    }
  }
  return st.not_resource ? !any : any;
}

// Who takes part in an evaluation: every statement (identity policies), or
// those whose Principal names the caller (trust and resource policies, which
// differ in what an account principal means in an Allow).
// kDelegation: only the Allow statements whose Principal names the caller's
// account (a KMS key policy's delegation to the account's IAM policies).
enum class PrincipalMode { kNone, kTrust, kResource, kDelegation };

// Does `entry` ("ACCT" or "arn:aws:iam::ACCT:root") name `account`?
bool NamesAccount(std::string_view entry, std::string_view account) {
  if (account.empty()) return false;
  if (entry == account) return true;
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  constexpr std::string_view kSuffix = ":root";
  return entry.size() == kPrefix.size() + account.size() + kSuffix.size() &&
         entry.starts_with(kPrefix) && entry.ends_with(kSuffix) &&
         entry.substr(kPrefix.size(), account.size()) == account;
}

bool PrincipalMatches(const Statement& st, const RequestContext& request, PrincipalMode mode) {
  if (!st.principal.present) return false;
  const PrincipalSpec& p = st.principal;
  if (mode == PrincipalMode::kDelegation) {
    if (st.effect != Effect::kAllow || st.not_principal) return false;
    for (const auto& a : p.aws) {
      if (NamesAccount(a, request.principal_account)) return true;
    }
    return false;
  }
  // In a resource policy an account principal is a delegation in an Allow (it
  // grants nothing itself) but covers each of the account's callers in a Deny
  // and in NotPrincipal.
  bool accounts_count =
      mode == PrincipalMode::kTrust || st.not_principal || st.effect == Effect::kDeny;
  bool match = p.any;
  for (const auto& a : p.aws) {
    if (match) break;
    if ((!request.principal_arn.empty() && a == request.principal_arn) ||
        (!request.role_arn.empty() && a == request.role_arn) ||
        (accounts_count && NamesAccount(a, request.principal_account))) {
      match = true;
    }
  }
  for (const auto& f : p.federated) {
    if (match) break;
    if (request.federated_provider.empty()) continue;
    // "arn:aws:iam::ACCT:oidc-provider/HOST" or plain "HOST"
    std::string_view fv = f;
    if (auto pos = fv.find(":oidc-provider/"); pos != std::string_view::npos) {
      fv.remove_prefix(pos + 15);
    }
    if (fv == request.federated_provider) match = true;
  }
  return st.not_principal ? !match : match;
}

// Does one request value satisfy the (positive form of the) operator against
// one policy value?
bool MatchOne(std::string_view op, const std::string& policy_value, const std::string& value,
              const RequestContext& request) {
  if (op == "StringEquals" || op == "StringNotEquals") {
    std::string expanded;
    if (!Substitute(policy_value, request, &expanded)) return false;
    return expanded == value;
  }
  if (op == "StringEqualsIgnoreCase" || op == "StringNotEqualsIgnoreCase") {
    std::string expanded;
    if (!Substitute(policy_value, request, &expanded)) return false;
    return Lower(expanded) == Lower(value);
  }
  if (op == "StringLike" || op == "StringNotLike") {
    return MatchWithVariables(policy_value, value, request, false);
  }
  if (op == "ArnEquals" || op == "ArnNotEquals" || op == "ArnLike" || op == "ArnNotLike") {
    return MatchWithVariables(policy_value, value, request, false);
  }
  if (op.starts_with("Numeric")) {
    auto a = ParseNumber(value), b = ParseNumber(policy_value);
    if (!a || !b) return false;
    std::string_view cmp = op.substr(7);
    if (cmp.starts_with("Not")) cmp.remove_prefix(3);
    if (cmp == "Equals") return *a == *b;
    if (cmp == "LessThan") return *a < *b;
    if (cmp == "LessThanEquals") return *a <= *b;
    if (cmp == "GreaterThan") return *a > *b;
    if (cmp == "GreaterThanEquals") return *a >= *b;
    return false;
  }
  if (op.starts_with("Date")) {
    auto a = ParseDate(value), b = ParseDate(policy_value);
    if (!a || !b) return false;
    std::string_view cmp = op.substr(4);
    if (cmp.starts_with("Not")) cmp.remove_prefix(3);
    if (cmp == "Equals") return *a == *b;
    if (cmp == "LessThan") return *a < *b;
    if (cmp == "LessThanEquals") return *a <= *b;
    if (cmp == "GreaterThan") return *a > *b;
    if (cmp == "GreaterThanEquals") return *a >= *b;
    return false;
  }
  if (op == "Bool") return Lower(policy_value) == Lower(value);
  if (op == "BinaryEquals") return policy_value == value;
  if (op == "IpAddress" || op == "NotIpAddress") return IpInCidr(value, policy_value);
  return false;
}

bool IsNegated(std::string_view op) {
  return op == "StringNotEquals" || op == "StringNotEqualsIgnoreCase" || op == "StringNotLike" ||
         op == "NumericNotEquals" || op == "DateNotEquals" || op == "NotIpAddress" ||
         op == "ArnNotEquals" || op == "ArnNotLike";
}

bool ConditionHolds(const ConditionClause& c, const RequestContext& request) {
  auto it = request.keys.find(c.key_lower);
  const std::vector<std::string>* values = it == request.keys.end() ? nullptr : &it->second;
  if (c.op == "Null") {
    bool want_absent = !c.values.empty() && Lower(c.values.front()) == "true";
    bool absent = values == nullptr || values->empty();
    return want_absent == absent;
  }
  if (values == nullptr || values->empty()) {
    if (c.qualifier == ConditionClause::SetQualifier::kForAllValues) return true;  // vacuous
    if (c.if_exists) return true;
    // A negated operator on a missing key: AWS evaluates it to true.
    return IsNegated(c.op) && c.qualifier == ConditionClause::SetQualifier::kNone;
  }
  bool negated = IsNegated(c.op);
  auto value_matches = [&](const std::string& v) {
    bool any = false;
    for (const auto& pv : c.values) {
      if (MatchOne(c.op, pv, v, request)) {
        any = true;
        break;
      }
    }
    return negated ? !any : any;
  };
  switch (c.qualifier) {
    case ConditionClause::SetQualifier::kForAllValues:
      return std::all_of(values->begin(), values->end(), value_matches);
    case ConditionClause::SetQualifier::kForAnyValue:
      return std::any_of(values->begin(), values->end(), value_matches);
    case ConditionClause::SetQualifier::kNone:
      break;
  }
  // Single-valued use: for a positive operator any request value may match;
  // a negated operator must hold for every value.
  if (negated) return std::all_of(values->begin(), values->end(), value_matches);
  return std::any_of(values->begin(), values->end(), value_matches);
}

bool StatementApplies(const Statement& st, const RequestContext& request,
                      std::string_view action_lower, PrincipalMode mode) {
  if (mode != PrincipalMode::kNone && !PrincipalMatches(st, request, mode)) return false;
  if (!ActionMatches(st, action_lower)) return false;
  if (!ResourceMatches(st, request)) return false;
  for (const auto& c : st.conditions) {
    if (!ConditionHolds(c, request)) return false;
  }
  return true;
}

Decision EvaluateImpl(const std::vector<NamedPolicy>& policies, const RequestContext& request,
                      PrincipalMode mode) {
  char buf[128];
  std::string spill;
  std::string_view action_lower = LowerInto(request.action, buf, spill);
  Decision allow;
  for (const auto& np : policies) {
    if (!np.policy) continue;
    int index = 0;
    for (const Statement& st : np.policy->statements) {
      if (StatementApplies(st, request, action_lower, mode)) {
        if (st.effect == Effect::kDeny) {
          return Decision{Decision::Kind::kExplicitDeny, np.name, st.sid, index};
        }
        if (allow.kind != Decision::Kind::kAllow) {
          allow = Decision{Decision::Kind::kAllow, np.name, st.sid, index};
        }
      }
      ++index;
    }
  }
  return allow;
}

}  // namespace

bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  auto same = [ignore_case](char a, char b) {
    return Fold(a, ignore_case) == Fold(b, ignore_case);
  };
  // Fast paths for what policies mostly hold: "*", literals, and patterns
  // whose literal head already differs from the text (other services' ARNs,
  // other paths, other actions).
  if (pattern.size() == 1 && pattern[0] == '*') return true;
  size_t head = std::min(pattern.find('*'), pattern.find('?'));
  if (head == std::string_view::npos) {
    if (pattern.size() != text.size()) return false;
    if (!ignore_case) return pattern == text;
    head = pattern.size();
  }
  if (text.size() < head) return false;
  if (!ignore_case) {
    if (pattern.substr(0, head) != text.substr(0, head)) return false;
  } else {
    for (size_t i = 0; i < head; ++i) {
      if (!same(pattern[i], text[i])) return false;
    }
  }
  // Iterative glob with single-star backtracking from the end of the head:
  // O(n*m) worst case, no recursion.
  size_t p = head, t = head, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && (pattern[p] == '?' || same(pattern[p], text[t]))) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
      // Let the star swallow up to the next place where the literal after it
      // can match (every retry before that fails on its first character).
      if (p < pattern.size() && pattern[p] != '*' && pattern[p] != '?') {
        while (t < text.size() && !same(pattern[p], text[t])) ++t;
        if (t == text.size()) return false;
        mark = t;
      }
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

void RequestContext::Set(std::string key, std::string value) {
  keys[Lower(key)] = {std::move(value)};
}

void RequestContext::Add(std::string key, std::string value) {
  keys[Lower(key)].push_back(std::move(value));
}

Result<Policy> ParsePolicy(std::string_view text, bool require_resource) {
  // nlohmann keeps the last of duplicate keys; AWS would act on one of them
  // and a reader on the other ("Effect":"Deny","Effect":"Allow"): refused.
  StrictJson parsed = ParseStrictJson(text);
  switch (parsed.problem) {
    case StrictJson::Problem::kNone:
      break;
    case StrictJson::Problem::kSyntax:
      return Malformed("the policy document is not valid JSON");
    case StrictJson::Problem::kDuplicateKey:
      return Malformed("Duplicate key '" + Shown(parsed.duplicate_key) +
                       "' in the policy document");
  }
  const json& doc = parsed.doc;
  if (!doc.is_object()) return Malformed("the policy document must be a JSON object");
  for (const auto& [name, value] : doc.items()) {
    if (name != "Version" && name != "Id" && name != "Statement") {
      return Malformed("Unknown field " + Shown(name) + " in the policy document");
    }
  }
  if (auto it = doc.find("Id"); it != doc.end() && !it->is_string()) {
    return Malformed("Id must be a string");
  }
  Policy policy;
  if (auto it = doc.find("Version"); it != doc.end()) {
    if (!it->is_string() || (*it != "2012-10-17" && *it != "2008-10-17")) {
      return Malformed("Version must be 2012-10-17 or 2008-10-17");
    }
    policy.version = it->get<std::string>();
  }
  auto statements = doc.find("Statement");
  if (statements == doc.end()) return Malformed("the policy document has no Statement");
  try {
    if (statements->is_array()) {
      if (statements->empty()) return Malformed("Statement must not be empty");
      for (const json& s : *statements) {
        COFFER_ASSIGN_OR_RETURN(Statement st, ParseStatement(s, require_resource));
        policy.statements.push_back(std::move(st));
      }
    } else {
      COFFER_ASSIGN_OR_RETURN(Statement st, ParseStatement(*statements, require_resource));
      policy.statements.push_back(std::move(st));
    }
  } catch (const json::exception&) {
    return Malformed("the policy document has an element of the wrong type");
  }
  return policy;
}

Result<Policy> ParseResourcePolicy(std::string_view text) {
  COFFER_ASSIGN_OR_RETURN(Policy policy, ParsePolicy(text, /*require_resource=*/false));
  for (const Statement& st : policy.statements) {
    if (!st.principal.present) {
      return Malformed("each statement of a resource policy needs a Principal or NotPrincipal");
    }
  }
  return policy;
}

bool GrantsPublicAccess(const Policy& policy) {
  static constexpr std::string_view kNarrowingKeys[] = {
      "aws:principalarn",  "aws:principalaccount", "aws:principalorgid", "aws:userid",
      "aws:username",      "aws:sourceip",         "aws:sourcevpc",      "aws:sourcevpce",
      "aws:sourceaccount", "aws:sourcearn"};
  for (const Statement& st : policy.statements) {
    if (st.effect != Effect::kAllow) continue;
    bool everyone = st.not_principal || st.principal.any;
    if (!everyone) continue;
    bool narrowed = false;
    for (const ConditionClause& c : st.conditions) {
      if (IsNegated(c.op) || c.op == "Null" || c.if_exists) continue;
      std::string key = Lower(c.key);
      for (std::string_view k : kNarrowingKeys) narrowed = narrowed || key == k;
    }
    if (!narrowed) return true;
  }
  return false;
}

Decision Evaluate(const std::vector<NamedPolicy>& policies, const RequestContext& request) {
  return EvaluateImpl(policies, request, PrincipalMode::kNone);
}

std::string_view Decision::KindName() const {
  switch (kind) {
    case Kind::kAllow:
      return "allow";
    case Kind::kExplicitDeny:
      return "explicit-deny";
    case Kind::kImplicitDeny:
      break;
  }
  return "implicit-deny";
}

std::string Decision::Describe() const {
  if (policy_name.empty()) return "";
  std::string out = policy_name;
  if (sid.empty() && statement_index < 0) return out;  // no statement: "admin"
  out += '#';
  out += sid.empty() ? std::to_string(statement_index) : sid;
  return out;
}

Decision EvaluateWithPrincipal(const std::vector<NamedPolicy>& policies,
                               const RequestContext& request) {
  return EvaluateImpl(policies, request, PrincipalMode::kTrust);
}

Decision EvaluateResourcePolicy(const std::vector<NamedPolicy>& policies,
                                const RequestContext& request) {
  return EvaluateImpl(policies, request, PrincipalMode::kResource);
}

Decision EvaluateAccountDelegation(const std::vector<NamedPolicy>& policies,
                                   const RequestContext& request) {
  return EvaluateImpl(policies, request, PrincipalMode::kDelegation);
}

}  // namespace coffer::auth
