// Authorization of one request: the caller's identity policies (compiled once
// per principal and cached until IAM changes) and, for resources that carry
// one (Secrets Manager secrets), the resource policy, evaluated for each
// action/resource the request touches with the request's condition keys
// (aws:username, aws:PrincipalArn, aws:SourceIp, aws:CurrentTime,
// aws:SecureTransport, plus per-call keys such as ssm:ResourceTag/*). The
// decisions are kept for the audit record.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authenticator.h"
#include "auth/policy.h"
#include "domain/iam/identity_store.h"
#include "util/result.h"
#include "util/mutex.h"
#include "util/time.h"

namespace coffer::auth {

// A policy document as stored in IAM, with the name the audit log shows.
struct PolicyText {
  std::string name;
  std::string document;
};

struct CompiledPolicies {
  std::vector<NamedPolicy> policies;
  bool uses_resource_tags = false;  // some condition reads */ResourceTag/*
  // Which of the request's own keys (aws:username, aws:SourceIp, ...) some
  // condition or ${variable} reads, one bit each: a request context fills only
  // those.
  uint32_t request_keys = 0;
};

enum class PolicyKind {
  kIdentity,  // users', groups' and roles' policies: Resource required (ParsePolicy)
  kResource,  // a resource's policy: Principal required (ParseResourcePolicy)
};

// Compiles a policy set. A document that does not parse (it was validated
// when stored) is reported in the log and compiled as a deny of everything,
// so that losing it can never allow more.
std::shared_ptr<const CompiledPolicies> CompilePolicies(PolicyKind kind,
                                                        const std::vector<PolicyText>& texts);

// Compiles policy sets (CompilePolicies) and caches them under a key (a
// principal or access key id, a resource ARN) for one generation (IAM's change
// counter, a record's revision). Thread-safe.
class PolicyCache {
 public:
  explicit PolicyCache(PolicyKind kind = PolicyKind::kIdentity) : kind_(kind) {}

  // The compiled form of `texts` for `key` at `generation`. A document that
  // no longer parses (it was validated when stored) is reported in the log and
  // compiled as a deny of everything, so that losing it can never allow more.
  std::shared_ptr<const CompiledPolicies> Get(const std::string& key, uint64_t generation,
                                              const std::vector<PolicyText>& texts);
  // What Get cached for `key` at exactly `generation`; null when nothing is.
  // For callers that can skip reading the texts on a hit (the hot path).
  std::shared_ptr<const CompiledPolicies> Find(std::string_view key, uint64_t generation);

 private:
  struct Entry {
    uint64_t generation = 0;
    std::shared_ptr<const CompiledPolicies> compiled;
  };
  const PolicyKind kind_;
  util::SharedMutex mu_;
  std::map<std::string, Entry, std::less<>> entries_ COFFER_GUARDED_BY(mu_);
};

using KeyMap = std::map<std::string, std::vector<std::string>>;

// One permission a request needs: `action` on `resource` with the condition
// keys that describe the resource and the request, under the resource's own
// policy when it has one. The API's handler tables declare these (which
// action, how the resource is found); the request pipeline checks them.
struct Permission {
  enum class PolicyRole {
    kNone,      // identity policies alone decide
    kResource,  // a resource policy (a secret's): identity OR resource allows, no Deny
    kKey,       // a KMS key policy: it must allow or delegate (CheckKeyPolicy)
  };
  std::string action;    // "ssm:GetParameter"
  std::string resource;  // the canonical ARN, or "*"
  KeyMap keys;           // aws:ResourceTag/*, aws:RequestTag/*, service keys, ...
  std::shared_ptr<const CompiledPolicies> policy;  // null: the resource has none
  PolicyRole role = PolicyRole::kNone;
};

// Per-request authorization state. Not thread-safe (one request, one thread).
class RequestAuthorization {
 public:
  using KeyMap = auth::KeyMap;

  // `policies` may be null for an administrator (is_admin) principal.
  // `principal` must outlive this object.
  RequestAuthorization(const Principal& principal, std::shared_ptr<const CompiledPolicies> policies,
                       std::string_view source_ip, bool secure, util::SystemTime now);

  // A request that every check allows (Authorizer::UnsafeAllowAll only).
  struct AllowAllTag {};
  RequestAuthorization(AllowAllTag, const Principal& principal, std::string_view source_ip,
                       bool secure, util::SystemTime now);

  // The check a Permission describes (Check, or CheckKeyPolicy for a key
  // policy); recorded as the request's decision like Check.
  Status Check(const Permission& permission);
  // The same decision without the error; not recorded.
  bool Allowed(const Permission& permission);

  // Allowed, or kPermissionDenied (Reason::kAccessDenied) with AWS's message:
  // "User: <arn> is not authorized to perform: <action> on resource: <resource>
  // [because no identity-based policy allows the <action> action |
  //  with an explicit deny in an identity-based policy |
  //  with an explicit deny in a resource-based policy]".
  // `resource_policy` (null: none) is the resource's own policy: as on AWS for
  // a caller of the same account, the request is allowed when the identity
  // policies or the resource policy allow it and neither denies it explicitly.
  // An administrator is always allowed.
  Status Check(std::string_view action, std::string_view resource, const KeyMap& extra_keys = {},
               const CompiledPolicies* resource_policy = nullptr);
  // The same decision without the error (for filtering list results); it is
  // not recorded as the request's decision.
  bool Allowed(std::string_view action, std::string_view resource, const KeyMap& extra_keys = {},
               const CompiledPolicies* resource_policy = nullptr);

  // Checks a request on a KMS key, whose key policy `key_policy` (compiled as
  // PolicyKind::kResource) must allow it, as AWS KMS does: allowed when no
  // Deny in the key policy or the identity policies applies, and the key
  // policy allows the caller directly (its Principal names the caller's ARN or
  // role, or "*"), or an Allow of the key policy names the caller's account
  // (EvaluateAccountDelegation) and the identity policies allow it. IAM
  // policies alone grant nothing on a key whose policy does not delegate to the
  // account. An administrator counts as the account root: its identity
  // policies allow everything, but the key policy still has to allow or
  // delegate, and its Deny applies. Refusals are kPermissionDenied
  // (kAccessDenied) with AWS's message; "because no resource-based policy
  // allows the <action> action" when the key policy neither allows nor
  // delegates.
  Status CheckKeyPolicy(std::string_view action, std::string_view resource,
                        const KeyMap& extra_keys, const CompiledPolicies& key_policy);
  // The same decision without the error; not recorded.
  bool AllowedByKeyPolicy(std::string_view action, std::string_view resource,
                          const KeyMap& extra_keys, const CompiledPolicies& key_policy);

  // A resource's policy (a KMS key policy, ...) compiled as
  // PolicyKind::kResource, from the cache of the Authorizer that began this
  // request (by `key` at `generation`; `texts` is called on a miss only), or
  // compiled on the spot when the request was not begun by one.
  std::shared_ptr<const CompiledPolicies> ResourcePolicy(
      std::string_view key, uint64_t generation,
      const std::function<std::vector<PolicyText>()>& texts);

  // Records a decision made by an evaluation of the caller's own (STS's trust
  // policies) as the request's decision, under the same rule as Check (the
  // first deny, else the last allow). `kind` is a Decision::KindName().
  void Note(std::string_view resource, std::string_view kind, std::string decided_by);

  // Whether every check is allowed without evaluation
  // (Authorizer::UnsafeAllowAll): callers may skip work done only for checks.
  bool Unrestricted() const { return allow_all_; }

  // Whether any identity policy reads resource tags (so callers fetch tags
  // only then); a resource policy says so in its own CompiledPolicies.
  bool NeedsResourceTags() const;

  // For the audit record: "allow", "explicit-deny", "implicit-deny" or "" (no
  // check made), and which policy/statement decided.
  const std::string& decision() const { return decision_; }
  const std::string& decided_by() const { return decided_by_; }
  const std::string& resource() const { return resource_; }

 private:
  struct Outcome {
    Decision decision;
    bool by_resource_policy = false;  // the deciding statement is the resource policy's
    bool no_resource_allow = false;   // a key policy neither allowed nor delegated
  };
  Outcome Evaluate(std::string_view action, std::string_view resource, const KeyMap& extra_keys,
                   const CompiledPolicies* resource_policy);
  Outcome EvaluateKey(std::string_view action, std::string_view resource,
                      const KeyMap& extra_keys, const CompiledPolicies& key_policy);
  // Sets this check's action, resource and per-call keys on the context, runs
  // `evaluate`, then takes the per-call keys out again.
  template <class F>
  Outcome WithRequest(std::string_view action, std::string_view resource,
                      const KeyMap& extra_keys, F&& evaluate);
  // Records `outcome` as the request's decision (the first deny, else the last
  // allow) and renders a refusal.
  Status Record(const Outcome& outcome, std::string_view action, std::string_view resource);

  // Adds the request keys of `wanted` (CompiledPolicies::request_keys bits)
  // that the context does not hold yet.
  void FillRequestKeys(uint32_t wanted);

  friend class Authorizer;

  const Principal& principal_;
  std::shared_ptr<const CompiledPolicies> policies_;
  bool allow_all_ = false;  // Authorizer::UnsafeAllowAll
  PolicyCache* resource_policies_ = nullptr;  // the Authorizer's, when it began the request
  // The request's facts; action, resource and the per-call keys are set for
  // each evaluation and the per-call keys removed again after it. Its request
  // keys are filled on first need (most policies read one or two of them).
  RequestContext context_;
  uint32_t filled_keys_ = 0;
  std::string source_ip_;
  bool secure_ = false;
  util::SystemTime now_;
  std::string decision_;
  std::string decided_by_;
  std::string resource_;
};

// Where each request's authorization comes from: the caller's compiled
// identity policies (a PolicySource, e.g. IAM through a PolicyCache) and the
// clock for aws:CurrentTime. Every API front is built with one; there is no
// front without authorization. Thread-safe.
class Authorizer {
 public:
  // The caller's compiled policies; null denies everything (an administrator
  // needs none).
  using PolicySource =
      std::function<std::shared_ptr<const CompiledPolicies>(const Principal& principal)>;

  Authorizer(PolicySource source, util::Clock& clock);

  // An authorizer that allows every authenticated request
  // (`coffer server --dev --unsafe-skip-authorization`, for benchmarks). It is
  // never a default: a caller has to ask for it by name.
  static Authorizer UnsafeAllowAll(util::Clock& clock);

  // The authorization state of one request by `principal`.
  RequestAuthorization Begin(const Principal& principal, std::string_view source_ip,
                             bool secure) const;

  util::Clock& clock() const { return clock_; }

  // The policy source of IAM: the caller's access key's user or role, its
  // groups', attached and inline policies, compiled once per access key and
  // IAM generation in `cache`. Both must outlive the source.
  static PolicySource IamPolicies(domain::iam::IdentityStore& identities, PolicyCache& cache);

 private:
  explicit Authorizer(util::Clock& clock);

  PolicySource source_;
  util::Clock& clock_;
  bool allow_all_ = false;
  // Compiled resource policies (KMS key policies), shared by every request:
  // a memo keyed by what the caller names (a policy's hash), so a changed
  // policy is never served its predecessor's compiled form.
  std::shared_ptr<PolicyCache> resource_policies_;
};

}  // namespace coffer::auth
