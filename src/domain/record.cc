#include "domain/record.h"

namespace coffer::domain {
namespace {

std::unexpected<Error> Truncated(const char* what) {
  return Fail(ErrorCode::kDataLoss, std::string("record is malformed: ") + what,
              Reason::kMalformedInput);
}

}  // namespace

void RecordWriter::PutVarint(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

void RecordWriter::PutSignedVarint(int64_t v) {
  PutVarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void RecordWriter::PutU64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void RecordWriter::PutBool(bool v) { out_.push_back(v ? 1 : 0); }

void RecordWriter::PutString(std::string_view s) {
  PutVarint(s.size());
  out_.append(s);
}

void RecordWriter::PutStringMap(const std::map<std::string, std::string, std::less<>>& m) {
  PutVarint(m.size());
  for (const auto& [k, v] : m) {
    PutString(k);
    PutString(v);
  }
}

Result<uint64_t> RecordReader::Varint() {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= data_.size()) return Truncated("varint truncated");
    uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
    if (shift == 63 && byte > 1) return Truncated("varint overflows");
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return result;
  }
  return Truncated("varint too long");
}

Result<int64_t> RecordReader::SignedVarint() {
  COFFER_ASSIGN_OR_RETURN(uint64_t v, Varint());
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

Result<uint64_t> RecordReader::U64() {
  if (data_.size() - pos_ < 8) return Truncated("u64 truncated");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
  }
  pos_ += 8;
  return v;
}

Result<bool> RecordReader::Bool() {
  if (pos_ >= data_.size()) return Truncated("bool truncated");
  uint8_t b = static_cast<uint8_t>(data_[pos_++]);
  if (b > 1) return Truncated("bad bool");
  return b == 1;
}

Result<std::string> RecordReader::String() {
  COFFER_ASSIGN_OR_RETURN(uint64_t size, Varint());
  if (size > data_.size() - pos_) return Truncated("string truncated");
  std::string s(data_.substr(pos_, size));
  pos_ += size;
  return s;
}

Result<std::map<std::string, std::string, std::less<>>> RecordReader::StringMap() {
  COFFER_ASSIGN_OR_RETURN(uint64_t count, Varint());
  // Each entry takes at least two bytes: reject absurd counts before looping.
  if (count > (data_.size() - pos_) / 2) return Truncated("map truncated");
  std::map<std::string, std::string, std::less<>> m;
  for (uint64_t i = 0; i < count; ++i) {
    COFFER_ASSIGN_OR_RETURN(std::string k, String());
    COFFER_ASSIGN_OR_RETURN(std::string v, String());
    m.insert_or_assign(std::move(k), std::move(v));
  }
  return m;
}

Result<uint64_t> RecordReader::Format(std::string_view what, uint64_t newest) {
  COFFER_ASSIGN_OR_RETURN(uint64_t format, Varint());
  if (format == 0 || format > newest) {
    return Fail(ErrorCode::kDataLoss,
                std::string(what) + " record has format " + std::to_string(format) +
                    ", newer than this server reads (up to " + std::to_string(newest) + ")",
                Reason::kMalformedInput);
  }
  return format;
}

Status RecordReader::ExpectEnd() const {
  if (!AtEnd()) return Truncated("trailing bytes");
  return Ok();
}

}  // namespace coffer::domain
