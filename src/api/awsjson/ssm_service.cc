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

// --- resources -----------------------------------------------------------------

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

// The request's own condition keys, read from its input.
using KeysOf = std::function<Result<auth::KeyMap>(const Fields&)>;

Result<Access> ResolveParameter(params::ParameterStore& store, const LookupContext& lookup,
                                std::string_view name, NameForms forms, auth::KeyMap extra = {}) {
  COFFER_ASSIGN_OR_RETURN(ResolvedResource r,
                          store.Resolve(name, forms, lookup.authz.NeedsResourceTags()));
  auto keys = domain::ResourceTagKeys("ssm", r.tags);
  for (auto& [k, v] : extra) keys[k] = std::move(v);
  Access access;
  access.input = std::string(name);
  access.permission = lookup.On(r.arn, std::move(keys));
  access.resource = std::move(r);
  return access;
}

// The parameter the member `member` names.
JsonOperation::Resources Parameter(params::ParameterStore& store, std::string_view member,
                                   NameForms forms, KeysOf keys_of = nullptr) {
  return [&store, member, forms, keys_of = std::move(keys_of)](
             const Fields& f, const LookupContext& lookup) -> Result<Accesses> {
    COFFER_ASSIGN_OR_RETURN(std::string name, f.String(member, 1, 2048));
    auth::KeyMap extra;
    if (keys_of) {
      COFFER_ASSIGN_OR_RETURN(extra, keys_of(f));
    }
    COFFER_ASSIGN_OR_RETURN(Access access,
                            ResolveParameter(store, lookup, name, forms, std::move(extra)));
    return Accesses{std::move(access)};
  };
}

// Each parameter the list member "Names" names. With `foreign_is_invalid`, a
// name that names nothing here is kept (no permission: the operation reports
// it among its invalid parameters, as sent); otherwise it fails the call.
JsonOperation::Resources Parameters(params::ParameterStore& store, NameForms forms,
                                    bool foreign_is_invalid) {
  return [&store, forms, foreign_is_invalid](const Fields& f,
                                             const LookupContext& lookup) -> Result<Accesses> {
    COFFER_ASSIGN_OR_RETURN(std::vector<std::string> names, f.StringList("Names", 1, 10, 1, 2048));
    Accesses out;
    for (const std::string& name : names) {
      auto access = ResolveParameter(store, lookup, name, forms);
      if (!access) {
        if (!foreign_is_invalid || access.error().reason != Reason::kParameterNotFound) {
          return Fail(access.error());
        }
        Access unnamed;
        unnamed.input = name;
        out.push_back(std::move(unnamed));
        continue;
      }
      out.push_back(std::move(*access));
    }
    return out;
  };
}

// The path of GetParametersByPath: not a parameter, so no tags; its ARN is the
// one a policy names it by.
JsonOperation::Resources Path(params::ParameterStore& store) {
  return [&store](const Fields& f, const LookupContext& lookup) -> Result<Accesses> {
    COFFER_ASSIGN_OR_RETURN(std::string path, f.String("Path", 1, 2048));
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    Access access;
    access.input = path;
    access.resource.arn = domain::ParameterArn(store.region(), store.account_id(), path);
    access.resource.name = path;
    access.permission = lookup.On(access.resource.arn);
    return Accesses{std::move(access)};
  };
}

// What the operation is run on: the canonical name with the request's
// selector, or (for a parameter that does not exist) the input as given, so
// that the not-found error names what the caller sent.
std::string Target(const Access& a) {
  return a.resource.exists ? a.resource.name + a.resource.selector : a.input;
}

// For filtering list results: whether the caller may `action` a parameter the
// store listed (a canonical name).
Result<bool> Allowed(params::ParameterStore& store, CallContext& ctx, std::string_view action,
                     std::string_view name) {
  COFFER_ASSIGN_OR_RETURN(ResolvedResource r,
                          store.Resolve(name, NameForms::kNameOnly,
                                        ctx.authz.NeedsResourceTags()));
  return ctx.authz.Allowed(action, r.arn, domain::ResourceTagKeys("ssm", r.tags));
}

// KMS permissions behind SecureString values, as on AWS: a read WithDecryption
// needs kms:Decrypt and a write kms:Encrypt (SSM seals standard-tier values
// with Encrypt; Coffer seals every tier alike, so kms:Encrypt is asked for
// advanced ones too) on a customer managed key, with kms:ViaService
// ssm.<region>.amazonaws.com and the encryption context SSM uses,
// {"PARAMETER_ARN": <parameter ARN>}. The AWS managed key alias/aws/ssm needs
// nothing beyond the ssm: permission (AuthorizeKeyUse). The key is found only
// while the operation runs (it is the one that sealed the stored value), so
// these checks are made by the store through the request's authorization.
kms::EncryptionContext ParameterContext(std::string_view arn) {
  return {{"PARAMETER_ARN", std::string(arn)}};
}

// kms:Decrypt on the key that sealed a value read WithDecryption, asked by the
// store before it decrypts.
params::KeyCheck DecryptCheck(CallContext& ctx) {
  if (ctx.authz.Unrestricted()) return {};
  return [&ctx](const kms::KeyMetadata& key, std::string_view arn) {
    return AuthorizeKeyUse(ctx, key, "kms:Decrypt", KmsVia::kSsm, ParameterContext(arn));
  };
}

Result<auth::KeyMap> RequestTagsOf(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, TagsField(f, false));
  return domain::RequestTagKeys(tags);
}

Result<json> PutParameter(params::ParameterStore& store, const Fields& f, CallContext& ctx) {
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
  if (!ctx.authz.Unrestricted()) {
    req.may_encrypt = [&ctx](const kms::KeyMetadata& key, std::string_view arn) {
      return AuthorizeKeyUse(ctx, key, "kms:Encrypt", KmsVia::kSsm, ParameterContext(arn));
    };
  }
  COFFER_ASSIGN_OR_RETURN(params::PutParameterResult result,
                          store.PutParameter(req, std::string(ctx.principal_arn())));
  json out = json::object();
  out["Version"] = result.version;
  out["Tier"] = std::string(params::ParameterTierName(result.tier));
  return out;
}

Result<json> GetParameter(params::ParameterStore& store, const Fields& f, CallContext& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("Name", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> decrypt, f.OptBool("WithDecryption"));
  COFFER_ASSIGN_OR_RETURN(params::Parameter p,
                          store.GetParameter(Target(ctx.resources.at(0)), decrypt.value_or(false),
                                             DecryptCheck(ctx)));
  json out = json::object();
  out["Parameter"] = RenderParameter(p);
  return out;
}

Result<json> GetParameters(params::ParameterStore& store, const Fields& f, CallContext& ctx) {
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> names, f.StringList("Names", 1, 10, 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> decrypt, f.OptBool("WithDecryption"));
  // Each name as resolved (one the caller may not read refused the call); a
  // name that names nothing here goes to InvalidParameters as sent.
  std::vector<std::string> targets;
  std::map<std::string, std::string> sent;  // target -> name as sent
  for (const Access& a : ctx.resources) {
    targets.push_back(Target(a));
    if (a.permission) sent.emplace(targets.back(), a.input);
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

Result<json> GetParametersByPath(params::ParameterStore& store, const Fields& f, CallContext& ctx) {
  params::PathQuery q;
  COFFER_ASSIGN_OR_RETURN(q.path, f.String("Path", 1, 2048));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> recursive, f.OptBool("Recursive"));
  q.recursive = recursive.value_or(false);
  COFFER_ASSIGN_OR_RETURN(q.filters, FiltersField(f, "ParameterFilters", false));
  COFFER_ASSIGN_OR_RETURN(std::optional<bool> decrypt, f.OptBool("WithDecryption"));
  q.with_decryption = decrypt.value_or(false);
  if (!ctx.authz.Unrestricted()) {
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

Result<json> DeleteParameter(params::ParameterStore& store, const Fields& f, CallContext&) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("Name", 1, 2048));
  COFFER_RETURN_IF_ERROR(store.DeleteParameter(name));
  return json::object();
}

Result<json> DeleteParameters(params::ParameterStore& store, const Fields& f, CallContext&) {
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> names, f.StringList("Names", 1, 10, 1, 2048));
  COFFER_ASSIGN_OR_RETURN(params::DeleteParametersResult result, store.DeleteParameters(names));
  json out = json::object();
  out["DeletedParameters"] = result.deleted_parameters;
  out["InvalidParameters"] = result.invalid_parameters;
  return out;
}

Result<json> GetParameterHistory(params::ParameterStore& store, const Fields& f, CallContext& ctx) {
  params::HistoryQuery q;
  COFFER_ASSIGN_OR_RETURN(q.name, f.String("Name", 1, 2048));
  q.name = Target(ctx.resources.at(0));
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

Result<json> DescribeParameters(params::ParameterStore& store, const Fields& f, CallContext& ctx) {
  params::DescribeQuery q;
  COFFER_ASSIGN_OR_RETURN(q.legacy_filters, FiltersField(f, "Filters", true));
  COFFER_ASSIGN_OR_RETURN(q.filters, FiltersField(f, "ParameterFilters", false));
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> max, f.OptInt("MaxResults", 1, 50));
  q.max_results = static_cast<int>(max.value_or(50));
  COFFER_ASSIGN_OR_RETURN(std::optional<std::string> token, f.OptString("NextToken"));
  q.next_token = token.value_or("");
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

Result<json> LabelParameterVersion(params::ParameterStore& store, const Fields& f, CallContext&) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("Name", 1, 2048));
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

Result<json> UnlabelParameterVersion(params::ParameterStore& store, const Fields& f, CallContext&) {
  COFFER_ASSIGN_OR_RETURN(std::string name, f.String("Name", 1, 2048));
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

Result<json> AddTagsToResource(params::ParameterStore& store, const Fields& f, CallContext&) {
  COFFER_RETURN_IF_ERROR(ResourceTypeField(f));
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("ResourceId"));
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, TagsField(f, true));
  COFFER_RETURN_IF_ERROR(store.AddTags(id, tags));
  return json::object();
}

Result<json> RemoveTagsFromResource(params::ParameterStore& store, const Fields& f, CallContext&) {
  COFFER_RETURN_IF_ERROR(ResourceTypeField(f));
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("ResourceId"));
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                          f.StringList("TagKeys", 0, 1000, 1, 128));
  COFFER_RETURN_IF_ERROR(store.RemoveTags(id, keys));
  return json::object();
}

Result<json> ListTagsForResource(params::ParameterStore& store, const Fields& f, CallContext&) {
  COFFER_RETURN_IF_ERROR(ResourceTypeField(f));
  COFFER_ASSIGN_OR_RETURN(std::string id, f.String("ResourceId"));
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, store.ListTags(id));
  json out = json::object();
  out["TagList"] = json::array();
  for (const domain::Tag& t : tags) out["TagList"].push_back({{"Key", t.key}, {"Value", t.value}});
  return out;
}

// aws:TagKeys of RemoveTagsFromResource.
Result<auth::KeyMap> RemovedTagKeysOf(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> keys, f.StringList("TagKeys", 0, 1000, 1, 128));
  auth::KeyMap out;
  out["aws:TagKeys"] = std::move(keys);
  return out;
}

Result<auth::KeyMap> AddedTagKeysOf(const Fields& f) {
  COFFER_ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, TagsField(f, true));
  return domain::RequestTagKeys(tags);
}

}  // namespace

SsmService::SsmService(domain::parameters::ParameterStore& store) : store_(store) {
  using Fn = Result<json> (*)(params::ParameterStore&, const Fields&, CallContext&);
  auto handler = [this](Fn fn) -> JsonOperation::Handler {
    return [this, fn](const Fields& f, CallContext& ctx) { return fn(store_, f, ctx); };
  };
  const NameForms kAny = NameForms::kAny, kName = NameForms::kNameOnly;
  operations_ = {
      {"PutParameter",
       {"ssm:PutParameter", Parameter(store_, "Name", kName, RequestTagsOf),
        handler(PutParameter)}},
      {"GetParameter",
       {"ssm:GetParameter", Parameter(store_, "Name", kAny), handler(GetParameter)}},
      {"GetParameters",
       {"ssm:GetParameters", Parameters(store_, kAny, /*foreign_is_invalid=*/true),
        handler(GetParameters)}},
      {"GetParametersByPath",
       {"ssm:GetParametersByPath", Path(store_), handler(GetParametersByPath)}},
      {"DeleteParameter",
       {"ssm:DeleteParameter", Parameter(store_, "Name", kName), handler(DeleteParameter)}},
      {"DeleteParameters",
       {"ssm:DeleteParameters", Parameters(store_, kName, /*foreign_is_invalid=*/false),
        handler(DeleteParameters)}},
      {"GetParameterHistory",
       {"ssm:GetParameterHistory", Parameter(store_, "Name", kAny),
        handler(GetParameterHistory)}},
      {"DescribeParameters",
       {"ssm:DescribeParameters", OnAccount(), handler(DescribeParameters)}},
      {"LabelParameterVersion",
       {"ssm:LabelParameterVersion", Parameter(store_, "Name", kName),
        handler(LabelParameterVersion)}},
      {"UnlabelParameterVersion",
       {"ssm:UnlabelParameterVersion", Parameter(store_, "Name", kName),
        handler(UnlabelParameterVersion)}},
      {"AddTagsToResource",
       {"ssm:AddTagsToResource", Parameter(store_, "ResourceId", kName, AddedTagKeysOf),
        handler(AddTagsToResource)}},
      {"RemoveTagsFromResource",
       {"ssm:RemoveTagsFromResource", Parameter(store_, "ResourceId", kName, RemovedTagKeysOf),
        handler(RemoveTagsFromResource)}},
      {"ListTagsForResource",
       {"ssm:ListTagsForResource", Parameter(store_, "ResourceId", kName),
        handler(ListTagsForResource)}},
  };
}

const JsonOperation* SsmService::Find(std::string_view operation) const {
  return pipeline::FindEntry(operations_, operation);
}

bool SsmService::MayReadValue(std::string_view name, auth::RequestAuthorization& authz) {
  if (authz.Unrestricted()) return true;
  LookupContext lookup{"ssm:GetParameter", nullptr, authz};
  auto access = ResolveParameter(store_, lookup, name, NameForms::kAny);
  if (!access) return false;
  if (!access->resource.exists && authz.NeedsResourceTags()) return false;
  return authz.Allowed(*access->permission);
}

}  // namespace coffer::api::awsjson
