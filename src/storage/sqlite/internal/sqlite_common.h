// Helpers shared by the SQLite backend and the backup functions: error
// mapping and owning handles. Private to storage/sqlite.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace coffer::storage::sqlite::internal {

// The value of meta.schema_version that this code writes and reads.
inline constexpr int64_t kSchemaVersion = 1;

// Maps an SQLite result code to an Error: kUnavailable (I/O, busy, full disk,
// cannot open), kDataLoss (corrupt, not a database), kInvalidArgument (too
// big), kInternal otherwise. The message names `what` and SQLite's own text,
// which never holds bound values.
Error SqlError(int rc, sqlite3* db, std::string_view what);

struct DbCloser {
  void operator()(sqlite3* db) const;
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const;
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Opens `path` with `flags` (SQLITE_OPEN_*; NOMUTEX is added), extended
// result codes on and the given busy timeout.
Result<DbPtr> OpenDb(const std::string& path, int flags, int busy_timeout_ms);

// Runs `sql` (one or more statements, rows ignored).
Status Exec(sqlite3* db, const char* sql, std::string_view what);

}  // namespace coffer::storage::sqlite::internal
