#include "api/awsjson/kms_authorization.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "auth/policy.h"
#include "crypto/crypto.h"
#include "domain/arn.h"

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

// The account field of "arn:aws:kms:<region>:<account>:key/<id>".
std::string_view AccountOf(std::string_view arn) {
  for (int i = 0; i < 4; ++i) {
    size_t colon = arn.find(':');
    if (colon == std::string_view::npos) return "";
    arn.remove_prefix(colon + 1);
  }
  return arn.substr(0, arn.find(':'));
}

bool IsSecretsManagerKey(const domain::kms::KeyMetadata& key) {
  return key.description.find("Secrets Manager") != std::string::npos;
}

// The key policy in force on `key`, compiled (PolicyKind::kResource) and
// memoized by the request's Authorizer under the text's SHA-256 (or the key's
// ARN for an AWS managed key's fixed policy), so a changed policy can never be
// served its predecessor's compiled form.
std::shared_ptr<const auth::CompiledPolicies> CompiledKeyPolicy(
    auth::RequestAuthorization& authz, const domain::kms::KeyMetadata& key) {
  std::string cache_key =
      key.policy.empty() ? "managed:" + key.arn : "sha256:" + crypto::Sha256Hex(key.policy);
  return authz.ResourcePolicy(cache_key, 0, [&key]() -> std::vector<auth::PolicyText> {
    return {{key.arn + "/key-policy", EffectiveKeyPolicy(key)}};
  });
}

// The operations KMS refuses on an AWS managed key whoever calls them
// (UnsupportedOperationException, domain/kms). Their permission is left to the
// IAM policies, so that an allowed caller learns that refusal rather than an
// AccessDenied from the managed key policy; nothing is changed either way.
bool RefusedOnManagedKeys(std::string_view action) {
  static constexpr std::string_view kRefused[] = {
      "kms:DisableKey",        "kms:EnableKeyRotation",   "kms:DisableKeyRotation",
      "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
      "kms:UntagResource",     "kms:PutKeyPolicy"};
  for (std::string_view a : kRefused) {
    if (a == action) return true;
  }
  return false;
}

std::string Quoted(std::string_view s) { return nlohmann::json(std::string(s)).dump(); }

}  // namespace

std::string DefaultKeyPolicy(std::string_view account_id) {
  return R"({"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User )"
         R"(Permissions","Effect":"Allow","Principal":{"AWS":)" +
         Quoted(domain::IamArn(account_id, "root", "", "")) +
         R"(},"Action":"kms:*","Resource":"*"}]})";
}

std::string ManagedKeyPolicy(const domain::kms::KeyMetadata& key) {
  bool sm = IsSecretsManagerKey(key);
  std::string service = sm ? "secretsmanager" : "ssm";
  std::string via_sid = sm ? "Allow access through AWS Secrets Manager for all principals in the "
                             "account that are authorized to use AWS Secrets Manager"
                           : "Allow access through Systems Manager for all principals in the "
                             "account that are authorized to use Systems Manager";
  std::string account(AccountOf(key.arn));
  return R"({"Version":"2012-10-17","Id":")" +
         std::string(sm ? "auto-secretsmanager-2" : "auto-ssm-1") + R"(","Statement":[{"Sid":)" +
         Quoted(via_sid) +
         R"(,"Effect":"Allow","Principal":{"AWS":"*"},"Action":["kms:Encrypt","kms:Decrypt",)"
         R"("kms:ReEncrypt*","kms:GenerateDataKey*","kms:CreateGrant","kms:DescribeKey"],)"
         R"("Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":")" +
         account + R"("},"StringLike":{"kms:ViaService":")" + service +
         R"(.*.amazonaws.com"}}},{"Sid":"Allow direct access to key metadata to the account",)"
         R"("Effect":"Allow","Principal":{"AWS":)" + Quoted(domain::IamArn(account, "root", "", "")) +
         R"(},"Action":["kms:Describe*","kms:Get*","kms:List*","kms:RevokeGrant"],)"
         R"("Resource":"*"}]})";
}

std::string EffectiveKeyPolicy(const domain::kms::KeyMetadata& key) {
  if (!key.policy.empty()) return key.policy;
  return key.aws_managed ? ManagedKeyPolicy(key) : DefaultKeyPolicy(AccountOf(key.arn));
}

Status ValidateKeyPolicy(std::string_view policy) {
  auto parsed = auth::ParseResourcePolicy(policy);
  if (!parsed) return std::unexpected(std::move(parsed).error());
  return Ok();
}

Status CheckPolicyLockout(const auth::Authenticated& caller, auth::RequestAuthorization& authz,
                          std::string_view key_arn, std::string_view policy) {
  if (authz.Unrestricted()) return Ok();
  // Compiled on its own: a refused policy does not enter the shared memo.
  auto compiled =
      auth::CompilePolicies(auth::PolicyKind::kResource, {{"new-key-policy", std::string(policy)}});
  auth::KeyMap keys;
  keys["kms:CallerAccount"] = {caller.principal.account_id};
  if (authz.AllowedByKeyPolicy("kms:PutKeyPolicy", key_arn, keys, *compiled)) return Ok();
  return Fail(ErrorCode::kInvalidArgument,
              "The new key policy will not allow you to update the key policy in the future.",
              Reason::kMalformedPolicy);
}

std::optional<auth::Permission> KeyPermission(const auth::Authenticated& caller,
                                              auth::RequestAuthorization& authz,
                                              const domain::kms::KeyMetadata& key,
                                              std::string_view action, KmsVia via,
                                              const domain::kms::EncryptionContext& encryption_context,
                                              const auth::KeyMap& request_keys) {
  // An AWS managed key's policy allows its use through its service to every
  // principal of the account (its first statement); the service has already
  // checked its own permission. Decided here without evaluating it, since this
  // is every default SecureString and secret read.
  if (via != KmsVia::kDirect && key.aws_managed) return std::nullopt;
  auth::Permission p;
  p.action = std::string(action);
  p.resource = key.arn;
  p.keys = request_keys;
  for (const domain::Tag& t : key.tags) p.keys["aws:ResourceTag/" + t.key].push_back(t.value);
  p.keys["kms:CallerAccount"] = {caller.principal.account_id};
  p.keys["kms:KeySpec"] = {"SYMMETRIC_DEFAULT"};
  p.keys["kms:KeyUsage"] = {"ENCRYPT_DECRYPT"};
  p.keys["kms:KeyOrigin"] = {"AWS_KMS"};
  auto& names = p.keys["kms:EncryptionContextKeys"];
  for (const auto& [k, v] : encryption_context) {
    p.keys["kms:EncryptionContext:" + k] = {v};
    names.push_back(k);
  }
  if (names.empty()) p.keys.erase("kms:EncryptionContextKeys");
  if (via != KmsVia::kDirect) {
    p.keys["kms:ViaService"] = {std::string(ServiceHost(via)) + "." + caller.scope.region +
                                ".amazonaws.com"};
  }
  // A key without a policy of its own and not AWS managed has the default key
  // policy, which delegates every kms: action to the account: the IAM policies
  // alone decide, exactly as evaluating it would (and without compiling it).
  if (!key.policy.empty() || (key.aws_managed && !RefusedOnManagedKeys(action))) {
    p.policy = CompiledKeyPolicy(authz, key);
    p.role = auth::Permission::PolicyRole::kKey;
  }
  return p;
}

Status AuthorizeKeyUse(const CallContext& context, const domain::kms::KeyMetadata& key,
                       std::string_view action, KmsVia via,
                       const domain::kms::EncryptionContext& encryption_context,
                       const auth::KeyMap& request_keys) {
  if (context.authz.Unrestricted() || context.caller == nullptr) {
    return context.authz.Unrestricted() ? Ok()
                                        : Fail(ErrorCode::kUnauthenticated,
                                               "Missing Authentication Token",
                                               Reason::kMissingAuthenticationToken);
  }
  std::optional<auth::Permission> permission =
      KeyPermission(*context.caller, context.authz, key, action, via, encryption_context,
                    request_keys);
  if (!permission) return Ok();
  if (via != KmsVia::kDirect && context.authz.Allowed(*permission)) {
    // The service's own check stays the request's recorded decision (and
    // resource) when the key's use is allowed; a refusal is recorded below.
    return Ok();
  }
  Status allowed = context.authz.Check(*permission);
  if (allowed || via != KmsVia::kSecretsManager) return allowed;
  // Secrets Manager words a KMS refusal its own way; the detail follows.
  Error e = std::move(allowed).error();
  e.message = "Access to KMS is not allowed. " + e.message;
  return std::unexpected(std::move(e));
}

Status AuthorizeKeyUse(const CallContext& context, domain::kms::KeyDirectory& keys,
                       std::string_view key_id, std::string_view action, KmsVia via,
                       const domain::kms::EncryptionContext& encryption_context) {
  if (context.authz.Unrestricted()) return Ok();
  auto key = keys.Resolve(key_id, /*require_enabled=*/false);
  if (!key) {
    // A key that does not exist is reported by the operation that follows
    // (NotFoundException, as AWS answers before any permission check); any
    // other failure to read it refuses the request (fail closed).
    if (key.error().code == ErrorCode::kNotFound) return Ok();
    return Fail(std::move(key).error());
  }
  return AuthorizeKeyUse(context, *key, action, via, encryption_context);
}

}  // namespace coffer::api::awsjson
