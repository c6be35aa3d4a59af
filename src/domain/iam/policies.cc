#include <algorithm>
#include <utility>

#include "domain/arn.h"
#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::AttachedPrefix;
using internal::DeleteConflict;
using internal::EncodePolicy;
using internal::Guard;
using internal::Invalid;
using internal::IsValidName;
using internal::kAttachedPrefix;
using internal::kPolicies;
using internal::LastSegment;
using internal::LimitExceeded;
using internal::NoSuchEntity;
using internal::NoSuchPolicy;
using internal::RandomIdentifier;
using internal::StoredPolicy;
using internal::ValidatePath;
using internal::ValidateTags;

Result<std::string> IdentityStore::Impl::PolicyNameFromArn(std::string_view arn) {
  std::string prefix = IamArn(account, "policy", "/", "");  // the ARN up to the path
  if (!arn.starts_with(prefix)) return Fail(NoSuchPolicy(arn));
  std::string_view name = LastSegment(arn.substr(prefix.size()));
  if (!IsValidName(name, 128)) return Fail(NoSuchPolicy(arn));
  return std::string(name);
}

Result<IdentityStore::Impl::Found<StoredPolicy>> IdentityStore::Impl::GetPolicyEntry(
    std::string_view arn) {
  COFFER_ASSIGN_OR_RETURN(std::string name, PolicyNameFromArn(arn));
  COFFER_ASSIGN_OR_RETURN(Found<StoredPolicy> found,
                          FindRecord(kPolicies, name, NoSuchPolicy(arn)));
  if (found.record.policy.arn != arn) return Fail(NoSuchPolicy(arn));
  return found;
}

// ---------------------------------------------------------------- managed policies

Result<ManagedPolicy> IdentityStore::CreatePolicy(const NewPolicy& spec) {
  if (!IsValidName(spec.name, 128)) {
    return Fail(Invalid("policy name must be 1-128 characters of [A-Za-z0-9+=,.@_-]"));
  }
  COFFER_RETURN_IF_ERROR(ValidatePath(spec.path));
  COFFER_RETURN_IF_ERROR(ValidateTags(spec.tags));
  if (spec.description.size() > 1000) {
    return Fail(Invalid("description must be at most 1000 characters"));
  }
  if (spec.document.empty()) return Fail(Invalid("the policy document must not be empty"));
  StoredPolicy stored;
  ManagedPolicy& p = stored.policy;
  p.name = spec.name;
  p.policy_id = RandomIdentifier("ANPA");
  p.path = spec.path;
  p.arn = IamArn(account_id_, "policy", p.path, p.name);
  p.description = spec.description;
  p.default_version_id = "v1";
  p.created = p.updated = impl_->clock.Now();
  p.tags = spec.tags;
  p.versions.push_back(PolicyVersion{"v1", spec.document, true, p.created});
  stored.next_version = 2;
  std::string exists =
      "A policy called " + p.name + " already exists. Duplicate names are not allowed.";
  COFFER_ASSIGN_OR_RETURN(
      stored, impl_->CreateRecord(kPolicies, spec.name, std::move(stored), std::move(exists)));
  return std::move(stored.policy);
}

Result<ManagedPolicy> IdentityStore::GetPolicy(std::string_view arn) {
  COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> attached,
                          impl_->Scan(AttachedPrefix(found.record.policy.name)));
  found.record.policy.attachment_count = attached.size();
  return std::move(found.record.policy);
}

namespace {
Error NoSuchVersion(std::string_view arn, std::string_view version_id) {
  return NoSuchEntity("Policy " + std::string(arn) + " version " + std::string(version_id) +
                      " does not exist or is not attachable.");
}
}  // namespace

Result<PolicyVersion> IdentityStore::GetPolicyVersion(std::string_view arn,
                                                      std::string_view version_id) {
  COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
  for (PolicyVersion& v : found.record.policy.versions) {
    if (v.version_id == version_id) return std::move(v);
  }
  return Fail(NoSuchVersion(arn, version_id));
}

Result<PolicyVersion> IdentityStore::CreatePolicyVersion(std::string_view arn,
                                                         std::string_view document,
                                                         bool set_as_default) {
  if (document.empty()) return Fail(Invalid("the policy document must not be empty"));
  return impl_->Retry([&]() -> Result<PolicyVersion> {
    COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
    StoredPolicy& stored = found.record;
    ManagedPolicy& p = stored.policy;
    if (p.versions.size() >= kMaxPolicyVersions) {
      return Fail(LimitExceeded(
          "A managed policy can have up to 5 versions. Before you create a new version, you must "
          "delete an existing version."));
    }
    PolicyVersion v;
    v.version_id = "v" + std::to_string(stored.next_version++);
    v.document = std::string(document);
    v.created = impl_->clock.Now();
    v.is_default = set_as_default;
    p.versions.push_back(v);
    if (set_as_default) p.default_version_id = v.version_id;
    p.updated = v.created;
    storage::Txn txn;
    Guard(txn, found.entry);
    txn.writes.push_back(storage::Write::Put(found.entry.key, EncodePolicy(stored)));
    COFFER_RETURN_IF_ERROR(impl_->Commit(txn));
    return v;
  });
}

Status IdentityStore::DeletePolicyVersion(std::string_view arn, std::string_view version_id) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
    ManagedPolicy& p = found.record.policy;
    auto it = std::find_if(p.versions.begin(), p.versions.end(),
                           [&](const PolicyVersion& v) { return v.version_id == version_id; });
    if (it == p.versions.end()) return Fail(NoSuchVersion(arn, version_id));
    if (it->version_id == p.default_version_id) {
      return Fail(DeleteConflict("Cannot delete the default version of a policy."));
    }
    p.versions.erase(it);
    storage::Txn txn;
    Guard(txn, found.entry);
    txn.writes.push_back(storage::Write::Put(found.entry.key, EncodePolicy(found.record)));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::SetDefaultPolicyVersion(std::string_view arn, std::string_view version_id) {
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
    ManagedPolicy& p = found.record.policy;
    bool exists = std::any_of(p.versions.begin(), p.versions.end(),
                              [&](const PolicyVersion& v) { return v.version_id == version_id; });
    if (!exists) return Fail(NoSuchVersion(arn, version_id));
    p.default_version_id = std::string(version_id);
    p.updated = impl_->clock.Now();
    storage::Txn txn;
    Guard(txn, found.entry);
    txn.writes.push_back(storage::Write::Put(found.entry.key, EncodePolicy(found.record)));
    return impl_->Commit(txn);
  });
}

Result<std::vector<ManagedPolicy>> IdentityStore::ListPolicies(std::string_view path_prefix,
                                                               bool only_attached) {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> attached, impl_->Scan(kAttachedPrefix));
  std::map<std::string, size_t, std::less<>> counts;
  for (const storage::Entry& e : attached) {
    std::string_view rest = std::string_view(e.key).substr(kAttachedPrefix.size());
    ++counts[std::string(rest.substr(0, rest.find('/')))];
  }
  COFFER_ASSIGN_OR_RETURN(std::vector<StoredPolicy> stored,
                          impl_->ListRecords(kPolicies, [&](StoredPolicy& s) {
                            auto it = counts.find(s.policy.name);
                            s.policy.attachment_count = it == counts.end() ? 0 : it->second;
                            return s.policy.path.starts_with(path_prefix) &&
                                   (!only_attached || s.policy.attachment_count > 0);
                          }));
  std::vector<ManagedPolicy> out;
  for (StoredPolicy& s : stored) out.push_back(std::move(s.policy));
  return out;
}

Status IdentityStore::DeletePolicy(std::string_view arn) {
  COFFER_ASSIGN_OR_RETURN(std::string name, impl_->PolicyNameFromArn(arn));
  return impl_->DeleteRecord(
      kPolicies, name, NoSuchPolicy(arn), [&](const StoredPolicy& s) -> Status {
        if (s.policy.arn != arn) return Fail(NoSuchPolicy(arn));
        return impl_->RefuseIfAny(
            {{AttachedPrefix(name), "Cannot delete a policy attached to entities."}});
      });
}

Result<size_t> IdentityStore::AttachmentCount(std::string_view arn) {
  COFFER_ASSIGN_OR_RETURN(auto found, impl_->GetPolicyEntry(arn));
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> attached,
                          impl_->Scan(AttachedPrefix(found.record.policy.name)));
  return attached.size();
}

}  // namespace coffer::domain::iam
