#include <utility>

#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::AttachedPrefix;
using internal::AttachPrefix;
using internal::Cat;
using internal::Guard;
using internal::InlinePrefix;
using internal::Invalid;
using internal::IsValidName;
using internal::LimitExceeded;
using internal::NoSuchEntity;
using internal::Touch;

// ---------------------------------------------------------------- attachments, inline

Status IdentityStore::AttachPolicy(EntityKind kind, std::string_view entity,
                                   std::string_view policy_arn) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry owner, impl_->GetEntity(kind, entity));
    COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(policy_arn));
    const std::string& policy_name = found.record.policy.name;
    std::string prefix = AttachPrefix(kind, entity);
    std::string attach_key = prefix + policy_name;
    COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> current, impl_->Scan(prefix));
    for (const storage::Entry& e : current) {
      if (e.key == attach_key) return Ok();
    }
    if (current.size() >= kMaxAttachedPoliciesPerEntity) {
      return Fail(LimitExceeded("Cannot exceed quota for PoliciesPer" +
                                std::string(kind == EntityKind::kUser    ? "User"
                                            : kind == EntityKind::kGroup ? "Group"
                                                                         : "Role") +
                                ": " + std::to_string(kMaxAttachedPoliciesPerEntity)));
    }
    storage::Txn txn;
    Touch(txn, owner);
    Touch(txn, found.entry);
    txn.writes.push_back(storage::Write::Put(attach_key, std::string(policy_arn)));
    txn.writes.push_back(storage::Write::Put(
        Cat({AttachedPrefix(policy_name), EntityKindName(kind), "/", entity}), ""));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::DetachPolicy(EntityKind kind, std::string_view entity,
                                   std::string_view policy_arn) {
  return impl_->Retry([&]() -> Status {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(kind, entity));
    COFFER_ASSIGN_OR_RETURN(std::string policy_name, impl_->PolicyNameFromArn(policy_arn));
    std::string attach_key = AttachPrefix(kind, entity) + policy_name;
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> existing, impl_->GetOptional(attach_key));
    if (!existing || existing->value != policy_arn) {
      return Fail(NoSuchEntity("Policy " + std::string(policy_arn) + " was not found."));
    }
    storage::Txn txn;
    Guard(txn, *existing);
    txn.writes.push_back(storage::Write::Delete(attach_key));
    txn.writes.push_back(storage::Write::Delete(
        Cat({AttachedPrefix(policy_name), EntityKindName(kind), "/", entity})));
    return impl_->Commit(txn);
  });
}

Result<std::vector<AttachedPolicy>> IdentityStore::ListAttachedPolicies(EntityKind kind,
                                                                        std::string_view entity) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(kind, entity));
  std::string prefix = AttachPrefix(kind, entity);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(prefix));
  std::vector<AttachedPolicy> out;
  for (storage::Entry& e : entries) {
    out.push_back(AttachedPolicy{std::string(std::string_view(e.key).substr(prefix.size())),
                                 std::move(e.value)});
  }
  return out;
}

namespace {
Error NoSuchInline(EntityKind kind, std::string_view policy_name) {
  return NoSuchEntity("The " + std::string(EntityKindName(kind)) + " policy with name " +
                      std::string(policy_name) + " cannot be found.");
}
}  // namespace

Status IdentityStore::PutInlinePolicy(EntityKind kind, std::string_view entity,
                                      std::string_view policy_name, std::string_view document) {
  if (!IsValidName(policy_name, 128)) {
    return Fail(Invalid("policy name must be 1-128 characters of [A-Za-z0-9+=,.@_-]"));
  }
  if (document.empty()) return Fail(Invalid("the policy document must not be empty"));
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(storage::Entry owner, impl_->GetEntity(kind, entity));
    storage::Txn txn;
    Touch(txn, owner);
    txn.writes.push_back(storage::Write::Put(InlinePrefix(kind, entity) + std::string(policy_name),
                                             std::string(document)));
    return impl_->Commit(txn);
  });
}

Result<std::string> IdentityStore::GetInlinePolicy(EntityKind kind, std::string_view entity,
                                                   std::string_view policy_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(kind, entity));
  if (!IsValidName(policy_name, 128)) return Fail(NoSuchInline(kind, policy_name));
  COFFER_ASSIGN_OR_RETURN(
      std::optional<storage::Entry> entry,
      impl_->GetOptional(InlinePrefix(kind, entity) + std::string(policy_name)));
  if (!entry) return Fail(NoSuchInline(kind, policy_name));
  return std::move(entry->value);
}

Status IdentityStore::DeleteInlinePolicy(EntityKind kind, std::string_view entity,
                                         std::string_view policy_name) {
  return impl_->Retry([&]() -> Status {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(kind, entity));
    if (!IsValidName(policy_name, 128)) return Fail(NoSuchInline(kind, policy_name));
    std::string key = InlinePrefix(kind, entity) + std::string(policy_name);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
    if (!entry) return Fail(NoSuchInline(kind, policy_name));
    storage::Txn txn;
    Guard(txn, *entry);
    txn.writes.push_back(storage::Write::Delete(key));
    return impl_->Commit(txn);
  });
}

Result<std::vector<std::string>> IdentityStore::ListInlinePolicies(EntityKind kind,
                                                                   std::string_view entity) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(kind, entity));
  std::string prefix = InlinePrefix(kind, entity);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, impl_->Scan(prefix));
  std::vector<std::string> out;
  for (const storage::Entry& e : entries) {
    out.emplace_back(std::string_view(e.key).substr(prefix.size()));
  }
  return out;
}

}  // namespace coffer::domain::iam
