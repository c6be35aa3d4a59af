#include "api/awsjson/secretsmanager_service.h"

#include <functional>
#include <unordered_map>

#include "api/awsjson/errors.h"
#include "api/awsjson/fields.h"
#include "api/awsjson/kms_authorization.h"
#include "auth/policy.h"
#include "domain/arn.h"
#include "domain/resource.h"
#include "domain/secrets/password.h"
#include "util/encoding.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

namespace sm = domain::secrets;
namespace kms = domain::kms;
using nlohmann::json;

double Epoch(util::SystemTime t) { return util::ToEpochSeconds(t); }

std::unexpected<Error> InvalidParameter(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kSecretInvalidParameter);
}

// An optional secret member: SecretString (text) or SecretBinary (base64).
// Length errors name the member, never the value.
Result<std::optional<sm::SecretValue>> ValueField(const Fields& f, const json& body) {
  auto string_it = body.find("SecretString");
  auto binary_it = body.find("SecretBinary");
  bool has_string = string_it != body.end() && !string_it->is_null();
  bool has_binary = binary_it != body.end() && !binary_it->is_null();
  if (has_string && has_binary) {
    return InvalidParameter(
        "You can't specify both a binary secret value and a string secret value in the same "
        "secret.");
  }
  if (!has_string && !has_binary) return std::optional<sm::SecretValue>();
  const json& v = has_string ? *string_it : *binary_it;
  std::string_view member = has_string ? "SecretString" : "SecretBinary";
  if (!v.is_string()) {
    return SerializationError(std::string(v.is_object() ? "Start of structure" : "Value") +
                              " can not be converted to String (member " + std::string(member) +
                              ")");
  }
  const std::string& text = v.get_ref<const std::string&>();
  sm::SecretValue out;
  out.is_binary = has_binary;
  if (has_binary) {
    auto decoded = util::Base64Decode(text);
    if (!decoded) {
      return SerializationError("Invalid base64 in member SecretBinary");
    }
    out.bytes = SecretBytes(*decoded);
    util::SecureClear(*decoded);
  } else {
    out.bytes = SecretBytes(text);
  }
  if (out.bytes.size() > sm::kMaxValueSize) {
    return ValidationError(std::string_view(), f.PathOf(member),
                           "Member must have length less than or equal to 65536");
  }
  return std::optional<sm::SecretValue>(std::move(out));
}

void RenderValue(json& out, const sm::SecretValue& value) {
  if (value.is_binary) {
    out["SecretBinary"] = util::Base64Encode(value.bytes.Reveal());
  } else {
    out["SecretString"] = std::string(value.bytes.Reveal());
  }
}

json RenderVersioned(const sm::VersionedSecret& s) {
  json out = json::object();
  out["ARN"] = s.arn;
  out["Name"] = s.name;
  out["VersionId"] = s.version_id;
  RenderValue(out, s.value);
  out["VersionStages"] = s.version_stages;
  out["CreatedDate"] = Epoch(s.created);
  return out;
}

json RenderRef(const sm::SecretRef& ref, bool with_stages) {
  json out = json::object();
  out["ARN"] = ref.arn;
  out["Name"] = ref.name;
  if (ref.version_id) {
    out["VersionId"] = *ref.version_id;
    if (with_stages) out["VersionStages"] = ref.version_stages;
  }
  return out;
}

json RenderRules(const sm::RotationRules& r) {
  json out = json::object();
  if (r.automatically_after_days) out["AutomaticallyAfterDays"] = *r.automatically_after_days;
  if (r.duration) out["Duration"] = *r.duration;
  if (r.schedule_expression) out["ScheduleExpression"] = *r.schedule_expression;
  return out;
}

json RenderDescription(const sm::SecretDescription& d, std::string_view stages_member) {
  json out = json::object();
  out["ARN"] = d.arn;
  out["Name"] = d.name;
  if (d.description) out["Description"] = *d.description;
  if (d.kms_key_id) out["KmsKeyId"] = *d.kms_key_id;
  // As on AWS, absent until rotation has been configured once.
  if (d.rotation_enabled || d.rotation_hook) out["RotationEnabled"] = d.rotation_enabled;
  if (d.rotation_hook) out["RotationLambdaARN"] = *d.rotation_hook;
  if (d.rotation_rules) out["RotationRules"] = RenderRules(*d.rotation_rules);
  if (d.last_rotated) out["LastRotatedDate"] = Epoch(*d.last_rotated);
  out["LastChangedDate"] = Epoch(d.last_changed);
  if (d.last_accessed) out["LastAccessedDate"] = Epoch(*d.last_accessed);
  if (d.deleted) out["DeletedDate"] = Epoch(*d.deleted);
  if (d.next_rotation) out["NextRotationDate"] = Epoch(*d.next_rotation);
  out["Tags"] = json::array();
  for (const domain::Tag& t : d.tags) out["Tags"].push_back({{"Key", t.key}, {"Value", t.value}});
  json stages = json::object();
  for (const auto& [id, labels] : d.version_ids_to_stages) stages[id] = labels;
  out[std::string(stages_member)] = std::move(stages);
  out["CreatedDate"] = Epoch(d.created);
  return out;
}

Result<std::vector<domain::Tag>> TagsField(const Fields& f, bool required) {
  return TagList(f, required, 0);
}

Result<std::vector<sm::SecretFilter>> FiltersField(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(auto list, f.OptObjectList("Filters", 0, 10));
  std::vector<sm::SecretFilter> out;
  if (!list) return out;
  for (size_t i = 0; i < list->size(); ++i) {
    Fields ff(*(*list)[i], f.PathOf("Filters") + "." + std::to_string(i + 1) + ".member");
    sm::SecretFilter filter;
    COFFER_ASSIGN_OR_RETURN(std::optional<std::string> key, ff.OptString("Key"));
    if (!key) return InvalidParameter("A filter needs a Key.");
    static constexpr std::string_view kKeys[] = {
        "description", "name", "tag-key", "tag-value", "primary-region", "owning-service", "all"};
    bool known = false;
    for (std::string_view k : kKeys) known = known || k == *key;
    if (!known) {
      return ValidationError(*key, ff.PathOf("Key"),
                             "Member must satisfy enum value set: [description, name, tag-key, "
                             "tag-value, primary-region, owning-service, all]");
    }
    filter.key = *key;
    COFFER_ASSIGN_OR_RETURN(auto values, ff.OptStringList("Values", 1, 10, 0, 512));
    if (!values) return InvalidParameter("A filter needs Values.");
    filter.values = std::move(*values);
    out.push_back(std::move(filter));
  }
  return out;
}

// The ARN a secret named `name` has or would have, without its random suffix
// (what a policy's Resource for a secret that does not exist yet is matched to).
std::string SecretArnFor(const sm::SecretStore& store, std::string_view name) {
  return domain::SecretArn(store.region(), store.account_id(), name);
}

// KMS permissions behind secret values, as on AWS: reading a value needs
// kms:Decrypt on the key that sealed it, writing one kms:GenerateDataKey on the
// secret's key (CreateSecret also kms:Decrypt), changing the key
// kms:GenerateDataKey, kms:Encrypt and kms:Decrypt on the new key and
// kms:Decrypt on the old one (the labelled versions are re-sealed) -- each on
// a customer managed key only, with kms:ViaService
// secretsmanager.<region>.amazonaws.com and the encryption context Secrets
// Manager uses, {"SecretARN": <arn>, "SecretVersionId": <version id>}
// (AuthorizeKeyUse). For writes the key is the one the secret names when the
// call is checked; the version id is the ClientRequestToken (left out of the
// context when the request has none), and CreateSecret's SecretARN is the ARN
// without its random suffix (the secret does not exist yet).
struct KmsUse {
  CallContext& ctx;
  kms::KeyDirectory& keys;
};

kms::EncryptionContext SecretContext(std::string_view arn, std::string_view version_id) {
  kms::EncryptionContext context{{"SecretARN", std::string(arn)}};
  if (!version_id.empty()) context["SecretVersionId"] = std::string(version_id);
  return context;
}

// The check made before each stored value is decrypted.
sm::DecryptCheck DecryptCheckFor(const KmsUse& use) {
  if (use.ctx.authz.Unrestricted()) return {};
  return [&ctx = use.ctx](const kms::KeyMetadata& key, std::string_view arn,
                          std::string_view version_id) {
    return AuthorizeKeyUse(ctx, key, "kms:Decrypt", KmsVia::kSecretsManager,
                           SecretContext(arn, version_id));
  };
}

// `actions` on the key named `key_name` ("" = the default key) for a value of
// secret `arn`.
Status AuthorizeSeal(const KmsUse& use, std::string_view key_name, std::string_view arn,
                     std::string_view version_id, std::initializer_list<std::string_view> actions) {
  if (use.ctx.authz.Unrestricted()) return Ok();
  std::string_view name = key_name.empty() ? sm::kDefaultKeyId : key_name;
  for (std::string_view action : actions) {
    COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(use.ctx, use.keys, name, action, KmsVia::kSecretsManager,
                                           SecretContext(arn, version_id)));
  }
  return Ok();
}

// Whether two key names ("" = default) resolve to the same key (names that do
// not resolve compare as given).
bool SameKey(kms::KeyDirectory& keys, std::string_view a, std::string_view b) {
  auto resolve = [&](std::string_view name) -> std::string {
    std::string_view n = name.empty() ? sm::kDefaultKeyId : name;
    auto key = keys.Resolve(n, /*require_enabled=*/false);
    return key ? key->key_id : std::string(n);
  };
  return resolve(a) == resolve(b);
}

// The key an existing secret names ("" = default) and its ARN; nullopt when it
// does not resolve (the store reports that).
struct SecretKey {
  std::string arn;
  std::string key_name;
};
std::optional<SecretKey> KeyOfSecret(sm::SecretStore& store, std::string_view secret_id) {
  auto d = store.DescribeSecret(secret_id);
  if (!d) return std::nullopt;
  return SecretKey{d->arn, d->kms_key_id.value_or("")};
}

Result<json> CreateSecret(sm::SecretStore& store, const Fields& f, const json& body,
                          const KmsUse& use) {
  sm::CreateSecretRequest req;
  COFFER_ASSIGN_OR_RETURN(req.name, f.String("Name", 1, sm::kMaxNameLength));
  COFFER_ASSIGN_OR_RETURN(req.client_request_token, f.OptString("ClientRequestToken", 32, 64));
  COFFER_ASSIGN_OR_RETURN(req.description, f.OptString("Description", 0, 2048));
  COFFER_ASSIGN_OR_RETURN(req.kms_key_id, f.OptString("KmsKeyId", 0, 2048));
  COFFER_ASSIGN_OR_RETURN(req.value, ValueField(f, body));
  COFFER_ASSIGN_OR_RETURN(req.tags, TagsField(f, false));
  COFFER_ASSIGN_OR_RETURN(auto replicas, f.OptObjectList("AddReplicaRegions", 0, 1000));
  if (replicas && !replicas->empty()) {
    return InvalidParameter("Replication to other regions is not supported.");
  }
  if (req.value) {
    COFFER_RETURN_IF_ERROR(AuthorizeSeal(
        use, req.kms_key_id.value_or(""), SecretArnFor(store, req.name),
        req.client_request_token.value_or(""), {"kms:GenerateDataKey", "kms:Decrypt"}));
  }
  COFFER_ASSIGN_OR_RETURN(sm::SecretRef ref, store.CreateSecret(req));
  json out = RenderRef(ref, false);
  return out;
}

Result<json> GetSecretValue(sm::SecretStore& store, const Fields& f, const json&,
                            const KmsUse& use) {
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> version, f.OptString("VersionId", 32, 64));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> stage, f.OptString("VersionStage", 1, 256));
  COFFER_ASSIGN_OR_RETURN(
      sm::VersionedSecret s,
      store.GetSecretValue(id, version ? std::optional<std::string_view>(*version) : std::nullopt,
                           stage ? std::optional<std::string_view>(*stage) : std::nullopt,
                           DecryptCheckFor(use)));
  return RenderVersioned(s);
}

// `may_read`: see BatchGetRequest (the caller's GetSecretValue permission on
// each secret the filters find).
Result<json> BatchGetSecretValueChecked(sm::SecretStore& store, const Fields& f,
                                        std::function<Status(std::string_view arn)> may_read,
                                        const KmsUse& use) {
  sm::BatchGetRequest req;
  req.may_read = std::move(may_read);
  req.may_decrypt = DecryptCheckFor(use);
  COFFER_ASSIGN_OR_RETURN(auto ids, f.OptStringList("SecretIdList", 1, 20, 1, 2048));
  if (ids) req.secret_ids = std::move(*ids);
  COFFER_ASSIGN_OR_RETURN(req.filters, FiltersField(f));
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> max, f.OptInt("MaxResults", 1, 20));
  if (max) req.max_results = static_cast<int>(*max);
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> token, f.OptString("NextToken", 1, 4096));
  req.next_token = token.value_or("");
  COFFER_ASSIGN_OR_RETURN(sm::BatchGetResult result, store.BatchGetSecretValue(req));
  json out = json::object();
  out["SecretValues"] = json::array();
  for (const sm::VersionedSecret& s : result.values) {
    out["SecretValues"].push_back(RenderVersioned(s));
  }
  out["Errors"] = json::array();
  for (const sm::BatchGetError& e : result.errors) {
    WireError wire = MapError("secretsmanager", e.error);
    out["Errors"].push_back({{"SecretId", e.secret_id},
                             {"ErrorCode", std::string(wire.code)},
                             {"Message", e.error.message}});
  }
  if (!result.next_token.empty()) out["NextToken"] = result.next_token;
  return out;
}

Result<json> PutSecretValue(sm::SecretStore& store, const Fields& f, const json& body,
                            const KmsUse& use) {
  sm::PutSecretValueRequest req;
  COFFER_ASSIGN_OR_RETURN(req.secret_id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(req.client_request_token, f.OptString("ClientRequestToken", 32, 64));
  COFFER_ASSIGN_OR_RETURN(std::optional<sm::SecretValue> value, ValueField(f, body));
  if (!value) {
    return InvalidParameter("You must provide either SecretString or SecretBinary.");
  }
  req.value = std::move(*value);
  COFFER_ASSIGN_OR_RETURN(req.version_stages, f.OptStringList("VersionStages", 1, 20, 1, 256));
  if (auto key = KeyOfSecret(store, req.secret_id)) {
    COFFER_RETURN_IF_ERROR(AuthorizeSeal(use, key->key_name, key->arn,
                                         req.client_request_token.value_or(""),
                                         {"kms:GenerateDataKey"}));
  }
  COFFER_ASSIGN_OR_RETURN(sm::SecretRef ref, store.PutSecretValue(req));
  return RenderRef(ref, true);
}

Result<json> UpdateSecret(sm::SecretStore& store, const Fields& f, const json& body,
                          const KmsUse& use) {
  sm::UpdateSecretRequest req;
  COFFER_ASSIGN_OR_RETURN(req.secret_id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(req.client_request_token, f.OptString("ClientRequestToken", 32, 64));
  COFFER_ASSIGN_OR_RETURN(req.description, f.OptString("Description", 0, 2048));
  COFFER_ASSIGN_OR_RETURN(req.kms_key_id, f.OptString("KmsKeyId", 0, 2048));
  COFFER_ASSIGN_OR_RETURN(req.value, ValueField(f, body));
  if (auto key = KeyOfSecret(store, req.secret_id); key && !use.ctx.authz.Unrestricted()) {
    std::string version = req.client_request_token.value_or("");
    std::string effective = key->key_name;
    if (req.kms_key_id) {
      std::string wanted = *req.kms_key_id == sm::kDefaultKeyId ? "" : *req.kms_key_id;
      if (!SameKey(use.keys, wanted, key->key_name)) {
        // The labelled versions are re-sealed: read under the old key, sealed
        // under the new one.
        COFFER_RETURN_IF_ERROR(AuthorizeSeal(use, key->key_name, key->arn, "", {"kms:Decrypt"}));
        COFFER_RETURN_IF_ERROR(AuthorizeSeal(
            use, wanted, key->arn, "", {"kms:GenerateDataKey", "kms:Encrypt", "kms:Decrypt"}));
      }
      effective = wanted;
    }
    if (req.value) {
      COFFER_RETURN_IF_ERROR(
          AuthorizeSeal(use, effective, key->arn, version, {"kms:GenerateDataKey"}));
    }
  }
  COFFER_ASSIGN_OR_RETURN(sm::SecretRef ref, store.UpdateSecret(req));
  return RenderRef(ref, false);
}

Result<json> DescribeSecret(sm::SecretStore& store, const Fields& f, const json&, const KmsUse&) {
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(sm::SecretDescription d, store.DescribeSecret(id));
  return RenderDescription(d, "VersionIdsToStages");
}

// `visible`: whether the caller may see a listed secret (null: all), see MayList.
Result<json> ListSecretsChecked(sm::SecretStore& store, const Fields& f,
                                const std::function<bool(const std::string& arn)>& visible) {
  sm::ListSecretsQuery q;
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> planned, f.OptBool("IncludePlannedDeletion"));
  q.include_planned_deletion = planned.value_or(false);
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> max, f.OptInt("MaxResults", 1, 100));
  q.max_results = static_cast<int>(max.value_or(100));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> token, f.OptString("NextToken", 1, 4096));
  q.next_token = token.value_or("");
  COFFER_ASSIGN_OR_RETURN(q.filters, FiltersField(f));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> order, f.OptString("SortOrder"));
  if (order && *order != "asc" && *order != "desc") {
    return ValidationError(*order, f.PathOf("SortOrder"),
                           "Member must satisfy enum value set: [asc, desc]");
  }
  q.descending = order && *order == "desc";
  COFFER_ASSIGN_OR_RETURN(sm::SecretPage page, store.ListSecrets(q));
  json out = json::object();
  out["SecretList"] = json::array();
  for (const sm::SecretDescription& d : page.secrets) {
    if (visible && !visible(d.arn)) continue;
    out["SecretList"].push_back(RenderDescription(d, "SecretVersionsToStages"));
  }
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

Result<json> ListSecretVersionIds(sm::SecretStore& store, const Fields& f, const json&,
                                  const KmsUse&) {
  sm::VersionQuery q;
  COFFER_ASSIGN_OR_RETURN(q.secret_id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> max, f.OptInt("MaxResults", 1, 100));
  q.max_results = static_cast<int>(max.value_or(100));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> token, f.OptString("NextToken", 1, 4096));
  q.next_token = token.value_or("");
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> deprecated, f.OptBool("IncludeDeprecated"));
  q.include_deprecated = deprecated.value_or(false);
  COFFER_ASSIGN_OR_RETURN(sm::VersionPage page, store.ListSecretVersionIds(q));
  json out = json::object();
  out["Versions"] = json::array();
  for (const sm::SecretVersionSummary& v : page.versions) {
    json entry = json::object();
    entry["VersionId"] = v.version_id;
    entry["VersionStages"] = v.version_stages;
    if (v.last_accessed) entry["LastAccessedDate"] = Epoch(*v.last_accessed);
    entry["CreatedDate"] = Epoch(v.created);
    entry["KmsKeyIds"] = v.kms_key_ids;
    out["Versions"].push_back(std::move(entry));
  }
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  out["ARN"] = page.arn;
  out["Name"] = page.name;
  return out;
}

Result<json> DeleteSecret(sm::SecretStore& store, const Fields& f, const json&, const KmsUse&) {
  sm::DeleteSecretRequest req;
  COFFER_ASSIGN_OR_RETURN(req.secret_id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(req.recovery_window_days,
                          f.OptInt("RecoveryWindowInDays", std::numeric_limits<int64_t>::min(),
                                   std::numeric_limits<int64_t>::max()));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> force, f.OptBool("ForceDeleteWithoutRecovery"));
  req.force_delete_without_recovery = force.value_or(false);
  COFFER_ASSIGN_OR_RETURN(sm::DeletionResult r, store.DeleteSecret(req));
  json out = json::object();
  out["ARN"] = r.arn;
  out["Name"] = r.name;
  out["DeletionDate"] = Epoch(r.deletion_date);
  return out;
}

Result<json> RestoreSecret(sm::SecretStore& store, const Fields& f, const json&, const KmsUse&) {
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(sm::SecretRef ref, store.RestoreSecret(id));
  return RenderRef(ref, false);
}

Result<json> UpdateSecretVersionStage(sm::SecretStore& store, const Fields& f, const json&,
                                      const KmsUse&) {
  sm::UpdateStageRequest req;
  COFFER_ASSIGN_OR_RETURN(req.secret_id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(req.version_stage, f.String("VersionStage", 1, 256));
  COFFER_ASSIGN_OR_RETURN(req.remove_from_version_id, f.OptString("RemoveFromVersionId", 32, 64));
  COFFER_ASSIGN_OR_RETURN(req.move_to_version_id, f.OptString("MoveToVersionId", 32, 64));
  COFFER_ASSIGN_OR_RETURN(sm::SecretRef ref, store.UpdateSecretVersionStage(req));
  return RenderRef(ref, false);
}

Result<json> RotateSecret(sm::SecretStore& store, const Fields& f, const json& body,
                          const KmsUse&) {
  sm::RotateSecretRequest req;
  COFFER_ASSIGN_OR_RETURN(req.secret_id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(req.client_request_token, f.OptString("ClientRequestToken", 32, 64));
  COFFER_ASSIGN_OR_RETURN(req.rotation_hook, f.OptString("RotationLambdaARN", 0, 2048));
  auto rules_it = body.find("RotationRules");
  if (rules_it != body.end() && !rules_it->is_null()) {
    if (!rules_it->is_object()) {
      return SerializationError("RotationRules must be a structure");
    }
    Fields rf(*rules_it, f.PathOf("RotationRules"));
    sm::RotationRules rules;
    COFFER_ASSIGN_OR_RETURN(rules.automatically_after_days,
                            rf.OptInt("AutomaticallyAfterDays", 1, 1000));
    COFFER_ASSIGN_OR_RETURN(rules.duration, rf.OptString("Duration", 2, 3));
    COFFER_ASSIGN_OR_RETURN(rules.schedule_expression, rf.OptString("ScheduleExpression", 1, 256));
    req.rules = std::move(rules);
  }
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> immediately, f.OptBool("RotateImmediately"));
  req.rotate_immediately = immediately.value_or(true);
  COFFER_ASSIGN_OR_RETURN(sm::SecretRef ref, store.RotateSecret(req));
  return RenderRef(ref, false);
}

Result<json> CancelRotateSecret(sm::SecretStore& store, const Fields& f, const json&,
                                const KmsUse&) {
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(sm::SecretRef ref, store.CancelRotateSecret(id));
  return RenderRef(ref, false);
}

Result<json> TagResource(sm::SecretStore& store, const Fields& f, const json&, const KmsUse&) {
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, TagsField(f, true));
  COFFER_RETURN_IF_ERROR(store.TagResource(id, tags));
  return json::object();
}

Result<json> UntagResource(sm::SecretStore& store, const Fields& f, const json&, const KmsUse&) {
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> keys, f.StringList("TagKeys", 0, 1000, 1, 128));
  COFFER_RETURN_IF_ERROR(store.UntagResource(id, keys));
  return json::object();
}

Result<json> GetRandomPassword(sm::SecretStore&, const Fields& f, const json&, const KmsUse&) {
  sm::PasswordOptions o;
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> length, f.OptInt("PasswordLength", 1, 4096));
  o.length = length.value_or(32);
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> exclude,
                          f.OptString("ExcludeCharacters", 0, 4096));
  o.exclude_characters = exclude.value_or("");
  auto flag = [&](std::string_view member, bool fallback) -> Result<bool> {
    COFFER_ASSIGN_OR_RETURN(std::optional<bool> v, f.OptBool(member));
    return v.value_or(fallback);
  };
  COFFER_ASSIGN_OR_RETURN(o.exclude_numbers, flag("ExcludeNumbers", false));
  COFFER_ASSIGN_OR_RETURN(o.exclude_punctuation, flag("ExcludePunctuation", false));
  COFFER_ASSIGN_OR_RETURN(o.exclude_uppercase, flag("ExcludeUppercase", false));
  COFFER_ASSIGN_OR_RETURN(o.exclude_lowercase, flag("ExcludeLowercase", false));
  COFFER_ASSIGN_OR_RETURN(o.include_space, flag("IncludeSpace", false));
  COFFER_ASSIGN_OR_RETURN(o.require_each_included_type, flag("RequireEachIncludedType", true));
  COFFER_ASSIGN_OR_RETURN(SecretBytes password, sm::GenerateRandomPassword(o));
  json out = json::object();
  out["RandomPassword"] = std::string(password.Reveal());
  return out;
}

// ResourcePolicy as a parsed resource policy: MalformedPolicyDocumentException
// (kMalformedPolicy) with the parser's reason when it is not one.
Result<auth::Policy> ParseResourcePolicyMember(const std::string& document) {
  auto parsed = auth::ParseResourcePolicy(document);
  if (!parsed) {
    return Fail(ErrorCode::kInvalidArgument,
                "This resource policy contains a syntax error: " + parsed.error().message,
                Reason::kMalformedPolicy);
  }
  return parsed;
}

Result<json> PutResourcePolicy(sm::SecretStore& store, const Fields& f, const json&,
                               const KmsUse&) {
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::string document,
                          f.String("ResourcePolicy", 1, sm::kMaxResourcePolicyLength));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> block, f.OptBool("BlockPublicPolicy"));
  COFFER_ASSIGN_OR_RETURN(auth::Policy policy, ParseResourcePolicyMember(document));
  if (block.value_or(false) && auth::GrantsPublicAccess(policy)) {
    return Fail(ErrorCode::kInvalidArgument,
                "The BlockPublicPolicy parameter is set to true, and the resource policy did not "
                "prevent broad access to the secret.",
                Reason::kPublicPolicy);
  }
  COFFER_ASSIGN_OR_RETURN(sm::SecretRef ref, store.PutResourcePolicy(id, document));
  return RenderRef(ref, false);
}

Result<json> GetResourcePolicy(sm::SecretStore& store, const Fields& f, const json&,
                               const KmsUse&) {
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(sm::SecretPolicy p, store.GetResourcePolicy(id));
  json out = json::object();
  out["ARN"] = p.arn;
  out["Name"] = p.name;
  if (p.resource_policy) out["ResourcePolicy"] = *p.resource_policy;
  return out;
}

Result<json> DeleteResourcePolicy(sm::SecretStore& store, const Fields& f, const json&,
                                  const KmsUse&) {
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(sm::SecretRef ref, store.DeleteResourcePolicy(id));
  return RenderRef(ref, false);
}

// Syntax (MalformedPolicyDocumentException) and broad access (a failed check
// named BROAD_ACCESS). The secret, when named, must exist.
Result<json> ValidateResourcePolicy(sm::SecretStore& store, const Fields& f, const json&,
                                    const KmsUse&) {
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> id, f.OptString("SecretId", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::string document,
                          f.String("ResourcePolicy", 1, sm::kMaxResourcePolicyLength));
  if (id) COFFER_RETURN_IF_ERROR(store.AccessInfo(*id));
  COFFER_ASSIGN_OR_RETURN(auth::Policy policy, ParseResourcePolicyMember(document));
  json errors = json::array();
  if (auth::GrantsPublicAccess(policy)) {
    errors.push_back({{"CheckName", "BROAD_ACCESS"},
                      {"ErrorMessage",
                       "The resource policy grants access to every principal (a wildcard "
                       "principal without a condition that narrows it)."}});
  }
  json out = json::object();
  out["PolicyValidationPassed"] = errors.empty();
  out["ValidationErrors"] = std::move(errors);
  return out;
}

// --- resources -----------------------------------------------------------------

// What one secret contributes to a policy check, resolved by the domain
// (SecretStore::AccessInfo: a name, a full ARN or a partial ARN of this
// partition, region and account all resolve to the one secret): its canonical
// ARN, its secretsmanager:ResourceTag/* and aws:ResourceTag/* keys (only when
// some policy reads them) and its compiled resource policy. For an id that
// names no secret, only the ARN it would have, so that a denial does not
// reveal whether it exists.
Access SecretAccess(sm::SecretStore& store, auth::PolicyCache& policies, std::string_view action,
                    auth::RequestAuthorization& authz, std::string_view id,
                    const auth::KeyMap& request_keys) {
  Access access;
  access.input = std::string(id);
  auth::Permission p;
  p.action = std::string(action);
  p.keys = request_keys;
  auto info = store.AccessInfo(id);
  if (!info) {
    p.resource = id.starts_with("arn:") ? std::string(id) : SecretArnFor(store, id);
    access.resource.arn = p.resource;
    access.permission = std::move(p);
    return access;
  }
  access.resource.arn = info->arn;
  access.resource.name = info->name;
  access.resource.exists = true;
  p.resource = info->arn;
  if (!info->resource_policy.empty()) {
    // Compiled once per (ARN, head revision): the hot path only looks it up.
    p.policy = policies.Find(info->arn, info->revision);
    if (!p.policy) {
      p.policy = policies.Get(
          info->arn, info->revision,
          {{"secret/" + info->name + "/resource-policy", std::move(info->resource_policy)}});
    }
    p.role = auth::Permission::PolicyRole::kResource;
  }
  bool wants_tags = authz.NeedsResourceTags() || (p.policy && p.policy->uses_resource_tags);
  if (wants_tags) {
    for (auto& [k, v] : domain::ResourceTagKeys("secretsmanager", info->tags)) {
      auto& values = p.keys[k];
      values.insert(values.end(), v.begin(), v.end());
    }
    access.resource.tags = info->tags;
  }
  access.permission = std::move(p);
  return access;
}

// aws:RequestTag/* and aws:TagKeys for the calls that set or remove tags, read
// leniently (the handler validates the members).
auth::KeyMap TagKeysOf(const json& body) {
  auth::KeyMap keys;
  if (auto tags = body.find("Tags"); tags != body.end() && tags->is_array()) {
    for (const auto& t : *tags) {
      if (t.is_object() && t.contains("Key") && t["Key"].is_string()) {
        std::string k = t["Key"].get<std::string>();
        keys["aws:TagKeys"].push_back(k);
        if (t.contains("Value") && t["Value"].is_string()) {
          keys["aws:RequestTag/" + k].push_back(t["Value"].get<std::string>());
        }
      }
    }
  }
  if (auto names = body.find("TagKeys"); names != body.end() && names->is_array()) {
    for (const auto& k : *names) {
      if (k.is_string()) keys["aws:TagKeys"].push_back(k.get<std::string>());
    }
  }
  return keys;
}

// AWS's condition keys for deletions, so that a policy can insist on a
// recovery window (NumericGreaterThanEquals) or refuse forced deletion.
auth::KeyMap DeletionKeysOf(const json& body) {
  auth::KeyMap keys;
  if (auto w = body.find("RecoveryWindowInDays"); w != body.end() && w->is_number_integer()) {
    keys["secretsmanager:RecoveryWindowInDays"].push_back(std::to_string(w->get<int64_t>()));
  }
  auto force = body.find("ForceDeleteWithoutRecovery");
  keys["secretsmanager:ForceDeleteWithoutRecovery"].push_back(
      force != body.end() && force->is_boolean() && force->get<bool>() ? "true" : "false");
  return keys;
}

std::string StringMember(const json& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// How an operation names its secret.
enum class Names {
  kSecretId,          // the member SecretId (required)
  kSecretIdOrNone,    // SecretId when given, else the account ("*")
  kNewSecret,         // the ARN-to-be of Name (CreateSecret), with its request tags
  kAccount,           // "*" (ListSecrets, GetRandomPassword)
  kBatch,             // "*", and GetSecretValue on each of SecretIdList, as on AWS
};

JsonOperation::Resources SecretResources(sm::SecretStore& store, auth::PolicyCache& policies,
                                         Names names, bool deletion_keys = false) {
  return [&store, &policies, names, deletion_keys](
             const Fields& f, const LookupContext& lookup) -> Result<Accesses> {
    const json& body = f.object();
    auth::KeyMap request_keys = TagKeysOf(body);
    if (deletion_keys) {
      for (auto& [k, v] : DeletionKeysOf(body)) request_keys[k] = std::move(v);
    }
    auto account = [&] {
      Access access;
      access.resource.arn = "*";
      access.permission = lookup.On("*");
      return access;
    };
    switch (names) {
      case Names::kNewSecret: {
        Access access;
        access.input = StringMember(body, "Name");
        access.resource.arn = SecretArnFor(store, access.input);
        access.permission = lookup.On(access.resource.arn, std::move(request_keys));
        return Accesses{std::move(access)};
      }
      case Names::kAccount:
        return Accesses{account()};
      case Names::kBatch: {
        Accesses out{account()};
        if (auto ids = body.find("SecretIdList"); ids != body.end() && ids->is_array()) {
          for (const auto& id : *ids) {
            if (!id.is_string()) continue;
            out.push_back(SecretAccess(store, policies, "secretsmanager:GetSecretValue",
                                       lookup.authz, id.get<std::string>(), {}));
          }
        }
        return out;
      }
      case Names::kSecretId:
      case Names::kSecretIdOrNone: {
        std::string id = StringMember(body, "SecretId");
        if (id.empty()) return Accesses{account()};
        return Accesses{
            SecretAccess(store, policies, lookup.action, lookup.authz, id, request_keys)};
      }
    }
    return Accesses{account()};
  };
}

// BatchGetSecretValue by Filters finds secrets nobody named up front: each is
// read only if the caller may GetSecretValue it; the others go to Errors
// (AccessDeniedException) unread.
std::function<Status(std::string_view)> MayRead(sm::SecretStore& store,
                                                auth::PolicyCache& policies, CallContext& ctx) {
  if (ctx.authz.Unrestricted()) return {};
  return [&store, &policies, &ctx](std::string_view arn) -> Status {
    Access a = SecretAccess(store, policies, "secretsmanager:GetSecretValue", ctx.authz, arn, {});
    if (ctx.authz.Allowed(*a.permission)) return Ok();
    return Fail(ErrorCode::kPermissionDenied,
                "User: " + std::string(ctx.principal_arn()) +
                    " is not authorized to perform: secretsmanager:GetSecretValue on resource: " +
                    std::string(arn),
                Reason::kAccessDenied);
  };
}

// ListSecrets shows only the secrets the caller may list: its
// secretsmanager:ListSecrets permission is checked on each listed secret's
// ARN with its tags and resource policy (so a Deny by resource or by tag hides
// the secret, as DescribeParameters does for parameters).
std::function<bool(const std::string&)> MayList(sm::SecretStore& store,
                                                auth::PolicyCache& policies, CallContext& ctx) {
  if (ctx.authz.Unrestricted()) return {};
  return [&store, &policies, &ctx](const std::string& arn) {
    Access a = SecretAccess(store, policies, "secretsmanager:ListSecrets", ctx.authz, arn, {});
    return ctx.authz.Allowed(*a.permission);
  };
}

}  // namespace

SecretsManagerService::SecretsManagerService(domain::secrets::SecretStore& store,
                                             domain::kms::KeyDirectory& keys)
    : store_(store), keys_(keys), resource_policies_(auth::PolicyKind::kResource) {
  using Fn = Result<json> (*)(sm::SecretStore&, const Fields&, const json&, const KmsUse&);
  auto handler = [this](Fn fn) -> JsonOperation::Handler {
    return [this, fn](const Fields& f, CallContext& ctx) {
      return fn(store_, f, f.object(), KmsUse{ctx, keys_});
    };
  };
  auto on = [this](Names names, bool deletion_keys = false) {
    return SecretResources(store_, resource_policies_, names, deletion_keys);
  };
  auto op = [](std::string_view name) { return "secretsmanager:" + std::string(name); };
  operations_ = {
      {"CreateSecret", {op("CreateSecret"), on(Names::kNewSecret), handler(CreateSecret)}},
      {"GetSecretValue", {op("GetSecretValue"), on(Names::kSecretId), handler(GetSecretValue)}},
      {"BatchGetSecretValue",
       {op("BatchGetSecretValue"), on(Names::kBatch),
        [this](const Fields& f, CallContext& ctx) -> Result<json> {
          KmsUse use{ctx, keys_};
          if (f.object().contains("SecretIdList")) {
            return BatchGetSecretValueChecked(store_, f, {}, use);
          }
          return BatchGetSecretValueChecked(store_, f, MayRead(store_, resource_policies_, ctx),
                                            use);
        }}},
      {"PutSecretValue", {op("PutSecretValue"), on(Names::kSecretId), handler(PutSecretValue)}},
      {"UpdateSecret", {op("UpdateSecret"), on(Names::kSecretId), handler(UpdateSecret)}},
      {"DescribeSecret", {op("DescribeSecret"), on(Names::kSecretId), handler(DescribeSecret)}},
      {"ListSecrets",
       {op("ListSecrets"), on(Names::kAccount),
        [this](const Fields& f, CallContext& ctx) {
          return ListSecretsChecked(store_, f, MayList(store_, resource_policies_, ctx));
        }}},
      {"ListSecretVersionIds",
       {op("ListSecretVersionIds"), on(Names::kSecretId), handler(ListSecretVersionIds)}},
      {"DeleteSecret",
       {op("DeleteSecret"), on(Names::kSecretId, /*deletion_keys=*/true), handler(DeleteSecret)}},
      {"RestoreSecret", {op("RestoreSecret"), on(Names::kSecretId), handler(RestoreSecret)}},
      {"UpdateSecretVersionStage",
       {op("UpdateSecretVersionStage"), on(Names::kSecretId), handler(UpdateSecretVersionStage)}},
      {"RotateSecret", {op("RotateSecret"), on(Names::kSecretId), handler(RotateSecret)}},
      {"CancelRotateSecret",
       {op("CancelRotateSecret"), on(Names::kSecretId), handler(CancelRotateSecret)}},
      {"TagResource", {op("TagResource"), on(Names::kSecretId), handler(TagResource)}},
      {"UntagResource", {op("UntagResource"), on(Names::kSecretId), handler(UntagResource)}},
      {"GetRandomPassword",
       {op("GetRandomPassword"), on(Names::kAccount), handler(GetRandomPassword)}},
      {"PutResourcePolicy",
       {op("PutResourcePolicy"), on(Names::kSecretId), handler(PutResourcePolicy)}},
      {"GetResourcePolicy",
       {op("GetResourcePolicy"), on(Names::kSecretId), handler(GetResourcePolicy)}},
      {"DeleteResourcePolicy",
       {op("DeleteResourcePolicy"), on(Names::kSecretId), handler(DeleteResourcePolicy)}},
      {"ValidateResourcePolicy",
       {op("ValidateResourcePolicy"), on(Names::kSecretIdOrNone),
        handler(ValidateResourcePolicy)}},
  };
}

const JsonOperation* SecretsManagerService::Find(std::string_view operation) const {
  return pipeline::FindEntry(operations_, operation);
}

bool SecretsManagerService::MayReadValue(std::string_view secret_id,
                                    auth::RequestAuthorization& authz) {
  if (authz.Unrestricted()) return true;
  Access a =
      SecretAccess(store_, resource_policies_, "secretsmanager:GetSecretValue", authz, secret_id, {});
  if (!a.resource.exists && authz.NeedsResourceTags()) return false;
  return authz.Allowed(*a.permission);
}

}  // namespace coffer::api::awsjson
