#include "api/awsjson/errors.h"

#include <array>

namespace coffer::api::awsjson {
namespace {

struct Row {
  std::string_view service;  // "*" = every JSON service
  ErrorCode code;
  Reason reason;
  std::string_view wire_code;
  int status;
  bool capital_message;
};

using C = ErrorCode;
using R = Reason;

// The table. Order matters only where a service row overrides a "*" row: the
// first match wins, so service rows come first.
constexpr auto kTable = std::to_array<Row>({
    // SSM Parameter Store.
    {"ssm", C::kNotFound, R::kParameterNotFound, "ParameterNotFound", 400, false},
    {"ssm", C::kNotFound, R::kParameterVersionNotFound, "ParameterVersionNotFound", 400, false},
    {"ssm", C::kAlreadyExists, R::kParameterAlreadyExists, "ParameterAlreadyExists", 400, false},
    {"ssm", C::kFailedPrecondition, R::kParameterMaxVersionLimitExceeded,
     "ParameterMaxVersionLimitExceeded", 400, false},
    {"ssm", C::kResourceExhausted, R::kParameterVersionLabelLimitExceeded,
     "ParameterVersionLabelLimitExceeded", 400, false},
    {"ssm", C::kResourceExhausted, R::kParameterLimitExceeded, "ParameterLimitExceeded", 400,
     false},
    {"ssm", C::kInvalidArgument, R::kHierarchyLevelLimitExceeded,
     "HierarchyLevelLimitExceededException", 400, false},
    {"ssm", C::kInvalidArgument, R::kHierarchyTypeMismatch, "HierarchyTypeMismatchException", 400,
     false},
    {"ssm", C::kInvalidArgument, R::kParameterPatternMismatch,
     "ParameterPatternMismatchException", 400, false},
    {"ssm", C::kInvalidArgument, R::kInvalidAllowedPattern, "InvalidAllowedPatternException", 400,
     false},
    {"ssm", C::kNotFound, R::kInvalidKeyId, "InvalidKeyId", 400, false},
    {"ssm", C::kNotFound, R::kKeyNotFound, "InvalidKeyId", 400, false},
    {"ssm", C::kFailedPrecondition, R::kKeyDisabled, "InvalidKeyId", 400, false},
    {"ssm", C::kInvalidArgument, R::kInvalidKeyId, "InvalidKeyId", 400, false},
    {"ssm", C::kFailedPrecondition, R::kKmsInvalidState, "InvalidKeyId", 400, false},
    {"ssm", C::kInvalidArgument, R::kUnsupportedParameterType, "UnsupportedParameterType", 400,
     false},
    {"ssm", C::kInvalidArgument, R::kInvalidFilterKey, "InvalidFilterKey", 400, false},
    {"ssm", C::kInvalidArgument, R::kInvalidFilterOption, "InvalidFilterOption", 400, false},
    {"ssm", C::kInvalidArgument, R::kInvalidFilterValue, "InvalidFilterValue", 400, false},
    {"ssm", C::kInvalidArgument, R::kInvalidNextToken, "InvalidNextToken", 400, true},
    {"ssm", C::kNotFound, R::kInvalidResourceId, "InvalidResourceId", 400, false},
    {"ssm", C::kInvalidArgument, R::kInvalidResourceType, "InvalidResourceType", 400, false},
    {"ssm", C::kResourceExhausted, R::kTooManyTags, "TooManyTagsError", 400, false},
    {"ssm", C::kAborted, R::kTooManyUpdates, "TooManyUpdates", 400, true},
    {"ssm", C::kAborted, R::kCasConflict, "TooManyUpdates", 400, true},
    {"ssm", C::kInvalidArgument, R::kReservedParameterName, "ValidationException", 400, false},
    {"ssm", C::kInvalidArgument, R::kUnsupportedParameterTierChange, "ValidationException", 400,
     false},

    // KMS (spec 2.3; every KMS error uses "message").
    {"kms", C::kNotFound, R::kInvalidKeyId, "NotFoundException", 400, false},
    {"kms", C::kNotFound, R::kKeyNotFound, "NotFoundException", 400, false},
    {"kms", C::kNotFound, R::kKmsAliasNotFound, "NotFoundException", 400, false},
    {"kms", C::kFailedPrecondition, R::kKeyDisabled, "DisabledException", 400, false},
    {"kms", C::kFailedPrecondition, R::kKmsInvalidState, "KMSInvalidStateException", 400, false},
    {"kms", C::kInvalidArgument, R::kKmsIncorrectKey, "IncorrectKeyException", 400, false},
    {"kms", C::kInvalidArgument, R::kKmsInvalidCiphertext, "InvalidCiphertextException", 400,
     false},
    {"kms", C::kAlreadyExists, R::kKmsAliasExists, "AlreadyExistsException", 400, false},
    {"kms", C::kInvalidArgument, R::kKmsInvalidAliasName, "InvalidAliasNameException", 400, false},
    {"kms", C::kInvalidArgument, R::kInvalidNextToken, "InvalidMarkerException", 400, false},
    {"kms", C::kInvalidArgument, R::kKmsInvalidArn, "InvalidArnException", 400, false},
    {"kms", C::kInvalidArgument, R::kKmsUnsupportedOperation, "UnsupportedOperationException",
     400, false},
    {"kms", C::kInvalidArgument, R::kKmsInvalidKeyUsage, "InvalidKeyUsageException", 400, false},
    {"kms", C::kInvalidArgument, R::kKmsTagError, "TagException", 400, false},
    {"kms", C::kResourceExhausted, R::kTooManyTags, "LimitExceededException", 400, false},
    {"kms", C::kInvalidArgument, R::kMalformedPolicy, "MalformedPolicyDocumentException", 400,
     false},

    // Secrets Manager (spec 1.4, 2.2; its shapes spell "Message").
    {"secretsmanager", C::kNotFound, R::kSecretNotFound, "ResourceNotFoundException", 400, true},
    {"secretsmanager", C::kNotFound, R::kSecretVersionNotFound, "ResourceNotFoundException", 400,
     true},
    {"secretsmanager", C::kAlreadyExists, R::kSecretAlreadyExists, "ResourceExistsException", 400,
     true},
    {"secretsmanager", C::kAlreadyExists, R::kSecretVersionAlreadyExists,
     "ResourceExistsException", 400, true},
    {"secretsmanager", C::kFailedPrecondition, R::kSecretScheduledForDeletion,
     "InvalidRequestException", 400, true},
    {"secretsmanager", C::kFailedPrecondition, R::kSecretVersionStageMismatch,
     "InvalidRequestException", 400, true},
    {"secretsmanager", C::kFailedPrecondition, R::kRotationInProgress, "InvalidRequestException",
     400, true},
    {"secretsmanager", C::kFailedPrecondition, R::kRotationNotConfigured,
     "InvalidRequestException", 400, true},
    {"secretsmanager", C::kInvalidArgument, R::kSecretInvalidParameter,
     "InvalidParameterException", 400, true},
    {"secretsmanager", C::kResourceExhausted, R::kSecretStageLimitExceeded,
     "LimitExceededException", 400, true},
    {"secretsmanager", C::kFailedPrecondition, R::kSecretEncryptionFailure, "EncryptionFailure",
     400, true},
    {"secretsmanager", C::kFailedPrecondition, R::kSecretDecryptionFailure, "DecryptionFailure",
     400, true},
    {"secretsmanager", C::kDataLoss, R::kCiphertextTampered, "DecryptionFailure", 400, true},
    {"secretsmanager", C::kDataLoss, R::kCiphertextMalformed, "DecryptionFailure", 400, true},
    {"secretsmanager", C::kInvalidArgument, R::kInvalidNextToken, "InvalidNextTokenException", 400,
     true},
    {"secretsmanager", C::kAborted, R::kTooManyUpdates, "InternalServiceError", 500, true},
    {"secretsmanager", C::kInvalidArgument, R::kMalformedPolicy,
     "MalformedPolicyDocumentException", 400, true},
    {"secretsmanager", C::kInvalidArgument, R::kPublicPolicy, "PublicPolicyException", 400, true},

    // Stored KMS key material that no longer opens under the root key: a
    // server-side fault, named in the message (never a value).
    {"ssm", C::kDataLoss, R::kKeyMaterialDamaged, "InternalServerError", 500, true},
    {"secretsmanager", C::kDataLoss, R::kKeyMaterialDamaged, "InternalServiceError", 500, true},
    {"kms", C::kDataLoss, R::kKeyMaterialDamaged, "KMSInternalException", 500, false},

    // The request could not be audited (or storage is unavailable): refused as
    // a server-side fault, which SDKs retry.
    {"ssm", C::kUnavailable, R::kNone, "InternalServerError", 500, true},
    {"secretsmanager", C::kUnavailable, R::kNone, "InternalServiceError", 500, true},
    {"kms", C::kUnavailable, R::kNone, "KMSInternalException", 500, false},

    // Every JSON service: framing and validation.
    {"*", C::kInvalidArgument, R::kValidation, "ValidationException", 400, false},
    {"*", C::kInvalidArgument, R::kMalformedInput, "SerializationException", 400, false},
    {"*", C::kInvalidArgument, R::kUnknownOperation, "UnknownOperationException", 400, false},
    {"*", C::kInvalidArgument, R::kPayloadTooLarge, "ValidationException", 400, false},
    {"*", C::kPermissionDenied, R::kAccessDenied, "AccessDeniedException", 400, false},

    // Every JSON service: authentication (spec 1.4, 5.4).
    {"*", C::kUnauthenticated, R::kMissingAuthenticationToken,
     "MissingAuthenticationTokenException", 403, false},
    {"*", C::kUnauthenticated, R::kIncompleteSignature, "IncompleteSignatureException", 400,
     false},
    {"*", C::kUnauthenticated, R::kSignatureExpired, "InvalidSignatureException", 400, false},
    {"*", C::kUnauthenticated, R::kSignatureNotYetCurrent, "InvalidSignatureException", 400,
     false},
    {"*", C::kUnauthenticated, R::kSignatureMismatch, "InvalidSignatureException", 400, false},
    {"*", C::kUnauthenticated, R::kUnknownAccessKey, "UnrecognizedClientException", 400, false},
    {"*", C::kUnauthenticated, R::kInvalidSecurityToken, "UnrecognizedClientException", 400,
     false},
    {"*", C::kUnauthenticated, R::kExpiredSecurityToken, "ExpiredTokenException", 400, false},
});

WireError InternalError(std::string_view service) {
  if (service == "secretsmanager") return WireError{"InternalServiceError", 500, true, false};
  if (service == "kms") return WireError{"KMSInternalException", 500, false, false};
  return WireError{"InternalServerError", 500, true, false};
}

}  // namespace

WireError MapError(std::string_view service, const Error& error) {
  for (const Row& row : kTable) {
    if (row.code == error.code && row.reason == error.reason &&
        (row.service == service || row.service == "*")) {
      // Secrets Manager's shapes spell the member "Message" throughout.
      bool capital = row.capital_message || service == "secretsmanager";
      return WireError{row.wire_code, row.status, capital, true};
    }
  }
  return InternalError(service);
}

}  // namespace coffer::api::awsjson
