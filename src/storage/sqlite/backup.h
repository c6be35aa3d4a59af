// Backups of the SQLite database outside the server: a consistent online copy
// of the database file that a running server has open, and a check that a file
// is a sound coffer database before it is restored. Both only read the source;
// neither needs the server to pause. (The rest of a data directory is the
// caller's: see cli/backup.h.)
//
// Thread safety: the functions keep no state; they may run from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "util/result.h"

namespace coffer::storage::sqlite {

// What a checked database holds.
struct DatabaseSummary {
  int64_t revision = 0;  // the newest committed revision (meta.revision)
  int64_t keys = 0;      // rows in the key-value table
};

// Copies the coffer database at `source_path` into the new file `dest_path`
// with SQLite's online backup API, as one consistent snapshot: the state after
// some commit, never a part of one. The source may be open by a running server
// in WAL mode: it is opened read-only (SQLITE_OPEN_READONLY, no checkpoint on
// close), its writers are not blocked, and it is never modified (of a database
// that no server has open, SQLite may leave an empty -wal and -shm beside it,
// with its mode). The copy is taken in steps of pages under one read
// transaction, retrying briefly while the source is busy or locked.
// `dest_path` is created with mode 0600 and must not exist, nor its -wal, -shm
// or -journal companions (a stale -wal beside it would be applied to the copy).
// The copy is one self-contained file in rollback-journal mode (no -wal file
// is needed beside it); it passes PRAGMA integrity_check and holds coffer's
// schema, and it and its directory are fsynced before this returns.
// Returns the copy's summary. Errors: kAlreadyExists when `dest_path` or a
// companion exists (nothing is touched); kNotFound when `source_path` does
// not exist; kDataLoss when the source is not a coffer database or the copy
// fails its integrity check; kUnavailable on I/O errors or when the source
// stays locked. On error no file is left at `dest_path`.
Result<DatabaseSummary> BackupDatabase(const std::string& source_path,
                                       const std::string& dest_path);

// Checks that `path` is a sound coffer database: PRAGMA integrity_check says
// "ok" and the schema (tables, schema_version) is coffer's. Opens the file
// read-only. Errors: kNotFound when it does not exist; kDataLoss when it is
// not a database, is corrupt or is not coffer's; kUnavailable when it cannot
// be read.
Result<DatabaseSummary> VerifyDatabase(const std::string& path);

}  // namespace coffer::storage::sqlite
