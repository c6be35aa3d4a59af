// Cryptographic operations on KMS keys (Encrypt, Decrypt, ReEncrypt,
// GenerateDataKey, GenerateRandom) over keyring/ envelopes.
//
// Ciphertext blob (persisted by callers: never change its meaning):
//   "CKMS1" || keyring envelope (docs/formats/envelope.md)
// The envelope is Keyring::Encrypt(key id, aad, plaintext) with
//   aad = "kms/ctx/" || CanonicalContext(encryption context)
// so the blob names its key id and key version (Decrypt needs no KeyId), the
// encryption context must match exactly, and an envelope made for another
// record kind (other aad) never opens here. Rotation adds key versions; blobs
// made under an old version keep decrypting.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "domain/kms/key_directory.h"
#include "keyring/keyring.h"
#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::domain::kms {

using EncryptionContext = std::map<std::string, std::string>;

inline constexpr std::string_view kCiphertextMagic = "CKMS1";
inline constexpr size_t kMaxPlaintext = 4096;
inline constexpr size_t kMaxDataKeyBytes = 1024;

// Order-independent encoding of a context: for each pair in key order,
// u32 big-endian key length || key || u32 value length || value. Empty for {}.
std::string CanonicalContext(const EncryptionContext& context);

struct EncryptResult {
  std::string ciphertext_blob;
  std::string key_arn;
};

struct DecryptResult {
  SecretBytes plaintext;
  std::string key_arn;
};

struct ReEncryptResult {
  std::string ciphertext_blob;
  std::string source_key_arn;
  std::string key_arn;  // destination
};

struct DataKey {
  SecretBytes plaintext;
  std::string ciphertext_blob;
  std::string key_arn;
};

// Thread-safe. `keys` and `keyring` must outlive it.
class KmsCrypto {
 public:
  KmsCrypto(KeyDirectory& keys, keyring::Keyring& keyring);

  // Seals `plaintext` (1..4096 bytes) under the newest version of `key_id` (any
  // KeyId form). Errors: those of KeyDirectory::Resolve for the key id (kNotFound
  // kInvalidKeyId; kInvalidArgument kKmsInvalidArn); kFailedPrecondition
  // kKeyDisabled / kKmsInvalidState (KeyDirectory::CheckUsable);
  // kInvalidArgument (kValidation) for a plaintext size out of range.
  Result<EncryptResult> Encrypt(std::string_view key_id, const SecretBytes& plaintext,
                                const EncryptionContext& context);
  // Opens a blob made by Encrypt. `key_id`, if given, must resolve to the key
  // the blob names: kInvalidArgument (kKmsIncorrectKey) otherwise. A blob that
  // is not ours, is altered, names an unknown key or version, or was made with
  // another context: kInvalidArgument (kKmsInvalidCiphertext). Never returns
  // wrong plaintext. Key state errors as Encrypt.
  Result<DecryptResult> Decrypt(std::string_view blob, const EncryptionContext& context,
                                std::optional<std::string_view> key_id);
  // Decrypt (source) then Encrypt (destination); errors of both.
  Result<ReEncryptResult> ReEncrypt(std::string_view blob, const EncryptionContext& source_context,
                                    std::optional<std::string_view> source_key_id,
                                    std::string_view destination_key_id,
                                    const EncryptionContext& destination_context);
  // A fresh random data key of `bytes` (1..1024) and its blob under `key_id`.
  // Errors as Encrypt.
  Result<DataKey> GenerateDataKey(std::string_view key_id, size_t bytes,
                                  const EncryptionContext& context);
  // `bytes` (1..1024) from the CSPRNG; kInvalidArgument (kValidation) otherwise.
  static Result<SecretBytes> GenerateRandom(size_t bytes);

 private:
  Result<KeyMetadata> UsableKey(std::string_view key_id);

  KeyDirectory& keys_;
  keyring::Keyring& keyring_;
};

}  // namespace coffer::domain::kms
