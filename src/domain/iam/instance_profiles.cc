#include <algorithm>
#include <functional>
#include <utility>

#include "domain/arn.h"
#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::DeleteConflict;
using internal::EncodeProfile;
using internal::Guard;
using internal::Invalid;
using internal::IsValidName;
using internal::kMustRemoveRolesFromProfile;
using internal::kProfiles;
using internal::LimitExceeded;
using internal::NoSuchEntity;
using internal::ProfileRolePrefix;
using internal::RandomIdentifier;
using internal::StoredProfile;
using internal::Touch;
using internal::ValidatePath;
using internal::ValidateTags;

// ---------------------------------------------------------------- instance profiles

namespace {

Error NoSuchProfile(std::string_view name) {
  return NoSuchEntity("Instance Profile " + std::string(name) + " cannot be found.");
}

}  // namespace

Result<InstanceProfile> IdentityStore::CreateInstanceProfile(std::string_view name,
                                                             std::string_view path,
                                                             const std::vector<Tag>& tags) {
  if (!IsValidName(name, 128)) {
    return Fail(Invalid("instance profile name must be 1-128 characters of [A-Za-z0-9+=,.@_-]"));
  }
  COFFER_RETURN_IF_ERROR(ValidatePath(path));
  COFFER_RETURN_IF_ERROR(ValidateTags(tags));
  StoredProfile stored;
  InstanceProfile& p = stored.profile;
  p.name = std::string(name);
  p.instance_profile_id = RandomIdentifier("AIPA");
  p.path = std::string(path);
  p.arn = IamArn(account_id_, "instance-profile", p.path, p.name);
  p.created = impl_->clock.Now();
  p.tags = tags;
  std::string exists = "Instance Profile " + p.name + " already exists.";
  COFFER_ASSIGN_OR_RETURN(
      stored, impl_->CreateRecord(kProfiles, name, std::move(stored), std::move(exists)));
  return std::move(stored.profile);
}

namespace {

// The profile as stored, with its roles read (a role deleted meanwhile is left out).
InstanceProfile WithRoles(IdentityStore& store, StoredProfile stored) {
  for (const std::string& role : stored.role_names) {
    auto r = store.GetRole(role);
    if (r.has_value()) stored.profile.roles.push_back(std::move(*r));
  }
  return std::move(stored.profile);
}

}  // namespace

Result<InstanceProfile> IdentityStore::GetInstanceProfile(std::string_view name) {
  COFFER_ASSIGN_OR_RETURN(auto found, impl_->FindRecord(kProfiles, name, NoSuchProfile(name)));
  return WithRoles(*this, std::move(found.record));
}

Result<std::vector<InstanceProfile>> IdentityStore::ListInstanceProfiles(
    std::string_view path_prefix) {
  COFFER_ASSIGN_OR_RETURN(std::vector<StoredProfile> stored,
                          impl_->ListRecords(kProfiles, [&](const StoredProfile& p) {
                            return p.profile.path.starts_with(path_prefix);
                          }));
  std::vector<InstanceProfile> out;
  for (StoredProfile& p : stored) out.push_back(WithRoles(*this, std::move(p)));
  return out;
}

Result<std::vector<InstanceProfile>> IdentityStore::ListInstanceProfilesForRole(
    std::string_view role_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kRole, role_name));
  std::string prefix = ProfileRolePrefix(role_name);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> index, impl_->Scan(prefix));
  std::vector<InstanceProfile> out;
  for (const storage::Entry& e : index) {
    auto profile = GetInstanceProfile(std::string_view(e.key).substr(prefix.size()));
    if (profile.has_value()) {
      out.push_back(std::move(*profile));
    } else if (profile.error().code != ErrorCode::kNotFound) {
      return Fail(std::move(profile).error());
    }
  }
  return out;
}

Status IdentityStore::DeleteInstanceProfile(std::string_view name) {
  return impl_->DeleteRecord(
      kProfiles, name, NoSuchProfile(name), [](const StoredProfile& p) -> Status {
        if (!p.role_names.empty())
          return Fail(DeleteConflict(std::string(kMustRemoveRolesFromProfile)));
        return Ok();
      });
}

Status IdentityStore::AddRoleToInstanceProfile(std::string_view profile_name,
                                               std::string_view role_name) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(
        auto found, impl_->FindRecord(kProfiles, profile_name, NoSuchProfile(profile_name)));
    COFFER_ASSIGN_OR_RETURN(storage::Entry role, impl_->GetEntity(EntityKind::kRole, role_name));
    StoredProfile& stored = found.record;
    if (stored.role_names.size() >= kMaxRolesPerInstanceProfile) {
      return Fail(LimitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"));
    }
    stored.role_names.emplace_back(role_name);
    storage::Txn txn;
    Guard(txn, found.entry);
    Touch(txn, role);  // a DeleteRole that saw no profile then fails its compare
    txn.writes.push_back(storage::Write::Put(found.entry.key, EncodeProfile(stored)));
    txn.writes.push_back(
        storage::Write::Put(ProfileRolePrefix(role_name) + std::string(profile_name), ""));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::RemoveRoleFromInstanceProfile(std::string_view profile_name,
                                                    std::string_view role_name) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(
        auto found, impl_->FindRecord(kProfiles, profile_name, NoSuchProfile(profile_name)));
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kRole, role_name));
    StoredProfile& stored = found.record;
    auto it = std::find(stored.role_names.begin(), stored.role_names.end(), role_name);
    if (it == stored.role_names.end()) {
      return Fail(NoSuchEntity("The role with name " + std::string(role_name) +
                               " cannot be found in instance profile " + std::string(profile_name) +
                               "."));
    }
    stored.role_names.erase(it);
    storage::Txn txn;
    Guard(txn, found.entry);
    txn.writes.push_back(storage::Write::Put(found.entry.key, EncodeProfile(stored)));
    txn.writes.push_back(
        storage::Write::Delete(ProfileRolePrefix(role_name) + std::string(profile_name)));
    return impl_->Commit(txn);
  });
}

}  // namespace coffer::domain::iam
