#include "crypto/shamir.h"

#include <cstdint>
#include <string>

#include "crypto/crypto.h"

namespace coffer::crypto {
namespace {

// a * b in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1, without branches or
// lookups on the operands.
uint8_t Mul(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  for (int i = 0; i < 8; ++i) {
    product ^= static_cast<uint8_t>(-(b & 1) & a);
    uint8_t carry = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (carry & 0x1B));
    b >>= 1;
  }
  return product;
}

// a^-1 = a^254 (a != 0), by a fixed chain of squarings and multiplications.
uint8_t Inverse(uint8_t a) {
  uint8_t result = 1;
  uint8_t power = a;
  for (int bit = 0; bit < 8; ++bit) {
    // 254 = 0b11111110: every bit but the lowest.
    uint8_t mask = static_cast<uint8_t>(-static_cast<uint8_t>((254 >> bit) & 1));
    uint8_t multiplied = Mul(result, power);
    result = static_cast<uint8_t>((multiplied & mask) | (result & ~mask));
    power = Mul(power, power);
  }
  return result;
}

std::unexpected<Error> Invalid(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kValidation);
}

}  // namespace

Result<std::vector<SecretBytes>> ShamirSplit(const SecretBytes& secret, int shares,
                                             int threshold) {
  if (threshold < 2 || shares < threshold || shares > kMaxShamirShares) {
    return Invalid("Shamir split needs 2 <= threshold <= shares <= 255, got threshold " +
                   std::to_string(threshold) + " of " + std::to_string(shares) + " shares.");
  }
  if (secret.empty()) return Invalid("Shamir split of an empty secret.");

  // Distinct non-zero x values: a random permutation of 1..255, first `shares`.
  uint8_t xs[kMaxShamirShares];
  for (int i = 0; i < kMaxShamirShares; ++i) xs[i] = static_cast<uint8_t>(i + 1);
  std::string random = RandomBytes(kMaxShamirShares * 2);
  for (int i = kMaxShamirShares - 1; i > 0; --i) {
    uint16_t r = static_cast<uint16_t>((static_cast<uint8_t>(random[2 * i]) << 8) |
                                       static_cast<uint8_t>(random[2 * i + 1]));
    int j = r % (i + 1);  // bias below 1% for a public value; x values are not secret
    std::swap(xs[i], xs[j]);
  }

  const size_t n = secret.size();
  std::vector<SecretBytes> out;
  out.reserve(static_cast<size_t>(shares));
  for (int s = 0; s < shares; ++s) {
    SecretBytes share(n + 1);
    share.MutableData()[n] = xs[s];
    out.push_back(std::move(share));
  }
  // One polynomial per byte: coefficients[0] is the secret byte, the others random.
  SecretBytes coefficients(static_cast<size_t>(threshold));
  for (size_t b = 0; b < n; ++b) {
    SecretBytes fresh = RandomSecret(static_cast<size_t>(threshold - 1));
    coefficients.MutableData()[0] = secret.bytes()[b];
    for (int k = 1; k < threshold; ++k) coefficients.MutableData()[k] = fresh.bytes()[k - 1];
    for (int s = 0; s < shares; ++s) {
      // Horner's rule from the highest coefficient.
      uint8_t y = 0;
      for (int k = threshold - 1; k >= 0; --k) {
        y = static_cast<uint8_t>(Mul(y, xs[s]) ^ coefficients.bytes()[k]);
      }
      out[static_cast<size_t>(s)].MutableData()[b] = y;
    }
  }
  return out;
}

Result<SecretBytes> ShamirCombine(std::span<const SecretBytes> shares) {
  if (shares.size() < 2) return Invalid("At least two shares are needed to recombine a secret.");
  if (shares.size() > kMaxShamirShares) return Invalid("More than 255 shares.");
  const size_t length = shares[0].size();
  if (length < 2) return Invalid("A share is too short.");
  for (const SecretBytes& share : shares) {
    if (share.size() != length) return Invalid("The shares have different lengths.");
  }
  const size_t n = length - 1;
  for (size_t i = 0; i < shares.size(); ++i) {
    if (shares[i].bytes()[n] == 0) return Invalid("A share has the x value 0.");
    for (size_t j = 0; j < i; ++j) {
      if (shares[i].bytes()[n] == shares[j].bytes()[n]) {
        return Invalid("Two shares are the same share (same x value).");
      }
    }
  }
  // Lagrange interpolation at x = 0: secret = sum_i y_i * prod_{j!=i} x_j / (x_j - x_i),
  // where subtraction is XOR in GF(2^8).
  SecretBytes secret(n);
  for (size_t i = 0; i < shares.size(); ++i) {
    uint8_t xi = shares[i].bytes()[n];
    uint8_t basis = 1;
    for (size_t j = 0; j < shares.size(); ++j) {
      if (j == i) continue;
      uint8_t xj = shares[j].bytes()[n];
      basis = Mul(basis, Mul(xj, Inverse(static_cast<uint8_t>(xj ^ xi))));
    }
    for (size_t b = 0; b < n; ++b) {
      secret.MutableData()[b] ^= Mul(shares[i].bytes()[b], basis);
    }
  }
  return secret;
}

}  // namespace coffer::crypto
