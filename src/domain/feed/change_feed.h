// domain/feed: the change feed. Turns the storage backend's revisions and
// events into what changed in domain words -- a parameter or a secret, its
// name and the version the change wrote -- never a value. The revisions are
// the storage revisions, so they survive restarts and are the same numbers
// that every commit got. api/native serves it as GET /v1/changes; the caller's
// permission to read each name is decided there (by the same resolvers a
// direct read uses), not here.
//
// Which storage keys mean what (docs/formats/storage-keys.md):
//   ssm/v/<name>/<10 digits> put  -> parameter <name>, that version
//   ssm/p/<name> delete            -> parameter <name> deleted
//   sm/s/<name> put                -> secret <name> changed (value, stages, ...);
//                                     version = the version id the same commit
//                                     wrote under sm/v/<name>/, else ""
//   sm/s/<name> delete             -> secret <name> deleted
// Other keys (heads of parameters rewritten for labels or tags, deletions of
// old versions, KMS, IAM, ...) produce no change.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/backend.h"
#include "util/mutex.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::domain::feed {

enum class ChangeType { kParameter, kSecret };

// "parameter" / "secret" (wire and docs name).
std::string_view ChangeTypeName(ChangeType type);

struct Change {
  storage::Revision revision = 0;
  ChangeType type = ChangeType::kParameter;
  std::string name;     // canonical name ("/app/db/password", "prod/db")
  std::string version;  // "7" for a parameter; a version id or "" for a secret
  bool deleted = false;
};

struct ChangePage {
  std::vector<Change> changes;  // in revision order
  // Every change up to this revision has been read: the next call passes it as
  // `since`. >= the `since` that was asked for.
  storage::Revision revision = 0;
};

// The parameter or secret change one storage event means, if any (`events`
// are all the events of one commit, for the secret's version id).
std::vector<Change> Translate(const std::vector<storage::Event>& events);

// Thread-safe. Registers a Backend::Watch on construction and removes it on
// destruction; `backend` must outlive it.
class ChangeFeed {
 public:
  explicit ChangeFeed(storage::Backend& backend);
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // The changes after revision `since`, in order, reading at most about
  // `max_events` storage events (a commit is never split: its events are all
  // in one page). Errors: kFailedPrecondition (kRevisionCompacted) when
  // `since` is older than the retained history or newer than the current
  // revision (the store was replaced: the reader must resync); storage
  // errors as they come.
  Result<ChangePage> Read(storage::Revision since, size_t max_events);

  // Blocks until a commit after `since` exists, `deadline` passes or
  // Shutdown() is called; returns the current revision (which may still be
  // `since`). Woken by the backend's watch, never by polling.
  Result<storage::Revision> WaitPast(storage::Revision since, util::SteadyTime deadline);

  // The store's current revision.
  Result<storage::Revision> CurrentRevision() { return backend_.CurrentRevision(); }

  // Wakes every waiter and makes later waits return at once.
  void Shutdown();

 private:
  storage::Backend& backend_;
  uint64_t watch_id_ = 0;
  util::Mutex mu_;
  util::CondVar changed_;
  storage::Revision seen_ COFFER_GUARDED_BY(mu_) = 0;
  bool stopping_ COFFER_GUARDED_BY(mu_) = false;
};

}  // namespace coffer::domain::feed
