// client/kms_data_key: KMS GenerateDataKey against a remote KMS endpoint (AWS
// KMS or another Coffer), for envelope encryption done on the client side
// (bundles: docs/formats/bundle.md). Kept beside kms.h's Encrypt/Decrypt.
#pragma once

#include <string>
#include <string_view>

#include "client/aws_client.h"
#include "client/kms.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::client {

// A fresh data key: its plaintext (to encrypt with, then forget), the same key
// encrypted under the KMS key (to store), and the KMS key's ARN as KMS names it.
struct DataKey {
  SecretBytes plaintext;
  std::string ciphertext_blob;
  std::string key_id;
};

// GenerateDataKey with KeySpec AES_256 (32 bytes) under `key_id` (id, ARN or
// alias) bound to `context`. kUnavailable for transport failures and for an
// AWS error (the message names its code, e.g. AccessDeniedException); also when
// the answer lacks a field or the plaintext is not 32 bytes.
Result<DataKey> KmsGenerateDataKey(const AwsConfig& config, std::string_view key_id,
                                   const EncryptionContext& context, util::Clock& clock);

}  // namespace coffer::client
