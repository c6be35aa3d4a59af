// audit: one record per request, written before the response leaves the
// server; if the record cannot be written the request is refused (fail
// closed). Records never hold a secret value: sensitive identifiers (tokens,
// idempotency tokens) are replaced by an HMAC under the log's own key.
//
// The file sink chains records: each line carries the MAC of the previous one
// and its own MAC = HMAC-SHA256(log key, previous MAC || line body), so that
// removing, reordering or editing any record is detected by VerifyLog(), which
// names the first bad record. Removing the newest records leaves a shorter
// chain that is valid by itself, so the sink also keeps a head file next to
// the log (`<log>.head`: the last record's seq and MAC, under a MAC of their
// own), rewritten after every record: a log that ends before its head is
// reported by VerifyLog and refused by Open. (Removing both the tail and the
// head is detectable only against an outside copy of the last MAC, which
// `coffer audit verify` prints.)
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/mutex.h"
#include "util/time.h"

namespace coffer::audit {

// A record's string fields are the caller's in part (the operation, the
// resource it named), so each is written bounded: at most kMaxAuditShortField
// bytes for request_id, source_ip, api, operation, decision and error_code,
// kMaxAuditLongField for principal, resource and decided_by, counted after
// JSON escaping. A longer value is cut at a UTF-8 character boundary and
// followed by kAuditTruncatedMarker and its full size in bytes, e.g.
// "GetPar...[truncated from 1048576 bytes]". A record line is therefore at most
// about 12 KiB (8 KiB of fields, 3.4 KiB of value MACs) whatever the request.
struct Record {
  util::SystemTime time;
  std::string request_id;
  std::string principal_arn;  // "" when unauthenticated
  std::string source_ip;
  std::string api;        // ssm | secretsmanager | kms | sts | iam | native
  std::string operation;  // GetParameter
  std::string resource;   // ARN or name the operation addressed ("" if none)
  std::string decision;   // allow | explicit-deny | implicit-deny | unauthenticated | n/a
  std::string decided_by; // policy name / statement sid that decided ("" if none)
  int status = 0;         // HTTP status
  std::string error_code; // AWS error code, "" on success
  // Which stored values the request read or wrote, as "<ARN>#<version>". The
  // file sink writes only each one's HMAC under the log key ("values"), so a
  // reader of the log can tell whether two requests touched the same value
  // version, and the key holder can check a guess, but the log names none.
  std::vector<std::string> value_ids;
};

// Where audit records go. Implementations are thread-safe; Write is durable
// enough to survive a process crash (written to the OS) before it returns.
class Sink {
 public:
  virtual ~Sink() = default;
  // Appends one record. Any failure is returned (kUnavailable), and the caller
  // must then refuse the request.
  virtual Status Write(const Record& record) = 0;
  // False once a write has failed: callers refuse requests before executing
  // them until a write succeeds again.
  virtual bool Healthy() const = 0;
};

// The hash-chained JSON-lines file sink.
class FileSink final : public Sink {
 public:
  // Opens (creating, 0600) `path` for appending and continues the chain from
  // its last record. `key` is the log's HMAC key (32 bytes).
  // kDataLoss if the existing file's last line does not parse, or if the head
  // file names a later record than the log's last one (records were removed).
  static Result<std::unique_ptr<FileSink>> Open(const std::string& path, SecretBytes key);
  ~FileSink() override;

  Status Write(const Record& record) override;
  bool Healthy() const override { return healthy_.load(); }

  // MAC of an identifier under the log key (hex, 16 bytes), for fields that
  // must not be stored in clear.
  std::string HashIdentifier(std::string_view identifier) const;

 private:
  FileSink(int fd, int head_fd, char* head_map, crypto::HmacSha256Key mac_key, uint64_t next_seq,
           std::string last_mac);

  util::Mutex mu_;
  std::atomic<bool> healthy_{true};
  int fd_;
  int head_fd_;
  char* head_map_;  // the head file, mapped shared (nullptr without one)
  crypto::HmacSha256Key mac_key_;
  // Writes everything in pending_ (see Write). REQUIRES: mu_ held, no batch
  // being written; releases mu_ during the write and holds it again on return.
  void WriteBatch() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The chain as built (records in pending_ included).
  uint64_t next_seq_ COFFER_GUARDED_BY(mu_);
  std::string last_mac_ COFFER_GUARDED_BY(mu_);  // hex
  // Records chained but not yet written, and the batch state.
  std::string pending_ COFFER_GUARDED_BY(mu_);
  bool writing_ COFFER_GUARDED_BY(mu_) = false;
  uint64_t last_ticket_ COFFER_GUARDED_BY(mu_) = 0;
  uint64_t written_ticket_ COFFER_GUARDED_BY(mu_) = 0;
  uint64_t failed_ticket_ COFFER_GUARDED_BY(mu_) = 0;
  Error last_error_ COFFER_GUARDED_BY(mu_);
  // The chain as it stands in the file.
  uint64_t written_seq_ COFFER_GUARDED_BY(mu_);
  std::string written_mac_ COFFER_GUARDED_BY(mu_);
  util::CondVar batch_done_;
};

// Loads the audit key file at `path`, creating it (0600, 32 random bytes) if absent.
Result<SecretBytes> LoadOrCreateKey(const std::string& path);

struct VerifyReport {
  uint64_t records = 0;
  bool ok = true;
  uint64_t first_bad_line = 0;  // 1-based line number of the first bad record
  std::string problem;          // what is wrong with it
  std::string last_mac;
  std::string note;             // something short of a failure (e.g. no head file)
};

// Checks the whole chain of the log at `path` under `key`, and the log's end
// against `<path>.head` when that file exists.
// Returns a report (ok=false names the first bad record); an Error only when
// the file cannot be read.
Result<VerifyReport> VerifyLog(const std::string& path, const SecretBytes& key);

// Renders a record as the JSON object body used in the log (without seq/prev/mac
// and without value_ids, which only a sink with a key can render), each field
// bounded as Record describes.
std::string RecordJson(const Record& record);

// At most this many value ids are written per record; "values_more" counts the rest.
inline constexpr size_t kMaxValueIdsPerRecord = 100;

// Bounds on a record's string fields as written (see Record).
inline constexpr size_t kMaxAuditShortField = 128;
inline constexpr size_t kMaxAuditLongField = 2048;
inline constexpr std::string_view kAuditTruncatedMarker = "...[truncated from ";

}  // namespace coffer::audit
