#include <utility>

#include "util/mutex.h"
#include "domain/arn.h"
#include "domain/iam/internal/impl.h"

namespace coffer::domain::iam {

using internal::DecodeRole;
using internal::DecodeSession;
using internal::EncodeSession;
using internal::Guard;
using internal::Invalid;
using internal::IsCasConflict;
using internal::IsValidName;
using internal::kSessionPrefix;
using internal::RandomBase64Secret;
using internal::RandomIdentifier;
using internal::SessionKey;
using internal::StoredSession;

std::string IdentityStore::Impl::AssumedRoleArn(std::string_view role, std::string_view session) {
  return StsAssumedRoleArn(account, role, session);
}

Result<size_t> IdentityStore::Impl::Purge(size_t batch) {
  std::string start;
  {
    util::MutexLock lock(purge_mu);
    start = batch == 0 ? std::string(kSessionPrefix) : purge_cursor;
    if (start.empty()) start = std::string(kSessionPrefix);
  }
  COFFER_ASSIGN_OR_RETURN(storage::RangeResult range,
                          backend.Range(start, storage::PrefixEnd(kSessionPrefix), batch));
  {
    util::MutexLock lock(purge_mu);
    purge_cursor = range.more && !range.entries.empty() ? range.entries.back().key + '\0' : "";
  }
  util::SystemTime cutoff = clock.Now() - kExpiredSessionRetention;
  size_t purged = 0;
  for (const storage::Entry& e : range.entries) {
    auto stored = DecodeSession(e.key, e.value);
    if (stored.has_value() && stored->expiration > cutoff) continue;
    storage::Txn txn;
    Guard(txn, e);
    txn.writes.push_back(storage::Write::Delete(e.key));
    if (Commit(txn).has_value()) ++purged;
  }
  return purged;
}

// ---------------------------------------------------------------- sessions

Result<Session> IdentityStore::CreateSession(
    std::string_view role_name, std::string_view session_name, std::chrono::seconds duration,
    const SessionSource& source,
    std::map<std::string, std::vector<std::string>, std::less<>> condition_keys) {
  if (session_name.size() < 2 || !IsValidName(session_name, 64)) {
    return Fail(Invalid("RoleSessionName must be 2-64 characters of [\\w+=,.@-]"));
  }
  COFFER_ASSIGN_OR_RETURN(storage::Entry role_entry,
                          impl_->GetEntity(EntityKind::kRole, role_name));
  COFFER_ASSIGN_OR_RETURN(Role role, DecodeRole(role_entry.key, role_entry.value));
  if (duration.count() < kMinSessionDurationSeconds ||
      duration.count() > role.max_session_duration) {
    return Fail(
        Invalid("The requested DurationSeconds exceeds the MaxSessionDuration set for "
                "this role, or is below 900 seconds."));
  }
  COFFER_RETURN_IF_ERROR(impl_->EnsureIdentityKey());
  Session s;
  s.access_key_id = RandomIdentifier("ASIA");
  s.secret_access_key = RandomBase64Secret(30);  // 40 characters
  s.session_token = RandomBase64Secret(96);      // 128 characters
  s.created = impl_->clock.Now();
  s.expiration = s.created + duration;
  s.role_name = role.name;
  s.role_id = role.role_id;
  s.role_arn = role.arn;
  s.session_name = std::string(session_name);
  s.assumed_role_arn = impl_->AssumedRoleArn(role.name, session_name);
  s.assumed_role_id = role.role_id + ":" + s.session_name;
  s.source_principal_arn = source.principal_arn;
  s.source_provider = source.provider;
  s.source_subject = source.subject;
  s.source_identity = source.source_identity;
  s.condition_keys = std::move(condition_keys);

  std::string key = SessionKey(s.access_key_id);
  StoredSession stored;
  stored.access_key_id = s.access_key_id;
  stored.role_name = s.role_name;
  stored.role_id = s.role_id;
  stored.session_name = s.session_name;
  COFFER_ASSIGN_OR_RETURN(
      stored.sealed_secret,
      impl_->keyring.Encrypt(kIdentityKeyId, key + "/secret", s.secret_access_key.Reveal()));
  COFFER_ASSIGN_OR_RETURN(
      stored.sealed_token,
      impl_->keyring.Encrypt(kIdentityKeyId, key + "/token", s.session_token.Reveal()));
  stored.created = s.created;
  stored.expiration = s.expiration;
  stored.source_principal_arn = s.source_principal_arn;
  stored.source_provider = s.source_provider;
  stored.source_subject = s.source_subject;
  stored.source_identity = s.source_identity;
  stored.condition_keys = s.condition_keys;
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{key, 0});
  Guard(txn, role_entry);
  txn.writes.push_back(storage::Write::Put(key, EncodeSession(stored)));
  auto committed = impl_->Commit(txn);
  if (!committed.has_value()) {
    if (IsCasConflict(committed.error())) {
      return Fail(ErrorCode::kAborted, "the role changed while the session was created",
                  Reason::kCasConflict);
    }
    return Fail(std::move(committed).error());
  }
  IgnoreError(impl_->Purge(Impl::kPurgeBatch),
              "best effort: expired sessions are purged again by the next one created");
  return s;
}

Result<size_t> IdentityStore::PurgeExpiredSessions() { return impl_->Purge(0); }

}  // namespace coffer::domain::iam
