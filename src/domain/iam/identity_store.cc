#include "util/mutex.h"
#include "domain/iam/identity_store.h"

#include <utility>

#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::DeleteConflict;
using internal::GroupKey;
using internal::IsValidName;
using internal::kAccessKeyPrefix;
using internal::kIamPrefix;
using internal::kRolePrefix;
using internal::kSessionPrefix;
using internal::kUserKeysPrefix;
using internal::kUserPrefix;
using internal::NoSuch;
using internal::RoleKey;
using internal::UserKey;

std::string_view EntityKindName(EntityKind kind) {
  switch (kind) {
    case EntityKind::kUser:
      return "user";
    case EntityKind::kGroup:
      return "group";
    case EntityKind::kRole:
      return "role";
  }
  return "user";
}

void IdentityStore::Impl::OnEvents(const std::vector<storage::Event>& events) {
  util::WriterLock lock(mu);
  for (const storage::Event& e : events) Invalidate(e.key);
}

void IdentityStore::Impl::Invalidate(std::string_view key) {
  if (!key.starts_with(kIamPrefix)) return;
  ++generation;
  if (key.starts_with(kAccessKeyPrefix)) {
    auto it = cache.find(key.substr(kAccessKeyPrefix.size()));
    if (it != cache.end()) cache.erase(it);
    return;
  }
  if (key.starts_with(kSessionPrefix)) {
    auto it = cache.find(key.substr(kSessionPrefix.size()));
    if (it != cache.end()) cache.erase(it);
    return;
  }
  if (key.starts_with(kUserKeysPrefix)) return;
  if (key.starts_with(kUserPrefix)) {
    std::string_view name = key.substr(kUserPrefix.size());
    std::erase_if(cache, [name](const auto& kv) {
      return !kv.second->is_session && kv.second->user.name == name;
    });
  } else if (key.starts_with(kRolePrefix)) {
    std::string_view name = key.substr(kRolePrefix.size());
    std::erase_if(cache, [name](const auto& kv) {
      return kv.second->is_session && kv.second->session.role_name == name;
    });
  }
  ++policy_generation;
  policies.clear();
}

Status IdentityStore::Impl::Commit(const storage::Txn& txn) {
  auto committed = backend.Commit(txn);
  if (!committed.has_value()) return Fail(std::move(committed).error());
  util::WriterLock lock(mu);
  for (const storage::Write& w : txn.writes) Invalidate(w.key);
  return Ok();
}

Result<std::optional<storage::Entry>> IdentityStore::Impl::GetOptional(std::string_view key) {
  return domain::GetOptional(backend, key);
}

Result<std::vector<storage::Entry>> IdentityStore::Impl::Scan(std::string_view prefix,
                                                              size_t limit) {
  COFFER_ASSIGN_OR_RETURN(storage::RangeResult r,
                          backend.Range(prefix, storage::PrefixEnd(prefix), limit));
  return std::move(r.entries);
}

Result<bool> IdentityStore::Impl::HasAny(std::string_view prefix) {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, Scan(prefix, 1));
  return !entries.empty();
}

Status IdentityStore::Impl::RefuseIfAny(std::initializer_list<Children> children) {
  for (const Children& c : children) {
    COFFER_ASSIGN_OR_RETURN(bool any, HasAny(c.prefix));
    if (any) return Fail(DeleteConflict(std::string(c.message)));
  }
  return Ok();
}

std::string IdentityStore::Impl::EntityKey(EntityKind kind, std::string_view name) {
  switch (kind) {
    case EntityKind::kUser:
      return UserKey(name);
    case EntityKind::kGroup:
      return GroupKey(name);
    case EntityKind::kRole:
      return RoleKey(name);
  }
  return UserKey(name);
}

Result<storage::Entry> IdentityStore::Impl::GetEntity(EntityKind kind, std::string_view name) {
  size_t max = kind == EntityKind::kGroup ? 128 : 64;
  if (!IsValidName(name, max)) return Fail(NoSuch(kind, name));
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, GetOptional(EntityKey(kind, name)));
  if (!entry) return Fail(NoSuch(kind, name));
  return std::move(*entry);
}

Status IdentityStore::Impl::EnsureIdentityKey() {
  if (keyring.HasKey(kIdentityKeyId)) return Ok();
  Status created = keyring.CreateKey(kIdentityKeyId);
  if (!created.has_value() && created.error().code != ErrorCode::kAlreadyExists) return created;
  return Ok();
}

IdentityStore::IdentityStore(storage::Backend& backend, keyring::Keyring& keyring,
                             util::Clock& clock, util::IdGenerator& ids, std::string account_id)
    : account_id_(std::move(account_id)) {
  impl_ = std::make_unique<Impl>(backend, keyring, clock, ids, account_id_);
  Impl* impl = impl_.get();
  impl_->watch_id =
      backend.Watch([impl](const std::vector<storage::Event>& events) { impl->OnEvents(events); });
}

IdentityStore::~IdentityStore() { impl_->backend.Unwatch(impl_->watch_id); }

uint64_t IdentityStore::generation() const {
  util::ReaderLock lock(impl_->mu);
  return impl_->policy_generation;
}

}  // namespace coffer::domain::iam
