// Ordered, durable key-value storage with revisions. Values are opaque bytes:
// a backend never sees plaintext and knows nothing of encryption (keyring/
// encrypts before anything reaches here). Implemented by storage/sqlite
// (embedded default), storage/memory (tests) and, later, storage/etcd; one
// conformance suite (tests/storage/conformance) runs against each.
//
// Model (etcd's): every committed transaction gets the next revision, a
// strictly increasing int64 > 0. An entry records the revision that created
// it and the one that last modified it. Keys are compared bytewise.
// All methods may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace coffer::storage {

using Revision = int64_t;

struct Entry {
  std::string key;
  std::string value;
  Revision create_revision = 0;
  Revision mod_revision = 0;
};

// A transaction clause: holds iff the key's current mod_revision equals
// `mod_revision`; mod_revision == 0 means "the key does not exist".
struct Compare {
  std::string key;
  Revision mod_revision = 0;
};

enum class WriteKind { kPut, kDelete };

struct Write {
  WriteKind kind = WriteKind::kPut;
  std::string key;
  std::string value;  // kPut only

  static Write Put(std::string key, std::string value) {
    return Write{WriteKind::kPut, std::move(key), std::move(value)};
  }
  static Write Delete(std::string key) { return Write{WriteKind::kDelete, std::move(key), {}}; }
};

// Writes apply in order; a later write to the same key wins. Deleting an
// absent key is not an error.
struct Txn {
  std::vector<Compare> compares;
  std::vector<Write> writes;
};

// One change in the feed. A delete of an absent key produces no event.
struct Event {
  Revision revision = 0;
  WriteKind kind = WriteKind::kPut;
  std::string key;
};

struct RangeResult {
  std::vector<Entry> entries;
  bool more = false;  // true when `limit` cut the result short
};

// Smallest key greater than every key with prefix `prefix` ("" if none exists),
// for Range(prefix, PrefixEnd(prefix)).
std::string PrefixEnd(std::string_view prefix);

class Backend {
 public:
  virtual ~Backend() = default;

  // Returns the entry under `key`; kNotFound if there is none.
  virtual Result<Entry> Get(std::string_view key) = 0;

  // Entries with start <= key < end in key order ("" end = no upper bound), at
  // most `limit` of them (0 = no limit).
  virtual Result<RangeResult> Range(std::string_view start, std::string_view end,
                                    size_t limit) = 0;

  // Applies every write in `txn` atomically if all its compares hold, and
  // returns the new revision. Otherwise changes nothing and returns kAborted
  // (Reason::kCasConflict). A txn without writes whose compares hold returns the
  // current revision. Durable before it returns (concurrent commits may share
  // one fsync).
  virtual Result<Revision> Commit(const Txn& txn) = 0;

  // The revision of the last committed transaction (0 for an empty store).
  virtual Result<Revision> CurrentRevision() = 0;

  // Events with revision > `since`, in order, at most `limit` (0 = no limit).
  // kFailedPrecondition (Reason::kRevisionCompacted) when history older than
  // the oldest retained event is asked for.
  virtual Result<std::vector<Event>> Changes(Revision since, size_t limit) = 0;

  using WatchCallback = std::function<void(const std::vector<Event>&)>;
  // Calls `callback` after each commit with that commit's events (in
  // revision order, never concurrently with itself for one watch), until
  // Unwatch. Callbacks must be quick and must not call back into Commit.
  // Embedded backends (memory, sqlite) run the callbacks for a commit before
  // that Commit returns; a remote backend (etcd) runs them when the change
  // arrives, so writers must also invalidate their own caches.
  virtual uint64_t Watch(WatchCallback callback) = 0;
  // After it returns, the callback of `id` is not running and will not run.
  virtual void Unwatch(uint64_t id) = 0;
};

}  // namespace coffer::storage
