#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "util/check.h"
#include "util/encoding.h"

namespace coffer::crypto {
namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// One reusable context per thread: allocating and freeing a context per call
// showed up on the read path. Reset before each use, so no state (key
// schedule) survives from one call to the next.
EVP_CIPHER_CTX* ThreadCipherCtx() {
  thread_local CipherCtx ctx(EVP_CIPHER_CTX_new());
  COFFER_CHECK(ctx != nullptr);
  EVP_CIPHER_CTX_reset(ctx.get());
  return ctx.get();
}

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

enum class Aead { kAesGcm, kChaChaPoly };

const EVP_CIPHER* CipherFor(Aead aead) {
  // Fetched once: EVP_CIPHER_fetch per call is slow in OpenSSL 3.
  static const EVP_CIPHER* aes = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  static const EVP_CIPHER* chacha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  const EVP_CIPHER* c = aead == Aead::kAesGcm ? aes : chacha;
  COFFER_CHECK(c != nullptr);
  return c;
}

Status CheckSizes(Aead aead, const SecretBytes& key, std::string_view iv) {
  if (key.size() != kAeadKeySize) {
    return Fail(ErrorCode::kInvalidArgument, "AEAD key must be 32 bytes");
  }
  if (iv.empty() || (aead == Aead::kChaChaPoly && iv.size() != 12) || iv.size() > 1024) {
    return Fail(ErrorCode::kInvalidArgument, "invalid AEAD nonce length");
  }
  return Ok();
}

Result<std::string> Seal(Aead aead, const SecretBytes& key, std::string_view iv,
                         std::string_view aad, std::string_view plaintext) {
  COFFER_RETURN_IF_ERROR(CheckSizes(aead, key, iv));
  struct Ctx {
    EVP_CIPHER_CTX* p;
    EVP_CIPHER_CTX* get() const { return p; }
    ~Ctx() { EVP_CIPHER_CTX_reset(p); }
  } ctx{ThreadCipherCtx()};
  int ivlen_param = aead == Aead::kAesGcm ? EVP_CTRL_GCM_SET_IVLEN : EVP_CTRL_AEAD_SET_IVLEN;
  if (EVP_EncryptInit_ex(ctx.get(), CipherFor(aead), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), ivlen_param, static_cast<int>(iv.size()), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes(), U(iv)) != 1) {
    return Fail(ErrorCode::kInternal, "AEAD initialisation failed");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1) {
    return Fail(ErrorCode::kInternal, "AEAD aad failed");
  }
  std::string out(plaintext.size() + kAeadTagSize, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), o, &len, U(plaintext), static_cast<int>(plaintext.size())) != 1) {
    return Fail(ErrorCode::kInternal, "AEAD encryption failed");
  }
  int fin = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), o + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kAeadTagSize,
                          o + plaintext.size()) != 1) {
    return Fail(ErrorCode::kInternal, "AEAD finalisation failed");
  }
  return out;
}

Result<SecretBytes> Open(Aead aead, const SecretBytes& key, std::string_view iv,
                         std::string_view aad, std::string_view sealed) {
  COFFER_RETURN_IF_ERROR(CheckSizes(aead, key, iv));
  if (sealed.size() < kAeadTagSize) {
    return Fail(ErrorCode::kDataLoss, "ciphertext is shorter than its authentication tag",
                Reason::kCiphertextMalformed);
  }
  size_t ct_len = sealed.size() - kAeadTagSize;
  struct Ctx {
    EVP_CIPHER_CTX* p;
    EVP_CIPHER_CTX* get() const { return p; }
    ~Ctx() { EVP_CIPHER_CTX_reset(p); }
  } ctx{ThreadCipherCtx()};
  int ivlen_param = aead == Aead::kAesGcm ? EVP_CTRL_GCM_SET_IVLEN : EVP_CTRL_AEAD_SET_IVLEN;
  if (EVP_DecryptInit_ex(ctx.get(), CipherFor(aead), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), ivlen_param, static_cast<int>(iv.size()), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes(), U(iv)) != 1) {
    return Fail(ErrorCode::kInternal, "AEAD initialisation failed");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1) {
    return Fail(ErrorCode::kInternal, "AEAD aad failed");
  }
  SecretBytes out(ct_len);
  if (ct_len > 0 && EVP_DecryptUpdate(ctx.get(), out.MutableData(), &len, U(sealed),
                                      static_cast<int>(ct_len)) != 1) {
    return Fail(ErrorCode::kInternal, "AEAD decryption failed");
  }
  std::string tag(sealed.substr(ct_len));
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kAeadTagSize, tag.data()) != 1) {
    return Fail(ErrorCode::kInternal, "AEAD tag setup failed");
  }
  int fin = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), out.MutableData() + len, &fin) != 1) {
    return Fail(ErrorCode::kDataLoss, "ciphertext failed authentication",
                Reason::kCiphertextTampered);  // `out` is wiped by its destructor
  }
  return out;
}

}  // namespace

void RandomFill(void* out, size_t size) {
  if (size == 0) return;
  COFFER_CHECK(RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(size)) == 1);
}

std::string RandomBytes(size_t size) {
  std::string out(size, '\0');
  RandomFill(out.data(), size);
  return out;
}

SecretBytes RandomSecret(size_t size) {
  SecretBytes out(size);
  RandomFill(out.MutableData(), size);
  return out;
}

Digest256 Sha256(std::string_view data) {
  // The low-level API: OpenSSL 3's one-shot SHA256() fetches the algorithm on
  // every call, which dominated the SigV4 verify cost.
  Digest256 d;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(d.data(), &ctx);
  return d;
}

std::string Sha256Hex(std::string_view data) { return util::HexEncode(AsView(Sha256(data))); }

std::array<uint8_t, 64> Sha512(std::string_view data) {
  std::array<uint8_t, 64> d;
  SHA512_CTX ctx;
  SHA512_Init(&ctx);
  SHA512_Update(&ctx, data.data(), data.size());
  SHA512_Final(d.data(), &ctx);
  return d;
}

namespace {

// The SHA-256 states after absorbing the key's inner and outer pads (RFC 2104):
// what every HMAC under `key` starts from.
void HmacPadStates(std::string_view key, SHA256_CTX* inner, SHA256_CTX* outer) {
  constexpr size_t kBlock = 64;
  unsigned char k[kBlock] = {0};
  if (key.size() > kBlock) {
    SHA256(U(key), key.size(), k);
  } else if (!key.empty()) {
    memcpy(k, key.data(), key.size());
  }
  unsigned char pad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x36;
  SHA256_Init(inner);
  SHA256_Update(inner, pad, kBlock);
  for (size_t i = 0; i < kBlock; ++i) pad[i] = k[i] ^ 0x5c;
  SHA256_Init(outer);
  SHA256_Update(outer, pad, kBlock);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
}

// Finishes an HMAC whose message went into `inner`; clears both states.
Digest256 HmacFinish(SHA256_CTX* inner, SHA256_CTX* outer) {
  unsigned char digest[32];
  SHA256_Final(digest, inner);
  SHA256_Update(outer, digest, sizeof digest);
  Digest256 out;
  SHA256_Final(out.data(), outer);
  OPENSSL_cleanse(digest, sizeof digest);
  OPENSSL_cleanse(inner, sizeof *inner);
  OPENSSL_cleanse(outer, sizeof *outer);
  return out;
}

}  // namespace

Digest256 HmacSha256(std::string_view key, std::string_view data) {
  // Implemented directly over SHA-256 (RFC 2104): OpenSSL 3's HMAC() fetches
  // the algorithm on every call, which dominates the SigV4 verify cost.
  SHA256_CTX inner, outer;
  HmacPadStates(key, &inner, &outer);
  SHA256_Update(&inner, data.data(), data.size());
  return HmacFinish(&inner, &outer);
}

struct HmacSha256Key::State {
  SHA256_CTX inner;
  SHA256_CTX outer;
};

HmacSha256Key::HmacSha256Key(std::string_view key) : state_(std::make_unique<State>()) {
  HmacPadStates(key, &state_->inner, &state_->outer);
}

HmacSha256Key::~HmacSha256Key() {
  if (state_) OPENSSL_cleanse(state_.get(), sizeof(State));
}
HmacSha256Key::HmacSha256Key(HmacSha256Key&&) noexcept = default;
HmacSha256Key& HmacSha256Key::operator=(HmacSha256Key&& other) noexcept {
  if (this != &other) {
    if (state_) OPENSSL_cleanse(state_.get(), sizeof(State));
    state_ = std::move(other.state_);
  }
  return *this;
}

Digest256 HmacSha256Key::Mac(std::string_view data) const { return Mac({data}); }

Digest256 HmacSha256Key::Mac(std::initializer_list<std::string_view> parts) const {
  SHA256_CTX inner = state_->inner;
  SHA256_CTX outer = state_->outer;
  for (std::string_view part : parts) SHA256_Update(&inner, part.data(), part.size());
  return HmacFinish(&inner, &outer);
}

Result<SecretBytes> HkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info,
                               size_t length) {
  if (length == 0 || length > 255 * 32) {
    return Fail(ErrorCode::kInvalidArgument, "HKDF output length out of range");
  }
  // RFC 5869 over HmacSha256 (same reason as above: no per-call fetch).
  std::string zero_salt(32, '\0');
  Digest256 prk = HmacSha256(salt.empty() ? std::string_view(zero_salt) : salt, ikm);
  SecretBytes out(length);
  std::string block;
  std::string t;
  size_t done = 0;
  for (uint8_t counter = 1; done < length; ++counter) {
    block.assign(t);
    block.append(info);
    block.push_back(static_cast<char>(counter));
    Digest256 d = HmacSha256(AsView(prk), block);
    t.assign(reinterpret_cast<const char*>(d.data()), d.size());
    size_t n = std::min(length - done, d.size());
    memcpy(out.MutableData() + done, d.data(), n);
    done += n;
    OPENSSL_cleanse(d.data(), d.size());
  }
  OPENSSL_cleanse(prk.data(), prk.size());
  util::SecureClear(block);
  util::SecureClear(t);
  return out;
}

Result<std::string> AesGcmSeal(const SecretBytes& key, std::string_view iv, std::string_view aad,
                               std::string_view plaintext) {
  return Seal(Aead::kAesGcm, key, iv, aad, plaintext);
}
Result<SecretBytes> AesGcmOpen(const SecretBytes& key, std::string_view iv, std::string_view aad,
                               std::string_view sealed) {
  return Open(Aead::kAesGcm, key, iv, aad, sealed);
}
Result<std::string> ChaChaPolySeal(const SecretBytes& key, std::string_view nonce,
                                   std::string_view aad, std::string_view plaintext) {
  return Seal(Aead::kChaChaPoly, key, nonce, aad, plaintext);
}
Result<SecretBytes> ChaChaPolyOpen(const SecretBytes& key, std::string_view nonce,
                                   std::string_view aad, std::string_view sealed) {
  return Open(Aead::kChaChaPoly, key, nonce, aad, sealed);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace coffer::crypto
