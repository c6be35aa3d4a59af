#include <utility>

#include "domain/arn.h"
#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::AccessKeyKey;
using internal::AlreadyExists;
using internal::AttachPrefix;
using internal::DecodeAccessKey;
using internal::EncodeAccessKey;
using internal::Guard;
using internal::InlinePrefix;
using internal::Invalid;
using internal::IsSessionKeyId;
using internal::IsValidAccessKeyId;
using internal::IsValidUserName;
using internal::kMustDeletePolicies;
using internal::kMustDetachPolicies;
using internal::kUsers;
using internal::LimitExceeded;
using internal::NoSuch;
using internal::NoSuchEntity;
using internal::RandomBase64Secret;
using internal::RandomIdentifier;
using internal::StoredAccessKey;
using internal::Touch;
using internal::UserGroupsPrefix;
using internal::UserKeysPrefix;
using internal::ValidatePath;
using internal::ValidateTags;

Result<AccessKey> IdentityStore::Impl::StoreKey(std::string_view user_name,
                                                std::string_view access_key_id,
                                                const SecretBytes& secret, size_t limit) {
  COFFER_RETURN_IF_ERROR(EnsureIdentityKey());
  std::string key = AccessKeyKey(access_key_id);
  return Retry([&]() -> Result<AccessKey> {
    COFFER_ASSIGN_OR_RETURN(storage::Entry user_entry, GetEntity(EntityKind::kUser, user_name));
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> existing, GetOptional(key));
    if (existing) {
      return Fail(AlreadyExists("Access key " + std::string(access_key_id) + " already exists."));
    }
    if (limit > 0) {
      COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> keys, Scan(UserKeysPrefix(user_name)));
      if (keys.size() >= limit) {
        return Fail(
            LimitExceeded("Cannot exceed quota for AccessKeysPerUser: " + std::to_string(limit)));
      }
    }
    StoredAccessKey stored;
    stored.access_key_id = std::string(access_key_id);
    stored.user_name = std::string(user_name);
    stored.active = true;
    stored.created = clock.Now();
    COFFER_ASSIGN_OR_RETURN(stored.sealed_secret,
                            keyring.Encrypt(kIdentityKeyId, key, secret.Reveal()));
    storage::Txn txn;
    txn.compares.push_back(storage::Compare{key, 0});
    Touch(txn, user_entry);
    txn.writes.push_back(storage::Write::Put(key, EncodeAccessKey(stored)));
    txn.writes.push_back(
        storage::Write::Put(UserKeysPrefix(user_name) + std::string(access_key_id), ""));
    COFFER_RETURN_IF_ERROR(Commit(txn));
    AccessKey out;
    out.access_key_id = stored.access_key_id;
    out.secret_access_key = secret;
    out.user_name = stored.user_name;
    out.active = true;
    out.created = stored.created;
    return out;
  });
}

// ---------------------------------------------------------------- users

Result<User> IdentityStore::CreateUser(std::string_view name, bool is_admin) {
  NewUser spec;
  spec.name = std::string(name);
  spec.is_admin = is_admin;
  return CreateUser(spec);
}

Result<User> IdentityStore::CreateUser(const NewUser& spec) {
  if (!IsValidUserName(spec.name)) {
    return Fail(Invalid("user name must be 1-64 characters of [A-Za-z0-9+=,.@_-]"));
  }
  COFFER_RETURN_IF_ERROR(ValidatePath(spec.path));
  COFFER_RETURN_IF_ERROR(ValidateTags(spec.tags));
  User user;
  user.name = spec.name;
  user.user_id = RandomIdentifier("AIDA");
  user.path = spec.path;
  user.arn = IamArn(account_id_, "user", user.path, user.name);
  user.created = impl_->clock.Now();
  user.is_admin = spec.is_admin;
  user.tags = spec.tags;
  return impl_->CreateRecord(kUsers, spec.name, std::move(user),
                             "User with name " + spec.name + " already exists.");
}

Result<User> IdentityStore::GetUser(std::string_view name) {
  COFFER_ASSIGN_OR_RETURN(auto found,
                          impl_->FindRecord(kUsers, name, NoSuch(EntityKind::kUser, name)));
  return std::move(found.record);
}

Result<std::vector<User>> IdentityStore::ListUsers(std::string_view path_prefix) {
  return impl_->ListRecords(kUsers, [&](const User& u) { return u.path.starts_with(path_prefix); });
}

Status IdentityStore::DeleteUser(std::string_view name) {
  return impl_->DeleteRecord(kUsers, name, NoSuch(EntityKind::kUser, name), [&](const User&) {
    return impl_->RefuseIfAny({
        {UserKeysPrefix(name), "Cannot delete entity, must delete access keys first."},
        {InlinePrefix(EntityKind::kUser, name), kMustDeletePolicies},
        {AttachPrefix(EntityKind::kUser, name), kMustDetachPolicies},
        {UserGroupsPrefix(name), "Cannot delete entity, must remove user from all groups first."},
    });
  });
}

// ---------------------------------------------------------------- access keys

Result<AccessKey> IdentityStore::CreateAccessKey(std::string_view user_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
  SecretBytes secret = RandomBase64Secret(30);  // 40 characters
  return impl_->StoreKey(user_name, RandomIdentifier("AKIA"), secret, kMaxAccessKeysPerUser);
}

Result<AccessKey> IdentityStore::ImportAccessKey(std::string_view user_name,
                                                 std::string_view access_key_id,
                                                 const SecretBytes& secret) {
  if (!IsValidAccessKeyId(access_key_id) || IsSessionKeyId(access_key_id)) {
    return Fail(Invalid("access key id must be 4-128 characters of [A-Z0-9], not ASIA..."));
  }
  if (secret.empty() || secret.size() > 128) {
    return Fail(Invalid("secret access key must be 1-128 bytes"));
  }
  return impl_->StoreKey(user_name, access_key_id, secret, 0);
}

Result<std::vector<AccessKey>> IdentityStore::ListAccessKeys(std::string_view user_name) {
  COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
  std::string prefix = UserKeysPrefix(user_name);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> index, impl_->Scan(prefix));
  std::vector<AccessKey> out;
  for (const storage::Entry& e : index) {
    std::string key = AccessKeyKey(std::string_view(e.key).substr(prefix.size()));
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
    if (!entry) continue;
    COFFER_ASSIGN_OR_RETURN(StoredAccessKey stored, DecodeAccessKey(key, entry->value));
    AccessKey k;
    k.access_key_id = std::move(stored.access_key_id);
    k.user_name = std::move(stored.user_name);
    k.active = stored.active;
    k.created = stored.created;
    out.push_back(std::move(k));
  }
  return out;
}

namespace {
Error NoSuchAccessKey(std::string_view id) {
  return NoSuchEntity("The Access Key with id " + std::string(id) + " cannot be found.");
}
}  // namespace

Status IdentityStore::UpdateAccessKey(std::string_view user_name, std::string_view access_key_id,
                                      bool active) {
  return impl_->Retry([&]() -> Status {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
    if (!IsValidAccessKeyId(access_key_id)) return Fail(NoSuchAccessKey(access_key_id));
    std::string key = AccessKeyKey(access_key_id);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
    if (!entry) return Fail(NoSuchAccessKey(access_key_id));
    COFFER_ASSIGN_OR_RETURN(StoredAccessKey stored, DecodeAccessKey(key, entry->value));
    if (stored.user_name != user_name) return Fail(NoSuchAccessKey(access_key_id));
    if (stored.active == active) return Ok();
    stored.active = active;
    storage::Txn txn;
    Guard(txn, *entry);
    txn.writes.push_back(storage::Write::Put(key, EncodeAccessKey(stored)));
    return impl_->Commit(txn);
  });
}

Status IdentityStore::DeleteAccessKey(std::string_view user_name, std::string_view access_key_id) {
  return impl_->Retry([&]() -> Status {
    COFFER_RETURN_IF_ERROR(impl_->GetEntity(EntityKind::kUser, user_name));
    if (!IsValidAccessKeyId(access_key_id)) return Fail(NoSuchAccessKey(access_key_id));
    std::string key = AccessKeyKey(access_key_id);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, impl_->GetOptional(key));
    if (!entry) return Fail(NoSuchAccessKey(access_key_id));
    COFFER_ASSIGN_OR_RETURN(StoredAccessKey stored, DecodeAccessKey(key, entry->value));
    if (stored.user_name != user_name) return Fail(NoSuchAccessKey(access_key_id));
    storage::Txn txn;
    Guard(txn, *entry);
    txn.writes.push_back(storage::Write::Delete(key));
    txn.writes.push_back(
        storage::Write::Delete(UserKeysPrefix(user_name) + std::string(access_key_id)));
    return impl_->Commit(txn);
  });
}

}  // namespace coffer::domain::iam
