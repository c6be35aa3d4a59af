// The one permission check on the use of a KMS key, shared by the KMS API and
// by the services that use keys on a caller's behalf (SSM SecureString values,
// Secrets Manager secret values). Whether the caller calls kms:Decrypt itself
// or SSM calls it for a GetParameter WithDecryption, the same evaluation
// decides, with the same condition keys (the key's tags, the encryption
// context, kms:ViaService for a service's use) and the key's key policy.
//
// Key policies (as AWS KMS has them): a request on a key is allowed when no
// Deny of the key policy or of the caller's IAM policies applies, and the key
// policy allows the caller directly, or delegates to the account (an Allow
// naming "arn:aws:iam::ACCT:root") and an IAM policy allows it. A key created
// without a policy has the default key policy (DefaultKeyPolicy: the account
// root may do kms:*, i.e. IAM decides); an AWS managed key has AWS's managed
// key policy (ManagedKeyPolicy: its use through its service by any principal
// of the account, and Describe*/Get*/List* directly, delegated to IAM).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/awsjson/json_service.h"
#include "auth/authorizer.h"
#include "domain/kms/key_directory.h"
#include "domain/kms/kms_crypto.h"
#include "util/result.h"

namespace coffer::api::awsjson {

// The service that uses a key on the caller's behalf, or none (a direct KMS call).
enum class KmsVia { kDirect, kSsm, kSecretsManager };

// Checks `action` (e.g. "kms:Decrypt") on `key` for the caller, as AWS KMS
// does, with the condition keys:
//   aws:ResourceTag/<k>           each of the key's tags
//   kms:CallerAccount             the caller's account
//   kms:EncryptionContext:<k>     each pair of `context`
//   kms:EncryptionContextKeys     every key of `context`
//   kms:KeySpec, kms:KeyUsage, kms:KeyOrigin   SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, AWS_KMS
//   kms:ViaService                "ssm.<region>.amazonaws.com" /
//                                 "secretsmanager.<region>.amazonaws.com" (the
//                                 caller's signing region), absent for kDirect.
// The key's key policy takes part as described above. An AWS managed key's
// policy lets any caller of the account use it through its service, so there
// the service's own permission decides (no KMS check is made); a direct
// Encrypt/Decrypt on it is refused, as its policy grants the account only
// Describe*/Get*/List*.
// Returns kPermissionDenied (kAccessDenied) naming the action, the key ARN and
// the caller; through Secrets Manager the message begins "Access to KMS is not
// allowed." as AWS's does. A refusal is recorded as the request's decision
// (the first denial is what the audit record shows); an allowed use through a
// service is not, so the audit record of a read names the parameter or secret.
// `request_keys` adds the request's own condition keys (aws:RequestTag/*,
// aws:TagKeys for tagging).
Status AuthorizeKeyUse(const CallContext& context, const domain::kms::KeyMetadata& key,
                       std::string_view action, KmsVia via,
                       const domain::kms::EncryptionContext& encryption_context = {},
                       const auth::KeyMap& request_keys = {});

// The permission AuthorizeKeyUse checks, for a handler table's resource
// lookup (a key the request names): `action` on the key's ARN with the
// condition keys above and the key policy in force; none for an AWS managed
// key used through its service (nothing to check).
std::optional<auth::Permission> KeyPermission(const auth::Authenticated& caller,
                                              auth::RequestAuthorization& authz,
                                              const domain::kms::KeyMetadata& key,
                                              std::string_view action, KmsVia via,
                                              const domain::kms::EncryptionContext& encryption_context = {},
                                              const auth::KeyMap& request_keys = {});

// Same, for a key named by any KeyId form (resolved through `keys`). A key that
// does not resolve is left to the operation that follows, which reports it
// (kNotFound / kFailedPrecondition); no check is made and OK is returned.
Status AuthorizeKeyUse(const CallContext& context, domain::kms::KeyDirectory& keys,
                       std::string_view key_id, std::string_view action, KmsVia via,
                       const domain::kms::EncryptionContext& encryption_context = {});

// The key policy AWS gives a key created without one ("key-default-1": the
// account root may do kms:*, which delegates the key to IAM policies).
std::string DefaultKeyPolicy(std::string_view account_id);

// AWS's key policy of an AWS managed key: use through the key's service
// (ssm / secretsmanager, by `key.description`) by any principal of the key's
// account
// (kms:ViaService, kms:CallerAccount), and kms:Describe*, Get*, List*,
// RevokeGrant delegated to the account.
std::string ManagedKeyPolicy(const domain::kms::KeyMetadata& key);

// The key policy in force on `key`: its own, else ManagedKeyPolicy for an AWS
// managed key, else DefaultKeyPolicy (also for keys stored before key
// policies existed).
std::string EffectiveKeyPolicy(const domain::kms::KeyMetadata& key);

// Validates a key policy given to CreateKey or PutKeyPolicy: a resource
// policy (auth::ParseResourcePolicy) whose principals are ARNs, account ids or
// "*". kInvalidArgument (kMalformedPolicy) otherwise.
Status ValidateKeyPolicy(std::string_view policy);

// The policy lockout safety check (CreateKey's Policy, PutKeyPolicy): OK when
// `policy` would let the caller call kms:PutKeyPolicy on `key_arn` later
// (directly, or by delegation to the account and the caller's IAM policies),
// or when nothing is checked (Unrestricted); otherwise kInvalidArgument
// (kMalformedPolicy) "The new key policy will not allow you to update the key
// policy in the future." Not recorded as the request's decision.
// REQUIRES: ValidateKeyPolicy(policy) is OK.
Status CheckPolicyLockout(const auth::Authenticated& caller, auth::RequestAuthorization& authz,
                          std::string_view key_arn, std::string_view policy);

}  // namespace coffer::api::awsjson
