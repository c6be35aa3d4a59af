#include "auth/oidc.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/signature.h"
#include "support/matchers.h"
#include "util/encoding.h"

namespace coffer::auth {
namespace {

constexpr std::string_view kIssuer = "https://token.actions.githubusercontent.com";
constexpr int64_t kNow = 1'795'000'000;

std::string B64Url(std::string_view bytes) {
  std::string s = util::Base64Encode(bytes);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

// Serves one issuer's discovery document and JWKS, and records every URL asked for.
class RecordingFetcher final : public HttpFetcher {
 public:
  explicit RecordingFetcher(std::string jwks) : jwks_(std::move(jwks)) {}
  Result<std::string> Fetch(const std::string& url) override {
    urls.push_back(url);
    if (url == std::string(kIssuer) + "/.well-known/openid-configuration") {
      return nlohmann::json{{"issuer", kIssuer},
                            {"jwks_uri", std::string(kIssuer) + "/.well-known/jwks"}}
          .dump();
    }
    if (url == std::string(kIssuer) + "/.well-known/jwks") return jwks_;
    return Fail(ErrorCode::kUnavailable, "not served");
  }
  std::vector<std::string> urls;

 private:
  std::string jwks_;
};

class OidcVerifierTest : public ::testing::Test {
 protected:
  OidcVerifierTest()
      : key_(*crypto::SigningKey::GenerateEcP256()),
        fetcher_(Jwks()),
        clock_(util::FromUnixMillis(kNow * 1000)),
        verifier_(fetcher_, clock_) {}

  std::string Jwks() const {
    auto pub = key_.ec_public();
    return nlohmann::json{{"keys",
                           {{{"kty", "EC"},
                             {"kid", "k1"},
                             {"crv", "P-256"},
                             {"x", B64Url(pub.x)},
                             {"y", B64Url(pub.y)}}}}}
        .dump();
  }

  std::string Mint(std::string_view iss) const {
    nlohmann::json claims = {{"iss", iss},           {"aud", "sts.amazonaws.com"},
                             {"sub", "repo:acme/api:ref:refs/heads/main"},
                             {"exp", kNow + 300},    {"nbf", kNow - 10},
                             {"iat", kNow - 10}};
    std::string input = B64Url(nlohmann::json{{"alg", "ES256"}, {"kid", "k1"}}.dump()) + "." +
                        B64Url(claims.dump());
    return input + "." + B64Url(*key_.Sign(input));
  }

  crypto::SigningKey key_;
  RecordingFetcher fetcher_;
  util::SimulatedClock clock_;
  OidcVerifier verifier_;
  const std::vector<std::string> audiences_ = {"sts.amazonaws.com"};
};

// A token from the registered issuer verifies with keys fetched from that issuer.
TEST_F(OidcVerifierTest, TokenOfTheRegisteredIssuerVerifies) {
  auto jwt = verifier_.Verify(Mint(kIssuer), std::string(kIssuer), audiences_);
  ASSERT_TRUE(jwt.has_value()) << jwt.error().message;
  EXPECT_EQ(fetcher_.urls,
            (std::vector<std::string>{std::string(kIssuer) + "/.well-known/openid-configuration",
                                      std::string(kIssuer) + "/.well-known/jwks"}));
}

// Another spelling of the issuer (trailing slash, scheme case, other path) is
// another issuer, as AWS compares it: refused before anything is fetched.
TEST_F(OidcVerifierTest, OtherSpellingOfTheIssuerIsRefusedWithoutAnyFetch) {
  for (std::string iss : {std::string(kIssuer) + "/", std::string(kIssuer) + "//",
                          std::string("HTTPS://token.actions.githubusercontent.com"),
                          std::string(kIssuer) + "/x", std::string("token.actions.githubusercontent.com")}) {
    auto jwt = verifier_.Verify(Mint(iss), std::string(kIssuer), audiences_);
    EXPECT_TRUE(HasError(jwt, ErrorCode::kUnauthenticated, Reason::kInvalidIdentityToken)) << iss;
  }
  EXPECT_TRUE(fetcher_.urls.empty());
}

// A static JWKS configured as "ISSUER/" serves the registered, slash-less
// issuer, and is used without fetching.
TEST_F(OidcVerifierTest, StaticJwksWithTrailingSlashServesTheRegisteredIssuer) {
  ASSERT_TRUE(verifier_.SetStaticJwks(std::string(kIssuer) + "/", Jwks()).has_value());
  auto jwt = verifier_.Verify(Mint(kIssuer), std::string(kIssuer), audiences_);
  ASSERT_TRUE(jwt.has_value()) << jwt.error().message;
  EXPECT_TRUE(fetcher_.urls.empty());
}

}  // namespace
}  // namespace coffer::auth
