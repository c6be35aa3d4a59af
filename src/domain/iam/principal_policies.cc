#include <utility>

#include "util/mutex.h"
#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::AttachPrefix;
using internal::Cat;
using internal::InlinePrefix;
using internal::NoSuch;
using internal::UserGroupsPrefix;

Status IdentityStore::Impl::CollectPolicies(EntityKind kind, std::string_view entity,
                                            std::set<std::string>& seen,
                                            std::vector<PolicyText>& out) {
  std::string inline_prefix = InlinePrefix(kind, entity);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> inlines, Scan(inline_prefix));
  for (storage::Entry& e : inlines) {
    out.push_back(PolicyText{Cat({EntityKindName(kind), "/", entity, "/inline/",
                                  std::string_view(e.key).substr(inline_prefix.size())}),
                             std::move(e.value)});
  }
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> attached, Scan(AttachPrefix(kind, entity)));
  for (const storage::Entry& e : attached) {
    const std::string& arn = e.value;
    if (!seen.insert(arn).second) continue;
    auto policy = GetPolicyEntry(arn);
    if (!policy.has_value()) {
      if (policy.error().code == ErrorCode::kNotFound) continue;  // raced with a delete
      return Fail(std::move(policy).error());
    }
    const ManagedPolicy& p = policy->record.policy;
    for (const PolicyVersion& v : p.versions) {
      if (v.version_id == p.default_version_id) out.push_back(PolicyText{arn, v.document});
    }
  }
  return Ok();
}

// ---------------------------------------------------------------- authorizer

Result<std::shared_ptr<const PrincipalPolicies>> IdentityStore::PoliciesFor(
    const Resolved& caller) {
  std::string principal =
      caller.is_session ? "role/" + caller.session.role_name : "user/" + caller.user.name;
  uint64_t generation;
  {
    util::ReaderLock lock(impl_->mu);
    auto it = impl_->policies.find(principal);
    if (it != impl_->policies.end()) return it->second;
    generation = impl_->policy_generation;
  }
  auto out = std::make_shared<PrincipalPolicies>();
  out->principal = principal;
  out->generation = generation;
  std::set<std::string> seen;
  if (caller.is_session) {
    COFFER_ASSIGN_OR_RETURN(Role role, GetRole(caller.session.role_name));
    if (role.role_id != caller.session.role_id) {
      return Fail(NoSuch(EntityKind::kRole, caller.session.role_name));
    }
    COFFER_RETURN_IF_ERROR(
        impl_->CollectPolicies(EntityKind::kRole, role.name, seen, out->policies));
  } else {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, caller.user.name));
    COFFER_RETURN_IF_ERROR(
        impl_->CollectPolicies(EntityKind::kUser, caller.user.name, seen, out->policies));
    std::string prefix = UserGroupsPrefix(caller.user.name);
    COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> groups, impl_->Scan(prefix));
    for (const storage::Entry& g : groups) {
      COFFER_RETURN_IF_ERROR(impl_->CollectPolicies(
          EntityKind::kGroup, std::string_view(g.key).substr(prefix.size()), seen, out->policies));
    }
  }
  std::shared_ptr<const PrincipalPolicies> result = std::move(out);
  {
    util::WriterLock lock(impl_->mu);
    if (impl_->policy_generation == generation) impl_->policies[principal] = result;
  }
  return result;
}

}  // namespace coffer::domain::iam
