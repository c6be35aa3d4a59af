#include "storage/sqlite/backup.h"

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "storage/sqlite/sqlite_backend.h"
#include "support/matchers.h"
#include "support/temp_dir.h"

namespace coffer::storage::sqlite {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

class BackupTest : public ::testing::Test {
 protected:
  // Writes `n` keys into a new database at `source_` and closes it.
  void MakeClosedDatabase(int n) {
    auto db = SqliteBackend::Open(source_);
    ASSERT_TRUE(IsOk(db));
    for (int i = 0; i < n; ++i) {
      Txn txn;
      txn.writes.push_back(
          Write::Put("k/" + std::to_string(i), std::string(200, static_cast<char>('a' + i % 26))));
      ASSERT_TRUE(IsOk((*db)->Commit(txn)));
    }
  }

  testing::ScopedTempDir dir_;
  std::string source_ = dir_.File("coffer.db");
  std::string dest_ = dir_.File("copy.db");
};

// A backup taken while another connection keeps committing is one snapshot:
// each transaction (a key and the counter naming it) is in the copy whole or
// not at all, and every commit acknowledged before the backup began is in it.
TEST_F(BackupTest, CopyOfDatabaseUnderConcurrentWritesIsOneConsistentSnapshot) {
  auto opened = SqliteBackend::Open(source_);
  ASSERT_TRUE(IsOk(opened));
  SqliteBackend& db = **opened;
  std::atomic<int> committed{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 1; i <= 200000 && !stop.load(); ++i) {
      Txn txn;
      txn.writes.push_back(Write::Put("k/" + std::to_string(i), std::string(100, 'v')));
      txn.writes.push_back(Write::Put("count", std::to_string(i)));
      if (!db.Commit(txn)) return;
      committed.store(i);
    }
  });
  while (committed.load() < 300) std::this_thread::yield();
  int before = committed.load();
  auto summary = BackupDatabase(source_, dest_);
  stop.store(true);
  writer.join();
  ASSERT_TRUE(IsOk(summary));

  auto copy = SqliteBackend::Open(dest_);
  ASSERT_TRUE(IsOk(copy));
  auto count = (*copy)->Get("count");
  ASSERT_TRUE(IsOk(count));
  int n = std::stoi(count->value);
  EXPECT_GE(n, before);
  auto keys = (*copy)->Range("k/", "k0", 0);
  ASSERT_TRUE(IsOk(keys));
  EXPECT_EQ(static_cast<int>(keys->entries.size()), n);
  EXPECT_EQ(summary->keys, n + 1);
  auto revision = (*copy)->CurrentRevision();
  ASSERT_TRUE(IsOk(revision));
  EXPECT_EQ(*revision, summary->revision);
  EXPECT_EQ(summary->revision, n);
}

// The copy is private (0600) and one self-contained file; the source file is
// left byte for byte as it was.
TEST_F(BackupTest, CopyIsPrivateSelfContainedAndLeavesTheSourceUnchanged) {
  MakeClosedDatabase(50);
  std::string before = ReadFile(source_);
  auto summary = BackupDatabase(source_, dest_);
  ASSERT_TRUE(IsOk(summary));
  EXPECT_EQ(summary->keys, 50);
  EXPECT_EQ(summary->revision, 50);
  EXPECT_EQ(ReadFile(source_), before);
  struct stat st {};
  ASSERT_EQ(::stat(dest_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    EXPECT_FALSE(Exists(dest_ + suffix)) << suffix;
  }
  auto verified = VerifyDatabase(dest_);
  ASSERT_TRUE(IsOk(verified));
  EXPECT_EQ(verified->revision, 50);
  // A server restored from the copy opens it and reads what was there.
  auto copy = SqliteBackend::Open(dest_);
  ASSERT_TRUE(IsOk(copy));
  auto got = (*copy)->Get("k/7");
  ASSERT_TRUE(IsOk(got));
  EXPECT_EQ(got->value, std::string(200, 'h'));
}

// An existing destination is never overwritten.
TEST_F(BackupTest, ExistingDestinationIsRefusedAndLeftUntouched) {
  MakeClosedDatabase(3);
  WriteFile(dest_, "not to be overwritten");
  EXPECT_TRUE(HasError(BackupDatabase(source_, dest_), ErrorCode::kAlreadyExists));
  EXPECT_EQ(ReadFile(dest_), "not to be overwritten");
}

// A stale -wal beside the destination would be replayed into the copy: refused.
TEST_F(BackupTest, StaleWalBesideDestinationIsRefused) {
  MakeClosedDatabase(3);
  WriteFile(dest_ + "-wal", "stale");
  EXPECT_TRUE(HasError(BackupDatabase(source_, dest_), ErrorCode::kAlreadyExists));
  EXPECT_FALSE(Exists(dest_));
  EXPECT_EQ(ReadFile(dest_ + "-wal"), "stale");
}

// A missing source is kNotFound, and no copy is created (nor the source).
TEST_F(BackupTest, MissingSourceFailsWithNotFound) {
  EXPECT_TRUE(HasError(BackupDatabase(source_, dest_), ErrorCode::kNotFound));
  EXPECT_FALSE(Exists(dest_));
  EXPECT_FALSE(Exists(source_));
}

// A file that is not a database fails with kDataLoss and leaves no copy.
TEST_F(BackupTest, SourceThatIsNotADatabaseFailsWithDataLoss) {
  WriteFile(source_, std::string(8192, 'x'));
  EXPECT_TRUE(HasError(BackupDatabase(source_, dest_), ErrorCode::kDataLoss));
  EXPECT_FALSE(Exists(dest_));
}

// The backup API copies pages as they are; the integrity check on the copy is
// what catches a damaged source, and then no copy is left behind.
TEST_F(BackupTest, CorruptSourceFailsTheIntegrityCheckAndLeavesNoCopy) {
  MakeClosedDatabase(200);
  std::string bytes = ReadFile(source_);
  ASSERT_GT(bytes.size(), 3 * 4096u);
  size_t page_size = (static_cast<unsigned char>(bytes[16]) << 8) |
                     static_cast<unsigned char>(bytes[17]);
  ASSERT_GT(page_size, 0u);
  bytes[page_size] = '\x07';  // page 2's b-tree page type: not a valid one
  WriteFile(source_, bytes);
  EXPECT_TRUE(HasError(BackupDatabase(source_, dest_), ErrorCode::kDataLoss));
  EXPECT_FALSE(Exists(dest_));
  EXPECT_TRUE(HasError(VerifyDatabase(source_), ErrorCode::kDataLoss));
}

// VerifyDatabase names a missing file as such.
TEST_F(BackupTest, VerifyOfMissingFileFailsWithNotFound) {
  EXPECT_TRUE(HasError(VerifyDatabase(dest_), ErrorCode::kNotFound));
}

}  // namespace
}  // namespace coffer::storage::sqlite
