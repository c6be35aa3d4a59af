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

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":\"";
  util::AppendJsonEscaped(out, value);
  out += '"';
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
  AppendField(out, "principal", r.principal_arn);
  AppendField(out, "source_ip", r.source_ip);
  AppendField(out, "api", r.api);
  AppendField(out, "operation", r.operation);
  AppendField(out, "resource", r.resource);
  AppendField(out, "decision", r.decision);
  AppendField(out, "decided_by", r.decided_by);
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
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kUnavailable, "cannot create audit key file " + path);
  Status w = WriteAll(fd, hex);
  util::SecureClear(hex);
  if (!w || ::fsync(fd) != 0) {
    ::close(fd);
    return Fail(ErrorCode::kUnavailable, "cannot write audit key file " + path);
  }
  ::close(fd);
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
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
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
  return std::unique_ptr<FileSink>(new FileSink(fd, std::move(key), next_seq, std::move(last_mac)));
}

FileSink::FileSink(int fd, SecretBytes key, uint64_t next_seq, std::string last_mac)
    : fd_(fd), key_(std::move(key)), next_seq_(next_seq), last_mac_(std::move(last_mac)) {}

FileSink::~FileSink() {
  ::fsync(fd_);
  ::close(fd_);
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
  std::lock_guard lock(mu_);
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
    prev = parsed.mac;
    ++expected_seq;
    ++report.records;
  }
  report.last_mac = prev;
  return report;
}

}  // namespace coffer::audit
