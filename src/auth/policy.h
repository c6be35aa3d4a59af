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
  std::string key_lower;  // `key` lower-cased, as RequestContext::keys holds it
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

// Parses a resource policy (a Secrets Manager secret's): as ParsePolicy with
// Resource optional, and every statement must name its principals (Principal
// or NotPrincipal). kInvalidArgument (kMalformedPolicy) otherwise.
Result<Policy> ParseResourcePolicy(std::string_view json);

// Whether a resource policy grants broad ("public") access: an Allow statement
// whose principal is everyone ("*", {"AWS": "*"}, or a NotPrincipal) and that
// no condition narrows to known callers (aws:PrincipalArn, aws:PrincipalAccount,
// aws:PrincipalOrgID, aws:userid, aws:username, aws:SourceIp, aws:SourceVpc,
// aws:SourceVpce, aws:SourceAccount, aws:SourceArn). What BlockPublicPolicy
// refuses.
bool GrantsPublicAccess(const Policy& policy);

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
  // For a role session (principal_arn is then the assumed-role ARN): the
  // role's ARN, which a Principal element may name instead of the session's.
  std::string role_arn;
  // Scratch space of evaluation (policy variables are expanded into it), kept
  // so that evaluating a context many times does not allocate. A context is
  // therefore used by one thread at a time.
  mutable std::string scratch;

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
  // "allow" | "explicit-deny" | "implicit-deny", as audit records spell it.
  std::string_view KindName() const;
  // "<policy>#<sid or statement index>" ("admin" for the admin), or "" for an
  // implicit deny.
  std::string Describe() const;
};

struct NamedPolicy {
  std::string name;  // e.g. "user/alice/inline/read" or a managed policy ARN
  std::shared_ptr<const Policy> policy;
};

// Evaluates identity policies: explicit deny > allow > implicit deny.
Decision Evaluate(const std::vector<NamedPolicy>& policies, const RequestContext& request);

// Evaluates a trust policy: statements whose Principal matches the request's
// principal (its ARN, role_arn, account as "ACCT" or "arn:aws:iam::ACCT:root",
// "*") or federated provider take part.
Decision EvaluateWithPrincipal(const std::vector<NamedPolicy>& policies,
                               const RequestContext& request);

// Evaluates a resource policy for a caller of the resource's own account, as
// AWS does: a statement takes part when its Principal names the caller (its
// ARN; for a role session also the role's ARN; or "*"). An account principal
// ("ACCT" or "arn:aws:iam::ACCT:root") names every caller of that account in a
// Deny (and in NotPrincipal), but in an Allow it grants nothing by itself: AWS
// delegates it to the account's identity policies, which are evaluated anyway.
Decision EvaluateResourcePolicy(const std::vector<NamedPolicy>& policies,
                                const RequestContext& request);

// Whether a resource policy delegates the request to the caller's account: an
// Allow statement whose Principal names the account ("ACCT" or
// "arn:aws:iam::ACCT:root") applies to it (action, resource, conditions).
// Deny statements take no part (EvaluateResourcePolicy sees them). This is what
// a KMS key policy's "Enable IAM User Permissions" statement does: the
// account's IAM policies may then grant the request. kAllow naming the
// statement, or kImplicitDeny.
Decision EvaluateAccountDelegation(const std::vector<NamedPolicy>& policies,
                                   const RequestContext& request);

// `*` matches any run (including empty), `?` exactly one character.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case);

}  // namespace coffer::auth
