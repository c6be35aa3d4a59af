// client/kms: the two KMS calls other roles make against a remote KMS
// endpoint (AWS KMS or another Coffer): Encrypt and Decrypt with an
// encryption context, over aws_client's signed JSON 1.1 calls. Used by the
// server's --unseal-kms and, later, by encrypted files' KMS recipients.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "client/aws_client.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::client {

using EncryptionContext = std::map<std::string, std::string>;

// The CiphertextBlob (raw bytes). kUnavailable for transport failures and
// for an AWS error (the message names its code).
Result<std::string> KmsEncrypt(const AwsConfig& config, std::string_view key_id,
                               const SecretBytes& plaintext, const EncryptionContext& context,
                               util::Clock& clock);

// The plaintext. `key_id` may be "" (the blob names its key). Errors as
// KmsEncrypt.
Result<SecretBytes> KmsDecrypt(const AwsConfig& config, std::string_view key_id,
                               std::string_view blob, const EncryptionContext& context,
                               util::Clock& clock);

}  // namespace coffer::client
