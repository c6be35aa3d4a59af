// The storage toolkit of the domain stores (parameters/, secrets/, kms/, iam/):
// the few ways a store reads and writes its records over storage::Backend,
// written once. Records themselves are encoded with the one record codec
// (domain/record.h); each store keeps its own record layouts and key names
// (docs/formats/storage-keys.md).
//
//   GetOptional / GetRecord   one entry, std::nullopt when absent (absence is
//                             not an error; storage and decode errors are)
//   ScanPrefix / ScanRecords  every entry under a key prefix, in key order
//   CommitWithRetry           read-modify-write under compare-and-swap, with
//   UpdateRecord              one retry budget (kMaxCasAttempts) and one error
//                             when it is spent (ConcurrentUpdates)
//   WatchedCache<V>           an in-memory cache fed by the change feed, whose
//                             staleness check is by revision (never serves or
//                             keeps a value older than a change it has seen)
//
// All functions may be called from any thread; WatchedCache is thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/mutex.h"
#include "storage/backend.h"
#include "util/result.h"
#include "util/thread_annotations.h"

namespace coffer::domain {

// The one retry budget of every compare-and-swap loop in the domain stores:
// the number of times a read-modify-write is tried before ConcurrentUpdates.
inline constexpr int kMaxCasAttempts = 10;

// A decoded record and the storage revision that last modified it (the
// revision to compare against when writing it back).
template <class T>
struct Stored {
  T value;
  storage::Revision revision = 0;
};

template <class T>
using RecordDecoder = Result<T> (*)(std::string_view bytes);
template <class T>
using RecordEncoder = std::string (*)(const T& record);

// The one error of a spent retry budget: kAborted (Reason::kTooManyUpdates),
// "There are concurrent updates to <what>. Please try again." `what` names the
// record in domain words ("parameter /a/b", "KMS key <id>") and never a value.
std::unexpected<Error> ConcurrentUpdates(std::string_view what);

// The entry under `key`, or std::nullopt when there is none. Storage errors
// are returned as they are.
Result<std::optional<storage::Entry>> GetOptional(storage::Backend& backend, std::string_view key);

// The record under `key` decoded with `decode`, with its mod revision;
// std::nullopt when absent. Decode errors (kDataLoss) are returned as they are.
template <class T>
Result<std::optional<Stored<T>>> GetRecord(storage::Backend& backend, std::string_view key,
                                           RecordDecoder<T> decode) {
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, GetOptional(backend, key));
  if (!entry) return std::optional<Stored<T>>();
  COFFER_ASSIGN_OR_RETURN(T value, decode(entry->value));
  return std::optional<Stored<T>>(Stored<T>{std::move(value), entry->mod_revision});
}

// Calls `visit(entry)` for the entries with `prefix` whose key is greater than
// the storage key `start_after` (all of them when it is empty), in key order,
// reading them in batches of `batch` (0 = all at once), until `visit` returns
// false or an error. Returns true when entries remain after the last one
// visited.
Result<bool> ScanPrefix(storage::Backend& backend, std::string_view prefix,
                        std::string_view start_after, size_t batch,
                        const std::function<Result<bool>(const storage::Entry&)>& visit);

// Every entry under `prefix`, in key order, in one read.
Result<std::vector<storage::Entry>> ScanAll(storage::Backend& backend, std::string_view prefix);

// Every record under `prefix`, decoded, as (key without the prefix, record),
// in key order. The first decode error is returned.
template <class T>
Result<std::vector<std::pair<std::string, Stored<T>>>> ScanRecords(storage::Backend& backend,
                                                                   std::string_view prefix,
                                                                   RecordDecoder<T> decode) {
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, ScanAll(backend, prefix));
  std::vector<std::pair<std::string, Stored<T>>> out;
  out.reserve(entries.size());
  for (storage::Entry& e : entries) {
    COFFER_ASSIGN_OR_RETURN(T value, decode(e.value));
    out.emplace_back(e.key.substr(prefix.size()), Stored<T>{std::move(value), e.mod_revision});
  }
  return out;
}

// One try of a read-modify-write: reads what it needs (fresh, not from a
// cache), and returns the transaction to commit (whose compares guard what it
// read), or std::nullopt to commit nothing. An error ends the loop as it is.
using CasAttempt = std::function<Result<std::optional<storage::Txn>>()>;

// Runs `attempt` and commits its transaction; when a compare does not hold
// (kAborted from the backend), runs it again on fresh data, at most
// kMaxCasAttempts times in all, then returns ConcurrentUpdates(what). Returns
// the committed revision, or std::nullopt when `attempt` chose to commit
// nothing (or its transaction has no writes). Durable before it returns;
// changes nothing on error.
Result<std::optional<storage::Revision>> CommitWithRetry(storage::Backend& backend,
                                                         std::string_view what,
                                                         const CasAttempt& attempt);

// Read-modify-write of the one record under `key`: reads and decodes it, lets
// `change` edit it, and writes it back if it is unchanged since the read
// (CommitWithRetry, so `change` may run several times and must only edit its
// argument). Returns the record as written with its new revision;
// std::nullopt when there is no record (nothing written). An error from
// `change` is returned and nothing is written.
template <class T>
Result<std::optional<Stored<T>>> UpdateRecord(storage::Backend& backend, std::string_view key,
                                              std::string_view what, RecordDecoder<T> decode,
                                              RecordEncoder<T> encode,
                                              const std::function<Status(T&)>& change) {
  std::optional<T> written;
  COFFER_ASSIGN_OR_RETURN(
      std::optional<storage::Revision> rev,
      CommitWithRetry(backend, what, [&]() -> Result<std::optional<storage::Txn>> {
        written.reset();
        COFFER_ASSIGN_OR_RETURN(std::optional<Stored<T>> current, GetRecord(backend, key, decode));
        if (!current) return std::optional<storage::Txn>();
        COFFER_RETURN_IF_ERROR(change(current->value));
        storage::Txn txn;
        txn.compares.push_back(storage::Compare{std::string(key), current->revision});
        txn.writes.push_back(storage::Write::Put(std::string(key), encode(current->value)));
        written = std::move(current->value);
        return std::optional<storage::Txn>(std::move(txn));
      }));
  if (!rev || !written) return std::optional<Stored<T>>();
  return std::optional<Stored<T>>(Stored<T>{std::move(*written), *rev});
}

// The untyped core of WatchedCache (see there); values are type-erased.
class RevisionCache {
 public:
  // Maps a storage key to the cache key a change of it invalidates, or ""
  // when the cache does not depend on that storage key.
  using KeyOf = std::function<std::string(std::string_view storage_key)>;

  RevisionCache(storage::Backend& backend, KeyOf key_of, size_t max_entries);
  ~RevisionCache();
  RevisionCache(const RevisionCache&) = delete;
  RevisionCache& operator=(const RevisionCache&) = delete;

  std::shared_ptr<const void> Find(std::string_view key) const;
  std::pair<std::shared_ptr<const void>, storage::Revision> FindWithRevision(
      std::string_view key) const;
  storage::Revision Seen(std::string_view key) const;
  void Put(std::string_view key, std::shared_ptr<const void> value, storage::Revision as_of);
  void Changed(std::string_view key, storage::Revision revision);
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<const void> value;
    storage::Revision as_of = 0;
  };
  storage::Revision SeenLocked(std::string_view key) const COFFER_SHARED_LOCKS_REQUIRED(mu_);
  void OnEvents(const std::vector<storage::Event>& events);

  storage::Backend& backend_;
  KeyOf key_of_;
  size_t max_entries_;
  uint64_t watch_id_ = 0;
  mutable util::SharedMutex mu_;
  std::map<std::string, Entry, std::less<>> entries_ COFFER_GUARDED_BY(mu_);
  // Newest change revision seen per cache key, so that a read that began
  // before a change does not cache what it read after the change went by.
  std::map<std::string, storage::Revision, std::less<>> last_change_ COFFER_GUARDED_BY(mu_);
  // When last_change_ is trimmed, the newest revision it held: every key
  // counts as changed at this revision.
  storage::Revision floor_ COFFER_GUARDED_BY(mu_) = 0;
};

// An in-memory cache of decoded records (or of values built from several
// records), keyed by a cache key the store chooses, and kept fresh by the
// backend's change feed. KeyDirectory's staleness check, generalised:
//   - each value carries the revision it was read at (`as_of`);
//   - a change of a cache key at revision R (from the feed, or reported by a
//     writer with Changed, which remote backends need) drops a value with
//     as_of < R and is remembered, so a read that began before R and finishes
//     after it is not cached (Put refuses values older than a seen change);
//   - a writer may Put the value it just committed at the commit's revision;
//     an older value never replaces a newer one.
// Bounded: past `max_entries` values (or remembered changes) it starts over,
// never keeping a stale value. Thread-safe; the watch ends with the cache.
template <class V>
class WatchedCache {
 public:
  using KeyOf = RevisionCache::KeyOf;
  static constexpr size_t kDefaultMaxEntries = 100000;

  WatchedCache(storage::Backend& backend, KeyOf key_of, size_t max_entries = kDefaultMaxEntries)
      : core_(backend, std::move(key_of), max_entries) {}

  // The cached value of `key`, or nullptr.
  std::shared_ptr<const V> Find(std::string_view key) const {
    return std::static_pointer_cast<const V>(core_.Find(key));
  }

  // The cached value of `key` and the revision it is as of ({nullptr, 0} when
  // absent): for an optimistic first try of a compare-and-swap, whose compare
  // on that revision fails (and is retried on fresh data) if it is not current.
  std::pair<std::shared_ptr<const V>, storage::Revision> FindWithRevision(
      std::string_view key) const {
    auto [value, as_of] = core_.FindWithRevision(key);
    return {std::static_pointer_cast<const V>(value), as_of};
  }

  // The cached value of `key`, or else what `load` reads: a value and the
  // newest mod revision among the records it was built from. The loaded
  // value is cached unless a change of `key` newer than the read went by
  // meanwhile. Errors of `load` (kNotFound included) are returned and
  // nothing is cached.
  Result<std::shared_ptr<const V>> GetOrLoad(std::string_view key,
                                             const std::function<Result<Stored<V>>()>& load) {
    if (auto hit = Find(key)) return hit;
    // Every change seen before the read is one the read sees, so the value
    // is at least as new as it (this also covers records the value was not
    // built from but whose changes map to `key`).
    storage::Revision seen = core_.Seen(key);
    COFFER_ASSIGN_OR_RETURN(Stored<V> loaded, load());
    auto value = std::make_shared<const V>(std::move(loaded.value));
    core_.Put(key, value, std::max(seen, loaded.revision));
    return std::shared_ptr<const V>(value);
  }

  // Caches `value` as read (or written) at revision `as_of`; ignored when a
  // newer change of `key` was seen or a newer value is cached.
  void Put(std::string_view key, V value, storage::Revision as_of) {
    core_.Put(key, std::make_shared<const V>(std::move(value)), as_of);
  }

  // Records that `key` changed at `revision` (as the change feed does): drops
  // an older cached value. Writers call it after a commit, since a remote
  // backend's feed may arrive later.
  void Changed(std::string_view key, storage::Revision revision) { core_.Changed(key, revision); }

  size_t size() const { return core_.size(); }

 private:
  RevisionCache core_;
};

}  // namespace coffer::domain
