// cli: `coffer backup` copies a data directory, while its server runs, into a
// new directory from which a server can be restored (docs/backup.md).
//
// The database is copied with SQLite's online backup API as one consistent
// snapshot (storage/sqlite/backup.h); the audit files are copied after it, head
// before log, so that the copied log holds at least every record its head
// names, and the copy is checked with the audit key. In dev mode the root key,
// the admin credentials and the client config are copied too: such a backup
// can decrypt every value by itself. In production mode the root key is not in
// the data directory (the database holds it sealed), so a restored server is
// unsealed as the original was.
//
// Unlike the other cli/ commands this one works on local files, not over HTTP:
// the server needs no credentials for it and does not take part.
#pragma once

#include <iosfwd>
#include <string>

#include "util/result.h"

namespace coffer::cli {

struct BackupOptions {
  std::string data_dir;  // --data-dir: the (running or stopped) server's data directory
  std::string out_dir;   // --out: a new or empty directory; created 0700
};

// Writes the backup and, to `out`, one line per file written and a summary.
// `out_dir` is created 0700 (an existing empty one is narrowed to 0700); every
// file in it is 0600 and fsynced, and so is the directory.
// Errors: kNotFound when data_dir holds no coffer.db; kAlreadyExists when
// out_dir exists and is not an empty directory (nothing is touched);
// kDataLoss when the database copy fails its integrity check or the audit log
// copy does not verify under the audit key; kUnavailable on I/O errors. On
// error, the files written so far are removed (and out_dir, if this call made
// it).
Status BackupDataDir(const BackupOptions& options, std::ostream& out);

}  // namespace coffer::cli
