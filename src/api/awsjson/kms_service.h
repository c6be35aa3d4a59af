// KMS over AWS JSON 1.1 (X-Amz-Target "TrentService.<Op>", signing name "kms"):
// maps each operation's JSON members (botocore model names; blobs base64,
// timestamps epoch seconds) to domain::kms::KeyDirectory / KmsCrypto and back.
// Coverage and known differences: docs/kms-coverage.md.
#pragma once

#include <string_view>

#include "api/awsjson/json_service.h"
#include "domain/kms/key_directory.h"
#include "domain/kms/kms_crypto.h"
#include "keyring/keyring.h"

namespace coffer::api::awsjson {

// Thread-safe (the directory and keyring are). `keys` and `keyring` must
// outlive the service.
class KmsService final : public JsonService {
 public:
  KmsService(domain::kms::KeyDirectory& keys, keyring::Keyring& keyring);

  std::string_view target_prefix() const override { return "TrentService"; }
  std::string_view signing_name() const override { return "kms"; }

  // Operations: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
  // EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus,
  // RotateKeyOnDemand, ScheduleKeyDeletion, CancelKeyDeletion, CreateAlias,
  // UpdateAlias, DeleteAlias, ListAliases, Encrypt, Decrypt, ReEncrypt,
  // GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom.
  // Field errors are kInvalidArgument with kValidation (ValidationException)
  // or kMalformedInput (SerializationException); others come from the domain.
  Result<nlohmann::json> Call(std::string_view operation, const nlohmann::json& body,
                              const CallContext& context) override;

 private:
  domain::kms::KeyDirectory& keys_;
  domain::kms::KmsCrypto crypto_;
};

}  // namespace coffer::api::awsjson
