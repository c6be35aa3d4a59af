#include "auth/oidc.h"

#include <nlohmann/json.hpp>

namespace coffer::auth {
namespace {

std::unexpected<Error> IdpError(std::string message) {
  return Fail(ErrorCode::kUnauthenticated, std::move(message), Reason::kIdpCommunicationError);
}

}  // namespace

std::string IssuerHost(std::string_view url) {
  if (auto p = url.find("://"); p != std::string_view::npos) url.remove_prefix(p + 3);
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return std::string(url);
}

OidcVerifier::OidcVerifier(HttpFetcher& fetcher, util::Clock& clock,
                           std::chrono::seconds min_refresh_interval)
    : fetcher_(fetcher), clock_(clock), min_refresh_interval_(min_refresh_interval) {}

Status OidcVerifier::SetStaticJwks(const std::string& issuer, std::string_view jwks) {
  COFFER_ASSIGN_OR_RETURN(std::vector<Jwk> keys, ParseJwks(jwks));
  std::string name = issuer;
  while (!name.empty() && name.back() == '/') name.pop_back();
  util::MutexLock lock(mu_);
  IssuerKeys& entry = issuers_[name];
  entry.keys = std::move(keys);
  entry.is_static = true;
  return Ok();
}

Result<std::vector<Jwk>> OidcVerifier::FetchKeys(const std::string& issuer) {
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto discovery = fetcher_.Fetch(base + "/.well-known/openid-configuration");
  if (!discovery) return IdpError("could not fetch the OpenID configuration of " + issuer);
  std::string jwks_uri;
  try {
    auto doc = nlohmann::json::parse(*discovery);
    if (!doc.is_object() || !doc.contains("jwks_uri") || !doc["jwks_uri"].is_string()) {
      return IdpError("the OpenID configuration of " + issuer + " has no jwks_uri");
    }
    jwks_uri = doc["jwks_uri"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
    return IdpError("the OpenID configuration of " + issuer + " is not JSON");
  }
  auto jwks = fetcher_.Fetch(jwks_uri);
  if (!jwks) return IdpError("could not fetch the JWKS of " + issuer);
  auto keys = ParseJwks(*jwks);
  if (!keys) return IdpError("the JWKS of " + issuer + " does not parse");
  return keys;
}

Result<Jwt> OidcVerifier::Verify(std::string_view token, const std::string& issuer,
                                 const std::vector<std::string>& audiences) {
  COFFER_ASSIGN_OR_RETURN(Jwt jwt, ParseJwt(token));
  // Before any key lookup: a token naming another spelling of the issuer must
  // not make the server fetch (or cache) anything for it.
  if (jwt.claims.iss != issuer) {
    return Fail(ErrorCode::kUnauthenticated, "the token's issuer is not the registered provider",
                Reason::kInvalidIdentityToken);
  }
  auto find_key = [&](const std::vector<Jwk>& keys) -> const Jwk* {
    for (const Jwk& k : keys) {
      if (jwt.kid.empty() || k.kid == jwt.kid) {
        if (VerifyJwtSignature(jwt, k)) return &k;
        if (!jwt.kid.empty()) return nullptr;  // the named key does not verify
      }
    }
    return nullptr;
  };
  auto has_kid = [&](const std::vector<Jwk>& keys) {
    for (const Jwk& k : keys) {
      if (k.kid == jwt.kid) return true;
    }
    return jwt.kid.empty() && !keys.empty();
  };

  std::vector<Jwk> keys;
  bool refresh = false;
  {
    util::MutexLock lock(mu_);
    auto it = issuers_.find(issuer);
    if (it == issuers_.end()) {
      refresh = true;
    } else {
      keys = it->second.keys;
      if (!it->second.is_static && !has_kid(keys) &&
          clock_.SteadyNow() - it->second.fetched >= min_refresh_interval_) {
        refresh = true;  // unknown kid: the issuer may have rotated its keys
      }
    }
  }
  if (refresh) {
    COFFER_ASSIGN_OR_RETURN(keys, FetchKeys(issuer));
    util::MutexLock lock(mu_);
    IssuerKeys& entry = issuers_[issuer];
    entry.keys = keys;
    entry.fetched = clock_.SteadyNow();
  }
  if (!has_kid(keys)) {
    return Fail(ErrorCode::kUnauthenticated, "the token's key id is not in the issuer's JWKS",
                Reason::kInvalidIdentityToken);
  }
  if (find_key(keys) == nullptr) {
    return Fail(ErrorCode::kUnauthenticated, "the token's signature does not verify",
                Reason::kInvalidIdentityToken);
  }
  ClaimRules rules;
  rules.issuer = issuer;
  rules.audiences = audiences;
  COFFER_RETURN_IF_ERROR(ValidateClaims(jwt.claims, rules, clock_.Now()));
  return jwt;
}

}  // namespace coffer::auth
