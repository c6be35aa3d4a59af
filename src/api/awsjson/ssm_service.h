// SSM Parameter Store over AWS JSON 1.1 (X-Amz-Target "AmazonSSM.<Op>", signing
// name "ssm"): maps each operation's JSON members (botocore model names) to
// domain::parameters::ParameterStore and back. Coverage: docs/ssm-coverage.md.
#pragma once

#include <string_view>

#include "api/awsjson/json_service.h"
#include "domain/parameters/parameter_store.h"

namespace coffer::api::awsjson {

// Thread-safe (the store is). `store` must outlive the service.
class SsmService final : public JsonService {
 public:
  explicit SsmService(domain::parameters::ParameterStore& store);

  std::string_view target_prefix() const override { return "AmazonSSM"; }
  std::string_view signing_name() const override { return "ssm"; }

  // Operations: PutParameter, GetParameter, GetParameters, GetParametersByPath,
  // DeleteParameter, DeleteParameters, GetParameterHistory, DescribeParameters,
  // LabelParameterVersion, UnlabelParameterVersion, AddTagsToResource,
  // RemoveTagsFromResource, ListTagsForResource. Field errors are
  // kInvalidArgument with kValidation (ValidationException) or kMalformedInput
  // (SerializationException); others come from the store. A SecureString
  // under a customer managed KMS key also needs the caller's kms:Decrypt
  // (reads WithDecryption; one refused value fails the whole call) or
  // kms:Encrypt (PutParameter) on that key, with kms:ViaService and
  // kms:EncryptionContext:PARAMETER_ARN (AuthorizeKeyUse, asked by the store
  // before it decrypts or seals); a refusal is
  // AccessDeniedException naming the kms action, the key ARN and the caller.
  // Each operation's resource is the parameter it names (any name form:
  // bare name, ARN, name:version, name:label), resolved by
  // ParameterStore::Resolve; GetParametersByPath's is the path's ARN;
  // DescribeParameters' is "*", and its listing shows only what the caller
  // may describe.
  const JsonOperation* Find(std::string_view operation) const override;

  // Whether the caller behind `authz` may GetParameter the parameter `name`
  // (canonical name), decided exactly as GetParameter's authorization: the
  // canonical ARN with its tags as condition keys. Fail closed: false for a
  // parameter that no longer exists when the caller's policies need resource
  // tags. Used by the change feed to filter what it shows. Thread-safe.
  bool MayReadValue(std::string_view name, auth::RequestAuthorization& authz);

 private:
  domain::parameters::ParameterStore& store_;
  OperationTable operations_;
};

}  // namespace coffer::api::awsjson
