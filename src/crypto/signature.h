// Public-key signatures for JWT verification (RS256, ES256) and, for test
// issuers and tools, key generation and signing. Part of crypto/ (the only
// OpenSSL user). Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace coffer::crypto {

// Big-endian unsigned integers, as JWK's base64url "n"/"e" and "x"/"y" decode to.
struct RsaPublicKey {
  std::string n;
  std::string e;
};
struct EcPublicKey {  // NIST P-256
  std::string x;  // 32 bytes
  std::string y;  // 32 bytes
};

// RSASSA-PKCS1-v1_5 with SHA-256 over `data`. False on any failure (bad key,
// bad signature); keys shorter than 2048 bits are refused.
bool VerifyRs256(const RsaPublicKey& key, std::string_view data, std::string_view signature);
// ECDSA P-256 with SHA-256; `signature` is JWS's raw r||s (64 bytes).
bool VerifyEs256(const EcPublicKey& key, std::string_view data, std::string_view signature);

// A private key that signs (RS256 or ES256). Move-only.
class SigningKey {
 public:
  static Result<SigningKey> GenerateRsa(int bits);
  static Result<SigningKey> GenerateEcP256();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  ~SigningKey();

  bool is_rsa() const { return is_rsa_; }
  // RS256 signature, or ES256 raw r||s.
  Result<std::string> Sign(std::string_view data) const;
  RsaPublicKey rsa_public() const;  // REQUIRES: is_rsa()
  EcPublicKey ec_public() const;    // REQUIRES: !is_rsa()

 private:
  struct Impl;
  SigningKey(std::unique_ptr<Impl> impl, bool is_rsa);
  std::unique_ptr<Impl> impl_;
  bool is_rsa_ = false;
};

}  // namespace coffer::crypto
