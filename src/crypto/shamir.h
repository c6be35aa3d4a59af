// Shamir's secret sharing over GF(2^8), as Vault splits its root key: each
// byte of the secret is the constant term of its own random polynomial of
// degree threshold-1, and a share is that polynomial evaluated at one x for
// every byte, followed by the x itself (so a share is secret.size() + 1 bytes
// long, Vault's layout). The field is GF(2^8) with AES's polynomial
// x^8 + x^4 + x^3 + x + 1, and its arithmetic runs in constant time (no
// tables indexed by secret bytes). Coefficients and x values come from the
// CSPRNG. Thread-safe (pure functions).
#pragma once

#include <span>
#include <vector>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::crypto {

inline constexpr int kMaxShamirShares = 255;

// Splits `secret` (1 byte or more) into `shares` shares, any `threshold` of
// which give it back. REQUIRES nothing of the arguments: kInvalidArgument
// (kValidation) unless 2 <= threshold <= shares <= 255 and the secret is not
// empty.
Result<std::vector<SecretBytes>> ShamirSplit(const SecretBytes& secret, int shares, int threshold);

// Recombines shares made by ShamirSplit. kInvalidArgument (kValidation) for
// fewer than two shares, shares of different or too-short lengths, or two
// shares with the same x. Fewer shares than the threshold, or a wrong share,
// give a wrong secret, not an error: the caller must verify what it gets back
// (the unseal flow checks the root key against its stored check value).
Result<SecretBytes> ShamirCombine(std::span<const SecretBytes> shares);

}  // namespace coffer::crypto
