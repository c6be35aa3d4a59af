// X25519 (RFC 7748) Diffie-Hellman over OpenSSL's EVP_PKEY_X25519, for the
// age format's X25519 recipients. Part of crypto/ (the only OpenSSL user).
// Private keys and shared secrets are SecretBytes; public keys are plain
// 32-byte strings. All functions are thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::crypto {

inline constexpr size_t kX25519KeySize = 32;

struct X25519KeyPair {
  SecretBytes private_key;  // 32 bytes (the scalar as generated, before clamping)
  std::string public_key;   // 32 bytes: X25519(private_key, 9)
};

// A fresh key pair from the CSPRNG. A failure of OpenSSL here is an invariant
// violation and aborts, as RandomFill does.
X25519KeyPair X25519Generate();

// The public key X25519(private_key, 9). kInvalidArgument (kMalformedInput)
// if `private_key` is not 32 bytes.
Result<std::string> X25519PublicKey(const SecretBytes& private_key);

// The shared secret X25519(private_key, peer_public_key). kInvalidArgument
// (kMalformedInput) on a key that is not 32 bytes, and when the result is all
// zeros (the peer sent a low-order point: RFC 7748 section 6.1 says to abort).
Result<SecretBytes> X25519SharedSecret(const SecretBytes& private_key,
                                       std::string_view peer_public_key);

}  // namespace coffer::crypto
