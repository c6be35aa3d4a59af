#include "storage/memory/memory_backend.h"

namespace coffer::storage::memory {

Result<Entry> MemoryBackend::Get(std::string_view key) {
  util::MutexLock lock(mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return Fail(ErrorCode::kNotFound, "key not found");
  return it->second;
}

Result<RangeResult> MemoryBackend::Range(std::string_view start, std::string_view end,
                                         size_t limit) {
  util::MutexLock lock(mu_);
  RangeResult out;
  for (auto it = data_.lower_bound(start); it != data_.end(); ++it) {
    if (!end.empty() && it->first >= end) break;
    if (limit != 0 && out.entries.size() == limit) {
      out.more = true;
      break;
    }
    out.entries.push_back(it->second);
  }
  return out;
}

Result<Revision> MemoryBackend::Commit(const Txn& txn) {
  std::vector<Event> events;
  Revision rev;
  {
    util::MutexLock lock(mu_);
    for (const Compare& c : txn.compares) {
      auto it = data_.find(c.key);
      Revision current = it == data_.end() ? 0 : it->second.mod_revision;
      if (current != c.mod_revision) {
        return Fail(ErrorCode::kAborted, "transaction compare failed", Reason::kCasConflict);
      }
    }
    if (txn.writes.empty()) return revision_;
    rev = ++revision_;
    for (const Write& w : txn.writes) {
      auto it = data_.find(w.key);
      if (w.kind == WriteKind::kPut) {
        if (it == data_.end()) {
          data_.emplace(w.key, Entry{w.key, w.value, rev, rev});
        } else {
          it->second.value = w.value;
          it->second.mod_revision = rev;
        }
        events.push_back(Event{rev, WriteKind::kPut, w.key});
      } else if (it != data_.end()) {
        data_.erase(it);
        events.push_back(Event{rev, WriteKind::kDelete, w.key});
      }
    }
    events_.insert(events_.end(), events.begin(), events.end());
  }
  // Callbacks run in revision order: each commit waits for its predecessor's
  // notification (a ticket), without holding mu_ (callbacks may read).
  util::MutexLock wlock(watch_mu_);
  notified_cv_.Wait(wlock, [&]() COFFER_EXCLUSIVE_LOCKS_REQUIRED(watch_mu_) { return notified_ == rev - 1; });
  if (!events.empty()) {
    for (auto& [id, cb] : watches_) cb(events);
  }
  notified_ = rev;
  notified_cv_.NotifyAll();
  return rev;
}

Result<Revision> MemoryBackend::CurrentRevision() {
  util::MutexLock lock(mu_);
  return revision_;
}

Result<std::vector<Event>> MemoryBackend::Changes(Revision since, size_t limit) {
  util::MutexLock lock(mu_);
  std::vector<Event> out;
  for (const Event& e : events_) {
    if (e.revision <= since) continue;
    if (limit != 0 && out.size() == limit) break;
    out.push_back(e);
  }
  return out;
}

uint64_t MemoryBackend::Watch(WatchCallback callback) {
  util::MutexLock lock(watch_mu_);
  uint64_t id = next_watch_++;
  watches_.emplace(id, std::move(callback));
  return id;
}

void MemoryBackend::Unwatch(uint64_t id) {
  util::MutexLock lock(watch_mu_);
  watches_.erase(id);
}

}  // namespace coffer::storage::memory
