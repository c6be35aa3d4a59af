#include "auth/authorizer.h"

#include <mutex>

#include "util/log.h"

namespace coffer::auth {
namespace {

bool ReadsResourceTags(const Policy& policy) {
  for (const Statement& st : policy.statements) {
    for (const ConditionClause& c : st.conditions) {
      std::string key = c.key;
      for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (key.find(":resourcetag/") != std::string::npos) return true;
    }
  }
  return false;
}

std::string DescribeDecider(const Decision& d) {
  if (d.policy_name.empty()) return "";
  std::string out = d.policy_name;
  out += '#';
  out += d.sid.empty() ? std::to_string(d.statement_index) : d.sid;
  return out;
}

}  // namespace

std::shared_ptr<const CompiledPolicies> PolicyCache::Get(const std::string& principal_key,
                                                         uint64_t generation,
                                                         const std::vector<PolicyText>& texts) {
  {
    std::shared_lock lock(mu_);
    auto it = entries_.find(principal_key);
    if (it != entries_.end() && it->second.generation == generation) return it->second.compiled;
  }
  auto compiled = std::make_shared<CompiledPolicies>();
  for (const PolicyText& t : texts) {
    auto parsed = ParsePolicy(t.document, /*require_resource=*/true);
    if (!parsed) {
      util::LogWarn("stored policy no longer parses; ignored",
                    {{"policy", t.name}, {"error", parsed.error().message}});
      continue;
    }
    compiled->uses_resource_tags = compiled->uses_resource_tags || ReadsResourceTags(*parsed);
    compiled->policies.push_back({t.name, std::make_shared<Policy>(std::move(*parsed))});
  }
  std::unique_lock lock(mu_);
  if (entries_.size() > 10000) entries_.clear();  // bound; entries are cheap to rebuild
  entries_[principal_key] = Entry{generation, compiled};
  return compiled;
}

RequestAuthorization::RequestAuthorization(const Principal& principal,
                                           std::shared_ptr<const CompiledPolicies> policies,
                                           std::string_view source_ip, bool secure,
                                           util::SystemTime now)
    : principal_(principal), policies_(std::move(policies)) {
  base_.principal_arn = principal.arn;
  base_.principal_account = principal.account_id;
  base_.Set("aws:PrincipalArn", principal.arn);
  base_.Set("aws:PrincipalAccount", principal.account_id);
  base_.Set("aws:userid", principal.user_id);
  if (!principal.user_name.empty()) base_.Set("aws:username", principal.user_name);
  base_.Set("aws:SourceIp", std::string(source_ip));
  base_.Set("aws:SecureTransport", secure ? "true" : "false");
  base_.Set("aws:CurrentTime", util::FormatIso8601(now));
  base_.Set("aws:EpochTime", std::to_string(util::ToUnixMillis(now) / 1000));
}

bool RequestAuthorization::NeedsResourceTags() const {
  return policies_ && !principal_.is_admin && policies_->uses_resource_tags;
}

Decision RequestAuthorization::Evaluate(
    std::string_view action, std::string_view resource,
    const std::map<std::string, std::vector<std::string>>& extra_keys) {
  if (principal_.is_admin) return Decision{Decision::Kind::kAllow, "admin", "", -1};
  if (!policies_) return Decision{};
  RequestContext ctx = base_;
  ctx.action = std::string(action);
  ctx.resource = std::string(resource);
  for (const auto& [k, values] : extra_keys) {
    for (const auto& v : values) ctx.Add(k, v);
  }
  return auth::Evaluate(policies_->policies, ctx);
}

Status RequestAuthorization::Check(
    std::string_view action, std::string_view resource,
    const std::map<std::string, std::vector<std::string>>& extra_keys) {
  Decision d = Evaluate(action, resource, extra_keys);
  // The request's decision for audit: the first deny, else the last allow.
  if (decision_ != "explicit-deny" && decision_ != "implicit-deny") {
    decision_ = d.kind == Decision::Kind::kAllow          ? "allow"
                : d.kind == Decision::Kind::kExplicitDeny ? "explicit-deny"
                                                          : "implicit-deny";
    decided_by_ = DescribeDecider(d);
    resource_ = std::string(resource);
  }
  if (d.allowed()) return Ok();
  std::string message = "User: " + principal_.arn + " is not authorized to perform: " +
                        std::string(action) + " on resource: " + std::string(resource);
  message += d.kind == Decision::Kind::kExplicitDeny
                 ? " with an explicit deny in an identity-based policy"
                 : " because no identity-based policy allows the " + std::string(action) +
                       " action";
  return Fail(ErrorCode::kPermissionDenied, std::move(message), Reason::kAccessDenied);
}

bool RequestAuthorization::Allowed(
    std::string_view action, std::string_view resource,
    const std::map<std::string, std::vector<std::string>>& extra_keys) {
  return Evaluate(action, resource, extra_keys).allowed();
}

}  // namespace coffer::auth
