#include "storage/sqlite/sqlite_backend.h"

#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/conformance/backend_conformance.h"
#include "support/temp_dir.h"
#include "support/matchers.h"

namespace coffer::storage::sqlite {
namespace {

using conformance::BackendConformanceTest;
using conformance::BackendFactory;
using conformance::BackendFactoryName;

// A SqliteBackend that owns the temporary directory holding its database.
class TempSqliteBackend final : public Backend {
 public:
  static std::unique_ptr<Backend> Make() {
    auto out = std::make_unique<TempSqliteBackend>();
    auto opened = SqliteBackend::Open(out->dir_.File("db.sqlite"));
    if (!opened) {
      ADD_FAILURE() << "open failed: " << opened.error().message;
      return nullptr;
    }
    out->inner_ = std::move(*opened);
    return out;
  }

  ~TempSqliteBackend() override { inner_.reset(); }  // close before the directory goes

  Result<Entry> Get(std::string_view key) override { return inner_->Get(key); }
  Result<RangeResult> Range(std::string_view start, std::string_view end, size_t limit) override {
    return inner_->Range(start, end, limit);
  }
  Result<Revision> Commit(const Txn& txn) override { return inner_->Commit(txn); }
  Result<Revision> CurrentRevision() override { return inner_->CurrentRevision(); }
  Result<std::vector<Event>> Changes(Revision since, size_t limit) override {
    return inner_->Changes(since, limit);
  }
  uint64_t Watch(WatchCallback callback) override { return inner_->Watch(std::move(callback)); }
  void Unwatch(uint64_t id) override { inner_->Unwatch(id); }

 private:
  testing::ScopedTempDir dir_;
  std::unique_ptr<SqliteBackend> inner_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, BackendConformanceTest,
                         ::testing::Values(BackendFactory{"sqlite", &TempSqliteBackend::Make}),
                         BackendFactoryName);

Txn PutTxn(std::string key, std::string value) {
  Txn txn;
  txn.writes.push_back(Write::Put(std::move(key), std::move(value)));
  return txn;
}

class SqliteBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  std::unique_ptr<SqliteBackend> OpenOrDie(SqliteOptions options = {}) {
    auto opened = SqliteBackend::Open(path(), options);
    EXPECT_TRUE(IsOk(opened));
    return opened ? std::move(*opened) : nullptr;
  }
  std::string path() const { return dir_.File("db.sqlite"); }

  testing::ScopedTempDir dir_;
};

// Data, revisions and the change feed survive closing and reopening the file.
TEST_F(SqliteBackendTest, ReopenKeepsDataRevisionAndChangeFeed) {
  Revision last = 0;
  {
    auto backend = OpenOrDie();
    ASSERT_NE(backend, nullptr);
    ASSERT_TRUE(IsOk(backend->Commit(PutTxn("a", "1"))));
    ASSERT_TRUE(IsOk(backend->Commit(PutTxn("b", std::string("\0two", 4)))));
    auto rev = backend->Commit(PutTxn("a", "3"));
    ASSERT_TRUE(IsOk(rev));
    last = *rev;
  }
  auto backend = OpenOrDie();
  ASSERT_NE(backend, nullptr);
  auto current = backend->CurrentRevision();
  ASSERT_TRUE(IsOk(current));
  EXPECT_EQ(*current, last);
  auto a = backend->Get("a");
  ASSERT_TRUE(IsOk(a));
  EXPECT_EQ(a->value, "3");
  EXPECT_EQ(a->mod_revision, last);
  EXPECT_LT(a->create_revision, last);
  auto b = backend->Get("b");
  ASSERT_TRUE(IsOk(b));
  EXPECT_TRUE(b->value == std::string("\0two", 4));
  auto changes = backend->Changes(0, 0);
  ASSERT_TRUE(IsOk(changes));
  EXPECT_EQ(changes->size(), 3u);

  // Revisions continue after the stored one.
  auto next = backend->Commit(PutTxn("c", "4"));
  ASSERT_TRUE(IsOk(next));
  EXPECT_EQ(*next, last + 1);
}

// Only the last max_events events are kept; older history fails with kRevisionCompacted.
TEST_F(SqliteBackendTest, ChangesOlderThanRetainedHistoryFailWithRevisionCompacted) {
  SqliteOptions options;
  options.max_events = 5;
  auto backend = OpenOrDie(options);
  ASSERT_NE(backend, nullptr);
  std::vector<Revision> revs;
  for (int i = 0; i < 12; ++i) {
    auto rev = backend->Commit(PutTxn("k" + std::to_string(i), "v"));
    ASSERT_TRUE(IsOk(rev));
    revs.push_back(*rev);
  }
  EXPECT_TRUE(HasError(backend->Changes(0, 0), ErrorCode::kFailedPrecondition,
                       Reason::kRevisionCompacted));
  EXPECT_TRUE(HasError(backend->Changes(revs[5], 0), ErrorCode::kFailedPrecondition,
                       Reason::kRevisionCompacted));
  // The last five events (revisions 8..12) are still there.
  auto kept = backend->Changes(revs[6], 0);
  ASSERT_TRUE(IsOk(kept));
  ASSERT_EQ(kept->size(), 5u);
  EXPECT_EQ(kept->front().revision, revs[7]);
  EXPECT_EQ(kept->back().revision, revs[11]);
  // Compaction only trims history: every key is still readable.
  auto all = backend->Range("", "", 0);
  ASSERT_TRUE(IsOk(all));
  EXPECT_EQ(all->entries.size(), 12u);

  // The compaction point survives a reopen.
  backend.reset();
  backend = OpenOrDie(options);
  ASSERT_NE(backend, nullptr);
  EXPECT_TRUE(HasError(backend->Changes(0, 0), ErrorCode::kFailedPrecondition,
                       Reason::kRevisionCompacted));
  auto again = backend->Changes(revs[6], 0);
  ASSERT_TRUE(IsOk(again));
  EXPECT_EQ(again->size(), 5u);
}

// Commits queued together are written in one SQLite transaction; a txn whose
// compare fails in that batch is rejected alone and the others commit with
// their own dense revisions.
TEST_F(SqliteBackendTest, FailingCompareInGroupCommitDoesNotAffectOthersInBatch) {
  auto backend = OpenOrDie();
  ASSERT_NE(backend, nullptr);
  auto base = backend->Commit(PutTxn("k", "v0"));
  ASSERT_TRUE(IsOk(base));
  uint64_t batches_before = backend->BatchesCommittedForTest();

  backend->PauseWriterForTest();
  Txn good1 = PutTxn("x", "1");
  Txn bad = PutTxn("k", "lost");
  bad.compares.push_back(Compare{"k", *base + 100});
  Txn good2 = PutTxn("y", "2");
  // Two txns CAS the same key at the same revision: the first one wins.
  Txn cas_a = PutTxn("k", "cas-a");
  cas_a.compares.push_back(Compare{"k", *base});
  Txn cas_b = PutTxn("k", "cas-b");
  cas_b.compares.push_back(Compare{"k", *base});

  std::vector<const Txn*> txns = {&good1, &bad, &good2, &cas_a, &cas_b};
  std::vector<Result<Revision>> results(txns.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < txns.size(); ++i) {
    // Queue one at a time so the batch order is known.
    threads.emplace_back([&, i] { results[i] = backend->Commit(*txns[i]); });
    backend->WaitForQueuedForTest(i + 1);
  }
  backend->ResumeWriterForTest();
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(backend->BatchesCommittedForTest(), batches_before + 1);
  ASSERT_TRUE(IsOk(results[0]));
  EXPECT_TRUE(HasError(results[1], ErrorCode::kAborted, Reason::kCasConflict));
  ASSERT_TRUE(IsOk(results[2]));
  ASSERT_TRUE(IsOk(results[3]));
  EXPECT_TRUE(HasError(results[4], ErrorCode::kAborted, Reason::kCasConflict));
  EXPECT_EQ(*results[0], *base + 1);
  EXPECT_EQ(*results[2], *base + 2);
  EXPECT_EQ(*results[3], *base + 3);

  auto k = backend->Get("k");
  ASSERT_TRUE(IsOk(k));
  EXPECT_EQ(k->value, "cas-a");
  EXPECT_TRUE(IsOk(backend->Get("x")));
  EXPECT_TRUE(IsOk(backend->Get("y")));
  auto current = backend->CurrentRevision();
  ASSERT_TRUE(IsOk(current));
  EXPECT_EQ(*current, *base + 3);
  auto changes = backend->Changes(*base, 0);
  ASSERT_TRUE(IsOk(changes));
  ASSERT_EQ(changes->size(), 3u);
  EXPECT_EQ((*changes)[0].key, "x");
  EXPECT_EQ((*changes)[1].key, "y");
  EXPECT_EQ((*changes)[2].key, "k");
}

// Watchers see commits in revision order even when they arrive from many threads.
TEST_F(SqliteBackendTest, WatchSeesConcurrentCommitsInRevisionOrder) {
  auto backend = OpenOrDie();
  ASSERT_NE(backend, nullptr);
  std::mutex mu;
  std::vector<Revision> seen;
  backend->Watch([&](const std::vector<Event>& events) {
    std::lock_guard lock(mu);
    for (const Event& e : events) seen.push_back(e.revision);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        EXPECT_TRUE(IsOk(backend->Commit(PutTxn(std::to_string(t) + "/" + std::to_string(i), "v"))));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  auto last = backend->Commit(PutTxn("last", "v"));
  ASSERT_TRUE(IsOk(last));
  backend.reset();  // joins the writer: every callback has finished
  ASSERT_EQ(seen.size(), 101u);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<Revision>(i + 1));
}

// Calling Commit from a watch callback is refused instead of deadlocking.
TEST_F(SqliteBackendTest, CommitFromWatchCallbackFailsWithFailedPrecondition) {
  auto backend = OpenOrDie();
  ASSERT_NE(backend, nullptr);
  std::mutex mu;
  std::vector<Result<Revision>> inner;
  SqliteBackend* raw = backend.get();  // the callback may run while `backend` is being reset
  backend->Watch([&](const std::vector<Event>&) {
    auto r = raw->Commit(PutTxn("nested", "v"));
    std::lock_guard lock(mu);
    inner.push_back(r);
  });
  ASSERT_TRUE(IsOk(backend->Commit(PutTxn("outer", "v"))));
  backend.reset();
  ASSERT_EQ(inner.size(), 1u);
  EXPECT_TRUE(HasError(inner[0], ErrorCode::kFailedPrecondition));
}

// The destructor completes commits still queued (even with the writer paused).
TEST_F(SqliteBackendTest, DestructorCompletesQueuedCommits) {
  auto backend = OpenOrDie();
  ASSERT_NE(backend, nullptr);
  backend->PauseWriterForTest();
  Txn txn = PutTxn("queued", "v");
  Result<Revision> result = Fail(ErrorCode::kInternal, "not run");
  std::thread committer([&] { result = backend->Commit(txn); });
  backend->WaitForQueuedForTest(1);
  backend.reset();
  committer.join();
  ASSERT_TRUE(IsOk(result));

  backend = OpenOrDie();
  ASSERT_NE(backend, nullptr);
  auto entry = backend->Get("queued");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->mod_revision, *result);
}

// A file that is not a SQLite database is reported as kDataLoss, not a crash.
TEST_F(SqliteBackendTest, OpenOnNonDatabaseFileFailsWithDataLoss) {
  {
    std::ofstream out(path(), std::ios::binary);
    out << std::string(4096, 'x');
  }
  EXPECT_TRUE(HasError(SqliteBackend::Open(path()), ErrorCode::kDataLoss));
}

// A path in a directory that does not exist is reported as kUnavailable.
TEST_F(SqliteBackendTest, OpenInMissingDirectoryFailsWithUnavailable) {
  EXPECT_TRUE(
      HasError(SqliteBackend::Open(dir_.File("no/such/dir/db.sqlite")), ErrorCode::kUnavailable));
}

mode_t ModeOf(const std::string& file) {
  struct stat st {};
  EXPECT_EQ(::stat(file.c_str(), &st), 0) << file;
  return st.st_mode & 07777;
}

// The database and its -wal and -shm files are the owner's alone (0600), even
// under a permissive umask: they hold every stored value.
TEST_F(SqliteBackendTest, DatabaseFilesAreCreatedPrivate) {
  struct UmaskGuard {
    mode_t old = ::umask(022);
    ~UmaskGuard() { ::umask(old); }
  } guard;
  auto backend = SqliteBackend::Open(path());
  ASSERT_TRUE(backend.has_value()) << backend.error().message;
  ASSERT_TRUE(IsOk((*backend)->Commit(PutTxn("a", "1"))));
  ASSERT_TRUE(IsOk((*backend)->Get("a")));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    EXPECT_EQ(ModeOf(path() + suffix), 0600u) << path() + suffix;
  }
}

// Files an older version left 0644 are narrowed to 0600 when opened.
TEST_F(SqliteBackendTest, OpenNarrowsExistingWideFiles) {
  { ASSERT_TRUE(SqliteBackend::Open(path()).has_value()); }
  ASSERT_EQ(::chmod(path().c_str(), 0644), 0);
  {
    auto backend = SqliteBackend::Open(path());
    ASSERT_TRUE(backend.has_value()) << backend.error().message;
    EXPECT_EQ(ModeOf(path()), 0600u);
  }
}

// max_events must be positive.
TEST_F(SqliteBackendTest, OpenWithZeroMaxEventsFailsWithInvalidArgument) {
  SqliteOptions options;
  options.max_events = 0;
  EXPECT_TRUE(HasError(SqliteBackend::Open(path(), options), ErrorCode::kInvalidArgument));
}

// Reads are served while the writer is stalled with queued commits.
TEST_F(SqliteBackendTest, ReadsDoNotWaitForTheWriter) {
  auto backend = OpenOrDie();
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(IsOk(backend->Commit(PutTxn("a", "1"))));
  backend->PauseWriterForTest();
  Txn txn = PutTxn("b", "2");
  std::thread committer([&] { EXPECT_TRUE(IsOk(backend->Commit(txn))); });
  backend->WaitForQueuedForTest(1);
  EXPECT_TRUE(IsOk(backend->Get("a")));
  EXPECT_TRUE(HasError(backend->Get("b"), ErrorCode::kNotFound));
  auto range = backend->Range("", "", 0);
  ASSERT_TRUE(IsOk(range));
  EXPECT_EQ(range->entries.size(), 1u);
  backend->ResumeWriterForTest();
  committer.join();
  EXPECT_TRUE(IsOk(backend->Get("b")));
}

}  // namespace
}  // namespace coffer::storage::sqlite
