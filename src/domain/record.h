// The one binary record codec of the domain's storage records: unsigned
// varints (LEB128), zigzag signed varints, fixed little-endian u64, bools,
// length-prefixed strings and string maps. Every record starts with its format
// number (a varint: PutFormat / Format), which a writer bumps whenever the
// layout changes; a reader decodes every format it knows and refuses a newer
// one (never misreads it). The codec adds no other framing.
//
// RecordReader validates everything it reads (storage contents are input):
// truncation, overlong varints and bad bools return kDataLoss.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "util/result.h"

namespace coffer::domain {

class RecordWriter {
 public:
  // The record's format number; the first field of every record.
  void PutFormat(uint64_t format) { PutVarint(format); }
  void PutVarint(uint64_t v);
  // Zigzag-encoded, so small negative numbers stay small.
  void PutSignedVarint(int64_t v);
  // 8 bytes, little-endian.
  void PutU64(uint64_t v);
  void PutBool(bool v);
  // Varint length, then the bytes.
  void PutString(std::string_view s);
  // Varint count, then key/value strings in key order.
  void PutStringMap(const std::map<std::string, std::string, std::less<>>& m);

  const std::string& data() const { return out_; }
  std::string Release() && { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what RecordWriter wrote, in the same order. Errors: kDataLoss
// (Reason::kMalformedInput) when the input ends early or is malformed.
class RecordReader {
 public:
  explicit RecordReader(std::string_view data) : data_(data) {}

  Result<uint64_t> Varint();
  Result<int64_t> SignedVarint();
  Result<uint64_t> U64();
  Result<bool> Bool();
  Result<std::string> String();
  Result<std::map<std::string, std::string, std::less<>>> StringMap();

  // Reads the record's format number (its first field). kDataLoss
  // (Reason::kMalformedInput) when it is 0 or above `newest`, the newest
  // format this server writes: "<what> record has format N, newer than this
  // server reads (up to M)", so a record from a newer server is refused, not
  // misread.
  Result<uint64_t> Format(std::string_view what, uint64_t newest);

  bool AtEnd() const { return pos_ == data_.size(); }
  // kDataLoss if bytes are left over.
  Status ExpectEnd() const;

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace coffer::domain
