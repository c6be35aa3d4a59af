// Reason: exactly what went wrong, in domain words. One enum for the project,
// in sections per area, so that api/ maps (service, code, reason) to the exact
// AWS error without domain/ knowing AWS. Not persisted; may be reordered.
#pragma once

namespace coffer::util {

enum class Reason {
  kNone,
  // Generic input validation (a field failed its constraint).
  kValidation,
  kMalformedInput,
  kUnknownOperation,
  kPayloadTooLarge,

  // storage/
  kCasConflict,
  kRevisionCompacted,

  // keyring/ and crypto/
  kCiphertextTampered,
  kCiphertextMalformed,
  kKeyNotFound,
  kKeyDisabled,
  kKeyVersionNotFound,
  kRootKeyMismatch,

  // auth/ (SigV4)
  kMissingAuthenticationToken,
  kIncompleteSignature,
  kSignatureExpired,
  kSignatureNotYetCurrent,
  kSignatureMismatch,
  kUnknownAccessKey,
  kInvalidSecurityToken,
  kExpiredSecurityToken,
  kAccessDenied,
  kMalformedPolicy,
  kInvalidIdentityToken,
  kExpiredIdentityToken,
  kIdpRejectedClaim,
  kIdpCommunicationError,

  // domain/parameters
  kParameterNotFound,
  kParameterVersionNotFound,
  kParameterAlreadyExists,
  kParameterMaxVersionLimitExceeded,
  kParameterVersionLabelLimitExceeded,
  kParameterLimitExceeded,
  kHierarchyLevelLimitExceeded,
  kHierarchyTypeMismatch,
  kParameterPatternMismatch,
  kInvalidAllowedPattern,
  kInvalidKeyId,
  kUnsupportedParameterType,
  kInvalidFilterKey,
  kInvalidFilterOption,
  kInvalidFilterValue,
  kInvalidNextToken,
  kInvalidResourceId,
  kInvalidResourceType,
  kTooManyTags,
  kTooManyUpdates,
  kReservedParameterName,
  kUnsupportedParameterTierChange,

  // domain/iam
  kNoSuchEntity,
  kEntityAlreadyExists,
};

}  // namespace coffer::util
