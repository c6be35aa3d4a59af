// scrypt (RFC 7914) over OpenSSL 3's KDF, for age's passphrase recipients.
// Thread-safe (pure function).
#pragma once

#include <cstddef>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::crypto {

// The largest work factor accepted (N = 2^22 needs about 4 GiB, as age's limit).
inline constexpr int kMaxScryptLogN = 22;

// scrypt(passphrase, salt, N = 2^log_n, r = 8, p = 1), `length` bytes. The
// memory limit is set from N, so every log_n up to kMaxScryptLogN is
// computed. kInvalidArgument (kValidation) for log_n outside 1..kMaxScryptLogN
// (checked before any work) or length 0; kResourceExhausted when the memory
// cannot be had.
Result<SecretBytes> Scrypt(const SecretBytes& passphrase, std::string_view salt, int log_n,
                           size_t length);

}  // namespace coffer::crypto
