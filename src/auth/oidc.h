// OIDC web-identity verification for STS AssumeRoleWithWebIdentity: the
// issuer's signing keys come from its discovery document
// (<issuer>/.well-known/openid-configuration -> jwks_uri), are cached, and are
// refreshed when a token names an unknown kid (at most once per minimum
// interval per issuer); a static JWKS can be configured per issuer for
// air-gapped setups.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.h"
#include "util/result.h"
#include "util/mutex.h"
#include "util/time.h"

namespace coffer::auth {

// Fetches a URL's body over HTTP(S). Implemented outside auth/ (server/ uses
// client/); thread-safe. Errors: kUnavailable when the URL cannot be fetched.
class HttpFetcher {
 public:
  virtual ~HttpFetcher() = default;
  virtual Result<std::string> Fetch(const std::string& url) = 0;
};

// Thread-safe.
class OidcVerifier {
 public:
  OidcVerifier(HttpFetcher& fetcher, util::Clock& clock,
               std::chrono::seconds min_refresh_interval = std::chrono::seconds(30));

  // Uses `jwks` (a JWKS document) for `issuer` instead of fetching. A
  // trailing "/" of `issuer` is dropped, as a registered provider URL has none.
  // kInvalidArgument if it does not parse.
  Status SetStaticJwks(const std::string& issuer, std::string_view jwks);

  // Parses and verifies `token` as issued by `issuer` for one of `audiences`.
  // `issuer` is the registered provider's URL ("https://host[/path]"), never
  // the token's own spelling: the token's iss must equal it exactly (as AWS
  // compares; "https://host/" is another issuer than "https://host"), and
  // that is checked before any key is looked up, so keys are only ever
  // fetched from `issuer`.
  // kUnauthenticated with kInvalidIdentityToken (bad form, alg, signature,
  // unknown kid, issuer, audience), kExpiredIdentityToken (expired), or
  // kIdpCommunicationError (discovery/JWKS unreachable).
  Result<Jwt> Verify(std::string_view token, const std::string& issuer,
                     const std::vector<std::string>& audiences);

 private:
  struct IssuerKeys {
    std::vector<Jwk> keys;
    bool is_static = false;
    util::SteadyTime fetched{};
  };
  Result<std::vector<Jwk>> FetchKeys(const std::string& issuer);

  HttpFetcher& fetcher_;
  util::Clock& clock_;
  std::chrono::seconds min_refresh_interval_;
  util::Mutex mu_;
  std::map<std::string, IssuerKeys> issuers_ COFFER_GUARDED_BY(mu_);
};

// "https://token.actions.githubusercontent.com/" -> "token.actions.githubusercontent.com":
// the provider's name in ARNs and condition keys.
std::string IssuerHost(std::string_view issuer_url);

}  // namespace coffer::auth
