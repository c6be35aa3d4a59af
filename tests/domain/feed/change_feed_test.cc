#include "domain/feed/change_feed.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage/memory/memory_backend.h"
#include "storage/sqlite/sqlite_backend.h"
#include "support/matchers.h"
#include "support/temp_dir.h"

namespace coffer::domain::feed {
namespace {

using storage::Txn;
using storage::Write;

class ChangeFeedTest : public ::testing::Test {
 protected:
  storage::Revision Commit(std::vector<Write> writes) {
    Txn txn;
    txn.writes = std::move(writes);
    auto r = backend_.Commit(txn);
    EXPECT_TRUE(IsOk(r));
    return r ? *r : 0;
  }

  storage::memory::MemoryBackend backend_;
  ChangeFeed feed_{backend_};
};

// A PutParameter commit (version record + head) is one change naming the
// version; the value bytes never reach the change.
TEST_F(ChangeFeedTest, ParameterPutIsOneChangeWithItsVersion) {
  storage::Revision r = Commit({Write::Put("ssm/v//app/db/pw/0000000007", "SEALED-VALUE"),
                                Write::Put("ssm/p//app/db/pw", "HEAD")});
  auto page = feed_.Read(0, 100);
  ASSERT_TRUE(IsOk(page));
  ASSERT_EQ(page->changes.size(), 1u);
  EXPECT_EQ(page->changes[0].revision, r);
  EXPECT_EQ(page->changes[0].type, ChangeType::kParameter);
  EXPECT_EQ(page->changes[0].name, "/app/db/pw");
  EXPECT_EQ(page->changes[0].version, "7");
  EXPECT_FALSE(page->changes[0].deleted);
  EXPECT_EQ(page->revision, r);
}

// Deleting a parameter's head is a deletion; label/tag-only head rewrites and
// other records (KMS, IAM) are not changes.
TEST_F(ChangeFeedTest, DeletesAreReportedAndOtherKeysAreNot) {
  Commit({Write::Put("ssm/p/a", "HEAD")});  // a label change: head only
  Commit({Write::Put("kms/key/1", "K"), Write::Put("iam/user/x", "U")});
  storage::Revision r = Commit({Write::Delete("ssm/p/a"), Write::Delete("ssm/v/a/0000000001")});
  auto page = feed_.Read(0, 100);
  ASSERT_TRUE(IsOk(page));
  ASSERT_EQ(page->changes.size(), 1u);
  EXPECT_EQ(page->changes[0].name, "a");
  EXPECT_TRUE(page->changes[0].deleted);
  EXPECT_EQ(page->revision, r);
}

// A secret change names the version id the same commit wrote (hex in the key).
TEST_F(ChangeFeedTest, SecretChangeCarriesTheVersionIdOfItsCommit) {
  Commit({Write::Put("sm/v/prod/db/" + std::string("76312d61"), "SEALED"),  // "v1-a"
          Write::Put("sm/s/prod/db", "HEAD")});
  Commit({Write::Put("sm/s/prod/db", "HEAD2")});  // a stage move: head only
  auto page = feed_.Read(0, 100);
  ASSERT_TRUE(IsOk(page));
  ASSERT_EQ(page->changes.size(), 2u);
  EXPECT_EQ(page->changes[0].type, ChangeType::kSecret);
  EXPECT_EQ(page->changes[0].name, "prod/db");
  EXPECT_EQ(page->changes[0].version, "v1-a");
  EXPECT_EQ(page->changes[1].version, "");
}

// A page never splits a commit, so following `revision` loses nothing.
TEST_F(ChangeFeedTest, PagesNeverSplitACommitAndFollowingLosesNothing) {
  for (int i = 0; i < 5; ++i) {
    std::string v = "000000000" + std::to_string(i + 1);
    Commit({Write::Put("ssm/v/p" + std::to_string(i) + "/" + v, "x"),
            Write::Put("ssm/p/p" + std::to_string(i), "h")});
  }
  std::vector<std::string> names;
  storage::Revision since = 0;
  for (int guard = 0; guard < 20; ++guard) {
    auto page = feed_.Read(since, 3);  // 3 events: one and a half commits
    ASSERT_TRUE(IsOk(page));
    for (const Change& c : page->changes) names.push_back(c.name);
    if (page->revision == since) break;
    since = page->revision;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4"}));
}

// A revision newer than the store (a replaced data directory) asks the reader
// to resync, as history that was compacted does.
TEST_F(ChangeFeedTest, RevisionNewerThanTheStoreIsCompacted) {
  Commit({Write::Put("ssm/p/a", "h")});
  EXPECT_TRUE(HasError(feed_.Read(99, 10), ErrorCode::kFailedPrecondition,
                       Reason::kRevisionCompacted));
}

// A waiter is woken by the commit (the backend's watch), not by a timer.
TEST_F(ChangeFeedTest, WaitPastReturnsWhenACommitArrives) {
  storage::Revision start = Commit({Write::Put("x", "1")});
  std::thread writer([&] { Commit({Write::Put("ssm/p/z", "h")}); });
  auto far = std::chrono::steady_clock::now() + std::chrono::hours(1);
  auto now = feed_.WaitPast(start, far);
  writer.join();
  ASSERT_TRUE(IsOk(now));
  EXPECT_GT(*now, start);
}

// Shutdown ends a wait at once (server stop).
TEST_F(ChangeFeedTest, ShutdownEndsAWait) {
  storage::Revision start = Commit({Write::Put("x", "1")});
  feed_.Shutdown();
  auto now = feed_.WaitPast(start, std::chrono::steady_clock::now() + std::chrono::hours(1));
  ASSERT_TRUE(IsOk(now));
  EXPECT_EQ(*now, start);
}

// History older than the retained window is kRevisionCompacted (GET
// /v1/changes answers 410 with the current revision).
TEST(ChangeFeedSqliteTest, OlderThanRetainedHistoryIsCompacted) {
  coffer::testing::ScopedTempDir dir;
  storage::sqlite::SqliteOptions options;
  options.max_events = 2;
  auto backend = storage::sqlite::SqliteBackend::Open(dir.File("store.db"), options);
  ASSERT_TRUE(IsOk(backend));
  ChangeFeed feed(**backend);
  for (int i = 0; i < 5; ++i) {
    Txn txn;
    txn.writes.push_back(Write::Put("ssm/p/a" + std::to_string(i), "h"));
    ASSERT_TRUE(IsOk((*backend)->Commit(txn)));
  }
  EXPECT_TRUE(HasError(feed.Read(0, 10), ErrorCode::kFailedPrecondition,
                       Reason::kRevisionCompacted));
  EXPECT_TRUE(IsOk(feed.Read(4, 10)));
}

}  // namespace
}  // namespace coffer::domain::feed
