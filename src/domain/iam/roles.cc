#include <utility>

#include "domain/arn.h"
#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::AttachPrefix;
using internal::DecodeRole;
using internal::EncodeRole;
using internal::Guard;
using internal::InlinePrefix;
using internal::Invalid;
using internal::IsValidName;
using internal::kMustDeletePolicies;
using internal::kMustDetachPolicies;
using internal::kMustRemoveRolesFromProfile;
using internal::kRoles;
using internal::NoSuch;
using internal::ProfileRolePrefix;
using internal::RandomIdentifier;
using internal::ValidatePath;
using internal::ValidateTags;

// ---------------------------------------------------------------- roles

Result<Role> IdentityStore::CreateRole(const NewRole& spec) {
  if (!IsValidName(spec.name, 64)) {
    return Fail(Invalid("role name must be 1-64 characters of [A-Za-z0-9+=,.@_-]"));
  }
  COFFER_RETURN_IF_ERROR(ValidatePath(spec.path));
  COFFER_RETURN_IF_ERROR(ValidateTags(spec.tags));
  if (spec.description.size() > 1000) {
    return Fail(Invalid("description must be at most 1000 characters"));
  }
  if (spec.max_session_duration < kMinRoleSessionSeconds ||
      spec.max_session_duration > kMaxRoleSessionSeconds) {
    return Fail(Invalid("MaxSessionDuration must be between 3600 and 43200 seconds"));
  }
  if (spec.assume_role_policy.empty()) return Fail(Invalid("the trust policy must not be empty"));
  Role role;
  role.name = spec.name;
  role.role_id = RandomIdentifier("AROA");
  role.path = spec.path;
  role.arn = IamArn(account_id_, "role", role.path, role.name);
  role.created = impl_->clock.Now();
  role.assume_role_policy = spec.assume_role_policy;
  role.description = spec.description;
  role.max_session_duration = spec.max_session_duration;
  role.tags = spec.tags;
  return impl_->CreateRecord(kRoles, spec.name, std::move(role),
                             "Role with name " + spec.name + " already exists.");
}

Result<Role> IdentityStore::GetRole(std::string_view name) {
  COFFER_ASSIGN_OR_RETURN(auto found,
                          impl_->FindRecord(kRoles, name, NoSuch(EntityKind::kRole, name)));
  return std::move(found.record);
}

Result<std::vector<Role>> IdentityStore::ListRoles(std::string_view path_prefix) {
  return impl_->ListRecords(kRoles, [&](const Role& r) { return r.path.starts_with(path_prefix); });
}

Status IdentityStore::DeleteRole(std::string_view name) {
  return impl_->DeleteRecord(kRoles, name, NoSuch(EntityKind::kRole, name), [&](const Role&) {
    return impl_->RefuseIfAny({
        {InlinePrefix(EntityKind::kRole, name), kMustDeletePolicies},
        {AttachPrefix(EntityKind::kRole, name), kMustDetachPolicies},
        {ProfileRolePrefix(name), kMustRemoveRolesFromProfile},
    });
  });
}

Status IdentityStore::UpdateAssumeRolePolicy(std::string_view name, std::string_view document) {
  if (document.empty()) return Fail(Invalid("the trust policy must not be empty"));
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetEntity(EntityKind::kRole, name));
    COFFER_ASSIGN_OR_RETURN(Role role, DecodeRole(entry.key, entry.value));
    role.assume_role_policy = std::string(document);
    storage::Txn txn;
    Guard(txn, entry);
    txn.writes.push_back(storage::Write::Put(entry.key, EncodeRole(role)));
    return impl_->Commit(txn);
  });
}

}  // namespace coffer::domain::iam
