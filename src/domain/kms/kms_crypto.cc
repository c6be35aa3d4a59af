#include "domain/kms/kms_crypto.h"

#include <utility>

#include "crypto/crypto.h"

namespace coffer::domain::kms {
namespace {

constexpr std::string_view kAadPrefix = "kms/ctx/";

void PutU32(std::string& out, size_t n) {
  uint32_t v = static_cast<uint32_t>(n);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::string Aad(const EncryptionContext& context) {
  std::string aad(kAadPrefix);
  aad += CanonicalContext(context);
  return aad;
}

std::unexpected<Error> InvalidCiphertext() {
  // AWS gives no detail; neither do we (no oracle on what failed).
  return Fail(ErrorCode::kInvalidArgument,
              "The ciphertext is invalid, was altered, or its encryption context does not match.",
              Reason::kKmsInvalidCiphertext);
}

}  // namespace

std::string CanonicalContext(const EncryptionContext& context) {
  std::string out;
  for (const auto& [k, v] : context) {
    PutU32(out, k.size());
    out += k;
    PutU32(out, v.size());
    out += v;
  }
  return out;
}

KmsCrypto::KmsCrypto(KeyDirectory& keys, keyring::Keyring& keyring)
    : keys_(keys), keyring_(keyring) {}

Result<KeyMetadata> KmsCrypto::UsableKey(std::string_view key_id) {
  COFFER_ASSIGN_OR_RETURN(KeyMetadata meta, keys_.DescribeKey(key_id));
  COFFER_RETURN_IF_ERROR(KeyDirectory::CheckUsable(meta));
  return meta;
}

Result<EncryptResult> KmsCrypto::Encrypt(std::string_view key_id, const SecretBytes& plaintext,
                                         const EncryptionContext& context) {
  if (plaintext.empty() || plaintext.size() > kMaxPlaintext) {
    return Fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
                "Member must have length between 1 and 4096",
                Reason::kValidation);
  }
  COFFER_ASSIGN_OR_RETURN(KeyMetadata meta, UsableKey(key_id));
  COFFER_ASSIGN_OR_RETURN(std::string envelope,
                          keyring_.Encrypt(meta.key_id, Aad(context), plaintext.Reveal()));
  EncryptResult result;
  result.ciphertext_blob = std::string(kCiphertextMagic) + envelope;
  result.key_arn = meta.arn;
  return result;
}

Result<DecryptResult> KmsCrypto::Decrypt(std::string_view blob, const EncryptionContext& context,
                                         std::optional<std::string_view> key_id) {
  if (!blob.starts_with(kCiphertextMagic)) return InvalidCiphertext();
  std::string_view envelope = blob.substr(kCiphertextMagic.size());
  auto ref = keyring::Keyring::Inspect(envelope);
  if (!ref.has_value()) return InvalidCiphertext();
  if (key_id) {
    COFFER_ASSIGN_OR_RETURN(KeyMetadata named, keys_.DescribeKey(*key_id));
    if (named.key_id != ref->key_id) {
      return Fail(ErrorCode::kInvalidArgument,
                  "The key ID in the request does not identify the key that encrypted the "
                  "ciphertext.",
                  Reason::kKmsIncorrectKey);
    }
  }
  auto meta = keys_.Get(ref->key_id);
  if (!meta.has_value()) {
    if (meta.error().code == ErrorCode::kNotFound) return InvalidCiphertext();
    return Fail(std::move(meta).error());
  }
  COFFER_RETURN_IF_ERROR(KeyDirectory::CheckUsable(*meta));
  auto opened = keyring_.Decrypt(Aad(context), envelope);
  if (!opened.has_value()) {
    const Error& e = opened.error();
    if (e.reason == Reason::kCiphertextTampered || e.reason == Reason::kCiphertextMalformed ||
        e.reason == Reason::kKeyNotFound || e.reason == Reason::kKeyVersionNotFound) {
      return InvalidCiphertext();
    }
    return Fail(std::move(opened).error());
  }
  if (opened->key.key_id != meta->key_id) return InvalidCiphertext();  // cannot happen
  DecryptResult result;
  result.plaintext = std::move(opened->plaintext);
  result.key_arn = meta->arn;
  return result;
}

Result<ReEncryptResult> KmsCrypto::ReEncrypt(std::string_view blob,
                                             const EncryptionContext& source_context,
                                             std::optional<std::string_view> source_key_id,
                                             std::string_view destination_key_id,
                                             const EncryptionContext& destination_context) {
  COFFER_ASSIGN_OR_RETURN(DecryptResult source, Decrypt(blob, source_context, source_key_id));
  COFFER_ASSIGN_OR_RETURN(EncryptResult dest,
                          Encrypt(destination_key_id, source.plaintext, destination_context));
  ReEncryptResult result;
  result.ciphertext_blob = std::move(dest.ciphertext_blob);
  result.source_key_arn = std::move(source.key_arn);
  result.key_arn = std::move(dest.key_arn);
  return result;
}

Result<DataKey> KmsCrypto::GenerateDataKey(std::string_view key_id, size_t bytes,
                                           const EncryptionContext& context) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes plaintext, GenerateRandom(bytes));
  COFFER_ASSIGN_OR_RETURN(EncryptResult sealed, Encrypt(key_id, plaintext, context));
  DataKey key;
  key.plaintext = std::move(plaintext);
  key.ciphertext_blob = std::move(sealed.ciphertext_blob);
  key.key_arn = std::move(sealed.key_arn);
  return key;
}

Result<SecretBytes> KmsCrypto::GenerateRandom(size_t bytes) {
  if (bytes < 1 || bytes > kMaxDataKeyBytes) {
    return Fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value '" + std::to_string(bytes) +
                    "' at 'numberOfBytes' failed to satisfy constraint: Member must have value "
                    "between 1 and 1024",
                Reason::kValidation);
  }
  return crypto::RandomSecret(bytes);
}

}  // namespace coffer::domain::kms
