#include "auth/authorizer.h"

#include <cctype>

#include "domain/arn.h"
#include "util/check.h"
#include "util/log.h"

namespace coffer::auth {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ReadsResourceTags(const Policy& policy) {
  for (const Statement& st : policy.statements) {
    for (const ConditionClause& c : st.conditions) {
      if (c.key_lower.find(":resourcetag/") != std::string::npos) return true;
    }
  }
  return false;
}

// The request's own condition keys, one bit each in CompiledPolicies::request_keys.
enum RequestKey : uint32_t {
  kPrincipalArn = 1u << 0,
  kPrincipalAccount = 1u << 1,
  kUserId = 1u << 2,
  kUserName = 1u << 3,
  kSourceIp = 1u << 4,
  kSecureTransport = 1u << 5,
  kCurrentTime = 1u << 6,
  kEpochTime = 1u << 7,
};

uint32_t RequestKeyBit(std::string_view lower_key) {
  static constexpr std::pair<std::string_view, RequestKey> kKeys[] = {
      {"aws:principalarn", kPrincipalArn},
      {"aws:principalaccount", kPrincipalAccount},
      {"aws:userid", kUserId},
      {"aws:username", kUserName},
      {"aws:sourceip", kSourceIp},
      {"aws:securetransport", kSecureTransport},
      {"aws:currenttime", kCurrentTime},
      {"aws:epochtime", kEpochTime}};
  for (const auto& [name, bit] : kKeys) {
    if (name == lower_key) return bit;
  }
  return 0;
}

// The request keys named by ${...} variables in `text`.
uint32_t VariableKeys(std::string_view text) {
  uint32_t bits = 0;
  for (size_t at = text.find("${"); at != std::string_view::npos; at = text.find("${", at + 2)) {
    size_t end = text.find('}', at + 2);
    if (end == std::string_view::npos) break;
    bits |= RequestKeyBit(Lower(text.substr(at + 2, end - at - 2)));
  }
  return bits;
}

// Every request key a policy can read: condition keys and the variables in
// Resource/NotResource and condition values.
uint32_t RequestKeysOf(const Policy& policy) {
  uint32_t bits = 0;
  for (const Statement& st : policy.statements) {
    for (const std::string& r : st.resources) bits |= VariableKeys(r);
    for (const ConditionClause& c : st.conditions) {
      bits |= RequestKeyBit(c.key_lower);
      for (const std::string& v : c.values) bits |= VariableKeys(v);
    }
  }
  return bits;
}

}  // namespace

std::shared_ptr<const CompiledPolicies> PolicyCache::Find(std::string_view key,
                                                          uint64_t generation) {
  util::ReaderLock lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.generation == generation) return it->second.compiled;
  return nullptr;
}

std::shared_ptr<const CompiledPolicies> CompilePolicies(PolicyKind kind,
                                                        const std::vector<PolicyText>& texts) {
  auto compiled = std::make_shared<CompiledPolicies>();
  for (const PolicyText& t : texts) {
    auto parsed = kind == PolicyKind::kResource
                      ? ParseResourcePolicy(t.document)
                      : ParsePolicy(t.document, /*require_resource=*/true);
    if (!parsed) {
      // Fail closed: ignoring it could drop a Deny, so it denies everything
      // instead (and the audit record names it as the deciding policy).
      util::LogError("stored policy no longer parses; it denies every request until fixed",
                     {{"policy", t.name}, {"error", parsed.error().message}});
      constexpr std::string_view kDenyAll =
          R"({"Version":"2012-10-17","Statement":[{"Sid":"Unreadable","Effect":"Deny",)"
          R"("Action":"*","Resource":"*"}]})";
      constexpr std::string_view kDenyAllResource =
          R"({"Version":"2012-10-17","Statement":[{"Sid":"Unreadable","Effect":"Deny",)"
          R"("Principal":"*","Action":"*","Resource":"*"}]})";
      parsed = kind == PolicyKind::kResource ? ParseResourcePolicy(kDenyAllResource)
                                             : ParsePolicy(kDenyAll, /*require_resource=*/true);
      COFFER_CHECK(parsed.has_value());
    }
    compiled->uses_resource_tags = compiled->uses_resource_tags || ReadsResourceTags(*parsed);
    compiled->request_keys |= RequestKeysOf(*parsed);
    compiled->policies.push_back({t.name, std::make_shared<Policy>(std::move(*parsed))});
  }
  return compiled;
}

std::shared_ptr<const CompiledPolicies> PolicyCache::Get(const std::string& key,
                                                         uint64_t generation,
                                                         const std::vector<PolicyText>& texts) {
  if (auto hit = Find(key, generation)) return hit;
  std::shared_ptr<const CompiledPolicies> compiled = CompilePolicies(kind_, texts);
  util::WriterLock lock(mu_);
  if (entries_.size() > 10000) entries_.clear();  // bound; entries are cheap to rebuild
  entries_[key] = Entry{generation, compiled};
  return compiled;
}

RequestAuthorization::RequestAuthorization(const Principal& principal,
                                           std::shared_ptr<const CompiledPolicies> policies,
                                           std::string_view source_ip, bool secure,
                                           util::SystemTime now)
    : principal_(principal),
      policies_(std::move(policies)),
      source_ip_(source_ip),
      secure_(secure),
      now_(now) {
  context_.principal_arn = principal.arn;
  context_.principal_account = principal.account_id;
  if (!principal.role_arn.empty()) {
    context_.role_arn = principal.role_arn;
  } else if (!principal.role_name.empty()) {
    context_.role_arn = domain::IamArn(principal.account_id, "role", "/", principal.role_name);
  }
}

RequestAuthorization::RequestAuthorization(AllowAllTag, const Principal& principal,
                                           std::string_view source_ip, bool secure,
                                           util::SystemTime now)
    : RequestAuthorization(principal, nullptr, source_ip, secure, now) {
  allow_all_ = true;
}

void RequestAuthorization::FillRequestKeys(uint32_t wanted) {
  uint32_t missing = wanted & ~filled_keys_;
  if (missing == 0) return;
  filled_keys_ |= missing;
  // For a role session aws:PrincipalArn is the role's ARN, as on AWS.
  if (missing & kPrincipalArn) {
    context_.Set("aws:PrincipalArn",
                 context_.role_arn.empty() ? principal_.arn : context_.role_arn);
  }
  if (missing & kPrincipalAccount) context_.Set("aws:PrincipalAccount", principal_.account_id);
  if (missing & kUserId) context_.Set("aws:userid", principal_.user_id);
  if ((missing & kUserName) && !principal_.user_name.empty()) {
    context_.Set("aws:username", principal_.user_name);
  }
  if (missing & kSourceIp) context_.Set("aws:SourceIp", source_ip_);
  if (missing & kSecureTransport) context_.Set("aws:SecureTransport", secure_ ? "true" : "false");
  if (missing & kCurrentTime) context_.Set("aws:CurrentTime", util::FormatIso8601(now_));
  if (missing & kEpochTime) {
    context_.Set("aws:EpochTime", std::to_string(util::ToUnixMillis(now_) / 1000));
  }
}

bool RequestAuthorization::NeedsResourceTags() const {
  return policies_ && !principal_.is_admin && !allow_all_ && policies_->uses_resource_tags;
}

template <class F>
RequestAuthorization::Outcome RequestAuthorization::WithRequest(std::string_view action,
                                                                std::string_view resource,
                                                                const KeyMap& extra_keys,
                                                                F&& evaluate) {
  // The context is reused across the request's checks rather than copied for
  // each: set this check's facts, evaluate, then take the per-call keys out.
  context_.action.assign(action);
  context_.resource.assign(resource);
  constexpr size_t kAbsent = static_cast<size_t>(-1);
  std::vector<std::pair<std::string, size_t>> added;  // lower-cased key, previous count
  if (!extra_keys.empty()) {
    added.reserve(extra_keys.size());
    for (const auto& [key, values] : extra_keys) {
      std::string lower = Lower(key);
      auto [it, inserted] = context_.keys.try_emplace(lower);
      added.emplace_back(std::move(lower), inserted ? kAbsent : it->second.size());
      it->second.insert(it->second.end(), values.begin(), values.end());
    }
  }
  Outcome out = evaluate();
  for (auto& [key, before] : added) {
    auto it = context_.keys.find(key);
    if (before == kAbsent) {
      context_.keys.erase(it);
    } else {
      it->second.resize(before);
    }
  }
  return out;
}

RequestAuthorization::Outcome RequestAuthorization::Evaluate(
    std::string_view action, std::string_view resource, const KeyMap& extra_keys,
    const CompiledPolicies* resource_policy) {
  if (principal_.is_admin) return {Decision{Decision::Kind::kAllow, "admin", "", -1}, false};
  if (allow_all_) {
    return {Decision{Decision::Kind::kAllow, "unsafe-skip-authorization", "", -1}, false};
  }
  if (!policies_ && resource_policy == nullptr) return {};
  FillRequestKeys((policies_ ? policies_->request_keys : 0) |
                  (resource_policy ? resource_policy->request_keys : 0));
  return WithRequest(action, resource, extra_keys, [&] {
    Outcome out;
    Decision identity = policies_ ? auth::Evaluate(policies_->policies, context_) : Decision{};
    out.decision = identity;
    if (identity.kind != Decision::Kind::kExplicitDeny && resource_policy != nullptr) {
      Decision by_resource = EvaluateResourcePolicy(resource_policy->policies, context_);
      if (by_resource.kind == Decision::Kind::kExplicitDeny ||
          (by_resource.allowed() && !identity.allowed())) {
        out = {std::move(by_resource), true};
      }
    }
    return out;
  });
}

RequestAuthorization::Outcome RequestAuthorization::EvaluateKey(
    std::string_view action, std::string_view resource, const KeyMap& extra_keys,
    const CompiledPolicies& key_policy) {
  if (allow_all_) {
    return {Decision{Decision::Kind::kAllow, "unsafe-skip-authorization", "", -1}, false};
  }
  uint32_t wanted = key_policy.request_keys;
  if (policies_ && !principal_.is_admin) wanted |= policies_->request_keys;
  FillRequestKeys(wanted);
  return WithRequest(action, resource, extra_keys, [&] {
    Outcome out;
    Decision identity;
    if (principal_.is_admin) {
      identity = Decision{Decision::Kind::kAllow, "admin", "", -1};
    } else if (policies_) {
      identity = auth::Evaluate(policies_->policies, context_);
    }
    if (identity.kind == Decision::Kind::kExplicitDeny) {
      out.decision = std::move(identity);
      return out;
    }
    Decision by_key = EvaluateResourcePolicy(key_policy.policies, context_);
    if (by_key.kind != Decision::Kind::kImplicitDeny) {
      // An explicit Deny in the key policy, or the key policy naming the
      // caller: the key policy decides.
      out = {std::move(by_key), true};
      return out;
    }
    Decision delegated = EvaluateAccountDelegation(key_policy.policies, context_);
    if (!delegated.allowed()) {
      out.no_resource_allow = true;
      return out;
    }
    out.decision = std::move(identity);  // IAM decides what the account was delegated
    return out;
  });
}

Status RequestAuthorization::Record(const Outcome& outcome, std::string_view action,
                                    std::string_view resource) {
  const Decision& d = outcome.decision;
  // The request's decision for audit: the first deny, else the last allow.
  if (decision_ != "explicit-deny" && decision_ != "implicit-deny") {
    decision_ = d.KindName();
    decided_by_ = d.Describe();
    resource_ = std::string(resource);
  }
  if (d.allowed()) return Ok();
  std::string message = "User: " + principal_.arn +
                        " is not authorized to perform: " + std::string(action) +
                        " on resource: " + std::string(resource);
  if (d.kind == Decision::Kind::kExplicitDeny) {
    message += outcome.by_resource_policy ? " with an explicit deny in a resource-based policy"
                                          : " with an explicit deny in an identity-based policy";
  } else if (outcome.no_resource_allow) {
    message += " because no resource-based policy allows the " + std::string(action) + " action";
  } else {
    message += " because no identity-based policy allows the " + std::string(action) + " action";
  }
  return Fail(ErrorCode::kPermissionDenied, std::move(message), Reason::kAccessDenied);
}

Status RequestAuthorization::Check(std::string_view action, std::string_view resource,
                                   const KeyMap& extra_keys,
                                   const CompiledPolicies* resource_policy) {
  return Record(Evaluate(action, resource, extra_keys, resource_policy), action, resource);
}

bool RequestAuthorization::Allowed(std::string_view action, std::string_view resource,
                                   const KeyMap& extra_keys,
                                   const CompiledPolicies* resource_policy) {
  return Evaluate(action, resource, extra_keys, resource_policy).decision.allowed();
}

Status RequestAuthorization::CheckKeyPolicy(std::string_view action, std::string_view resource,
                                            const KeyMap& extra_keys,
                                            const CompiledPolicies& key_policy) {
  return Record(EvaluateKey(action, resource, extra_keys, key_policy), action, resource);
}

bool RequestAuthorization::AllowedByKeyPolicy(std::string_view action,
                                              std::string_view resource,
                                              const KeyMap& extra_keys,
                                              const CompiledPolicies& key_policy) {
  return EvaluateKey(action, resource, extra_keys, key_policy).decision.allowed();
}

std::shared_ptr<const CompiledPolicies> RequestAuthorization::ResourcePolicy(
    std::string_view key, uint64_t generation,
    const std::function<std::vector<PolicyText>()>& texts) {
  if (resource_policies_ == nullptr) return CompilePolicies(PolicyKind::kResource, texts());
  if (auto hit = resource_policies_->Find(key, generation)) return hit;
  return resource_policies_->Get(std::string(key), generation, texts());
}

void RequestAuthorization::Note(std::string_view resource, std::string_view kind,
                                std::string decided_by) {
  if (decision_ == "explicit-deny" || decision_ == "implicit-deny") return;
  decision_ = std::string(kind);
  decided_by_ = std::move(decided_by);
  resource_ = std::string(resource);
}

Status RequestAuthorization::Check(const Permission& p) {
  if (p.role == Permission::PolicyRole::kKey && p.policy != nullptr) {
    return CheckKeyPolicy(p.action, p.resource, p.keys, *p.policy);
  }
  return Check(p.action, p.resource, p.keys, p.policy.get());
}

bool RequestAuthorization::Allowed(const Permission& p) {
  if (p.role == Permission::PolicyRole::kKey && p.policy != nullptr) {
    return AllowedByKeyPolicy(p.action, p.resource, p.keys, *p.policy);
  }
  return Allowed(p.action, p.resource, p.keys, p.policy.get());
}

Authorizer::Authorizer(PolicySource source, util::Clock& clock)
    : source_(std::move(source)),
      clock_(clock),
      resource_policies_(std::make_shared<PolicyCache>(PolicyKind::kResource)) {
  COFFER_CHECK(source_ != nullptr);
}

Authorizer::Authorizer(util::Clock& clock)
    : clock_(clock),
      allow_all_(true),
      resource_policies_(std::make_shared<PolicyCache>(PolicyKind::kResource)) {}

Authorizer::PolicySource Authorizer::IamPolicies(domain::iam::IdentityStore& identities,
                                                PolicyCache& cache) {
  // The hot path (an unchanged IAM and a known access key) is one lookup at
  // IAM's current generation; only a miss resolves the key again and reads
  // the policy texts.
  return [&identities, &cache](const Principal& principal) -> std::shared_ptr<const CompiledPolicies> {
    if (auto hit = cache.Find(principal.access_key_id, identities.generation())) return hit;
    auto resolved = identities.LookupAccessKey(principal.access_key_id);
    if (!resolved) return nullptr;
    auto set = identities.PoliciesFor(*resolved);
    if (!set) return nullptr;
    std::vector<PolicyText> texts;
    texts.reserve((*set)->policies.size());
    for (const auto& p : (*set)->policies) texts.push_back({p.name, p.document});
    return cache.Get(principal.access_key_id, (*set)->generation, texts);
  };
}

Authorizer Authorizer::UnsafeAllowAll(util::Clock& clock) { return Authorizer(clock); }

RequestAuthorization Authorizer::Begin(const Principal& principal, std::string_view source_ip,
                                       bool secure) const {
  if (allow_all_) {
    RequestAuthorization authz(RequestAuthorization::AllowAllTag{}, principal, source_ip, secure,
                               clock_.Now());
    authz.resource_policies_ = resource_policies_.get();
    return authz;
  }
  RequestAuthorization authz(principal, principal.is_admin ? nullptr : source_(principal),
                             source_ip, secure, clock_.Now());
  authz.resource_policies_ = resource_policies_.get();
  return authz;
}

}  // namespace coffer::auth
