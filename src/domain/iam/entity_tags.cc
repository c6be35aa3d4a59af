// Tags on IAM entities after creation (TagUser, UntagRole, ListPolicyTags, ...):
// one read-modify-write for every taggable kind.
#include <algorithm>
#include <functional>
#include <utility>

#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::NoSuchEntity;

namespace {

// Adds `tags` to `current` (a key given again takes the new value) or, with
// `remove`, drops the listed keys.
void Apply(std::vector<Tag>& current, const std::vector<Tag>& tags,
           const std::vector<std::string>& remove) {
  for (const Tag& t : tags) {
    auto it = std::find_if(current.begin(), current.end(),
                           [&](const Tag& c) { return c.key == t.key; });
    if (it != current.end()) {
      it->value = t.value;
    } else {
      current.push_back(t);
    }
  }
  std::erase_if(current, [&](const Tag& c) {
    return std::find(remove.begin(), remove.end(), c.key) != remove.end();
  });
}

}  // namespace

// Where one entity's record lives and how its tags are reached in it.
struct IdentityStore::TagTarget {
  std::string key;
  std::string not_found;
  // Decodes the record, applies `change` to its tags, and re-encodes it.
  std::function<Result<std::string>(const storage::Entry&,
                                    const std::function<void(std::vector<Tag>&)>&)>
      rewrite;
  std::function<Result<std::vector<Tag>>(const storage::Entry&)> read;
};

Result<IdentityStore::TagTarget> IdentityStore::TargetOf(TaggedKind kind, std::string_view id) {
  TagTarget t;
  auto with = [&t](auto decode, auto encode, auto tags_of) {
    t.rewrite = [decode, encode, tags_of](const storage::Entry& e,
                                          const std::function<void(std::vector<Tag>&)>& change)
        -> Result<std::string> {
      COFFER_ASSIGN_OR_RETURN(auto record, decode(e.key, e.value));
      change(tags_of(record));
      return encode(record);
    };
    t.read = [decode, tags_of](const storage::Entry& e) -> Result<std::vector<Tag>> {
      COFFER_ASSIGN_OR_RETURN(auto record, decode(e.key, e.value));
      return tags_of(record);
    };
  };
  switch (kind) {
    case TaggedKind::kUser:
      t.key = internal::UserKey(id);
      t.not_found = "The user with name " + std::string(id) + " cannot be found.";
      with(internal::DecodeUser, internal::EncodeUser, [](User& u) -> std::vector<Tag>& {
        return u.tags;
      });
      break;
    case TaggedKind::kRole:
      t.key = internal::RoleKey(id);
      t.not_found = "The role with name " + std::string(id) + " cannot be found.";
      with(internal::DecodeRole, internal::EncodeRole, [](Role& r) -> std::vector<Tag>& {
        return r.tags;
      });
      break;
    case TaggedKind::kInstanceProfile:
      t.key = internal::ProfileKey(id);
      t.not_found = "Instance Profile " + std::string(id) + " cannot be found.";
      with(internal::DecodeProfile, internal::EncodeProfile,
           [](internal::StoredProfile& p) -> std::vector<Tag>& { return p.profile.tags; });
      break;
    case TaggedKind::kPolicy: {
      COFFER_ASSIGN_OR_RETURN(std::string name, impl_->PolicyNameFromArn(id));
      t.key = internal::PolicyKey(name);
      t.not_found = "Policy " + std::string(id) + " does not exist or is not attachable.";
      with(internal::DecodePolicy, internal::EncodePolicy,
           [](internal::StoredPolicy& p) -> std::vector<Tag>& { return p.policy.tags; });
      break;
    }
    case TaggedKind::kOidcProvider: {
      std::string prefix = "arn:aws:iam::" + account_id_ + ":oidc-provider/";
      t.not_found = "OpenIDConnect Provider not found for arn " + std::string(id);
      if (!id.starts_with(prefix) || id.size() == prefix.size()) {
        return Fail(NoSuchEntity(t.not_found));
      }
      t.key = internal::OidcKey(id.substr(prefix.size()));
      with(internal::DecodeOidc, internal::EncodeOidc,
           [](OidcProvider& p) -> std::vector<Tag>& { return p.tags; });
      break;
    }
  }
  return t;
}

Status IdentityStore::RetagEntity(TaggedKind kind, std::string_view id,
                                  const std::vector<Tag>& add,
                                  const std::vector<std::string>& remove) {
  COFFER_RETURN_IF_ERROR(internal::ValidateTags(add));
  COFFER_ASSIGN_OR_RETURN(TagTarget target, TargetOf(kind, id));
  return impl_->Retry([&]() -> Status {
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(target.key));
    if (!entry) return Fail(NoSuchEntity(target.not_found));
    std::vector<Tag> after;
    COFFER_ASSIGN_OR_RETURN(std::string value,
                            target.rewrite(*entry, [&](std::vector<Tag>& tags) {
                              Apply(tags, add, remove);
                              after = tags;
                            }));
    if (after.size() > kMaxTags) {
      return Fail(internal::LimitExceeded("The number of tags has reached the maximum limit of " +
                                          std::to_string(kMaxTags) + "."));
    }
    storage::Txn txn;
    txn.compares.push_back(storage::Compare{target.key, entry->mod_revision});
    txn.writes.push_back(storage::Write::Put(target.key, std::move(value)));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::TagEntity(TaggedKind kind, std::string_view id,
                                const std::vector<Tag>& tags) {
  return RetagEntity(kind, id, tags, {});
}

Status IdentityStore::UntagEntity(TaggedKind kind, std::string_view id,
                                  const std::vector<std::string>& keys) {
  return RetagEntity(kind, id, {}, keys);
}

Result<std::vector<Tag>> IdentityStore::EntityTags(TaggedKind kind, std::string_view id) {
  COFFER_ASSIGN_OR_RETURN(TagTarget target, TargetOf(kind, id));
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(target.key));
  if (!entry) return Fail(NoSuchEntity(target.not_found));
  return target.read(*entry);
}

}  // namespace coffer::domain::iam
