// StsService behind QueryProtocol: GetCallerIdentity, AssumeRole against
// trust policies, and AssumeRoleWithWebIdentity with tokens minted here and
// verified against a static JWKS, over real auth, keyring and memory storage.
#include "api/awsquery/sts_service.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/awsquery/query_protocol.h"
#include "api/pipeline/pipeline.h"
#include "support/recording_audit_sink.h"
#include "auth/authorizer.h"
#include "auth/authenticator.h"
#include "auth/oidc.h"
#include "crypto/signature.h"
#include "domain/iam/identity_store.h"
#include "keyring/keyring.h"
#include "sigv4/sigv4.h"
#include "storage/memory/memory_backend.h"
#include "util/encoding.h"
#include "util/id_generator.h"
#include "util/metrics.h"
#include "util/time.h"

namespace coffer::api::awsquery {
namespace {

constexpr char kAccount[] = "000000000000";
constexpr char kAdminKey[] = "AKIDADMIN";
constexpr char kAliceKey[] = "AKIDALICE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kIssuer[] = "https://token.actions.githubusercontent.com";
constexpr char kProviderArn[] =
    "arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com";

using Params = std::vector<std::pair<std::string, std::string>>;

std::string Text(const std::string& xml, const std::string& name) {
  size_t open = xml.find("<" + name + ">");
  if (open == std::string::npos) return "";
  open += name.size() + 2;
  size_t close = xml.find("</" + name + ">", open);
  return close == std::string::npos ? "" : xml.substr(open, close - open);
}

std::string B64Url(std::string_view bytes) {
  std::string s = util::Base64Encode(bytes);
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

class StsServiceTest : public ::testing::Test {
 protected:
  StsServiceTest() : clock_(*util::ParseAmzDate("20261128T090727Z")) {}

  void SetUp() override {
    auto kr = keyring::Keyring::Open(
        backend_, keyring::RootKey::FromMaterial(SecretBytes(std::string(32, '\x07'))), clock_);
    ASSERT_TRUE(kr.has_value());
    keyring_ = std::move(*kr);
    identities_ =
        std::make_unique<domain::iam::IdentityStore>(backend_, *keyring_, clock_, ids_, kAccount);
    ASSERT_TRUE(identities_->CreateUser("admin", true).has_value());
    ASSERT_TRUE(identities_->ImportAccessKey("admin", kAdminKey, SecretBytes(kSecret)));
    ASSERT_TRUE(identities_->CreateUser("alice", false).has_value());
    ASSERT_TRUE(identities_->ImportAccessKey("alice", kAliceKey, SecretBytes(kSecret)));
    ASSERT_TRUE(identities_->CreateOidcProvider(kIssuer, {"sts.amazonaws.com"}, {}, {}));

    auto key = crypto::SigningKey::GenerateEcP256();
    ASSERT_TRUE(key.has_value());
    key_ = std::make_unique<crypto::SigningKey>(std::move(*key));
    auto pub = key_->ec_public();
    nlohmann::json jwks = {{"keys",
                            {{{"kty", "EC"},
                              {"crv", "P-256"},
                              {"kid", "k1"},
                              {"alg", "ES256"},
                              {"use", "sig"},
                              {"x", B64Url(pub.x)},
                              {"y", B64Url(pub.y)}}}}};
    oidc_ = std::make_unique<auth::OidcVerifier>(no_network_, clock_);
    ASSERT_TRUE(oidc_->SetStaticJwks(kIssuer, jwks.dump()));

    authenticator_ = std::make_unique<auth::Authenticator>(*identities_, clock_, "us-east-1");
    protocol_ = std::make_unique<QueryProtocol>();
    authorizer_ = std::make_unique<auth::Authorizer>(
        auth::Authorizer::IamPolicies(*identities_, policy_cache_), clock_);
    pipeline_ = std::make_unique<pipeline::Pipeline>(*authenticator_, *authorizer_, sink_,
                                                     metrics_, clock_);
    protocol_->AddService(std::make_unique<StsService>(*identities_, *oidc_, clock_));
  }

  void MakeRole(const std::string& name, const std::string& trust, int max_session = 3600) {
    domain::iam::NewRole role;
    role.name = name;
    role.assume_role_policy = trust;
    role.max_session_duration = max_session;
    ASSERT_TRUE(identities_->CreateRole(role).has_value());
  }

  std::string Mint(nlohmann::json claims, const std::string& kid = "k1") {
    std::string input = B64Url(nlohmann::json{{"alg", "ES256"}, {"kid", kid}, {"typ", "JWT"}}.dump()) +
                        "." + B64Url(claims.dump());
    auto sig = key_->Sign(input);
    EXPECT_TRUE(sig.has_value());
    return input + "." + B64Url(*sig);
  }

  nlohmann::json GithubClaims() {
    int64_t now = util::ToUnixMillis(clock_.Now()) / 1000;
    return {{"iss", kIssuer},
            {"aud", "sts.amazonaws.com"},
            {"sub", "repo:acme/api:ref:refs/heads/main"},
            {"repository", "acme/api"},
            {"ref", "refs/heads/main"},
            {"exp", now + 300},
            {"nbf", now - 5},
            {"iat", now - 5}};
  }

  HttpResponse Call(const std::string& action, const Params& params, const std::string& akid,
                    const std::string& secret = kSecret, const std::string& token = "") {
    HttpRequest r;
    r.method = "POST";
    r.path = "/";
    r.headers = {{"Host", "127.0.0.1:18777"},
                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    if (!token.empty()) r.headers.emplace_back("X-Amz-Security-Token", token);
    r.body = "Action=" + action + "&Version=2011-06-15";
    for (const auto& [k, v] : params) r.body += "&" + k + "=" + util::UriEncode(v);
    r.request_id = "req-1";
    r.remote_ip = "127.0.0.1";
    if (!akid.empty()) {
      SecretBytes secret_bytes(secret);
      std::vector<sigv4::HeaderView> views;
      for (const auto& [n, v] : r.headers) views.emplace_back(n, v);
      sigv4::SigningParams sp;
      sp.access_key_id = akid;
      sp.secret_access_key = &secret_bytes;
      sp.region = "us-east-1";
      sp.service = "sts";
      sp.time = clock_.Now();
      sp.body = r.body;
      auto s = sigv4::Sign(sigv4::RequestParts{r.method, r.path, r.query, views}, sp);
      EXPECT_TRUE(s.has_value());
      for (auto& [n, v] : s->headers_to_add) r.headers.emplace_back(n, v);
    }
    return pipeline_->Handle(*protocol_, r);
  }

  HttpResponse WebIdentity(const std::string& role, const std::string& token,
                           Params extra = {}) {
    Params p = {{"RoleArn", "arn:aws:iam::000000000000:role/" + role},
                {"RoleSessionName", "ci-run-1"},
                {"WebIdentityToken", token}};
    for (auto& e : extra) p.push_back(std::move(e));
    return Call("AssumeRoleWithWebIdentity", p, "");
  }

  static void ExpectError(const HttpResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(Text(r.body, "Code"), code) << r.body;
    EXPECT_NE(r.body.find("https://sts.amazonaws.com/doc/2011-06-15/"), std::string::npos);
  }

  // Refuses every fetch: the static JWKS must be enough.
  struct NoNetwork final : auth::HttpFetcher {
    Result<std::string> Fetch(const std::string& url) override {
      return Fail(ErrorCode::kUnavailable, "no network in this test: " + url);
    }
  };

  storage::memory::MemoryBackend backend_;
  util::SimulatedClock clock_;
  util::SequentialIdGenerator ids_;
  util::Metrics metrics_;
  NoNetwork no_network_;
  std::unique_ptr<crypto::SigningKey> key_;
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<domain::iam::IdentityStore> identities_;
  std::unique_ptr<auth::OidcVerifier> oidc_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<QueryProtocol> protocol_;
  coffer::testing::RecordingAuditSink sink_;
  auth::PolicyCache policy_cache_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  // Gives alice an identity policy allowing sts:AssumeRole on every role.
  void AllowAliceToAssumeRoles() {
    ASSERT_TRUE(identities_->PutInlinePolicy(
        domain::iam::EntityKind::kUser, "alice", "assume",
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",)"
        R"("Resource":"*"}]})"));
  }
};

const char kGithubTrust[] = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
  "Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com"},
  "Action":"sts:AssumeRoleWithWebIdentity",
  "Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},
               "StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/api:ref:refs/heads/*"}}}]})";

TEST_F(StsServiceTest, GetCallerIdentityNamesTheUser) {
  HttpResponse r = Call("GetCallerIdentity", {}, kAliceKey);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Text(r.body, "Arn"), "arn:aws:iam::000000000000:user/alice");
  EXPECT_EQ(Text(r.body, "Account"), kAccount);
  EXPECT_TRUE(Text(r.body, "UserId").starts_with("AIDA"));
}

TEST_F(StsServiceTest, AssumeRoleTrustingTheUserIssuesWorkingCredentials) {
  MakeRole("app", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
    "Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},"Action":"sts:AssumeRole"}]})");
  HttpResponse r = Call("AssumeRole",
                        {{"RoleArn", "arn:aws:iam::000000000000:role/app"},
                         {"RoleSessionName", "deploy"},
                         {"DurationSeconds", "900"}},
                        kAliceKey);
  ASSERT_EQ(r.status, 200) << r.body;
  std::string akid = Text(r.body, "AccessKeyId");
  std::string secret = Text(r.body, "SecretAccessKey");
  std::string token = Text(r.body, "SessionToken");
  EXPECT_TRUE(akid.starts_with("ASIA"));
  EXPECT_EQ(secret.size(), 40u);
  EXPECT_EQ(Text(r.body, "Expiration"), "2026-11-28T09:22:27Z");
  EXPECT_EQ(Text(r.body, "Arn"), "arn:aws:sts::000000000000:assumed-role/app/deploy");

  // The credentials sign requests as the assumed role, with their token only.
  HttpResponse who = Call("GetCallerIdentity", {}, akid, secret, token);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(Text(who.body, "Arn"), "arn:aws:sts::000000000000:assumed-role/app/deploy");
  EXPECT_TRUE(Text(who.body, "UserId").ends_with(":deploy"));
  ExpectError(Call("GetCallerIdentity", {}, akid, secret), 403, "InvalidClientTokenId");
  clock_.Advance(std::chrono::seconds(901));
  ExpectError(Call("GetCallerIdentity", {}, akid, secret, token), 403, "ExpiredToken");
}

TEST_F(StsServiceTest, AssumeRoleTrustingTheAccountNeedsAnIdentityPolicyToo) {
  MakeRole("app", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
    "Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]})");
  Params p = {{"RoleArn", "arn:aws:iam::000000000000:role/app"}, {"RoleSessionName", "s1"}};
  ExpectError(Call("AssumeRole", p, kAliceKey), 403, "AccessDenied");
  AllowAliceToAssumeRoles();
  EXPECT_EQ(Call("AssumeRole", p, kAliceKey).status, 200);
}

TEST_F(StsServiceTest, AssumeRoleRefusesUntrustedMissingAndDeniedRoles) {
  MakeRole("other", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
    "Principal":{"AWS":"arn:aws:iam::000000000000:user/bob"},"Action":"sts:AssumeRole"}]})");
  MakeRole("denied", R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"},
    {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},"Action":"sts:AssumeRole"}]})");
  AllowAliceToAssumeRoles();
  for (const char* role : {"other", "missing", "denied"}) {
    HttpResponse r = Call("AssumeRole",
                          {{"RoleArn", std::string("arn:aws:iam::000000000000:role/") + role},
                           {"RoleSessionName", "s1"}},
                          kAliceKey);
    ExpectError(r, 403, "AccessDenied");
    EXPECT_NE(Text(r.body, "Message").find("user/alice is not authorized to perform: sts:AssumeRole"),
              std::string::npos);
  }
}

TEST_F(StsServiceTest, AssumeRoleValidatesDurationSessionNameAndSessionPolicies) {
  MakeRole("app", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
    "Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]})");
  auto call = [&](Params extra) {
    Params p = {{"RoleArn", "arn:aws:iam::000000000000:role/app"}};
    for (auto& e : extra) p.push_back(e);
    return Call("AssumeRole", p, kAliceKey);
  };
  ExpectError(call({{"RoleSessionName", "s1"}, {"DurationSeconds", "899"}}), 400, "ValidationError");
  ExpectError(call({{"RoleSessionName", "s1"}, {"DurationSeconds", "43201"}}), 400,
              "ValidationError");
  HttpResponse over = call({{"RoleSessionName", "s1"}, {"DurationSeconds", "7200"}});
  ExpectError(over, 400, "ValidationError");
  EXPECT_NE(over.body.find("MaxSessionDuration"), std::string::npos);
  ExpectError(call({{"RoleSessionName", "a b"}}), 400, "ValidationError");
  ExpectError(call({}), 400, "ValidationError");
  ExpectError(call({{"RoleSessionName", "s1"}, {"Policy", "{}"}}), 400, "ValidationError");
}

TEST_F(StsServiceTest, AssumeRoleIsRefusedUnsigned) {
  ExpectError(Call("AssumeRole",
                   {{"RoleArn", "arn:aws:iam::000000000000:role/app"}, {"RoleSessionName", "s"}},
                   ""),
              403, "MissingAuthenticationToken");
}

TEST_F(StsServiceTest, WebIdentityMatchingTheTrustPolicyGetsCredentialsWithClaims) {
  MakeRole("ci", kGithubTrust);
  HttpResponse r = WebIdentity("ci", Mint(GithubClaims()), {{"DurationSeconds", "1800"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Text(r.body, "SubjectFromWebIdentityToken"), "repo:acme/api:ref:refs/heads/main");
  EXPECT_EQ(Text(r.body, "Audience"), "sts.amazonaws.com");
  EXPECT_EQ(Text(r.body, "Provider"), kIssuer);
  EXPECT_EQ(Text(r.body, "Expiration"), "2026-11-28T09:37:27Z");
  auto session = identities_->LookupAccessKey(Text(r.body, "AccessKeyId"));
  ASSERT_TRUE(session.has_value());
  ASSERT_TRUE(session->is_session);
  EXPECT_EQ(session->session.source_subject, "repo:acme/api:ref:refs/heads/main");
  EXPECT_EQ(session->session.condition_keys.at("token.actions.githubusercontent.com:repository"),
            std::vector<std::string>{"acme/api"});
}

TEST_F(StsServiceTest, WebIdentityRefusals) {
  MakeRole("ci", kGithubTrust);
  auto claims = GithubClaims();

  auto other_sub = claims;
  other_sub["sub"] = "repo:evil/api:ref:refs/heads/main";
  ExpectError(WebIdentity("ci", Mint(other_sub)), 403, "AccessDenied");

  auto wrong_aud = claims;
  wrong_aud["aud"] = "someone-else";
  ExpectError(WebIdentity("ci", Mint(wrong_aud)), 400, "InvalidIdentityToken");

  auto wrong_iss = claims;
  wrong_iss["iss"] = "https://issuer.example";
  ExpectError(WebIdentity("ci", Mint(wrong_iss)), 400, "InvalidIdentityToken");

  auto expired = claims;
  expired["exp"] = util::ToUnixMillis(clock_.Now()) / 1000 - 3600;
  ExpectError(WebIdentity("ci", Mint(expired)), 400, "ExpiredTokenException");

  ExpectError(WebIdentity("ci", Mint(claims, "unknown-kid")), 400, "InvalidIdentityToken");

  std::string good = Mint(claims);
  std::string bad_sig = good;
  bad_sig[bad_sig.rfind('.') + 3] = bad_sig[bad_sig.rfind('.') + 3] == 'A' ? 'B' : 'A';
  ExpectError(WebIdentity("ci", bad_sig), 400, "InvalidIdentityToken");

  std::string none = B64Url(R"({"alg":"none","typ":"JWT"})") + "." + B64Url(claims.dump()) + ".";
  ExpectError(WebIdentity("ci", none), 400, "InvalidIdentityToken");

  ExpectError(WebIdentity("missing", good), 403, "AccessDenied");
  HttpResponse too_long = WebIdentity("ci", good, {{"DurationSeconds", "7200"}});
  ExpectError(too_long, 400, "ValidationError");
  // Nothing of the token is echoed back.
  EXPECT_EQ(too_long.body.find(good.substr(0, 30)), std::string::npos);
}

// The token's iss must be "https://" + the registered URL exactly, as AWS
// compares it: another spelling of the registered issuer is refused as an
// unknown issuer, without fetching keys for it (a fetch here would fail with
// IDPCommunicationError, as this test has no network).
TEST_F(StsServiceTest, WebIdentityWithAnotherSpellingOfTheIssuerIsRefusedWithoutFetch) {
  MakeRole("ci", kGithubTrust);
  for (std::string iss : {std::string(kIssuer) + "/", std::string(kIssuer) + "//",
                          std::string("HTTPS://token.actions.githubusercontent.com")}) {
    auto claims = GithubClaims();
    claims["iss"] = iss;
    ExpectError(WebIdentity("ci", Mint(claims)), 400, "InvalidIdentityToken");
  }
}

TEST_F(StsServiceTest, UnknownActionIsInvalidAction) {
  ExpectError(Call("GetSessionToken", {}, kAliceKey), 400, "InvalidAction");
}

}  // namespace
}  // namespace coffer::api::awsquery
