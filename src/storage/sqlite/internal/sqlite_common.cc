#include "storage/sqlite/internal/sqlite_common.h"

#include <sqlite3.h>

#include <utility>

namespace coffer::storage::sqlite::internal {

Error SqlError(int rc, sqlite3* db, std::string_view what) {
  ErrorCode code;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_NOMEM:
    case SQLITE_PROTOCOL:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_AUTH:
      code = ErrorCode::kUnavailable;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      code = ErrorCode::kDataLoss;
      break;
    case SQLITE_TOOBIG:
      code = ErrorCode::kInvalidArgument;
      break;
    default:
      code = ErrorCode::kInternal;
      break;
  }
  // sqlite3_errmsg never contains bound parameter values, so no stored bytes leak here.
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string message = "sqlite ";
  message.append(what);
  message.append(": ");
  message.append(detail != nullptr ? detail : "unknown error");
  return Error{code, Reason::kNone, std::move(message)};
}

void DbCloser::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

void StmtFinalizer::operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }

Result<DbPtr> OpenDb(const std::string& path, int flags, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return Fail(SqlError(rc, raw, "open"));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  return db;
}

Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Fail(SqlError(rc, db, what));
  return Ok();
}

}  // namespace coffer::storage::sqlite::internal
