#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "domain/iam/identity_store.h"
#include "keyring/keyring.h"
#include "sigv4/sigv4.h"
#include "util/encoding.h"
#include "storage/memory/memory_backend.h"
#include "util/id_generator.h"
#include "util/time.h"

namespace coffer::auth {
namespace {

namespace fs = std::filesystem;

const char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An HTTP request that owns its bytes; View() gives the SignedRequest over them.
struct OwnedRequest {
  std::string method = "POST";
  std::string path = "/";
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The service the front serves; "" = the service the signature's scope
  // names (so that tests of other checks pass the service check).
  std::string service;
  PayloadSigning payload = PayloadSigning::kSignedOnly;

  SignedRequest View() const {
    SignedRequest r;
    r.method = method;
    r.path = path;
    r.query = query;
    for (const auto& [n, v] : headers) r.headers.emplace_back(n, v);
    r.body = body;
    scope_service = service;
    if (scope_service.empty()) {
      for (const auto& [n, v] : headers) {
        if (n != "Authorization") continue;
        auto scope = Authenticator::PeekScope(v);
        scope_service = scope ? scope->service : "ssm";
      }
      if (scope_service.empty()) scope_service = "ssm";
    }
    r.service = scope_service;
    r.payload = payload;
    return r;
  }
  mutable std::string scope_service;
  std::string* Header(std::string_view name) {
    for (auto& [n, v] : headers) {
      if (n == name) return &v;
    }
    return nullptr;
  }
  void RemoveHeader(std::string_view name) {
    std::erase_if(headers, [name](const auto& h) { return h.first == name; });
  }
};

// Blocks of tests/data/aws-wire/awscli-2.9.19-capture.txt: "=== METHOD PATH",
// headers, two empty lines, Content-Length bytes of body, one empty line.
std::vector<OwnedRequest> LoadCapture() {
  std::string text =
      ReadFile(fs::path(COFFER_TESTDATA_DIR) / "aws-wire" / "awscli-2.9.19-capture.txt");
  std::vector<OwnedRequest> out;
  size_t pos = 0;
  while ((pos = text.find("=== ", pos)) != std::string::npos) {
    OwnedRequest r;
    size_t eol = text.find('\n', pos);
    std::string line = text.substr(pos + 4, eol - pos - 4);
    r.method = line.substr(0, line.find(' '));
    r.path = line.substr(line.find(' ') + 1);
    pos = eol + 1;
    size_t content_length = 0;
    while (true) {
      eol = text.find('\n', pos);
      std::string hl = text.substr(pos, eol - pos);
      pos = eol + 1;
      if (hl.empty()) break;
      size_t colon = hl.find(':');
      std::string name = hl.substr(0, colon);
      std::string value = hl.substr(colon + 2);
      if (name == "Content-Length") content_length = std::stoul(value);
      r.headers.emplace_back(std::move(name), std::move(value));
    }
    pos = text.find('\n', pos) + 1;  // the logger's separator line
    r.body = text.substr(pos, content_length);
    pos += content_length;
    out.push_back(std::move(r));
  }
  return out;
}

const std::vector<OwnedRequest>& Capture() {
  static const std::vector<OwnedRequest> kCapture = LoadCapture();
  return kCapture;
}

util::SystemTime AmzTime(std::string_view s) { return *util::ParseAmzDate(s); }

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kr = keyring::Keyring::Open(
        backend_, keyring::RootKey::FromMaterial(crypto::RandomSecret(32)), clock_);
    ASSERT_TRUE(kr.has_value()) << kr.error().message;
    keyring_ = std::move(*kr);
    identities_ = std::make_unique<domain::iam::IdentityStore>(backend_, *keyring_, clock_, ids_,
                                                               "000000000000");
    ASSERT_TRUE(identities_->CreateUser("admin", true).has_value());
    ASSERT_TRUE(identities_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes(kSecret)));
    authenticator_ = std::make_unique<Authenticator>(*identities_, clock_, "us-east-1");
  }

  Result<Authenticated> AuthenticateAt(const OwnedRequest& request, std::string_view now) {
    clock_.Set(AmzTime(now));
    return authenticator_->Authenticate(request.View());
  }

  // Signs `request` (adding X-Amz-Date and Authorization) with `secret`.
  void SignRequest(OwnedRequest& request, std::string_view amz_date, std::string_view service,
                   std::string_view secret = kSecret, std::string_view access_key = "AKIDEXAMPLE",
                   std::string_view region = "us-east-1") {
    SecretBytes s(secret);
    std::vector<sigv4::HeaderView> views;
    for (const auto& [n, v] : request.headers) views.emplace_back(n, v);
    sigv4::SigningParams params;
    params.access_key_id = access_key;
    params.secret_access_key = &s;
    params.region = region;
    params.service = service;
    params.time = AmzTime(amz_date);
    params.body = request.body;
    auto signed_request = sigv4::Sign(
        sigv4::RequestParts{request.method, request.path, request.query, views}, params);
    ASSERT_TRUE(signed_request.has_value());
    for (auto& [n, v] : signed_request->headers_to_add) request.headers.emplace_back(n, v);
  }

  static OwnedRequest JsonRequest(std::string target, std::string body) {
    OwnedRequest r;
    r.headers = {{"Host", "127.0.0.1:18777"},
                 {"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", std::move(target)}};
    r.body = std::move(body);
    return r;
  }

  static void ExpectError(const Result<Authenticated>& r, Reason reason) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
    EXPECT_EQ(r.error().reason, reason) << r.error().message;
    EXPECT_EQ(r.error().message.find(kSecret), std::string::npos);
  }

  storage::memory::MemoryBackend backend_;
  util::SimulatedClock clock_{AmzTime("20261128T091057Z")};
  util::SequentialIdGenerator ids_;
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<domain::iam::IdentityStore> identities_;
  std::unique_ptr<Authenticator> authenticator_;
};

// The capture holds the 35 requests the README describes.
TEST(AwsCliCaptureTest, CaptureHas35Requests) { EXPECT_EQ(Capture().size(), 35u); }

class AwsCliCaptureRequestTest : public AuthenticatorTest,
                                 public ::testing::WithParamInterface<int> {
 protected:
  const OwnedRequest& Request() const { return Capture().at(GetParam()); }
  std::string AmzDate() const {
    OwnedRequest copy = Request();
    return *copy.Header("X-Amz-Date");
  }
};

// Each awscli request verifies with the example key and the clock at its X-Amz-Date.
TEST_P(AwsCliCaptureRequestTest, VerifiesWithExampleKey) {
  auto r = AuthenticateAt(Request(), AmzDate());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->principal.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(r->principal.arn, "arn:aws:iam::000000000000:user/admin");
  EXPECT_EQ(r->principal.account_id, "000000000000");
  EXPECT_TRUE(r->principal.user_id.starts_with("AIDA"));
  EXPECT_TRUE(r->principal.is_admin);
  EXPECT_EQ(r->scope.date, "20261128");
  EXPECT_EQ(r->scope.region, "us-east-1");
  EXPECT_TRUE(r->scope.service == "ssm" || r->scope.service == "secretsmanager" ||
              r->scope.service == "kms");
}

// One flipped body byte is detected.
TEST_P(AwsCliCaptureRequestTest, FlippedBodyByteFailsWithSignatureMismatch) {
  OwnedRequest req = Request();
  ASSERT_FALSE(req.body.empty());
  for (size_t at : {size_t{0}, req.body.size() / 2, req.body.size() - 1}) {
    OwnedRequest changed = req;
    changed.body[at] ^= 0x01;
    auto r = AuthenticateAt(changed, AmzDate());
    ExpectError(r, Reason::kSignatureMismatch);
    EXPECT_EQ(r.error().message,
              "The request signature we calculated does not match the signature you provided. "
              "Check your AWS Secret Access Key and signing method. Consult the service "
              "documentation for details.");
  }
}

// One flipped byte in any signed header value is detected.
TEST_P(AwsCliCaptureRequestTest, FlippedSignedHeaderByteFailsWithSignatureMismatch) {
  for (std::string_view name : {"Content-Type", "Host", "X-Amz-Date", "X-Amz-Target"}) {
    SCOPED_TRACE(std::string(name));
    OwnedRequest changed = Request();
    std::string* value = changed.Header(name);
    ASSERT_NE(value, nullptr);
    // In X-Amz-Date flip the seconds' last digit so the date stays valid and in the window.
    size_t at = name == "X-Amz-Date" ? 14 : value->size() / 2;
    (*value)[at] ^= 0x01;
    ExpectError(AuthenticateAt(changed, AmzDate()), Reason::kSignatureMismatch);
  }
}

// One flipped byte of the signature is detected.
TEST_P(AwsCliCaptureRequestTest, FlippedSignatureByteFailsWithSignatureMismatch) {
  for (size_t from_end : {size_t{1}, size_t{64}}) {
    OwnedRequest changed = Request();
    std::string* auth = changed.Header("Authorization");
    ASSERT_NE(auth, nullptr);
    (*auth)[auth->size() - from_end] ^= 0x01;
    ExpectError(AuthenticateAt(changed, AmzDate()), Reason::kSignatureMismatch);
  }
}

INSTANTIATE_TEST_SUITE_P(AllRequests, AwsCliCaptureRequestTest, ::testing::Range(0, 35));

// Botocore separates components with ", "; plain "," verifies too.
TEST_F(AuthenticatorTest, AuthorizationWithoutSpacesAfterCommasVerifies) {
  OwnedRequest req = Capture().at(0);
  std::string* auth = req.Header("Authorization");
  for (size_t p; (p = auth->find(", ")) != std::string::npos;) auth->erase(p + 1, 1);
  auto r = AuthenticateAt(req, "20261128T091057Z");
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

// Exactly 15 minutes of skew either way is accepted.
TEST_F(AuthenticatorTest, SkewOfFifteenMinutesEitherWayIsAccepted) {
  const OwnedRequest& req = Capture().at(0);  // X-Amz-Date 20261128T091057Z
  EXPECT_TRUE(AuthenticateAt(req, "20261128T092557Z").has_value());
  EXPECT_TRUE(AuthenticateAt(req, "20261128T085557Z").has_value());
}

// A request older than 15 minutes is refused with AWS's message.
TEST_F(AuthenticatorTest, RequestOlderThanFifteenMinutesFailsWithSignatureExpired) {
  auto r = AuthenticateAt(Capture().at(0), "20261128T092558Z");
  ExpectError(r, Reason::kSignatureExpired);
  EXPECT_EQ(r.error().message,
            "Signature expired: 20261128T091057Z is now earlier than 20261128T091058Z "
            "(20261128T092558Z - 15 min.)");
}

// A request from more than 15 minutes in the future is refused with AWS's message.
TEST_F(AuthenticatorTest, RequestNewerThanFifteenMinutesFailsWithSignatureNotYetCurrent) {
  auto r = AuthenticateAt(Capture().at(0), "20261128T085556Z");
  ExpectError(r, Reason::kSignatureNotYetCurrent);
  EXPECT_EQ(r.error().message,
            "Signature not yet current: 20261128T091057Z is still later than 20261128T091056Z "
            "(20261128T085556Z + 15 min.)");
}

// The spec's example message, reproduced from a freshly signed request.
TEST_F(AuthenticatorTest, ExpiredMessageMatchesSpecExample) {
  OwnedRequest req = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  SignRequest(req, "20261128T090000Z", "ssm");
  auto r = AuthenticateAt(req, "20261128T093100Z");
  ExpectError(r, Reason::kSignatureExpired);
  EXPECT_EQ(r.error().message,
            "Signature expired: 20261128T090000Z is now earlier than 20261128T091600Z "
            "(20261128T093100Z - 15 min.)");
}

// A key id the store does not know is refused as unknown.
TEST_F(AuthenticatorTest, UnknownAccessKeyFailsWithUnknownAccessKey) {
  OwnedRequest req = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  SignRequest(req, "20261128T091057Z", "ssm", kSecret, "AKIAUNKNOWNKEY000000");
  auto r = AuthenticateAt(req, "20261128T091057Z");
  ExpectError(r, Reason::kUnknownAccessKey);
  EXPECT_EQ(r.error().message, "The security token included in the request is invalid.");
}

// No Authorization header at all.
TEST_F(AuthenticatorTest, MissingAuthorizationFailsWithMissingAuthenticationToken) {
  OwnedRequest req = Capture().at(0);
  req.RemoveHeader("Authorization");
  ExpectError(AuthenticateAt(req, "20261128T091057Z"), Reason::kMissingAuthenticationToken);
}

// Malformed Authorization headers are incomplete signatures.
TEST_F(AuthenticatorTest, MalformedAuthorizationFailsWithIncompleteSignature) {
  const std::string good = *OwnedRequest(Capture().at(0)).Header("Authorization");
  const std::string sig = good.substr(good.find("Signature="));
  const std::vector<std::string> bad = {
      "AWS4-HMAC-SHA1 Credential=AKIDEXAMPLE/20261128/us-east-1/ssm/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, " +
          sig,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ssm, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, " +
          sig,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ssm/aws4_request/x, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, " +
          sig,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ssm/aws5_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, " +
          sig,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ssm/aws4_request, " + sig,
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ssm/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target",
      "AWS4-HMAC-SHA256 SignedHeaders=content-type;host;x-amz-date;x-amz-target, " + sig,
      "AWS4-HMAC-SHA256",
      "garbage",
  };
  for (const std::string& value : bad) {
    SCOPED_TRACE(value);
    OwnedRequest req = Capture().at(0);
    *req.Header("Authorization") = value;
    ExpectError(AuthenticateAt(req, "20261128T091057Z"), Reason::kIncompleteSignature);
  }
}

// The credential scope's date must be X-Amz-Date's date.
TEST_F(AuthenticatorTest, ScopeDateMismatchFailsWithIncompleteSignature) {
  OwnedRequest req = Capture().at(0);
  std::string* auth = req.Header("Authorization");
  auth->replace(auth->find("/20261128/"), 10, "/20261127/");
  ExpectError(AuthenticateAt(req, "20261128T091057Z"), Reason::kIncompleteSignature);
}

// SignedHeaders must cover host, and x-amz-date when that header dates the request.
TEST_F(AuthenticatorTest, SignedHeadersWithoutHostOrDateFailsWithIncompleteSignature) {
  for (std::string_view drop : {"host;", "x-amz-date;"}) {
    OwnedRequest req = Capture().at(0);
    std::string* auth = req.Header("Authorization");
    auth->erase(auth->find(drop), drop.size());
    ExpectError(AuthenticateAt(req, "20261128T091057Z"), Reason::kIncompleteSignature);
  }
}

// A request without X-Amz-Date or Date cannot be dated.
TEST_F(AuthenticatorTest, MissingDateHeadersFailsWithIncompleteSignature) {
  OwnedRequest req = Capture().at(0);
  req.RemoveHeader("X-Amz-Date");
  ExpectError(AuthenticateAt(req, "20261128T091057Z"), Reason::kIncompleteSignature);
}

// A header named in SignedHeaders but absent from the request is refused.
TEST_F(AuthenticatorTest, SignedHeaderAbsentFromRequestFailsWithIncompleteSignature) {
  OwnedRequest req = Capture().at(0);
  req.RemoveHeader("X-Amz-Target");
  ExpectError(AuthenticateAt(req, "20261128T091057Z"), Reason::kIncompleteSignature);
}

// Spec §5.5 golden vector 1: ssm GetParameter.
TEST_F(AuthenticatorTest, GoldenSsmGetParameterVerifies) {
  OwnedRequest req = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/app/db/password"})");
  EXPECT_TRUE(crypto::Sha256Hex(req.body).starts_with("1c17ea5b"));
  req.headers.emplace_back("X-Amz-Date", "20261128T090727Z");
  req.headers.emplace_back(
      "Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ssm/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
      "Signature=d57b899e12ba58b64358091adc07203ebb6e042a1c92adb2bbbaff1a95a1a3ba");
  auto r = AuthenticateAt(req, "20261128T090727Z");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->scope.service, "ssm");
}

// Spec §5.5 golden vector 2: the signature is right, but a session token with a
// long-term key is refused.
TEST_F(AuthenticatorTest, GoldenSessionTokenWithLongTermKeyFailsWithInvalidSecurityToken) {
  OwnedRequest req = JsonRequest("secretsmanager.GetSecretValue", R"({"SecretId": "foo"})");
  req.headers.emplace_back("X-Amz-Date", "20261128T090728Z");
  req.headers.emplace_back("X-Amz-Security-Token", "FQoTOKEN");
  const std::string signature = "74d91ad505c286e0e286ce58217a78a5ec6050b765b44ce0d08de27a723008a8";
  // The vector itself is consistent: signing the same request yields its signature.
  {
    OwnedRequest copy = req;
    SignRequest(copy, "20261128T090728Z", "secretsmanager");
    EXPECT_TRUE(copy.Header("Authorization")->ends_with("Signature=" + signature));
    EXPECT_NE(copy.Header("Authorization")->find("x-amz-security-token;x-amz-target"),
              std::string::npos);
  }
  req.headers.emplace_back(
      "Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/secretsmanager/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
      "Signature=" +
          signature);
  ExpectError(AuthenticateAt(req, "20261128T090728Z"), Reason::kInvalidSecurityToken);
}

// Spec §5.5 golden vector 3: STS GetCallerIdentity (form body, no X-Amz-Target).
TEST_F(AuthenticatorTest, GoldenStsGetCallerIdentityVerifies) {
  OwnedRequest req;
  req.headers = {{"Host", "127.0.0.1:18777"},
                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                 {"X-Amz-Date", "20261128T090729Z"},
                 {"Authorization",
                  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/sts/aws4_request, "
                  "SignedHeaders=content-type;host;x-amz-date, "
                  "Signature=65c3627b1b4b10d7705184f736bb089d2f6d979ee0b5462c24bc87e70747155f"}};
  req.body = "Action=GetCallerIdentity&Version=2011-06-15";
  auto r = AuthenticateAt(req, "20261128T090729Z");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->scope.service, "sts");
}

// Attack (issue 9 item 1): a signed request replayed with another body. The
// client's X-Amz-Content-SHA256 named the hash of the body it signed; a body
// swapped after signing no longer matches it and is refused.
TEST_F(AuthenticatorTest, ContentSha256HeaderMustMatchTheBody) {
  OwnedRequest req = JsonRequest("AmazonSSM.PutParameter", R"({"Name": "/a", "Value": "x"})");
  req.headers.emplace_back("X-Amz-Content-SHA256", crypto::Sha256Hex(req.body));
  SignRequest(req, "20261128T091057Z", "ssm");
  ASSERT_TRUE(AuthenticateAt(req, "20261128T091057Z").has_value());
  req.body = R"({"Name": "/b", "Value": "x"})";
  auto r = AuthenticateAt(req, "20261128T091057Z");
  ExpectError(r, Reason::kSignatureMismatch);
  EXPECT_NE(r.error().message.find("x-amz-content-sha256"), std::string::npos);
}

// A presigned URL (S3): the query carries the signature over the S3 canonical
// URI (encoded once); it verifies until X-Amz-Date + X-Amz-Expires, then is
// refused as expired; an edited path or a non-S3 front refuses it.
TEST_F(AuthenticatorTest, PresignedUrlVerifiesUntilItExpires) {
  auto presign = [&](std::string_view path, std::string_view amz_date, std::string_view expires) {
    std::string scope = sigv4::CredentialScope(amz_date.substr(0, 8), "us-east-1", "s3");
    std::string query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F" +
                        util::UriEncode(scope) + "&X-Amz-Date=" + std::string(amz_date) +
                        "&X-Amz-Expires=" + std::string(expires) + "&X-Amz-SignedHeaders=host";
    std::vector<sigv4::HeaderView> views = {{"Host", "127.0.0.1:18777"}};
    std::string_view host = "host";
    std::string canonical;
    EXPECT_TRUE(sigv4::AppendCanonicalRequest(sigv4::RequestParts{"GET", path, query, views},
                                              std::span(&host, 1), "UNSIGNED-PAYLOAD",
                                              canonical, sigv4::UriStyle::kS3)
                    .has_value());
    SecretBytes key = sigv4::DeriveSigningKey(SecretBytes(kSecret), amz_date.substr(0, 8),
                                              "us-east-1", "s3");
    std::string signature =
        sigv4::SignatureHex(key, sigv4::StringToSign(amz_date, scope, canonical));
    return query + "&X-Amz-Signature=" + signature;
  };
  OwnedRequest req;
  req.method = "GET";
  req.path = "/bucket/a%20key";
  req.headers = {{"Host", "127.0.0.1:18777"}};
  req.service = "s3";
  req.payload = PayloadSigning::kAllowUnsigned;
  req.query = presign(req.path, "20261128T091057Z", "60");
  auto ok = AuthenticateAt(req, "20261128T091127Z");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_TRUE(ok->presigned);
  ExpectError(AuthenticateAt(req, "20261128T091158Z"), Reason::kSignatureExpired);
  OwnedRequest other = req;
  other.path = "/bucket/another";
  ExpectError(AuthenticateAt(other, "20261128T091127Z"), Reason::kSignatureMismatch);
  OwnedRequest json_front = req;
  json_front.payload = PayloadSigning::kSignedOnly;
  ExpectError(AuthenticateAt(json_front, "20261128T091127Z"),
              Reason::kMissingAuthenticationToken);
  req.query = presign(req.path, "20261128T091057Z", "604801");
  ExpectError(AuthenticateAt(req, "20261128T091127Z"), Reason::kIncompleteSignature);
}

// A signed streaming payload hands the front the material to verify the
// chunks: the signing key, the request's signature as the seed, date and scope.
TEST_F(AuthenticatorTest, StreamingPayloadYieldsChunkSigningMaterial) {
  OwnedRequest req;
  req.method = "PUT";
  req.path = "/bucket/key";
  req.headers = {{"Host", "127.0.0.1:18777"},
                 {"X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}};
  req.service = "s3";
  req.payload = PayloadSigning::kAllowUnsigned;
  SecretBytes secret(kSecret);
  std::vector<sigv4::HeaderView> views;
  for (const auto& [n, v] : req.headers) views.emplace_back(n, v);
  sigv4::SigningParams params;
  params.access_key_id = "AKIDEXAMPLE";
  params.secret_access_key = &secret;
  params.region = "us-east-1";
  params.service = "s3";
  params.time = AmzTime("20261128T091057Z");
  params.payload_hash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  auto signed_request =
      sigv4::Sign(sigv4::RequestParts{req.method, req.path, req.query, views}, params);
  ASSERT_TRUE(signed_request.has_value());
  for (auto& [n, v] : signed_request->headers_to_add) req.headers.emplace_back(n, v);
  auto r = AuthenticateAt(req, "20261128T091057Z");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_TRUE(r->chunk_signing.has_value());
  EXPECT_EQ(r->chunk_signing->seed_signature, signed_request->signature);
  EXPECT_EQ(r->chunk_signing->scope, "20261128/us-east-1/s3/aws4_request");
  EXPECT_TRUE(r->chunk_signing->signing_key.Equals(
      sigv4::DeriveSigningKey(secret, "20261128", "us-east-1", "s3")));
}

// UNSIGNED-PAYLOAD and the streaming forms are S3's: a JSON or query front
// (kSignedOnly) refuses them even when the signature over them is right.
TEST_F(AuthenticatorTest, UnsignedPayloadOnlyWhereTheFrontAllowsIt) {
  for (std::string literal :
       {"UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}) {
    SCOPED_TRACE(literal);
    OwnedRequest req = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
    req.headers.emplace_back("X-Amz-Content-SHA256", literal);
    // Sign over the literal, as a client would.
    SecretBytes secret(kSecret);
    std::vector<sigv4::HeaderView> views;
    for (const auto& [n, v] : req.headers) views.emplace_back(n, v);
    sigv4::SigningParams params;
    params.access_key_id = "AKIDEXAMPLE";
    params.secret_access_key = &secret;
    params.region = "us-east-1";
    params.service = "ssm";
    params.time = AmzTime("20261128T091057Z");
    params.payload_hash = literal;
    params.body = req.body;
    auto signed_request =
        sigv4::Sign(sigv4::RequestParts{req.method, req.path, req.query, views}, params);
    ASSERT_TRUE(signed_request.has_value());
    for (auto& [n, v] : signed_request->headers_to_add) req.headers.emplace_back(n, v);
    ExpectError(AuthenticateAt(req, "20261128T091057Z"), Reason::kSignatureMismatch);
    req.payload = PayloadSigning::kAllowUnsigned;
    auto allowed = AuthenticateAt(req, "20261128T091057Z");
    EXPECT_TRUE(allowed.has_value()) << allowed.error().message;
  }
}

// A front that allows unsigned payloads still checks a hash it was given.
TEST_F(AuthenticatorTest, AllowUnsignedFrontStillChecksAGivenHash) {
  OwnedRequest req = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  req.payload = PayloadSigning::kAllowUnsigned;
  req.headers.emplace_back("X-Amz-Content-SHA256", crypto::Sha256Hex(req.body));
  SignRequest(req, "20261128T091057Z", "ssm");
  ASSERT_TRUE(AuthenticateAt(req, "20261128T091057Z").has_value());
  req.body += " ";
  ExpectError(AuthenticateAt(req, "20261128T091057Z"), Reason::kSignatureMismatch);
}

// Attack (issue 9 item 4): a signature scoped to another region or service
// is refused before its signature is even computed.
TEST_F(AuthenticatorTest, ScopeMustNameThisRegionAndService) {
  OwnedRequest req = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  SignRequest(req, "20261128T091057Z", "ssm", kSecret, "AKIDEXAMPLE", "eu-west-1");
  auto r = AuthenticateAt(req, "20261128T091057Z");
  ExpectError(r, Reason::kSignatureMismatch);
  EXPECT_NE(r.error().message.find("valid region, not 'eu-west-1'"), std::string::npos);

  OwnedRequest other = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  SignRequest(other, "20261128T091057Z", "kms");
  other.service = "ssm";
  auto wrong_service = AuthenticateAt(other, "20261128T091057Z");
  ExpectError(wrong_service, Reason::kSignatureMismatch);
  EXPECT_NE(wrong_service.error().message.find("correct service: 'ssm'"), std::string::npos);
}

// The global services are signed for us-east-1 wherever the server runs; a
// regional service is not.
TEST_F(AuthenticatorTest, GlobalServicesAcceptUsEast1OnAnotherRegion) {
  Authenticator eu(*identities_, clock_, "eu-west-1");
  clock_.Set(AmzTime("20261128T091057Z"));
  OwnedRequest iam = JsonRequest("x", "Action=ListUsers&Version=2010-05-08");
  SignRequest(iam, "20261128T091057Z", "iam");
  auto r = eu.Authenticate(iam.View());
  EXPECT_TRUE(r.has_value()) << r.error().message;
  OwnedRequest ssm = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  SignRequest(ssm, "20261128T091057Z", "ssm");
  ExpectError(eu.Authenticate(ssm.View()), Reason::kSignatureMismatch);
  OwnedRequest ssm_eu = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  SignRequest(ssm_eu, "20261128T091057Z", "ssm", kSecret, "AKIDEXAMPLE", "eu-west-1");
  EXPECT_TRUE(eu.Authenticate(ssm_eu.View()).has_value());
}

// Attack (issue 9 item 5): a second Authorization header (or any other header
// that decides verification) is refused, not silently ignored.
TEST_F(AuthenticatorTest, RepeatedVerificationHeadersAreRefused) {
  for (std::string name : {"Authorization", "X-Amz-Date", "X-Amz-Security-Token",
                           "X-Amz-Content-Sha256", "Date"}) {
    SCOPED_TRACE(name);
    OwnedRequest req = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
    SignRequest(req, "20261128T091057Z", "ssm");
    ASSERT_TRUE(AuthenticateAt(req, "20261128T091057Z").has_value());
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(lower, "x");
    if (name != "Date") req.headers.emplace_back(name, "y");
    if (name == "Date") req.headers.emplace_back("Date", "Sat, 28 Nov 2026 09:10:57 GMT");
    auto r = AuthenticateAt(req, "20261128T091057Z");
    ExpectError(r, Reason::kIncompleteSignature);
    EXPECT_NE(r.error().message.find("more than one"), std::string::npos);
  }
}

// Attack (issue 9 item 3): requests with bad signatures, under a real access
// key, do not fill the signing-key cache; a verified one does.
TEST_F(AuthenticatorTest, OnlyVerifiedRequestsFillTheSigningKeyCache) {
  for (int i = 0; i < 50; ++i) {
    OwnedRequest req = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
    SignRequest(req, "20261128T091057Z", "ssm", "not-the-secret");
    ExpectError(AuthenticateAt(req, "20261128T091057Z"), Reason::kSignatureMismatch);
  }
  EXPECT_EQ(authenticator_->CachedSigningKeysForTest(), 0u);
  OwnedRequest good = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  SignRequest(good, "20261128T091057Z", "ssm");
  ASSERT_TRUE(AuthenticateAt(good, "20261128T091057Z").has_value());
  ASSERT_TRUE(AuthenticateAt(good, "20261128T091057Z").has_value());
  EXPECT_EQ(authenticator_->CachedSigningKeysForTest(), 1u);
}

// A request dated by the Date header (no X-Amz-Date) verifies.
TEST_F(AuthenticatorTest, DateHeaderInsteadOfAmzDateVerifies) {
  OwnedRequest req = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  req.headers.emplace_back("Date", "Sat, 28 Nov 2026 09:10:57 GMT");
  std::vector<sigv4::HeaderView> views;
  for (const auto& [n, v] : req.headers) views.emplace_back(n, v);
  std::vector<std::string_view> names = {"content-type", "date", "host", "x-amz-target"};
  auto creq = sigv4::CanonicalRequest(sigv4::RequestParts{"POST", "/", "", views}, names,
                                      crypto::Sha256Hex(req.body));
  ASSERT_TRUE(creq.has_value());
  std::string scope = sigv4::CredentialScope("20261128", "us-east-1", "ssm");
  std::string sts = sigv4::StringToSign("20261128T091057Z", scope, *creq);
  std::string sig = sigv4::SignatureHex(
      sigv4::DeriveSigningKey(SecretBytes(kSecret), "20261128", "us-east-1", "ssm"), sts);
  req.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/" + scope +
                                                ", SignedHeaders=content-type;date;host;"
                                                "x-amz-target, Signature=" +
                                                sig);
  auto r = AuthenticateAt(req, "20261128T091057Z");
  EXPECT_TRUE(r.has_value()) << r.error().message;
}

// A cached signing key is not reused once the access key's secret changes.
TEST_F(AuthenticatorTest, ChangedSecretInvalidatesCachedSigningKey) {
  OwnedRequest old_signed = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  SignRequest(old_signed, "20261128T091057Z", "ssm");
  ASSERT_TRUE(AuthenticateAt(old_signed, "20261128T091057Z").has_value());

  storage::Txn txn;
  txn.writes.push_back(storage::Write::Delete("iam/akid/AKIDEXAMPLE"));
  ASSERT_TRUE(backend_.Commit(txn).has_value());
  ASSERT_TRUE(identities_->ImportAccessKey("admin", "AKIDEXAMPLE", SecretBytes("rotated-secret")));

  ExpectError(AuthenticateAt(old_signed, "20261128T091057Z"), Reason::kSignatureMismatch);
  OwnedRequest new_signed = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
  SignRequest(new_signed, "20261128T091057Z", "ssm", "rotated-secret");
  EXPECT_TRUE(AuthenticateAt(new_signed, "20261128T091057Z").has_value());
}

// Temporary credentials: an STS session signs like any key while it lasts,
// with its token; without the token, with another token, or after it expires
// it is refused.
class SessionAuthenticatorTest : public AuthenticatorTest {
 protected:
  void SetUp() override {
    AuthenticatorTest::SetUp();
    domain::iam::NewRole role;
    role.name = "app";
    role.path = "/apps/";
    role.assume_role_policy =
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]})";
    ASSERT_TRUE(identities_->CreateRole(role).has_value());
    auto session = identities_->CreateSession("app", "build-42", std::chrono::seconds(900), {}, {});
    ASSERT_TRUE(session.has_value()) << session.error().message;
    session_ = std::move(*session);
  }

  OwnedRequest SessionRequest(std::string_view token) {
    OwnedRequest r = JsonRequest("AmazonSSM.GetParameter", R"({"Name": "/x"})");
    if (!token.empty()) r.headers.emplace_back("X-Amz-Security-Token", std::string(token));
    SignRequest(r, "20261128T091057Z", "ssm", session_.secret_access_key.Reveal(),
                session_.access_key_id);
    return r;
  }

  domain::iam::Session session_;
};

TEST_F(SessionAuthenticatorTest, SessionWithItsTokenVerifiesAsTheAssumedRole) {
  auto r = AuthenticateAt(SessionRequest(session_.session_token.Reveal()), "20261128T091057Z");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->principal.arn, "arn:aws:sts::000000000000:assumed-role/app/build-42");
  EXPECT_EQ(r->principal.role_name, "app");
  EXPECT_EQ(r->principal.role_arn, "arn:aws:iam::000000000000:role/apps/app");  // with its path
  EXPECT_EQ(r->principal.session_name, "build-42");
  EXPECT_TRUE(r->principal.user_name.empty());
  EXPECT_FALSE(r->principal.is_admin);
}

TEST_F(SessionAuthenticatorTest, SessionWithoutTokenFailsWithInvalidSecurityToken) {
  ExpectError(AuthenticateAt(SessionRequest(""), "20261128T091057Z"),
              Reason::kInvalidSecurityToken);
}

TEST_F(SessionAuthenticatorTest, SessionWithAnotherTokenFailsWithInvalidSecurityToken) {
  std::string token(session_.session_token.Reveal());
  token.back() = token.back() == 'A' ? 'B' : 'A';
  ExpectError(AuthenticateAt(SessionRequest(token), "20261128T091057Z"),
              Reason::kInvalidSecurityToken);
}

TEST_F(SessionAuthenticatorTest, ExpiredSessionFailsWithExpiredSecurityToken) {
  OwnedRequest r = SessionRequest(session_.session_token.Reveal());
  // 900 s later the session is over; the signature itself is still in its window.
  ExpectError(AuthenticateAt(r, "20261128T092557Z"), Reason::kExpiredSecurityToken);
}

// PeekScope reads region and service without verifying anything.
TEST_F(AuthenticatorTest, PeekScopeReturnsCredentialScope) {
  auto scope = Authenticator::PeekScope(*OwnedRequest(Capture().at(0)).Header("Authorization"));
  ASSERT_TRUE(scope.has_value());
  EXPECT_EQ(scope->date, "20261128");
  EXPECT_EQ(scope->region, "us-east-1");
  EXPECT_EQ(scope->service, "ssm");
  auto missing = Authenticator::PeekScope("");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().reason, Reason::kMissingAuthenticationToken);
  auto bad = Authenticator::PeekScope("AWS4-HMAC-SHA256 Credential=a/b");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().reason, Reason::kIncompleteSignature);
}

// Requests of the public SigV4 test suite (service "service") verify through
// the Authenticator; the ones carrying a session token are refused for a
// long-term key.
TEST_F(AuthenticatorTest, Sigv4TestSuiteRequestsVerify) {
  int verified = 0;
  for (const auto& entry :
       fs::recursive_directory_iterator(fs::path(COFFER_TESTDATA_DIR) / "sigv4")) {
    if (!entry.is_regular_file() || entry.path().extension() != ".req") continue;
    SCOPED_TRACE(entry.path().string());
    fs::path base = entry.path();
    base.replace_extension();
    std::string text = ReadFile(entry.path());
    std::string creq = ReadFile(base.string() + ".creq");
    OwnedRequest req;
    size_t eol = text.find('\n');
    std::string line = text.substr(0, eol);
    req.method = line.substr(0, line.find(' '));
    std::string uri = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
    req.path = uri.substr(0, uri.find('?'));
    if (uri.find('?') != std::string::npos) req.query = uri.substr(uri.find('?') + 1);
    size_t pos = eol + 1;
    while (pos < text.size()) {
      size_t end = std::min(text.find('\n', pos), text.size());
      std::string hl = text.substr(pos, end - pos);
      pos = end + 1;
      if (hl.empty()) {
        if (pos < text.size()) req.body = text.substr(pos);
        break;
      }
      if (hl[0] == ' ') {
        req.headers.back().second += "\n" + hl;
        continue;
      }
      req.headers.emplace_back(hl.substr(0, hl.find(':')), hl.substr(hl.find(':') + 1));
    }
    const std::string marker = "\nx-amz-security-token:";
    bool has_token = creq.find(marker) != std::string::npos;
    if (has_token && req.Header("X-Amz-Security-Token") == nullptr) {
      size_t t = creq.find(marker) + marker.size();
      req.headers.emplace_back("X-Amz-Security-Token", creq.substr(t, creq.find('\n', t) - t));
    }
    req.headers.emplace_back("Authorization", ReadFile(base.string() + ".authz"));
    auto r = AuthenticateAt(req, "20150830T123600Z");
    if (has_token) {
      ExpectError(r, Reason::kInvalidSecurityToken);
      continue;
    }
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->scope.service, "service");
    ++verified;
  }
  EXPECT_EQ(verified, 32);  // 34 cases minus the two that carry a session token
}

}  // namespace
}  // namespace coffer::auth
