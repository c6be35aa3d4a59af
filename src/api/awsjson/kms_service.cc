#include "api/awsjson/kms_service.h"

#include <functional>
#include <unordered_map>

#include "api/awsjson/fields.h"
#include "domain/arn.h"
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
  CallContext& ctx;
  domain::parameters::ParameterStore* parameters = nullptr;  // RewrapStoredValues only
  domain::secrets::SecretStore* secrets = nullptr;
};

// --- resources -----------------------------------------------------------------
// Policies are checked on the key ARN (as AWS does, also when the request
// names an alias), on the alias ARN for alias operations, and on "*" for
// CreateKey, ListKeys, ListAliases and GenerateRandom. A key is checked with
// its tags (aws:ResourceTag/*), the request's encryption context
// (kms:EncryptionContext*) and its key policy (KeyPermission).

// The ARN a KeyId input names when it cannot be resolved, so that a refusal
// reveals nothing about what exists.
std::string GuessArn(const kms::KeyDirectory& keys, std::string_view input) {
  if (input.starts_with("arn:")) return std::string(input);
  if (input.starts_with("alias/")) {
    return domain::KmsAliasArn(keys.region(), keys.account_id(), input);
  }
  return domain::KmsKeyArn(keys.region(), keys.account_id(), input);
}

bool IsAliasForm(std::string_view input) {
  return input.starts_with("alias/") ||
         (input.starts_with("arn:") && input.find(":alias/") != std::string_view::npos);
}

// The request's encryption context or own condition keys, from its input.
using ContextOf = std::function<Result<kms::EncryptionContext>(const Fields&)>;
using KeysOf = std::function<Result<auth::KeyMap>(const Fields&)>;

ContextOf ContextMember(std::string_view member) {
  return [member](const Fields& f) { return ContextField(f.object(), member); };
}

// The access to the key `input` names, in any KeyId form: the check is on the
// key an alias points to, with that key's tags and key policy.
Access KeyAccess(kms::KeyDirectory& keys, const LookupContext& lookup, std::string_view input,
                 const kms::EncryptionContext& context, const auth::KeyMap& request_keys) {
  Access access;
  access.input = std::string(input);
  Result<kms::KeyMetadata> meta = keys.DescribeKey(input);
  if (!meta.has_value() || lookup.caller == nullptr) {
    access.resource.arn = GuessArn(keys, input);
    access.permission = lookup.On(access.resource.arn, request_keys);
    return access;
  }
  access.resource.arn = meta->arn;
  access.resource.name = meta->key_id;
  access.resource.exists = true;
  access.resource.tags = meta->tags;
  access.permission =
      KeyPermission(*lookup.caller, lookup.authz, *meta, lookup.action, KmsVia::kDirect, context,
                    request_keys);
  return access;
}

// The key the member `member` names (required unless `optional`: then an
// absent member is the account, "*").
JsonOperation::Resources Key(kms::KeyDirectory& keys, std::string_view member = "KeyId",
                             ContextOf context_of = nullptr, KeysOf keys_of = nullptr,
                             bool optional = false) {
  return [&keys, member, context_of = std::move(context_of),
          keys_of = std::move(keys_of), optional](const Fields& f,
                                                  const LookupContext& lookup) -> Result<Accesses> {
    COFFER_ASSIGN_OR_RETURN(std::optional<std::string> input, OptKeyIdField(f, member));
    if (!input && optional) return OnAccount()(f, lookup);
    if (!input) {
      COFFER_ASSIGN_OR_RETURN(std::string required, KeyIdField(f, member));
      input = std::move(required);
    }
    kms::EncryptionContext context;
    if (context_of) {
      COFFER_ASSIGN_OR_RETURN(context, context_of(f));
    }
    auth::KeyMap request_keys;
    if (keys_of) {
      COFFER_ASSIGN_OR_RETURN(request_keys, keys_of(f));
    }
    return Accesses{KeyAccess(keys, lookup, *input, context, request_keys)};
  };
}

// The key a ciphertext blob names ("*" if it names none; a key that does not
// exist is checked on the ARN it would have; the decryption then fails).
JsonOperation::Resources BlobKey(kms::KeyDirectory& keys, ContextOf context_of) {
  return [&keys, context_of = std::move(context_of)](
             const Fields& f, const LookupContext& lookup) -> Result<Accesses> {
    COFFER_ASSIGN_OR_RETURN(std::string blob, BlobField(f, "CiphertextBlob"));
    COFFER_ASSIGN_OR_RETURN(kms::EncryptionContext context, context_of(f));
    if (blob.starts_with(kms::kCiphertextMagic)) {
      auto ref = keyring::Keyring::Inspect(blob.substr(kms::kCiphertextMagic.size()));
      if (ref.has_value()) return Accesses{KeyAccess(keys, lookup, ref->key_id, context, {})};
    }
    Access access;
    access.resource.arn = "*";
    access.permission = lookup.On("*");
    return Accesses{std::move(access)};
  };
}

// The alias the member AliasName names (its ARN; an alias has no tags).
JsonOperation::Resources Alias(kms::KeyDirectory& keys) {
  return [&keys](const Fields& f, const LookupContext& lookup) -> Result<Accesses> {
    COFFER_ASSIGN_OR_RETURN(std::string name, f.String("AliasName", 1, 256));
    Access access;
    access.input = name;
    access.resource.arn = domain::KmsAliasArn(keys.region(), keys.account_id(), name);
    access.resource.name = name;
    access.permission = lookup.On(access.resource.arn);
    return Accesses{std::move(access)};
  };
}

// Every lookup's resources, in order; `actions` overrides the action of the
// lookup at the same index ("" keeps the operation's).
JsonOperation::Resources All(std::vector<JsonOperation::Resources> lookups,
                             std::vector<std::string> actions = {}) {
  return [lookups = std::move(lookups), actions = std::move(actions)](
             const Fields& f, const LookupContext& lookup) -> Result<Accesses> {
    Accesses out;
    for (size_t i = 0; i < lookups.size(); ++i) {
      std::string_view action =
          i < actions.size() && !actions[i].empty() ? std::string_view(actions[i]) : lookup.action;
      LookupContext each{action, lookup.caller, lookup.authz};
      COFFER_ASSIGN_OR_RETURN(Accesses some, lookups[i](f, each));
      for (Access& a : some) out.push_back(std::move(a));
    }
    return out;
  };
}

// What an operation runs on: the key id the lookup resolved (so the key
// checked is the key used), or the input as sent when it resolved to nothing
// (the domain then reports it as the caller named it). An alias is passed on
// as sent to the operations that take a key id or ARN only, whose refusal of
// it is the domain's; `aliases` marks the operations that take one.
std::string Target(const CallContext& ctx, size_t index = 0, bool aliases = false) {
  const Access& a = ctx.resources.at(index);
  if (!a.resource.exists || (!aliases && IsAliasForm(a.input))) return a.input;
  return a.resource.name;
}

Result<auth::KeyMap> RequestTagsOf(const Fields& f);
Result<auth::KeyMap> RemovedTagKeysOf(const Fields& f);

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
  if (policy) {
    COFFER_RETURN_IF_ERROR(ValidateKeyPolicy(*policy));
    // The key's ARN is not known yet; a policy naming its Resource as the
    // account's keys ("*", "arn:...:key/*") covers it.
    if (!bypass.value_or(false)) {
      COFFER_RETURN_IF_ERROR(
          CheckPolicyLockout(*d.ctx.caller, d.ctx.authz,
                             domain::KmsKeyArn(d.keys.region(), d.keys.account_id(), "*"),
                             *policy));
    }
  }
  COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata meta, d.keys.CreateKey(req));
  json out = json::object();
  out["KeyMetadata"] = RenderKey(meta, d.keys.account_id());
  return out;
}

Result<json> DescribeKey(Deps& d, const Fields& f, const json&) {
  std::string key_id = Target(d.ctx, 0, /*aliases=*/true);
  COFFER_RETURN_IF_ERROR(GrantTokensField(f));
  COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata meta, d.keys.DescribeKey(key_id));
  json out = json::object();
  out["KeyMetadata"] = RenderKey(meta, d.keys.account_id());
  return out;
}

Result<json> ListKeys(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(int limit, LimitField(f));
  COFFER_ASSIGN_OR_RETURN(std::string marker, MarkerField(f));
  COFFER_ASSIGN_OR_RETURN(kms::KeyPage page, d.keys.ListKeys(limit, marker));
  json out = json::object();
  out["Keys"] = json::array();
  for (const kms::KeyMetadata& k : page.keys) {
    out["Keys"].push_back({{"KeyId", k.key_id}, {"KeyArn", k.arn}});
  }
  AddPaging(out, page.next_marker);
  return out;
}

Result<json> EnableKey(Deps& d, const Fields&, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_RETURN_IF_ERROR(d.keys.EnableKey(key_id));
  return json::object();
}

Result<json> DisableKey(Deps& d, const Fields&, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_RETURN_IF_ERROR(d.keys.DisableKey(key_id));
  return json::object();
}

Result<json> EnableKeyRotation(Deps& d, const Fields& f, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_ASSIGN_OR_RETURN(
      std::optional<int64_t> period,
      f.OptInt("RotationPeriodInDays", kms::kMinRotationPeriodDays, kms::kMaxRotationPeriodDays));
  std::optional<int> days;
  if (period) days = static_cast<int>(*period);
  COFFER_RETURN_IF_ERROR(d.keys.EnableKeyRotation(key_id, days));
  return json::object();
}

Result<json> DisableKeyRotation(Deps& d, const Fields&, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_RETURN_IF_ERROR(d.keys.DisableKeyRotation(key_id));
  return json::object();
}

Result<json> GetKeyRotationStatus(Deps& d, const Fields&, const json&) {
  std::string key_id = Target(d.ctx);
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

Result<json> RotateKeyOnDemand(Deps& d, const Fields&, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_ASSIGN_OR_RETURN(std::string arn, d.keys.RotateKeyOnDemand(key_id));
  json out = json::object();
  // AWS answers the key id here (not the ARN, unlike Schedule/CancelKeyDeletion).
  out["KeyId"] = arn.substr(arn.rfind('/') + 1);
  return out;
}

Result<json> ScheduleKeyDeletion(Deps& d, const Fields& f, const json&) {
  std::string key_id = Target(d.ctx);
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

Result<json> CancelKeyDeletion(Deps& d, const Fields&, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_ASSIGN_OR_RETURN(std::string arn, d.keys.CancelKeyDeletion(key_id));
  json out = json::object();
  out["KeyId"] = arn;
  return out;
}

Result<json> CreateAlias(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("AliasName", 1, 256));
  std::string target = Target(d.ctx, 1);
  COFFER_RETURN_IF_ERROR(d.keys.CreateAlias(name, target));
  return json::object();
}

Result<json> UpdateAlias(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("AliasName", 1, 256));
  std::string target = Target(d.ctx, 1);
  COFFER_RETURN_IF_ERROR(d.keys.UpdateAlias(name, target));
  return json::object();
}

Result<json> DeleteAlias(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("AliasName", 1, 256));
  COFFER_RETURN_IF_ERROR(d.keys.DeleteAlias(name));
  return json::object();
}

Result<json> ListAliases(Deps& d, const Fields& f, const json&) {
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> key_id, OptKeyIdField(f, "KeyId"));
  COFFER_ASSIGN_OR_RETURN(int limit, LimitField(f));
  COFFER_ASSIGN_OR_RETURN(std::string marker, MarkerField(f));
  std::optional<std::string_view> filter;
  if (key_id) filter = *key_id;
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
Result<json> TagResource(Deps& d, const Fields& f, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, TagsField(f, true));
  COFFER_RETURN_IF_ERROR(d.keys.TagResource(key_id, tags));
  return json::object();
}

Result<json> UntagResource(Deps& d, const Fields& f, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> tag_keys,
                          f.StringList("TagKeys", 0, 50, 1, 128));
  std::map<std::string, std::vector<std::string>> request_keys;
  for (const std::string& k : tag_keys) request_keys["aws:TagKeys"].push_back(k);
  COFFER_RETURN_IF_ERROR(d.keys.UntagResource(key_id, tag_keys));
  return json::object();
}

Result<json> ListResourceTags(Deps& d, const Fields& f, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> limit,
                          f.OptInt("Limit", 1, kms::kMaxTagListLimit));
  COFFER_ASSIGN_OR_RETURN(std::string marker, MarkerField(f));
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
  std::string key_id = Target(d.ctx);
  COFFER_RETURN_IF_ERROR(PolicyNameField(f));
  COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata meta, d.keys.DescribeKeyOnly(key_id));
  json out = json::object();
  out["Policy"] = EffectiveKeyPolicy(meta);
  out["PolicyName"] = kDefaultPolicyName;
  return out;
}

Result<json> PutKeyPolicy(Deps& d, const Fields& f, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_ASSIGN_OR_RETURN(std::string policy, f.String("Policy", 1, kms::kMaxPolicyLength));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> bypass, f.OptBool("BypassPolicyLockoutSafetyCheck"));
  COFFER_RETURN_IF_ERROR(PolicyNameField(f));
  COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata meta, d.keys.DescribeKeyOnly(key_id));
  COFFER_RETURN_IF_ERROR(ValidateKeyPolicy(policy));
  if (!bypass.value_or(false)) {
    COFFER_RETURN_IF_ERROR(CheckPolicyLockout(*d.ctx.caller, d.ctx.authz, meta.arn, policy));
  }
  COFFER_RETURN_IF_ERROR(d.keys.PutKeyPolicy(meta.key_id, policy));
  return json::object();
}

Result<json> ListKeyPolicies(Deps& d, const Fields& f, const json&) {
  std::string key_id = Target(d.ctx);
  COFFER_RETURN_IF_ERROR(LimitField(f));
  COFFER_RETURN_IF_ERROR(MarkerField(f));
  COFFER_RETURN_IF_ERROR(d.keys.DescribeKeyOnly(key_id));
  json out = json::object();
  out["PolicyNames"] = json::array({kDefaultPolicyName});
  out["Truncated"] = false;
  return out;
}

Result<json> Encrypt(Deps& d, const Fields& f, const json& body) {
  std::string key_id = Target(d.ctx, 0, /*aliases=*/true);
  COFFER_ASSIGN_OR_RETURN(SecretBytes plaintext, PlaintextField(f));
  COFFER_ASSIGN_OR_RETURN(kms::EncryptionContext context, ContextField(body, "EncryptionContext"));
  COFFER_RETURN_IF_ERROR(GrantTokensField(f));
  COFFER_RETURN_IF_ERROR(AlgorithmField(f, "EncryptionAlgorithm"));
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
  std::string destination = Target(d.ctx, 1, /*aliases=*/true);
  COFFER_ASSIGN_OR_RETURN(kms::EncryptionContext destination_context,
                          ContextField(body, "DestinationEncryptionContext"));
  COFFER_RETURN_IF_ERROR(AlgorithmField(f, "SourceEncryptionAlgorithm"));
  COFFER_RETURN_IF_ERROR(AlgorithmField(f, "DestinationEncryptionAlgorithm"));
  COFFER_RETURN_IF_ERROR(GrantTokensField(f));
  std::optional<std::string_view> expected;
  if (source_key) expected = *source_key;
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

Result<kms::DataKey> MakeDataKey(Deps& d, const Fields& f, const json& body) {
  std::string key_id = Target(d.ctx, 0, /*aliases=*/true);
  COFFER_ASSIGN_OR_RETURN(kms::EncryptionContext context, ContextField(body, "EncryptionContext"));
  COFFER_ASSIGN_OR_RETURN(size_t size, DataKeySize(f));
  COFFER_RETURN_IF_ERROR(GrantTokensField(f));
  return d.crypto.GenerateDataKey(key_id, size, context);
}

Result<json> GenerateDataKey(Deps& d, const Fields& f, const json& body) {
  COFFER_ASSIGN_OR_RETURN(kms::DataKey k, MakeDataKey(d, f, body));
  json out = json::object();
  out["CiphertextBlob"] = util::Base64Encode(k.ciphertext_blob);
  out["Plaintext"] = EncodeSecret(k.plaintext);
  out["KeyId"] = k.key_arn;
  return out;
}

Result<json> GenerateDataKeyWithoutPlaintext(Deps& d, const Fields& f, const json& body) {
  COFFER_ASSIGN_OR_RETURN(kms::DataKey k,
                          MakeDataKey(d, f, body));
  json out = json::object();
  out["CiphertextBlob"] = util::Base64Encode(k.ciphertext_blob);
  out["KeyId"] = k.key_arn;
  return out;
}

Result<json> GenerateRandom(Deps&, const Fields& f, const json&) {
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

Result<auth::KeyMap> RequestTagsOf(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, TagsField(f, false));
  return domain::RequestTagKeys(tags);
}

Result<auth::KeyMap> AddedTagsOf(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, TagsField(f, true));
  return domain::RequestTagKeys(tags);
}

Result<auth::KeyMap> RemovedTagKeysOf(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> keys, f.StringList("TagKeys", 0, 50, 1, 128));
  auth::KeyMap out;
  out["aws:TagKeys"] = std::move(keys);
  return out;
}

}  // namespace

KmsService::KmsService(domain::kms::KeyDirectory& keys, keyring::Keyring& keyring)
    : keys_(keys), crypto_(keys, keyring) {
  using Fn = Result<json> (*)(Deps&, const Fields&, const json&);
  auto handler = [this](Fn fn) -> JsonOperation::Handler {
    return [this, fn](const Fields& f, CallContext& ctx) {
      Deps deps{keys_, crypto_, ctx, parameters_, secrets_};
      return fn(deps, f, f.object());
    };
  };
  kms::KeyDirectory& k = keys_;
  ContextOf context = ContextMember("EncryptionContext");
  auto key = [&k] { return Key(k); };
  operations_ = {
      {"CreateKey", {"kms:CreateKey", OnAccount(RequestTagsOf), handler(CreateKey)}},
      {"DescribeKey", {"kms:DescribeKey", key(), handler(DescribeKey)}},
      {"ListKeys", {"kms:ListKeys", OnAccount(), handler(ListKeys)}},
      {"EnableKey", {"kms:EnableKey", key(), handler(EnableKey)}},
      {"DisableKey", {"kms:DisableKey", key(), handler(DisableKey)}},
      {"EnableKeyRotation", {"kms:EnableKeyRotation", key(), handler(EnableKeyRotation)}},
      {"DisableKeyRotation", {"kms:DisableKeyRotation", key(), handler(DisableKeyRotation)}},
      {"GetKeyRotationStatus",
       {"kms:GetKeyRotationStatus", key(), handler(GetKeyRotationStatus)}},
      {"RotateKeyOnDemand", {"kms:RotateKeyOnDemand", key(), handler(RotateKeyOnDemand)}},
      {"ScheduleKeyDeletion", {"kms:ScheduleKeyDeletion", key(), handler(ScheduleKeyDeletion)}},
      {"CancelKeyDeletion", {"kms:CancelKeyDeletion", key(), handler(CancelKeyDeletion)}},
      {"CreateAlias",
       {"kms:CreateAlias", All({Alias(k), Key(k, "TargetKeyId")}), handler(CreateAlias)}},
      {"UpdateAlias",
       {"kms:UpdateAlias", All({Alias(k), Key(k, "TargetKeyId")}), handler(UpdateAlias)}},
      {"DeleteAlias", {"kms:DeleteAlias", Alias(k), handler(DeleteAlias)}},
      {"ListAliases", {"kms:ListAliases", OnAccount(), handler(ListAliases)}},
      {"TagResource",
       {"kms:TagResource", Key(k, "KeyId", nullptr, AddedTagsOf),
        handler(TagResource)}},
      {"UntagResource",
       {"kms:UntagResource", Key(k, "KeyId", nullptr, RemovedTagKeysOf),
        handler(UntagResource)}},
      {"ListResourceTags",
       {"kms:ListResourceTags", Key(k), handler(ListResourceTags)}},
      {"GetKeyPolicy", {"kms:GetKeyPolicy", key(), handler(GetKeyPolicy)}},
      {"PutKeyPolicy", {"kms:PutKeyPolicy", key(), handler(PutKeyPolicy)}},
      {"ListKeyPolicies", {"kms:ListKeyPolicies", key(), handler(ListKeyPolicies)}},
      {"Encrypt", {"kms:Encrypt", Key(k, "KeyId", context), handler(Encrypt)}},
      {"Decrypt", {"kms:Decrypt", BlobKey(k, context), handler(Decrypt)}},
      {"ReEncrypt",
       {"kms:ReEncryptFrom",
        All({BlobKey(k, ContextMember("SourceEncryptionContext")),
             Key(k, "DestinationKeyId", ContextMember("DestinationEncryptionContext"))},
            {"kms:ReEncryptFrom", "kms:ReEncryptTo"}),
        handler(ReEncrypt)}},
      {"GenerateDataKey",
       {"kms:GenerateDataKey", Key(k, "KeyId", context), handler(GenerateDataKey)}},
      {"GenerateDataKeyWithoutPlaintext",
       {"kms:GenerateDataKeyWithoutPlaintext", Key(k, "KeyId", context),
        handler(GenerateDataKeyWithoutPlaintext)}},
      {"GenerateRandom", {"kms:GenerateRandom", OnAccount(), handler(GenerateRandom)}},
      {"RewrapStoredValues",
       {"kms:RewrapStoredValues", Key(k, "KeyId", nullptr, nullptr, /*optional=*/true),
        handler(RewrapStoredValues)}},
  };
}

const JsonOperation* KmsService::Find(std::string_view operation) const {
  return pipeline::FindEntry(operations_, operation);
}

void KmsService::EnableRewrap(domain::parameters::ParameterStore& parameters,
                              domain::secrets::SecretStore& secrets) {
  parameters_ = &parameters;
  secrets_ = &secrets;
}

}  // namespace coffer::api::awsjson
