#include "storage/conformance/backend_conformance.h"
#include "support/matchers.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace coffer::storage::conformance {
namespace {

using ::testing::AssertionFailure;
using ::testing::AssertionResult;
using ::testing::AssertionSuccess;

// Generous bound on waiting for watch callbacks, so a broken backend fails instead of hanging.
constexpr auto kWatchTimeout = std::chrono::seconds(60);

Txn PutTxn(std::string key, std::string value) {
  Txn txn;
  txn.writes.push_back(Write::Put(std::move(key), std::move(value)));
  return txn;
}

Txn DeleteTxn(std::string key) {
  Txn txn;
  txn.writes.push_back(Write::Delete(std::move(key)));
  return txn;
}

std::vector<std::string> Keys(const RangeResult& r) {
  std::vector<std::string> keys;
  for (const Entry& e : r.entries) keys.push_back(e.key);
  return keys;
}

// Records what watch callbacks receive and lets the test wait for it.
class WatchRecorder {
 public:
  Backend::WatchCallback Callback() {
    return [this](const std::vector<Event>& events) {
      std::lock_guard lock(mu_);
      batches_.push_back(events);
      cv_.notify_all();
    };
  }

  // True once at least `n` batches arrived (false after kWatchTimeout).
  bool WaitForBatches(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWatchTimeout, [&] { return batches_.size() >= n; });
  }

  std::vector<std::vector<Event>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<Event>> batches_;
};

}  // namespace

std::string BackendFactoryName(const ::testing::TestParamInfo<BackendFactory>& info) {
  return info.param.name;
}

void BackendConformanceTest::SetUp() {
  backend_ = GetParam().make();
  ASSERT_NE(backend_, nullptr);
}

void BackendConformanceTest::TearDown() { backend_.reset(); }

// A new store is empty at revision 0.
TEST_P(BackendConformanceTest, EmptyStoreHasRevisionZeroAndNoEntries) {
  auto rev = backend().CurrentRevision();
  ASSERT_TRUE(IsOk(rev));
  EXPECT_EQ(*rev, 0);
  auto all = backend().Range("", "", 0);
  ASSERT_TRUE(IsOk(all));
  EXPECT_TRUE(all->entries.empty());
  EXPECT_FALSE(all->more);
  auto changes = backend().Changes(0, 0);
  ASSERT_TRUE(IsOk(changes));
  EXPECT_TRUE(changes->empty());
}

// Getting a key that was never written fails with kNotFound.
TEST_P(BackendConformanceTest, GetAbsentKeyFailsWithNotFound) {
  EXPECT_TRUE(HasError(backend().Get("missing"), ErrorCode::kNotFound));
}

// A put is readable with its value and create/mod revision equal to the commit's revision.
TEST_P(BackendConformanceTest, PutThenGetReturnsValueAndRevisions) {
  auto rev = backend().Commit(PutTxn("k", "v1"));
  ASSERT_TRUE(IsOk(rev));
  EXPECT_GT(*rev, 0);
  auto entry = backend().Get("k");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->key, "k");
  EXPECT_EQ(entry->value, "v1");
  EXPECT_EQ(entry->create_revision, *rev);
  EXPECT_EQ(entry->mod_revision, *rev);
  auto current = backend().CurrentRevision();
  ASSERT_TRUE(IsOk(current));
  EXPECT_EQ(*current, *rev);
}

// Overwriting keeps the create revision and moves the mod revision.
TEST_P(BackendConformanceTest, OverwriteKeepsCreateRevisionAndAdvancesModRevision) {
  auto first = backend().Commit(PutTxn("k", "v1"));
  ASSERT_TRUE(IsOk(first));
  auto second = backend().Commit(PutTxn("k", "v2"));
  ASSERT_TRUE(IsOk(second));
  EXPECT_GT(*second, *first);
  auto entry = backend().Get("k");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->value, "v2");
  EXPECT_EQ(entry->create_revision, *first);
  EXPECT_EQ(entry->mod_revision, *second);
}

// A deleted key is gone; re-creating it starts a new create revision.
TEST_P(BackendConformanceTest, DeleteRemovesKeyAndRecreateGetsNewCreateRevision) {
  ASSERT_TRUE(IsOk(backend().Commit(PutTxn("k", "v1"))));
  auto del = backend().Commit(DeleteTxn("k"));
  ASSERT_TRUE(IsOk(del));
  EXPECT_TRUE(HasError(backend().Get("k"), ErrorCode::kNotFound));
  auto again = backend().Commit(PutTxn("k", "v2"));
  ASSERT_TRUE(IsOk(again));
  EXPECT_GT(*again, *del);
  auto entry = backend().Get("k");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->create_revision, *again);
}

// Deleting an absent key succeeds and produces no change event.
TEST_P(BackendConformanceTest, DeleteOfAbsentKeySucceedsWithoutEvent) {
  auto rev = backend().Commit(DeleteTxn("never"));
  ASSERT_TRUE(IsOk(rev));
  auto changes = backend().Changes(0, 0);
  ASSERT_TRUE(IsOk(changes));
  EXPECT_TRUE(changes->empty());
  EXPECT_TRUE(HasError(backend().Get("never"), ErrorCode::kNotFound));
}

// Every committed write transaction gets a strictly greater revision.
TEST_P(BackendConformanceTest, RevisionsStrictlyIncrease) {
  Revision last = 0;
  for (int i = 0; i < 20; ++i) {
    auto rev = backend().Commit(PutTxn("k" + std::to_string(i % 3), "v"));
    ASSERT_TRUE(IsOk(rev));
    EXPECT_GT(*rev, last);
    last = *rev;
  }
  auto current = backend().CurrentRevision();
  ASSERT_TRUE(IsOk(current));
  EXPECT_EQ(*current, last);
}

// All writes of one transaction share its single revision.
TEST_P(BackendConformanceTest, MultiWriteTxnAppliesAllWritesAtOneRevision) {
  ASSERT_TRUE(IsOk(backend().Commit(PutTxn("c", "old"))));
  Txn txn;
  txn.writes.push_back(Write::Put("a", "1"));
  txn.writes.push_back(Write::Put("b", "2"));
  txn.writes.push_back(Write::Delete("c"));
  auto rev = backend().Commit(txn);
  ASSERT_TRUE(IsOk(rev));
  auto a = backend().Get("a");
  auto b = backend().Get("b");
  ASSERT_TRUE(IsOk(a));
  ASSERT_TRUE(IsOk(b));
  EXPECT_EQ(a->mod_revision, *rev);
  EXPECT_EQ(b->mod_revision, *rev);
  EXPECT_TRUE(HasError(backend().Get("c"), ErrorCode::kNotFound));
  auto current = backend().CurrentRevision();
  ASSERT_TRUE(IsOk(current));
  EXPECT_EQ(*current, *rev);
}

// Within a transaction a later write to the same key wins.
TEST_P(BackendConformanceTest, LaterWriteToSameKeyInTxnWins) {
  Txn txn;
  txn.writes.push_back(Write::Put("k", "first"));
  txn.writes.push_back(Write::Put("k", "second"));
  txn.writes.push_back(Write::Put("gone", "x"));
  txn.writes.push_back(Write::Delete("gone"));
  ASSERT_TRUE(IsOk(backend().Commit(txn)));
  auto entry = backend().Get("k");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->value, "second");
  EXPECT_TRUE(HasError(backend().Get("gone"), ErrorCode::kNotFound));
}

// A transaction without writes whose compares hold returns the current revision.
TEST_P(BackendConformanceTest, TxnWithoutWritesReturnsCurrentRevision) {
  auto put = backend().Commit(PutTxn("k", "v"));
  ASSERT_TRUE(IsOk(put));
  Txn check;
  check.compares.push_back(Compare{"k", *put});
  auto rev = backend().Commit(check);
  ASSERT_TRUE(IsOk(rev));
  EXPECT_EQ(*rev, *put);
  auto current = backend().CurrentRevision();
  ASSERT_TRUE(IsOk(current));
  EXPECT_EQ(*current, *put);
}

// Range covers start <= key < end in key order.
TEST_P(BackendConformanceTest, RangeReturnsKeysInOrderWithinHalfOpenBounds) {
  for (const char* k : {"d", "b", "a", "c", "e"}) {
    ASSERT_TRUE(IsOk(backend().Commit(PutTxn(k, std::string("v") + k))));
  }
  auto r = backend().Range("b", "e", 0);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(Keys(*r), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_FALSE(r->more);
  EXPECT_EQ(r->entries[1].value, "vc");
}

// An empty end means no upper bound.
TEST_P(BackendConformanceTest, RangeWithEmptyEndHasNoUpperBound) {
  for (const char* k : {"a", "b", "c"}) ASSERT_TRUE(IsOk(backend().Commit(PutTxn(k, "v"))));
  auto r = backend().Range("b", "", 0);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(Keys(*r), (std::vector<std::string>{"b", "c"}));
}

// A limit cuts the result and sets `more`; a limit that fits exactly does not.
TEST_P(BackendConformanceTest, RangeLimitSetsMoreOnlyWhenResultIsCut) {
  for (const char* k : {"a", "b", "c", "d"}) ASSERT_TRUE(IsOk(backend().Commit(PutTxn(k, "v"))));
  auto cut = backend().Range("", "", 2);
  ASSERT_TRUE(IsOk(cut));
  EXPECT_EQ(Keys(*cut), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(cut->more);
  auto exact = backend().Range("", "", 4);
  ASSERT_TRUE(IsOk(exact));
  EXPECT_EQ(exact->entries.size(), 4u);
  EXPECT_FALSE(exact->more);
  auto bounded = backend().Range("b", "d", 2);
  ASSERT_TRUE(IsOk(bounded));
  EXPECT_EQ(Keys(*bounded), (std::vector<std::string>{"b", "c"}));
  EXPECT_FALSE(bounded->more);
  // Resuming after the last key returned continues the scan.
  auto next = backend().Range(cut->entries.back().key + std::string(1, '\0'), "", 2);
  ASSERT_TRUE(IsOk(next));
  EXPECT_EQ(Keys(*next), (std::vector<std::string>{"c", "d"}));
  EXPECT_FALSE(next->more);
}

// Range(prefix, PrefixEnd(prefix)) returns exactly the keys under the prefix.
TEST_P(BackendConformanceTest, PrefixRangeReturnsOnlyKeysWithPrefix) {
  for (const char* k : {"/app/", "/app/a", "/app/b/c", "/app0", "/ap", "/apq", "/b"}) {
    ASSERT_TRUE(IsOk(backend().Commit(PutTxn(k, "v"))));
  }
  auto r = backend().Range("/app/", PrefixEnd("/app/"), 0);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(Keys(*r), (std::vector<std::string>{"/app/", "/app/a", "/app/b/c"}));
}

// Prefixes ending in 0xff bytes still bound the range correctly.
TEST_P(BackendConformanceTest, PrefixRangeHandlesTrailingFfBytes) {
  const std::string p = std::string("a\xff", 2);
  const std::vector<std::string> keys = {
      "a", std::string("a\xfe", 2), p, p + std::string(1, '\0'), p + "\xff", p + "\xff\xff",
      "b", std::string("\xff", 1), std::string("\xff\xff", 2), std::string("\xff\xff\x01", 3)};
  for (const std::string& k : keys) ASSERT_TRUE(IsOk(backend().Commit(PutTxn(k, "v"))));

  auto r = backend().Range(p, PrefixEnd(p), 0);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(Keys(*r),
            (std::vector<std::string>{p, p + std::string(1, '\0'), p + "\xff", p + "\xff\xff"}));

  const std::string all_ff("\xff\xff", 2);
  auto top = backend().Range(all_ff, PrefixEnd(all_ff), 0);
  ASSERT_TRUE(IsOk(top));
  EXPECT_EQ(Keys(*top), (std::vector<std::string>{all_ff, std::string("\xff\xff\x01", 3)}));
}

// Keys compare bytewise as unsigned bytes: 0x80 sorts after 0x7f.
TEST_P(BackendConformanceTest, KeysCompareAsUnsignedBytes) {
  const std::vector<std::string> keys = {std::string("\x80", 1), std::string("\x7f", 1),
                                         std::string("\x01", 1), std::string("\xc3\xa9", 2)};
  for (const std::string& k : keys) ASSERT_TRUE(IsOk(backend().Commit(PutTxn(k, "v"))));
  auto r = backend().Range("", "", 0);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(Keys(*r), (std::vector<std::string>{std::string("\x01", 1), std::string("\x7f", 1),
                                                std::string("\x80", 1),
                                                std::string("\xc3\xa9", 2)}));
}

// Keys and values with NUL and high bytes round-trip exactly, as do empty values.
TEST_P(BackendConformanceTest, BinaryKeysAndValuesRoundTripExactly) {
  const std::string key("k\0ey\xff\x00", 6);
  const std::string short_key("k", 1);
  const std::string value("\0\x01\x02\xff\0rest\0", 10);
  ASSERT_TRUE(IsOk(backend().Commit(PutTxn(key, value))));
  ASSERT_TRUE(IsOk(backend().Commit(PutTxn(short_key, ""))));

  auto entry = backend().Get(key);
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->key.size(), key.size());
  EXPECT_TRUE(entry->key == key);
  EXPECT_TRUE(entry->value == value);
  EXPECT_TRUE(HasError(backend().Get(std::string("k\0ey", 4)), ErrorCode::kNotFound));

  auto empty = backend().Get(short_key);
  ASSERT_TRUE(IsOk(empty));
  EXPECT_TRUE(empty->value.empty());

  auto r = backend().Range(short_key, PrefixEnd(short_key), 0);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(Keys(*r), (std::vector<std::string>{short_key, key}));
}

// A large value is stored and returned unchanged.
TEST_P(BackendConformanceTest, LargeValueRoundTrips) {
  std::string value(256 * 1024, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 31 % 251);
  ASSERT_TRUE(IsOk(backend().Commit(PutTxn("big", value))));
  auto entry = backend().Get("big");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_TRUE(entry->value == value);
}

// Compare with mod_revision 0 holds for an absent key (create-if-absent).
TEST_P(BackendConformanceTest, CompareZeroOnAbsentKeySucceeds) {
  Txn txn = PutTxn("k", "v");
  txn.compares.push_back(Compare{"k", 0});
  auto rev = backend().Commit(txn);
  ASSERT_TRUE(IsOk(rev));
  auto entry = backend().Get("k");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->create_revision, *rev);
}

// Compare with mod_revision 0 fails on an existing key with kAborted/kCasConflict.
TEST_P(BackendConformanceTest, CompareZeroOnExistingKeyFailsWithCasConflict) {
  ASSERT_TRUE(IsOk(backend().Commit(PutTxn("k", "v1"))));
  Txn txn = PutTxn("k", "v2");
  txn.compares.push_back(Compare{"k", 0});
  EXPECT_TRUE(HasError(backend().Commit(txn), ErrorCode::kAborted, Reason::kCasConflict));
  auto entry = backend().Get("k");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->value, "v1");
}

// Compare on the current mod_revision holds; a stale one fails.
TEST_P(BackendConformanceTest, CompareOnModRevisionHoldsOnlyForCurrentRevision) {
  auto first = backend().Commit(PutTxn("k", "v1"));
  ASSERT_TRUE(IsOk(first));
  Txn update = PutTxn("k", "v2");
  update.compares.push_back(Compare{"k", *first});
  auto second = backend().Commit(update);
  ASSERT_TRUE(IsOk(second));

  Txn stale = PutTxn("k", "v3");
  stale.compares.push_back(Compare{"k", *first});
  EXPECT_TRUE(HasError(backend().Commit(stale), ErrorCode::kAborted, Reason::kCasConflict));

  Txn on_deleted = PutTxn("other", "x");
  on_deleted.compares.push_back(Compare{"absent", *second});
  EXPECT_TRUE(HasError(backend().Commit(on_deleted), ErrorCode::kAborted, Reason::kCasConflict));

  auto entry = backend().Get("k");
  ASSERT_TRUE(IsOk(entry));
  EXPECT_EQ(entry->value, "v2");
  EXPECT_EQ(entry->mod_revision, *second);
}

// When any compare of a multi-key txn fails, no write applies, no revision is
// used and no event is recorded.
TEST_P(BackendConformanceTest, FailingCompareInMultiKeyTxnChangesNothing) {
  auto a = backend().Commit(PutTxn("a", "a1"));
  ASSERT_TRUE(IsOk(a));
  auto b = backend().Commit(PutTxn("b", "b1"));
  ASSERT_TRUE(IsOk(b));

  Txn txn;
  txn.compares.push_back(Compare{"a", *a});      // holds
  txn.compares.push_back(Compare{"b", *a});      // stale
  txn.compares.push_back(Compare{"new", 0});     // holds
  txn.writes.push_back(Write::Put("a", "a2"));
  txn.writes.push_back(Write::Delete("b"));
  txn.writes.push_back(Write::Put("new", "n"));
  EXPECT_TRUE(HasError(backend().Commit(txn), ErrorCode::kAborted, Reason::kCasConflict));

  auto current = backend().CurrentRevision();
  ASSERT_TRUE(IsOk(current));
  EXPECT_EQ(*current, *b);
  auto ea = backend().Get("a");
  ASSERT_TRUE(IsOk(ea));
  EXPECT_EQ(ea->value, "a1");
  EXPECT_EQ(ea->mod_revision, *a);
  auto eb = backend().Get("b");
  ASSERT_TRUE(IsOk(eb));
  EXPECT_EQ(eb->value, "b1");
  EXPECT_TRUE(HasError(backend().Get("new"), ErrorCode::kNotFound));
  auto changes = backend().Changes(*b, 0);
  ASSERT_TRUE(IsOk(changes));
  EXPECT_TRUE(changes->empty());

  // With every compare holding, the same txn applies.
  txn.compares[1].mod_revision = *b;
  auto rev = backend().Commit(txn);
  ASSERT_TRUE(IsOk(rev));
  EXPECT_TRUE(HasError(backend().Get("b"), ErrorCode::kNotFound));
}

// Changes lists events after `since` in revision order, honouring the limit.
TEST_P(BackendConformanceTest, ChangesListsEventsAfterRevisionInOrderWithLimit) {
  auto r1 = backend().Commit(PutTxn("a", "1"));
  ASSERT_TRUE(IsOk(r1));
  Txn two;
  two.writes.push_back(Write::Put("b", "2"));
  two.writes.push_back(Write::Put("c", "3"));
  auto r2 = backend().Commit(two);
  ASSERT_TRUE(IsOk(r2));
  auto r3 = backend().Commit(DeleteTxn("a"));
  ASSERT_TRUE(IsOk(r3));

  auto all = backend().Changes(0, 0);
  ASSERT_TRUE(IsOk(all));
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].revision, *r1);
  EXPECT_EQ((*all)[0].key, "a");
  EXPECT_EQ((*all)[0].kind, WriteKind::kPut);
  EXPECT_EQ((*all)[1].revision, *r2);
  EXPECT_EQ((*all)[1].key, "b");
  EXPECT_EQ((*all)[2].revision, *r2);
  EXPECT_EQ((*all)[2].key, "c");
  EXPECT_EQ((*all)[3].revision, *r3);
  EXPECT_EQ((*all)[3].key, "a");
  EXPECT_EQ((*all)[3].kind, WriteKind::kDelete);

  auto after_first = backend().Changes(*r1, 0);
  ASSERT_TRUE(IsOk(after_first));
  ASSERT_EQ(after_first->size(), 3u);
  EXPECT_EQ(after_first->front().key, "b");

  auto limited = backend().Changes(0, 2);
  ASSERT_TRUE(IsOk(limited));
  ASSERT_EQ(limited->size(), 2u);
  EXPECT_EQ((*limited)[0].key, "a");
  EXPECT_EQ((*limited)[1].key, "b");

  auto none = backend().Changes(*r3, 0);
  ASSERT_TRUE(IsOk(none));
  EXPECT_TRUE(none->empty());
}

// Each watch callback receives each commit's events, one call per commit, in order.
TEST_P(BackendConformanceTest, WatchReceivesEachCommitsEventsInOrder) {
  WatchRecorder recorder;
  uint64_t id = backend().Watch(recorder.Callback());
  auto r1 = backend().Commit(PutTxn("a", "1"));
  ASSERT_TRUE(IsOk(r1));
  Txn two;
  two.writes.push_back(Write::Put("b", "2"));
  two.writes.push_back(Write::Delete("a"));
  auto r2 = backend().Commit(two);
  ASSERT_TRUE(IsOk(r2));
  ASSERT_TRUE(IsOk(backend().Commit(DeleteTxn("absent"))));  // no events: no callback
  auto r4 = backend().Commit(PutTxn("c", "3"));
  ASSERT_TRUE(IsOk(r4));

  ASSERT_TRUE(recorder.WaitForBatches(3));
  backend().Unwatch(id);
  auto batches = recorder.batches();
  ASSERT_EQ(batches.size(), 3u);
  ASSERT_EQ(batches[0].size(), 1u);
  EXPECT_EQ(batches[0][0].revision, *r1);
  EXPECT_EQ(batches[0][0].key, "a");
  ASSERT_EQ(batches[1].size(), 2u);
  EXPECT_EQ(batches[1][0].revision, *r2);
  EXPECT_EQ(batches[1][0].key, "b");
  EXPECT_EQ(batches[1][0].kind, WriteKind::kPut);
  EXPECT_EQ(batches[1][1].revision, *r2);
  EXPECT_EQ(batches[1][1].key, "a");
  EXPECT_EQ(batches[1][1].kind, WriteKind::kDelete);
  ASSERT_EQ(batches[2].size(), 1u);
  EXPECT_EQ(batches[2][0].revision, *r4);
}

// After Unwatch returns, that callback sees no further commits while others still do.
TEST_P(BackendConformanceTest, UnwatchStopsCallbacks) {
  WatchRecorder stopped;
  WatchRecorder still;
  uint64_t stopped_id = backend().Watch(stopped.Callback());
  uint64_t still_id = backend().Watch(still.Callback());
  ASSERT_TRUE(IsOk(backend().Commit(PutTxn("a", "1"))));
  ASSERT_TRUE(stopped.WaitForBatches(1));
  ASSERT_TRUE(still.WaitForBatches(1));

  backend().Unwatch(stopped_id);
  ASSERT_TRUE(IsOk(backend().Commit(PutTxn("b", "2"))));
  ASSERT_TRUE(still.WaitForBatches(2));
  backend().Unwatch(still_id);
  EXPECT_EQ(stopped.batches().size(), 1u);
  EXPECT_EQ(still.batches().size(), 2u);
}

// Commits from several threads all succeed with unique, dense revisions.
TEST_P(BackendConformanceTest, ConcurrentCommitsGetUniqueDenseRevisions) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::vector<std::vector<Revision>> revs(kThreads);
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto rev = backend().Commit(
            PutTxn("t" + std::to_string(t) + "/" + std::to_string(i), std::to_string(i)));
        if (rev) {
          revs[t].push_back(*rev);
        } else {
          ++failures[t];
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();

  std::vector<Revision> all;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0);
    EXPECT_TRUE(std::is_sorted(revs[t].begin(), revs[t].end()));
    all.insert(all.end(), revs[t].begin(), revs[t].end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  EXPECT_EQ(all.back() - all.front() + 1, static_cast<Revision>(all.size()));
  auto current = backend().CurrentRevision();
  ASSERT_TRUE(IsOk(current));
  EXPECT_EQ(*current, all.back());
  auto range = backend().Range("t", PrefixEnd("t"), 0);
  ASSERT_TRUE(IsOk(range));
  EXPECT_EQ(range->entries.size(), all.size());
}

// Concurrent read-modify-write increments through CAS lose no update.
TEST_P(BackendConformanceTest, ConcurrentCasIncrementsLoseNoUpdate) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<int> errors(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        for (;;) {
          Txn txn;
          auto current = backend().Get("counter");
          int64_t value = 0;
          Revision mod = 0;
          if (current) {
            value = std::stoll(current->value);
            mod = current->mod_revision;
          } else if (current.error().code != ErrorCode::kNotFound) {
            ++errors[t];
            return;
          }
          txn.compares.push_back(Compare{"counter", mod});
          txn.writes.push_back(Write::Put("counter", std::to_string(value + 1)));
          auto rev = backend().Commit(txn);
          if (rev) break;
          if (rev.error().code != ErrorCode::kAborted) {
            ++errors[t];
            return;
          }
        }
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int e : errors) EXPECT_EQ(e, 0);
  auto counter = backend().Get("counter");
  ASSERT_TRUE(IsOk(counter));
  EXPECT_EQ(counter->value, std::to_string(kThreads * kPerThread));
}

}  // namespace coffer::storage::conformance
