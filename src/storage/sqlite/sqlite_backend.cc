#include "storage/sqlite/sqlite_backend.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <iterator>
#include <limits>
#include <string_view>
#include <utility>

#include "storage/sqlite/internal/sqlite_common.h"
#include "util/log.h"

namespace coffer::storage::sqlite {
namespace {

using internal::DbPtr;
using internal::Exec;
using internal::OpenDb;
using internal::SqlError;
using internal::StmtPtr;

// Event kinds as stored in events.kind. Persisted: never renumber.
constexpr int64_t kStoredPut = 0;
constexpr int64_t kStoredDelete = 1;

// schema_version is internal::kSchemaVersion, which VerifyDatabase checks.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS kv(
  key BLOB NOT NULL PRIMARY KEY,
  value BLOB NOT NULL,
  create_rev INTEGER NOT NULL,
  mod_rev INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events(
  rev INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  key BLOB NOT NULL,
  PRIMARY KEY(rev, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta(
  name TEXT NOT NULL PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(name, value) VALUES ('schema_version', 1), ('revision', 0),
  ('compacted', 0);
)sql";

// Resets a cached statement (and drops its bindings) when the scope ends.
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* s) : s_(s) {}
  ~StmtUse() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;

 private:
  sqlite3_stmt* s_;
};

Status Prepare(sqlite3* db, const char* sql, StmtPtr& out) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  out.reset(raw);
  if (rc != SQLITE_OK) return Fail(SqlError(rc, db, "prepare"));
  return Ok();
}

Status BindBlob(sqlite3* db, sqlite3_stmt* s, int index, std::string_view bytes) {
  // A null pointer would bind SQL NULL, so an empty value is bound as an empty blob.
  int rc = bytes.empty() ? sqlite3_bind_zeroblob(s, index, 0)
                         : sqlite3_bind_blob64(s, index, bytes.data(), bytes.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK) return Fail(SqlError(rc, db, "bind"));
  return Ok();
}

Status BindInt(sqlite3* db, sqlite3_stmt* s, int index, int64_t value) {
  int rc = sqlite3_bind_int64(s, index, value);
  if (rc != SQLITE_OK) return Fail(SqlError(rc, db, "bind"));
  return Ok();
}

std::string ColumnBytes(sqlite3_stmt* s, int col) {
  const void* data = sqlite3_column_blob(s, col);
  int size = sqlite3_column_bytes(s, col);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

// Steps a statement that returns no rows (or whose rows are ignored) to completion.
Status StepDone(sqlite3* db, sqlite3_stmt* s, std::string_view what) {
  StmtUse use(s);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) return Fail(SqlError(rc, db, what));
  return Ok();
}

// Reads meta.value for `name` with a prepared "SELECT value FROM meta WHERE name = ?1".
Result<int64_t> ReadMeta(sqlite3* db, sqlite3_stmt* s, const char* name) {
  StmtUse use(s);
  int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) return Fail(SqlError(rc, db, "bind"));
  rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) {
    return Fail(ErrorCode::kDataLoss, std::string("sqlite meta row missing: ") + name);
  }
  if (rc != SQLITE_ROW) return Fail(SqlError(rc, db, "read meta"));
  return sqlite3_column_int64(s, 0);
}

int64_t LimitParam(size_t limit) {
  // One extra row tells whether the limit cut the result short; -1 means no limit.
  if (limit == 0) return -1;
  if (limit >= static_cast<size_t>(std::numeric_limits<int64_t>::max())) return -1;
  return static_cast<int64_t>(limit) + 1;
}

}  // namespace

namespace internal {

struct ReadConn {
  DbPtr db;  // declared first: destroyed after the statements
  StmtPtr get;
  StmtPtr range_to;
  StmtPtr range_all;
  StmtPtr events;
  StmtPtr meta;
  StmtPtr begin;
  StmtPtr commit;
  StmtPtr rollback;
};

struct WriteConn {
  DbPtr db;
  StmtPtr begin;
  StmtPtr commit;
  StmtPtr rollback;
  StmtPtr savepoint;
  StmtPtr release;
  StmtPtr rollback_to;
  StmtPtr get_mod;
  StmtPtr upsert;
  StmtPtr del;
  StmtPtr insert_event;
  StmtPtr set_meta;
  StmtPtr meta;
  StmtPtr event_at;
  StmtPtr delete_events;
  StmtPtr count_events;
};

}  // namespace internal

namespace {

using internal::ReadConn;
using internal::WriteConn;

Status SetMeta(WriteConn& w, const char* name, int64_t value) {
  sqlite3_stmt* s = w.set_meta.get();
  int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 2, value);
  if (rc != SQLITE_OK) {
    sqlite3_clear_bindings(s);
    return Fail(SqlError(rc, w.db.get(), "bind"));
  }
  // StepDone resets the statement and clears the bindings.
  return StepDone(w.db.get(), s, "update meta");
}

// Current mod_rev of `key`, 0 if absent.
Result<Revision> ModRevision(WriteConn& w, std::string_view key) {
  sqlite3_stmt* s = w.get_mod.get();
  StmtUse use(s);
  COFFER_RETURN_IF_ERROR(BindBlob(w.db.get(), s, 1, key));
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return Revision{0};
  if (rc != SQLITE_ROW) return Fail(SqlError(rc, w.db.get(), "compare"));
  return sqlite3_column_int64(s, 0);
}

Status InsertEvent(WriteConn& w, Revision rev, int64_t seq, int64_t kind, std::string_view key) {
  sqlite3* db = w.db.get();
  sqlite3_stmt* s = w.insert_event.get();
  int rc = sqlite3_bind_int64(s, 1, rev);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 2, seq);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(s, 3, kind);
  if (rc != SQLITE_OK) {
    sqlite3_clear_bindings(s);
    return Fail(SqlError(rc, db, "bind"));
  }
  Status bound = BindBlob(db, s, 4, key);
  if (!bound) {
    sqlite3_clear_bindings(s);
    return bound;
  }
  return StepDone(db, s, "insert event");
}

// Applies the writes of one txn at revision `rev`, appending its events.
Status ApplyWrites(WriteConn& w, const Txn& txn, Revision rev, std::vector<Event>& events) {
  sqlite3* db = w.db.get();
  int64_t seq = 0;
  for (const Write& write : txn.writes) {
    if (write.kind == WriteKind::kPut) {
      sqlite3_stmt* s = w.upsert.get();
      Status bound = BindBlob(db, s, 1, write.key);
      if (bound) bound = BindBlob(db, s, 2, write.value);
      if (bound) bound = BindInt(db, s, 3, rev);
      if (!bound) {
        sqlite3_clear_bindings(s);
        return bound;
      }
      COFFER_RETURN_IF_ERROR(StepDone(db, s, "put"));
      COFFER_RETURN_IF_ERROR(InsertEvent(w, rev, seq++, kStoredPut, write.key));
      events.push_back(Event{rev, WriteKind::kPut, write.key});
    } else {
      sqlite3_stmt* s = w.del.get();
      Status bound = BindBlob(db, s, 1, write.key);
      if (!bound) {
        sqlite3_clear_bindings(s);
        return bound;
      }
      COFFER_RETURN_IF_ERROR(StepDone(db, s, "delete"));
      if (sqlite3_changes(db) > 0) {
        COFFER_RETURN_IF_ERROR(InsertEvent(w, rev, seq++, kStoredDelete, write.key));
        events.push_back(Event{rev, WriteKind::kDelete, write.key});
      }
    }
  }
  return Ok();
}

// Runs one txn inside its own savepoint. `outcome` receives the txn's result;
// `rev` is advanced when it commits writes. Returns an error only when the
// enclosing SQLite transaction can no longer be trusted (the savepoint could
// not be rolled back).
Status ApplyTxn(WriteConn& w, const Txn& txn, Revision& rev, std::vector<Event>& events,
                Result<Revision>& outcome) {
  sqlite3* db = w.db.get();
  if (Status s = StepDone(db, w.savepoint.get(), "savepoint"); !s) {
    outcome = Fail(s.error());
    return Ok();
  }
  auto undo = [&](Error error) -> Status {
    outcome = Fail(std::move(error));
    COFFER_RETURN_IF_ERROR(StepDone(db, w.rollback_to.get(), "rollback to savepoint"));
    return StepDone(db, w.release.get(), "release savepoint");
  };
  for (const Compare& c : txn.compares) {
    Result<Revision> current = ModRevision(w, c.key);
    if (!current) return undo(current.error());
    if (*current != c.mod_revision) {
      return undo(
          Error{ErrorCode::kAborted, Reason::kCasConflict, "transaction compare failed"});
    }
  }
  if (txn.writes.empty()) {
    outcome = rev;
    return StepDone(db, w.release.get(), "release savepoint");
  }
  std::vector<Event> txn_events;
  if (Status s = ApplyWrites(w, txn, rev + 1, txn_events); !s) return undo(s.error());
  if (Status s = StepDone(db, w.release.get(), "release savepoint"); !s) return undo(s.error());
  ++rev;
  outcome = rev;
  events = std::move(txn_events);
  return Ok();
}

Result<Entry> ReadGet(ReadConn& c, std::string_view key) {
  sqlite3* db = c.db.get();
  sqlite3_stmt* s = c.get.get();
  StmtUse use(s);
  COFFER_RETURN_IF_ERROR(BindBlob(db, s, 1, key));
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return Fail(ErrorCode::kNotFound, "key not found");
  if (rc != SQLITE_ROW) return Fail(SqlError(rc, db, "get"));
  return Entry{ColumnBytes(s, 0), ColumnBytes(s, 1), sqlite3_column_int64(s, 2),
               sqlite3_column_int64(s, 3)};
}

Result<RangeResult> ReadRange(ReadConn& c, std::string_view start, std::string_view end,
                              size_t limit) {
  sqlite3* db = c.db.get();
  sqlite3_stmt* s = end.empty() ? c.range_all.get() : c.range_to.get();
  StmtUse use(s);
  COFFER_RETURN_IF_ERROR(BindBlob(db, s, 1, start));
  COFFER_RETURN_IF_ERROR(BindInt(db, s, 2, LimitParam(limit)));
  if (!end.empty()) COFFER_RETURN_IF_ERROR(BindBlob(db, s, 3, end));
  RangeResult out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (limit != 0 && out.entries.size() == limit) {
      out.more = true;
      break;
    }
    out.entries.push_back(Entry{ColumnBytes(s, 0), ColumnBytes(s, 1), sqlite3_column_int64(s, 2),
                                sqlite3_column_int64(s, 3)});
  }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Fail(SqlError(rc, db, "range"));
  return out;
}

Result<std::vector<Event>> ReadChangesInTxn(ReadConn& c, Revision since, size_t limit) {
  sqlite3* db = c.db.get();
  COFFER_ASSIGN_OR_RETURN(int64_t compacted, ReadMeta(db, c.meta.get(), "compacted"));
  if (since < compacted) {
    return Fail(ErrorCode::kFailedPrecondition,
                "requested revision " + std::to_string(since) +
                    " is older than the retained change history (compacted through " +
                    std::to_string(compacted) + ")",
                Reason::kRevisionCompacted);
  }
  sqlite3_stmt* s = c.events.get();
  StmtUse use(s);
  COFFER_RETURN_IF_ERROR(BindInt(db, s, 1, since));
  COFFER_RETURN_IF_ERROR(
      BindInt(db, s, 2, limit == 0 ? -1 : static_cast<int64_t>(std::min<size_t>(
                                              limit, std::numeric_limits<int64_t>::max()))));
  std::vector<Event> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    int64_t kind = sqlite3_column_int64(s, 1);
    if (kind != kStoredPut && kind != kStoredDelete) {
      return Fail(ErrorCode::kDataLoss, "sqlite events table holds an unknown event kind");
    }
    out.push_back(Event{sqlite3_column_int64(s, 0),
                        kind == kStoredPut ? WriteKind::kPut : WriteKind::kDelete,
                        ColumnBytes(s, 2)});
  }
  if (rc != SQLITE_DONE) return Fail(SqlError(rc, db, "changes"));
  return out;
}

Result<std::vector<Event>> ReadChanges(ReadConn& c, Revision since, size_t limit) {
  sqlite3* db = c.db.get();
  // One read transaction, so the compaction check and the events come from one snapshot.
  COFFER_RETURN_IF_ERROR(StepDone(db, c.begin.get(), "begin"));
  Result<std::vector<Event>> out = ReadChangesInTxn(c, since, limit);
  Status end = StepDone(db, out ? c.commit.get() : c.rollback.get(), "end read");
  if (!end && sqlite3_get_autocommit(db) == 0) {
    IgnoreError(StepDone(db, c.rollback.get(), "rollback read"),
                "the read already failed; that error is returned");
  }
  if (!out) return out;
  if (!end) return Fail(end.error());
  return out;
}

Result<std::unique_ptr<ReadConn>> OpenReader(const std::string& path, int busy_timeout_ms) {
  auto conn = std::make_unique<ReadConn>();
  COFFER_ASSIGN_OR_RETURN(conn->db, OpenDb(path, SQLITE_OPEN_READWRITE, busy_timeout_ms));
  sqlite3* db = conn->db.get();
  COFFER_RETURN_IF_ERROR(Exec(db, "PRAGMA query_only = ON", "configure reader"));
  COFFER_RETURN_IF_ERROR(Prepare(
      db, "SELECT key, value, create_rev, mod_rev FROM kv WHERE key = ?1", conn->get));
  COFFER_RETURN_IF_ERROR(Prepare(db,
                                 "SELECT key, value, create_rev, mod_rev FROM kv "
                                 "WHERE key >= ?1 AND key < ?3 ORDER BY key LIMIT ?2",
                                 conn->range_to));
  COFFER_RETURN_IF_ERROR(Prepare(db,
                                 "SELECT key, value, create_rev, mod_rev FROM kv "
                                 "WHERE key >= ?1 ORDER BY key LIMIT ?2",
                                 conn->range_all));
  COFFER_RETURN_IF_ERROR(Prepare(
      db, "SELECT rev, kind, key FROM events WHERE rev > ?1 ORDER BY rev, seq LIMIT ?2",
      conn->events));
  COFFER_RETURN_IF_ERROR(Prepare(db, "SELECT value FROM meta WHERE name = ?1", conn->meta));
  COFFER_RETURN_IF_ERROR(Prepare(db, "BEGIN", conn->begin));
  COFFER_RETURN_IF_ERROR(Prepare(db, "COMMIT", conn->commit));
  COFFER_RETURN_IF_ERROR(Prepare(db, "ROLLBACK", conn->rollback));
  return conn;
}

Result<std::unique_ptr<WriteConn>> OpenWriter(const std::string& path, int busy_timeout_ms) {
  auto w = std::make_unique<WriteConn>();
  COFFER_ASSIGN_OR_RETURN(
      w->db, OpenDb(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busy_timeout_ms));
  sqlite3* db = w->db.get();
  {
    // journal_mode answers with the mode in force; anything but "wal" means
    // group commit would not be durable the way we expect.
    StmtPtr mode;
    COFFER_RETURN_IF_ERROR(Prepare(db, "PRAGMA journal_mode = WAL", mode));
    StmtUse use(mode.get());
    int rc = sqlite3_step(mode.get());
    if (rc != SQLITE_ROW) return Fail(SqlError(rc, db, "enable WAL"));
    const unsigned char* text = sqlite3_column_text(mode.get(), 0);
    if (text == nullptr || std::string_view(reinterpret_cast<const char*>(text)) != "wal") {
      return Fail(ErrorCode::kUnavailable, "sqlite could not switch the database to WAL mode");
    }
  }
  COFFER_RETURN_IF_ERROR(Exec(db, "PRAGMA synchronous = FULL", "configure writer"));
  COFFER_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "create schema"));
  if (Status s = Exec(db, kSchema, "create schema"); !s) {
    IgnoreError(Exec(db, "ROLLBACK", "rollback schema"), "the schema error is returned");
    return Fail(s.error());
  }
  COFFER_RETURN_IF_ERROR(Exec(db, "COMMIT", "create schema"));

  COFFER_RETURN_IF_ERROR(Prepare(db, "BEGIN IMMEDIATE", w->begin));
  COFFER_RETURN_IF_ERROR(Prepare(db, "COMMIT", w->commit));
  COFFER_RETURN_IF_ERROR(Prepare(db, "ROLLBACK", w->rollback));
  COFFER_RETURN_IF_ERROR(Prepare(db, "SAVEPOINT txn", w->savepoint));
  COFFER_RETURN_IF_ERROR(Prepare(db, "RELEASE txn", w->release));
  COFFER_RETURN_IF_ERROR(Prepare(db, "ROLLBACK TO txn", w->rollback_to));
  COFFER_RETURN_IF_ERROR(Prepare(db, "SELECT mod_rev FROM kv WHERE key = ?1", w->get_mod));
  COFFER_RETURN_IF_ERROR(Prepare(db,
                                 "INSERT INTO kv(key, value, create_rev, mod_rev) "
                                 "VALUES (?1, ?2, ?3, ?3) ON CONFLICT(key) DO UPDATE SET "
                                 "value = excluded.value, mod_rev = excluded.mod_rev",
                                 w->upsert));
  COFFER_RETURN_IF_ERROR(Prepare(db, "DELETE FROM kv WHERE key = ?1", w->del));
  COFFER_RETURN_IF_ERROR(Prepare(
      db, "INSERT INTO events(rev, seq, kind, key) VALUES (?1, ?2, ?3, ?4)", w->insert_event));
  COFFER_RETURN_IF_ERROR(Prepare(db, "UPDATE meta SET value = ?2 WHERE name = ?1", w->set_meta));
  COFFER_RETURN_IF_ERROR(Prepare(db, "SELECT value FROM meta WHERE name = ?1", w->meta));
  COFFER_RETURN_IF_ERROR(
      Prepare(db, "SELECT rev FROM events ORDER BY rev, seq LIMIT 1 OFFSET ?1", w->event_at));
  COFFER_RETURN_IF_ERROR(Prepare(db, "DELETE FROM events WHERE rev <= ?1", w->delete_events));
  COFFER_RETURN_IF_ERROR(Prepare(db, "SELECT count(*) FROM events", w->count_events));
  return w;
}

// Deletes the oldest events so that at most `max_events` remain. Returns the
// new compaction point (every event at or below it is gone) and the count.
Status Compact(WriteConn& w, size_t max_events, Revision& compacted, int64_t& count) {
  if (count <= static_cast<int64_t>(max_events)) return Ok();
  sqlite3* db = w.db.get();
  int64_t excess = count - static_cast<int64_t>(max_events);
  Revision cutoff;
  {
    sqlite3_stmt* s = w.event_at.get();
    StmtUse use(s);
    COFFER_RETURN_IF_ERROR(BindInt(db, s, 1, excess - 1));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) return Ok();  // fewer events than counted; nothing to do
    if (rc != SQLITE_ROW) return Fail(SqlError(rc, db, "compact"));
    cutoff = sqlite3_column_int64(s, 0);
  }
  sqlite3_stmt* s = w.delete_events.get();
  COFFER_RETURN_IF_ERROR(BindInt(db, s, 1, cutoff));
  COFFER_RETURN_IF_ERROR(StepDone(db, s, "compact"));
  count -= sqlite3_changes64(db);
  compacted = std::max(compacted, cutoff);
  return SetMeta(w, "compacted", compacted);
}

// The database holds every stored value: its files are the owner's alone.
// Creates `path` 0600 if absent (SQLite would create it 0644 under the usual
// umask, and gives its -wal and -shm files the database file's mode), and
// narrows the database and any existing -wal, -shm or -journal file left wider
// by an older version. kUnavailable when the file cannot be created or chmod'ed.
Status MakeFilesPrivate(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(ErrorCode::kUnavailable,
                "cannot open database " + path + ": " + std::strerror(errno));
  }
  ::close(fd);
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::string file = path + suffix;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if ((st.st_mode & 077) == 0) continue;
    if (::chmod(file.c_str(), st.st_mode & 0700) != 0) {
      return Fail(ErrorCode::kUnavailable,
                  "cannot make " + file + " private: " + std::strerror(errno));
    }
  }
  return Ok();
}

}  // namespace

SqliteBackend::SqliteBackend(std::string path, Options options)
    : path_(std::move(path)), options_(options) {}

Result<std::unique_ptr<SqliteBackend>> SqliteBackend::Open(const std::string& path,
                                                           Options options) {
  if (options.max_events == 0) {
    return Fail(ErrorCode::kInvalidArgument, "max_events must be greater than zero");
  }
  if (path.empty()) return Fail(ErrorCode::kInvalidArgument, "database path is empty");
  COFFER_RETURN_IF_ERROR(MakeFilesPrivate(path));
  std::unique_ptr<SqliteBackend> backend(new SqliteBackend(path, options));
  COFFER_RETURN_IF_ERROR(backend->Init());
  return backend;
}

Status SqliteBackend::Init() {
  COFFER_ASSIGN_OR_RETURN(writer_, OpenWriter(path_, options_.busy_timeout_ms));
  sqlite3* db = writer_->db.get();
  COFFER_ASSIGN_OR_RETURN(revision_, ReadMeta(db, writer_->meta.get(), "revision"));
  COFFER_ASSIGN_OR_RETURN(compacted_, ReadMeta(db, writer_->meta.get(), "compacted"));
  {
    sqlite3_stmt* s = writer_->count_events.get();
    StmtUse use(s);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) return Fail(SqlError(rc, db, "count events"));
    event_count_ = sqlite3_column_int64(s, 0);
  }
  // Prove a reader can be opened before accepting work, and keep it for reuse.
  COFFER_ASSIGN_OR_RETURN(auto reader, OpenReader(path_, options_.busy_timeout_ms));
  ReleaseReader(std::move(reader));
  writer_thread_ = std::thread([this] { WriterLoop(); });
  writer_id_ = writer_thread_.get_id();
  return Ok();
}

SqliteBackend::~SqliteBackend() {
  {
    util::MutexLock lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.NotifyAll();
  if (writer_thread_.joinable()) writer_thread_.join();
}

void SqliteBackend::WriterLoop() {
  for (;;) {
    std::vector<Pending> batch;
    {
      util::MutexLock lock(queue_mu_);
      queue_cv_.Wait(lock, [this]() COFFER_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
        return stopping_ || (!paused_ && !queue_.empty());
      });
      if (queue_.empty()) return;  // stopping and drained
      batch.reserve(queue_.size());
      std::move(queue_.begin(), queue_.end(), std::back_inserter(batch));
      queue_.clear();
    }
    ProcessBatch(batch);
  }
}

void SqliteBackend::ProcessBatch(std::vector<Pending>& batch) {
  WriteConn& w = *writer_;
  sqlite3* db = w.db.get();
  auto fail_all = [&](const Error& error) {
    if (sqlite3_get_autocommit(db) == 0) {
      IgnoreError(StepDone(db, w.rollback.get(), "rollback"),
                  "every commit of the batch fails with the first error");
    }
    for (Pending& p : batch) p.promise.set_value(Fail(error));
  };
  if (Status s = StepDone(db, w.begin.get(), "begin"); !s) return fail_all(s.error());

  std::vector<Result<Revision>> outcomes(batch.size());
  std::vector<std::vector<Event>> commits;  // per successful write txn, in revision order
  Revision rev = revision_;
  Revision compacted = compacted_;
  int64_t count = event_count_;
  for (size_t i = 0; i < batch.size(); ++i) {
    std::vector<Event> events;
    Revision before = rev;
    if (Status s = ApplyTxn(w, *batch[i].txn, rev, events, outcomes[i]); !s) {
      return fail_all(s.error());
    }
    if (rev != before) {
      count += static_cast<int64_t>(events.size());
      commits.push_back(std::move(events));
    }
  }
  if (rev != revision_) {
    if (Status s = SetMeta(w, "revision", rev); !s) return fail_all(s.error());
    if (Status s = Compact(w, options_.max_events, compacted, count); !s) {
      return fail_all(s.error());
    }
  }
  if (Status s = StepDone(db, w.commit.get(), "commit"); !s) return fail_all(s.error());

  revision_ = rev;
  compacted_ = compacted;
  event_count_ = count;
  batches_committed_.fetch_add(1);
  // Watchers run before the committers are released, so a cache invalidated by
  // a watch never serves a value older than a write its own server acknowledged.
  Notify(commits);
  for (size_t i = 0; i < batch.size(); ++i) batch[i].promise.set_value(std::move(outcomes[i]));
}

void SqliteBackend::Notify(const std::vector<std::vector<Event>>& commits) {
  util::RecursiveMutexLock lock(watch_mu_);
  if (watches_.empty()) return;
  for (const std::vector<Event>& events : commits) {
    if (events.empty()) continue;
    std::vector<uint64_t> ids;
    ids.reserve(watches_.size());
    for (const auto& [id, cb] : watches_) ids.push_back(id);
    for (uint64_t id : ids) {
      auto it = watches_.find(id);
      if (it == watches_.end()) continue;  // unwatched by an earlier callback
      std::shared_ptr<WatchCallback> cb = it->second;
      try {
        (*cb)(events);
      } catch (const std::exception& e) {
        util::LogError("storage watch callback threw", {{"error", e.what()}});
      } catch (...) {
        util::LogError("storage watch callback threw");
      }
    }
  }
}

Result<Revision> SqliteBackend::Commit(const Txn& txn) {
  if (std::this_thread::get_id() == writer_id_) {
    return Fail(ErrorCode::kFailedPrecondition, "Commit called from a storage watch callback");
  }
  Pending pending{&txn, {}};
  std::future<Result<Revision>> done = pending.promise.get_future();
  {
    util::MutexLock lock(queue_mu_);
    if (stopping_) return Fail(ErrorCode::kUnavailable, "storage backend is shutting down");
    queue_.push_back(std::move(pending));
    // Notified under the lock: once the commit is done the backend may be
    // destroyed, and the condition variable with it.
    queue_cv_.NotifyAll();
  }
  return done.get();
}

Result<std::unique_ptr<internal::ReadConn>> SqliteBackend::AcquireReader() {
  {
    util::MutexLock lock(readers_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<ReadConn> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return conn;
    }
  }
  return OpenReader(path_, options_.busy_timeout_ms);
}

void SqliteBackend::ReleaseReader(std::unique_ptr<internal::ReadConn> conn) {
  util::MutexLock lock(readers_mu_);
  if (idle_readers_.size() < options_.max_idle_readers) idle_readers_.push_back(std::move(conn));
}

Result<Entry> SqliteBackend::Get(std::string_view key) {
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<ReadConn> conn, AcquireReader());
  Result<Entry> out = ReadGet(*conn, key);
  ReleaseReader(std::move(conn));
  return out;
}

Result<RangeResult> SqliteBackend::Range(std::string_view start, std::string_view end,
                                         size_t limit) {
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<ReadConn> conn, AcquireReader());
  Result<RangeResult> out = ReadRange(*conn, start, end, limit);
  ReleaseReader(std::move(conn));
  return out;
}

Result<Revision> SqliteBackend::CurrentRevision() {
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<ReadConn> conn, AcquireReader());
  Result<int64_t> out = ReadMeta(conn->db.get(), conn->meta.get(), "revision");
  ReleaseReader(std::move(conn));
  return out;
}

Result<std::vector<Event>> SqliteBackend::Changes(Revision since, size_t limit) {
  COFFER_ASSIGN_OR_RETURN(std::unique_ptr<ReadConn> conn, AcquireReader());
  Result<std::vector<Event>> out = ReadChanges(*conn, since, limit);
  ReleaseReader(std::move(conn));
  return out;
}

uint64_t SqliteBackend::Watch(WatchCallback callback) {
  util::RecursiveMutexLock lock(watch_mu_);
  uint64_t id = next_watch_++;
  watches_.emplace(id, std::make_shared<WatchCallback>(std::move(callback)));
  return id;
}

void SqliteBackend::Unwatch(uint64_t id) {
  // Taking watch_mu_ waits for callbacks running on the writer thread.
  util::RecursiveMutexLock lock(watch_mu_);
  watches_.erase(id);
}

void SqliteBackend::PauseWriterForTest() {
  util::MutexLock lock(queue_mu_);
  paused_ = true;
}

void SqliteBackend::ResumeWriterForTest() {
  {
    util::MutexLock lock(queue_mu_);
    paused_ = false;
  }
  queue_cv_.NotifyAll();
}

void SqliteBackend::WaitForQueuedForTest(size_t n) {
  util::MutexLock lock(queue_mu_);
  queue_cv_.Wait(lock, [&]() COFFER_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) { return queue_.size() >= n; });
}

}  // namespace coffer::storage::sqlite
