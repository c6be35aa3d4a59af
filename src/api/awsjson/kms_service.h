// KMS over AWS JSON 1.1 (X-Amz-Target "TrentService.<Op>", signing name "kms"):
// maps each operation's JSON members (botocore model names; blobs base64,
// timestamps epoch seconds) to domain::kms::KeyDirectory / KmsCrypto and back.
// Coverage and known differences: docs/kms-coverage.md.
#pragma once

#include <string_view>

#include "api/awsjson/json_service.h"
#include "domain/kms/key_directory.h"
#include "domain/kms/kms_crypto.h"
#include "domain/parameters/parameter_store.h"
#include "domain/secrets/secret_store.h"
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
  // UpdateAlias, DeleteAlias, ListAliases, TagResource, UntagResource,
  // ListResourceTags, Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
  // GenerateDataKeyWithoutPlaintext, GenerateRandom; and, once EnableRewrap()
  // ran, Coffer's own RewrapStoredValues. Every check on a key goes through
  // AuthorizeKeyUse (kms_authorization.h): the key's tags are its
  // aws:ResourceTag/* condition keys; tag operations also carry
  // aws:RequestTag/* and aws:TagKeys. Tag errors: TagException (kKmsTagError),
  // LimitExceededException (kTooManyTags, over 50 tags).
  // Field errors are kInvalidArgument with kValidation (ValidationException)
  // or kMalformedInput (SerializationException); others come from the domain.
  // Each operation's resources are declared in its handler table: the key a
  // KeyId names (any form; the check is on the key ARN), the key a
  // ciphertext names, the alias ARN for alias operations, "*" for CreateKey,
  // ListKeys, ListAliases and GenerateRandom.
  const JsonOperation* Find(std::string_view operation) const override;

  // Serves RewrapStoredValues (a Coffer extension, IAM action
  // kms:RewrapStoredValues on the key ARN, or "*" without KeyId): re-encrypts
  // the stored values of `parameters` and `secrets` that are under an older
  // version of their KMS key's material under the newest version
  // (ParameterStore/SecretStore::RewrapValues). Request {"KeyId"?}; answer
  // {"Parameters": {"Scanned", "Rewrapped"}, "Secrets": {...}, "Failures":
  // [record: message]}. Call before serving; both must outlive the service.
  void EnableRewrap(domain::parameters::ParameterStore& parameters,
                    domain::secrets::SecretStore& secrets);

 private:
  domain::kms::KeyDirectory& keys_;
  domain::kms::KmsCrypto crypto_;
  domain::parameters::ParameterStore* parameters_ = nullptr;
  domain::secrets::SecretStore* secrets_ = nullptr;
  OperationTable operations_;
};

}  // namespace coffer::api::awsjson
