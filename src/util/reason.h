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
  kKeyMaterialDamaged,  // stored key material does not open under the root key (tampered)
  // keyring/seal (production mode)
  kSealed,              // the server is sealed: only health, status, init and unseal answer
  kNotInitialized,      // production data directory that `coffer operator init` has not set up
  kAlreadyInitialized,
  kCorruptShare,        // not a share at all (bad base64, length, check bytes)
  kInvalidShare,        // a well-formed share that is not one of the current ones

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
  kPublicPolicy,  // a resource policy grants broad access and BlockPublicPolicy is set
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
  kDeleteConflict,   // entity still has keys, policies, members or attachments
  kLimitExceeded,    // IAM quota (access keys per user, policy versions, attachments)

  // domain/secrets
  kSecretNotFound,
  kSecretVersionNotFound,
  kSecretAlreadyExists,
  kSecretVersionAlreadyExists,
  kSecretScheduledForDeletion,
  kSecretInvalidParameter,
  kSecretVersionStageMismatch,
  kSecretStageLimitExceeded,
  kRotationInProgress,
  kRotationNotConfigured,
  kSecretEncryptionFailure,
  kSecretDecryptionFailure,

  // domain/kms (the KMS API; kInvalidKeyId / kKeyNotFound / kKeyDisabled above also apply)
  kKmsInvalidState,          // operation not allowed in the key's state (pending deletion, ...)
  kKmsIncorrectKey,          // Decrypt KeyId names another key than the ciphertext's
  kKmsInvalidCiphertext,     // not a KMS ciphertext, tampered, or wrong encryption context
  kKmsAliasExists,
  kKmsAliasNotFound,
  kKmsInvalidAliasName,
  kKmsInvalidArn,
  kKmsUnsupportedOperation,  // asymmetric/HMAC keys, changes to AWS-managed keys
  kKmsInvalidKeyUsage,       // an encryption algorithm the key does not support
  kKmsTagError,              // a tag (key or value) KMS refuses (TagException)

  // domain/s3 and api/s3
  kNoSuchBucket,
  kNoSuchKey,
  kNoSuchUpload,
  kNoSuchBucketPolicy,
  kBucketAlreadyOwnedByYou,
  kBucketNotEmpty,
  kInvalidBucketName,
  kEntityTooLarge,
  kEntityTooSmall,
  kInvalidPart,
  kInvalidPartOrder,
  kInvalidRange,
  kInvalidDigest,      // a Content-MD5 / x-amz-checksum-* that is not a well-formed digest
  kBadDigest,          // a digest that does not match the bytes received
  kMalformedXml,
  kInvalidS3Request,   // S3's InvalidRequest / InvalidArgument
  kNotImplemented,
  kPreconditionFailed,
};

}  // namespace coffer::util
