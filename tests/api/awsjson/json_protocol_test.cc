// End-to-end tests of the AWS JSON 1.1 front with the SSM service: signed
// HttpRequests in, HttpResponses out, over real auth, keyring and storage.
#include "api/awsjson/json_protocol.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/awsjson/ssm_service.h"
#include "api/pipeline/pipeline.h"
#include "auth/authorizer.h"
#include "audit/audit.h"
#include "support/recording_audit_sink.h"
#include "auth/authenticator.h"
#include "domain/iam/identity_store.h"
#include "domain/kms/key_directory.h"
#include "domain/parameters/parameter_store.h"
#include "keyring/keyring.h"
#include "sigv4/sigv4.h"
#include "storage/memory/memory_backend.h"
#include "util/id_generator.h"
#include "util/metrics.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

using nlohmann::json;

constexpr char kAccessKey[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kCanary[] = "canary-9f3b-secret-value";

struct CallOptions {
  std::string target_prefix = "AmazonSSM";
  std::string service = "ssm";
  std::string access_key = kAccessKey;
  std::string secret = kSecret;
  bool sign = true;
  bool tamper_body = false;
};

class JsonProtocolTest : public ::testing::Test {
 protected:
  JsonProtocolTest() : clock_(*util::ParseAmzDate("20261128T090727Z")) {}

  void SetUp() override {
    auto kr = keyring::Keyring::Open(
        backend_, keyring::RootKey::FromMaterial(SecretBytes(std::string(32, '\x07'))), clock_);
    ASSERT_TRUE(kr.has_value());
    keyring_ = std::move(*kr);
    identities_ = std::make_unique<domain::iam::IdentityStore>(backend_, *keyring_, clock_, ids_,
                                                               "000000000000");
    auto user = identities_->CreateUser("admin", true);
    ASSERT_TRUE(user.has_value());
    admin_arn_ = user->arn;
    ASSERT_TRUE(identities_->ImportAccessKey("admin", kAccessKey, SecretBytes(kSecret)));
    authenticator_ = std::make_unique<auth::Authenticator>(*identities_, clock_, "us-east-1");
    keys_ = std::make_unique<domain::kms::KeyDirectory>(backend_, *keyring_, clock_, ids_,
                                                        "us-east-1", "000000000000");
    store_ = std::make_unique<domain::parameters::ParameterStore>(
        backend_, *keyring_, *keys_, clock_, "us-east-1", "000000000000");
    protocol_ = std::make_unique<JsonProtocol>();
    authorizer_ = std::make_unique<auth::Authorizer>(
        auth::Authorizer::IamPolicies(*identities_, policy_cache_), clock_);
    pipeline_ = std::make_unique<pipeline::Pipeline>(*authenticator_, *authorizer_, sink_,
                                                     metrics_, clock_);
    protocol_->AddService(std::make_unique<SsmService>(*store_));
  }

  HttpResponse Raw(const std::string& op, const std::string& body, CallOptions opts = {}) {
    HttpRequest r;
    r.method = "POST";
    r.path = "/";
    r.headers = {{"Host", "127.0.0.1:18777"},
                 {"X-Amz-Target", opts.target_prefix + "." + op},
                 {"Content-Type", "application/x-amz-json-1.1"}};
    r.body = body;
    r.request_id = "req-" + std::to_string(++request_counter_);
    r.remote_ip = "127.0.0.1";
    if (opts.sign) {
      SecretBytes secret(opts.secret);
      std::vector<sigv4::HeaderView> views;
      for (const auto& [n, v] : r.headers) views.emplace_back(n, v);
      sigv4::SigningParams params;
      params.access_key_id = opts.access_key;
      params.secret_access_key = &secret;
      params.region = "us-east-1";
      params.service = opts.service;
      params.time = clock_.Now();
      params.body = r.body;
      auto signed_request =
          sigv4::Sign(sigv4::RequestParts{r.method, r.path, r.query, views}, params);
      EXPECT_TRUE(signed_request.has_value());
      if (signed_request) {
        for (auto& [n, v] : signed_request->headers_to_add) r.headers.emplace_back(n, v);
      }
    }
    if (opts.tamper_body) r.body += " ";
    return pipeline_->Handle(*protocol_, r);
  }

  // Calls `op` with `body`, returning the parsed response body.
  json Call(const std::string& op, const json& body, int expected_status = 200) {
    HttpResponse resp = Raw(op, body.dump());
    EXPECT_EQ(resp.status, expected_status) << op << ": " << resp.body;
    json parsed = json::parse(resp.body, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << resp.body;
    return parsed;
  }

  static std::string HeaderOf(const HttpResponse& resp, std::string_view name) {
    for (const auto& [n, v] : resp.headers) {
      if (n == name) return v;
    }
    return "";
  }

  void ExpectError(const HttpResponse& resp, int status, std::string_view code) {
    EXPECT_EQ(resp.status, status) << resp.body;
    json body = json::parse(resp.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << resp.body;
    EXPECT_EQ(body.value("__type", ""), code) << resp.body;
    EXPECT_TRUE(body.contains("message") || body.contains("Message")) << resp.body;
    EXPECT_EQ(HeaderOf(resp, "x-amzn-ErrorType"), code);
    EXPECT_FALSE(HeaderOf(resp, "x-amzn-RequestId").empty());
  }

  storage::memory::MemoryBackend backend_;
  util::SimulatedClock clock_;
  util::SequentialIdGenerator ids_;
  util::Metrics metrics_;
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<domain::iam::IdentityStore> identities_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<domain::kms::KeyDirectory> keys_;
  std::unique_ptr<domain::parameters::ParameterStore> store_;
  std::unique_ptr<JsonProtocol> protocol_;
  coffer::testing::RecordingAuditSink sink_;
  auth::PolicyCache policy_cache_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::string admin_arn_;
  int request_counter_ = 0;
};

// A body that holds a key twice is ambiguous (nlohmann kept the last one, a
// proxy may read the first): refused with SerializationException, nothing runs.
TEST_F(JsonProtocolTest, DuplicateKeysInTheBodyAreRefused) {
  Call("PutParameter", {{"Name", "/a"}, {"Value", "x"}, {"Type", "String"}});
  HttpResponse r = Raw("DeleteParameter", R"({"Name": "/b", "Name": "/a"})");
  ExpectError(r, 400, "SerializationException");
  EXPECT_NE(r.body.find("'Name' more than once"), std::string::npos) << r.body;
  HttpResponse nested =
      Raw("PutParameter", R"({"Name": "/c", "Value": "v", "Tags": [{"Key": "k", "Key": "j"}]})");
  ExpectError(nested, 400, "SerializationException");
  Call("GetParameter", {{"Name", "/a"}});  // still there
  Call("GetParameter", {{"Name", "/c"}}, 400);
}

// Matches() keys on X-Amz-Target.
TEST_F(JsonProtocolTest, MatchesOnlyRequestsWithTarget) {
  HttpRequest r;
  EXPECT_FALSE(protocol_->Matches(r));
  r.headers.emplace_back("x-amz-target", "AmazonSSM.GetParameter");
  EXPECT_TRUE(protocol_->Matches(r));
}

// PutParameter then GetParameter: AWS's success shapes and headers.
TEST_F(JsonProtocolTest, PutAndGetParameterReturnAwsShapes) {
  HttpResponse put = Raw("PutParameter",
                         R"({"Name": "/app/db/pw", "Value": "s3cr3t", "Type": "SecureString"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(HeaderOf(put, "Content-Type"), "application/x-amz-json-1.1");
  EXPECT_EQ(HeaderOf(put, "x-amzn-RequestId"), "req-1");
  EXPECT_EQ(json::parse(put.body), (json{{"Version", 1}, {"Tier", "Standard"}}));

  json got = Call("GetParameter", {{"Name", "/app/db/pw"}, {"WithDecryption", true}});
  const json& p = got["Parameter"];
  EXPECT_EQ(p["Name"], "/app/db/pw");
  EXPECT_EQ(p["Type"], "SecureString");
  EXPECT_TRUE(p["Value"] == "s3cr3t");
  EXPECT_EQ(p["Version"], 1);
  EXPECT_TRUE(p["LastModifiedDate"].is_number());
  EXPECT_DOUBLE_EQ(p["LastModifiedDate"].get<double>(), util::ToEpochSeconds(clock_.Now()));
  EXPECT_EQ(p["ARN"], "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/pw");
  EXPECT_EQ(p["DataType"], "text");
  EXPECT_FALSE(p.contains("Selector"));

  json hidden = Call("GetParameter", {{"Name", "/app/db/pw"}});
  EXPECT_FALSE(hidden["Parameter"]["Value"] == "s3cr3t");

  json sel = Call("GetParameter", {{"Name", "/app/db/pw:1"}, {"WithDecryption", true}});
  EXPECT_EQ(sel["Parameter"]["Selector"], ":1");
}

// Errors: ParameterNotFound / ParameterAlreadyExists in AWS's body and headers.
TEST_F(JsonProtocolTest, DomainErrorsRenderAwsErrorShapes) {
  HttpResponse missing = Raw("GetParameter", R"({"Name": "/nope"})");
  ExpectError(missing, 400, "ParameterNotFound");
  EXPECT_TRUE(json::parse(missing.body).contains("message"));

  ASSERT_EQ(Raw("PutParameter", R"({"Name": "/a", "Value": "v", "Type": "String"})").status, 200);
  ExpectError(Raw("PutParameter", R"({"Name": "/a", "Value": "v", "Type": "String"})"), 400,
              "ParameterAlreadyExists");
  ExpectError(Raw("GetParameter", R"({"Name": "/a:9"})"), 400, "ParameterVersionNotFound");
  // Creating without a Type.
  ExpectError(Raw("PutParameter", R"({"Name": "/new", "Value": "v"})"), 400,
              "ValidationException");
}

// InvalidNextToken uses the capitalised "Message" member, as SSM does.
TEST_F(JsonProtocolTest, InvalidNextTokenUsesCapitalMessage) {
  HttpResponse resp = Raw("DescribeParameters", R"({"NextToken": "garbage!"})");
  ExpectError(resp, 400, "InvalidNextToken");
  json body = json::parse(resp.body);
  EXPECT_TRUE(body.contains("Message"));
  EXPECT_FALSE(body.contains("message"));
}

// An unknown target prefix and an unknown SSM operation are UnknownOperationException.
TEST_F(JsonProtocolTest, UnknownTargetOrOperationIsUnknownOperationException) {
  CallOptions other;
  other.target_prefix = "AmazonNope";
  ExpectError(Raw("GetParameter", "{}", other), 400, "UnknownOperationException");
  ExpectError(Raw("DoSomethingElse", "{}"), 400, "UnknownOperationException");
}

// Authentication failures map to the JSON auth errors of spec 1.4.
TEST_F(JsonProtocolTest, AuthenticationFailuresMapToAwsCodes) {
  CallOptions unsigned_call;
  unsigned_call.sign = false;
  ExpectError(Raw("GetParameter", R"({"Name": "/a"})", unsigned_call), 403,
              "MissingAuthenticationTokenException");

  CallOptions wrong_secret;
  wrong_secret.secret = "not-the-secret";
  ExpectError(Raw("GetParameter", R"({"Name": "/a"})", wrong_secret), 400,
              "InvalidSignatureException");

  CallOptions tampered;
  tampered.tamper_body = true;
  ExpectError(Raw("GetParameter", R"({"Name": "/a"})", tampered), 400,
              "InvalidSignatureException");

  CallOptions unknown_key;
  unknown_key.access_key = "AKIDUNKNOWN";
  ExpectError(Raw("GetParameter", R"({"Name": "/a"})", unknown_key), 400,
              "UnrecognizedClientException");

  CallOptions wrong_service;
  wrong_service.service = "kms";
  ExpectError(Raw("GetParameter", R"({"Name": "/a"})", wrong_service), 400,
              "InvalidSignatureException");
}

// A request signed 20 minutes ago is expired: InvalidSignatureException.
TEST_F(JsonProtocolTest, ExpiredSignatureIsInvalidSignatureException) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Host", "127.0.0.1:18777"},
               {"X-Amz-Target", "AmazonSSM.GetParameter"},
               {"Content-Type", "application/x-amz-json-1.1"}};
  r.body = R"({"Name": "/a"})";
  r.request_id = "req-old";
  SecretBytes secret(kSecret);
  std::vector<sigv4::HeaderView> views;
  for (const auto& [n, v] : r.headers) views.emplace_back(n, v);
  sigv4::SigningParams params;
  params.access_key_id = kAccessKey;
  params.secret_access_key = &secret;
  params.region = "us-east-1";
  params.service = "ssm";
  params.time = clock_.Now();
  params.body = r.body;
  auto s = sigv4::Sign(sigv4::RequestParts{r.method, r.path, r.query, views}, params);
  ASSERT_TRUE(s.has_value());
  for (auto& [n, v] : s->headers_to_add) r.headers.emplace_back(n, v);
  clock_.Advance(std::chrono::minutes(20));
  HttpResponse resp = pipeline_->Handle(*protocol_, r);
  ExpectError(resp, 400, "InvalidSignatureException");
  EXPECT_NE(json::parse(resp.body)["message"].get<std::string>().find("Signature expired"),
            std::string::npos);
}

// Malformed JSON and a non-object body are SerializationException.
TEST_F(JsonProtocolTest, MalformedBodyIsSerializationException) {
  ExpectError(Raw("GetParameter", "{not json"), 400, "SerializationException");
  ExpectError(Raw("GetParameter", "[1, 2]"), 400, "SerializationException");
}

// Wrong member types and constraint violations have AWS's error shapes.
TEST_F(JsonProtocolTest, FieldErrorsAreSerializationOrValidationExceptions) {
  ExpectError(Raw("GetParameter", R"({"Name": 5})"), 400, "SerializationException");
  ExpectError(Raw("GetParameter", R"({"Name": {"a": 1}})"), 400, "SerializationException");
  ExpectError(Raw("GetParameter", R"({"Name": "/a", "WithDecryption": "yes"})"), 400,
              "SerializationException");
  HttpResponse missing = Raw("GetParameter", "{}");
  ExpectError(missing, 400, "ValidationException");
  EXPECT_EQ(json::parse(missing.body)["message"],
            "1 validation error detected: Value 'null' at 'name' failed to satisfy constraint: "
            "Member must not be null");
  HttpResponse too_long = Raw("GetParameter", json{{"Name", std::string(2049, 'a')}}.dump());
  ExpectError(too_long, 400, "ValidationException");
  EXPECT_NE(json::parse(too_long.body)["message"].get<std::string>().find(
                "Member must have length less than or equal to 2048"),
            std::string::npos);
  ExpectError(Raw("GetParametersByPath", R"({"Path": "/a", "MaxResults": 11})"), 400,
              "ValidationException");
  ExpectError(Raw("PutParameter", R"({"Name": "/a", "Value": "v", "Type": "Blob"})"), 400,
              "ValidationException");
}

// A secret value never appears in an error body or a metric.
TEST_F(JsonProtocolTest, ValuesNeverAppearInErrorsOrMetrics) {
  std::vector<HttpResponse> responses;
  responses.push_back(Raw("PutParameter", json{{"Name", "/c"},
                                               {"Value", std::string(kCanary) +
                                                             std::string(9000, 'x')},
                                               {"Type", "String"}}
                                              .dump()));
  responses.push_back(Raw("PutParameter", json{{"Name", "/c"},
                                               {"Value", kCanary},
                                               {"Type", "String"},
                                               {"AllowedPattern", "^\\d+$"}}
                                              .dump()));
  responses.push_back(Raw("PutParameter", json{{"Name", "/aws/c"},
                                               {"Value", kCanary},
                                               {"Type", "String"}}
                                              .dump()));
  responses.push_back(Raw("PutParameter", json{{"Name", "/c"},
                                               {"Value", kCanary},
                                               {"Type", "SecureString"},
                                               {"KeyId", "alias/none"}}
                                              .dump()));
  for (const HttpResponse& r : responses) {
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body.find(kCanary), std::string::npos);
  }
  EXPECT_EQ(metrics_.Render().find(kCanary), std::string::npos);
  ExpectError(responses[1], 400, "ParameterPatternMismatchException");
  ExpectError(responses[2], 400, "ValidationException");
  ExpectError(responses[3], 400, "InvalidKeyId");
}

// Fail closed: a request whose record cannot be written is answered with an
// error, and from then on requests are refused before they run (nothing
// changes) until a record can be written again.
TEST_F(JsonProtocolTest, UnauditableRequestsAreRefused) {
  auto& sink = sink_;
  sink.records.clear();
  auto put = [&](const char* value) {
    return Raw("PutParameter", json{{"Name", "/audited"}, {"Value", value}, {"Type", "String"},
                                    {"Overwrite", true}}
                                   .dump());
  };
  ASSERT_EQ(put("one").status, 200);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].operation, "PutParameter");

  sink.failing = true;
  ExpectError(put("two"), 500, "InternalServerError");  // ran, but its answer is withheld
  ExpectError(put("three"), 500, "InternalServerError");  // refused before it runs
  ExpectError(Raw("GetParameter", json{{"Name", "/audited"}}.dump()), 500,
              "InternalServerError");
  auto stored = store_->GetParameter("/audited", true);
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->value.Reveal() == "two");  // "three" never ran
  EXPECT_EQ(stored->version, 2);

  sink.failing = false;
  // The first request after the outage is refused (the sink was unhealthy when
  // it arrived) but audited, which makes the sink healthy again.
  ExpectError(put("four"), 500, "InternalServerError");
  EXPECT_EQ(put("five").status, 200);
  stored = store_->GetParameter("/audited", true);
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->value.Reveal() == "five");
  ASSERT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(sink.records[1].status, 500);
  EXPECT_EQ(sink.records[2].status, 200);
}

// Requests are counted by api, operation and code.
TEST_F(JsonProtocolTest, RequestsAreCountedInMetrics) {
  Raw("GetParameter", R"({"Name": "/nope"})");
  ASSERT_EQ(Raw("PutParameter", R"({"Name": "/m", "Value": "v", "Type": "String"})").status, 200);
  ASSERT_EQ(Raw("GetParameter", R"({"Name": "/m"})").status, 200);
  EXPECT_EQ(metrics_.Value("coffer_requests_total",
                           "api=\"ssm\",op=\"GetParameter\",code=\"200\""),
            1);
  EXPECT_EQ(metrics_.Value("coffer_requests_total",
                           "api=\"ssm\",op=\"GetParameter\",code=\"ParameterNotFound\""),
            1);
}

// Metric labels and the audit record's api and operation come only from closed
// sets: distinct unknown targets, signed or not, before or after the body is
// parsed, add no series and are audited as "unknown".
TEST_F(JsonProtocolTest, UnknownTargetsMintNoSeriesAndAreAuditedAsUnknown) {
  auto& sink = sink_;
  sink.records.clear();
  CallOptions unsigned_call;
  unsigned_call.sign = false;
  CallOptions other_prefix;
  CallOptions wrong_service;
  wrong_service.service = "kms";
  for (int i = 0; i < 20; ++i) {
    std::string junk = "Junk" + std::to_string(i) + std::string(40, 'x');  // an identifier
    ExpectError(Raw(junk, "{}"), 400, "UnknownOperationException");
    ExpectError(Raw(junk, "not json"), 400, "SerializationException");
    ExpectError(Raw(junk, "{}", wrong_service), 400, "InvalidSignatureException");
    ExpectError(Raw(junk, "{}", unsigned_call), 403, "MissingAuthenticationTokenException");
    other_prefix.target_prefix = "Amazon" + junk;
    ExpectError(Raw("GetParameter", "{}", other_prefix), 400, "UnknownOperationException");
  }
  std::string rendered = metrics_.Render();
  EXPECT_EQ(rendered.find("Junk"), std::string::npos);
  EXPECT_EQ(metrics_.Value("coffer_requests_total",
                           "api=\"ssm\",op=\"unknown\",code=\"UnknownOperationException\""),
            20);
  EXPECT_EQ(metrics_.Value("coffer_requests_total",
                           "api=\"ssm\",op=\"unknown\",code=\"SerializationException\""),
            20);
  ASSERT_EQ(sink.records.size(), 100u);
  for (const auto& record : sink.records) {
    EXPECT_EQ(record.operation, "unknown");
    EXPECT_TRUE(record.api == "ssm" || record.api == "unknown") << record.api;
  }
}

// GetParameters, GetParametersByPath (paged), history, describe: chamber's needs.
TEST_F(JsonProtocolTest, ListingOperationsReturnChamberCompatibleShapes) {
  for (int i = 0; i < 12; ++i) {
    json put = {{"Name", "/svc/k" + std::to_string(i)},
                {"Value", "v" + std::to_string(i)},
                {"Type", "SecureString"},
                {"Overwrite", true},
                {"Description", "1"}};
    ASSERT_EQ(Raw("PutParameter", put.dump()).status, 200);
  }
  json gp = Call("GetParameters", {{"Names", {"/svc/k0", "/svc/missing"}},
                                   {"WithDecryption", true}});
  EXPECT_EQ(gp["Parameters"].size(), 1u);
  EXPECT_EQ(gp["InvalidParameters"], json::array({"/svc/missing"}));

  std::set<std::string> names;
  std::set<std::string> tokens;
  json req = {{"Path", "/svc/"}, {"WithDecryption", true}};
  for (int page = 0; page < 5; ++page) {
    json resp = Call("GetParametersByPath", req);
    for (const json& p : resp["Parameters"]) names.insert(p["Name"].get<std::string>());
    if (!resp.contains("NextToken")) break;
    EXPECT_TRUE(tokens.insert(resp["NextToken"].get<std::string>()).second);
    req["NextToken"] = resp["NextToken"];
  }
  EXPECT_EQ(names.size(), 12u);

  json described = Call("DescribeParameters",
                        {{"ParameterFilters",
                          {{{"Key", "Path"}, {"Option", "OneLevel"}, {"Values", {"/svc"}}}}}});
  ASSERT_EQ(described["Parameters"].size(), 12u);
  const json& m = described["Parameters"][0];
  EXPECT_EQ(m["LastModifiedUser"], admin_arn_);
  EXPECT_TRUE(m["LastModifiedDate"].is_number());
  EXPECT_EQ(m["Description"], "1");
  EXPECT_EQ(m["KeyId"], "alias/aws/ssm");
  EXPECT_EQ(m["Tier"], "Standard");
  EXPECT_EQ(m["Policies"], json::array());
  EXPECT_EQ(m["DataType"], "text");
  EXPECT_FALSE(m.contains("Value"));

  ASSERT_EQ(Raw("PutParameter", json{{"Name", "/svc/k0"}, {"Value", "new"}, {"Overwrite", true}}
                                    .dump())
                .status,
            200);
  json labelled = Call("LabelParameterVersion",
                       {{"Name", "/svc/k0"}, {"ParameterVersion", 1}, {"Labels", {"prod", "9x"}}});
  EXPECT_EQ(labelled["ParameterVersion"], 1);
  EXPECT_EQ(labelled["InvalidLabels"], json::array({"9x"}));
  json history = Call("GetParameterHistory", {{"Name", "/svc/k0"}});
  ASSERT_EQ(history["Parameters"].size(), 2u);
  EXPECT_EQ(history["Parameters"][0]["Labels"], json::array({"prod"}));
  EXPECT_EQ(history["Parameters"][0]["LastModifiedUser"], admin_arn_);
  EXPECT_TRUE(history["Parameters"][1].contains("Value"));
  json unlabelled = Call("UnlabelParameterVersion",
                         {{"Name", "/svc/k0"}, {"ParameterVersion", 1}, {"Labels", {"prod", "x"}}});
  EXPECT_EQ(unlabelled["RemovedLabels"], json::array({"prod"}));
  EXPECT_EQ(unlabelled["InvalidLabels"], json::array({"x"}));

  json deleted = Call("DeleteParameters", {{"Names", {"/svc/k1", "/svc/missing"}}});
  EXPECT_EQ(deleted["DeletedParameters"], json::array({"/svc/k1"}));
  EXPECT_EQ(deleted["InvalidParameters"], json::array({"/svc/missing"}));
  EXPECT_EQ(Call("DeleteParameter", {{"Name", "/svc/k2"}}), json::object());
  ExpectError(Raw("DeleteParameter", R"({"Name": "/svc/k2"})"), 400, "ParameterNotFound");
}

// Tag operations: shapes, resource type and id errors.
TEST_F(JsonProtocolTest, TagOperations) {
  ASSERT_EQ(Raw("PutParameter", R"({"Name": "/t", "Value": "v", "Type": "String"})").status, 200);
  EXPECT_EQ(Call("AddTagsToResource", {{"ResourceType", "Parameter"},
                                       {"ResourceId", "/t"},
                                       {"Tags", {{{"Key", "env"}, {"Value", "dev"}}}}}),
            json::object());
  json listed = Call("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/t"}});
  EXPECT_EQ(listed["TagList"], json::parse(R"([{"Key": "env", "Value": "dev"}])"));
  EXPECT_EQ(Call("RemoveTagsFromResource",
                 {{"ResourceType", "Parameter"}, {"ResourceId", "/t"}, {"TagKeys", {"env"}}}),
            json::object());
  ExpectError(Raw("ListTagsForResource", R"({"ResourceType": "Document", "ResourceId": "/t"})"),
              400, "InvalidResourceType");
  ExpectError(Raw("ListTagsForResource", R"({"ResourceType": "Parameter", "ResourceId": "/x"})"),
              400, "InvalidResourceId");
  ExpectError(Raw("ListTagsForResource", R"({"ResourceType": "Bogus", "ResourceId": "/x"})"),
              400, "ValidationException");
}

}  // namespace
}  // namespace coffer::api::awsjson
