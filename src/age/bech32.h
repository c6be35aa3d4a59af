// Bech32 (BIP-173, checksum constant 1, not Bech32m) as the age format uses it
// for `age1...` recipients and `AGE-SECRET-KEY-1...` identities: no 90-character
// limit, all-lower or all-upper case, checksum over the lower-cased HRP, 8-to-5
// bit conversion padded on encode and strict (no excess or non-zero padding) on
// decode. Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::age {

struct Bech32Data {
  std::string hrp;   // as written (case preserved), e.g. "age" or "AGE-SECRET-KEY-"
  SecretBytes data;  // the 8-bit payload (a secret for identities, so held as SecretBytes)
};

// Encodes `data` under `hrp`. The output is upper case when `hrp` is upper case,
// lower case otherwise. REQUIRES: `hrp` is non-empty, of printable ASCII
// (33..126), and not mixed case. The result holds `data` in encoded form:
// callers encoding a secret wipe it (util::SecureClear) when done.
std::string Bech32Encode(std::string_view hrp, std::string_view data);

// Decodes a Bech32 string. kInvalidArgument (kMalformedInput) on mixed case,
// a misplaced separator, a character outside the charset, a bad checksum or
// bad padding. The message never quotes the input (it may be a secret key).
Result<Bech32Data> Bech32Decode(std::string_view text);

}  // namespace coffer::age
