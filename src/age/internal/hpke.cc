#include "age/internal/hpke.h"

#include <string>

#include "crypto/crypto.h"
#include "crypto/mlkem.h"
#include "crypto/x25519.h"

namespace coffer::age::internal {
namespace {

// suite_id = "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id,
// 2).
constexpr char kSuiteIdBytes[] = {'H', 'P', 'K', 'E', 0x64, 0x7a, 0x00, 0x01, 0x00, 0x03};
constexpr std::string_view kSuiteId(kSuiteIdBytes, sizeof(kSuiteIdBytes));
constexpr std::string_view kVersionLabel = "HPKE-v1";
// X-Wing's combiner label: SHA3-256(ss_M || ss_X || ct_X || pk_X || label).
constexpr std::string_view kXWingLabel = "\\.//^\\";
constexpr size_t kNonceSize = 12;

// A Digest256 holding a secret, moved into SecretBytes and the array wiped.
SecretBytes Secret(crypto::Digest256& d, size_t size = 32) {
  SecretBytes out(crypto::AsView(d).substr(0, size));
  util::SecureZero(d.data(), d.size());
  return out;
}

// LabeledExtract(salt, label, ikm) = HKDF-Extract(salt, "HPKE-v1" || suite_id
// || label || ikm). HMAC pads an empty salt with zeros, as HKDF's default salt
// is.
SecretBytes LabeledExtract(std::string_view salt, std::string_view label, std::string_view ikm) {
  std::string input;
  input.append(kVersionLabel).append(kSuiteId).append(label).append(ikm);
  crypto::Digest256 prk = crypto::HmacSha256(salt, input);
  util::SecureClear(input);
  return Secret(prk);
}

// LabeledExpand(prk, label, info, L) for L <= 32: one HKDF-Expand block.
SecretBytes LabeledExpand(const SecretBytes& prk, std::string_view label, std::string_view info,
                          size_t length) {
  std::string input;
  input.push_back(static_cast<char>(length >> 8));
  input.push_back(static_cast<char>(length & 0xff));
  input.append(kVersionLabel).append(kSuiteId).append(label).append(info);
  input.push_back('\x01');
  crypto::Digest256 t = crypto::HmacSha256(prk.Reveal(), input);
  return Secret(t, length);
}

std::unexpected<Error> BadEnc(std::string why) {
  return Fail(ErrorCode::kInvalidArgument, "malformed MLKEM768-X25519 encapsulation: " + why,
              Reason::kCiphertextMalformed);
}

}  // namespace

Result<HybridPrivateKey> HybridKeyFromSeed(const SecretBytes& seed) {
  if (seed.size() != kHybridSeedSize) {
    return Fail(ErrorCode::kInvalidArgument, "an MLKEM768-X25519 private key must be 32 bytes",
                Reason::kMalformedInput);
  }
  SecretBytes expanded = crypto::Shake256(seed.Reveal(), 96);
  COFFER_ASSIGN_OR_RETURN(crypto::MlKem768KeyPair mlkem,
                          crypto::MlKem768KeyGen(SecretBytes(expanded.Reveal().substr(0, 64))));
  SecretBytes x25519(expanded.Reveal().substr(64, 32));
  COFFER_ASSIGN_OR_RETURN(std::string x25519_public, crypto::X25519PublicKey(x25519));
  return HybridPrivateKey{std::move(mlkem.decapsulation_key), std::move(x25519),
                          mlkem.encapsulation_key + x25519_public};
}

Status CheckHybridPublicKey(std::string_view public_key) {
  if (public_key.size() != kHybridPublicKeySize) {
    return Fail(ErrorCode::kInvalidArgument, "an MLKEM768-X25519 public key must be 1216 bytes",
                Reason::kMalformedInput);
  }
  // The encapsulation key checks run inside encapsulation; a throw-away one
  // checks them here.
  auto probe =
      crypto::MlKem768Encapsulate(public_key.substr(0, crypto::kMlKem768EncapsulationKeySize));
  if (!probe.has_value()) return Fail(probe.error());
  return Ok();
}

Result<HybridEncapsulation> HybridEncapsulateWith(std::string_view public_key,
                                                  const SecretBytes& randomness) {
  if (public_key.size() != kHybridPublicKeySize || randomness.size() != kHybridRandomnessSize) {
    return Fail(ErrorCode::kInvalidArgument,
                "MLKEM768-X25519 needs a 1216-byte public key and 64 bytes of "
                "randomness",
                Reason::kMalformedInput);
  }
  std::string_view ek = public_key.substr(0, crypto::kMlKem768EncapsulationKeySize);
  std::string_view pk_x = public_key.substr(crypto::kMlKem768EncapsulationKeySize);
  COFFER_ASSIGN_OR_RETURN(
      crypto::MlKemEncapsulation mlkem,
      crypto::MlKem768EncapsulateWith(ek, SecretBytes(randomness.Reveal().substr(0, 32))));
  SecretBytes ephemeral(randomness.Reveal().substr(32, 32));
  COFFER_ASSIGN_OR_RETURN(std::string ct_x, crypto::X25519PublicKey(ephemeral));
  COFFER_ASSIGN_OR_RETURN(SecretBytes ss_x, crypto::X25519SharedSecret(ephemeral, pk_x));
  SecretBytes shared =
      crypto::Sha3_256({mlkem.shared_secret.Reveal(), ss_x.Reveal(), ct_x, pk_x, kXWingLabel});
  return HybridEncapsulation{mlkem.ciphertext + ct_x, std::move(shared)};
}

HpkeKeys HpkeKeySchedule(const SecretBytes& shared_secret, std::string_view info) {
  SecretBytes psk_id_hash = LabeledExtract("", "psk_id_hash", "");
  SecretBytes info_hash = LabeledExtract("", "info_hash", info);
  std::string context(1, '\0');  // mode_base
  context.append(psk_id_hash.Reveal()).append(info_hash.Reveal());
  SecretBytes secret = LabeledExtract(shared_secret.Reveal(), "secret", "");
  SecretBytes nonce = LabeledExpand(secret, "base_nonce", context, kNonceSize);
  return HpkeKeys{LabeledExpand(secret, "key", context, crypto::kAeadKeySize),
                  std::string(nonce.Reveal())};
}

Result<HpkeSealed> HpkeSealBaseWith(std::string_view public_key, std::string_view info,
                                    std::string_view aad, std::string_view plaintext,
                                    const SecretBytes& randomness) {
  COFFER_ASSIGN_OR_RETURN(HybridEncapsulation kem, HybridEncapsulateWith(public_key, randomness));
  HpkeKeys keys = HpkeKeySchedule(kem.shared_secret, info);
  COFFER_ASSIGN_OR_RETURN(std::string ciphertext,
                          crypto::ChaChaPolySeal(keys.key, keys.base_nonce, aad, plaintext));
  return HpkeSealed{std::move(kem.enc), std::move(ciphertext)};
}

Result<HpkeSealed> HpkeSealBase(std::string_view public_key, std::string_view info,
                                std::string_view aad, std::string_view plaintext) {
  return HpkeSealBaseWith(public_key, info, aad, plaintext,
                          crypto::RandomSecret(kHybridRandomnessSize));
}

Result<SecretBytes> HpkeOpenBase(const HybridPrivateKey& key, std::string_view enc,
                                 std::string_view info, std::string_view aad,
                                 std::string_view ciphertext) {
  if (enc.size() != kHybridEncSize) return BadEnc("it must be 1120 bytes");
  std::string_view ct_m = enc.substr(0, crypto::kMlKem768CiphertextSize);
  std::string_view ct_x = enc.substr(crypto::kMlKem768CiphertextSize);
  COFFER_ASSIGN_OR_RETURN(SecretBytes ss_m,
                          crypto::MlKem768Decapsulate(key.mlkem_decapsulation_key, ct_m));
  auto ss_x = crypto::X25519SharedSecret(key.x25519_private_key, ct_x);
  if (!ss_x.has_value()) return BadEnc("its X25519 share is a low-order point");
  std::string_view pk_x =
      std::string_view(key.public_key).substr(crypto::kMlKem768EncapsulationKeySize);
  SecretBytes shared = crypto::Sha3_256({ss_m.Reveal(), ss_x->Reveal(), ct_x, pk_x, kXWingLabel});
  HpkeKeys keys = HpkeKeySchedule(shared, info);
  return crypto::ChaChaPolyOpen(keys.key, keys.base_nonce, aad, ciphertext);
}

}  // namespace coffer::age::internal
