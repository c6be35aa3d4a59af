#include "auth/policy.h"

#include <arpa/inet.h>
#include <strings.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include "util/time.h"

namespace coffer::auth {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::unexpected<Error> Malformed(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kMalformedPolicy);
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
    if (std::find(known.begin(), known.end(), op) == known.end()) {
      return Malformed("unknown condition operator " + raw_op);
    }
    base.op = std::string(op);
    if (!block.is_object()) return Malformed("condition block for " + raw_op + " must be an object");
    for (const auto& [key, values] : block.items()) {
      ConditionClause c = base;
      c.key = key;
      COFFER_ASSIGN_OR_RETURN(c.values, StringList(values, "condition value", true));
      out.push_back(std::move(c));
    }
  }
  return out;
}

Result<Statement> ParseStatement(const json& s, bool require_resource) {
  if (!s.is_object()) return Malformed("each Statement must be an object");
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

char Fold(char c, bool ignore_case) {
  return ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// Replaces ${key} with the request's value of key; ${*}, ${?}, ${$} are the
// literal escapes. An unknown variable leaves the pattern unmatchable, as AWS
// treats a missing variable.
bool Substitute(std::string_view pattern, const RequestContext& request, std::string* out) {
  out->clear();
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == '$' && i + 1 < pattern.size() && pattern[i + 1] == '{') {
      size_t end = pattern.find('}', i + 2);
      if (end == std::string_view::npos) {
        out->append(pattern.substr(i));
        break;
      }
      std::string_view name = pattern.substr(i + 2, end - i - 2);
      if (name == "*" || name == "?" || name == "$") {
        out->append(name);
      } else {
        auto it = request.keys.find(Lower(name));
        if (it == request.keys.end() || it->second.size() != 1) return false;
        out->append(it->second.front());
      }
      i = end + 1;
    } else {
      out->push_back(pattern[i++]);
    }
  }
  return true;
}

bool MatchWithVariables(std::string_view pattern, std::string_view text,
                        const RequestContext& request, bool ignore_case) {
  if (pattern.find("${") == std::string_view::npos) {
    return WildcardMatch(pattern, text, ignore_case);
  }
  std::string expanded;
  if (!Substitute(pattern, request, &expanded)) return false;
  return WildcardMatch(expanded, text, ignore_case);
}

bool ActionMatches(const Statement& st, std::string_view action_lower) {
  bool any = false;
  for (const auto& a : st.actions) {
    if (WildcardMatch(a, action_lower, false)) {
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

bool PrincipalMatches(const Statement& st, const RequestContext& request) {
  if (!st.principal.present) return false;
  const PrincipalSpec& p = st.principal;
  bool match = p.any;
  for (const auto& a : p.aws) {
    if (match) break;
    if (a == request.principal_arn || a == request.principal_account ||
        a == "arn:aws:iam::" + request.principal_account + ":root") {
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

std::optional<double> ParseNumber(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseDate(const std::string& s) {
  if (auto t = util::ParseIso8601(s)) return util::ToUnixMillis(*t);
  if (s.size() == 10) {  // date only
    if (auto t = util::ParseIso8601(s + "T00:00:00Z")) return util::ToUnixMillis(*t);
  }
  if (auto n = ParseNumber(s)) return static_cast<int64_t>(*n * 1000);  // epoch seconds
  return std::nullopt;
}

bool ParseIp(const std::string& s, int* family, unsigned char addr[16]) {
  if (inet_pton(AF_INET, s.c_str(), addr) == 1) {
    *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), addr) == 1) {
    *family = AF_INET6;
    return true;
  }
  return false;
}

bool IpInCidr(const std::string& ip, const std::string& cidr) {
  std::string net = cidr;
  int prefix = -1;
  if (auto slash = cidr.find('/'); slash != std::string::npos) {
    net = cidr.substr(0, slash);
    auto n = ParseNumber(cidr.substr(slash + 1));
    if (!n) return false;
    prefix = static_cast<int>(*n);
  }
  int fa, fb;
  unsigned char a[16], b[16];
  if (!ParseIp(ip, &fa, a) || !ParseIp(net, &fb, b) || fa != fb) return false;
  int bits = fa == AF_INET ? 32 : 128;
  if (prefix < 0) prefix = bits;
  if (prefix > bits) return false;
  for (int i = 0; i < prefix; ++i) {
    int byte = i / 8, bit = 7 - i % 8;
    if (((a[byte] >> bit) & 1) != ((b[byte] >> bit) & 1)) return false;
  }
  return true;
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
  auto it = request.keys.find(Lower(c.key));
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
                      const std::string& action_lower, bool with_principal) {
  if (with_principal && !PrincipalMatches(st, request)) return false;
  if (!ActionMatches(st, action_lower)) return false;
  if (!ResourceMatches(st, request)) return false;
  for (const auto& c : st.conditions) {
    if (!ConditionHolds(c, request)) return false;
  }
  return true;
}

Decision EvaluateImpl(const std::vector<NamedPolicy>& policies, const RequestContext& request,
                      bool with_principal) {
  std::string action_lower = Lower(request.action);
  Decision allow;
  for (const auto& np : policies) {
    if (!np.policy) continue;
    int index = 0;
    for (const Statement& st : np.policy->statements) {
      if (StatementApplies(st, request, action_lower, with_principal)) {
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
  // Iterative glob with single-star backtracking: O(n*m) worst case, no recursion.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' || Fold(pattern[p], ignore_case) == Fold(text[t], ignore_case))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
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
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception&) {
    return Malformed("the policy document is not valid JSON");
  }
  if (!doc.is_object()) return Malformed("the policy document must be a JSON object");
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

Decision Evaluate(const std::vector<NamedPolicy>& policies, const RequestContext& request) {
  return EvaluateImpl(policies, request, false);
}

Decision EvaluateWithPrincipal(const std::vector<NamedPolicy>& policies,
                               const RequestContext& request) {
  return EvaluateImpl(policies, request, true);
}

}  // namespace coffer::auth
