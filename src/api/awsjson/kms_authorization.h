// The one permission check on the use of a KMS key, shared by the KMS API and
// by the services that use keys on a caller's behalf (SSM SecureString values,
// Secrets Manager secret values). Whether the caller calls kms:Decrypt itself
// or SSM calls it for a GetParameter WithDecryption, the same evaluation
// decides, with the same condition keys (the key's tags, the encryption
// context, kms:ViaService for a service's use). Key policies (#11) join this
// evaluation here.
#pragma once

#include <string_view>

#include "api/awsjson/json_service.h"
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
// An AWS managed key (alias/aws/ssm, alias/aws/secretsmanager) used through a
// service is not checked: as on AWS, its key policy lets any caller of the
// account use it through that service, so the service's own permission is what
// decides. Allowed when context.authz is null (no authorization).
// Returns kPermissionDenied (kAccessDenied) naming the action, the key ARN and
// the caller; through Secrets Manager the message begins "Access to KMS is not
// allowed." as AWS's does. A refusal is recorded as the request's decision
// (the first denial is what the audit record shows); an allowed use through a
// service is not, so the audit record of a read names the parameter or secret.
Status AuthorizeKeyUse(const CallContext& context, const domain::kms::KeyMetadata& key,
                       std::string_view action, KmsVia via,
                       const domain::kms::EncryptionContext& encryption_context = {});

// Same, for a key named by any KeyId form (resolved through `keys`). A key that
// does not resolve is left to the operation that follows, which reports it
// (kNotFound / kFailedPrecondition); no check is made and OK is returned.
Status AuthorizeKeyUse(const CallContext& context, domain::kms::KeyDirectory& keys,
                       std::string_view key_id, std::string_view action, KmsVia via,
                       const domain::kms::EncryptionContext& encryption_context = {});

}  // namespace coffer::api::awsjson
