// A compact binary record codec for the domain's storage records: unsigned
// varints (LEB128), zigzag signed varints, fixed little-endian u64, bools,
// length-prefixed strings and string maps. A record starts with the writer's
// own format/version fields; the codec adds no framing of its own.
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

  bool AtEnd() const { return pos_ == data_.size(); }
  // kDataLoss if bytes are left over.
  Status ExpectEnd() const;

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace coffer::domain
