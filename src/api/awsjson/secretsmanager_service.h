// Secrets Manager over AWS JSON 1.1 (X-Amz-Target "secretsmanager.<Op>", signing
// name "secretsmanager"): maps each operation's JSON members (botocore model
// names) to domain::secrets::SecretStore and back. Timestamps are epoch-seconds
// numbers, SecretBinary is base64. Coverage: docs/secretsmanager-coverage.md.
#pragma once

#include <string_view>

#include "api/awsjson/json_service.h"
#include "domain/kms/key_directory.h"
#include "domain/secrets/secret_store.h"

namespace coffer::api::awsjson {

// Thread-safe (the store is). `store` must outlive the service.
class SecretsManagerService final : public JsonService {
 public:
  // `keys` must be the directory `store` seals values under.
  SecretsManagerService(domain::secrets::SecretStore& store, domain::kms::KeyDirectory& keys);

  std::string_view target_prefix() const override { return "secretsmanager"; }
  std::string_view signing_name() const override { return "secretsmanager"; }

  // Operations: CreateSecret, GetSecretValue, BatchGetSecretValue,
  // PutSecretValue, UpdateSecret, DescribeSecret, ListSecrets,
  // ListSecretVersionIds, DeleteSecret, RestoreSecret, UpdateSecretVersionStage,
  // RotateSecret, CancelRotateSecret, TagResource, UntagResource,
  // GetRandomPassword, PutResourcePolicy, GetResourcePolicy,
  // DeleteResourcePolicy, ValidateResourcePolicy. With authorization on
  // (context.authz), every call naming a secret is checked against the
  // caller's identity policies and the secret's resource policy (compiled once
  // per policy revision and cached here); BatchGetSecretValue by Filters leaves
  // out, as AccessDeniedException entries in Errors, the secrets the caller may
  // not read. A resource policy that does not parse is
  // MalformedPolicyDocumentException (kMalformedPolicy); one that grants broad
  // access with BlockPublicPolicy is PublicPolicyException (kPublicPolicy). Field errors are kInvalidArgument with kValidation
  // (ValidationException), kMalformedInput (SerializationException) or
  // kSecretInvalidParameter (InvalidParameterException); others come from the
  // store. No error message carries a secret value. A value under a customer
  // managed KMS key also needs the caller's kms:Decrypt (reads) or
  // kms:GenerateDataKey (writes) on that key (AuthorizeKeyUse, with
  // kms:ViaService and the SecretARN / SecretVersionId encryption context); a
  // refusal is AccessDeniedException ("Access to KMS is not allowed. ...").
  // Each operation's resource is declared in its handler table: the secret
  // its SecretId names (name, full or partial ARN; the check is on the
  // canonical ARN with its tags and resource policy), the ARN-to-be for
  // CreateSecret, "*" for the account-wide operations; BatchGetSecretValue
  // also needs GetSecretValue on each named secret, as on AWS.
  const JsonOperation* Find(std::string_view operation) const override;

  // Whether the caller behind `authz` may GetSecretValue the secret
  // `secret_id`, decided exactly as GetSecretValue's authorization: the
  // secret's ARN, its tags and its resource policy. Fail closed: false for a
  // secret that no longer exists when the caller's policies need resource
  // tags. Used by the change feed to filter what it shows. Thread-safe.
  bool MayReadValue(std::string_view secret_id, auth::RequestAuthorization& authz);

 private:
  domain::secrets::SecretStore& store_;
  domain::kms::KeyDirectory& keys_;
  auth::PolicyCache resource_policies_;  // by secret ARN, at the head's revision
  OperationTable operations_;
};

}  // namespace coffer::api::awsjson
