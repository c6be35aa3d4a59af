#include "audit/audit.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "crypto/crypto.h"
#include "util/check.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/private_file.h"

namespace coffer::audit {
namespace {

constexpr std::string_view kMacMarker = ",\"mac\":\"";
constexpr std::string_view kGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string Mac(const crypto::HmacSha256Key& key, std::string_view prev_mac,
                std::string_view body) {
  return util::HexEncode(crypto::AsView(key.Mac({prev_mac, body})));
}

// Appends `"name":"value"` with the value JSON-escaped and at most `max`
// bytes long once escaped; a longer value is cut before the character that
// would pass the bound (never inside an escape or a UTF-8 sequence) and marked.
void AppendField(std::string& out, std::string_view name, std::string_view value,
                 size_t max = kMaxAuditShortField) {
  out += ",\"";
  out += name;
  out += "\":\"";
  const size_t start = out.size();
  util::AppendJsonEscaped(out, value);  // the common case: it fits
  if (out.size() - start <= max) {
    out += '"';
    return;
  }
  out.resize(start);
  size_t character_start = start;  // where the character being written began
  for (size_t i = 0; i < value.size(); ++i) {
    if ((static_cast<unsigned char>(value[i]) & 0xC0) != 0x80) character_start = out.size();
    util::AppendJsonEscaped(out, value.substr(i, 1));
    if (out.size() - start > max) {
      out.resize(character_start);
      out += kAuditTruncatedMarker;
      out += std::to_string(value.size());
      out += " bytes]";
      break;
    }
  }
  out += '"';
}

// The head file: "<seq, 20 digits> <last mac> <head mac>\n", a fixed length so
// that it is rewritten in place.
std::string HeadMac(const crypto::HmacSha256Key& key, std::string_view seq,
                    std::string_view mac) {
  return util::HexEncode(crypto::AsView(key.Mac({"coffer-audit-head\n", seq, "\n", mac})));
}

std::string HeadLine(const crypto::HmacSha256Key& key, uint64_t seq, std::string_view mac) {
  std::string digits = std::to_string(seq);
  std::string padded = std::string(20 - std::min<size_t>(20, digits.size()), '0') + digits;
  std::string out = padded;
  out += ' ';
  out.append(mac);
  out += ' ';
  out += HeadMac(key, padded, mac);
  out += '\n';
  return out;
}

// 20-digit seq, space, 64 hex MAC, space, 64 hex head MAC, newline.
constexpr size_t kHeadLineSize = 20 + 1 + 64 + 1 + 64 + 1;

// The last non-empty line of the file open as `fd` (of `size` bytes), read
// backwards in blocks: opening a long log costs one block, not the whole file.
std::string LastLine(int fd, uint64_t size) {
  constexpr uint64_t kBlock = 64 * 1024;
  std::string tail;  // the file's last bytes, growing backwards
  uint64_t end = size;
  while (end > 0) {
    uint64_t start = end > kBlock ? end - kBlock : 0;
    std::string block(end - start, '\0');
    ssize_t n = ::pread(fd, block.data(), block.size(), static_cast<off_t>(start));
    if (n != static_cast<ssize_t>(block.size())) break;
    tail.insert(0, block);
    end = start;
    size_t last = tail.find_last_not_of('\n');
    if (last == std::string::npos) continue;  // only newlines so far
    size_t nl = tail.rfind('\n', last);
    if (nl != std::string::npos) return tail.substr(nl + 1, last - nl);
    if (end == 0) return tail.substr(0, last + 1);
  }
  size_t last = tail.find_last_not_of('\n');
  return last == std::string::npos ? std::string() : tail.substr(0, last + 1);
}

struct Head {
  uint64_t seq = 0;
  std::string mac;
};

// Reads `<log>.head`: nullopt if there is none (or it is empty: created by a
// sink that stopped before writing it, which tells no more than no file), an
// error message if it is not a head written under `key`.
Result<std::optional<Head>> ReadHead(const std::string& path, const crypto::HmacSha256Key& key) {
  std::ifstream in(path + ".head");
  if (!in || in.peek() == std::ifstream::traits_type::eof()) return std::optional<Head>();
  std::string seq, mac, tag;
  if (!(in >> seq >> mac >> tag) || seq.size() != 20 || mac.size() != 64 ||
      seq.find_first_not_of("0123456789") != std::string::npos) {
    return Fail(ErrorCode::kDataLoss, "the head file " + path + ".head is malformed");
  }
  if (!crypto::ConstantTimeEquals(HeadMac(key, seq, mac), tag)) {
    return Fail(ErrorCode::kDataLoss, "the head file " + path + ".head fails its MAC (altered)");
  }
  return std::optional<Head>(Head{std::stoull(seq), mac});
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(ErrorCode::kUnavailable,
                  std::string("audit log write failed: ") + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

struct ParsedLine {
  uint64_t seq = 0;
  std::string prev;
  std::string mac;
  std::string body;  // everything the MAC covers
};

// Parses one log line; an error message if it is not a well-formed record.
std::optional<std::string> ParseLine(std::string_view line, ParsedLine* out) {
  size_t pos = line.rfind(kMacMarker);
  if (pos == std::string_view::npos || !line.ends_with("\"}")) return "no mac field";
  out->body = std::string(line.substr(0, pos));
  out->mac = std::string(line.substr(pos + kMacMarker.size(),
                                     line.size() - pos - kMacMarker.size() - 2));
  try {
    auto doc = nlohmann::json::parse(line);
    if (!doc.is_object() || !doc["seq"].is_number_unsigned() || !doc["prev"].is_string()) {
      return "missing seq or prev";
    }
    out->seq = doc["seq"].get<uint64_t>();
    out->prev = doc["prev"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
    return "not valid JSON";
  }
  return std::nullopt;
}

}  // namespace

std::string RecordJson(const Record& r) {
  std::string out;
  out.reserve(256);
  out += "\"time\":\"";
  out += util::FormatIso8601Millis(r.time);
  out += '"';
  AppendField(out, "request_id", r.request_id);
  AppendField(out, "principal", r.principal_arn, kMaxAuditLongField);
  AppendField(out, "source_ip", r.source_ip);
  AppendField(out, "api", r.api);
  AppendField(out, "operation", r.operation);
  AppendField(out, "resource", r.resource, kMaxAuditLongField);
  AppendField(out, "decision", r.decision);
  AppendField(out, "decided_by", r.decided_by, kMaxAuditLongField);
  out += ",\"status\":";
  out += std::to_string(r.status);
  AppendField(out, "error_code", r.error_code);
  return out;
}

Result<SecretBytes> LoadOrCreateKey(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[65];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n != 64) return Fail(ErrorCode::kDataLoss, "audit key file " + path + " is malformed");
    auto raw = util::HexDecode(std::string_view(buf, 64));
    if (!raw) return Fail(ErrorCode::kDataLoss, "audit key file " + path + " is malformed");
    SecretBytes key(*raw);
    util::SecureClear(*raw);
    util::SecureZero(buf, sizeof buf);
    return key;
  }
  if (errno != ENOENT) {
    return Fail(ErrorCode::kUnavailable, "cannot read audit key file " + path);
  }
  SecretBytes key = crypto::RandomSecret(32);
  std::string hex = util::HexEncode(key.Reveal());
  Status written = util::WritePrivateFile(path, hex, util::IfExists::kKeep);
  util::SecureClear(hex);
  if (!written && written.error().code == ErrorCode::kAlreadyExists) {
    return LoadOrCreateKey(path);  // another process created it meanwhile: use that one
  }
  if (!written) {
    return Fail(ErrorCode::kUnavailable,
                "cannot create audit key file " + path + ": " + written.error().message);
  }
  return key;
}

Result<std::unique_ptr<FileSink>> FileSink::Open(const std::string& path, SecretBytes key) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Fail(ErrorCode::kUnavailable,
                "cannot open audit log " + path + ": " + std::strerror(errno));
  }
  // Find where the chain stands: the last line's seq and mac (regular files
  // only; a device such as a pipe starts a new chain).
  uint64_t next_seq = 1;
  std::string last_mac(kGenesis);
  struct stat st;
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (regular && st.st_size > 0) {
    std::string last = LastLine(fd, static_cast<uint64_t>(st.st_size));
    ParsedLine parsed;
    if (auto problem = ParseLine(last, &parsed)) {
      ::close(fd);
      return Fail(ErrorCode::kDataLoss, "audit log " + path + " ends in a bad record: " + *problem);
    }
    next_seq = parsed.seq + 1;
    last_mac = parsed.mac;
  }
  // A head that names a later record means the log lost its newest records:
  // continuing would overwrite the evidence, so refuse (fail closed). A head
  // behind the log is a crash between the two writes; the next write fixes it.
  crypto::HmacSha256Key mac_key(key.Reveal());
  if (!regular) {  // a device or pipe: no chain to continue, no head file beside it
    return std::unique_ptr<FileSink>(
        new FileSink(fd, -1, nullptr, std::move(mac_key), next_seq, last_mac));
  }
  auto head = ReadHead(path, mac_key);
  if (!head) {
    ::close(fd);
    return Fail(head.error());
  }
  if (*head && (*head)->seq >= next_seq) {
    ::close(fd);
    return Fail(ErrorCode::kDataLoss,
                "audit log " + path + " ends at record " + std::to_string(next_seq - 1) +
                    " but its head file names record " + std::to_string((*head)->seq) +
                    ": records were removed. Check it with `coffer audit verify`, then move "
                    "the log and its .head file aside to start a new log.");
  }
  int head_fd = ::open((path + ".head").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (head_fd < 0) {
    ::close(fd);
    return Fail(ErrorCode::kUnavailable,
                "cannot open audit head " + path + ".head: " + std::strerror(errno));
  }
  if (!*head) {  // a new log (or one from before head files): say where it stands now
    std::string line = HeadLine(mac_key, next_seq - 1, last_mac);
    if (::pwrite(head_fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
      ::close(fd);
      ::close(head_fd);
      return Fail(ErrorCode::kUnavailable, "cannot write audit head " + path + ".head");
    }
  }
  // The head is rewritten after every record: through a shared mapping of the
  // file it is a copy into the page cache (what pwrite would do) without a
  // system call. Every head line has the same length, kHeadLineSize.
  void* map = MAP_FAILED;
  if (::ftruncate(head_fd, kHeadLineSize) == 0) {
    map = ::mmap(nullptr, kHeadLineSize, PROT_READ | PROT_WRITE, MAP_SHARED, head_fd, 0);
  }
  if (map == MAP_FAILED) {
    int err = errno;
    ::close(fd);
    ::close(head_fd);
    return Fail(ErrorCode::kUnavailable,
                "cannot map audit head " + path + ".head: " + std::strerror(err));
  }
  return std::unique_ptr<FileSink>(new FileSink(fd, head_fd, static_cast<char*>(map),
                                                std::move(mac_key), next_seq,
                                                std::move(last_mac)));
}

FileSink::FileSink(int fd, int head_fd, char* head_map, crypto::HmacSha256Key mac_key,
                   uint64_t next_seq, std::string last_mac)
    : fd_(fd),
      head_fd_(head_fd),
      head_map_(head_map),
      mac_key_(std::move(mac_key)),
      next_seq_(next_seq),
      last_mac_(last_mac),
      written_seq_(next_seq - 1),
      written_mac_(std::move(last_mac)) {}

FileSink::~FileSink() {
  if (head_map_ != nullptr) {
    ::msync(head_map_, kHeadLineSize, MS_SYNC);
    ::munmap(head_map_, kHeadLineSize);
  }
  ::fsync(fd_);
  ::close(fd_);
  if (head_fd_ >= 0) {
    ::fsync(head_fd_);
    ::close(head_fd_);
  }
}

Status FileSink::Write(const Record& record) {
  std::string fields = RecordJson(record);
  if (!record.value_ids.empty()) {
    size_t n = std::min(record.value_ids.size(), kMaxValueIdsPerRecord);
    fields += ",\"values\":[";
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) fields += ',';
      fields += '"';
      fields += HashIdentifier(record.value_ids[i]);
      fields += '"';
    }
    fields += ']';
    if (record.value_ids.size() > n) {
      fields += ",\"values_more\":";
      fields += std::to_string(record.value_ids.size() - n);
    }
  }
  util::MutexLock lock(mu_);
  std::string line;
  line.reserve(fields.size() + 200);
  line += "{\"seq\":";
  line += std::to_string(next_seq_);
  line += ",\"prev\":\"";
  line += last_mac_;
  line += "\",";
  line += fields;
  std::string mac = Mac(mac_key_, last_mac_, line);
  line += kMacMarker;
  line += mac;
  line += "\"}\n";
  // Chained now, written in a batch: the first writer to find no write in
  // progress writes every record queued so far with one write(2), while the
  // others wait for theirs (group append). Tickets, unlike seq numbers, are
  // never reused, even when a failed batch rolls the chain back.
  pending_ += line;
  ++next_seq_;
  last_mac_ = std::move(mac);
  const uint64_t ticket = ++last_ticket_;
  while (true) {
    if (written_ticket_ >= ticket) return Ok();
    if (failed_ticket_ >= ticket) return Fail(last_error_);
    if (!writing_) {
      WriteBatch();
      continue;
    }
    batch_done_.Wait(lock);
  }
}

void FileSink::WriteBatch() {
  writing_ = true;
  std::string batch;
  batch.swap(pending_);
  const uint64_t through_ticket = last_ticket_;
  const uint64_t through_seq = next_seq_ - 1;
  const std::string through_mac = last_mac_;
  mu_.Unlock();  // the caller's MutexLock holds mu_ again when this returns
  Status written = WriteAll(fd_, batch);
  mu_.Lock();
  writing_ = false;
  if (written) {
    written_ticket_ = through_ticket;
    written_seq_ = through_seq;
    written_mac_ = through_mac;
    if (head_map_ != nullptr) {
      std::string head = HeadLine(mac_key_, through_seq, through_mac);
      COFFER_CHECK(head.size() == kHeadLineSize);
      std::memcpy(head_map_, head.data(), kHeadLineSize);
    }
    healthy_.store(true);
  } else {
    // The batch and everything chained after it fail; the chain goes back to
    // the last record in the file.
    failed_ticket_ = last_ticket_;
    last_error_ = written.error();
    pending_.clear();
    next_seq_ = written_seq_ + 1;
    last_mac_ = written_mac_;
    healthy_.store(false);
  }
  batch_done_.NotifyAll();
}

std::string FileSink::HashIdentifier(std::string_view identifier) const {
  auto mac = mac_key_.Mac(identifier);
  return util::HexEncode(std::string_view(reinterpret_cast<const char*>(mac.data()), 16));
}

Result<VerifyReport> VerifyLog(const std::string& path, const SecretBytes& secret_key) {
  crypto::HmacSha256Key key(secret_key.Reveal());
  // The head first: a server appending meanwhile writes each record before its
  // head, so the log read next holds at least the records the head names.
  auto head = ReadHead(path, key);
  std::string mac_at_head;
  std::ifstream in(path);
  if (!in) return Fail(ErrorCode::kNotFound, "cannot open audit log " + path);
  VerifyReport report;
  std::string prev(kGenesis);
  uint64_t expected_seq = 1;
  uint64_t line_no = 0;
  std::string line;
  auto bad = [&](std::string problem) {
    report.ok = false;
    report.first_bad_line = line_no;
    report.problem = std::move(problem);
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) {
      bad("empty line");
      break;
    }
    ParsedLine parsed;
    if (auto problem = ParseLine(line, &parsed)) {
      bad(*problem);
      break;
    }
    if (parsed.seq != expected_seq) {
      bad("sequence number " + std::to_string(parsed.seq) + " where " +
          std::to_string(expected_seq) + " was expected (a record is missing or out of order)");
      break;
    }
    if (parsed.prev != prev) {
      bad("does not chain to the previous record");
      break;
    }
    std::string mac = Mac(key, prev, parsed.body);
    if (!crypto::ConstantTimeEquals(mac, parsed.mac)) {
      bad("MAC mismatch (the record was altered)");
      break;
    }
    if (head && *head && parsed.seq == (*head)->seq) mac_at_head = parsed.mac;
    prev = parsed.mac;
    ++expected_seq;
    ++report.records;
  }
  report.last_mac = prev;
  if (!report.ok) return report;
  if (!head) {
    report.ok = false;
    report.first_bad_line = line_no + 1;
    report.problem = head.error().message;
  } else if (!*head) {
    report.note = "no head file: removal of the newest records cannot be detected";
  } else if ((*head)->seq > report.records) {
    report.ok = false;
    report.first_bad_line = report.records + 1;
    report.problem = "missing: the log ends at record " + std::to_string(report.records) +
                     " but its head file names record " + std::to_string((*head)->seq) +
                     " (the newest records were removed)";
  } else if ((*head)->seq > 0 && !crypto::ConstantTimeEquals((*head)->mac, mac_at_head)) {
    report.ok = false;
    report.first_bad_line = (*head)->seq;
    report.problem = "not the record the head file names (the log was rewritten from here)";
  }
  return report;
}

}  // namespace coffer::audit
