#include "api/awsquery/sts_service.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "auth/jwt.h"
#include "auth/policy.h"
#include "domain/arn.h"
#include "util/log.h"

namespace coffer::api::awsquery {
namespace {

namespace iam = domain::iam;

constexpr int kDefaultDurationSeconds = 3600;
constexpr int kMaxDurationSeconds = 43200;
constexpr size_t kMaxWebIdentityToken = 20000;
constexpr size_t kMaxSourceIdentity = 64;

using ConditionKeys = std::map<std::string, std::vector<std::string>, std::less<>>;

std::string LowerFirst(std::string_view member) {
  std::string out(member);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

// AWS's "1 validation error detected" form. `value` is shown only for
// non-secret members (never for tokens).
std::unexpected<Error> Validation(std::string_view member, std::string_view value,
                                  std::string_view constraint) {
  return Fail(ErrorCode::kInvalidArgument,
              "1 validation error detected: Value '" + std::string(value) + "' at '" +
                  LowerFirst(member) + "' failed to satisfy constraint: " + std::string(constraint),
              Reason::kValidation);
}

std::unexpected<Error> AccessDenied(std::string message) {
  return Fail(ErrorCode::kPermissionDenied, std::move(message), Reason::kAccessDenied);
}

std::unexpected<Error> InvalidToken(std::string message) {
  return Fail(ErrorCode::kUnauthenticated, std::move(message), Reason::kInvalidIdentityToken);
}

bool IsSessionNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::strchr("+=,.@_-", c) != nullptr;
}

Result<std::string> SessionName(const QueryParams& p) {
  COFFER_ASSIGN_OR_RETURN(std::string name, p.Required("RoleSessionName"));
  if (name.size() < 2 || name.size() > 64) {
    return Validation("RoleSessionName", name, "Member must have length between 2 and 64");
  }
  if (!std::all_of(name.begin(), name.end(), IsSessionNameChar)) {
    return Validation("RoleSessionName", name,
                      "Member must satisfy regular expression pattern: [\\w+=,.@-]*");
  }
  return name;
}

Result<std::chrono::seconds> Duration(const QueryParams& p, const iam::Role& role) {
  const std::string* v = p.Find("DurationSeconds");
  if (v == nullptr) {
    return std::chrono::seconds(std::min(kDefaultDurationSeconds, role.max_session_duration));
  }
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) {
    return Validation("DurationSeconds", *v, "Member must be an integer");
  }
  if (n < iam::kMinSessionDurationSeconds) {
    return Validation("DurationSeconds", *v,
                      "Member must have value greater than or equal to 900");
  }
  if (n > kMaxDurationSeconds) {
    return Validation("DurationSeconds", *v, "Member must have value less than or equal to 43200");
  }
  if (n > role.max_session_duration) {
    return Fail(ErrorCode::kInvalidArgument,
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                Reason::kValidation);
  }
  return std::chrono::seconds(n);
}

// Refuses the members this STS does not implement instead of silently
// granting more than the caller asked for.
Status RefuseUnsupported(const QueryParams& p) {
  for (const auto& [name, value] : p.all()) {
    if (name == "Policy" || name.starts_with("PolicyArns.") || name.starts_with("Tags.") ||
        name.starts_with("TransitiveTagKeys.") || name == "SerialNumber" || name == "TokenCode" ||
        name == "ProviderId") {
      return Fail(ErrorCode::kInvalidArgument,
                  name.substr(0, name.find('.')) + " is not supported by this STS",
                  Reason::kValidation);
    }
  }
  return Ok();
}

// The role an ARN names in this account, or AccessDenied with `denied` (AWS
// does not reveal whether a role exists to someone who may not assume it).
Result<iam::Role> RoleFromArn(iam::IdentityStore& identities, std::string_view arn,
                              const std::string& denied) {
  std::string prefix = domain::IamArn(identities.account_id(), "role", "/", "");
  if (arn.size() < 20 || arn.size() > 2048) {
    return Validation("RoleArn", arn, "Member must have length between 20 and 2048");
  }
  if (!arn.starts_with(prefix)) return AccessDenied(denied);
  std::string_view rest = arn.substr(prefix.size());
  std::string_view name = rest.substr(rest.rfind('/') == std::string_view::npos
                                          ? 0
                                          : rest.rfind('/') + 1);
  auto role = identities.GetRole(name);
  if (!role) {
    if (role.error().code == ErrorCode::kNotFound) return AccessDenied(denied);
    return Fail(role.error());
  }
  if (role->arn != arn) return AccessDenied(denied);
  return role;
}

Result<std::vector<auth::NamedPolicy>> TrustPolicy(const iam::Role& role) {
  auto parsed = auth::ParsePolicy(role.assume_role_policy, /*require_resource=*/false);
  if (!parsed) {
    // Validated when stored; an unreadable trust policy lets no one in.
    util::LogWarn("trust policy does not parse", {{"role", role.arn}});
    return Fail(ErrorCode::kPermissionDenied, "trust policy unreadable", Reason::kAccessDenied);
  }
  return std::vector<auth::NamedPolicy>{
      {"role/" + role.name + "/trust", std::make_shared<const auth::Policy>(std::move(*parsed))}};
}

void AppendCredentials(Xml& xml, const iam::Session& s) {
  xml.Open("Credentials")
      .Element("AccessKeyId", s.access_key_id)
      .Element("SecretAccessKey", s.secret_access_key.Reveal())
      .Element("SessionToken", s.session_token.Reveal())
      .Element("Expiration", util::FormatIso8601(s.expiration))
      .Close("Credentials");
  xml.Open("AssumedRoleUser")
      .Element("Arn", s.assumed_role_arn)
      .Element("AssumedRoleId", s.assumed_role_id)
      .Close("AssumedRoleUser");
}

Result<std::string> SourceIdentity(const QueryParams& p) {
  std::string v = p.Optional("SourceIdentity");
  if (p.Find("SourceIdentity") == nullptr) return v;
  if (v.size() < 2 || v.size() > kMaxSourceIdentity ||
      !std::all_of(v.begin(), v.end(), IsSessionNameChar)) {
    return Validation("SourceIdentity", v,
                      "Member must have length between 2 and 64 and satisfy regular expression "
                      "pattern: [\\w+=,.@-]*");
  }
  return v;
}

}  // namespace

StsService::StsService(domain::iam::IdentityStore& identities, auth::OidcVerifier& oidc,
                       util::Clock& clock)
    : identities_(identities), oidc_(oidc), clock_(clock) {
  // No permission is needed to ask who one is (as on AWS). AssumeRole and
  // AssumeRoleWithWebIdentity are decided by the role's trust policy, which
  // only the handler can evaluate (with the caller's identity policies for a
  // trust in the caller's account): they record their decision through
  // CallContext::authz.
  auto none = [](const QueryParams&, const LookupContext&) { return pipeline::NoDeclaredResource(); };
  operations_["GetCallerIdentity"] = QueryOperation{
      "sts:GetCallerIdentity", none,
      [this](const QueryParams&, CallContext& context) { return GetCallerIdentity(context); }};
  operations_["AssumeRole"] = QueryOperation{
      "sts:AssumeRole", none,
      [this](const QueryParams& params, CallContext& context) {
        return AssumeRole(params, context);
      }};
  operations_["AssumeRoleWithWebIdentity"] = QueryOperation{
      "sts:AssumeRoleWithWebIdentity", none,
      [this](const QueryParams& params, CallContext& context) {
        return AssumeRoleWithWebIdentity(params, context);
      },
      /*served_unsigned=*/true};
}

const QueryOperation* StsService::Find(std::string_view action) const {
  return pipeline::FindEntry(operations_, action);
}

Result<std::string> StsService::GetCallerIdentity(CallContext& context) {
  if (context.caller == nullptr) {
    return Fail(ErrorCode::kUnauthenticated, "Missing Authentication Token",
                Reason::kMissingAuthenticationToken);
  }
  const auth::Principal& p = context.caller->principal;
  Xml xml;
  xml.Element("Arn", p.arn).Element("UserId", p.user_id).Element("Account", p.account_id);
  return xml.str();
}

Result<std::string> StsService::AssumeRole(const QueryParams& params,
                                           CallContext& context) {
  if (context.caller == nullptr) {
    return Fail(ErrorCode::kUnauthenticated, "Missing Authentication Token",
                Reason::kMissingAuthenticationToken);
  }
  const auth::Principal& caller = context.caller->principal;
  COFFER_RETURN_IF_ERROR(RefuseUnsupported(params));
  COFFER_ASSIGN_OR_RETURN(std::string role_arn, params.Required("RoleArn"));
  COFFER_ASSIGN_OR_RETURN(std::string session_name, SessionName(params));
  COFFER_ASSIGN_OR_RETURN(std::string source_identity, SourceIdentity(params));
  std::string external_id = params.Optional("ExternalId");
  if (external_id.size() > 1224) {
    return Validation("ExternalId", "***", "Member must have length less than or equal to 1224");
  }
  std::string denied = "User: " + caller.arn + " is not authorized to perform: sts:AssumeRole on resource: " +
                       role_arn;
  auto found = RoleFromArn(identities_, role_arn, denied);
  if (!found) {
    // A role that does not exist is refused like one that does not trust the
    // caller (as on AWS), and audited as the implicit deny it is.
    context.authz.Note(role_arn, "implicit-deny", "");
    return std::unexpected(std::move(found).error());
  }
  iam::Role role = std::move(*found);
  COFFER_ASSIGN_OR_RETURN(std::chrono::seconds duration, Duration(params, role));
  COFFER_ASSIGN_OR_RETURN(std::vector<auth::NamedPolicy> trust, TrustPolicy(role));

  auth::RequestContext request;
  request.action = "sts:AssumeRole";
  request.resource = role.arn;
  request.Set("aws:PrincipalArn", caller.arn);
  request.Set("aws:PrincipalAccount", caller.account_id);
  if (!caller.user_name.empty()) request.Set("aws:username", caller.user_name);
  request.Set("aws:userid", caller.user_id);
  request.Set("aws:SourceIp", std::string(context.source_ip));
  request.Set("aws:SecureTransport", context.secure ? "true" : "false");
  request.Set("aws:CurrentTime", util::FormatIso8601(clock_.Now()));
  request.Set("sts:RoleSessionName", session_name);
  if (!external_id.empty()) request.Set("sts:ExternalId", external_id);
  if (!source_identity.empty()) request.Set("sts:SourceIdentity", source_identity);

  // A role session may be named by its role's ARN as well as its own.
  std::vector<std::string> principal_arns = {caller.arn};
  if (!caller.role_arn.empty()) principal_arns.push_back(caller.role_arn);
  // Two questions: does the trust policy name this caller itself (or "*"),
  // which grants on its own; or does it trust the caller's account, which
  // then needs the caller's identity policies to allow too. An explicit deny
  // in the trust policy refuses either way.
  bool direct = false, via_account = false;
  std::string decided_by;  // the trust statement that let the caller in
  auto note = [&](std::string_view kind, std::string by) {
    context.authz.Note(role.arn, kind, std::move(by));
  };
  for (const std::string& arn : principal_arns) {
    request.principal_arn = arn;
    request.principal_account.clear();
    auth::Decision d = auth::EvaluateWithPrincipal(trust, request);
    if (d.kind == auth::Decision::Kind::kExplicitDeny) {
      note(d.KindName(), d.Describe());
      return AccessDenied(denied);
    }
    if (d.allowed() && !direct) decided_by = d.Describe();
    direct |= d.allowed();
    request.principal_account = caller.account_id;
    d = auth::EvaluateWithPrincipal(trust, request);
    if (d.kind == auth::Decision::Kind::kExplicitDeny) {
      note(d.KindName(), d.Describe());
      return AccessDenied(denied);
    }
    if (d.allowed() && !direct && decided_by.empty()) decided_by = d.Describe() + "+identity";
    via_account |= d.allowed();
  }
  bool identity_allows = !direct && context.authz.Allowed("sts:AssumeRole", role.arn);
  if (!direct && !(via_account && identity_allows)) {
    note("implicit-deny", "");
    return AccessDenied(denied);
  }
  note("allow", std::move(decided_by));

  iam::SessionSource source;
  source.principal_arn = caller.arn;
  source.source_identity = source_identity;
  COFFER_ASSIGN_OR_RETURN(iam::Session session,
                          identities_.CreateSession(role.name, session_name, duration, source, {}));
  util::LogInfo("role assumed", {{"role", role.arn},
                                 {"session", session.assumed_role_arn},
                                 {"by", caller.arn},
                                 {"access_key_id", session.access_key_id}});
  Xml xml;
  AppendCredentials(xml, session);
  if (!source_identity.empty()) xml.Element("SourceIdentity", source_identity);
  return xml.str();
}

Result<std::string> StsService::AssumeRoleWithWebIdentity(const QueryParams& params,
                                                          CallContext& context) {
  COFFER_RETURN_IF_ERROR(RefuseUnsupported(params));
  COFFER_ASSIGN_OR_RETURN(std::string role_arn, params.Required("RoleArn"));
  COFFER_ASSIGN_OR_RETURN(std::string session_name, SessionName(params));
  COFFER_ASSIGN_OR_RETURN(std::string token, params.Required("WebIdentityToken"));
  if (token.size() < 4 || token.size() > kMaxWebIdentityToken) {
    return Validation("WebIdentityToken", "***",
                      "Member must have length between 4 and " +
                          std::to_string(kMaxWebIdentityToken));
  }
  COFFER_ASSIGN_OR_RETURN(std::string source_identity, SourceIdentity(params));

  // Which provider: the token's (unverified) iss names it; the signature is
  // then checked against that provider's keys, so a forged iss gains nothing.
  // The iss must be exactly "https://" + the registered URL, as AWS compares
  // it: the store's lookup forgives a trailing "/" or the scheme's case, and
  // such a spelling is another issuer, refused before anything is fetched.
  // From here on only the registered URL is used, never the token's spelling.
  COFFER_ASSIGN_OR_RETURN(auth::Jwt unverified, auth::ParseJwt(token));
  const std::string& token_issuer = unverified.claims.iss;
  if (token_issuer.empty()) return InvalidToken("The token has no iss claim.");
  auto provider = identities_.GetOidcProviderForIssuer(token_issuer);
  if (!provider) {
    if (provider.error().code == ErrorCode::kNotFound) {
      return InvalidToken("No OpenIDConnect provider found in your account for " + token_issuer);
    }
    return Fail(provider.error());
  }
  if (provider->url != token_issuer) {
    return InvalidToken("No OpenIDConnect provider found in your account for " + token_issuer);
  }
  const std::string& issuer = provider->url;
  if (provider->client_ids.empty()) {
    return InvalidToken("Incorrect token audience: the provider lists no client IDs.");
  }
  auto verified = oidc_.Verify(token, issuer, provider->client_ids);
  if (!verified) {
    util::LogInfo("web identity token refused",
                  {{"issuer", issuer}, {"reason", verified.error().message}});
    return Fail(std::move(verified).error());
  }
  const auth::JwtClaims& claims = verified->claims;

  const std::string denied = "Not authorized to perform sts:AssumeRoleWithWebIdentity";
  auto found = RoleFromArn(identities_, role_arn, denied);
  if (!found) {
    // A role that does not exist is refused like one that does not trust the
    // caller (as on AWS), and audited as the implicit deny it is.
    context.authz.Note(role_arn, "implicit-deny", "");
    return std::unexpected(std::move(found).error());
  }
  iam::Role role = std::move(*found);
  COFFER_ASSIGN_OR_RETURN(std::chrono::seconds duration, Duration(params, role));
  COFFER_ASSIGN_OR_RETURN(std::vector<auth::NamedPolicy> trust, TrustPolicy(role));

  // Condition keys: "<host>:<claim>" for every claim (aud may hold several),
  // as AWS offers "<host>:sub" / ":aud" and GitHub's claim names.
  std::string host = auth::IssuerHost(issuer);
  ConditionKeys claim_keys;
  for (const auto& [name, value] : claims.all) {
    if (name == "aud") continue;
    claim_keys[host + ":" + name] = {value};
  }
  claim_keys[host + ":aud"] = claims.aud;
  claim_keys[host + ":sub"] = {claims.sub};

  auth::RequestContext request;
  request.action = "sts:AssumeRoleWithWebIdentity";
  request.resource = role.arn;
  request.federated_provider = host;
  for (const auto& [k, values] : claim_keys) {
    for (const auto& v : values) request.Add(k, v);
  }
  request.Set("aws:FederatedProvider", provider->arn);
  request.Set("aws:SourceIp", std::string(context.source_ip));
  request.Set("aws:SecureTransport", context.secure ? "true" : "false");
  request.Set("aws:CurrentTime", util::FormatIso8601(clock_.Now()));
  request.Set("sts:RoleSessionName", session_name);
  if (!source_identity.empty()) request.Set("sts:SourceIdentity", source_identity);
  auth::Decision decision = auth::EvaluateWithPrincipal(trust, request);
  context.authz.Note(role.arn, decision.KindName(), decision.Describe());
  if (!decision.allowed()) {
    util::LogInfo("web identity not trusted by role",
                  {{"role", role.arn}, {"issuer", issuer}, {"sub", claims.sub}});
    return AccessDenied(denied);
  }

  iam::SessionSource source;
  source.provider = host;
  source.subject = claims.sub;
  source.source_identity = source_identity;
  COFFER_ASSIGN_OR_RETURN(
      iam::Session session,
      identities_.CreateSession(role.name, session_name, duration, source, std::move(claim_keys)));
  util::LogInfo("role assumed with web identity", {{"role", role.arn},
                                                    {"session", session.assumed_role_arn},
                                                    {"issuer", issuer},
                                                    {"sub", claims.sub},
                                                    {"access_key_id", session.access_key_id}});
  Xml xml;
  AppendCredentials(xml, session);
  xml.Element("SubjectFromWebIdentityToken", claims.sub);
  std::string audience;
  for (const auto& a : claims.aud) {
    if (std::find(provider->client_ids.begin(), provider->client_ids.end(), a) !=
        provider->client_ids.end()) {
      audience = a;
      break;
    }
  }
  xml.Element("Audience", audience);
  xml.Element("Provider", issuer);
  if (!source_identity.empty()) xml.Element("SourceIdentity", source_identity);
  return xml.str();
}

}  // namespace coffer::api::awsquery
