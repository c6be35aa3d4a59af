#include "domain/record_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "domain/record.h"
#include "storage/memory/memory_backend.h"
#include "storage/sqlite/sqlite_backend.h"
#include "support/temp_dir.h"
#include "support/matchers.h"

namespace coffer::domain {
namespace {

// A small record for the tests: a format number and one string.
struct Note {
  std::string text;
};
std::string EncodeNote(const Note& n) {
  RecordWriter w;
  w.PutFormat(1);
  w.PutString(n.text);
  return std::move(w).Release();
}
Result<Note> DecodeNote(std::string_view bytes) {
  RecordReader r(bytes);
  COFFER_RETURN_IF_ERROR(r.Format("note", 1));
  Note n;
  COFFER_ASSIGN_OR_RETURN(n.text, r.String());
  COFFER_RETURN_IF_ERROR(r.ExpectEnd());
  return n;
}

enum class Kind { kMemory, kSqlite };

// Runs every test against the memory backend and the sqlite backend.
class RecordStoreTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    if (GetParam() == Kind::kMemory) {
      backend_ = std::make_unique<storage::memory::MemoryBackend>();
    } else {
      ASSERT_FALSE(dir_.path().empty());
      auto opened = storage::sqlite::SqliteBackend::Open(dir_.File("store.db"));
      ASSERT_TRUE(opened.has_value()) << opened.error().message;
      backend_ = std::move(*opened);
    }
  }

  // Writes `text` under `key` unconditionally, as another writer would.
  storage::Revision Write(const std::string& key, const std::string& text) {
    storage::Txn txn;
    txn.writes.push_back(storage::Write::Put(key, EncodeNote({text})));
    auto rev = backend_->Commit(txn);
    EXPECT_TRUE(rev.has_value());
    return rev.value_or(0);
  }

  coffer::testing::ScopedTempDir dir_;
  std::unique_ptr<storage::Backend> backend_;
};

// An absent key is std::nullopt, not an error; a present one decodes with its
// mod revision.
TEST_P(RecordStoreTest, GetRecordReturnsNulloptForAbsentKeyAndRecordWithRevision) {
  auto absent = GetRecord(*backend_, "n/a", &DecodeNote);
  ASSERT_TRUE(absent.has_value());
  EXPECT_FALSE(absent->has_value());
  storage::Revision rev = Write("n/a", "hello");
  auto present = GetRecord(*backend_, "n/a", &DecodeNote);
  ASSERT_TRUE(present.has_value() && present->has_value());
  EXPECT_EQ((*present)->value.text, "hello");
  EXPECT_EQ((*present)->revision, rev);
}

// A record that does not decode is an error (kDataLoss), not an absence.
TEST_P(RecordStoreTest, GetRecordOfMalformedRecordFailsWithDataLoss) {
  storage::Txn txn;
  txn.writes.push_back(storage::Write::Put("n/bad", std::string("\x05", 1)));
  ASSERT_TRUE(backend_->Commit(txn).has_value());
  EXPECT_TRUE(HasError(GetRecord(*backend_, "n/bad", &DecodeNote), ErrorCode::kDataLoss,
                       Reason::kMalformedInput));
}

// A prefix scan sees exactly the keys under the prefix, in order, from after
// a start key, in batches, and reports whether entries remain.
TEST_P(RecordStoreTest, ScanPrefixVisitsOnlyThePrefixInOrderAcrossBatches) {
  for (std::string k : {"a/1", "a/2", "a/3", "a/4", "a/5", "a0", "b/1", "a"}) Write(k, k);
  std::vector<std::string> seen;
  auto more = ScanPrefix(*backend_, "a/", "", 2, [&](const storage::Entry& e) -> Result<bool> {
    seen.push_back(e.key);
    return true;
  });
  ASSERT_TRUE(more.has_value());
  EXPECT_FALSE(*more);
  EXPECT_EQ(seen, (std::vector<std::string>{"a/1", "a/2", "a/3", "a/4", "a/5"}));

  seen.clear();
  more = ScanPrefix(*backend_, "a/", "a/2", 2, [&](const storage::Entry& e) -> Result<bool> {
    seen.push_back(e.key);
    return seen.size() < 2;
  });
  ASSERT_TRUE(more.has_value());
  EXPECT_TRUE(*more);
  EXPECT_EQ(seen, (std::vector<std::string>{"a/3", "a/4"}));

  auto records = ScanRecords(*backend_, "a/", &DecodeNote);
  ASSERT_TRUE(records.has_value());
  ASSERT_EQ(records->size(), 5u);
  EXPECT_EQ((*records)[0].first, "1");
  EXPECT_EQ((*records)[0].second.value.text, "a/1");
}

// A start key before the prefix never lets the scan leave the prefix.
TEST_P(RecordStoreTest, ScanPrefixWithStartBeforePrefixStaysInPrefix) {
  for (std::string k : {"a/1", "Z", "a"}) Write(k, k);
  std::vector<std::string> seen;
  ASSERT_TRUE(ScanPrefix(*backend_, "a/", "A", 0, [&](const storage::Entry& e) -> Result<bool> {
                seen.push_back(e.key);
                return true;
              }).has_value());
  EXPECT_EQ(seen, (std::vector<std::string>{"a/1"}));
}

// UpdateRecord edits the current record under compare-and-swap and returns
// it with its new revision; an absent record is std::nullopt and writes
// nothing.
TEST_P(RecordStoreTest, UpdateRecordEditsCurrentRecordAndReportsAbsence) {
  Write("n/x", "one");
  auto updated = UpdateRecord<Note>(*backend_, "n/x", "note x", &DecodeNote, &EncodeNote,
                                    [](Note& n) -> Status {
                                      n.text += "+two";
                                      return Ok();
                                    });
  ASSERT_TRUE(updated.has_value() && updated->has_value());
  EXPECT_EQ((*updated)->value.text, "one+two");
  auto stored = GetRecord(*backend_, "n/x", &DecodeNote);
  EXPECT_EQ((*stored)->value.text, "one+two");
  EXPECT_EQ((*stored)->revision, (*updated)->revision);

  auto absent = UpdateRecord<Note>(*backend_, "n/none", "note none", &DecodeNote, &EncodeNote,
                                   [](Note&) -> Status { return Ok(); });
  ASSERT_TRUE(absent.has_value());
  EXPECT_FALSE(absent->has_value());
}

// A conflict on one try is retried on fresh data and then succeeds.
TEST_P(RecordStoreTest, CommitWithRetryRetriesAConflictOnFreshData) {
  Write("n/c", "v0");
  int tries = 0;
  auto rev = CommitWithRetry(*backend_, "note c", [&]() -> Result<std::optional<storage::Txn>> {
    ++tries;
    COFFER_ASSIGN_OR_RETURN(auto cur, GetRecord(*backend_, "n/c", &DecodeNote));
    if (tries == 1) Write("n/c", "raced");  // another writer, between read and commit
    storage::Txn txn;
    txn.compares.push_back(storage::Compare{"n/c", cur->revision});
    txn.writes.push_back(storage::Write::Put("n/c", EncodeNote({cur->value.text + "!"})));
    return std::optional<storage::Txn>(std::move(txn));
  });
  ASSERT_TRUE(rev.has_value() && rev->has_value());
  EXPECT_EQ(tries, 2);
  EXPECT_EQ((*GetRecord(*backend_, "n/c", &DecodeNote))->value.text, "raced!");
}

// When every try loses the race, the loop stops after kMaxCasAttempts tries
// with the one error: kAborted (kTooManyUpdates) naming the record; nothing
// of the losing tries is written.
TEST_P(RecordStoreTest, CommitWithRetryExhaustionReturnsTheOneError) {
  Write("n/hot", "v0");
  int tries = 0;
  auto rev = CommitWithRetry(*backend_, "note hot", [&]() -> Result<std::optional<storage::Txn>> {
    ++tries;
    COFFER_ASSIGN_OR_RETURN(auto cur, GetRecord(*backend_, "n/hot", &DecodeNote));
    Write("n/hot",
          "other " + std::to_string(tries));  // always changed meanwhile
    storage::Txn txn;
    txn.compares.push_back(storage::Compare{"n/hot", cur->revision});
    txn.writes.push_back(storage::Write::Put("n/hot", EncodeNote({"mine"})));
    return std::optional<storage::Txn>(std::move(txn));
  });
  ASSERT_TRUE(HasError(rev, ErrorCode::kAborted, Reason::kTooManyUpdates));
  EXPECT_EQ(rev.error().message, "There are concurrent updates to note hot. Please try again.");
  EXPECT_EQ(tries, kMaxCasAttempts);
  EXPECT_EQ((*GetRecord(*backend_, "n/hot", &DecodeNote))->value.text,
            "other " + std::to_string(kMaxCasAttempts));
}

// An attempt that returns nothing to commit ends the loop without a write.
TEST_P(RecordStoreTest, CommitWithRetryWithNothingToCommitWritesNothing) {
  auto before = backend_->CurrentRevision();
  auto rev = CommitWithRetry(*backend_, "nothing", []() -> Result<std::optional<storage::Txn>> {
    return std::optional<storage::Txn>();
  });
  ASSERT_TRUE(rev.has_value());
  EXPECT_FALSE(rev->has_value());
  EXPECT_EQ(backend_->CurrentRevision().value(), before.value());
}

// Loads `key` through `cache` from storage, counting the loads.
Result<std::shared_ptr<const Note>> Load(WatchedCache<Note>& cache, storage::Backend& backend,
                                         const std::string& key, int* loads) {
  return cache.GetOrLoad(key, [&]() -> Result<Stored<Note>> {
    ++*loads;
    COFFER_ASSIGN_OR_RETURN(auto stored, GetRecord(backend, key, &DecodeNote));
    if (!stored) return Fail(ErrorCode::kNotFound, "no note", Reason::kNone);
    return std::move(*stored);
  });
}

WatchedCache<Note>::KeyOf NotesOnly() {
  return [](std::string_view key) { return key.starts_with("n/") ? std::string(key) : ""; };
}

// The cache serves a hit without reading storage, and after another writer
// changed the record (seen through the change feed) it serves the new value.
TEST_P(RecordStoreTest, WatchedCacheServesFreshValueAfterAnotherWriterChangedTheRecord) {
  WatchedCache<Note> cache(*backend_, NotesOnly());
  Write("n/k", "old");
  int loads = 0;
  EXPECT_EQ(Load(cache, *backend_, "n/k", &loads).value()->text, "old");
  EXPECT_EQ(Load(cache, *backend_, "n/k", &loads).value()->text, "old");
  EXPECT_EQ(loads, 1);
  Write("n/k",
        "new");  // another writer: the cache hears of it only through the feed
  EXPECT_EQ(Load(cache, *backend_, "n/k", &loads).value()->text, "new");
  EXPECT_EQ(loads, 2);
  // A delete drops the value too, and absence is not cached.
  storage::Txn del;
  del.writes.push_back(storage::Write::Delete("n/k"));
  ASSERT_TRUE(backend_->Commit(del).has_value());
  EXPECT_TRUE(HasError(Load(cache, *backend_, "n/k", &loads), ErrorCode::kNotFound));
}

// A read that began before a change and finished after it is not cached
// (revision-based staleness): the next lookup reads the new value.
TEST_P(RecordStoreTest, WatchedCacheDoesNotKeepAReadOverTakenByAChange) {
  WatchedCache<Note> cache(*backend_, NotesOnly());
  Write("n/r", "before");
  auto first = cache.GetOrLoad("n/r", [&]() -> Result<Stored<Note>> {
    COFFER_ASSIGN_OR_RETURN(auto stored, GetRecord(*backend_, "n/r", &DecodeNote));
    Write("n/r", "after");  // lands while this read is in flight
    return std::move(*stored);
  });
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ((*first)->text, "before");    // the caller gets what it read...
  EXPECT_EQ(cache.Find("n/r"), nullptr);  // ...but it is not kept
  int loads = 0;
  EXPECT_EQ(Load(cache, *backend_, "n/r", &loads).value()->text, "after");
  EXPECT_EQ(loads, 1);
}

// A writer's Put of what it committed is served; an older value never
// replaces a newer one, and Changed drops only values older than the change.
TEST_P(RecordStoreTest, WatchedCacheKeepsTheNewestValueByRevision) {
  WatchedCache<Note> cache(*backend_, NotesOnly());
  cache.Put("n/w", Note{"v5"}, 5);
  cache.Put("n/w", Note{"v3"}, 3);
  EXPECT_EQ(cache.Find("n/w")->text, "v5");
  cache.Changed("n/w", 5);  // the feed's event for the write the writer cached
  EXPECT_EQ(cache.Find("n/w")->text, "v5");
  cache.Changed("n/w", 6);
  EXPECT_EQ(cache.Find("n/w"), nullptr);
  cache.Put("n/w", Note{"v5 again"}, 5);  // older than a change seen: refused
  EXPECT_EQ(cache.Find("n/w"), nullptr);
}

// Storage keys the cache does not depend on leave it untouched.
TEST_P(RecordStoreTest, WatchedCacheIgnoresChangesOfOtherKeys) {
  WatchedCache<Note> cache(*backend_, NotesOnly());
  Write("n/s", "kept");
  int loads = 0;
  ASSERT_TRUE(Load(cache, *backend_, "n/s", &loads).has_value());
  Write("x/other", "noise");
  ASSERT_TRUE(Load(cache, *backend_, "n/s", &loads).has_value());
  EXPECT_EQ(loads, 1);
}

// Past its bound the cache starts over and still never serves a stale value.
TEST_P(RecordStoreTest, WatchedCacheBoundedStartsOverWithoutStaleValues) {
  WatchedCache<Note> cache(*backend_, NotesOnly(), 2);
  int loads = 0;
  for (std::string k : {"n/1", "n/2", "n/3"}) {
    Write(k, k);
    ASSERT_TRUE(Load(cache, *backend_, k, &loads).has_value());
  }
  EXPECT_LE(cache.size(), 2u);
  for (std::string k : {"n/1", "n/2", "n/3"}) Write(k, k + "'");
  for (std::string k : {"n/1", "n/2", "n/3"}) {
    EXPECT_EQ(Load(cache, *backend_, k, &loads).value()->text, k + "'");
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, RecordStoreTest, ::testing::Values(Kind::kMemory, Kind::kSqlite),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           return info.param == Kind::kMemory ? "Memory" : "Sqlite";
                         });

}  // namespace
}  // namespace coffer::domain
