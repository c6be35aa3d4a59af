#include "crypto/scrypt.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <cstdint>

namespace coffer::crypto {

Result<SecretBytes> Scrypt(const SecretBytes& passphrase, std::string_view salt, int log_n,
                           size_t length) {
  if (log_n < 1 || log_n > kMaxScryptLogN || length == 0) {
    return Fail(ErrorCode::kInvalidArgument, "scrypt work factor out of range",
                Reason::kValidation);
  }
  uint64_t n = uint64_t{1} << log_n;
  uint32_t r = 8, p = 1;
  // OpenSSL refuses above its default limit (~1 GiB): allow what N needs.
  uint64_t maxmem = 128ULL * r * (n + 2) + 128ULL * r * p + (uint64_t{1} << 20);
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "SCRYPT", nullptr);
  if (kdf == nullptr) return Fail(ErrorCode::kInternal, "OpenSSL has no scrypt");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return Fail(ErrorCode::kInternal, "EVP_KDF_CTX_new failed");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(
          OSSL_KDF_PARAM_PASSWORD, const_cast<uint8_t*>(passphrase.bytes()), passphrase.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
      OSSL_PARAM_construct_end()};
  SecretBytes out(length);
  int ok = EVP_KDF_derive(ctx, out.MutableData(), length, params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) {
    return Fail(ErrorCode::kResourceExhausted, "scrypt failed (memory limit?)");
  }
  return out;
}

}  // namespace coffer::crypto
