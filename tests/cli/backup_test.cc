#include "cli/backup.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "audit/audit.h"
#include "storage/sqlite/sqlite_backend.h"
#include "support/matchers.h"
#include "support/temp_dir.h"
#include "util/time.h"

namespace coffer::cli {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

int Mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

class BackupDataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directory(data_);
    auto db = storage::sqlite::SqliteBackend::Open(data_ + "/coffer.db");
    ASSERT_TRUE(IsOk(db));
    storage::Txn txn;
    txn.writes.push_back(storage::Write::Put("k", "v"));
    ASSERT_TRUE(IsOk((*db)->Commit(txn)));
    auto key = audit::LoadOrCreateKey(data_ + "/audit.key");
    ASSERT_TRUE(IsOk(key));
    auto sink = audit::FileSink::Open(data_ + "/audit.log", std::move(*key));
    ASSERT_TRUE(IsOk(sink));
    for (int i = 0; i < 3; ++i) {
      audit::Record r;
      r.time = util::FromUnixMillis(1'700'000'000'000 + i);
      r.request_id = "req-" + std::to_string(i);
      r.api = "ssm";
      r.operation = "GetParameter";
      r.decision = "allow";
      r.status = 200;
      ASSERT_TRUE(IsOk((*sink)->Write(r)));
    }
  }

  Status Backup() {
    out_.str("");
    return BackupDataDir(BackupOptions{data_, backup_}, out_);
  }

  testing::ScopedTempDir dir_;
  std::string data_ = dir_.File("data");
  std::string backup_ = dir_.File("backup");
  std::ostringstream out_;
};

// A record being appended while the log is copied (no newline yet) is left
// out, and the copy verifies under the copied key.
TEST_F(BackupDataDirTest, PartialLastAuditRecordIsLeftOutAndTheCopyVerifies) {
  std::string complete = ReadFile(data_ + "/audit.log");
  {
    std::ofstream log(data_ + "/audit.log", std::ios::binary | std::ios::app);
    log << "{\"seq\":4,\"prev\":\"";
  }
  ASSERT_TRUE(IsOk(Backup()));
  EXPECT_EQ(ReadFile(backup_ + "/audit.log"), complete);
  auto key = audit::LoadOrCreateKey(backup_ + "/audit.key");
  ASSERT_TRUE(IsOk(key));
  auto report = audit::VerifyLog(backup_ + "/audit.log", *key);
  ASSERT_TRUE(IsOk(report));
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, 3u);
  EXPECT_NE(out_.str().find("3 records, chain intact"), std::string::npos) << out_.str();
}

// The backup directory is 0700 and every file in it 0600, dev files included;
// a file the backup does not know is named, not copied.
TEST_F(BackupDataDirTest, FilesArePrivateAndUnknownOnesAreNamed) {
  WriteFile(data_ + "/root.key", "dev root key bytes");
  WriteFile(data_ + "/stray", "x");
  ASSERT_TRUE(IsOk(Backup()));
  EXPECT_EQ(Mode(backup_), 0700);
  for (const char* name :
       {"coffer.db", "audit.key", "audit.log", "audit.log.head", "root.key"}) {
    EXPECT_EQ(Mode(backup_ + "/" + name), 0600) << name;
  }
  EXPECT_EQ(ReadFile(backup_ + "/root.key"), "dev root key bytes");
  EXPECT_FALSE(std::filesystem::exists(backup_ + "/stray"));
  EXPECT_NE(out_.str().find("not copied: " + data_ + "/stray"), std::string::npos);
}

// An existing backup is never written into.
TEST_F(BackupDataDirTest, NonEmptyOutputDirectoryIsRefusedAndLeftAlone) {
  std::filesystem::create_directory(backup_);
  WriteFile(backup_ + "/coffer.db", "an earlier backup");
  EXPECT_TRUE(HasError(Backup(), ErrorCode::kAlreadyExists));
  EXPECT_EQ(ReadFile(backup_ + "/coffer.db"), "an earlier backup");
}

// A directory without a database is not a data directory: nothing is created.
TEST_F(BackupDataDirTest, DataDirWithoutDatabaseIsRefusedAndCreatesNothing) {
  std::filesystem::remove(data_ + "/coffer.db");
  EXPECT_TRUE(HasError(Backup(), ErrorCode::kNotFound));
  EXPECT_FALSE(std::filesystem::exists(backup_));
}

// An altered audit record fails the backup (kDataLoss), and what was written is removed.
TEST_F(BackupDataDirTest, AlteredAuditLogFailsAndRemovesTheBackup) {
  std::string log = ReadFile(data_ + "/audit.log");
  size_t at = log.find("req-1");
  ASSERT_NE(at, std::string::npos);
  log[at + 4] = '7';
  WriteFile(data_ + "/audit.log", log);
  EXPECT_TRUE(HasError(Backup(), ErrorCode::kDataLoss));
  EXPECT_FALSE(std::filesystem::exists(backup_));
}

}  // namespace
}  // namespace coffer::cli
