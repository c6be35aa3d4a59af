#include <utility>

#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::AlreadyExists;
using internal::AttachPrefix;
using internal::DecodeRole;
using internal::DeleteConflict;
using internal::EncodeRole;
using internal::Guard;
using internal::InlinePrefix;
using internal::Invalid;
using internal::IsCasConflict;
using internal::IsValidName;
using internal::kRolePrefix;
using internal::ProfileRolePrefix;
using internal::RandomIdentifier;
using internal::RoleKey;
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
  role.arn = "arn:aws:iam::" + account_id_ + ":role" + role.path + role.name;
  role.created = impl_->clock.Now();
  role.assume_role_policy = spec.assume_role_policy;
  role.description = spec.description;
  role.max_session_duration = spec.max_session_duration;
  role.tags = spec.tags;
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{RoleKey(spec.name), 0});
  txn.writes.push_back(storage::Write::Put(RoleKey(spec.name), EncodeRole(role)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(AlreadyExists("Role with name " + spec.name + " already exists."));
    }
    return Fail(std::move(committed).error());
  }
  return role;
}

Result<Role> IdentityStore::GetRole(std::string_view name) {
  COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetEntity(EntityKind::kRole, name));
  return DecodeRole(entry.key, entry.value);
}

Result<std::vector<Role>> IdentityStore::ListRoles(std::string_view path_prefix) {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(kRolePrefix));
  std::vector<Role> out;
  for (const storage::Entry& e : entries) {
    COFFER_ASSIGN_OR_RETURN(Role r, DecodeRole(e.key, e.value));
    if (r.path.starts_with(path_prefix)) out.push_back(std::move(r));
  }
  return out;
}

Status IdentityStore::DeleteRole(std::string_view name) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetEntity(EntityKind::kRole, name));
    COFFER_ASSIGN_OR_RETURN(bool inlines, impl_->HasAny(InlinePrefix(EntityKind::kRole, name)));
    if (inlines) return Fail(DeleteConflict("Cannot delete entity, must delete policies first."));
    COFFER_ASSIGN_OR_RETURN(bool attached, impl_->HasAny(AttachPrefix(EntityKind::kRole, name)));
    if (attached) {
      return Fail(DeleteConflict("Cannot delete entity, must detach all policies first."));
    }
    COFFER_ASSIGN_OR_RETURN(bool in_profile, impl_->HasAny(ProfileRolePrefix(name)));
    if (in_profile) {
      return Fail(
          DeleteConflict("Cannot delete entity, must remove roles from instance profile "
                         "first."));
    }
    storage::Txn txn;
    Guard(txn, entry);
    txn.writes.push_back(storage::Write::Delete(entry.key));
    return impl_->Commit(txn);
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
