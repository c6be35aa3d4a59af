// HPKE (RFC 9180) base mode with the MLKEM768-X25519 KEM (X-Wing, KEM id
// 0x647a, draft-ietf-hpke-pq), HKDF-SHA256 and ChaCha20-Poly1305: the suite
// of age's "mlkem768x25519" recipient stanza (C2SP age.md). Single-shot
// Seal/Open (sequence number 0) is all age needs.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::age::internal {

inline constexpr size_t kHybridSeedSize = 32;         // the private key (the identity's payload)
inline constexpr size_t kHybridPublicKeySize = 1216;  // ML-KEM-768 ek || X25519 point
inline constexpr size_t kHybridEncSize = 1120;        // ML-KEM-768 ciphertext || X25519 point
inline constexpr size_t kHybridRandomnessSize = 64;   // Encaps: m || X25519 ephemeral scalar

// A private key expanded from its 32-byte seed: SHAKE256(seed, 96) gives the
// ML-KEM-768 seed d || z (64 bytes) and the X25519 scalar (32 bytes).
struct HybridPrivateKey {
  SecretBytes mlkem_decapsulation_key;  // 2400 bytes
  SecretBytes x25519_private_key;       // 32 bytes
  std::string public_key;               // 1216 bytes
};

// kInvalidArgument (kMalformedInput) if `seed` is not 32 bytes.
Result<HybridPrivateKey> HybridKeyFromSeed(const SecretBytes& seed);

// kInvalidArgument (kMalformedInput) unless `public_key` is 1216 bytes whose
// ML-KEM part passes FIPS 203's encapsulation key checks.
Status CheckHybridPublicKey(std::string_view public_key);

struct HpkeSealed {
  std::string enc;         // 1120 bytes
  std::string ciphertext;  // plaintext size + 16
};

// SealBase(pkR, info, aad, pt), the KEM's randomness from the CSPRNG.
Result<HpkeSealed> HpkeSealBase(std::string_view public_key, std::string_view info,
                                std::string_view aad, std::string_view plaintext);
// The same with the 64 bytes of KEM randomness given (known-answer tests).
Result<HpkeSealed> HpkeSealBaseWith(std::string_view public_key, std::string_view info,
                                    std::string_view aad, std::string_view plaintext,
                                    const SecretBytes& randomness);

// OpenBase(enc, skR, info, aad, ct). Errors: kInvalidArgument
// (kCiphertextMalformed) when `enc` is not 1120 bytes or its X25519 part is a
// low-order point (all-zero shared secret); kDataLoss (kCiphertextTampered)
// when the AEAD does not open (the wrong key, since ML-KEM rejects implicitly,
// or a changed ciphertext).
Result<SecretBytes> HpkeOpenBase(const HybridPrivateKey& key, std::string_view enc,
                                 std::string_view info, std::string_view aad,
                                 std::string_view ciphertext);

// The pieces, for the known-answer tests.
struct HybridEncapsulation {
  std::string enc;
  SecretBytes shared_secret;
};
Result<HybridEncapsulation> HybridEncapsulateWith(std::string_view public_key,
                                                  const SecretBytes& randomness);
struct HpkeKeys {
  SecretBytes key;         // 32 bytes
  std::string base_nonce;  // 12 bytes
};
HpkeKeys HpkeKeySchedule(const SecretBytes& shared_secret, std::string_view info);

}  // namespace coffer::age::internal
