// ML-KEM-768 (FIPS 203), written here because Debian 12's OpenSSL 3.0 has no
// ML-KEM; the hash functions (SHA3-256, SHA3-512, SHAKE128, SHAKE256) are
// OpenSSL's. For the age format's post-quantum hybrid recipients
// (MLKEM768-X25519, age/internal/hpke.h).
//
// Keys are made from a 64-byte seed d || z (ML-KEM.KeyGen_internal); the
// decapsulation key is held expanded (2400 bytes, FIPS 203 section 7.1) in
// SecretBytes. Decapsulation does implicit rejection: a ciphertext that does
// not re-encrypt to itself gives the pseudorandom J(z || c), not an error. The
// code that touches secret values (the secret vector, the message, the
// re-encryption comparison and the choice of key) has no secret-dependent
// branch or table index. Thread-safe (pure functions).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::crypto {

inline constexpr size_t kMlKem768SeedSize = 64;  // d || z
inline constexpr size_t kMlKem768EncapsulationKeySize = 1184;
inline constexpr size_t kMlKem768DecapsulationKeySize = 2400;
inline constexpr size_t kMlKem768CiphertextSize = 1088;
inline constexpr size_t kMlKemSharedSecretSize = 32;
inline constexpr size_t kMlKemMessageSize = 32;  // the Encaps randomness m

struct MlKem768KeyPair {
  SecretBytes decapsulation_key;  // 2400 bytes: dk_pke || ek || H(ek) || z
  std::string encapsulation_key;  // 1184 bytes
};

struct MlKemEncapsulation {
  std::string ciphertext;     // 1088 bytes
  SecretBytes shared_secret;  // 32 bytes
};

// ML-KEM.KeyGen_internal(d, z) with seed = d || z. kInvalidArgument
// (kMalformedInput) if `seed` is not 64 bytes.
Result<MlKem768KeyPair> MlKem768KeyGen(const SecretBytes& seed);

// ML-KEM.Encaps with m from the CSPRNG. kInvalidArgument (kMalformedInput)
// when `encapsulation_key` fails the FIPS 203 section 7.2 checks (length
// 1184; every 12-bit coefficient below q).
Result<MlKemEncapsulation> MlKem768Encapsulate(std::string_view encapsulation_key);

// ML-KEM.Encaps_internal(ek, m): the same with the 32-byte randomness given
// (known-answer tests; the hybrid KEM's test vectors). Same checks, and
// kInvalidArgument if `m` is not 32 bytes.
Result<MlKemEncapsulation> MlKem768EncapsulateWith(std::string_view encapsulation_key,
                                                   const SecretBytes& m);

// ML-KEM.Decaps. kInvalidArgument (kMalformedInput) when `ciphertext` is not
// 1088 bytes or `decapsulation_key` fails the section 7.3 checks (length 2400;
// the stored H(ek) matches ek). Any other ciphertext gives a shared secret.
Result<SecretBytes> MlKem768Decapsulate(const SecretBytes& decapsulation_key,
                                        std::string_view ciphertext);

// The SHA-3 functions, for the hybrid KEM's seed expansion and combiner.
// SHA3-256 over the concatenation of `parts`.
SecretBytes Sha3_256(std::initializer_list<std::string_view> parts);
// SHAKE128 / SHAKE256 of `input` squeezed to `length` bytes.
SecretBytes Shake128(std::string_view input, size_t length);
SecretBytes Shake256(std::string_view input, size_t length);

}  // namespace coffer::crypto
