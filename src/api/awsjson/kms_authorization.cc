#include "api/awsjson/kms_authorization.h"

#include <map>
#include <string>
#include <vector>

namespace coffer::api::awsjson {
namespace {

std::string_view ServiceHost(KmsVia via) {
  switch (via) {
    case KmsVia::kSsm:
      return "ssm";
    case KmsVia::kSecretsManager:
      return "secretsmanager";
    case KmsVia::kDirect:
      break;
  }
  return "";
}

}  // namespace

Status AuthorizeKeyUse(const CallContext& context, const domain::kms::KeyMetadata& key,
                       std::string_view action, KmsVia via,
                       const domain::kms::EncryptionContext& encryption_context) {
  if (context.authz == nullptr) return Ok();
  // The key policy of an AWS managed key allows its use to every principal of
  // the account through the service it belongs to; the service has already
  // checked its own permission.
  if (via != KmsVia::kDirect && key.aws_managed) return Ok();
  std::map<std::string, std::vector<std::string>> keys;
  for (const domain::Tag& t : key.tags) keys["aws:ResourceTag/" + t.key].push_back(t.value);
  keys["kms:CallerAccount"] = {context.caller.principal.account_id};
  keys["kms:KeySpec"] = {"SYMMETRIC_DEFAULT"};
  keys["kms:KeyUsage"] = {"ENCRYPT_DECRYPT"};
  keys["kms:KeyOrigin"] = {"AWS_KMS"};
  auto& names = keys["kms:EncryptionContextKeys"];
  for (const auto& [k, v] : encryption_context) {
    keys["kms:EncryptionContext:" + k] = {v};
    names.push_back(k);
  }
  if (names.empty()) keys.erase("kms:EncryptionContextKeys");
  if (via != KmsVia::kDirect) {
    keys["kms:ViaService"] = {std::string(ServiceHost(via)) + "." + context.caller.scope.region +
                              ".amazonaws.com"};
  }
  if (via != KmsVia::kDirect && IsAllowed(context, action, key.arn, keys)) {
    // The service's own check stays the request's recorded decision (and
    // resource) when the key's use is allowed; a refusal is recorded below.
    return Ok();
  }
  Status allowed = Authorize(context, action, key.arn, keys);
  if (allowed || via != KmsVia::kSecretsManager) return allowed;
  // Secrets Manager words a KMS refusal its own way; the detail follows.
  Error e = std::move(allowed).error();
  e.message = "Access to KMS is not allowed. " + e.message;
  return std::unexpected(std::move(e));
}

Status AuthorizeKeyUse(const CallContext& context, domain::kms::KeyDirectory& keys,
                       std::string_view key_id, std::string_view action, KmsVia via,
                       const domain::kms::EncryptionContext& encryption_context) {
  if (context.authz == nullptr) return Ok();
  auto key = keys.Resolve(key_id, /*require_enabled=*/false);
  if (!key) return Ok();  // the operation that follows reports the bad key
  return AuthorizeKeyUse(context, *key, action, via, encryption_context);
}

}  // namespace coffer::api::awsjson
