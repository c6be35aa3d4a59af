#include "crypto/mlkem.h"

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "crypto/crypto.h"
#include "util/check.h"

namespace coffer::crypto {
namespace {

// FIPS 203 parameters for ML-KEM-768.
constexpr int kN = 256;
constexpr int kK = 3;
constexpr uint32_t kQ = 3329;
constexpr int kDu = 10;
constexpr int kDv = 4;
constexpr size_t kPolyBytes = 384;             // ByteEncode12 of one polynomial
constexpr size_t kVecBytes = kPolyBytes * kK;  // 1152: dk_pke, and ek without rho
constexpr size_t kC1Bytes = 32 * kDu;          // 320 per polynomial of u
constexpr size_t kC2Bytes = 32 * kDv;          // 128
constexpr size_t kCbdBytes = 64 * 2;           // PRF output for eta = 2
constexpr uint16_t kInverse128 = 3303;         // 128^-1 mod q
constexpr uint64_t kBarrettMultiplier = 5039;  // floor(2^24 / q)
constexpr int kBarrettShift = 24;

static_assert(kVecBytes + 32 == kMlKem768EncapsulationKeySize);
static_assert(kVecBytes + kMlKem768EncapsulationKeySize + 64 == kMlKem768DecapsulationKeySize);
static_assert(kC1Bytes * kK + kC2Bytes == kMlKem768CiphertextSize);

using Poly = std::array<uint16_t, kN>;  // coefficients in [0, q)
using Vec = std::array<Poly, kK>;
using Matrix = std::array<Vec, kK>;

// Zeroes an object holding secret values when the scope ends.
template <typename T>
class WipeOnExit {
 public:
  explicit WipeOnExit(T& v) : v_(v) {}
  ~WipeOnExit() { util::SecureZero(&v_, sizeof(v_)); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  T& v_;
};

// ---- Arithmetic modulo q, branch-free ----

// a mod q for a < 2q.
inline uint16_t ReduceOnce(uint32_t a) {
  uint32_t x = a - kQ;
  x += kQ & (0u - (x >> 31));
  return static_cast<uint16_t>(x);
}

// x mod q for x < 2^24. The Barrett quotient is floor(x/q) or one less
// (the multiplier's error times x is below q * 2^24), so one conditional
// subtraction finishes.
inline uint16_t Reduce(uint32_t x) {
  uint32_t quotient = static_cast<uint32_t>((uint64_t{x} * kBarrettMultiplier) >> kBarrettShift);
  return ReduceOnce(x - quotient * kQ);
}

inline uint16_t Add(uint16_t a, uint16_t b) { return ReduceOnce(uint32_t{a} + b); }
inline uint16_t Sub(uint16_t a, uint16_t b) { return ReduceOnce(uint32_t{a} + kQ - b); }
inline uint16_t Mul(uint16_t a, uint16_t b) { return Reduce(uint32_t{a} * b); }

// Compress_d(x) = round(2^d * x / q) mod 2^d, with the division done as a
// Barrett quotient (remainder in [0, 2q)) and the rounding by masks.
inline uint16_t Compress(uint16_t x, int d) {
  uint32_t dividend = uint32_t{x} << d;
  uint32_t quotient =
      static_cast<uint32_t>((uint64_t{dividend} * kBarrettMultiplier) >> kBarrettShift);
  uint32_t remainder = dividend - quotient * kQ;
  quotient += ((kQ / 2) - remainder) >> 31;       // remainder > q/2
  quotient += ((kQ + kQ / 2) - remainder) >> 31;  // remainder > 3q/2
  return static_cast<uint16_t>(quotient & ((1u << d) - 1));
}

// Decompress_d(y) = round(q * y / 2^d).
inline uint16_t Decompress(uint16_t y, int d) {
  return static_cast<uint16_t>((uint32_t{y} * kQ + (1u << (d - 1))) >> d);
}

// ---- NTT ----

constexpr uint32_t PowMod(uint32_t base, uint32_t exponent) {
  uint32_t result = 1;
  for (uint32_t i = 0; i < exponent; ++i) result = result * base % kQ;
  return result;
}

constexpr uint32_t BitRev7(uint32_t i) {
  uint32_t r = 0;
  for (int b = 0; b < 7; ++b) r |= ((i >> b) & 1) << (6 - b);
  return r;
}

struct NttTables {
  std::array<uint16_t, 128> zetas{};   // 17^BitRev7(i)
  std::array<uint16_t, 128> gammas{};  // 17^(2 BitRev7(i) + 1)
};

constexpr NttTables MakeNttTables() {
  NttTables t;
  for (uint32_t i = 0; i < 128; ++i) {
    t.zetas[i] = static_cast<uint16_t>(PowMod(17, BitRev7(i)));
    t.gammas[i] = static_cast<uint16_t>(PowMod(17, 2 * BitRev7(i) + 1));
  }
  return t;
}

constexpr NttTables kTables = MakeNttTables();
static_assert(kTables.zetas[1] == 1729 && kTables.gammas[0] == 17);

// Algorithm 9. The table index is the loop position, never a value.
void Ntt(Poly& f) {
  int k = 1;
  for (int len = 128; len >= 2; len /= 2) {
    for (int start = 0; start < kN; start += 2 * len) {
      uint16_t zeta = kTables.zetas[k++];
      for (int j = start; j < start + len; ++j) {
        uint16_t t = Mul(zeta, f[j + len]);
        f[j + len] = Sub(f[j], t);
        f[j] = Add(f[j], t);
      }
    }
  }
}

// Algorithm 10.
void InverseNtt(Poly& f) {
  int k = 127;
  for (int len = 2; len <= 128; len *= 2) {
    for (int start = 0; start < kN; start += 2 * len) {
      uint16_t zeta = kTables.zetas[k--];
      for (int j = start; j < start + len; ++j) {
        uint16_t t = f[j];
        f[j] = Add(t, f[j + len]);
        f[j + len] = Mul(zeta, Sub(f[j + len], t));
      }
    }
  }
  for (uint16_t& c : f) c = Mul(c, kInverse128);
}

// Algorithms 11 and 12: h += f * g in the NTT domain.
void MulAddNtt(const Poly& f, const Poly& g, Poly& h) {
  for (int i = 0; i < 128; ++i) {
    uint16_t a0 = f[2 * i], a1 = f[2 * i + 1], b0 = g[2 * i], b1 = g[2 * i + 1];
    uint16_t c0 = Add(Mul(a0, b0), Mul(Mul(a1, b1), kTables.gammas[i]));
    uint16_t c1 = Add(Mul(a0, b1), Mul(a1, b0));
    h[2 * i] = Add(h[2 * i], c0);
    h[2 * i + 1] = Add(h[2 * i + 1], c1);
  }
}

void AddTo(Poly& f, const Poly& g) {
  for (int i = 0; i < kN; ++i) f[i] = Add(f[i], g[i]);
}

// ---- Hashes (OpenSSL) ----

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

enum class Md { kSha3_256, kSha3_512, kShake128, kShake256 };

const EVP_MD* Fetch(Md md) {
  // Fetched once: an implicit fetch per call is slow in OpenSSL 3.
  static const EVP_MD* sha3_256 = EVP_MD_fetch(nullptr, "SHA3-256", nullptr);
  static const EVP_MD* sha3_512 = EVP_MD_fetch(nullptr, "SHA3-512", nullptr);
  static const EVP_MD* shake128 = EVP_MD_fetch(nullptr, "SHAKE128", nullptr);
  static const EVP_MD* shake256 = EVP_MD_fetch(nullptr, "SHAKE256", nullptr);
  const EVP_MD* out = md == Md::kSha3_256   ? sha3_256
                      : md == Md::kSha3_512 ? sha3_512
                      : md == Md::kShake128 ? shake128
                                            : shake256;
  COFFER_CHECK(out != nullptr);
  return out;
}

// H(parts...) into `out` (`length` bytes; for SHA3 the digest size). An
// OpenSSL failure here is an invariant violation.
void Hash(Md md, std::initializer_list<std::string_view> parts, uint8_t* out, size_t length) {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  COFFER_CHECK(ctx != nullptr);
  COFFER_CHECK(EVP_DigestInit_ex(ctx.get(), Fetch(md), nullptr) == 1);
  for (std::string_view p : parts) {
    COFFER_CHECK(EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1);
  }
  if (md == Md::kShake128 || md == Md::kShake256) {
    COFFER_CHECK(EVP_DigestFinalXOF(ctx.get(), out, length) == 1);
  } else {
    COFFER_CHECK(static_cast<size_t>(EVP_MD_get_size(Fetch(md))) == length);
    COFFER_CHECK(EVP_DigestFinal_ex(ctx.get(), out, nullptr) == 1);
  }
}

std::string_view View(const uint8_t* p, size_t n) {
  return std::string_view(reinterpret_cast<const char*>(p), n);
}

// ---- Sampling ----

// Algorithm 7, SampleNTT(rho || j || i): rejection sampling from SHAKE128 (on
// public input). OpenSSL 3.0 cannot squeeze incrementally, so it squeezes 840
// bytes (enough but with probability about 2^-100) and, if they run out,
// squeezes again twice as long: the XOF's output is the same stream.
Poly SampleNtt(std::string_view rho, uint8_t j, uint8_t i) {
  const uint8_t index[2] = {j, i};
  for (size_t length = 168 * 5;; length *= 2) {
    std::vector<uint8_t> buf(length);
    Hash(Md::kShake128, {rho, View(index, 2)}, buf.data(), length);
    Poly a{};
    int n = 0;
    for (size_t p = 0; p + 3 <= length && n < kN; p += 3) {
      uint16_t d1 = static_cast<uint16_t>(buf[p] | ((buf[p + 1] & 0x0f) << 8));
      uint16_t d2 = static_cast<uint16_t>((buf[p + 1] >> 4) | (buf[p + 2] << 4));
      if (d1 < kQ) a[n++] = d1;
      if (d2 < kQ && n < kN) a[n++] = d2;
    }
    if (n == kN) return a;
  }
}

// A-hat from rho: a[i][j] = SampleNTT(rho || j || i).
void ExpandA(std::string_view rho, Matrix& a) {
  for (int i = 0; i < kK; ++i) {
    for (int j = 0; j < kK; ++j) {
      a[i][j] = SampleNtt(rho, static_cast<uint8_t>(j), static_cast<uint8_t>(i));
    }
  }
}

// Algorithm 8 with eta = 2 on PRF(s, n) = SHAKE256(s || n, 128). Branch-free.
Poly SampleCbd(std::string_view s, uint8_t n) {
  std::array<uint8_t, kCbdBytes> b;
  WipeOnExit wipe_b(b);
  Hash(Md::kShake256, {s, View(&n, 1)}, b.data(), b.size());
  Poly f;
  for (size_t k = 0; k < b.size(); ++k) {
    for (int h = 0; h < 2; ++h) {
      uint32_t bits = b[k] >> (4 * h);
      uint16_t x = static_cast<uint16_t>((bits & 1) + ((bits >> 1) & 1));
      uint16_t y = static_cast<uint16_t>(((bits >> 2) & 1) + ((bits >> 3) & 1));
      f[2 * k + h] = Sub(x, y);
    }
  }
  return f;
}

// ---- Encoding (Algorithms 5 and 6) ----

// ByteEncode_d: 32 d bytes, coefficients as d-bit little-endian fields.
void Encode(const Poly& f, int d, uint8_t* out) {
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (int i = 0; i < kN; ++i) {
    acc |= uint32_t{f[i]} << bits;
    bits += d;
    while (bits >= 8) {
      out[o++] = static_cast<uint8_t>(acc);
      acc >>= 8;
      bits -= 8;
    }
  }
}

// ByteDecode_d without the reduction mod q (see the callers).
void Decode(const uint8_t* in, int d, Poly& f) {
  uint32_t acc = 0;
  int bits = 0;
  size_t p = 0;
  const uint32_t mask = (1u << d) - 1;
  for (int i = 0; i < kN; ++i) {
    while (bits < d) {
      acc |= uint32_t{in[p++]} << bits;
      bits += 8;
    }
    f[i] = static_cast<uint16_t>(acc & mask);
    acc >>= d;
    bits -= d;
  }
}

// The modulus check of FIPS 203 section 7.2 on ek's first 1152 bytes, and the
// decoded t-hat. Public data: the early return is fine.
bool DecodeEncapsulationKey(std::string_view ek, Vec& t) {
  if (ek.size() != kMlKem768EncapsulationKeySize) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(ek.data());
  for (int i = 0; i < kK; ++i) {
    Decode(p + kPolyBytes * i, 12, t[i]);
    for (uint16_t c : t[i]) {
      if (c >= kQ) return false;
    }
  }
  return true;
}

// ---- K-PKE (Algorithms 13-15) ----

// K-PKE.Encrypt(ek, m, r) into `c` (1088 bytes). REQUIRES: `t` is ek's
// decoded (checked) vector and `rho` its last 32 bytes.
void PkeEncrypt(const Vec& t, std::string_view rho, const uint8_t* m, std::string_view r,
                uint8_t* c) {
  Matrix a;
  ExpandA(rho, a);
  Vec y, e1, u{};
  Poly e2, v{}, mu;
  WipeOnExit w1(y);
  WipeOnExit w2(e1);
  WipeOnExit w3(u);
  WipeOnExit w4(e2);
  WipeOnExit w5(v);
  WipeOnExit w6(mu);
  uint8_t n = 0;
  for (int i = 0; i < kK; ++i) {
    y[i] = SampleCbd(r, n++);
    Ntt(y[i]);
  }
  for (int i = 0; i < kK; ++i) e1[i] = SampleCbd(r, n++);
  e2 = SampleCbd(r, n++);
  for (int i = 0; i < kK; ++i) {
    for (int j = 0; j < kK; ++j) MulAddNtt(a[j][i], y[j], u[i]);  // A-hat transposed
    InverseNtt(u[i]);
    AddTo(u[i], e1[i]);
  }
  for (int j = 0; j < kK; ++j) MulAddNtt(t[j], y[j], v);
  InverseNtt(v);
  AddTo(v, e2);
  for (int i = 0; i < kN; ++i) {
    uint16_t bit = (m[i / 8] >> (i % 8)) & 1;
    mu[i] = static_cast<uint16_t>(bit * ((kQ + 1) / 2));  // Decompress_1
  }
  AddTo(v, mu);
  for (int i = 0; i < kK; ++i) {
    for (uint16_t& x : u[i]) x = Compress(x, kDu);
    Encode(u[i], kDu, c + kC1Bytes * i);
  }
  for (uint16_t& x : v) x = Compress(x, kDv);
  Encode(v, kDv, c + kC1Bytes * kK);
}

// K-PKE.Decrypt(dk_pke, c) into `m` (32 bytes).
void PkeDecrypt(const uint8_t* dk_pke, const uint8_t* c, uint8_t* m) {
  Vec s, u;
  Poly v, w{};
  WipeOnExit w1(s);
  WipeOnExit w2(u);
  WipeOnExit w3(v);
  WipeOnExit w4(w);
  for (int i = 0; i < kK; ++i) {
    Decode(dk_pke + kPolyBytes * i, 12, s[i]);
    for (uint16_t& x : s[i]) x = ReduceOnce(x);  // ByteDecode_12 reduces mod q
    Decode(c + kC1Bytes * i, kDu, u[i]);
    for (uint16_t& x : u[i]) x = Decompress(x, kDu);
    Ntt(u[i]);
    MulAddNtt(s[i], u[i], w);
  }
  InverseNtt(w);
  Decode(c + kC1Bytes * kK, kDv, v);
  for (uint16_t& x : v) x = Decompress(x, kDv);
  for (int i = 0; i < kN; ++i) w[i] = Compress(Sub(v[i], w[i]), 1);
  Encode(w, 1, m);
}

std::unexpected<Error> Malformed(std::string what) {
  return Fail(ErrorCode::kInvalidArgument, "ML-KEM-768: " + what, Reason::kMalformedInput);
}

}  // namespace

Result<MlKem768KeyPair> MlKem768KeyGen(const SecretBytes& seed) {
  if (seed.size() != kMlKem768SeedSize) return Malformed("the key seed must be 64 bytes");
  std::string_view d = seed.Reveal().substr(0, 32);
  std::string_view z = seed.Reveal().substr(32, 32);
  // (rho, sigma) = G(d || k)
  std::array<uint8_t, 64> g;
  WipeOnExit wipe_g(g);
  const uint8_t k = kK;
  Hash(Md::kSha3_512, {d, View(&k, 1)}, g.data(), g.size());
  std::string_view rho = View(g.data(), 32);
  std::string_view sigma = View(g.data() + 32, 32);
  Matrix a;
  ExpandA(rho, a);
  Vec s, e, t{};
  WipeOnExit w1(s);
  WipeOnExit w2(e);
  uint8_t n = 0;
  for (int i = 0; i < kK; ++i) {
    s[i] = SampleCbd(sigma, n++);
    Ntt(s[i]);
  }
  for (int i = 0; i < kK; ++i) {
    e[i] = SampleCbd(sigma, n++);
    Ntt(e[i]);
  }
  for (int i = 0; i < kK; ++i) {
    for (int j = 0; j < kK; ++j) MulAddNtt(a[i][j], s[j], t[i]);
    AddTo(t[i], e[i]);
  }
  MlKem768KeyPair pair{SecretBytes(kMlKem768DecapsulationKeySize),
                       std::string(kMlKem768EncapsulationKeySize, '\0')};
  auto* ek = reinterpret_cast<uint8_t*>(pair.encapsulation_key.data());
  for (int i = 0; i < kK; ++i) Encode(t[i], 12, ek + kPolyBytes * i);
  std::memcpy(ek + kVecBytes, rho.data(), 32);
  uint8_t* dk = pair.decapsulation_key.MutableData();
  for (int i = 0; i < kK; ++i) Encode(s[i], 12, dk + kPolyBytes * i);
  std::memcpy(dk + kVecBytes, ek, kMlKem768EncapsulationKeySize);
  Hash(Md::kSha3_256, {pair.encapsulation_key}, dk + kVecBytes + kMlKem768EncapsulationKeySize, 32);
  std::memcpy(dk + kVecBytes + kMlKem768EncapsulationKeySize + 32, z.data(), 32);
  return pair;
}

Result<MlKemEncapsulation> MlKem768EncapsulateWith(std::string_view encapsulation_key,
                                                   const SecretBytes& m) {
  if (m.size() != kMlKemMessageSize) return Malformed("the randomness must be 32 bytes");
  Vec t;
  if (!DecodeEncapsulationKey(encapsulation_key, t)) {
    return Malformed("invalid encapsulation key (length or a coefficient not below q)");
  }
  // (K, r) = G(m || H(ek))
  std::array<uint8_t, 32> h;
  Hash(Md::kSha3_256, {encapsulation_key}, h.data(), h.size());
  std::array<uint8_t, 64> g;
  WipeOnExit wipe_g(g);
  Hash(Md::kSha3_512, {m.Reveal(), View(h.data(), h.size())}, g.data(), g.size());
  MlKemEncapsulation out{std::string(kMlKem768CiphertextSize, '\0'),
                         SecretBytes(View(g.data(), 32))};
  PkeEncrypt(t, encapsulation_key.substr(kVecBytes), m.bytes(), View(g.data() + 32, 32),
             reinterpret_cast<uint8_t*>(out.ciphertext.data()));
  return out;
}

Result<MlKemEncapsulation> MlKem768Encapsulate(std::string_view encapsulation_key) {
  return MlKem768EncapsulateWith(encapsulation_key, RandomSecret(kMlKemMessageSize));
}

Result<SecretBytes> MlKem768Decapsulate(const SecretBytes& decapsulation_key,
                                        std::string_view ciphertext) {
  if (ciphertext.size() != kMlKem768CiphertextSize) {
    return Malformed("the ciphertext must be 1088 bytes");
  }
  if (decapsulation_key.size() != kMlKem768DecapsulationKeySize) {
    return Malformed("the decapsulation key must be 2400 bytes");
  }
  std::string_view dk = decapsulation_key.Reveal();
  std::string_view ek = dk.substr(kVecBytes, kMlKem768EncapsulationKeySize);
  std::string_view h = dk.substr(kVecBytes + kMlKem768EncapsulationKeySize, 32);
  std::string_view z = dk.substr(kVecBytes + kMlKem768EncapsulationKeySize + 32, 32);
  std::array<uint8_t, 32> check;
  Hash(Md::kSha3_256, {ek}, check.data(), check.size());
  if (!ConstantTimeEquals(View(check.data(), check.size()), h)) {
    return Malformed("the decapsulation key's hash check fails");
  }
  Vec t;
  if (!DecodeEncapsulationKey(ek, t)) return Malformed("the decapsulation key's ek is invalid");
  const auto* c = reinterpret_cast<const uint8_t*>(ciphertext.data());
  std::array<uint8_t, 32> m;
  std::array<uint8_t, 64> g;
  std::array<uint8_t, 32> rejected;
  std::array<uint8_t, kMlKem768CiphertextSize> reencrypted;
  WipeOnExit w1(m);
  WipeOnExit w2(g);
  WipeOnExit w3(rejected);
  WipeOnExit w4(reencrypted);
  PkeDecrypt(decapsulation_key.bytes(), c, m.data());
  Hash(Md::kSha3_512, {View(m.data(), m.size()), h}, g.data(), g.size());
  Hash(Md::kShake256, {z, ciphertext}, rejected.data(), rejected.size());
  PkeEncrypt(t, ek.substr(kVecBytes), m.data(), View(g.data() + 32, 32), reencrypted.data());
  // Constant time: OR of the differences, turned into an all-ones mask when
  // zero.
  uint32_t diff = 0;
  for (size_t i = 0; i < reencrypted.size(); ++i) diff |= uint32_t{reencrypted[i]} ^ c[i];
  const uint8_t equal = static_cast<uint8_t>((diff - 1) >> 8);  // 0xff iff diff == 0
  SecretBytes out(kMlKemSharedSecretSize);
  uint8_t* k = out.MutableData();
  for (size_t i = 0; i < kMlKemSharedSecretSize; ++i) {
    k[i] = static_cast<uint8_t>((g[i] & equal) | (rejected[i] & ~equal));
  }
  return out;
}

SecretBytes Sha3_256(std::initializer_list<std::string_view> parts) {
  SecretBytes out(32);
  Hash(Md::kSha3_256, parts, out.MutableData(), out.size());
  return out;
}

SecretBytes Shake128(std::string_view input, size_t length) {
  SecretBytes out(length);
  if (length > 0) Hash(Md::kShake128, {input}, out.MutableData(), length);
  return out;
}

SecretBytes Shake256(std::string_view input, size_t length) {
  SecretBytes out(length);
  if (length > 0) Hash(Md::kShake256, {input}, out.MutableData(), length);
  return out;
}

}  // namespace coffer::crypto
