// QueryProtocol's framing, with IamService behind it: what the caller's Action
// may and may not reach (metric labels, audit records, error messages).
#include "api/awsquery/query_protocol.h"
#include "api/pipeline/pipeline.h"
#include "auth/authorizer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/awsquery/iam_service.h"
#include "audit/audit.h"
#include "auth/authenticator.h"
#include "domain/iam/identity_store.h"
#include "keyring/keyring.h"
#include "sigv4/sigv4.h"
#include "storage/memory/memory_backend.h"
#include "support/recording_audit_sink.h"
#include "util/id_generator.h"
#include "util/metrics.h"
#include "util/time.h"

namespace coffer::api::awsquery {
namespace {

constexpr char kAccessKey[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// The text of the first <name> element in `xml` ("" if none).
std::string Text(const std::string& xml, const std::string& name) {
  size_t open = xml.find("<" + name + ">");
  if (open == std::string::npos) return "";
  open += name.size() + 2;
  size_t close = xml.find("</" + name + ">", open);
  return close == std::string::npos ? "" : xml.substr(open, close - open);
}

enum class Signing { kNone, kValid, kWrongSecret };

class QueryProtocolTest : public ::testing::Test {
 protected:
  QueryProtocolTest() : clock_(*util::ParseAmzDate("20261128T090727Z")) {}

  void SetUp() override {
    auto kr = keyring::Keyring::Open(
        backend_, keyring::RootKey::FromMaterial(SecretBytes(std::string(32, '\x07'))), clock_);
    ASSERT_TRUE(kr.has_value());
    keyring_ = std::move(*kr);
    identities_ = std::make_unique<domain::iam::IdentityStore>(backend_, *keyring_, clock_, ids_,
                                                               "000000000000");
    ASSERT_TRUE(identities_->CreateUser("admin", true).has_value());
    ASSERT_TRUE(identities_->ImportAccessKey("admin", kAccessKey, SecretBytes(kSecret)));
    authenticator_ = std::make_unique<auth::Authenticator>(*identities_, clock_, "us-east-1");
    protocol_ = std::make_unique<QueryProtocol>();
    authorizer_ = std::make_unique<auth::Authorizer>(
        auth::Authorizer::IamPolicies(*identities_, policy_cache_), clock_);
    pipeline_ = std::make_unique<pipeline::Pipeline>(*authenticator_, *authorizer_, sink_,
                                                     metrics_, clock_);
    protocol_->AddService(std::make_unique<IamService>(*identities_, "000000000000"));
  }

  HttpResponse Raw(const std::string& action, Signing signing) {
    HttpRequest r;
    r.method = "POST";
    r.path = "/";
    r.headers = {{"Host", "127.0.0.1:18777"},
                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    r.body = "Action=" + action + "&Version=2010-05-08";
    r.request_id = "req-" + std::to_string(++request_counter_);
    r.remote_ip = "127.0.0.1";
    if (signing != Signing::kNone) {
      SecretBytes secret(signing == Signing::kValid ? kSecret : "not-the-secret");
      std::vector<sigv4::HeaderView> views;
      for (const auto& [n, v] : r.headers) views.emplace_back(n, v);
      sigv4::SigningParams sp;
      sp.access_key_id = kAccessKey;
      sp.secret_access_key = &secret;
      sp.region = "us-east-1";
      sp.service = "iam";
      sp.time = clock_.Now();
      sp.body = r.body;
      auto s = sigv4::Sign(sigv4::RequestParts{r.method, r.path, r.query, views}, sp);
      EXPECT_TRUE(s.has_value());
      if (s) {
        for (auto& [n, v] : s->headers_to_add) r.headers.emplace_back(n, v);
      }
    }
    return pipeline_->Handle(*protocol_, r);
  }

  storage::memory::MemoryBackend backend_;
  util::SimulatedClock clock_;
  util::SequentialIdGenerator ids_;
  util::Metrics metrics_;
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<domain::iam::IdentityStore> identities_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<QueryProtocol> protocol_;
  coffer::testing::RecordingAuditSink sink_;
  auth::PolicyCache policy_cache_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  int request_counter_ = 0;
};

// Distinct unknown actions, unsigned, badly signed or from an authenticated
// caller, add no metric series: they are counted, and audited, as "unknown".
TEST_F(QueryProtocolTest, UnknownActionsMintNoSeriesAndAreAuditedAsUnknown) {
  for (int i = 0; i < 20; ++i) {
    std::string junk = "Junk" + std::to_string(i);
    HttpResponse unsigned_call = Raw(junk + std::string(64 * 1024, 'x'), Signing::kNone);
    EXPECT_EQ(Text(unsigned_call.body, "Code"), "MissingAuthenticationToken");
    HttpResponse bad_signature = Raw(junk, Signing::kWrongSecret);
    EXPECT_EQ(Text(bad_signature.body, "Code"), "SignatureDoesNotMatch");
    HttpResponse authenticated = Raw(junk, Signing::kValid);
    EXPECT_EQ(authenticated.status, 400);
    EXPECT_EQ(Text(authenticated.body, "Code"), "InvalidAction");
  }
  EXPECT_EQ(metrics_.Render().find("Junk"), std::string::npos);
  // The code label is the wire error code, as on the JSON front.
  for (const char* code : {"MissingAuthenticationToken", "SignatureDoesNotMatch", "InvalidAction"}) {
    EXPECT_EQ(metrics_.Value("coffer_requests_total",
                             "api=\"iam\",op=\"unknown\",code=\"" + std::string(code) + "\""),
              20)
        << code;
  }
  ASSERT_EQ(sink_.records.size(), 60u);
  for (const auto& record : sink_.records) EXPECT_EQ(record.operation, "unknown");
}

// A known action keeps its own label and audit operation.
TEST_F(QueryProtocolTest, KnownActionsAreCountedUnderTheirName) {
  EXPECT_EQ(Raw("ListUsers", Signing::kValid).status, 200);
  EXPECT_EQ(metrics_.Value("coffer_requests_total", "api=\"iam\",op=\"ListUsers\",code=\"200\""),
            1);
  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].operation, "ListUsers");
}

// The error for an unknown action quotes at most 128 bytes of it, whether or
// not the request named a service.
TEST_F(QueryProtocolTest, InvalidActionMessageQuotesABoundedAction) {
  std::string huge(1 << 20, 'A');
  HttpResponse authenticated = Raw(huge, Signing::kValid);
  EXPECT_EQ(Text(authenticated.body, "Code"), "InvalidAction");
  EXPECT_EQ(Text(authenticated.body, "Message"),
            "The action " + std::string(128, 'A') + "... is not valid for this web service.");
  EXPECT_LT(authenticated.body.size(), 1024u);
}

// A parameter given twice is ambiguous (the last one used to win, silently):
// refused with a 400 before anything runs.
TEST_F(QueryProtocolTest, RepeatedParametersAreRefused) {
  HttpResponse repeated_name = Raw("GetUser&UserName=alice&UserName=admin", Signing::kValid);
  EXPECT_EQ(repeated_name.status, 400);
  EXPECT_EQ(Text(repeated_name.body, "Code"), "ValidationError");
  EXPECT_NE(Text(repeated_name.body, "Message").find("UserName&apos; appears more than once"),
            std::string::npos);
  HttpResponse repeated_action = Raw("ListUsers&Action=DeleteUser", Signing::kValid);
  EXPECT_EQ(repeated_action.status, 400);
  EXPECT_EQ(Text(repeated_action.body, "Code"), "ValidationError");
}

}  // namespace
}  // namespace coffer::api::awsquery
