// In-memory Backend: no durability. For unit tests of the modules above
// storage and as the reference implementation of the Backend contract.
// Thread-safe (one mutex).
#pragma once

#include <map>

#include "storage/backend.h"
#include "util/mutex.h"

namespace coffer::storage::memory {

class MemoryBackend final : public Backend {
 public:
  MemoryBackend() = default;

  Result<Entry> Get(std::string_view key) override;
  Result<RangeResult> Range(std::string_view start, std::string_view end, size_t limit) override;
  Result<Revision> Commit(const Txn& txn) override;
  Result<Revision> CurrentRevision() override;
  Result<std::vector<Event>> Changes(Revision since, size_t limit) override;
  uint64_t Watch(WatchCallback callback) override;
  void Unwatch(uint64_t id) override;

 private:
  util::Mutex mu_;
  std::map<std::string, Entry, std::less<>> data_ COFFER_GUARDED_BY(mu_);
  std::vector<Event> events_ COFFER_GUARDED_BY(mu_);
  Revision revision_ COFFER_GUARDED_BY(mu_) = 0;
  util::Mutex watch_mu_;  // held while callbacks run; taken after mu_ is released
  std::map<uint64_t, WatchCallback> watches_ COFFER_GUARDED_BY(watch_mu_);
  uint64_t next_watch_ COFFER_GUARDED_BY(watch_mu_) = 1;
  Revision notified_ COFFER_GUARDED_BY(watch_mu_) = 0;  // last revision whose watchers ran
  util::CondVar notified_cv_;
};

}  // namespace coffer::storage::memory
