// The embedded default storage::Backend: one SQLite database file in WAL mode
// with synchronous=FULL, so a commit is on disk before Commit returns.
//
// Writes go through a single writer thread that does group commit: every
// transaction queued while the previous batch was being written is applied in
// one SQLite transaction (each inside its own SAVEPOINT, so a failing compare
// or a failing write only undoes that one transaction) and made durable with a
// single COMMIT (one fsync). Each successful transaction still gets its own
// revision. Reads use a small pool of separate connections and never wait for
// the writer (WAL readers see the last committed state).
//
// Thread safety: all methods may be called from any thread. Watch callbacks
// run on the writer thread after the batch holding their commit is durable;
// Commit may return before the callbacks for its revision have run.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage/backend.h"
#include "util/mutex.h"

struct sqlite3;

namespace coffer::storage::sqlite {

struct SqliteOptions {
  // Number of change-feed events kept; Changes() for older history fails with
  // kFailedPrecondition (Reason::kRevisionCompacted). Must be > 0.
  size_t max_events = 100000;
  // How long a connection waits for a lock held by another process.
  int busy_timeout_ms = 5000;
  // Idle read connections kept open for reuse.
  size_t max_idle_readers = 8;
};

namespace internal {
struct ReadConn;
struct WriteConn;
}  // namespace internal

class SqliteBackend final : public Backend {
 public:
  using Options = SqliteOptions;

  // Opens (creating it and its schema if absent) the database at `path` and
  // starts the writer thread. The database file is created 0600 (so are its
  // -wal and -shm files, which take its mode); existing files wider than that
  // are narrowed to 0600. Returns kUnavailable when the file cannot be
  // opened or written (missing directory, permissions, I/O error), kDataLoss
  // when it is not a database or is corrupt, kInvalidArgument for bad options.
  static Result<std::unique_ptr<SqliteBackend>> Open(const std::string& path,
                                                     Options options = {});

  // Completes every queued commit, joins the writer and closes the database.
  ~SqliteBackend() override;

  SqliteBackend(const SqliteBackend&) = delete;
  SqliteBackend& operator=(const SqliteBackend&) = delete;

  // Backend. SQLite failures are returned as kUnavailable (I/O, busy, full
  // disk), kDataLoss (corruption) or kInternal; they never crash the process.
  // Commit from inside a watch callback returns kFailedPrecondition.
  Result<Entry> Get(std::string_view key) override;
  Result<RangeResult> Range(std::string_view start, std::string_view end, size_t limit) override;
  Result<Revision> Commit(const Txn& txn) override;
  Result<Revision> CurrentRevision() override;
  Result<std::vector<Event>> Changes(Revision since, size_t limit) override;
  uint64_t Watch(WatchCallback callback) override;
  void Unwatch(uint64_t id) override;

  // Test hooks. While paused the writer takes no new batch (a batch already
  // being written completes); queued commits stay queued.
  void PauseWriterForTest();
  void ResumeWriterForTest();
  // Blocks until at least `n` commits are queued and not yet taken by the writer.
  void WaitForQueuedForTest(size_t n);
  // Number of SQLite transactions (batches) committed since Open.
  uint64_t BatchesCommittedForTest() const { return batches_committed_.load(); }

 private:
  struct Pending {
    const Txn* txn;
    std::promise<Result<Revision>> promise;
  };

  SqliteBackend(std::string path, Options options);

  Status Init();
  void WriterLoop();
  void ProcessBatch(std::vector<Pending>& batch);
  void Notify(const std::vector<std::vector<Event>>& batches);

  Result<std::unique_ptr<internal::ReadConn>> AcquireReader();
  void ReleaseReader(std::unique_ptr<internal::ReadConn> conn);

  const std::string path_;
  const Options options_;

  std::unique_ptr<internal::WriteConn> writer_;  // used only by the writer thread after Init
  Revision revision_ = 0;                        // writer thread only
  Revision compacted_ = 0;                       // writer thread only
  int64_t event_count_ = 0;                      // writer thread only

  util::Mutex queue_mu_;
  util::CondVar queue_cv_;
  std::deque<Pending> queue_ COFFER_GUARDED_BY(queue_mu_);
  bool stopping_ COFFER_GUARDED_BY(queue_mu_) = false;
  bool paused_ COFFER_GUARDED_BY(queue_mu_) = false;
  std::thread writer_thread_;
  std::thread::id writer_id_;
  std::atomic<uint64_t> batches_committed_{0};

  util::Mutex readers_mu_;
  std::vector<std::unique_ptr<internal::ReadConn>> idle_readers_ COFFER_GUARDED_BY(readers_mu_);

  // Recursive so that a callback may Watch/Unwatch; held while callbacks run,
  // which is what makes Unwatch wait for a running callback.
  util::RecursiveMutex watch_mu_;
  std::map<uint64_t, std::shared_ptr<WatchCallback>> watches_ COFFER_GUARDED_BY(watch_mu_);
  uint64_t next_watch_ COFFER_GUARDED_BY(watch_mu_) = 1;
};

}  // namespace coffer::storage::sqlite
