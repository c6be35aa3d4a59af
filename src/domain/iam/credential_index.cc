#include <utility>

#include "util/mutex.h"
#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::AccessKeyKey;
using internal::DecodeAccessKey;
using internal::DecodeRole;
using internal::DecodeSession;
using internal::DecodeUser;
using internal::IsSessionKeyId;
using internal::IsValidAccessKeyId;
using internal::RoleKey;
using internal::SessionKey;
using internal::StoredAccessKey;
using internal::StoredSession;
using internal::UnknownKey;
using internal::UserKey;

Result<std::shared_ptr<const IdentityStore::Resolved>> IdentityStore::Impl::LoadKey(
    std::string_view access_key_id) {
  std::string key = AccessKeyKey(access_key_id);
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, GetOptional(key));
  if (!entry) return Fail(UnknownKey(access_key_id));
  COFFER_ASSIGN_OR_RETURN(StoredAccessKey stored, DecodeAccessKey(key, entry->value));
  COFFER_ASSIGN_OR_RETURN(keyring::Decrypted secret, keyring.Decrypt(key, stored.sealed_secret));
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> user_entry,
                          GetOptional(UserKey(stored.user_name)));
  if (!user_entry) return Fail(UnknownKey(access_key_id));
  COFFER_ASSIGN_OR_RETURN(User user, DecodeUser(user_entry->key, user_entry->value));
  auto resolved = std::make_shared<Resolved>();
  resolved->key.access_key_id = std::move(stored.access_key_id);
  resolved->key.secret_access_key = std::move(secret.plaintext);
  resolved->key.user_name = std::move(stored.user_name);
  resolved->key.active = stored.active;
  resolved->key.created = stored.created;
  resolved->user = std::move(user);
  return std::shared_ptr<const Resolved>(std::move(resolved));
}

Result<std::shared_ptr<const IdentityStore::Resolved>> IdentityStore::Impl::LoadSession(
    std::string_view access_key_id) {
  std::string key = SessionKey(access_key_id);
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, GetOptional(key));
  if (!entry) return Fail(UnknownKey(access_key_id));
  COFFER_ASSIGN_OR_RETURN(StoredSession stored, DecodeSession(key, entry->value));
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> role_entry,
                          GetOptional(RoleKey(stored.role_name)));
  if (!role_entry) return Fail(UnknownKey(access_key_id));
  COFFER_ASSIGN_OR_RETURN(Role role, DecodeRole(role_entry->key, role_entry->value));
  if (role.role_id != stored.role_id) return Fail(UnknownKey(access_key_id));
  COFFER_ASSIGN_OR_RETURN(keyring::Decrypted secret,
                          keyring.Decrypt(key + "/secret", stored.sealed_secret));
  COFFER_ASSIGN_OR_RETURN(keyring::Decrypted token,
                          keyring.Decrypt(key + "/token", stored.sealed_token));
  auto resolved = std::make_shared<Resolved>();
  resolved->is_session = true;
  Session& s = resolved->session;
  s.access_key_id = stored.access_key_id;
  s.secret_access_key = std::move(secret.plaintext);
  s.session_token = std::move(token.plaintext);
  s.created = stored.created;
  s.expiration = stored.expiration;
  s.role_name = role.name;
  s.role_id = role.role_id;
  s.role_arn = role.arn;
  s.session_name = stored.session_name;
  s.assumed_role_arn = AssumedRoleArn(role.name, stored.session_name);
  s.assumed_role_id = role.role_id + ":" + stored.session_name;
  s.source_principal_arn = std::move(stored.source_principal_arn);
  s.source_provider = std::move(stored.source_provider);
  s.source_subject = std::move(stored.source_subject);
  s.source_identity = std::move(stored.source_identity);
  s.condition_keys = std::move(stored.condition_keys);
  resolved->key.access_key_id = s.access_key_id;
  resolved->key.secret_access_key = s.secret_access_key;
  resolved->key.active = true;
  resolved->key.created = s.created;
  resolved->user.user_id = s.assumed_role_id;
  resolved->user.arn = s.assumed_role_arn;
  resolved->user.path = role.path;
  resolved->user.created = s.created;
  return std::shared_ptr<const Resolved>(std::move(resolved));
}

Result<IdentityStore::Resolved> IdentityStore::LookupAccessKey(std::string_view access_key_id) {
  uint64_t generation;
  {
    util::ReaderLock lock(impl_->mu);
    auto it = impl_->cache.find(access_key_id);
    if (it != impl_->cache.end()) {
      if (!it->second->key.active) return Fail(UnknownKey(access_key_id));
      return *it->second;
    }
    generation = impl_->generation;
  }
  if (!IsValidAccessKeyId(access_key_id)) return Fail(UnknownKey(access_key_id));
  std::shared_ptr<const Resolved> resolved;
  if (IsSessionKeyId(access_key_id)) {
    COFFER_ASSIGN_OR_RETURN(resolved, impl_->LoadSession(access_key_id));
  } else {
    COFFER_ASSIGN_OR_RETURN(resolved, impl_->LoadKey(access_key_id));
  }
  {
    util::WriterLock lock(impl_->mu);
    if (impl_->generation == generation) impl_->cache[std::string(access_key_id)] = resolved;
  }
  if (!resolved->key.active) return Fail(UnknownKey(access_key_id));
  return *resolved;
}

}  // namespace coffer::domain::iam
