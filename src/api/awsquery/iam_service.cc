#include "api/awsquery/iam_service.h"

#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "auth/policy.h"
#include "domain/arn.h"
#include "domain/resource.h"
#include "util/encoding.h"
#include "util/time.h"

namespace coffer::api::awsquery {
namespace {

namespace iam = domain::iam;
using iam::EntityKind;

constexpr size_t kMaxPolicyDocument = 131072;
constexpr size_t kDefaultMaxItems = 100;

// ---- request side

struct Req {
  iam::IdentityStore& ids;
  const std::string& account;
  const QueryParams& p;
  const auth::Authenticated* caller;  // never null: IAM is always signed
};

std::string LowerFirst(std::string_view member) {
  std::string out(member);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

Error Validation(std::string_view member, std::string_view value, std::string_view constraint) {
  return Error{ErrorCode::kInvalidArgument, Reason::kValidation,
               "1 validation error detected: Value '" + std::string(value) + "' at '" +
                   LowerFirst(member) +
                   "' failed to satisfy constraint: " + std::string(constraint)};
}

Error InvalidInput(std::string message) {
  return Error{ErrorCode::kInvalidArgument, Reason::kNone, std::move(message)};
}

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::strchr("+=,.@_-", c) != nullptr;
}

Status CheckName(std::string_view member, std::string_view value, size_t max) {
  if (value.empty() || value.size() > max) {
    return Fail(
        Validation(member, value, "Member must have length between 1 and " + std::to_string(max)));
  }
  if (!std::all_of(value.begin(), value.end(), [](char c) { return c != 0 && IsNameChar(c); })) {
    return Fail(
        Validation(member, value, "Member must satisfy regular expression pattern: [\\w+=,.@-]+"));
  }
  return Ok();
}

// A required IAM name ([\w+=,.@-]+, 1..max).
Result<std::string> Name(const Req& c, std::string_view member, size_t max) {
  COFFER_ASSIGN_OR_RETURN(std::string value, c.p.Required(member));
  COFFER_RETURN_IF_ERROR(CheckName(member, value, max));
  return value;
}

// UserName, or the calling user when absent (GetUser, *AccessKey*).
Result<std::string> UserNameOrCaller(const Req& c) {
  if (c.p.Find("UserName") != nullptr) return Name(c, "UserName", 64);
  if (c.caller != nullptr) {
    std::string_view arn = c.caller->principal.arn;
    size_t user = arn.find(":user/");
    if (arn.starts_with("arn:aws:iam::") && user != std::string_view::npos) {
      std::string_view rest = arn.substr(user + 6);
      return std::string(
          rest.substr(rest.rfind('/') == std::string_view::npos ? 0 : rest.rfind('/') + 1));
    }
  }
  return Fail(Error{ErrorCode::kInvalidArgument, Reason::kValidation,
                    "Must specify userName when calling with non-User credentials"});
}

Result<std::string> PathParam(const Req& c, std::string_view member = "Path") {
  std::string path = c.p.Optional(member, "/");
  bool ok = !path.empty() && path.size() <= 512 && path.front() == '/' && path.back() == '/' &&
            std::all_of(path.begin(), path.end(), [](char ch) { return ch >= 0x21 && ch <= 0x7E; });
  if (!ok) {
    return Fail(Validation(member, path,
                           "Member must satisfy regular expression pattern: "
                           "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"));
  }
  return path;
}

Result<std::string> PathPrefixParam(const Req& c) {
  std::string prefix = c.p.Optional("PathPrefix", "/");
  bool ok =
      !prefix.empty() && prefix.size() <= 512 && prefix.front() == '/' &&
      std::all_of(prefix.begin(), prefix.end(), [](char ch) { return ch >= 0x21 && ch <= 0x7E; });
  if (!ok) {
    return Fail(Validation("PathPrefix", prefix,
                           "Member must satisfy regular expression pattern: "
                           "\\u002F[\\u0021-\\u007F]*"));
  }
  return prefix;
}

Result<std::optional<int64_t>> IntParam(const Req& c, std::string_view member, int64_t min,
                                        int64_t max) {
  const std::string* v = c.p.Find(member);
  if (v == nullptr) return std::optional<int64_t>();
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) {
    return Fail(Validation(member, *v, "Member must be an integer"));
  }
  if (n < min || n > max) {
    return Fail(Validation(
        member, *v,
        "Member must have value between " + std::to_string(min) + " and " + std::to_string(max)));
  }
  return std::optional<int64_t>(n);
}

Result<bool> BoolParam(const Req& c, std::string_view member) {
  const std::string* v = c.p.Find(member);
  if (v == nullptr) return false;
  if (strcasecmp(v->c_str(), "true") == 0) return true;
  if (strcasecmp(v->c_str(), "false") == 0) return false;
  return Fail(Validation(member, *v, "Member must be true or false"));
}

Result<std::vector<iam::Tag>> TagsParam(const Req& c) {
  std::vector<iam::Tag> tags;
  for (auto& [k, v] : c.p.KeyValueList("Tags", "Key", "Value")) {
    tags.push_back(iam::Tag{std::move(k), std::move(v)});
  }
  if (tags.size() > iam::kMaxTags) {
    return Fail(Validation("Tags", std::to_string(tags.size()),
                           "Member must have length less than or equal to 50"));
  }
  return tags;
}

Status NoPermissionsBoundary(const Req& c) {
  if (c.p.Find("PermissionsBoundary") != nullptr) {
    return Fail(InvalidInput("PermissionsBoundary is not supported by this server."));
  }
  return Ok();
}

Error Malformed(std::string message) {
  return Error{ErrorCode::kInvalidArgument, Reason::kMalformedPolicy, std::move(message)};
}

// A policy document member, checked with auth::ParsePolicy. Identity
// policies need Resource and must not name a Principal; trust policies need a
// Principal in every statement.
Result<std::string> PolicyDocumentParam(const Req& c, std::string_view member, bool trust) {
  COFFER_ASSIGN_OR_RETURN(std::string doc, c.p.Required(member));
  if (doc.empty() || doc.size() > kMaxPolicyDocument) {
    return Fail(Validation(member, "...", "Member must have length between 1 and 131072"));
  }
  COFFER_ASSIGN_OR_RETURN(auth::Policy policy, auth::ParsePolicy(doc, /*require_resource=*/!trust));
  for (const auth::Statement& s : policy.statements) {
    if (trust && !s.principal.present) {
      return Fail(Malformed("Missing required field Principal"));
    }
    if (!trust && s.principal.present) {
      return Fail(Malformed("Policy document should not specify a principal."));
    }
  }
  return doc;
}

Result<std::string> PolicyArnParam(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, c.p.Required("PolicyArn"));
  if (arn.size() < 20 || arn.size() > 2048) {
    return Fail(Validation("PolicyArn", arn, "Member must have length between 20 and 2048"));
  }
  return arn;
}

Result<std::string> ProviderArnParam(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, c.p.Required("OpenIDConnectProviderArn"));
  if (arn.size() < 20 || arn.size() > 2048) {
    return Fail(
        Validation("OpenIDConnectProviderArn", arn, "Member must have length between 20 and 2048"));
  }
  return arn;
}

struct Page {
  std::string marker;
  size_t max_items = kDefaultMaxItems;
};

Result<Page> PageParams(const Req& c) {
  Page page;
  page.marker = c.p.Optional("Marker");
  if (c.p.Find("Marker") != nullptr && (page.marker.empty() || page.marker.size() > 320)) {
    return Fail(Validation("Marker", page.marker, "Member must have length between 1 and 320"));
  }
  COFFER_ASSIGN_OR_RETURN(std::optional<int64_t> max, IntParam(c, "MaxItems", 1, 1000));
  if (max) page.max_items = static_cast<size_t>(*max);
  return page;
}

// ---- response side

std::string Iso(util::SystemTime t) { return util::FormatIso8601(t); }
std::string EncodeDocument(std::string_view doc) { return util::UriEncode(doc); }

void TagsXml(Xml& x, const std::vector<iam::Tag>& tags) {
  if (tags.empty()) return;
  x.Open("Tags");
  for (const iam::Tag& t : tags) {
    x.Open("member").Element("Key", t.key).Element("Value", t.value).Close("member");
  }
  x.Close("Tags");
}

void UserXml(Xml& x, const iam::User& u) {
  x.Element("Path", u.path)
      .Element("UserName", u.name)
      .Element("UserId", u.user_id)
      .Element("Arn", u.arn)
      .Element("CreateDate", Iso(u.created));
  TagsXml(x, u.tags);
}

void GroupXml(Xml& x, const iam::Group& g) {
  x.Element("Path", g.path)
      .Element("GroupName", g.name)
      .Element("GroupId", g.group_id)
      .Element("Arn", g.arn)
      .Element("CreateDate", Iso(g.created));
}

void RoleXml(Xml& x, const iam::Role& r) {
  x.Element("Path", r.path)
      .Element("RoleName", r.name)
      .Element("RoleId", r.role_id)
      .Element("Arn", r.arn)
      .Element("CreateDate", Iso(r.created))
      .Element("AssumeRolePolicyDocument", EncodeDocument(r.assume_role_policy));
  if (!r.description.empty()) x.Element("Description", r.description);
  x.Element("MaxSessionDuration", std::to_string(r.max_session_duration));
  TagsXml(x, r.tags);
}

void InstanceProfileXml(Xml& x, const iam::InstanceProfile& p) {
  x.Element("Path", p.path)
      .Element("InstanceProfileName", p.name)
      .Element("InstanceProfileId", p.instance_profile_id)
      .Element("Arn", p.arn)
      .Element("CreateDate", Iso(p.created));
  x.Open("Roles");
  for (const iam::Role& r : p.roles) {
    x.Open("member");
    RoleXml(x, r);
    x.Close("member");
  }
  x.Close("Roles");
  TagsXml(x, p.tags);
}

void PolicyXml(Xml& x, const iam::ManagedPolicy& p, bool with_description) {
  x.Element("PolicyName", p.name)
      .Element("PolicyId", p.policy_id)
      .Element("Arn", p.arn)
      .Element("Path", p.path)
      .Element("DefaultVersionId", p.default_version_id)
      .Element("AttachmentCount", std::to_string(p.attachment_count))
      .Element("PermissionsBoundaryUsageCount", "0")
      .Element("IsAttachable", "true");
  if (with_description && !p.description.empty()) x.Element("Description", p.description);
  x.Element("CreateDate", Iso(p.created)).Element("UpdateDate", Iso(p.updated));
  TagsXml(x, p.tags);
}

void PolicyVersionXml(Xml& x, const iam::PolicyVersion& v, bool with_document) {
  if (with_document) x.Element("Document", EncodeDocument(v.document));
  x.Element("VersionId", v.version_id)
      .Element("IsDefaultVersion", v.is_default ? "true" : "false")
      .Element("CreateDate", Iso(v.created));
}

// Writes <list_name> with the page of `items` after page.marker (items are in
// ascending key order), then IsTruncated and Marker.
template <class T, class KeyFn, class WriteFn>
void PagedXml(Xml& x, std::string_view list_name, const std::vector<T>& items, const Page& page,
              KeyFn key, WriteFn write) {
  x.Open(list_name);
  size_t written = 0;
  bool truncated = false;
  std::string last;
  for (const T& item : items) {
    std::string k = key(item);
    if (!page.marker.empty() && k <= page.marker) continue;
    if (written == page.max_items) {
      truncated = true;
      break;
    }
    x.Open("member");
    write(x, item);
    x.Close("member");
    ++written;
    last = std::move(k);
  }
  x.Close(list_name);
  x.Element("IsTruncated", truncated ? "true" : "false");
  if (truncated) x.Element("Marker", last);
}

// ---- operations: users

Result<std::string> CreateUser(const Req& c) {
  iam::NewUser spec;
  COFFER_ASSIGN_OR_RETURN(spec.name, Name(c, "UserName", 64));
  COFFER_ASSIGN_OR_RETURN(spec.path, PathParam(c));
  COFFER_ASSIGN_OR_RETURN(spec.tags, TagsParam(c));
  COFFER_RETURN_IF_ERROR(NoPermissionsBoundary(c));
  COFFER_ASSIGN_OR_RETURN(iam::User user, c.ids.CreateUser(spec));
  Xml x;
  x.Open("User");
  UserXml(x, user);
  x.Close("User");
  return x.str();
}

Result<std::string> GetUser(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(c));
  COFFER_ASSIGN_OR_RETURN(iam::User user, c.ids.GetUser(name));
  Xml x;
  x.Open("User");
  UserXml(x, user);
  x.Close("User");
  return x.str();
}

Result<std::string> ListUsers(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string prefix, PathPrefixParam(c));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::User> users, c.ids.ListUsers(prefix));
  Xml x;
  PagedXml(
      x, "Users", users, page, [](const iam::User& u) { return u.name; }, UserXml);
  return x.str();
}

Result<std::string> DeleteUser(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, "UserName", 64));
  COFFER_RETURN_IF_ERROR(c.ids.DeleteUser(name));
  return std::string();
}

// ---- access keys

Result<std::string> AccessKeyIdParam(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string id, c.p.Required("AccessKeyId"));
  bool ok = id.size() >= 16 && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char ch) {
              return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
            });
  // AWS's documented example key "AKIDEXAMPLE" is shorter than 16: accept 4+.
  if (!ok && !(id.size() >= 4 && id.size() < 16 && std::all_of(id.begin(), id.end(), [](char ch) {
                 return std::isalnum(static_cast<unsigned char>(ch));
               }))) {
    return Fail(
        Validation("AccessKeyId", id, "Member must satisfy regular expression pattern: [\\w]+"));
  }
  return id;
}

Result<std::string> CreateAccessKey(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(c));
  COFFER_ASSIGN_OR_RETURN(iam::AccessKey key, c.ids.CreateAccessKey(name));
  Xml x;
  x.Open("AccessKey")
      .Element("UserName", key.user_name)
      .Element("AccessKeyId", key.access_key_id)
      .Element("Status", key.active ? "Active" : "Inactive")
      .Element("SecretAccessKey", key.secret_access_key.Reveal())
      .Element("CreateDate", Iso(key.created))
      .Close("AccessKey");
  return x.str();
}

Result<std::string> ListAccessKeys(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(c));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::AccessKey> keys, c.ids.ListAccessKeys(name));
  Xml x;
  PagedXml(
      x, "AccessKeyMetadata", keys, page, [](const iam::AccessKey& k) { return k.access_key_id; },
      [](Xml& out, const iam::AccessKey& k) {
        out.Element("UserName", k.user_name)
            .Element("AccessKeyId", k.access_key_id)
            .Element("Status", k.active ? "Active" : "Inactive")
            .Element("CreateDate", Iso(k.created));
      });
  return x.str();
}

Result<std::string> UpdateAccessKey(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(c));
  COFFER_ASSIGN_OR_RETURN(std::string id, AccessKeyIdParam(c));
  COFFER_ASSIGN_OR_RETURN(std::string status, c.p.Required("Status"));
  if (status != "Active" && status != "Inactive") {
    return Fail(
        Validation("Status", status, "Member must satisfy enum value set: [Active, Inactive]"));
  }
  COFFER_RETURN_IF_ERROR(c.ids.UpdateAccessKey(name, id, status == "Active"));
  return std::string();
}

Result<std::string> DeleteAccessKey(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, UserNameOrCaller(c));
  COFFER_ASSIGN_OR_RETURN(std::string id, AccessKeyIdParam(c));
  COFFER_RETURN_IF_ERROR(c.ids.DeleteAccessKey(name, id));
  return std::string();
}

Result<std::string> GetAccessKeyLastUsed(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string id, AccessKeyIdParam(c));
  auto resolved = c.ids.LookupAccessKey(id);
  if (!resolved.has_value() || resolved->is_session) {
    if (resolved.has_value() || resolved.error().code == ErrorCode::kNotFound) {
      return Fail(Error{ErrorCode::kNotFound, Reason::kNoSuchEntity,
                        "The Access Key with id " + id + " cannot be found."});
    }
    return Fail(std::move(resolved).error());
  }
  Xml x;
  x.Element("UserName", resolved->user.name)
      .Open("AccessKeyLastUsed")
      .Element("ServiceName", "N/A")
      .Element("Region", "N/A")
      .Close("AccessKeyLastUsed");
  return x.str();
}

// ---- groups

Result<std::string> CreateGroup(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, "GroupName", 128));
  COFFER_ASSIGN_OR_RETURN(std::string path, PathParam(c));
  COFFER_ASSIGN_OR_RETURN(iam::Group group, c.ids.CreateGroup(name, path));
  Xml x;
  x.Open("Group");
  GroupXml(x, group);
  x.Close("Group");
  return x.str();
}

Result<std::string> GetGroup(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, "GroupName", 128));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(iam::Group group, c.ids.GetGroup(name));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::User> users, c.ids.ListGroupMembers(name));
  Xml x;
  x.Open("Group");
  GroupXml(x, group);
  x.Close("Group");
  PagedXml(
      x, "Users", users, page, [](const iam::User& u) { return u.name; }, UserXml);
  return x.str();
}

Result<std::string> ListGroups(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string prefix, PathPrefixParam(c));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::Group> groups, c.ids.ListGroups(prefix));
  Xml x;
  PagedXml(
      x, "Groups", groups, page, [](const iam::Group& g) { return g.name; }, GroupXml);
  return x.str();
}

Result<std::string> DeleteGroup(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, "GroupName", 128));
  COFFER_RETURN_IF_ERROR(c.ids.DeleteGroup(name));
  return std::string();
}

Result<std::string> AddUserToGroup(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string group, Name(c, "GroupName", 128));
  COFFER_ASSIGN_OR_RETURN(std::string user, Name(c, "UserName", 64));
  COFFER_RETURN_IF_ERROR(c.ids.AddUserToGroup(group, user));
  return std::string();
}

Result<std::string> RemoveUserFromGroup(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string group, Name(c, "GroupName", 128));
  COFFER_ASSIGN_OR_RETURN(std::string user, Name(c, "UserName", 64));
  COFFER_RETURN_IF_ERROR(c.ids.RemoveUserFromGroup(group, user));
  return std::string();
}

Result<std::string> ListGroupsForUser(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string user, Name(c, "UserName", 64));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::Group> groups, c.ids.ListGroupsForUser(user));
  Xml x;
  PagedXml(
      x, "Groups", groups, page, [](const iam::Group& g) { return g.name; }, GroupXml);
  return x.str();
}

// ---- roles

Result<std::string> CreateRole(const Req& c) {
  iam::NewRole spec;
  COFFER_ASSIGN_OR_RETURN(spec.name, Name(c, "RoleName", 64));
  COFFER_ASSIGN_OR_RETURN(spec.path, PathParam(c));
  COFFER_ASSIGN_OR_RETURN(spec.assume_role_policy,
                          PolicyDocumentParam(c, "AssumeRolePolicyDocument", /*trust=*/true));
  spec.description = c.p.Optional("Description");
  if (spec.description.size() > 1000) {
    return Fail(Validation("Description", "...",
                           "Member must have length less than or equal "
                           "to 1000"));
  }
  COFFER_ASSIGN_OR_RETURN(
      std::optional<int64_t> max,
      IntParam(c, "MaxSessionDuration", iam::kMinRoleSessionSeconds, iam::kMaxRoleSessionSeconds));
  if (max) spec.max_session_duration = static_cast<int>(*max);
  COFFER_ASSIGN_OR_RETURN(spec.tags, TagsParam(c));
  COFFER_RETURN_IF_ERROR(NoPermissionsBoundary(c));
  COFFER_ASSIGN_OR_RETURN(iam::Role role, c.ids.CreateRole(spec));
  Xml x;
  x.Open("Role");
  RoleXml(x, role);
  x.Close("Role");
  return x.str();
}

Result<std::string> GetRole(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, "RoleName", 64));
  COFFER_ASSIGN_OR_RETURN(iam::Role role, c.ids.GetRole(name));
  Xml x;
  x.Open("Role");
  RoleXml(x, role);
  x.Close("Role");
  return x.str();
}

Result<std::string> ListRoles(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string prefix, PathPrefixParam(c));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::Role> roles, c.ids.ListRoles(prefix));
  Xml x;
  PagedXml(
      x, "Roles", roles, page, [](const iam::Role& r) { return r.name; }, RoleXml);
  return x.str();
}

Result<std::string> DeleteRole(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, "RoleName", 64));
  COFFER_RETURN_IF_ERROR(c.ids.DeleteRole(name));
  return std::string();
}

Result<std::string> UpdateAssumeRolePolicy(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, "RoleName", 64));
  COFFER_ASSIGN_OR_RETURN(std::string doc, PolicyDocumentParam(c, "PolicyDocument", true));
  COFFER_RETURN_IF_ERROR(c.ids.UpdateAssumeRolePolicy(name, doc));
  return std::string();
}

// ---- instance profiles

Result<std::string> CreateInstanceProfile(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, "InstanceProfileName", 128));
  COFFER_ASSIGN_OR_RETURN(std::string path, PathParam(c));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::Tag> tags, TagsParam(c));
  COFFER_ASSIGN_OR_RETURN(iam::InstanceProfile profile,
                          c.ids.CreateInstanceProfile(name, path, tags));
  Xml x;
  x.Open("InstanceProfile");
  InstanceProfileXml(x, profile);
  x.Close("InstanceProfile");
  return x.str();
}

Result<std::string> GetInstanceProfile(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, "InstanceProfileName", 128));
  COFFER_ASSIGN_OR_RETURN(iam::InstanceProfile profile, c.ids.GetInstanceProfile(name));
  Xml x;
  x.Open("InstanceProfile");
  InstanceProfileXml(x, profile);
  x.Close("InstanceProfile");
  return x.str();
}

Result<std::string> ListInstanceProfiles(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string prefix, PathPrefixParam(c));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::InstanceProfile> profiles,
                          c.ids.ListInstanceProfiles(prefix));
  Xml x;
  PagedXml(
      x, "InstanceProfiles", profiles, page,
      [](const iam::InstanceProfile& p) { return p.name; }, InstanceProfileXml);
  return x.str();
}

Result<std::string> ListInstanceProfilesForRole(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string role, Name(c, "RoleName", 64));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::InstanceProfile> profiles,
                          c.ids.ListInstanceProfilesForRole(role));
  Xml x;
  PagedXml(
      x, "InstanceProfiles", profiles, page,
      [](const iam::InstanceProfile& p) { return p.name; }, InstanceProfileXml);
  return x.str();
}

Result<std::string> DeleteInstanceProfile(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, "InstanceProfileName", 128));
  COFFER_RETURN_IF_ERROR(c.ids.DeleteInstanceProfile(name));
  return std::string();
}

Result<std::string> AddRoleToInstanceProfile(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string profile, Name(c, "InstanceProfileName", 128));
  COFFER_ASSIGN_OR_RETURN(std::string role, Name(c, "RoleName", 64));
  COFFER_RETURN_IF_ERROR(c.ids.AddRoleToInstanceProfile(profile, role));
  return std::string();
}

Result<std::string> RemoveRoleFromInstanceProfile(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string profile, Name(c, "InstanceProfileName", 128));
  COFFER_ASSIGN_OR_RETURN(std::string role, Name(c, "RoleName", 64));
  COFFER_RETURN_IF_ERROR(c.ids.RemoveRoleFromInstanceProfile(profile, role));
  return std::string();
}

// ---- managed policies

Result<std::string> CreatePolicy(const Req& c) {
  iam::NewPolicy spec;
  COFFER_ASSIGN_OR_RETURN(spec.name, Name(c, "PolicyName", 128));
  COFFER_ASSIGN_OR_RETURN(spec.path, PathParam(c));
  COFFER_ASSIGN_OR_RETURN(spec.document, PolicyDocumentParam(c, "PolicyDocument", false));
  spec.description = c.p.Optional("Description");
  if (spec.description.size() > 1000) {
    return Fail(Validation("Description", "...",
                           "Member must have length less than or equal "
                           "to 1000"));
  }
  COFFER_ASSIGN_OR_RETURN(spec.tags, TagsParam(c));
  COFFER_ASSIGN_OR_RETURN(iam::ManagedPolicy policy, c.ids.CreatePolicy(spec));
  Xml x;
  x.Open("Policy");
  PolicyXml(x, policy, /*with_description=*/false);
  x.Close("Policy");
  return x.str();
}

Result<std::string> GetPolicy(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, PolicyArnParam(c));
  COFFER_ASSIGN_OR_RETURN(iam::ManagedPolicy policy, c.ids.GetPolicy(arn));
  Xml x;
  x.Open("Policy");
  PolicyXml(x, policy, /*with_description=*/true);
  x.Close("Policy");
  return x.str();
}

Result<std::string> VersionIdParam(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string id, c.p.Required("VersionId"));
  bool ok = id.size() >= 2 && id[0] == 'v' && id[1] >= '1' && id[1] <= '9' &&
            std::all_of(id.begin() + 1, id.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (!ok) {
    return Fail(Validation("VersionId", id,
                           "Member must satisfy regular expression pattern: "
                           "v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"));
  }
  return id;
}

Result<std::string> GetPolicyVersion(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, PolicyArnParam(c));
  COFFER_ASSIGN_OR_RETURN(std::string version, VersionIdParam(c));
  COFFER_ASSIGN_OR_RETURN(iam::PolicyVersion v, c.ids.GetPolicyVersion(arn, version));
  Xml x;
  x.Open("PolicyVersion");
  PolicyVersionXml(x, v, true);
  x.Close("PolicyVersion");
  return x.str();
}

Result<std::string> CreatePolicyVersion(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, PolicyArnParam(c));
  COFFER_ASSIGN_OR_RETURN(std::string doc, PolicyDocumentParam(c, "PolicyDocument", false));
  COFFER_ASSIGN_OR_RETURN(bool set_default, BoolParam(c, "SetAsDefault"));
  COFFER_ASSIGN_OR_RETURN(iam::PolicyVersion v, c.ids.CreatePolicyVersion(arn, doc, set_default));
  Xml x;
  x.Open("PolicyVersion");
  PolicyVersionXml(x, v, false);
  x.Close("PolicyVersion");
  return x.str();
}

Result<std::string> ListPolicyVersions(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, PolicyArnParam(c));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(iam::ManagedPolicy policy, c.ids.GetPolicy(arn));
  // Newest first, as AWS lists them; the marker is the version id.
  std::vector<iam::PolicyVersion> versions(policy.versions.rbegin(), policy.versions.rend());
  size_t skip = 0;
  if (!page.marker.empty()) {
    auto it = std::find_if(versions.begin(), versions.end(), [&](const iam::PolicyVersion& v) {
      return v.version_id == page.marker;
    });
    skip = it == versions.end() ? versions.size() : static_cast<size_t>(it - versions.begin()) + 1;
  }
  Xml x;
  x.Open("Versions");
  size_t end = std::min(versions.size(), skip + page.max_items);
  for (size_t i = skip; i < end; ++i) {
    x.Open("member");
    PolicyVersionXml(x, versions[i], false);
    x.Close("member");
  }
  x.Close("Versions");
  bool truncated = end < versions.size();
  x.Element("IsTruncated", truncated ? "true" : "false");
  if (truncated) x.Element("Marker", versions[end - 1].version_id);
  return x.str();
}

Result<std::string> DeletePolicyVersion(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, PolicyArnParam(c));
  COFFER_ASSIGN_OR_RETURN(std::string version, VersionIdParam(c));
  COFFER_RETURN_IF_ERROR(c.ids.DeletePolicyVersion(arn, version));
  return std::string();
}

Result<std::string> SetDefaultPolicyVersion(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, PolicyArnParam(c));
  COFFER_ASSIGN_OR_RETURN(std::string version, VersionIdParam(c));
  COFFER_RETURN_IF_ERROR(c.ids.SetDefaultPolicyVersion(arn, version));
  return std::string();
}

Result<std::string> ListPolicies(const Req& c) {
  std::string scope = c.p.Optional("Scope", "All");
  if (scope != "All" && scope != "AWS" && scope != "Local") {
    return Fail(
        Validation("Scope", scope, "Member must satisfy enum value set: [All, AWS, Local]"));
  }
  COFFER_ASSIGN_OR_RETURN(bool only_attached, BoolParam(c, "OnlyAttached"));
  COFFER_ASSIGN_OR_RETURN(std::string prefix, PathPrefixParam(c));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  std::vector<iam::ManagedPolicy> policies;
  if (scope != "AWS") {  // no AWS-managed policies here
    COFFER_ASSIGN_OR_RETURN(policies, c.ids.ListPolicies(prefix, only_attached));
  }
  Xml x;
  PagedXml(
      x, "Policies", policies, page, [](const iam::ManagedPolicy& p) { return p.name; },
      [](Xml& out, const iam::ManagedPolicy& p) { PolicyXml(out, p, false); });
  return x.str();
}

Result<std::string> DeletePolicy(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, PolicyArnParam(c));
  COFFER_RETURN_IF_ERROR(c.ids.DeletePolicy(arn));
  return std::string();
}

// ---- attachments and inline policies, for each entity kind

struct KindInfo {
  EntityKind kind;
  const char* member;  // "UserName"
  size_t max;
};

constexpr KindInfo kUserKind{EntityKind::kUser, "UserName", 64};
constexpr KindInfo kGroupKind{EntityKind::kGroup, "GroupName", 128};
constexpr KindInfo kRoleKind{EntityKind::kRole, "RoleName", 64};

template <const KindInfo& K>
Result<std::string> AttachPolicy(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, K.member, K.max));
  COFFER_ASSIGN_OR_RETURN(std::string arn, PolicyArnParam(c));
  COFFER_RETURN_IF_ERROR(c.ids.AttachPolicy(K.kind, name, arn));
  return std::string();
}

template <const KindInfo& K>
Result<std::string> DetachPolicy(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, K.member, K.max));
  COFFER_ASSIGN_OR_RETURN(std::string arn, PolicyArnParam(c));
  COFFER_RETURN_IF_ERROR(c.ids.DetachPolicy(K.kind, name, arn));
  return std::string();
}

template <const KindInfo& K>
Result<std::string> ListAttachedPolicies(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, K.member, K.max));
  COFFER_ASSIGN_OR_RETURN(std::string prefix, PathPrefixParam(c));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::AttachedPolicy> attached,
                          c.ids.ListAttachedPolicies(K.kind, name));
  std::string arn_prefix = domain::IamArn(c.account, "policy", prefix, "");
  std::erase_if(attached,
                [&](const iam::AttachedPolicy& a) { return !a.arn.starts_with(arn_prefix); });
  Xml x;
  PagedXml(
      x, "AttachedPolicies", attached, page, [](const iam::AttachedPolicy& a) { return a.name; },
      [](Xml& out, const iam::AttachedPolicy& a) {
        out.Element("PolicyName", a.name).Element("PolicyArn", a.arn);
      });
  return x.str();
}

template <const KindInfo& K>
Result<std::string> PutInlinePolicy(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, K.member, K.max));
  COFFER_ASSIGN_OR_RETURN(std::string policy, Name(c, "PolicyName", 128));
  COFFER_ASSIGN_OR_RETURN(std::string doc, PolicyDocumentParam(c, "PolicyDocument", false));
  COFFER_RETURN_IF_ERROR(c.ids.PutInlinePolicy(K.kind, name, policy, doc));
  return std::string();
}

template <const KindInfo& K>
Result<std::string> GetInlinePolicy(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, K.member, K.max));
  COFFER_ASSIGN_OR_RETURN(std::string policy, Name(c, "PolicyName", 128));
  COFFER_ASSIGN_OR_RETURN(std::string doc, c.ids.GetInlinePolicy(K.kind, name, policy));
  Xml x;
  x.Element(K.member, name)
      .Element("PolicyName", policy)
      .Element("PolicyDocument", EncodeDocument(doc));
  return x.str();
}

template <const KindInfo& K>
Result<std::string> DeleteInlinePolicy(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, K.member, K.max));
  COFFER_ASSIGN_OR_RETURN(std::string policy, Name(c, "PolicyName", 128));
  COFFER_RETURN_IF_ERROR(c.ids.DeleteInlinePolicy(K.kind, name, policy));
  return std::string();
}

template <const KindInfo& K>
Result<std::string> ListInlinePolicies(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string name, Name(c, K.member, K.max));
  COFFER_ASSIGN_OR_RETURN(Page page, PageParams(c));
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> names, c.ids.ListInlinePolicies(K.kind, name));
  Xml x;
  PagedXml(
      x, "PolicyNames", names, page, [](const std::string& n) { return n; },
      [](Xml& out, const std::string& n) { out.Raw(XmlEscape(n)); });
  return x.str();
}

// ---- OIDC providers

Result<std::string> CreateOpenIDConnectProvider(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string url, c.p.Required("Url"));
  if (url.empty() || url.size() > 255) {
    return Fail(Validation("Url", url, "Member must have length between 1 and 255"));
  }
  std::vector<std::string> client_ids = c.p.List("ClientIDList");
  for (const std::string& id : client_ids) {
    if (id.empty() || id.size() > 255) {
      return Fail(Validation("ClientIDList", id, "Member must have length between 1 and 255"));
    }
  }
  std::vector<std::string> thumbprints = c.p.List("ThumbprintList");
  for (const std::string& t : thumbprints) {
    bool hex = t.size() == 40 && std::all_of(t.begin(), t.end(), [](char ch) {
                 return std::isxdigit(static_cast<unsigned char>(ch)) != 0;
               });
    if (!hex) {
      return Fail(Validation("ThumbprintList", t,
                             "Member must be 40 hexadecimal characters (a SHA-1 thumbprint)"));
    }
  }
  if (thumbprints.size() > iam::kMaxOidcThumbprints) {
    return Fail(InvalidInput("Thumbprint list must contain fewer than 5 entries."));
  }
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::Tag> tags, TagsParam(c));
  auto provider = c.ids.CreateOidcProvider(url, client_ids, thumbprints, tags);
  if (!provider.has_value()) {
    if (provider.error().reason == Reason::kValidation) {
      return Fail(InvalidInput(provider.error().message));
    }
    return Fail(std::move(provider).error());
  }
  Xml x;
  x.Element("OpenIDConnectProviderArn", provider->arn);
  TagsXml(x, provider->tags);
  return x.str();
}

Result<std::string> GetOpenIDConnectProvider(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, ProviderArnParam(c));
  COFFER_ASSIGN_OR_RETURN(iam::OidcProvider p, c.ids.GetOidcProvider(arn));
  Xml x;
  // AWS answers the URL without its scheme.
  x.Element("Url", std::string_view(p.url).substr(p.url.find("://") + 3));
  x.Open("ClientIDList");
  for (const std::string& id : p.client_ids) x.Element("member", id);
  x.Close("ClientIDList");
  x.Open("ThumbprintList");
  for (const std::string& t : p.thumbprints) x.Element("member", t);
  x.Close("ThumbprintList");
  x.Element("CreateDate", Iso(p.created));
  TagsXml(x, p.tags);
  return x.str();
}

Result<std::string> ListOpenIDConnectProviders(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::OidcProvider> providers, c.ids.ListOidcProviders());
  Xml x;
  x.Open("OpenIDConnectProviderList");
  for (const iam::OidcProvider& p : providers) {
    x.Open("member").Element("Arn", p.arn).Close("member");
  }
  x.Close("OpenIDConnectProviderList");
  return x.str();
}

Result<std::string> DeleteOpenIDConnectProvider(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string arn, ProviderArnParam(c));
  COFFER_RETURN_IF_ERROR(c.ids.DeleteOidcProvider(arn));
  return std::string();
}

// ---- dispatch

// ---- tags after creation: Tag*/Untag*/List*Tags for users, roles, instance
// profiles, managed policies and OIDC providers.

using TaggedKind = iam::IdentityStore::TaggedKind;

struct TaggedInfo {
  TaggedKind kind;
  std::string_view member;  // the parameter naming the entity
};

Result<std::string> TaggedId(const Req& c, const TaggedInfo& info) {
  switch (info.kind) {
    case TaggedKind::kPolicy:
      return PolicyArnParam(c);
    case TaggedKind::kOidcProvider:
      return ProviderArnParam(c);
    case TaggedKind::kUser:
    case TaggedKind::kRole:
      return Name(c, info.member, 64);
    case TaggedKind::kInstanceProfile:
      return Name(c, info.member, 128);
  }
  return Fail(InvalidInput("unknown entity"));
}

constexpr TaggedInfo kUserTags{TaggedKind::kUser, "UserName"};
constexpr TaggedInfo kRoleTags{TaggedKind::kRole, "RoleName"};
constexpr TaggedInfo kProfileTags{TaggedKind::kInstanceProfile, "InstanceProfileName"};
constexpr TaggedInfo kPolicyTags{TaggedKind::kPolicy, "PolicyArn"};
constexpr TaggedInfo kProviderTags{TaggedKind::kOidcProvider, "OpenIDConnectProviderArn"};

template <const TaggedInfo& kInfo>
Result<std::string> TagEntity(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string id, TaggedId(c, kInfo));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::Tag> tags, TagsParam(c));
  if (tags.empty()) {
    return Fail(Validation("Tags", "[]", "Member must have length greater than or equal to 1"));
  }
  COFFER_RETURN_IF_ERROR(c.ids.TagEntity(kInfo.kind, id, tags));
  return std::string();
}

template <const TaggedInfo& kInfo>
Result<std::string> UntagEntity(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string id, TaggedId(c, kInfo));
  std::vector<std::string> keys = c.p.List("TagKeys");
  if (keys.size() > iam::kMaxTags) {
    return Fail(Validation("TagKeys", std::to_string(keys.size()),
                           "Member must have length less than or equal to 50"));
  }
  COFFER_RETURN_IF_ERROR(c.ids.UntagEntity(kInfo.kind, id, keys));
  return std::string();
}

template <const TaggedInfo& kInfo>
Result<std::string> ListEntityTags(const Req& c) {
  COFFER_ASSIGN_OR_RETURN(std::string id, TaggedId(c, kInfo));
  COFFER_ASSIGN_OR_RETURN(std::vector<iam::Tag> tags, c.ids.EntityTags(kInfo.kind, id));
  Xml x;
  x.Open("Tags");
  for (const iam::Tag& t : tags) {
    x.Open("member").Element("Key", t.key).Element("Value", t.value).Close("member");
  }
  x.Close("Tags");
  x.Element("IsTruncated", "false");
  return x.str();
}

using Handler = Result<std::string> (*)(const Req&);

// What an action acts on, as its handler-table entry declares it (AWS's
// resource type for the action): the policy is evaluated on that entity's
// ARN, with its path when it exists.
enum class On {
  kAccount,          // "*": the listings (ListUsers, ListRoles, ...)
  kUser,             // UserName, or the calling user when absent
  kGroup,            // GroupName
  kRole,             // RoleName
  kInstanceProfile,  // InstanceProfileName
  kPolicy,           // PolicyArn
  kNewPolicy,        // Path + PolicyName (CreatePolicy)
  kProvider,         // OpenIDConnectProviderArn
  kNewProvider,      // the host of Url (CreateOpenIDConnectProvider)
};

// The entity of `on` resolved for the permission check: the ARN it has (with
// its path; or would have), and its tags when it exists and `with_tags`. A
// parameter that is missing or malformed leaves "*" or its ARN as given; the
// handler that follows reports it.
domain::ResolvedResource ResourceOf(const Req& c, On on, bool with_tags) {
  domain::ResolvedResource r;
  r.arn = "*";
  auto with_path = [&](std::string_view type, std::string_view name, const auto& found) {
    r.name = std::string(name);
    r.exists = found.has_value();
    r.arn = domain::IamArn(c.account, type, c.p.Optional("Path", r.exists ? found->path : "/"),
                           name);
    if constexpr (requires { found->tags; }) {
      if (r.exists && with_tags) r.tags = found->tags;
    }
  };
  auto by_arn = [&](std::string_view member, auto get) {
    const std::string* arn = c.p.Find(member);
    if (arn == nullptr) return;
    r.arn = *arn;
    if (!with_tags) return;
    auto found = get(*arn);
    r.exists = found.has_value();
    if (r.exists) r.tags = found->tags;
  };
  auto param = [&](std::string_view member) -> const std::string* { return c.p.Find(member); };
  switch (on) {
    case On::kAccount:
      break;
    case On::kUser: {
      auto user = UserNameOrCaller(c);
      if (user) with_path("user", *user, c.ids.GetUser(*user));
      break;
    }
    case On::kGroup:
      if (const std::string* name = param("GroupName")) {
        with_path("group", *name, c.ids.GetGroup(*name));  // groups carry no tags
      }
      break;
    case On::kRole:
      if (const std::string* name = param("RoleName")) {
        with_path("role", *name, c.ids.GetRole(*name));
      }
      break;
    case On::kInstanceProfile:
      if (const std::string* name = param("InstanceProfileName")) {
        with_path("instance-profile", *name, c.ids.GetInstanceProfile(*name));
      }
      break;
    case On::kPolicy:
      by_arn("PolicyArn", [&](std::string_view arn) { return c.ids.GetPolicy(arn); });
      break;
    case On::kNewPolicy:
      r.arn = domain::IamArn(c.account, "policy", c.p.Optional("Path", "/"),
                             c.p.Optional("PolicyName"));
      break;
    case On::kProvider:
      by_arn("OpenIDConnectProviderArn",
             [&](std::string_view arn) { return c.ids.GetOidcProvider(arn); });
      break;
    case On::kNewProvider: {
      std::string url = c.p.Optional("Url");
      size_t scheme = url.find("://");
      r.arn = domain::OidcProviderArn(c.account,
                                      scheme == std::string::npos ? url : url.substr(scheme + 3));
      break;
    }
  }
  return r;
}

struct Entry {
  On on;
  Handler handler;
};

const std::map<std::string_view, Entry>& Table() {
  static const std::map<std::string_view, Entry> kTable = {
      {"CreateUser", {On::kUser, CreateUser}},
      {"GetUser", {On::kUser, GetUser}},
      {"ListUsers", {On::kAccount, ListUsers}},
      {"DeleteUser", {On::kUser, DeleteUser}},
      {"CreateAccessKey", {On::kUser, CreateAccessKey}},
      {"ListAccessKeys", {On::kUser, ListAccessKeys}},
      {"UpdateAccessKey", {On::kUser, UpdateAccessKey}},
      {"DeleteAccessKey", {On::kUser, DeleteAccessKey}},
      {"GetAccessKeyLastUsed", {On::kUser, GetAccessKeyLastUsed}},
      {"CreateGroup", {On::kGroup, CreateGroup}},
      {"GetGroup", {On::kGroup, GetGroup}},
      {"ListGroups", {On::kAccount, ListGroups}},
      {"DeleteGroup", {On::kGroup, DeleteGroup}},
      {"AddUserToGroup", {On::kGroup, AddUserToGroup}},
      {"RemoveUserFromGroup", {On::kGroup, RemoveUserFromGroup}},
      {"ListGroupsForUser", {On::kUser, ListGroupsForUser}},
      {"CreateRole", {On::kRole, CreateRole}},
      {"GetRole", {On::kRole, GetRole}},
      {"ListRoles", {On::kAccount, ListRoles}},
      {"DeleteRole", {On::kRole, DeleteRole}},
      {"UpdateAssumeRolePolicy", {On::kRole, UpdateAssumeRolePolicy}},
      {"CreateInstanceProfile", {On::kInstanceProfile, CreateInstanceProfile}},
      {"GetInstanceProfile", {On::kInstanceProfile, GetInstanceProfile}},
      {"ListInstanceProfiles", {On::kAccount, ListInstanceProfiles}},
      {"ListInstanceProfilesForRole", {On::kRole, ListInstanceProfilesForRole}},
      {"DeleteInstanceProfile", {On::kInstanceProfile, DeleteInstanceProfile}},
      {"AddRoleToInstanceProfile", {On::kInstanceProfile, AddRoleToInstanceProfile}},
      {"RemoveRoleFromInstanceProfile", {On::kInstanceProfile, RemoveRoleFromInstanceProfile}},
      {"CreatePolicy", {On::kNewPolicy, CreatePolicy}},
      {"GetPolicy", {On::kPolicy, GetPolicy}},
      {"GetPolicyVersion", {On::kPolicy, GetPolicyVersion}},
      {"CreatePolicyVersion", {On::kPolicy, CreatePolicyVersion}},
      {"ListPolicyVersions", {On::kPolicy, ListPolicyVersions}},
      {"DeletePolicyVersion", {On::kPolicy, DeletePolicyVersion}},
      {"SetDefaultPolicyVersion", {On::kPolicy, SetDefaultPolicyVersion}},
      {"ListPolicies", {On::kAccount, ListPolicies}},
      {"DeletePolicy", {On::kPolicy, DeletePolicy}},
      // Attaching is an action on the user, group or role (AWS's resource
      // type); the policy is the condition key iam:PolicyARN.
      {"AttachUserPolicy", {On::kUser, AttachPolicy<kUserKind>}},
      {"AttachGroupPolicy", {On::kGroup, AttachPolicy<kGroupKind>}},
      {"AttachRolePolicy", {On::kRole, AttachPolicy<kRoleKind>}},
      {"DetachUserPolicy", {On::kUser, DetachPolicy<kUserKind>}},
      {"DetachGroupPolicy", {On::kGroup, DetachPolicy<kGroupKind>}},
      {"DetachRolePolicy", {On::kRole, DetachPolicy<kRoleKind>}},
      {"ListAttachedUserPolicies", {On::kUser, ListAttachedPolicies<kUserKind>}},
      {"ListAttachedGroupPolicies", {On::kGroup, ListAttachedPolicies<kGroupKind>}},
      {"ListAttachedRolePolicies", {On::kRole, ListAttachedPolicies<kRoleKind>}},
      {"PutUserPolicy", {On::kUser, PutInlinePolicy<kUserKind>}},
      {"PutGroupPolicy", {On::kGroup, PutInlinePolicy<kGroupKind>}},
      {"PutRolePolicy", {On::kRole, PutInlinePolicy<kRoleKind>}},
      {"GetUserPolicy", {On::kUser, GetInlinePolicy<kUserKind>}},
      {"GetGroupPolicy", {On::kGroup, GetInlinePolicy<kGroupKind>}},
      {"GetRolePolicy", {On::kRole, GetInlinePolicy<kRoleKind>}},
      {"DeleteUserPolicy", {On::kUser, DeleteInlinePolicy<kUserKind>}},
      {"DeleteGroupPolicy", {On::kGroup, DeleteInlinePolicy<kGroupKind>}},
      {"DeleteRolePolicy", {On::kRole, DeleteInlinePolicy<kRoleKind>}},
      {"ListUserPolicies", {On::kUser, ListInlinePolicies<kUserKind>}},
      {"ListGroupPolicies", {On::kGroup, ListInlinePolicies<kGroupKind>}},
      {"ListRolePolicies", {On::kRole, ListInlinePolicies<kRoleKind>}},
      {"CreateOpenIDConnectProvider", {On::kNewProvider, CreateOpenIDConnectProvider}},
      {"GetOpenIDConnectProvider", {On::kProvider, GetOpenIDConnectProvider}},
      {"ListOpenIDConnectProviders", {On::kAccount, ListOpenIDConnectProviders}},
      {"DeleteOpenIDConnectProvider", {On::kProvider, DeleteOpenIDConnectProvider}},
      {"TagUser", {On::kUser, TagEntity<kUserTags>}},
      {"UntagUser", {On::kUser, UntagEntity<kUserTags>}},
      {"ListUserTags", {On::kUser, ListEntityTags<kUserTags>}},
      {"TagRole", {On::kRole, TagEntity<kRoleTags>}},
      {"UntagRole", {On::kRole, UntagEntity<kRoleTags>}},
      {"ListRoleTags", {On::kRole, ListEntityTags<kRoleTags>}},
      {"TagInstanceProfile", {On::kInstanceProfile, TagEntity<kProfileTags>}},
      {"UntagInstanceProfile", {On::kInstanceProfile, UntagEntity<kProfileTags>}},
      {"ListInstanceProfileTags", {On::kInstanceProfile, ListEntityTags<kProfileTags>}},
      {"TagPolicy", {On::kPolicy, TagEntity<kPolicyTags>}},
      {"UntagPolicy", {On::kPolicy, UntagEntity<kPolicyTags>}},
      {"ListPolicyTags", {On::kPolicy, ListEntityTags<kPolicyTags>}},
      {"TagOpenIDConnectProvider", {On::kProvider, TagEntity<kProviderTags>}},
      {"UntagOpenIDConnectProvider", {On::kProvider, UntagEntity<kProviderTags>}},
      {"ListOpenIDConnectProviderTags", {On::kProvider, ListEntityTags<kProviderTags>}},
  };
  return kTable;
}

}  // namespace

IamService::IamService(domain::iam::IdentityStore& identities, std::string account_id)
    : identities_(identities), account_id_(std::move(account_id)) {
  for (const auto& [name, entry] : Table()) {
    QueryOperation op;
    op.action = "iam:" + std::string(name);
    op.resources = [this, on = entry.on](const QueryParams& params,
                                         const LookupContext& lookup) -> Result<Accesses> {
      Req call{identities_, account_id_, params, lookup.caller};
      Access access;
      access.resource = ResourceOf(call, on, lookup.authz.NeedsResourceTags());
      // The entity's tags as iam:ResourceTag/* and aws:ResourceTag/*; the
      // request's as aws:RequestTag/* and aws:TagKeys; the policy an attach
      // names as iam:PolicyARN.
      auth::KeyMap keys = domain::ResourceTagKeys("iam", access.resource.tags);
      auto request_tags = params.KeyValueList("Tags", "Key", "Value");
      if (!request_tags.empty()) {
        std::vector<domain::Tag> tags;
        for (auto& [k, v] : request_tags) tags.push_back(domain::Tag{k, v});
        for (auto& [k, v] : domain::RequestTagKeys(tags)) keys[k] = std::move(v);
      }
      for (const std::string& k : params.List("TagKeys")) keys["aws:TagKeys"].push_back(k);
      if (const std::string* policy = params.Find("PolicyArn");
          policy != nullptr && on != On::kPolicy) {
        keys["iam:PolicyARN"] = {*policy};
      }
      access.permission = lookup.On(access.resource.arn, std::move(keys));
      return Accesses{std::move(access)};
    };
    op.handler = [this, handler = entry.handler](const QueryParams& params,
                                                 CallContext& context) {
      return handler(Req{identities_, account_id_, params, context.caller});
    };
    operations_.emplace(std::string(name), std::move(op));
  }
}

const QueryOperation* IamService::Find(std::string_view action) const {
  return pipeline::FindEntry(operations_, action);
}

}  // namespace coffer::api::awsquery
