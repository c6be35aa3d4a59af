#include "support/faulty_backend.h"

namespace coffer::testing {
namespace {

std::unexpected<Error> Injected(const char* what) {
  return Fail(ErrorCode::kUnavailable, std::string("injected storage fault: ") + what);
}

}  // namespace

bool FaultyBackend::Take(std::atomic<int>& counter) {
  int n = counter.load();
  while (n > 0) {
    if (counter.compare_exchange_weak(n, n - 1)) return true;
  }
  return false;
}

void FaultyBackend::Heal() {
  fail_commits_.store(0);
  fail_after_apply_.store(0);
  fail_reads_.store(false);
}

Result<storage::Entry> FaultyBackend::Get(std::string_view key) {
  if (fail_reads_.load()) return Injected("get");
  return inner_.Get(key);
}

Result<storage::RangeResult> FaultyBackend::Range(std::string_view start, std::string_view end,
                                                  size_t limit) {
  if (fail_reads_.load()) return Injected("range");
  return inner_.Range(start, end, limit);
}

Result<storage::Revision> FaultyBackend::Commit(const storage::Txn& txn) {
  commit_calls_.fetch_add(1);
  if (Take(fail_commits_)) return Injected("commit");
  commits_forwarded_.fetch_add(1);
  Result<storage::Revision> result = inner_.Commit(txn);
  if (result && Take(fail_after_apply_)) return Injected("commit acknowledgement lost");
  return result;
}

Result<storage::Revision> FaultyBackend::CurrentRevision() {
  if (fail_reads_.load()) return Injected("current revision");
  return inner_.CurrentRevision();
}

Result<std::vector<storage::Event>> FaultyBackend::Changes(storage::Revision since,
                                                           size_t limit) {
  if (fail_reads_.load()) return Injected("changes");
  return inner_.Changes(since, limit);
}

}  // namespace coffer::testing
