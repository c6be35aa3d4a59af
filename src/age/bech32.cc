#include "age/bech32.h"

#include <cstdint>
#include <string>

#include "util/check.h"

namespace coffer::age {
namespace {

constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
constexpr size_t kChecksumSize = 6;

uint32_t Polymod(std::string_view values) {
  static constexpr uint32_t kGenerator[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd,
                                             0x2a1462b3};
  uint32_t chk = 1;
  for (char c : values) {
    uint32_t top = chk >> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ static_cast<uint8_t>(c);
    for (int i = 0; i < 5; ++i) {
      if ((top >> i) & 1) chk ^= kGenerator[i];
    }
  }
  return chk;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
char Upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

// The HRP expanded for the checksum (BIP-173 hrp_expand), lower-cased.
std::string HrpExpand(std::string_view hrp) {
  std::string out;
  out.reserve(hrp.size() * 2 + 1);
  for (char c : hrp) out.push_back(static_cast<char>(static_cast<uint8_t>(Lower(c)) >> 5));
  out.push_back(0);
  for (char c : hrp) out.push_back(static_cast<char>(static_cast<uint8_t>(Lower(c)) & 31));
  return out;
}

// Regroups bits; on decode (`pad` false) excess or non-zero padding fails.
bool ConvertBits(std::string_view in, int from, int to, bool pad, std::string& out) {
  uint32_t acc = 0;
  int bits = 0;
  const uint32_t max = (1u << to) - 1;
  for (char c : in) {
    uint32_t v = static_cast<uint8_t>(c);
    if ((v >> from) != 0) return false;
    acc = ((acc << from) | v) & 0xffff;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push_back(static_cast<char>((acc >> bits) & max));
    }
  }
  if (pad) {
    if (bits > 0) out.push_back(static_cast<char>((acc << (to - bits)) & max));
  } else if (bits >= from || ((acc << (to - bits)) & max) != 0) {
    return false;
  }
  return true;
}

bool IsMixedCase(std::string_view s) {
  bool has_lower = false;
  bool has_upper = false;
  for (char c : s) {
    has_lower |= c >= 'a' && c <= 'z';
    has_upper |= c >= 'A' && c <= 'Z';
  }
  return has_lower && has_upper;
}

std::unexpected<Error> Malformed(std::string why) {
  return Fail(ErrorCode::kInvalidArgument, "malformed Bech32 string: " + why,
              Reason::kMalformedInput);
}

}  // namespace

std::string Bech32Encode(std::string_view hrp, std::string_view data) {
  COFFER_CHECK(!hrp.empty() && !IsMixedCase(hrp));
  bool upper = false;
  for (char c : hrp) {
    COFFER_CHECK(c >= 33 && c <= 126);
    upper |= c >= 'A' && c <= 'Z';
  }
  std::string values;
  COFFER_CHECK(ConvertBits(data, 8, 5, true, values));
  std::string check_input = HrpExpand(hrp) + values + std::string(kChecksumSize, '\0');
  uint32_t mod = Polymod(check_input) ^ 1;
  util::SecureClear(check_input);
  std::string out;
  out.reserve(hrp.size() + 1 + values.size() + kChecksumSize);
  for (char c : hrp) out.push_back(Lower(c));
  out.push_back('1');
  for (char v : values) out.push_back(kCharset[static_cast<uint8_t>(v)]);
  for (size_t i = 0; i < kChecksumSize; ++i) out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  util::SecureClear(values);
  if (upper) {
    for (char& c : out) c = Upper(c);
  }
  return out;
}

Result<Bech32Data> Bech32Decode(std::string_view text) {
  if (IsMixedCase(text)) return Malformed("mixed case");
  size_t pos = text.rfind('1');
  if (pos == std::string_view::npos || pos < 1 || pos + 1 + kChecksumSize > text.size()) {
    return Malformed("separator at an invalid position");
  }
  std::string_view hrp = text.substr(0, pos);
  for (char c : hrp) {
    if (c < 33 || c > 126) return Malformed("invalid character in the human-readable part");
  }
  std::string values;
  values.reserve(text.size() - pos - 1);
  for (char c : text.substr(pos + 1)) {
    size_t v = kCharset.find(Lower(c));
    if (v == std::string_view::npos) {
      util::SecureClear(values);
      return Malformed("invalid character in the data part");
    }
    values.push_back(static_cast<char>(v));
  }
  std::string check_input = HrpExpand(hrp) + values;
  bool checksum_ok = Polymod(check_input) == 1;
  util::SecureClear(check_input);
  if (!checksum_ok) {
    util::SecureClear(values);
    return Malformed("invalid checksum");
  }
  std::string bytes;
  bool ok = ConvertBits(std::string_view(values).substr(0, values.size() - kChecksumSize), 5, 8,
                        false, bytes);
  util::SecureClear(values);
  if (!ok) {
    util::SecureClear(bytes);
    return Malformed("invalid padding");
  }
  Bech32Data out{std::string(hrp), SecretBytes(bytes)};
  util::SecureClear(bytes);
  return out;
}

}  // namespace coffer::age
