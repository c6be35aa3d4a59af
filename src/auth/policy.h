// IAM policy documents and their evaluation, with AWS semantics: default deny,
// an explicit Deny wins over any Allow, Action/NotAction and
// Resource/NotResource with `*` and `?` wildcards, Condition operators with
// IfExists and ForAnyValue/ForAllValues qualifiers, and policy variables such
// as ${aws:username}. Parsed policies are immutable and thread-safe to share;
// evaluation allocates little and never touches storage.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace coffer::auth {

enum class Effect { kAllow, kDeny };

// A Principal / NotPrincipal element (trust and resource policies only).
struct PrincipalSpec {
  bool present = false;
  bool any = false;  // "Principal": "*" or {"AWS": "*"}
  std::vector<std::string> aws;        // ARNs or account ids
  std::vector<std::string> federated;  // OIDC provider ARNs / names
  std::vector<std::string> service;
};

struct ConditionClause {
  std::string op;         // base operator, e.g. "StringLike" (without IfExists / qualifier)
  bool if_exists = false;
  enum class SetQualifier { kNone, kForAnyValue, kForAllValues } qualifier = SetQualifier::kNone;
  std::string key;        // condition key as written (matched case-insensitively)
  std::vector<std::string> values;
};

struct Statement {
  std::string sid;
  Effect effect = Effect::kAllow;
  bool not_action = false;
  std::vector<std::string> actions;  // lower-cased
  bool has_resource = false;
  bool not_resource = false;
  std::vector<std::string> resources;
  bool not_principal = false;
  PrincipalSpec principal;
  std::vector<ConditionClause> conditions;
};

struct Policy {
  std::string version;  // "2012-10-17" or "2008-10-17"
  std::vector<Statement> statements;
};

// Parses a JSON policy document. kInvalidArgument (Reason::kMalformedPolicy)
// with a message naming the problem: not JSON, missing Statement/Effect,
// Action and NotAction together, unknown condition operator, ...
// `require_resource`: identity policies need Resource/NotResource in each
// statement; trust policies have none.
Result<Policy> ParsePolicy(std::string_view json, bool require_resource);

// The facts about one request that policies are evaluated against.
struct RequestContext {
  std::string action;    // "ssm:GetParameter" (any case)
  std::string resource;  // ARN; "*" when the action has no resource
  // Condition keys, names lower-cased ("aws:username", "ssm:resourcetag/env").
  // A key may have several values (multi-valued keys like aws:TagKeys).
  std::map<std::string, std::vector<std::string>, std::less<>> keys;
  // For trust/resource policies: the calling principal's ARN and account,
  // and for web identity the provider ("token.actions.githubusercontent.com").
  std::string principal_arn;
  std::string principal_account;
  std::string federated_provider;

  void Set(std::string key, std::string value);
  void Add(std::string key, std::string value);
};

struct Decision {
  enum class Kind { kAllow, kExplicitDeny, kImplicitDeny } kind = Kind::kImplicitDeny;
  // Which policy and statement decided (empty for an implicit deny).
  std::string policy_name;
  std::string sid;
  int statement_index = -1;

  bool allowed() const { return kind == Kind::kAllow; }
};

struct NamedPolicy {
  std::string name;  // e.g. "user/alice/inline/read" or a managed policy ARN
  std::shared_ptr<const Policy> policy;
};

// Evaluates identity policies: explicit deny > allow > implicit deny.
Decision Evaluate(const std::vector<NamedPolicy>& policies, const RequestContext& request);

// Evaluates a trust or resource policy: statements whose Principal matches
// the request's principal (or federated provider) take part.
Decision EvaluateWithPrincipal(const std::vector<NamedPolicy>& policies,
                               const RequestContext& request);

// `*` matches any run (including empty), `?` exactly one character.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case);

}  // namespace coffer::auth
