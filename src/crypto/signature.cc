#include "crypto/signature.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "util/check.h"

namespace coffer::crypto {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;

Bn ToBn(std::string_view bytes) {
  return Bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                      static_cast<int>(bytes.size()), nullptr));
}

std::string FromBn(const BIGNUM* bn, int pad_to) {
  int len = pad_to > 0 ? pad_to : BN_num_bytes(bn);
  std::string out(len, '\0');
  if (pad_to > 0) {
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len);
  } else {
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  }
  return out;
}

Pkey FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  if (params == nullptr) return nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  if (ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return Pkey(pkey);
}

bool VerifyDigest(EVP_PKEY* key, std::string_view data, const unsigned char* sig, size_t sig_len) {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, key,
                                      nullptr) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), sig, sig_len,
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

}  // namespace

bool VerifyRs256(const RsaPublicKey& key, std::string_view data, std::string_view signature) {
  Bn n = ToBn(key.n), e = ToBn(key.e);
  if (!n || !e || BN_num_bits(n.get()) < 2048) return false;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (bld == nullptr) return false;
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.get());
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e.get());
  Pkey pkey = FromParams("RSA", bld);
  if (!pkey) return false;
  return VerifyDigest(pkey.get(), data, reinterpret_cast<const unsigned char*>(signature.data()),
                      signature.size());
}

bool VerifyEs256(const EcPublicKey& key, std::string_view data, std::string_view signature) {
  if (key.x.size() != 32 || key.y.size() != 32 || signature.size() != 64) return false;
  std::string point = "\x04" + key.x + key.y;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (bld == nullptr) return false;
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  Pkey pkey = FromParams("EC", bld);
  if (!pkey) return false;
  // JWS raw r||s -> DER.
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (sig == nullptr) return false;
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()) + 32, 32, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_len <= 0) return false;
  bool ok = VerifyDigest(pkey.get(), data, der, static_cast<size_t>(der_len));
  OPENSSL_free(der);
  return ok;
}

struct SigningKey::Impl {
  Pkey key;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl, bool is_rsa)
    : impl_(std::move(impl)), is_rsa_(is_rsa) {}
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

Result<SigningKey> SigningKey::GenerateRsa(int bits) {
  EVP_PKEY* p = EVP_RSA_gen(static_cast<unsigned>(bits));
  if (p == nullptr) return Fail(ErrorCode::kInternal, "RSA key generation failed");
  auto impl = std::make_unique<Impl>();
  impl->key.reset(p);
  return SigningKey(std::move(impl), true);
}

Result<SigningKey> SigningKey::GenerateEcP256() {
  EVP_PKEY* p = EVP_EC_gen("P-256");
  if (p == nullptr) return Fail(ErrorCode::kInternal, "EC key generation failed");
  auto impl = std::make_unique<Impl>();
  impl->key.reset(p);
  return SigningKey(std::move(impl), false);
}

Result<std::string> SigningKey::Sign(std::string_view data) const {
  MdCtx ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (!ctx ||
      EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, impl_->key.get(),
                            nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return Fail(ErrorCode::kInternal, "signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return Fail(ErrorCode::kInternal, "signing failed");
  }
  sig.resize(len);
  if (is_rsa_) return sig;
  // DER -> raw r||s.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (es == nullptr) return Fail(ErrorCode::kInternal, "signature conversion failed");
  std::string raw = FromBn(ECDSA_SIG_get0_r(es), 32) + FromBn(ECDSA_SIG_get0_s(es), 32);
  ECDSA_SIG_free(es);
  return raw;
}

RsaPublicKey SigningKey::rsa_public() const {
  COFFER_CHECK(is_rsa_);
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  EVP_PKEY_get_bn_param(impl_->key.get(), OSSL_PKEY_PARAM_RSA_N, &n);
  EVP_PKEY_get_bn_param(impl_->key.get(), OSSL_PKEY_PARAM_RSA_E, &e);
  COFFER_CHECK(n != nullptr && e != nullptr);
  RsaPublicKey out{FromBn(n, 0), FromBn(e, 0)};
  BN_free(n);
  BN_free(e);
  return out;
}

EcPublicKey SigningKey::ec_public() const {
  COFFER_CHECK(!is_rsa_);
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  EVP_PKEY_get_bn_param(impl_->key.get(), OSSL_PKEY_PARAM_EC_PUB_X, &x);
  EVP_PKEY_get_bn_param(impl_->key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, &y);
  COFFER_CHECK(x != nullptr && y != nullptr);
  EcPublicKey out{FromBn(x, 32), FromBn(y, 32)};
  BN_free(x);
  BN_free(y);
  return out;
}

}  // namespace coffer::crypto
