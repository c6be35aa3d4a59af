#include "support/faulty_backend.h"

#include <gtest/gtest.h>

#include "storage/memory/memory_backend.h"

namespace coffer::testing {
namespace {

storage::Txn PutTxn(std::string key, std::string value) {
  storage::Txn txn;
  txn.writes.push_back(storage::Write::Put(std::move(key), std::move(value)));
  return txn;
}

class FaultyBackendTest : public ::testing::Test {
 protected:
  storage::memory::MemoryBackend inner_;
  FaultyBackend faulty_{inner_};
};

// Injected commit failures return kUnavailable and leave the store unchanged.
TEST_F(FaultyBackendTest, FailNextCommitsFailsExactlyThatManyWithoutApplying) {
  faulty_.FailNextCommits(2);
  for (int i = 0; i < 2; ++i) {
    auto r = faulty_.Commit(PutTxn("k", "v"));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  }
  EXPECT_FALSE(inner_.Get("k").has_value());
  EXPECT_TRUE(faulty_.Commit(PutTxn("k", "v")).has_value());
  EXPECT_TRUE(inner_.Get("k").has_value());
  EXPECT_EQ(faulty_.commit_calls(), 3);
  EXPECT_EQ(faulty_.commits_forwarded(), 1);
}

// A lost acknowledgement applies the write but reports kUnavailable.
TEST_F(FaultyBackendTest, FailAfterApplyAppliesWriteButReportsUnavailable) {
  faulty_.FailNextCommitsAfterApply(1);
  auto r = faulty_.Commit(PutTxn("k", "v"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(inner_.Get("k").has_value());
  EXPECT_TRUE(faulty_.Commit(PutTxn("k", "v2")).has_value());
}

// With reads failing, every read method returns kUnavailable until healed.
TEST_F(FaultyBackendTest, FailReadsFailsEveryReadUntilHealed) {
  ASSERT_TRUE(faulty_.Commit(PutTxn("k", "v")).has_value());
  faulty_.SetFailReads(true);
  EXPECT_EQ(faulty_.Get("k").error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(faulty_.Range("", "", 0).error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(faulty_.CurrentRevision().error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(faulty_.Changes(0, 0).error().code, ErrorCode::kUnavailable);
  faulty_.Heal();
  EXPECT_TRUE(faulty_.Get("k").has_value());
}

}  // namespace
}  // namespace coffer::testing
