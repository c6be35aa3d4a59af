#include <algorithm>
#include <functional>
#include <utility>

#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::AlreadyExists;
using internal::DecodeProfile;
using internal::DeleteConflict;
using internal::EncodeProfile;
using internal::Guard;
using internal::Invalid;
using internal::IsCasConflict;
using internal::IsValidName;
using internal::kProfilePrefix;
using internal::LimitExceeded;
using internal::NoSuchEntity;
using internal::ProfileKey;
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
  p.arn = "arn:aws:iam::" + account_id_ + ":instance-profile" + p.path + p.name;
  p.created = impl_->clock.Now();
  p.tags = tags;
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{ProfileKey(name), 0});
  txn.writes.push_back(storage::Write::Put(ProfileKey(name), EncodeProfile(stored)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(AlreadyExists("Instance Profile " + p.name + " already exists."));
    }
    return Fail(std::move(committed).error());
  }
  return p;
}

namespace {

// The stored profile `name` (kNotFound (kNoSuchEntity) when there is none).
Result<std::pair<storage::Entry, StoredProfile>> GetProfileEntry(
    const std::function<Result<std::optional<storage::Entry>>(std::string_view)>& get,
    std::string_view name) {
  if (!IsValidName(name, 128)) return Fail(NoSuchProfile(name));
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, get(ProfileKey(name)));
  if (!entry) return Fail(NoSuchProfile(name));
  COFFER_ASSIGN_OR_RETURN(StoredProfile stored, DecodeProfile(entry->key, entry->value));
  return std::make_pair(std::move(*entry), std::move(stored));
}

}  // namespace

Result<InstanceProfile> IdentityStore::GetInstanceProfile(std::string_view name) {
  auto get = [&](std::string_view key) { return impl_->GetOptional(key); };
  COFFER_ASSIGN_OR_RETURN(auto found, GetProfileEntry(get, name));
  InstanceProfile out = std::move(found.second.profile);
  for (const std::string& role : found.second.role_names) {
    auto r = GetRole(role);
    if (r.has_value()) out.roles.push_back(std::move(*r));
  }
  return out;
}

Result<std::vector<InstanceProfile>> IdentityStore::ListInstanceProfiles(
    std::string_view path_prefix) {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(kProfilePrefix));
  std::vector<InstanceProfile> out;
  for (const storage::Entry& e : entries) {
    COFFER_ASSIGN_OR_RETURN(StoredProfile stored, DecodeProfile(e.key, e.value));
    if (!stored.profile.path.starts_with(path_prefix)) continue;
    for (const std::string& role : stored.role_names) {
      auto r = GetRole(role);
      if (r.has_value()) stored.profile.roles.push_back(std::move(*r));
    }
    out.push_back(std::move(stored.profile));
  }
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
  auto get = [&](std::string_view key) { return impl_->GetOptional(key); };
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, GetProfileEntry(get, name));
    if (!found.second.role_names.empty()) {
      return Fail(
          DeleteConflict("Cannot delete entity, must remove roles from instance profile "
                         "first."));
    }
    storage::Txn txn;
    Guard(txn, found.first);
    txn.writes.push_back(storage::Write::Delete(found.first.key));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::AddRoleToInstanceProfile(std::string_view profile_name,
                                               std::string_view role_name) {
  auto get = [&](std::string_view key) { return impl_->GetOptional(key); };
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, GetProfileEntry(get, profile_name));
    COFFER_ASSIGN_OR_RETURN(storage::Entry role, impl_->GetEntity(EntityKind::kRole, role_name));
    StoredProfile& stored = found.second;
    if (stored.role_names.size() >= kMaxRolesPerInstanceProfile) {
      return Fail(LimitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"));
    }
    stored.role_names.emplace_back(role_name);
    storage::Txn txn;
    Guard(txn, found.first);
    Touch(txn, role);  // a DeleteRole that saw no profile then fails its compare
    txn.writes.push_back(storage::Write::Put(found.first.key, EncodeProfile(stored)));
    txn.writes.push_back(
        storage::Write::Put(ProfileRolePrefix(role_name) + std::string(profile_name), ""));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::RemoveRoleFromInstanceProfile(std::string_view profile_name,
                                                    std::string_view role_name) {
  auto get = [&](std::string_view key) { return impl_->GetOptional(key); };
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, GetProfileEntry(get, profile_name));
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kRole, role_name));
    StoredProfile& stored = found.second;
    auto it = std::find(stored.role_names.begin(), stored.role_names.end(), role_name);
    if (it == stored.role_names.end()) {
      return Fail(NoSuchEntity("The role with name " + std::string(role_name) +
                               " cannot be found in instance profile " + std::string(profile_name) +
                               "."));
    }
    stored.role_names.erase(it);
    storage::Txn txn;
    Guard(txn, found.first);
    txn.writes.push_back(storage::Write::Put(found.first.key, EncodeProfile(stored)));
    txn.writes.push_back(
        storage::Write::Delete(ProfileRolePrefix(role_name) + std::string(profile_name)));
    return impl_->Commit(txn);
  });
}

}  // namespace coffer::domain::iam
