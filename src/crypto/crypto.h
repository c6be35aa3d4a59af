// Cryptographic primitives over OpenSSL 3 (this module is the only includer of
// <openssl/...>): the CSPRNG, SHA-256/512, HMAC-SHA256, HKDF-SHA256, the AEADs
// AES-256-GCM (any IV length) and ChaCha20-Poly1305, and constant-time compare.
// Byte strings are std::string (binary); key material and plaintext that
// comes out of a decryption is SecretBytes. All functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::crypto {

using Digest256 = std::array<uint8_t, 32>;

// Fills `out` from OpenSSL's CSPRNG. A CSPRNG failure is an invariant
// violation and aborts (there is no safe way to continue without randomness).
void RandomFill(void* out, size_t size);
std::string RandomBytes(size_t size);
SecretBytes RandomSecret(size_t size);

Digest256 Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
std::array<uint8_t, 64> Sha512(std::string_view data);

// HMAC-SHA256(key, data).
Digest256 HmacSha256(std::string_view key, std::string_view data);

// HMAC-SHA256 under one fixed key, with the key's inner and outer pad states
// computed once: each Mac() then hashes only the message (two SHA-256
// compressions fewer than HmacSha256). For keys used on every request (the
// audit chain key, a cached SigV4 signing key). Zeroes its state when
// destroyed; thread-safe (Mac is const and copies the states).
class HmacSha256Key {
 public:
  explicit HmacSha256Key(std::string_view key);
  ~HmacSha256Key();
  HmacSha256Key(HmacSha256Key&&) noexcept;
  HmacSha256Key& operator=(HmacSha256Key&&) noexcept;
  HmacSha256Key(const HmacSha256Key&) = delete;
  HmacSha256Key& operator=(const HmacSha256Key&) = delete;

  Digest256 Mac(std::string_view data) const;
  // HMAC over the concatenation of `parts` (no copy into one buffer).
  Digest256 Mac(std::initializer_list<std::string_view> parts) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

inline std::string_view AsView(const Digest256& d) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

// HKDF-SHA256 (RFC 5869): `length` bytes of output keying material.
// kInvalidArgument if length is 0 or > 255*32.
Result<SecretBytes> HkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info,
                               size_t length);

inline constexpr size_t kAeadKeySize = 32;
inline constexpr size_t kAeadTagSize = 16;

// AES-256-GCM. `iv` may have any non-zero length (12 is standard; sops uses 32).
// Returns ciphertext || 16-byte tag. kInvalidArgument on a bad key or IV size.
Result<std::string> AesGcmSeal(const SecretBytes& key, std::string_view iv, std::string_view aad,
                               std::string_view plaintext);
// Verifies the tag and decrypts `sealed` = ciphertext || tag. kDataLoss
// (kCiphertextTampered) when authentication fails; nothing is released then.
Result<SecretBytes> AesGcmOpen(const SecretBytes& key, std::string_view iv, std::string_view aad,
                               std::string_view sealed);

// ChaCha20-Poly1305 (RFC 8439), 12-byte nonce. Same contracts as the AES-GCM pair.
Result<std::string> ChaChaPolySeal(const SecretBytes& key, std::string_view nonce,
                                   std::string_view aad, std::string_view plaintext);
Result<SecretBytes> ChaChaPolyOpen(const SecretBytes& key, std::string_view nonce,
                                   std::string_view aad, std::string_view sealed);

// Constant-time equality: time depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace coffer::crypto
