#include "cli/backup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "audit/audit.h"
#include "storage/sqlite/backup.h"
#include "util/private_file.h"
#include "util/secret_bytes.h"

namespace coffer::cli {
namespace {

constexpr const char* kDatabase = "coffer.db";
constexpr const char* kAuditKey = "audit.key";
constexpr const char* kAuditHead = "audit.log.head";
constexpr const char* kAuditLog = "audit.log";
// Dev mode only: the root key, the admin's access key, the client config.
constexpr const char* kDevFiles[] = {"root.key", "credentials", "config"};
// The database's companions, which the snapshot already covers.
constexpr const char* kDatabaseCompanions[] = {"coffer.db-wal", "coffer.db-shm",
                                               "coffer.db-journal"};
// A head and log copied while the server appends are retried this many times
// if the copy does not verify (a head rewritten while it was read).
constexpr int kAuditCopyAttempts = 3;

std::string Errno(std::string_view what, const std::string& path) {
  std::string message(what);
  message += " " + path + ": " + std::strerror(errno);
  return message;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Files written so far, removed (with the directory, if made here) unless the
// backup completes.
class Written {
 public:
  explicit Written(std::string dir) : dir_(std::move(dir)) {}
  ~Written() {
    if (done_) return;
    for (const std::string& file : files_) ::unlink(file.c_str());
    if (made_dir_) ::rmdir(dir_.c_str());
  }
  Written(const Written&) = delete;
  Written& operator=(const Written&) = delete;

  void MadeDir() { made_dir_ = true; }
  void Add(std::string file) { files_.push_back(std::move(file)); }
  void Forget(const std::string& file) {
    ::unlink(file.c_str());
    files_.erase(std::remove(files_.begin(), files_.end(), file), files_.end());
  }
  void Done() { done_ = true; }

 private:
  std::string dir_;
  std::vector<std::string> files_;
  bool made_dir_ = false;
  bool done_ = false;
};

// Makes `dir` (0700) or accepts an existing empty directory (narrowed to 0700).
Status PrepareOutDir(const std::string& dir, Written& written) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Fail(ErrorCode::kAlreadyExists, dir + " exists and is not a directory");
    }
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return Fail(ErrorCode::kUnavailable, Errno("cannot read", dir));
    bool empty = true;
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name != "." && name != "..") empty = false;
    }
    ::closedir(d);
    if (!empty) {
      return Fail(ErrorCode::kAlreadyExists,
                  dir + " is not empty; a backup goes to a new or empty directory");
    }
  } else if (errno != ENOENT) {
    return Fail(ErrorCode::kUnavailable, Errno("cannot stat", dir));
  } else {
    if (::mkdir(dir.c_str(), 0700) != 0) {
      return Fail(ErrorCode::kUnavailable, Errno("cannot create", dir));
    }
    written.MadeDir();
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return Fail(ErrorCode::kUnavailable, Errno("cannot make private", dir));
  }
  return Ok();
}

// Copies the regular file `from` to the new file `to` (0600, fsynced). With
// `whole_lines`, a last line still being appended (no newline yet) is left
// out. Returns the bytes written. The buffer is wiped: some files are keys.
Result<uint64_t> CopyFile(const std::string& from, const std::string& to, bool whole_lines,
                          Written& written) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) return Fail(ErrorCode::kUnavailable, Errno("cannot open", from));
  struct stat st {};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(in);
    return Fail(ErrorCode::kUnavailable, from + " is not a regular file");
  }
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) {
    ::close(in);
    return Fail(ErrorCode::kUnavailable, Errno("cannot create", to));
  }
  written.Add(to);
  std::vector<char> buffer(64 * 1024);
  uint64_t total = 0;
  uint64_t lines_end = 0;  // just past the last newline copied
  Status status = Ok();
  if (::fchmod(out, 0600) != 0) status = Fail(ErrorCode::kUnavailable, Errno("cannot chmod", to));
  while (status) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = Fail(ErrorCode::kUnavailable, Errno("cannot read", from));
      break;
    }
    if (n == 0) break;
    for (ssize_t i = n; i > 0; --i) {
      if (buffer[i - 1] == '\n') {
        lines_end = total + static_cast<uint64_t>(i);
        break;
      }
    }
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out, buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        status = Fail(ErrorCode::kUnavailable, Errno("cannot write", to));
        break;
      }
      done += w;
    }
    total += static_cast<uint64_t>(n);
  }
  util::SecureZero(buffer.data(), buffer.size());
  if (status && whole_lines && lines_end != total) {
    if (::ftruncate(out, static_cast<off_t>(lines_end)) != 0) {
      status = Fail(ErrorCode::kUnavailable, Errno("cannot truncate", to));
    }
    total = lines_end;
  }
  if (status && ::fsync(out) != 0) status = Fail(ErrorCode::kUnavailable, Errno("cannot fsync", to));
  ::close(in);
  ::close(out);
  if (!status) return Fail(status.error());
  return total;
}

// Copies the audit head, then the log (whole records only), and checks the
// copied chain under the copied key. Returns the number of records.
Result<uint64_t> CopyAudit(const std::string& data_dir, const std::string& out_dir,
                           bool has_key, Written& written, std::ostream& out) {
  const std::string head_from = data_dir + "/" + kAuditHead;
  const std::string head_to = out_dir + "/" + kAuditHead;
  const std::string log_to = out_dir + "/" + kAuditLog;
  bool has_head = Exists(head_from);
  std::string problem;
  for (int attempt = 0; attempt < kAuditCopyAttempts; ++attempt) {
    if (attempt > 0) {
      written.Forget(head_to);
      written.Forget(log_to);
    }
    if (has_head) COFFER_RETURN_IF_ERROR(CopyFile(head_from, head_to, false, written));
    COFFER_ASSIGN_OR_RETURN(uint64_t bytes,
                            CopyFile(data_dir + "/" + kAuditLog, log_to, true, written));
    if (!has_key) {
      out << "wrote " << log_to << " (" << bytes << " bytes; no audit key: not verified)\n";
      return 0;
    }
    COFFER_ASSIGN_OR_RETURN(SecretBytes key, audit::LoadOrCreateKey(out_dir + "/" + kAuditKey));
    COFFER_ASSIGN_OR_RETURN(audit::VerifyReport report, audit::VerifyLog(log_to, key));
    if (report.ok) {
      if (has_head) out << "wrote " << head_to << "\n";
      out << "wrote " << log_to << " (" << report.records << " records, chain intact, last mac "
          << report.last_mac << ")\n";
      return report.records;
    }
    problem = "record " + std::to_string(report.first_bad_line) + ": " + report.problem;
  }
  return Fail(ErrorCode::kDataLoss,
              "the copied audit log does not verify (" + problem +
                  "); check the server's own log with `coffer audit verify --data-dir " +
                  data_dir + "`");
}

}  // namespace

Status BackupDataDir(const BackupOptions& options, std::ostream& out) {
  if (options.data_dir.empty() || options.out_dir.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "give the data directory and the output directory");
  }
  const std::string& data_dir = options.data_dir;
  const std::string& out_dir = options.out_dir;
  if (!Exists(data_dir + "/" + kDatabase)) {
    return Fail(ErrorCode::kNotFound,
                data_dir + " holds no " + kDatabase +
                    " (not a coffer data directory, or a server with --storage memory, which "
                    "keeps nothing on disk)");
  }
  Written written(out_dir);
  COFFER_RETURN_IF_ERROR(PrepareOutDir(out_dir, written));

  // The database first: the audit log copied after it then holds a record of
  // every request whose writes the snapshot holds.
  const std::string db_to = out_dir + "/" + kDatabase;
  written.Add(db_to);
  COFFER_ASSIGN_OR_RETURN(storage::sqlite::DatabaseSummary summary,
                          storage::sqlite::BackupDatabase(data_dir + "/" + kDatabase, db_to));
  out << "wrote " << db_to << " (online snapshot at revision " << summary.revision << ", "
      << summary.keys << " keys, integrity ok)\n";

  std::set<std::string> copied = {kDatabase};
  bool has_key = Exists(data_dir + "/" + kAuditKey);
  if (has_key) {
    COFFER_RETURN_IF_ERROR(
        CopyFile(data_dir + "/" + kAuditKey, out_dir + "/" + kAuditKey, false, written));
    out << "wrote " << out_dir << "/" << kAuditKey << "\n";
    copied.insert(kAuditKey);
  }
  if (Exists(data_dir + "/" + kAuditLog)) {
    COFFER_RETURN_IF_ERROR(CopyAudit(data_dir, out_dir, has_key, written, out));
    copied.insert(kAuditLog);
    copied.insert(kAuditHead);
  }
  bool has_root_key = false;
  for (const char* name : kDevFiles) {
    std::string from = data_dir + "/" + name;
    if (!Exists(from)) continue;
    COFFER_RETURN_IF_ERROR(CopyFile(from, out_dir + "/" + name, false, written));
    out << "wrote " << out_dir << "/" << name << "\n";
    copied.insert(name);
    if (std::string_view(name) == "root.key") has_root_key = true;
  }
  COFFER_RETURN_IF_ERROR(util::FsyncPath(out_dir, O_RDONLY | O_DIRECTORY));
  written.Done();

  // Whatever else the directory holds is named, so that nothing is left behind unseen.
  for (const char* name : kDatabaseCompanions) copied.insert(name);
  if (DIR* d = ::opendir(data_dir.c_str()); d != nullptr) {
    std::vector<std::string> others;
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != ".." && copied.count(name) == 0) others.push_back(name);
    }
    ::closedir(d);
    std::sort(others.begin(), others.end());
    for (const std::string& name : others) out << "not copied: " << data_dir << "/" << name << "\n";
  }
  if (has_root_key) {
    out << "note: " << out_dir
        << " holds the dev root key: whoever can read it can decrypt every stored value\n";
  } else {
    out << "note: " << out_dir
        << " holds no root key: a server restored from it is unsealed as the original is\n";
  }
  out << "backup complete: " << out_dir << "\n";
  return Ok();
}

}  // namespace coffer::cli
