#include "storage/sqlite/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <utility>

#include "storage/sqlite/internal/sqlite_common.h"
#include "util/private_file.h"

namespace coffer::storage::sqlite {
namespace {

using internal::DbPtr;
using internal::Exec;
using internal::OpenDb;
using internal::SqlError;
using internal::StmtPtr;

constexpr int kBusyTimeoutMs = 5000;
// Pages copied per backup step (4 MiB at the default 4 KiB page size).
constexpr int kPagesPerStep = 1024;
// A step that finds the source or the copy busy or locked is retried after a
// short sleep, for about ten seconds in all.
constexpr int kBusySleepMs = 10;
constexpr int kMaxBusyRetries = 1000;
// Files SQLite may keep beside a database.
constexpr const char* kCompanions[] = {"-wal", "-shm", "-journal"};
// An integrity_check message is cut to this length in errors.
constexpr size_t kMaxProblemLength = 200;

std::string Errno(std::string_view what, const std::string& path) {
  std::string message(what);
  message += " " + path + ": " + std::strerror(errno);
  return message;
}

// One integer from a statement that returns one row.
Result<int64_t> QueryInt(sqlite3* db, const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) return Fail(SqlError(rc, db, what));
  rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) {
    return Fail(ErrorCode::kDataLoss,
                "not a coffer database: " + std::string(what) + " found nothing");
  }
  if (rc != SQLITE_ROW) return Fail(SqlError(rc, db, what));
  return sqlite3_column_int64(raw, 0);
}

// PRAGMA integrity_check and coffer's schema, on an open connection.
Result<DatabaseSummary> Check(sqlite3* db) {
  {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(10)", -1, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return Fail(SqlError(rc, db, "integrity check"));
    rc = sqlite3_step(raw);
    if (rc != SQLITE_ROW) return Fail(SqlError(rc, db, "integrity check"));
    const unsigned char* text = sqlite3_column_text(raw, 0);
    std::string first = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    // A sound database answers exactly one row, "ok"; otherwise each row names a problem.
    bool more = sqlite3_step(raw) == SQLITE_ROW;
    if (first != "ok" || more) {
      if (first.size() > kMaxProblemLength) first.resize(kMaxProblemLength);
      return Fail(ErrorCode::kDataLoss, "sqlite integrity check failed: " + first);
    }
  }
  COFFER_ASSIGN_OR_RETURN(int64_t tables,
                          QueryInt(db,
                                   "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                   "AND name IN ('kv', 'events', 'meta')",
                                   "schema"));
  if (tables != 3) {
    return Fail(ErrorCode::kDataLoss, "not a coffer database: its tables are missing");
  }
  COFFER_ASSIGN_OR_RETURN(
      int64_t version,
      QueryInt(db, "SELECT value FROM meta WHERE name = 'schema_version'", "schema version"));
  if (version != internal::kSchemaVersion) {
    return Fail(ErrorCode::kDataLoss, "the database has schema version " +
                                          std::to_string(version) + "; this coffer reads " +
                                          std::to_string(internal::kSchemaVersion));
  }
  DatabaseSummary summary;
  COFFER_ASSIGN_OR_RETURN(summary.revision,
                          QueryInt(db, "SELECT value FROM meta WHERE name = 'revision'",
                                   "revision"));
  COFFER_ASSIGN_OR_RETURN(summary.keys, QueryInt(db, "SELECT count(*) FROM kv", "key count"));
  return summary;
}

// Opens an existing database read-only, leaving it as it is on close (a
// read-only connection that closes last would otherwise checkpoint the WAL).
Result<DbPtr> OpenReadOnly(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Fail(ErrorCode::kNotFound, "database " + path + " does not exist");
    return Fail(ErrorCode::kUnavailable, Errno("cannot stat database", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument, "database " + path + " is not a regular file");
  }
  COFFER_ASSIGN_OR_RETURN(DbPtr db, OpenDb(path, SQLITE_OPEN_READONLY, kBusyTimeoutMs));
  int rc = sqlite3_db_config(db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  if (rc != SQLITE_OK) return Fail(SqlError(rc, db.get(), "configure read-only connection"));
  return db;
}

// Copies every page of `source` into the empty database file `dest` from one
// read snapshot of the source.
Status CopyPages(const std::string& source, const std::string& dest) {
  COFFER_ASSIGN_OR_RETURN(DbPtr src, OpenReadOnly(source));
  // One read transaction for the whole copy. In WAL mode it pins one snapshot
  // without blocking the server's writers, so the steps below all read the
  // same state and the backup never restarts because the source changed.
  COFFER_RETURN_IF_ERROR(
      Exec(src.get(), "BEGIN; SELECT count(*) FROM sqlite_master;", "begin snapshot"));
  COFFER_ASSIGN_OR_RETURN(DbPtr dst, OpenDb(dest, SQLITE_OPEN_READWRITE, kBusyTimeoutMs));
  // The copy is a new file that is removed if anything fails, and it is
  // fsynced once at the end: no journal and no syncs while it is written.
  COFFER_RETURN_IF_ERROR(
      Exec(dst.get(), "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF", "configure copy"));
  sqlite3_backup* backup = sqlite3_backup_init(dst.get(), "main", src.get(), "main");
  if (backup == nullptr) {
    return Fail(SqlError(sqlite3_extended_errcode(dst.get()), dst.get(), "start backup"));
  }
  int rc;
  int retries = 0;
  for (;;) {
    rc = sqlite3_backup_step(backup, kPagesPerStep);
    if (rc == SQLITE_OK) continue;
    if (rc == SQLITE_DONE) break;
    int primary = rc & 0xff;
    if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) && ++retries <= kMaxBusyRetries) {
      sqlite3_sleep(kBusySleepMs);
      continue;
    }
    break;
  }
  int finished = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return Fail(SqlError(rc, nullptr, "backup step"));
  if (finished != SQLITE_OK) return Fail(SqlError(finished, dst.get(), "finish backup"));
  return Exec(src.get(), "COMMIT", "end snapshot");
}

// The copied first page still says WAL mode (the source's); switching the copy
// to rollback-journal mode makes it one self-contained file.
Result<DatabaseSummary> SettleAndCheck(const std::string& dest) {
  COFFER_ASSIGN_OR_RETURN(DbPtr db, OpenDb(dest, SQLITE_OPEN_READWRITE, kBusyTimeoutMs));
  {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db.get(), "PRAGMA journal_mode = DELETE", -1, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return Fail(SqlError(rc, db.get(), "set journal mode"));
    rc = sqlite3_step(raw);
    if (rc != SQLITE_ROW) return Fail(SqlError(rc, db.get(), "set journal mode"));
    const unsigned char* mode = sqlite3_column_text(raw, 0);
    if (mode == nullptr || std::string_view(reinterpret_cast<const char*>(mode)) != "delete") {
      return Fail(ErrorCode::kUnavailable, "sqlite could not take the copy out of WAL mode");
    }
  }
  return Check(db.get());
}

// Removes the copy and anything SQLite left beside it, unless released.
class RemoveOnError {
 public:
  explicit RemoveOnError(std::string path) : path_(std::move(path)) {}
  ~RemoveOnError() {
    if (path_.empty()) return;
    ::unlink(path_.c_str());
    for (const char* suffix : kCompanions) ::unlink((path_ + suffix).c_str());
  }
  RemoveOnError(const RemoveOnError&) = delete;
  RemoveOnError& operator=(const RemoveOnError&) = delete;
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

Result<DatabaseSummary> BackupDatabase(const std::string& source_path,
                                       const std::string& dest_path) {
  if (source_path.empty() || dest_path.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "database path is empty");
  }
  {
    struct stat st {};
    if (::stat(source_path.c_str(), &st) != 0) {
      if (errno == ENOENT) {
        return Fail(ErrorCode::kNotFound, "database " + source_path + " does not exist");
      }
      return Fail(ErrorCode::kUnavailable, Errno("cannot stat database", source_path));
    }
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::string file = dest_path + suffix;
    struct stat st {};
    if (::lstat(file.c_str(), &st) == 0 || errno != ENOENT) {
      return Fail(ErrorCode::kAlreadyExists,
                  "refusing to overwrite " + file + ": the backup must go to a new file");
    }
  }
  int fd = ::open(dest_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return Fail(ErrorCode::kAlreadyExists,
                  "refusing to overwrite " + dest_path + ": the backup must go to a new file");
    }
    return Fail(ErrorCode::kUnavailable, Errno("cannot create", dest_path));
  }
  RemoveOnError cleanup(dest_path);
  // 0600 whatever the umask; SQLite gives any file it creates beside it the same mode.
  int chmod_rc = ::fchmod(fd, 0600);
  ::close(fd);
  if (chmod_rc != 0) return Fail(ErrorCode::kUnavailable, Errno("cannot chmod", dest_path));

  COFFER_RETURN_IF_ERROR(CopyPages(source_path, dest_path));
  COFFER_ASSIGN_OR_RETURN(DatabaseSummary summary, SettleAndCheck(dest_path));
  COFFER_RETURN_IF_ERROR(util::FsyncPath(dest_path, O_RDONLY));
  std::filesystem::path dir = std::filesystem::path(dest_path).parent_path();
  COFFER_RETURN_IF_ERROR(util::FsyncPath(dir.empty() ? "." : dir.string(), O_RDONLY | O_DIRECTORY));
  cleanup.Release();
  return summary;
}

Result<DatabaseSummary> VerifyDatabase(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(DbPtr db, OpenReadOnly(path));
  // One read transaction, so that every check sees the same state.
  COFFER_RETURN_IF_ERROR(Exec(db.get(), "BEGIN", "begin read"));
  Result<DatabaseSummary> summary = Check(db.get());
  IgnoreError(Exec(db.get(), "COMMIT", "end read"), "a read-only transaction; the check's "
                                                     "result is what counts");
  return summary;
}

}  // namespace coffer::storage::sqlite
