#include "auth/jwt.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crypto/signature.h"
#include "util/encoding.h"

namespace coffer::auth {
namespace {

std::string B64Url(std::string_view bytes) {
  std::string s = util::Base64Encode(bytes);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

std::string Mint(const crypto::SigningKey& key, const nlohmann::json& header,
                 const nlohmann::json& claims) {
  std::string input = B64Url(header.dump()) + "." + B64Url(claims.dump());
  auto sig = key.Sign(input);
  return input + "." + B64Url(*sig);
}

Jwk ToJwk(const crypto::SigningKey& key, std::string kid) {
  Jwk j;
  j.kid = std::move(kid);
  if (key.is_rsa()) {
    j.kty = "RSA";
    j.rsa = key.rsa_public();
  } else {
    j.kty = "EC";
    j.ec = key.ec_public();
  }
  return j;
}

constexpr int64_t kNow = 1'795'000'000;

nlohmann::json GithubClaims() {
  return {{"iss", "https://token.actions.githubusercontent.com"},
          {"aud", "sts.amazonaws.com"},
          {"sub", "repo:acme/api:ref:refs/heads/main"},
          {"repository", "acme/api"},
          {"exp", kNow + 300},
          {"nbf", kNow - 10},
          {"iat", kNow - 10}};
}

ClaimRules Rules() {
  return {"https://token.actions.githubusercontent.com", {"sts.amazonaws.com"}};
}

util::SystemTime Now() { return util::FromUnixMillis(kNow * 1000); }

// RS256 and ES256 tokens verify against their keys and not against others.
TEST(JwtTest, Rs256AndEs256VerifyOnlyWithTheirKey) {
  auto rsa = crypto::SigningKey::GenerateRsa(2048);
  auto ec = crypto::SigningKey::GenerateEcP256();
  ASSERT_TRUE(rsa && ec);
  for (auto* key : {&*rsa, &*ec}) {
    std::string alg = key->is_rsa() ? "RS256" : "ES256";
    auto token = Mint(*key, {{"alg", alg}, {"kid", "k1"}}, GithubClaims());
    auto jwt = ParseJwt(token);
    ASSERT_TRUE(jwt.has_value()) << jwt.error().message;
    EXPECT_EQ(jwt->kid, "k1");
    EXPECT_TRUE(VerifyJwtSignature(*jwt, ToJwk(*key, "k1")));
    EXPECT_FALSE(VerifyJwtSignature(*jwt, ToJwk(key->is_rsa() ? *ec : *rsa, "k1")));
    EXPECT_TRUE(ValidateClaims(jwt->claims, Rules(), Now()).has_value());
    EXPECT_EQ(jwt->claims.all["repository"], "acme/api");
    // A flipped payload byte breaks the signature.
    std::string tampered = token;
    tampered[tampered.find('.') + 5] ^= 1;
    auto t = ParseJwt(tampered);
    if (t.has_value()) {
      EXPECT_FALSE(VerifyJwtSignature(*t, ToJwk(*key, "k1")));
    }
  }
}

// alg "none" and HS256 are refused at parse time.
TEST(JwtTest, NoneAndHmacAlgorithmsAreRefused) {
  for (std::string alg : {"none", "HS256", "RS512"}) {
    std::string token = B64Url(nlohmann::json{{"alg", alg}}.dump()) + "." +
                        B64Url(GithubClaims().dump()) + ".";
    auto jwt = ParseJwt(token);
    ASSERT_FALSE(jwt.has_value());
    EXPECT_EQ(jwt.error().reason, Reason::kInvalidIdentityToken);
  }
}

// A header or payload with a key twice is refused: which "iss" or "alg" counts
// would depend on the reader (nlohmann keeps the last, others the first).
TEST(JwtTest, DuplicateKeysAreRefused) {
  std::string header = R"({"alg":"RS256","kid":"k1"})";
  std::string payload = GithubClaims().dump();
  std::string twice_iss = payload.substr(0, payload.size() - 1) +
                          R"(,"iss":"https://token.actions.githubusercontent.com/"})";
  std::string twice_alg = R"({"alg":"RS256","alg":"none","kid":"k1"})";
  for (auto [h, p] : {std::pair{header, twice_iss}, std::pair{twice_alg, payload}}) {
    auto jwt = ParseJwt(B64Url(h) + "." + B64Url(p) + ".c2ln");
    ASSERT_FALSE(jwt.has_value()) << h << p;
    EXPECT_EQ(jwt.error().reason, Reason::kInvalidIdentityToken);
  }
  EXPECT_TRUE(ParseJwt(B64Url(header) + "." + B64Url(payload) + ".c2ln").has_value());
}

// exp, aud, iss and nbf are enforced.
TEST(JwtTest, ClaimChecks) {
  auto parse = [](nlohmann::json claims) {
    auto key = crypto::SigningKey::GenerateEcP256();
    return ParseJwt(Mint(*key, {{"alg", "ES256"}}, claims))->claims;
  };
  auto claims = GithubClaims();
  claims["exp"] = kNow - 3600;
  auto r = ValidateClaims(parse(claims), Rules(), Now());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, Reason::kExpiredIdentityToken);
  claims = GithubClaims();
  claims["aud"] = "someone-else";
  r = ValidateClaims(parse(claims), Rules(), Now());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, Reason::kInvalidIdentityToken);
  claims = GithubClaims();
  claims["iss"] = "https://evil.example";
  EXPECT_FALSE(ValidateClaims(parse(claims), Rules(), Now()).has_value());
  claims = GithubClaims();
  claims["nbf"] = kNow + 3600;
  EXPECT_FALSE(ValidateClaims(parse(claims), Rules(), Now()).has_value());
  claims = GithubClaims();
  claims["exp"] = kNow - 30;  // within leeway
  EXPECT_TRUE(ValidateClaims(parse(claims), Rules(), Now()).has_value());
}

// JWKS parsing keeps RSA and P-256 keys and skips others.
TEST(JwtTest, ParseJwksKeepsSupportedKeys) {
  auto rsa = crypto::SigningKey::GenerateRsa(2048);
  auto pub = rsa->rsa_public();
  nlohmann::json jwks = {{"keys",
                          {{{"kty", "RSA"}, {"kid", "a"}, {"n", B64Url(pub.n)}, {"e", B64Url(pub.e)}},
                           {{"kty", "oct"}, {"kid", "b"}, {"k", "AAAA"}},
                           {{"kty", "EC"}, {"crv", "P-384"}, {"kid", "c"}, {"x", "AA"}, {"y", "AA"}}}}};
  auto keys = ParseJwks(jwks.dump());
  ASSERT_TRUE(keys.has_value());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].kid, "a");
  EXPECT_FALSE(ParseJwks("{}").has_value());
}

}  // namespace
}  // namespace coffer::auth
