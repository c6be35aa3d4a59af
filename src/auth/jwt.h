// JWT (JWS compact form) verification for OIDC federation: RS256 and ES256
// only (never "none" or HMAC algorithms), keys from a JWKS, and the registered
// claims iss / aud / exp / nbf / iat checked with a small leeway.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/signature.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::auth {

struct Jwk {
  std::string kid;
  std::string kty;  // "RSA" | "EC"
  std::string alg;  // may be empty
  crypto::RsaPublicKey rsa;
  crypto::EcPublicKey ec;
};

// Parses a JWKS document ({"keys":[...]}); keys of unsupported types are
// skipped. kInvalidArgument (kIdpCommunicationError) when it is not a JWKS.
Result<std::vector<Jwk>> ParseJwks(std::string_view json);

struct JwtClaims {
  std::string iss;
  std::string sub;
  std::vector<std::string> aud;
  std::optional<int64_t> exp, nbf, iat;  // epoch seconds
  // Every top-level claim as a string (strings as is, others as compact JSON),
  // for trust-policy condition keys such as <issuer-host>:sub, :aud, :repository.
  std::map<std::string, std::string> all;
};

struct Jwt {
  std::string alg;
  std::string kid;
  std::string signing_input;  // header.payload
  std::string signature;      // raw bytes
  JwtClaims claims;
};

// Splits and decodes a compact JWS. kInvalidArgument (kInvalidIdentityToken)
// when malformed, or when alg is not RS256/ES256.
Result<Jwt> ParseJwt(std::string_view token);

// True if `jwt` is signed by `key` (alg and key type must agree).
bool VerifyJwtSignature(const Jwt& jwt, const Jwk& key);

struct ClaimRules {
  std::string issuer;                  // must equal iss exactly
  std::vector<std::string> audiences;  // one of aud must be listed (empty: any)
  std::chrono::seconds leeway{60};
  std::chrono::seconds max_age{24 * 3600};  // iat not older than this
};

// Checks iss, aud, exp (required), nbf, iat against `now`.
// kUnauthenticated with kExpiredIdentityToken when expired, kInvalidIdentityToken otherwise.
Status ValidateClaims(const JwtClaims& claims, const ClaimRules& rules, util::SystemTime now);

}  // namespace coffer::auth
