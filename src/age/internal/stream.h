// The age payload: STREAM (ChaCha20-Poly1305 over 64 KiB chunks, nonce = 11-byte
// big-endian chunk counter || last-chunk flag) under
// HKDF-SHA256(ikm = file key, salt = 16-byte payload nonce, info = "payload").
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::age::internal {

inline constexpr size_t kChunkSize = 64 * 1024;
inline constexpr size_t kPayloadNonceSize = 16;

// nonce (16 random bytes) || the sealed chunks of `plaintext`.
Result<std::string> SealPayload(const SecretBytes& file_key, std::string_view plaintext);

// The plaintext of `payload` (nonce || chunks). kInvalidArgument
// (kCiphertextMalformed) on a short nonce; kDataLoss (kCiphertextTampered) when
// a chunk fails authentication (which is also how a missing final chunk or data
// after it shows); kDataLoss (kCiphertextMalformed) on a truncated chunk or an
// empty final chunk after others. Nothing is released on error.
Result<SecretBytes> OpenPayload(const SecretBytes& file_key, std::string_view payload);

}  // namespace coffer::age::internal
