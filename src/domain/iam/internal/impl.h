// The state behind IdentityStore (its dependencies, the caches a storage watch
// keeps current) and the plumbing its files share. Each member function is
// defined in the file of the aggregate it serves; see identity_store.cc for the
// shared ones.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/mutex.h"
#include "domain/iam/identity_store.h"
#include "domain/iam/internal/common.h"
#include "domain/iam/internal/records.h"
#include "domain/record_store.h"

namespace coffer::domain::iam {

struct IdentityStore::Impl {
  static constexpr size_t kPurgeBatch = 32;

  Impl(storage::Backend& b, keyring::Keyring& k, util::Clock& c, util::IdGenerator& i,
       const std::string& a)
      : backend(b), keyring(k), clock(c), ids(i), account(a) {}

  storage::Backend& backend;
  keyring::Keyring& keyring;
  util::Clock& clock;
  util::IdGenerator& ids;  // non-secret ids only; keys and tokens come from the CSPRNG
  const std::string& account;
  uint64_t watch_id = 0;

  mutable util::SharedMutex mu;
  // Resolved keys by access key id (inactive ones too: Lookup filters them).
  std::map<std::string, std::shared_ptr<const Resolved>, std::less<>> cache COFFER_GUARDED_BY(mu);
  // Bumped on every change under iam/. A lookup that read storage under an older
  // generation does not fill the cache, so a fill can never resurrect data that a
  // watch event has already invalidated.
  uint64_t generation COFFER_GUARDED_BY(mu) = 0;
  // The same for policy-relevant records (everything but keys and sessions).
  uint64_t policy_generation COFFER_GUARDED_BY(mu) = 0;
  std::map<std::string, std::shared_ptr<const PrincipalPolicies>, std::less<>> policies
      COFFER_GUARDED_BY(mu);

  util::Mutex purge_mu;
  std::string purge_cursor COFFER_GUARDED_BY(purge_mu);

  // ---- caches and storage (identity_store.cc)
  void OnEvents(const std::vector<storage::Event>& events);
  void Invalidate(std::string_view key) COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Commits `txn` and invalidates the caches for its writes (a remote backend
  // runs watches later; embedded ones already ran them).
  Status Commit(const storage::Txn& txn);

  // Runs `attempt` until it does not fail with a compare-and-swap conflict.
  template <class F>
  // The storage toolkit's one retry budget (kMaxCasAttempts) and one error
  // when it is spent (ConcurrentUpdates), as every domain store has.
  auto Retry(F attempt) -> decltype(attempt()) {
    for (int i = 0; i < kMaxCasAttempts; ++i) {
      auto r = attempt();
      if (r.has_value() || !internal::IsCasConflict(r.error())) return r;
    }
    return ConcurrentUpdates("the IAM entity");
  }

  // ---- create / get / list / delete of the top-level records (users, groups,
  // roles, instance profiles, managed policies, OIDC providers): one plumbing.

  // A record with the storage entry it was read from (for compare clauses).
  template <class R>
  struct Found {
    storage::Entry entry;
    R record;
  };

  // Writes `record` under kind.prefix + `id` if nothing is there; kAlreadyExists
  // (kEntityAlreadyExists, `exists_message`) otherwise. Returns `record`.
  template <class R>
  Result<R> CreateRecord(const internal::RecordKind<R>& kind, std::string_view id, R record,
                         std::string exists_message) {
    std::string key = internal::Cat({kind.prefix, id});
    storage::Txn txn;
    txn.compares.push_back(storage::Compare{key, 0});
    txn.writes.push_back(storage::Write::Put(key, kind.encode(record)));
    auto committed = Commit(txn);
    if (!committed.has_value()) {
      if (internal::IsCasConflict(committed.error())) {
        return Fail(internal::AlreadyExists(std::move(exists_message)));
      }
      return Fail(std::move(committed).error());
    }
    return record;
  }

  // The record under kind.prefix + `id`; `missing` (a kNotFound) when there is
  // none or `id` is not a valid id of that kind.
  template <class R>
  Result<Found<R>> FindRecord(const internal::RecordKind<R>& kind, std::string_view id,
                              const Error& missing) {
    if (kind.max_id > 0 && !internal::IsValidName(id, kind.max_id)) return Fail(missing);
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry,
                            GetOptional(internal::Cat({kind.prefix, id})));
    if (!entry) return Fail(missing);
    COFFER_ASSIGN_OR_RETURN(R record, kind.decode(entry->key, entry->value));
    return Found<R>{std::move(*entry), std::move(record)};
  }

  // Every record of `kind`, by id, that `keep` accepts.
  template <class R, class Keep>
  Result<std::vector<R>> ListRecords(const internal::RecordKind<R>& kind, Keep keep) {
    COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, Scan(kind.prefix));
    std::vector<R> out;
    for (const storage::Entry& e : entries) {
      COFFER_ASSIGN_OR_RETURN(R record, kind.decode(e.key, e.value));
      if (keep(record)) out.push_back(std::move(record));
    }
    return out;
  }

  // Deletes the record under kind.prefix + `id` once `check(record)` passes
  // (it returns kFailedPrecondition (kDeleteConflict) while children exist),
  // provided the record did not change in between; retries on a conflict.
  // `missing` as FindRecord.
  template <class R, class Check>
  Status DeleteRecord(const internal::RecordKind<R>& kind, std::string_view id,
                      const Error& missing, Check check) {
    return Retry([&]() -> Status {
      COFFER_ASSIGN_OR_RETURN(Found<R> found, FindRecord(kind, id, missing));
      COFFER_RETURN_IF_ERROR(check(found.record));
      storage::Txn txn;
      internal::Guard(txn, found.entry);
      txn.writes.push_back(storage::Write::Delete(found.entry.key));
      return Commit(txn);
    });
  }

  // kFailedPrecondition (kDeleteConflict) with the message of the first
  // (prefix, message) whose prefix holds any record: the children a delete
  // must wait for.
  struct Children {
    std::string prefix;
    std::string_view message;
  };
  Status RefuseIfAny(std::initializer_list<Children> children);

  Result<std::optional<storage::Entry>> GetOptional(std::string_view key);
  Result<std::vector<storage::Entry>> Scan(std::string_view prefix, size_t limit = 0);
  Result<bool> HasAny(std::string_view prefix);
  std::string EntityKey(EntityKind kind, std::string_view name);
  // The record of a user, group or role; kNotFound (kNoSuchEntity).
  Result<storage::Entry> GetEntity(EntityKind kind, std::string_view name);
  Status EnsureIdentityKey();

  // ---- access keys (users_and_keys.cc)
  // Seals `secret` and writes the access key record and its index entry,
  // provided the key id is free and the user record is unchanged (which it
  // rewrites, so a concurrent DeleteUser or CreateAccessKey retries).
  // `limit` > 0: refuse when the user already has that many keys.
  Result<AccessKey> StoreKey(std::string_view user_name, std::string_view access_key_id,
                             const SecretBytes& secret, size_t limit);

  // ---- credential index (credential_index.cc)
  // Reads and decrypts an access key and its user from storage.
  Result<std::shared_ptr<const Resolved>> LoadKey(std::string_view access_key_id);
  // Reads and decrypts a session and checks its role still exists.
  Result<std::shared_ptr<const Resolved>> LoadSession(std::string_view access_key_id);

  // ---- sessions (sessions.cc)
  std::string AssumedRoleArn(std::string_view role, std::string_view session);
  // Deletes up to `batch` long-expired sessions, continuing where the last call
  // stopped (wrapping around), or all of them when batch == 0.
  Result<size_t> Purge(size_t batch);

  // ---- managed policies (policies.cc)
  // "arn:aws:iam::<account>:policy/<path><name>" -> name; kNotFound otherwise.
  Result<std::string> PolicyNameFromArn(std::string_view arn);
  // The policy record named by `arn` (the stored ARN must match exactly).
  Result<Found<internal::StoredPolicy>> GetPolicyEntry(std::string_view arn);

  // ---- for the authorizer (principal_policies.cc)
  // Appends the inline and attached policies of one entity.
  Status CollectPolicies(EntityKind kind, std::string_view entity, std::set<std::string>& seen,
                         std::vector<PolicyText>& out);
};

}  // namespace coffer::domain::iam
