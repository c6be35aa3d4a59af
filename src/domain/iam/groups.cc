#include <utility>

#include "domain/arn.h"
#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::AttachPrefix;
using internal::Guard;
using internal::InlinePrefix;
using internal::Invalid;
using internal::IsValidName;
using internal::kGroups;
using internal::kMustDeletePolicies;
using internal::kMustDetachPolicies;
using internal::MembersPrefix;
using internal::NoSuch;
using internal::NoSuchEntity;
using internal::RandomIdentifier;
using internal::Touch;
using internal::UserGroupsPrefix;
using internal::ValidatePath;

// ---------------------------------------------------------------- groups

Result<Group> IdentityStore::CreateGroup(std::string_view name, std::string_view path) {
  if (!IsValidName(name, 128)) {
    return Fail(Invalid("group name must be 1-128 characters of [A-Za-z0-9+=,.@_-]"));
  }
  COFFER_RETURN_IF_ERROR(ValidatePath(path));
  Group g;
  g.name = std::string(name);
  g.group_id = RandomIdentifier("AGPA");
  g.path = std::string(path);
  g.arn = IamArn(account_id_, "group", g.path, g.name);
  g.created = impl_->clock.Now();
  std::string exists = "Group with name " + g.name + " already exists.";
  return impl_->CreateRecord(kGroups, name, std::move(g), std::move(exists));
}

Result<Group> IdentityStore::GetGroup(std::string_view name) {
  COFFER_ASSIGN_OR_RETURN(auto found,
                          impl_->FindRecord(kGroups, name, NoSuch(EntityKind::kGroup, name)));
  return std::move(found.record);
}

Result<std::vector<User>> IdentityStore::ListGroupMembers(std::string_view group_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kGroup, group_name));
  std::string prefix = MembersPrefix(group_name);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> members, impl_->Scan(prefix));
  std::vector<User> out;
  for (const storage::Entry& e : members) {
    auto user = GetUser(std::string_view(e.key).substr(prefix.size()));
    if (!user.has_value()) {
      if (user.error().code == ErrorCode::kNotFound) continue;
      return Fail(std::move(user).error());
    }
    out.push_back(std::move(*user));
  }
  return out;
}

Result<std::vector<Group>> IdentityStore::ListGroups(std::string_view path_prefix) {
  return impl_->ListRecords(kGroups,
                            [&](const Group& g) { return g.path.starts_with(path_prefix); });
}

Status IdentityStore::DeleteGroup(std::string_view name) {
  return impl_->DeleteRecord(kGroups, name, NoSuch(EntityKind::kGroup, name), [&](const Group&) {
    return impl_->RefuseIfAny({
        {MembersPrefix(name), "Cannot delete entity, must remove users from group first."},
        {InlinePrefix(EntityKind::kGroup, name), kMustDeletePolicies},
        {AttachPrefix(EntityKind::kGroup, name), kMustDetachPolicies},
    });
  });
}

Status IdentityStore::AddUserToGroup(std::string_view group_name, std::string_view user_name) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry group, impl_->GetEntity(EntityKind::kGroup, group_name));
    COFFER_ASSIGN_OR_RETURN(storage::Entry user, impl_->GetEntity(EntityKind::kUser, user_name));
    std::string member = MembersPrefix(group_name) + std::string(user_name);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> existing, impl_->GetOptional(member));
    if (existing) return Ok();
    storage::Txn txn;
    Touch(txn, group);
    Touch(txn, user);
    txn.writes.push_back(storage::Write::Put(member, ""));
    txn.writes.push_back(
        storage::Write::Put(UserGroupsPrefix(user_name) + std::string(group_name), ""));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::RemoveUserFromGroup(std::string_view group_name, std::string_view user_name) {
  return impl_->Retry([&]() -> Status {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kGroup, group_name));
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
    std::string member = MembersPrefix(group_name) + std::string(user_name);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> existing, impl_->GetOptional(member));
    if (!existing) {
      return Fail(NoSuchEntity("The user with name " + std::string(user_name) +
                               " is not a member of group " + std::string(group_name) + "."));
    }
    storage::Txn txn;
    Guard(txn, *existing);
    txn.writes.push_back(storage::Write::Delete(member));
    txn.writes.push_back(
        storage::Write::Delete(UserGroupsPrefix(user_name) + std::string(group_name)));
    return impl_->Commit(txn);
  });
}

Result<std::vector<Group>> IdentityStore::ListGroupsForUser(std::string_view user_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
  std::string prefix = UserGroupsPrefix(user_name);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> groups, impl_->Scan(prefix));
  std::vector<Group> out;
  for (const storage::Entry& e : groups) {
    auto g = GetGroup(std::string_view(e.key).substr(prefix.size()));
    if (!g.has_value()) {
      if (g.error().code == ErrorCode::kNotFound) continue;
      return Fail(std::move(g).error());
    }
    out.push_back(std::move(*g));
  }
  return out;
}

}  // namespace coffer::domain::iam
