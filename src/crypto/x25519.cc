#include "crypto/x25519.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

#include "crypto/crypto.h"
#include "util/check.h"

namespace coffer::crypto {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

Status CheckKeySize(size_t size, const char* what) {
  if (size != kX25519KeySize) {
    return Fail(ErrorCode::kInvalidArgument, std::string("X25519 ") + what + " must be 32 bytes",
                Reason::kMalformedInput);
  }
  return Ok();
}

Pkey PrivateKey(const SecretBytes& private_key) {
  return Pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, private_key.bytes(),
                                           private_key.size()));
}

}  // namespace

X25519KeyPair X25519Generate() {
  X25519KeyPair pair{RandomSecret(kX25519KeySize), {}};
  auto pub = X25519PublicKey(pair.private_key);
  COFFER_CHECK(pub.has_value());
  pair.public_key = std::move(*pub);
  return pair;
}

Result<std::string> X25519PublicKey(const SecretBytes& private_key) {
  COFFER_RETURN_IF_ERROR(CheckKeySize(private_key.size(), "private key"));
  Pkey key = PrivateKey(private_key);
  std::string out(kX25519KeySize, '\0');
  size_t len = out.size();
  if (key == nullptr ||
      EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(out.data()), &len) !=
          1 ||
      len != kX25519KeySize) {
    return Fail(ErrorCode::kInternal, "X25519 public key derivation failed");
  }
  return out;
}

Result<SecretBytes> X25519SharedSecret(const SecretBytes& private_key,
                                       std::string_view peer_public_key) {
  COFFER_RETURN_IF_ERROR(CheckKeySize(private_key.size(), "private key"));
  COFFER_RETURN_IF_ERROR(CheckKeySize(peer_public_key.size(), "public key"));
  Pkey key = PrivateKey(private_key);
  Pkey peer(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_X25519, nullptr, reinterpret_cast<const unsigned char*>(peer_public_key.data()),
      peer_public_key.size()));
  if (key == nullptr || peer == nullptr) {
    return Fail(ErrorCode::kInternal, "X25519 key setup failed");
  }
  PkeyCtx ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1) {
    return Fail(ErrorCode::kInternal, "X25519 derivation setup failed");
  }
  SecretBytes shared(kX25519KeySize);
  size_t len = shared.size();
  // OpenSSL 3 fails the derivation itself when the result is all zeros; the
  // explicit check below does not rely on that.
  bool derived = EVP_PKEY_derive(ctx.get(), shared.MutableData(), &len) == 1;
  static const unsigned char kZeros[kX25519KeySize] = {};
  if (!derived || len != kX25519KeySize ||
      CRYPTO_memcmp(shared.bytes(), kZeros, kX25519KeySize) == 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "X25519 shared secret is all zeros (low-order public key)",
                Reason::kMalformedInput);
  }
  return shared;
}

}  // namespace coffer::crypto
