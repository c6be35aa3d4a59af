// Fault injection at the storage seam: a Backend that forwards to a real one
// and fails on cue, for tests of the layers above storage (leveldb's
// FaultInjectionTestEnv, at the Backend level).
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "storage/backend.h"

namespace coffer::testing {

// Wraps `inner` (not owned; must outlive this object). Thread-safe: the fault
// counters are atomics and every call forwards to `inner`.
class FaultyBackend final : public storage::Backend {
 public:
  explicit FaultyBackend(storage::Backend& inner) : inner_(inner) {}

  // The next `n` Commit calls fail with kUnavailable and change nothing.
  void FailNextCommits(int n) { fail_commits_.store(n); }
  // The next `n` Commit calls are applied by the inner backend but then
  // report kUnavailable: the write happened, the caller was not told (a lost
  // acknowledgement, e.g. a connection dropped after commit).
  void FailNextCommitsAfterApply(int n) { fail_after_apply_.store(n); }
  // While set, Get, Range, CurrentRevision and Changes fail with kUnavailable.
  void SetFailReads(bool fail) { fail_reads_.store(fail); }
  // Clears every pending fault.
  void Heal();

  // Commit calls seen, and how many of them reached the inner backend.
  int64_t commit_calls() const { return commit_calls_.load(); }
  int64_t commits_forwarded() const { return commits_forwarded_.load(); }

  Result<storage::Entry> Get(std::string_view key) override;
  Result<storage::RangeResult> Range(std::string_view start, std::string_view end,
                                     size_t limit) override;
  Result<storage::Revision> Commit(const storage::Txn& txn) override;
  Result<storage::Revision> CurrentRevision() override;
  Result<std::vector<storage::Event>> Changes(storage::Revision since, size_t limit) override;
  uint64_t Watch(WatchCallback callback) override { return inner_.Watch(std::move(callback)); }
  void Unwatch(uint64_t id) override { inner_.Unwatch(id); }

 private:
  // Decrements `counter` if positive; true when a fault is due.
  static bool Take(std::atomic<int>& counter);

  storage::Backend& inner_;
  std::atomic<int> fail_commits_{0};
  std::atomic<int> fail_after_apply_{0};
  std::atomic<bool> fail_reads_{false};
  std::atomic<int64_t> commit_calls_{0};
  std::atomic<int64_t> commits_forwarded_{0};
};

}  // namespace coffer::testing
