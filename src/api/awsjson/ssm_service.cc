#include "api/awsjson/ssm_service.h"

#include <functional>
#include <unordered_map>

#include "api/awsjson/fields.h"
#include "api/awsjson/kms_authorization.h"
#include "domain/arn.h"
#include "domain/resource.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

namespace params = domain::parameters;
namespace kms = domain::kms;
using nlohmann::json;

double Epoch(util::SystemTime t) { return util::ToEpochSeconds(t); }

json RenderParameter(const params::Parameter& p) {
  json out = json::object();
  out["Name"] = p.name;
  out["Type"] = std::string(params::ParameterTypeName(p.type));
  out["Value"] = std::string(p.value.Reveal());
  out["Version"] = p.version;
  if (!p.selector.empty()) out["Selector"] = p.selector;
  out["LastModifiedDate"] = Epoch(p.last_modified);
  out["ARN"] = p.arn;
  out["DataType"] = p.data_type;
  return out;
}

json RenderMetadata(const params::ParameterMetadata& m) {
  json out = json::object();
  out["Name"] = m.name;
  out["ARN"] = m.arn;
  out["Type"] = std::string(params::ParameterTypeName(m.type));
  if (m.key_id) out["KeyId"] = *m.key_id;
  out["LastModifiedDate"] = Epoch(m.last_modified);
  out["LastModifiedUser"] = m.last_modified_user;
  out["Description"] = m.description;  // chamber dereferences it: always present
  if (!m.allowed_pattern.empty()) out["AllowedPattern"] = m.allowed_pattern;
  out["Version"] = m.version;
  out["Tier"] = std::string(params::ParameterTierName(m.tier));
  out["Policies"] = json::array();
  out["DataType"] = m.data_type;
  return out;
}

std::unexpected<Error> EnumError(std::string_view value, std::string path,
                                 std::string_view allowed) {
  return ValidationError(value, path,
                         "Member must satisfy enum value set: [" + std::string(allowed) + "]");
}

Result<std::optional<params::ParameterType>> TypeField(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> text, f.OptString("Type"));
  if (!text) return std::optional<params::ParameterType>();
  auto type = params::ParseParameterType(*text);
  if (!type) return EnumError(*text, f.PathOf("Type"), "SecureString, StringList, String");
  return type;
}

Result<std::vector<domain::Tag>> TagsField(const Fields& f, bool required) {
  return TagList(f, required, required ? 1 : 0);
}

Result<std::vector<params::ParameterFilter>> FiltersField(const Fields& f, std::string_view member,
                                                          bool legacy) {
  COFFER_ASSIGN_OR_RETURN(auto list, f.OptObjectList(member, 0, legacy ? 50 : 1000));
  std::vector<params::ParameterFilter> out;
  if (!list) return out;
  for (size_t i = 0; i < list->size(); ++i) {
    Fields ff(*(*list)[i], f.PathOf(member) + "." + std::to_string(i + 1) + ".member");
    params::ParameterFilter filter;
    if (legacy) {
      COFFER_ASSIGN_OR_RETURN(filter.key, ff.String("Key"));
      if (filter.key != "Name" && filter.key != "Type" && filter.key != "KeyId") {
        return EnumError(filter.key, ff.PathOf("Key"), "Name, Type, KeyId");
      }
      COFFER_ASSIGN_OR_RETURN(filter.values, ff.StringList("Values", 1, 50, 1, 1024));
    } else {
      COFFER_ASSIGN_OR_RETURN(filter.key, ff.String("Key", 1, 132));
      COFFER_ASSIGN_OR_RETURN(std::optional<std::string> option, ff.OptString("Option", 1, 10));
      if (option) filter.option = *option;
      COFFER_ASSIGN_OR_RETURN(auto values, ff.OptStringList("Values", 1, 50, 1, 1024));
      if (values) filter.values = std::move(*values);
    }
    out.push_back(std::move(filter));
  }
  return out;
}

Status ResourceTypeField(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::string type, f.String("ResourceType"));
  static constexpr std::string_view kKnown[] = {
      "Document", "ManagedInstance", "MaintenanceWindow", "Parameter", "PatchBaseline",
      "OpsItem",  "OpsMetadata",     "Automation",        "Association"};
  bool known = false;
  for (std::string_view k : kKnown) known = known || k == type;
  if (!known) {
    return EnumError(type, f.PathOf("ResourceType"),
                     "Document, ManagedInstance, MaintenanceWindow, Parameter, PatchBaseline, "
                     "OpsItem, OpsMetadata, Automation, Association");
  }
  if (type != "Parameter") {
    return Fail(ErrorCode::kInvalidArgument,
                "The resource type is not valid for this operation: only Parameter is "
                "supported.",
                Reason::kInvalidResourceType);
  }
  return Ok();
}

// --- authorization -------------------------------------------------------------

// Every operation names its parameter through ParameterStore::Resolve (the
// domain's one resolver): the policy is evaluated on the canonical ARN with
// the parameter's own tags as ssm:ResourceTag/* and aws:ResourceTag/*, the
// audit record shows that ARN, and the operation runs on the canonical name --
// so "/a/b", "/a/b:3", "/a/b:label" and "arn:aws:ssm:...:parameter/a/b" meet
// the same Deny. An input that names no parameter here (an ARN of another
// partition, region or account) is ParameterNotFound before any policy is
// read: it can only ever name nothing.
using domain::ResolvedResource;
using params::NameForms;

Result<ResolvedResource> Resolve(params::ParameterStore& store, const CallContext& ctx,
                                 std::string_view name, NameForms forms) {
  bool with_tags = ctx.authz != nullptr && ctx.authz->NeedsResourceTags();
  return store.Resolve(name, forms, with_tags);
}

Status Authorize(const CallContext& ctx, std::string_view action, const ResolvedResource& r,
                 std::map<std::string, std::vector<std::string>> extra = {}) {
  if (ctx.authz == nullptr) return Ok();
  auto keys = domain::ResourceTagKeys("ssm", r.tags);
  for (auto& [k, v] : extra) keys[k] = std::move(v);
  return awsjson::Authorize(ctx, action, r.arn, keys);
}

// Resolves `name` and checks `action` on it.
Result<ResolvedResource> ResolveAndAuthorize(
    params::ParameterStore& store, const CallContext& ctx, std::string_view action,
    std::string_view name, NameForms forms,
    std::map<std::string, std::vector<std::string>> extra = {}) {
  COFFER_ASSIGN_OR_RETURN(ResolvedResource r, Resolve(store, ctx, name, forms));
  COFFER_RETURN_IF_ERROR(Authorize(ctx, action, r, std::move(extra)));
  return r;
}

// What the operation is run on: the canonical name with the request's
// selector, or (for a parameter that does not exist) the input as given, so
// that the not-found error names what the caller sent.
std::string Target(const ResolvedResource& r, std::string_view input) {
  return r.exists ? r.name + r.selector : std::string(input);
}

// For filtering list results: a parameter the store listed (a canonical name).
Result<bool> Allowed(params::ParameterStore& store, const CallContext& ctx,
                     std::string_view action, std::string_view name) {
  if (ctx.authz == nullptr) return true;
  COFFER_ASSIGN_OR_RETURN(ResolvedResource r, Resolve(store, ctx, name, NameForms::kNameOnly));
  return awsjson::IsAllowed(ctx, action, r.arn, domain::ResourceTagKeys("ssm", r.tags));
}

// KMS permissions behind SecureString values, as on AWS: a read WithDecryption
// needs kms:Decrypt and a write kms:Encrypt (SSM seals standard-tier values
// with Encrypt; Coffer seals every tier alike, so kms:Encrypt is asked for
// advanced ones too) on a customer managed key, with kms:ViaService
// ssm.<region>.amazonaws.com and the encryption context SSM uses,
// {"PARAMETER_ARN": <parameter ARN>}. The AWS managed key alias/aws/ssm needs
// nothing beyond the ssm: permission (AuthorizeKeyUse).
kms::EncryptionContext ParameterContext(std::string_view arn) {
  return {{"PARAMETER_ARN", std::string(arn)}};
}

// kms:Decrypt on the key that sealed a value read WithDecryption, asked by the
// store before it decrypts (none without authorization).
params::KeyCheck DecryptCheck(const CallContext& ctx) {
  if (ctx.authz == nullptr) return {};
  return [&ctx](const kms::KeyMetadata& key, std::string_view arn) {
    return AuthorizeKeyUse(ctx, key, "kms:Decrypt", KmsVia::kSsm, ParameterContext(arn));
  };
}

using Handler = std::function<Result<json>(params::ParameterStore&, const Fields&,
                                           const CallContext&)>;

Result<json> PutParameter(params::ParameterStore& store, const Fields& f, const CallContext& ctx) {
  params::PutParameterRequest req;
  COFFER_ASSIGN_OR_RETURN(req.name, f.String("Name", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(req.value, f.Secret("Value", 1, params::kAdvancedValueLimit));
  COFFER_ASSIGN_OR_RETURN(req.type, TypeField(f));
  COFFER_ASSIGN_OR_RETURN(req.description, f.OptString("Description", 0, 1024));
  COFFER_ASSIGN_OR_RETURN(req.key_id, f.OptString("KeyId", 1, 256));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> overwrite, f.OptBool("Overwrite"));
  req.overwrite = overwrite.value_or(false);
  COFFER_ASSIGN_OR_RETURN(req.allowed_pattern, f.OptString("AllowedPattern", 0, 1024));
  COFFER_ASSIGN_OR_RETURN(req.tags, TagsField(f, false));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> tier, f.OptString("Tier"));
  if (tier) {
    req.tier = params::ParseParameterTier(*tier);
    if (!req.tier) {
      return EnumError(*tier, f.PathOf("Tier"), "Standard, Advanced, Intelligent-Tiering");
    }
  }
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> policies, f.OptString("Policies", 1, 4096));
  if (policies) {
    return Fail(ErrorCode::kInvalidArgument, "Parameter policies are not supported.",
                Reason::kValidation);
  }
  COFFER_ASSIGN_OR_RETURN(req.data_type, f.OptString("DataType", 0, 128));
  COFFER_RETURN_IF_ERROR(ResolveAndAuthorize(store, ctx, "ssm:PutParameter", req.name,
                                             NameForms::kNameOnly,
                                             domain::RequestTagKeys(req.tags)));
  if (ctx.authz != nullptr) {
    req.may_encrypt = [&ctx](const kms::KeyMetadata& key, std::string_view arn) {
      return AuthorizeKeyUse(ctx, key, "kms:Encrypt", KmsVia::kSsm, ParameterContext(arn));
    };
  }
  COFFER_ASSIGN_OR_RETURN(params::PutParameterResult result,
                          store.PutParameter(req, ctx.caller.principal.arn));
  json out = json::object();
  out["Version"] = result.version;
  out["Tier"] = std::string(params::ParameterTierName(result.tier));
  return out;
}

Result<json> GetParameter(params::ParameterStore& store, const Fields& f, const CallContext& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("Name", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> decrypt, f.OptBool("WithDecryption"));
  COFFER_ASSIGN_OR_RETURN(ResolvedResource r, ResolveAndAuthorize(store, ctx, "ssm:GetParameter",
                                                                  name, NameForms::kAny));
  COFFER_ASSIGN_OR_RETURN(params::Parameter p,
                          store.GetParameter(Target(r, name), decrypt.value_or(false),
                                             DecryptCheck(ctx)));
  json out = json::object();
  out["Parameter"] = RenderParameter(p);
  return out;
}

Result<json> GetParameters(params::ParameterStore& store, const Fields& f, const CallContext& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> names, f.StringList("Names", 1, 10, 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> decrypt, f.OptBool("WithDecryption"));
  // Each name as resolved (one the caller may not read refuses the call); a
  // name that names nothing here goes to InvalidParameters as sent.
  std::vector<std::string> targets;
  std::map<std::string, std::string> sent;  // target -> name as sent
  for (const std::string& name : names) {
    auto r = Resolve(store, ctx, name, NameForms::kAny);
    if (!r) {
      if (r.error().reason != Reason::kParameterNotFound) return Fail(r.error());
      targets.push_back(name);
      continue;
    }
    COFFER_RETURN_IF_ERROR(Authorize(ctx, "ssm:GetParameters", *r));
    targets.push_back(Target(*r, name));
    sent.emplace(targets.back(), name);
  }
  // As on AWS, one value the caller may not decrypt fails the whole call.
  COFFER_ASSIGN_OR_RETURN(
      params::GetParametersResult result,
      store.GetParameters(targets, decrypt.value_or(false), DecryptCheck(ctx)));
  for (std::string& invalid : result.invalid_parameters) {
    if (auto it = sent.find(invalid); it != sent.end()) invalid = it->second;
  }
  json out = json::object();
  out["Parameters"] = json::array();
  for (const params::Parameter& p : result.parameters) out["Parameters"].push_back(RenderParameter(p));
  out["InvalidParameters"] = result.invalid_parameters;
  return out;
}

Result<json> GetParametersByPath(params::ParameterStore& store, const Fields& f,
                                 const CallContext& ctx) {
  params::PathQuery q;
  COFFER_ASSIGN_OR_RETURN(q.path, f.String("Path", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> recursive, f.OptBool("Recursive"));
  q.recursive = recursive.value_or(false);
  COFFER_ASSIGN_OR_RETURN(q.filters, FiltersField(f, "ParameterFilters", false));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> decrypt, f.OptBool("WithDecryption"));
  q.with_decryption = decrypt.value_or(false);
  if (ctx.authz != nullptr) {
    // A value under a key the caller may not decrypt with fails the whole call
    // (as AWS does when its KMS call fails); an entry the caller may not read
    // at all is left out below, so its key is not asked about.
    std::string arn_prefix = domain::ParameterArn(store.region(), store.account_id(), "/");
    arn_prefix.pop_back();  // "...:parameter"; a path's parameters all start with '/'
    q.may_decrypt = [&store, &ctx, arn_prefix](const kms::KeyMetadata& key,
                                               std::string_view arn) -> Status {
      COFFER_ASSIGN_OR_RETURN(bool readable, Allowed(store, ctx, "ssm:GetParametersByPath",
                                                     arn.substr(arn_prefix.size())));
      if (!readable) return Ok();
      return AuthorizeKeyUse(ctx, key, "kms:Decrypt", KmsVia::kSsm, ParameterContext(arn));
    };
  }
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> max, f.OptInt("MaxResults", 1, 10));
  q.max_results = static_cast<int>(max.value_or(10));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> token, f.OptString("NextToken"));
  q.next_token = token.value_or("");
  {
    std::string path = q.path;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    // The path is not a parameter: its ARN is the one a policy names it by.
    COFFER_RETURN_IF_ERROR(awsjson::Authorize(
        ctx, "ssm:GetParametersByPath",
        domain::ParameterArn(store.region(), store.account_id(), path)));
  }
  COFFER_ASSIGN_OR_RETURN(params::ParameterPage page, store.GetParametersByPath(q));
  json out = json::object();
  out["Parameters"] = json::array();
  // As on AWS, only what the caller may read comes back.
  for (const params::Parameter& p : page.parameters) {
    COFFER_ASSIGN_OR_RETURN(bool allowed, Allowed(store, ctx, "ssm:GetParametersByPath", p.name));
    if (!allowed) continue;
    out["Parameters"].push_back(RenderParameter(p));
  }
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

Result<json> DeleteParameter(params::ParameterStore& store, const Fields& f, const CallContext& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("Name", 1, 2048));
  COFFER_RETURN_IF_ERROR(
      ResolveAndAuthorize(store, ctx, "ssm:DeleteParameter", name, NameForms::kNameOnly));
  COFFER_RETURN_IF_ERROR(store.DeleteParameter(name));
  return json::object();
}

Result<json> DeleteParameters(params::ParameterStore& store, const Fields& f,
                              const CallContext& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> names, f.StringList("Names", 1, 10, 1, 2048));
  for (const std::string& name : names) {
    COFFER_RETURN_IF_ERROR(
        ResolveAndAuthorize(store, ctx, "ssm:DeleteParameters", name, NameForms::kNameOnly));
  }
  COFFER_ASSIGN_OR_RETURN(params::DeleteParametersResult result, store.DeleteParameters(names));
  json out = json::object();
  out["DeletedParameters"] = result.deleted_parameters;
  out["InvalidParameters"] = result.invalid_parameters;
  return out;
}

Result<json> GetParameterHistory(params::ParameterStore& store, const Fields& f,
                                 const CallContext& ctx) {
  params::HistoryQuery q;
  COFFER_ASSIGN_OR_RETURN(q.name, f.String("Name", 1, 2048));
  {
    COFFER_ASSIGN_OR_RETURN(ResolvedResource r, ResolveAndAuthorize(store, ctx,
                                                                    "ssm:GetParameterHistory",
                                                                    q.name, NameForms::kAny));
    q.name = Target(r, q.name);
  }
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> decrypt, f.OptBool("WithDecryption"));
  q.with_decryption = decrypt.value_or(false);
  q.may_decrypt = DecryptCheck(ctx);
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> max, f.OptInt("MaxResults", 1, 50));
  q.max_results = static_cast<int>(max.value_or(50));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> token, f.OptString("NextToken"));
  q.next_token = token.value_or("");
  COFFER_ASSIGN_OR_RETURN(params::HistoryPage page, store.GetParameterHistory(q));
  json out = json::object();
  out["Parameters"] = json::array();
  for (const params::ParameterHistoryEntry& e : page.entries) {
    json item = RenderMetadata(e.metadata);
    item.erase("ARN");  // not a member of ParameterHistory
    item["Value"] = std::string(e.value.Reveal());
    item["Labels"] = e.labels;
    out["Parameters"].push_back(std::move(item));
  }
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

Result<json> DescribeParameters(params::ParameterStore& store, const Fields& f,
                                const CallContext& ctx) {
  params::DescribeQuery q;
  COFFER_ASSIGN_OR_RETURN(q.legacy_filters, FiltersField(f, "Filters", true));
  COFFER_ASSIGN_OR_RETURN(q.filters, FiltersField(f, "ParameterFilters", false));
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> max, f.OptInt("MaxResults", 1, 50));
  q.max_results = static_cast<int>(max.value_or(50));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> token, f.OptString("NextToken"));
  q.next_token = token.value_or("");
  COFFER_RETURN_IF_ERROR(awsjson::Authorize(ctx, "ssm:DescribeParameters", "*"));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> shared, f.OptBool("Shared"));
  (void)shared;  // nothing is shared across accounts here
  COFFER_ASSIGN_OR_RETURN(params::MetadataPage page, store.DescribeParameters(q));
  json out = json::object();
  out["Parameters"] = json::array();
  for (const params::ParameterMetadata& m : page.parameters) {
    COFFER_ASSIGN_OR_RETURN(bool allowed, Allowed(store, ctx, "ssm:DescribeParameters", m.name));
    if (!allowed) continue;
    out["Parameters"].push_back(RenderMetadata(m));
  }
  if (!page.next_token.empty()) out["NextToken"] = page.next_token;
  return out;
}

Result<json> LabelParameterVersion(params::ParameterStore& store, const Fields& f,
                                   const CallContext& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("Name", 1, 2048));
  COFFER_RETURN_IF_ERROR(
      ResolveAndAuthorize(store, ctx, "ssm:LabelParameterVersion", name, NameForms::kNameOnly));
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> version,
                          f.OptInt("ParameterVersion", 0, std::numeric_limits<int64_t>::max()));
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> labels,
                          f.StringList("Labels", 1, 10, 1, 100));
  COFFER_ASSIGN_OR_RETURN(params::LabelResult result,
                          store.LabelParameterVersion(name, version, labels));
  json out = json::object();
  out["InvalidLabels"] = result.invalid_labels;
  out["ParameterVersion"] = result.parameter_version;
  return out;
}

Result<json> UnlabelParameterVersion(params::ParameterStore& store, const Fields& f,
                                     const CallContext& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("Name", 1, 2048));
  COFFER_RETURN_IF_ERROR(ResolveAndAuthorize(store, ctx, "ssm:UnlabelParameterVersion", name,
                                             NameForms::kNameOnly));
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> version,
                          f.OptInt("ParameterVersion", 0, std::numeric_limits<int64_t>::max()));
  if (!version) {
    return ValidationError("null", f.PathOf("ParameterVersion"), "Member must not be null");
  }
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> labels,
                          f.StringList("Labels", 1, 10, 1, 100));
  COFFER_ASSIGN_OR_RETURN(params::UnlabelResult result,
                          store.UnlabelParameterVersion(name, *version, labels));
  json out = json::object();
  out["RemovedLabels"] = result.removed_labels;
  out["InvalidLabels"] = result.invalid_labels;
  return out;
}

Result<json> AddTagsToResource(params::ParameterStore& store, const Fields& f,
                               const CallContext& ctx) {
  COFFER_RETURN_IF_ERROR(ResourceTypeField(f));
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("ResourceId"));
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, TagsField(f, true));
  COFFER_RETURN_IF_ERROR(ResolveAndAuthorize(store, ctx, "ssm:AddTagsToResource", id,
                                             NameForms::kNameOnly,
                                             domain::RequestTagKeys(tags)));
  COFFER_RETURN_IF_ERROR(store.AddTags(id, tags));
  return json::object();
}

Result<json> RemoveTagsFromResource(params::ParameterStore& store, const Fields& f,
                                    const CallContext& ctx) {
  COFFER_RETURN_IF_ERROR(ResourceTypeField(f));
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("ResourceId"));
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                          f.StringList("TagKeys", 0, 1000, 1, 128));
  {
    std::map<std::string, std::vector<std::string>> tag_keys;
    for (const auto& k : keys) tag_keys["aws:TagKeys"].push_back(k);
    COFFER_RETURN_IF_ERROR(ResolveAndAuthorize(store, ctx, "ssm:RemoveTagsFromResource", id,
                                               NameForms::kNameOnly, tag_keys));
  }
  COFFER_RETURN_IF_ERROR(store.RemoveTags(id, keys));
  return json::object();
}

Result<json> ListTagsForResource(params::ParameterStore& store, const Fields& f,
                                 const CallContext& ctx) {
  COFFER_RETURN_IF_ERROR(ResourceTypeField(f));
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("ResourceId"));
  COFFER_RETURN_IF_ERROR(
      ResolveAndAuthorize(store, ctx, "ssm:ListTagsForResource", id, NameForms::kNameOnly));
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, store.ListTags(id));
  json out = json::object();
  out["TagList"] = json::array();
  for (const domain::Tag& t : tags) out["TagList"].push_back({{"Key", t.key}, {"Value", t.value}});
  return out;
}

const std::unordered_map<std::string_view, Handler>& Handlers() {
  static const std::unordered_map<std::string_view, Handler> kHandlers = {
      {"PutParameter", PutParameter},
      {"GetParameter", GetParameter},
      {"GetParameters", GetParameters},
      {"GetParametersByPath", GetParametersByPath},
      {"DeleteParameter", DeleteParameter},
      {"DeleteParameters", DeleteParameters},
      {"GetParameterHistory", GetParameterHistory},
      {"DescribeParameters", DescribeParameters},
      {"LabelParameterVersion", LabelParameterVersion},
      {"UnlabelParameterVersion", UnlabelParameterVersion},
      {"AddTagsToResource", AddTagsToResource},
      {"RemoveTagsFromResource", RemoveTagsFromResource},
      {"ListTagsForResource", ListTagsForResource},
  };
  return kHandlers;
}

}  // namespace

SsmService::SsmService(domain::parameters::ParameterStore& store)
    : store_(store) {}

bool SsmService::HasOperation(std::string_view operation) const {
  return Handlers().contains(operation);
}

Result<nlohmann::json> SsmService::Call(std::string_view operation, const nlohmann::json& body,
                                        const CallContext& context) {
  const auto& handlers = Handlers();
  auto it = handlers.find(operation);
  if (it == handlers.end()) {
    return Fail(ErrorCode::kInvalidArgument, "", Reason::kUnknownOperation);
  }
  Fields fields(body);
  return it->second(store_, fields, context);
}

}  // namespace coffer::api::awsjson
