#include "api/awsjson/kms_service.h"

#include <functional>
#include <unordered_map>

#include "api/awsjson/fields.h"
#include "domain/resource.h"
#include "api/awsjson/kms_authorization.h"
#include "util/encoding.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

namespace kms = domain::kms;
using nlohmann::json;

constexpr std::string_view kSymmetric = "SYMMETRIC_DEFAULT";
constexpr size_t kMaxKeyId = 2048;
constexpr size_t kMaxBlob = 6144;

double Epoch(util::SystemTime t) { return util::ToEpochSeconds(t); }

std::string_view StateName(kms::KeyState s) {
  switch (s) {
    case kms::KeyState::kEnabled:
      return "Enabled";
    case kms::KeyState::kDisabled:
      return "Disabled";
    case kms::KeyState::kPendingDeletion:
      return "PendingDeletion";
  }
  return "Unavailable";
}

json RenderKey(const kms::KeyMetadata& k, std::string_view account_id) {
  json out = json::object();
  out["AWSAccountId"] = std::string(account_id);
  out["KeyId"] = k.key_id;
  out["Arn"] = k.arn;
  out["CreationDate"] = Epoch(k.created);
  out["Enabled"] = k.state == kms::KeyState::kEnabled;
  out["Description"] = k.description;
  out["KeyUsage"] = "ENCRYPT_DECRYPT";
  out["KeyState"] = std::string(StateName(k.state));
  if (k.state == kms::KeyState::kPendingDeletion && k.deletion_date) {
    out["DeletionDate"] = Epoch(*k.deletion_date);
    out["PendingDeletionWindowInDays"] = k.pending_window_days;
  }
  out["Origin"] = "AWS_KMS";
  out["KeyManager"] = k.aws_managed ? "AWS" : "CUSTOMER";
  out["CustomerMasterKeySpec"] = std::string(kSymmetric);
  out["KeySpec"] = std::string(kSymmetric);
  out["EncryptionAlgorithms"] = json::array({std::string(kSymmetric)});
  out["MultiRegion"] = false;
  return out;
}

std::unexpected<Error> EnumError(std::string_view value, std::string path,
                                 std::string_view allowed) {
  return ValidationError(value, path,
                         "Member must satisfy enum value set: [" + std::string(allowed) + "]");
}

Result<std::optional<std::string>> EnumField(const Fields& f, std::string_view member,
                                             std::initializer_list<std::string_view> allowed) {
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> v, f.OptString(member));
  if (!v) return v;
  std::string list;
  for (std::string_view a : allowed) {
    if (a == *v) return v;
    if (!list.empty()) list += ", ";
    list += a;
  }
  return EnumError(*v, f.PathOf(member), list);
}

Result<std::string> KeyIdField(const Fields& f, std::string_view member = "KeyId") {
  return f.String(member, 1, kMaxKeyId);
}

Result<std::optional<std::string>> OptKeyIdField(const Fields& f, std::string_view member) {
  return f.OptString(member, 1, kMaxKeyId);
}

// An encryption context: a JSON object of strings (absent = {}).
Result<kms::EncryptionContext> ContextField(const json& body, std::string_view member) {
  kms::EncryptionContext out;
  if (!body.is_object()) return out;
  auto it = body.find(std::string(member));
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_object()) {
    return SerializationError("Expected a map of strings for member " + std::string(member));
  }
  for (auto e = it->begin(); e != it->end(); ++e) {
    if (!e.value().is_string()) {
      return SerializationError("Expected a string value in map " + std::string(member));
    }
    out.emplace(e.key(), e.value().get<std::string>());
  }
  return out;
}

// A required ciphertext blob (base64 on the wire), 1..6144 bytes.
Result<std::string> BlobField(const Fields& f, std::string_view member) {
  COFFER_ASSIGN_OR_RETURN(std::string text, f.String(member, 1));
  auto bytes = util::Base64Decode(text);
  if (!bytes.has_value()) {
    return SerializationError("Invalid base64 in member " + std::string(member));
  }
  if (bytes->empty() || bytes->size() > kMaxBlob) {
    return ValidationError(std::string_view(), f.PathOf(member),
                           "Member must have length between 1 and 6144");
  }
  return std::move(*bytes);
}

// The Plaintext blob, held as a secret and never echoed.
Result<SecretBytes> PlaintextField(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(SecretBytes text, f.Secret("Plaintext", 1, kNoLimit));
  auto bytes = util::Base64Decode(text.Reveal());
  if (!bytes.has_value()) return SerializationError("Invalid base64 in member Plaintext");
  SecretBytes plaintext(*bytes);
  util::SecureClear(*bytes);
  if (plaintext.empty() || plaintext.size() > kms::kMaxPlaintext) {
    return ValidationError(std::string_view(), f.PathOf("Plaintext"),
                           "Member must have length between 1 and 4096");
  }
  return plaintext;
}

std::string EncodeSecret(const SecretBytes& s) { return util::Base64Encode(s.Reveal()); }

// EncryptionAlgorithm members: only SYMMETRIC_DEFAULT fits our keys.
Status AlgorithmField(const Fields& f, std::string_view member) {
  COFFER_ASSIGN_OR_RETURN(
      std::optional<std::string> alg,
      EnumField(f, member,
                {"SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"}));
  if (alg && *alg != kSymmetric) {
    return Fail(ErrorCode::kInvalidArgument,
                "The encryption algorithm " + *alg + " is not supported by symmetric keys.",
                Reason::kKmsInvalidKeyUsage);
  }
  return Ok();
}

Status GrantTokensField(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(auto tokens, f.OptStringList("GrantTokens", 0, 10, 1, 8192));
  (void)tokens;  // grants are not modelled; tokens are accepted and ignored
  return Ok();
}

Result<int> LimitField(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> limit, f.OptInt("Limit", 1, kms::kMaxListLimit));
  return static_cast<int>(limit.value_or(kms::kDefaultListLimit));
}

Result<std::string> MarkerField(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> marker, f.OptString("Marker", 1, 1024));
  return marker.value_or("");
}

void AddPaging(json& out, const std::string& next_marker) {
  out["Truncated"] = !next_marker.empty();
  if (!next_marker.empty()) out["NextMarker"] = next_marker;
}

// A Tags member: a list of {TagKey, TagValue} (at most 50; required and
// non-empty for TagResource).
Result<std::vector<domain::Tag>> TagsField(const Fields& f, bool required) {
  return TagList(f, required, 0, 50, TagMembers{"TagKey", "TagValue"});
}

struct Deps {
  kms::KeyDirectory& keys;
  kms::KmsCrypto& crypto;
  const CallContext& ctx;
  domain::parameters::ParameterStore* parameters = nullptr;  // RewrapStoredValues only
  domain::secrets::SecretStore* secrets = nullptr;
};

// --- authorization -------------------------------------------------------------
// Policies are checked on the key ARN (as AWS does, also when the request
// names an alias), on the alias ARN for alias operations, and on "*" for
// CreateKey, ListKeys, ListAliases and GenerateRandom.

std::string ArnPrefix(Deps& d) {
  return "arn:aws:kms:" + d.keys.region() + ":" + d.keys.account_id() + ":";
}

// The ARN a KeyId input names when it cannot be resolved.
std::string GuessArn(Deps& d, std::string_view input) {
  if (input.starts_with("arn:")) return std::string(input);
  if (input.starts_with("alias/")) return ArnPrefix(d) + std::string(input);
  return ArnPrefix(d) + "key/" + std::string(input);
}

// Checks `action` on the key `key_id` resolves to, through AuthorizeKeyUse
// (the key's tags as aws:ResourceTag/*, `context` as kms:EncryptionContext*),
// or on the ARN it names when it does not resolve, so that an unauthorized
// caller learns nothing. The domain call that follows reports a resolution
// error.
Status AuthorizeKey(Deps& d, std::string_view action, std::string_view key_id,
                    const kms::EncryptionContext& context = {}) {
  if (d.ctx.authz == nullptr) return Ok();
  auto meta = d.keys.DescribeKey(key_id);
  if (meta.has_value()) return AuthorizeKeyUse(d.ctx, *meta, action, KmsVia::kDirect, context);
  return Authorize(d.ctx, action, GuessArn(d, key_id));
}

// Checks `action` on the key a ciphertext blob names ("*" if it names none or
// a key that does not exist; the decryption that follows then fails).
Status AuthorizeBlob(Deps& d, std::string_view action, std::string_view blob,
                     const kms::EncryptionContext& context = {}) {
  if (d.ctx.authz == nullptr) return Ok();
  std::string resource = "*";
  if (blob.starts_with(kms::kCiphertextMagic)) {
    auto ref = keyring::Keyring::Inspect(blob.substr(kms::kCiphertextMagic.size()));
    if (ref.has_value()) {
      auto meta = d.keys.Get(ref->key_id);
      if (meta.has_value()) return AuthorizeKeyUse(d.ctx, *meta, action, KmsVia::kDirect, context);
      resource = ArnPrefix(d) + "key/" + ref->key_id;
    }
  }
  return Authorize(d.ctx, action, resource);
}

using Handler = std::function<Result<json>(Deps&, const Fields&, const json&)>;

Result<json> CreateKey(Deps& d, const Fields& f, const json&) {
  kms::CreateKeyRequest req;
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> policy,
                          f.OptString("Policy", 1, kms::kMaxPolicyLength));
  req.policy = policy.value_or("");
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> description,
                          f.OptString("Description", 0, kms::kMaxDescriptionLength));
  req.description = description.value_or("");
  COFFER_ASSIGN_OR_RETURN(
      std::optional<std::string> usage,
      EnumField(f, "KeyUsage",
                {"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"}));
  if (usage) req.key_usage = *usage;
  const std::initializer_list<std::string_view> kSpecs = {"RSA_2048",
                                                          "RSA_3072",
                                                          "RSA_4096",
                                                          "ECC_NIST_P256",
                                                          "ECC_NIST_P384",
                                                          "ECC_NIST_P521",
                                                          "ECC_SECG_P256K1",
                                                          "SYMMETRIC_DEFAULT",
                                                          "HMAC_224",
                                                          "HMAC_256",
                                                          "HMAC_384",
                                                          "HMAC_512",
                                                          "SM2"};
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> cmk_spec,
                          EnumField(f, "CustomerMasterKeySpec", kSpecs));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> spec, EnumField(f, "KeySpec", kSpecs));
  if (spec && cmk_spec) {
    return ValidationError(std::string_view(), "keySpec",
                           "Specify either KeySpec or CustomerMasterKeySpec, not both");
  }
  if (spec) req.key_spec = *spec;
  if (cmk_spec) req.key_spec = *cmk_spec;
  COFFER_ASSIGN_OR_RETURN(
      std::optional<std::string> origin,
      EnumField(f, "Origin", {"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"}));
  if (origin) req.origin = *origin;
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> multi, f.OptBool("MultiRegion"));
  req.multi_region = multi.value_or(false);
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> bypass, f.OptBool("BypassPolicyLockoutSafetyCheck"));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> store, f.OptString("CustomKeyStoreId", 1, 64));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> xks, f.OptString("XksKeyId", 1, 128));
  if (store || xks) {
    return Fail(ErrorCode::kInvalidArgument, "Custom key stores are not supported.",
                Reason::kKmsUnsupportedOperation);
  }
  COFFER_ASSIGN_OR_RETURN(req.tags, TagsField(f, false));
  COFFER_RETURN_IF_ERROR(
      Authorize(d.ctx, "kms:CreateKey", "*", domain::RequestTagKeys(req.tags)));
  if (policy) {
    COFFER_RETURN_IF_ERROR(ValidateKeyPolicy(*policy));
    // The key's ARN is not known yet; a policy naming its Resource as the
    // account's keys ("*", "arn:...:key/*") covers it.
    if (!bypass.value_or(false)) {
      COFFER_RETURN_IF_ERROR(CheckPolicyLockout(d.ctx, ArnPrefix(d) + "key/*", *policy));
    }
  }
  COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata meta, d.keys.CreateKey(req));
  json out = json::object();
  out["KeyMetadata"] = RenderKey(meta, d.keys.account_id());
  return out;
}

Result<json> DescribeKey(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:DescribeKey", key_id));
  COFFER_RETURN_IF_ERROR(GrantTokensField(f));
  COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata meta, d.keys.DescribeKey(key_id));
  json out = json::object();
  out["KeyMetadata"] = RenderKey(meta, d.keys.account_id());
  return out;
}

Result<json> ListKeys(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(int limit, LimitField(f));
  COFFER_ASSIGN_OR_RETURN(std::string marker, MarkerField(f));
  COFFER_RETURN_IF_ERROR(Authorize(d.ctx, "kms:ListKeys", "*"));
  COFFER_ASSIGN_OR_RETURN(kms::KeyPage page, d.keys.ListKeys(limit, marker));
  json out = json::object();
  out["Keys"] = json::array();
  for (const kms::KeyMetadata& k : page.keys) {
    out["Keys"].push_back({{"KeyId", k.key_id}, {"KeyArn", k.arn}});
  }
  AddPaging(out, page.next_marker);
  return out;
}

Result<json> EnableKey(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:EnableKey", key_id));
  COFFER_RETURN_IF_ERROR(d.keys.EnableKey(key_id));
  return json::object();
}

Result<json> DisableKey(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:DisableKey", key_id));
  COFFER_RETURN_IF_ERROR(d.keys.DisableKey(key_id));
  return json::object();
}

Result<json> EnableKeyRotation(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:EnableKeyRotation", key_id));
  COFFER_ASSIGN_OR_RETURN(
      std::optional<int64_t> period,
      f.OptInt("RotationPeriodInDays", kms::kMinRotationPeriodDays, kms::kMaxRotationPeriodDays));
  std::optional<int> days;
  if (period) days = static_cast<int>(*period);
  COFFER_RETURN_IF_ERROR(d.keys.EnableKeyRotation(key_id, days));
  return json::object();
}

Result<json> DisableKeyRotation(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:DisableKeyRotation", key_id));
  COFFER_RETURN_IF_ERROR(d.keys.DisableKeyRotation(key_id));
  return json::object();
}

Result<json> GetKeyRotationStatus(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:GetKeyRotationStatus", key_id));
  COFFER_ASSIGN_OR_RETURN(kms::RotationStatus status, d.keys.GetKeyRotationStatus(key_id));
  json out = json::object();
  out["KeyRotationEnabled"] = status.enabled;
  out["KeyId"] = status.key_arn;
  if (status.enabled) {
    out["RotationPeriodInDays"] = status.period_days;
    if (status.next_rotation) out["NextRotationDate"] = Epoch(*status.next_rotation);
  }
  return out;
}

Result<json> RotateKeyOnDemand(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:RotateKeyOnDemand", key_id));
  COFFER_ASSIGN_OR_RETURN(std::string arn, d.keys.RotateKeyOnDemand(key_id));
  json out = json::object();
  // AWS answers the key id here (not the ARN, unlike Schedule/CancelKeyDeletion).
  out["KeyId"] = arn.substr(arn.rfind('/') + 1);
  return out;
}

Result<json> ScheduleKeyDeletion(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:ScheduleKeyDeletion", key_id));
  COFFER_ASSIGN_OR_RETURN(
      std::optional<int64_t> window,
      f.OptInt("PendingWindowInDays", kms::kMinPendingWindowDays, kms::kMaxPendingWindowDays));
  COFFER_ASSIGN_OR_RETURN(
      kms::ScheduledDeletion s,
      d.keys.ScheduleKeyDeletion(
          key_id, static_cast<int>(window.value_or(kms::kDefaultPendingWindowDays))));
  json out = json::object();
  out["KeyId"] = s.key_arn;
  out["DeletionDate"] = Epoch(s.deletion_date);
  out["KeyState"] = "PendingDeletion";
  out["PendingWindowInDays"] = s.pending_window_days;
  return out;
}

Result<json> CancelKeyDeletion(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:CancelKeyDeletion", key_id));
  COFFER_ASSIGN_OR_RETURN(std::string arn, d.keys.CancelKeyDeletion(key_id));
  json out = json::object();
  out["KeyId"] = arn;
  return out;
}

Result<json> CreateAlias(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("AliasName", 1, 256));
  COFFER_ASSIGN_OR_RETURN(std::string target, KeyIdField(f, "TargetKeyId"));
  COFFER_RETURN_IF_ERROR(Authorize(d.ctx, "kms:CreateAlias", ArnPrefix(d) + name));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:CreateAlias", target));
  COFFER_RETURN_IF_ERROR(d.keys.CreateAlias(name, target));
  return json::object();
}

Result<json> UpdateAlias(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("AliasName", 1, 256));
  COFFER_ASSIGN_OR_RETURN(std::string target, KeyIdField(f, "TargetKeyId"));
  COFFER_RETURN_IF_ERROR(Authorize(d.ctx, "kms:UpdateAlias", ArnPrefix(d) + name));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:UpdateAlias", target));
  COFFER_RETURN_IF_ERROR(d.keys.UpdateAlias(name, target));
  return json::object();
}

Result<json> DeleteAlias(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("AliasName", 1, 256));
  COFFER_RETURN_IF_ERROR(Authorize(d.ctx, "kms:DeleteAlias", ArnPrefix(d) + name));
  COFFER_RETURN_IF_ERROR(d.keys.DeleteAlias(name));
  return json::object();
}

Result<json> ListAliases(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> key_id, OptKeyIdField(f, "KeyId"));
  COFFER_ASSIGN_OR_RETURN(int limit, LimitField(f));
  COFFER_ASSIGN_OR_RETURN(std::string marker, MarkerField(f));
  std::optional<std::string_view> filter;
  if (key_id) filter = *key_id;
  COFFER_RETURN_IF_ERROR(Authorize(d.ctx, "kms:ListAliases", "*"));
  COFFER_ASSIGN_OR_RETURN(kms::AliasPage page, d.keys.ListAliases(filter, limit, marker));
  json out = json::object();
  out["Aliases"] = json::array();
  for (const kms::AliasEntry& a : page.aliases) {
    json item = json::object();
    item["AliasName"] = a.name;
    item["AliasArn"] = a.arn;
    if (!a.target_key_id.empty()) item["TargetKeyId"] = a.target_key_id;
    if (a.created) item["CreationDate"] = Epoch(*a.created);
    if (a.updated) item["LastUpdatedDate"] = Epoch(*a.updated);
    out["Aliases"].push_back(std::move(item));
  }
  AddPaging(out, page.next_marker);
  return out;
}

// Tag operations name the key by key id or key ARN only (the domain refuses
// aliases). The check is made on the key with its current tags
// (aws:ResourceTag/*) and the request's aws:RequestTag/* and aws:TagKeys.
Status AuthorizeTagging(Deps& d, std::string_view action, std::string_view key_id,
                        const std::map<std::string, std::vector<std::string>>& request_keys) {
  if (d.ctx.authz == nullptr) return Ok();
  auto meta = d.keys.DescribeKey(key_id);
  if (!meta.has_value()) return Authorize(d.ctx, action, GuessArn(d, key_id), request_keys);
  return AuthorizeKeyUse(d.ctx, *meta, action, KmsVia::kDirect, {}, request_keys);
}

Result<json> TagResource(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, TagsField(f, true));
  COFFER_RETURN_IF_ERROR(
      AuthorizeTagging(d, "kms:TagResource", key_id, domain::RequestTagKeys(tags)));
  COFFER_RETURN_IF_ERROR(d.keys.TagResource(key_id, tags));
  return json::object();
}

Result<json> UntagResource(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> tag_keys,
                          f.StringList("TagKeys", 0, 50, 1, 128));
  std::map<std::string, std::vector<std::string>> request_keys;
  for (const std::string& k : tag_keys) request_keys["aws:TagKeys"].push_back(k);
  COFFER_RETURN_IF_ERROR(AuthorizeTagging(d, "kms:UntagResource", key_id, request_keys));
  COFFER_RETURN_IF_ERROR(d.keys.UntagResource(key_id, tag_keys));
  return json::object();
}

Result<json> ListResourceTags(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> limit,
                          f.OptInt("Limit", 1, kms::kMaxTagListLimit));
  COFFER_ASSIGN_OR_RETURN(std::string marker, MarkerField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeTagging(d, "kms:ListResourceTags", key_id, {}));
  COFFER_ASSIGN_OR_RETURN(
      kms::TagPage page,
      d.keys.ListResourceTags(key_id, static_cast<int>(limit.value_or(kms::kDefaultTagListLimit)),
                              marker));
  json out = json::object();
  out["Tags"] = json::array();
  for (const domain::Tag& t : page.tags) {
    out["Tags"].push_back({{"TagKey", t.key}, {"TagValue", t.value}});
  }
  AddPaging(out, page.next_marker);
  return out;
}

// --- key policies ----------------------------------------------------------------
// A key has one key policy, named "default" (AWS's only policy name).

constexpr std::string_view kDefaultPolicyName = "default";

// PolicyName (optional): "default" or kNotFound.
Status PolicyNameField(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> name, f.OptString("PolicyName", 1, 128));
  if (name && *name != kDefaultPolicyName) {
    return Fail(ErrorCode::kNotFound, "No such policy exists. Only the policy name \"default\" "
                                      "is supported.", Reason::kKeyNotFound);
  }
  return Ok();
}

Result<json> GetKeyPolicy(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:GetKeyPolicy", key_id));
  COFFER_RETURN_IF_ERROR(PolicyNameField(f));
  COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata meta, d.keys.DescribeKeyOnly(key_id));
  json out = json::object();
  out["Policy"] = EffectiveKeyPolicy(meta);
  out["PolicyName"] = kDefaultPolicyName;
  return out;
}

Result<json> PutKeyPolicy(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_ASSIGN_OR_RETURN(std::string policy, f.String("Policy", 1, kms::kMaxPolicyLength));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> bypass, f.OptBool("BypassPolicyLockoutSafetyCheck"));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:PutKeyPolicy", key_id));
  COFFER_RETURN_IF_ERROR(PolicyNameField(f));
  COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata meta, d.keys.DescribeKeyOnly(key_id));
  COFFER_RETURN_IF_ERROR(ValidateKeyPolicy(policy));
  if (!bypass.value_or(false)) {
    COFFER_RETURN_IF_ERROR(CheckPolicyLockout(d.ctx, meta.arn, policy));
  }
  COFFER_RETURN_IF_ERROR(d.keys.PutKeyPolicy(meta.key_id, policy));
  return json::object();
}

Result<json> ListKeyPolicies(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_RETURN_IF_ERROR(LimitField(f));
  COFFER_RETURN_IF_ERROR(MarkerField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:ListKeyPolicies", key_id));
  COFFER_RETURN_IF_ERROR(d.keys.DescribeKeyOnly(key_id));
  json out = json::object();
  out["PolicyNames"] = json::array({kDefaultPolicyName});
  out["Truncated"] = false;
  return out;
}

Result<json> Encrypt(Deps& d, const Fields& f, const json& body) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_ASSIGN_OR_RETURN(SecretBytes plaintext, PlaintextField(f));
  COFFER_ASSIGN_OR_RETURN(kms::EncryptionContext context, ContextField(body, "EncryptionContext"));
  COFFER_RETURN_IF_ERROR(GrantTokensField(f));
  COFFER_RETURN_IF_ERROR(AlgorithmField(f, "EncryptionAlgorithm"));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:Encrypt", key_id, context));
  COFFER_ASSIGN_OR_RETURN(kms::EncryptResult r, d.crypto.Encrypt(key_id, plaintext, context));
  json out = json::object();
  out["CiphertextBlob"] = util::Base64Encode(r.ciphertext_blob);
  out["KeyId"] = r.key_arn;
  out["EncryptionAlgorithm"] = std::string(kSymmetric);
  return out;
}

Result<json> Decrypt(Deps& d, const Fields& f, const json& body) {
  COFFER_ASSIGN_OR_RETURN(std::string blob, BlobField(f, "CiphertextBlob"));
  COFFER_ASSIGN_OR_RETURN(kms::EncryptionContext context, ContextField(body, "EncryptionContext"));
  COFFER_RETURN_IF_ERROR(GrantTokensField(f));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> key_id, OptKeyIdField(f, "KeyId"));
  COFFER_RETURN_IF_ERROR(AlgorithmField(f, "EncryptionAlgorithm"));
  std::optional<std::string_view> expected;
  if (key_id) expected = *key_id;
  COFFER_RETURN_IF_ERROR(AuthorizeBlob(d, "kms:Decrypt", blob, context));
  COFFER_ASSIGN_OR_RETURN(kms::DecryptResult r, d.crypto.Decrypt(blob, context, expected));
  json out = json::object();
  out["KeyId"] = r.key_arn;
  out["Plaintext"] = EncodeSecret(r.plaintext);
  out["EncryptionAlgorithm"] = std::string(kSymmetric);
  return out;
}

Result<json> ReEncrypt(Deps& d, const Fields& f, const json& body) {
  COFFER_ASSIGN_OR_RETURN(std::string blob, BlobField(f, "CiphertextBlob"));
  COFFER_ASSIGN_OR_RETURN(kms::EncryptionContext source_context,
                          ContextField(body, "SourceEncryptionContext"));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> source_key, OptKeyIdField(f, "SourceKeyId"));
  COFFER_ASSIGN_OR_RETURN(std::string destination, KeyIdField(f, "DestinationKeyId"));
  COFFER_ASSIGN_OR_RETURN(kms::EncryptionContext destination_context,
                          ContextField(body, "DestinationEncryptionContext"));
  COFFER_RETURN_IF_ERROR(AlgorithmField(f, "SourceEncryptionAlgorithm"));
  COFFER_RETURN_IF_ERROR(AlgorithmField(f, "DestinationEncryptionAlgorithm"));
  COFFER_RETURN_IF_ERROR(GrantTokensField(f));
  std::optional<std::string_view> expected;
  if (source_key) expected = *source_key;
  COFFER_RETURN_IF_ERROR(AuthorizeBlob(d, "kms:ReEncryptFrom", blob, source_context));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:ReEncryptTo", destination, destination_context));
  COFFER_ASSIGN_OR_RETURN(
      kms::ReEncryptResult r,
      d.crypto.ReEncrypt(blob, source_context, expected, destination, destination_context));
  json out = json::object();
  out["CiphertextBlob"] = util::Base64Encode(r.ciphertext_blob);
  out["SourceKeyId"] = r.source_key_arn;
  out["KeyId"] = r.key_arn;
  out["SourceEncryptionAlgorithm"] = std::string(kSymmetric);
  out["DestinationEncryptionAlgorithm"] = std::string(kSymmetric);
  return out;
}

// KeySpec (AES_256 | AES_128) xor NumberOfBytes (1..1024).
Result<size_t> DataKeySize(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> spec,
                          EnumField(f, "KeySpec", {"AES_256", "AES_128"}));
  COFFER_ASSIGN_OR_RETURN(
      std::optional<int64_t> bytes,
      f.OptInt("NumberOfBytes", 1, static_cast<int64_t>(kms::kMaxDataKeyBytes)));
  if (spec.has_value() == bytes.has_value()) {
    return Fail(ErrorCode::kInvalidArgument, "Please specify either number of bytes or key spec.",
                Reason::kValidation);
  }
  if (bytes) return static_cast<size_t>(*bytes);
  return *spec == "AES_256" ? size_t{32} : size_t{16};
}

Result<kms::DataKey> MakeDataKey(Deps& d, const Fields& f, const json& body,
                                 std::string_view action) {
  COFFER_ASSIGN_OR_RETURN(std::string key_id, KeyIdField(f));
  COFFER_ASSIGN_OR_RETURN(kms::EncryptionContext context, ContextField(body, "EncryptionContext"));
  COFFER_ASSIGN_OR_RETURN(size_t size, DataKeySize(f));
  COFFER_RETURN_IF_ERROR(GrantTokensField(f));
  COFFER_RETURN_IF_ERROR(AuthorizeKey(d, action, key_id, context));
  return d.crypto.GenerateDataKey(key_id, size, context);
}

Result<json> GenerateDataKey(Deps& d, const Fields& f, const json& body) {
  COFFER_ASSIGN_OR_RETURN(kms::DataKey k, MakeDataKey(d, f, body, "kms:GenerateDataKey"));
  json out = json::object();
  out["CiphertextBlob"] = util::Base64Encode(k.ciphertext_blob);
  out["Plaintext"] = EncodeSecret(k.plaintext);
  out["KeyId"] = k.key_arn;
  return out;
}

Result<json> GenerateDataKeyWithoutPlaintext(Deps& d, const Fields& f, const json& body) {
  COFFER_ASSIGN_OR_RETURN(kms::DataKey k,
                          MakeDataKey(d, f, body, "kms:GenerateDataKeyWithoutPlaintext"));
  json out = json::object();
  out["CiphertextBlob"] = util::Base64Encode(k.ciphertext_blob);
  out["KeyId"] = k.key_arn;
  return out;
}

Result<json> GenerateRandom(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(
      std::optional<int64_t> bytes,
      f.OptInt("NumberOfBytes", 1, static_cast<int64_t>(kms::kMaxDataKeyBytes)));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> store, f.OptString("CustomKeyStoreId", 1, 64));
  if (store) {
    return Fail(ErrorCode::kInvalidArgument, "Custom key stores are not supported.",
                Reason::kKmsUnsupportedOperation);
  }
  if (!bytes) {
    return ValidationError("null", f.PathOf("NumberOfBytes"), "Member must not be null");
  }
  COFFER_RETURN_IF_ERROR(Authorize(d.ctx, "kms:GenerateRandom", "*"));
  COFFER_ASSIGN_OR_RETURN(SecretBytes random,
                          kms::KmsCrypto::GenerateRandom(static_cast<size_t>(*bytes)));
  json out = json::object();
  out["Plaintext"] = EncodeSecret(random);
  return out;
}

json RenderRewrap(const keyring::RewrapReport& r) {
  return {{"Scanned", r.scanned}, {"Rewrapped", r.rewrapped}};
}

// Coffer's own operation (not in AWS KMS): re-wraps stored parameter and
// secret values under the newest version of their key (kms_service.h).
Result<json> RewrapStoredValues(Deps& d, const Fields& f, const json&) {
  if (d.parameters == nullptr || d.secrets == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, "", Reason::kUnknownOperation);
  }
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> key_id, OptKeyIdField(f, "KeyId"));
  if (key_id) {
    COFFER_RETURN_IF_ERROR(AuthorizeKey(d, "kms:RewrapStoredValues", *key_id));
  } else {
    COFFER_RETURN_IF_ERROR(Authorize(d.ctx, "kms:RewrapStoredValues", "*"));
  }
  std::optional<std::string> resolved;
  if (key_id) {
    COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata meta, d.keys.DescribeKey(*key_id));
    resolved = meta.key_id;
  }
  std::optional<std::string_view> filter;
  if (resolved) filter = *resolved;
  COFFER_ASSIGN_OR_RETURN(keyring::RewrapReport parameters, d.parameters->RewrapValues(filter));
  COFFER_ASSIGN_OR_RETURN(keyring::RewrapReport secrets, d.secrets->RewrapValues(filter));
  json out = json::object();
  out["Parameters"] = RenderRewrap(parameters);
  out["Secrets"] = RenderRewrap(secrets);
  out["Failures"] = json::array();
  for (const auto* r : {&parameters, &secrets}) {
    for (const std::string& failure : r->failures) out["Failures"].push_back(failure);
  }
  return out;
}

const std::unordered_map<std::string_view, Handler>& Handlers() {
  static const std::unordered_map<std::string_view, Handler> kHandlers = {
      {"CreateKey", CreateKey},
      {"DescribeKey", DescribeKey},
      {"ListKeys", ListKeys},
      {"EnableKey", EnableKey},
      {"DisableKey", DisableKey},
      {"EnableKeyRotation", EnableKeyRotation},
      {"DisableKeyRotation", DisableKeyRotation},
      {"GetKeyRotationStatus", GetKeyRotationStatus},
      {"RotateKeyOnDemand", RotateKeyOnDemand},
      {"ScheduleKeyDeletion", ScheduleKeyDeletion},
      {"CancelKeyDeletion", CancelKeyDeletion},
      {"CreateAlias", CreateAlias},
      {"UpdateAlias", UpdateAlias},
      {"DeleteAlias", DeleteAlias},
      {"ListAliases", ListAliases},
      {"TagResource", TagResource},
      {"UntagResource", UntagResource},
      {"ListResourceTags", ListResourceTags},
      {"GetKeyPolicy", GetKeyPolicy},
      {"PutKeyPolicy", PutKeyPolicy},
      {"ListKeyPolicies", ListKeyPolicies},
      {"Encrypt", Encrypt},
      {"Decrypt", Decrypt},
      {"ReEncrypt", ReEncrypt},
      {"GenerateDataKey", GenerateDataKey},
      {"GenerateDataKeyWithoutPlaintext", GenerateDataKeyWithoutPlaintext},
      {"GenerateRandom", GenerateRandom},
      {"RewrapStoredValues", RewrapStoredValues},
  };
  return kHandlers;
}

}  // namespace

KmsService::KmsService(domain::kms::KeyDirectory& keys, keyring::Keyring& keyring)
    : keys_(keys), crypto_(keys, keyring) {}

void KmsService::EnableRewrap(domain::parameters::ParameterStore& parameters,
                              domain::secrets::SecretStore& secrets) {
  parameters_ = &parameters;
  secrets_ = &secrets;
}

bool KmsService::HasOperation(std::string_view operation) const {
  return Handlers().contains(operation);
}

Result<nlohmann::json> KmsService::Call(std::string_view operation, const nlohmann::json& body,
                                        const CallContext& context) {
  const auto& handlers = Handlers();
  auto it = handlers.find(operation);
  if (it == handlers.end()) {
    return Fail(ErrorCode::kInvalidArgument, "", Reason::kUnknownOperation);
  }
  Deps deps{keys_, crypto_, context, parameters_, secrets_};
  Fields fields(body);
  return it->second(deps, fields, body);
}

}  // namespace coffer::api::awsjson
