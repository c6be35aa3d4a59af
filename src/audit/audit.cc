#include "audit/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "crypto/crypto.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/private_file.h"

namespace coffer::audit {
namespace {

constexpr std::string_view kMacMarker = ",\"mac\":\"";
constexpr std::string_view kGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";

std::string Mac(const SecretBytes& key, std::string_view prev_mac, std::string_view body) {
  std::string input;
  input.reserve(prev_mac.size() + body.size());
  input.append(prev_mac);
  input.append(body);
  return util::HexEncode(crypto::AsView(crypto::HmacSha256(key.Reveal(), input)));
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
std::string HeadMac(const SecretBytes& key, std::string_view seq, std::string_view mac) {
  std::string input = "coffer-audit-head\n";
  input.append(seq);
  input += '\n';
  input.append(mac);
  return util::HexEncode(crypto::AsView(crypto::HmacSha256(key.Reveal(), input)));
}

std::string HeadLine(const SecretBytes& key, uint64_t seq, std::string_view mac) {
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

struct Head {
  uint64_t seq = 0;
  std::string mac;
};

// Reads `<log>.head`: nullopt if there is none (or it is empty: created by a
// sink that stopped before writing it, which tells no more than no file), an
// error message if it is not a head written under `key`.
Result<std::optional<Head>> ReadHead(const std::string& path, const SecretBytes& key) {
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
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
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
    std::ifstream in(path);
    std::string line, last;
    while (std::getline(in, line)) {
      if (!line.empty()) last = line;
    }
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
  if (!regular) {  // a device or pipe: no chain to continue, no head file beside it
    return std::unique_ptr<FileSink>(new FileSink(fd, -1, std::move(key), next_seq, last_mac));
  }
  auto head = ReadHead(path, key);
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
  int head_fd = ::open((path + ".head").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (head_fd < 0) {
    ::close(fd);
    return Fail(ErrorCode::kUnavailable,
                "cannot open audit head " + path + ".head: " + std::strerror(errno));
  }
  if (!*head) {  // a new log (or one from before head files): say where it stands now
    std::string line = HeadLine(key, next_seq - 1, last_mac);
    if (::pwrite(head_fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
      ::close(fd);
      ::close(head_fd);
      return Fail(ErrorCode::kUnavailable, "cannot write audit head " + path + ".head");
    }
  }
  return std::unique_ptr<FileSink>(
      new FileSink(fd, head_fd, std::move(key), next_seq, std::move(last_mac)));
}

FileSink::FileSink(int fd, int head_fd, SecretBytes key, uint64_t next_seq, std::string last_mac)
    : fd_(fd),
      head_fd_(head_fd),
      key_(std::move(key)),
      next_seq_(next_seq),
      last_mac_(std::move(last_mac)) {}

FileSink::~FileSink() {
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
  std::string mac = Mac(key_, last_mac_, line);
  line += kMacMarker;
  line += mac;
  line += "\"}\n";
  Status written = WriteAll(fd_, line);
  if (written && head_fd_ >= 0) {
    std::string head = HeadLine(key_, next_seq_, mac);
    ssize_t n = ::pwrite(head_fd_, head.data(), head.size(), 0);
    if (n != static_cast<ssize_t>(head.size())) {
      written = Fail(ErrorCode::kUnavailable,
                     std::string("audit head write failed: ") +
                         (n < 0 ? std::strerror(errno) : "short write"));
    }
  }
  healthy_.store(written.has_value());
  if (!written) return written;
  ++next_seq_;
  last_mac_ = std::move(mac);
  return Ok();
}

std::string FileSink::HashIdentifier(std::string_view identifier) const {
  auto mac = crypto::HmacSha256(key_.Reveal(), identifier);
  return util::HexEncode(std::string_view(reinterpret_cast<const char*>(mac.data()), 16));
}

Result<VerifyReport> VerifyLog(const std::string& path, const SecretBytes& key) {
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
