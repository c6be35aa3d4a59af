// The request pipeline's stages and their order, with a front whose exchange
// records what was asked of it: nothing past a failed stage runs, every
// request is audited (or refused), errors without a table entry are counted,
// and a permission the handler table declares is checked before the handler.
#include "api/pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "auth/authorizer.h"
#include "domain/iam/identity_store.h"
#include "keyring/keyring.h"
#include "storage/memory/memory_backend.h"
#include "support/recording_audit_sink.h"
#include "util/id_generator.h"
#include "util/time.h"

namespace coffer::api::pipeline {
namespace {

// What the fake front's exchange does, and what was asked of it.
struct Script {
  bool is_unsigned = true;
  Status route = Ok();
  Status decode = Ok();
  Result<Accesses> resources = Accesses{};
  Status handle = Ok();
  bool throw_in_handle = false;
  bool mapped = true;
  std::vector<std::string> calls;
};

class FakeExchange final : public Exchange {
 public:
  explicit FakeExchange(Script& script) : script_(script) {}
  std::string_view api() const override { return "fake"; }
  std::string_view operation() const override { return "Op"; }
  Status Route() override {
    script_.calls.push_back("route");
    return script_.route;
  }
  std::string_view signing_name() const override { return "fake"; }
  bool Unsigned() const override { return script_.is_unsigned; }
  Status Decode() override {
    script_.calls.push_back("decode");
    return script_.decode;
  }
  Result<Accesses> Resolve(const auth::Authenticated*, auth::RequestAuthorization&) override {
    script_.calls.push_back("resolve");
    return script_.resources;
  }
  Status Handle(CallContext& context) override {
    script_.calls.push_back("handle:" + std::to_string(context.resources.size()));
    if (script_.throw_in_handle) throw std::runtime_error("boom");
    return script_.handle;
  }
  HttpResponse Render() override {
    HttpResponse r;
    r.status = 200;
    r.body = "ok";
    return r;
  }
  RenderedError RenderError(const Error& error) override {
    RenderedError out;
    out.response.status = error.code == ErrorCode::kPermissionDenied ? 403
                          : error.code == ErrorCode::kInternal        ? 500
                                                                      : 400;
    out.response.body = error.message;
    out.code = error.code == ErrorCode::kPermissionDenied ? "AccessDenied" : "Other";
    out.mapped = script_.mapped;
    return out;
  }

 private:
  Script& script_;
};

class FakeFront final : public Front {
 public:
  explicit FakeFront(Script& script) : script_(script) {}
  bool Matches(const HttpRequest&) const override { return true; }
  std::unique_ptr<Exchange> Open(const HttpRequest&) override {
    return std::make_unique<FakeExchange>(script_);
  }

 private:
  Script& script_;
};

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() : clock_(util::FromUnixMillis(1'800'000'000'000)) {}

  void SetUp() override {
    auto k = keyring::Keyring::Open(
        backend_, keyring::RootKey::FromMaterial(SecretBytes(std::string(32, '\x07'))), clock_);
    ASSERT_TRUE(k.has_value());
    keyring_ = std::move(*k);
    identities_ = std::make_unique<domain::iam::IdentityStore>(backend_, *keyring_, clock_, ids_,
                                                               "000000000000");
    authenticator_ = std::make_unique<auth::Authenticator>(*identities_, clock_, "us-east-1");
    authorizer_ = std::make_unique<auth::Authorizer>(
        auth::Authorizer::IamPolicies(*identities_, cache_), clock_);
    pipeline_ = std::make_unique<Pipeline>(*authenticator_, *authorizer_, sink_, metrics_, clock_);
  }

  HttpResponse Run() {
    HttpRequest request;
    request.method = "POST";
    request.path = "/";
    request.request_id = "req-1";
    request.remote_ip = "127.0.0.1";
    FakeFront front(script_);
    return pipeline_->Handle(front, request);
  }

  util::SimulatedClock clock_;
  util::SequentialIdGenerator ids_;
  storage::memory::MemoryBackend backend_;
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<domain::iam::IdentityStore> identities_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  auth::PolicyCache cache_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  coffer::testing::RecordingAuditSink sink_;
  util::Metrics metrics_;
  std::unique_ptr<Pipeline> pipeline_;
  Script script_;
};

TEST_F(PipelineTest, StagesRunInOrderAndTheRequestIsAudited) {
  HttpResponse r = Run();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(script_.calls, (std::vector<std::string>{"route", "decode", "resolve", "handle:0"}));
  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].api, "fake");
  EXPECT_EQ(sink_.records[0].operation, "Op");
  EXPECT_EQ(metrics_.Value("coffer_requests_total", "api=\"fake\",op=\"Op\",code=\"200\""), 1);
}

// A signed operation without a signature never reaches decode: refused, and
// audited as unauthenticated under the "unknown" operation.
TEST_F(PipelineTest, UnauthenticatedRequestsRunNothing) {
  script_.is_unsigned = false;
  HttpResponse r = Run();
  EXPECT_NE(r.status, 200);
  EXPECT_EQ(script_.calls, (std::vector<std::string>{"route"}));
  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].decision, "unauthenticated");
  EXPECT_EQ(sink_.records[0].operation, "unknown");
}

// Fail closed: while the audit sink is unhealthy nothing runs.
TEST_F(PipelineTest, NothingRunsWhileRequestsCannotBeAudited) {
  sink_.failing = true;
  Run();  // runs, but its record fails: the answer is withheld
  script_.calls.clear();
  HttpResponse r = Run();
  EXPECT_EQ(r.status, 400);  // the fake front's rendering of kUnavailable
  EXPECT_EQ(script_.calls, (std::vector<std::string>{"route"}));
}

// A declared permission is checked before the handler: an anonymous caller
// with no policies is refused, the handler never runs, and the audit record
// names the resource and the implicit deny.
TEST_F(PipelineTest, DeclaredPermissionsAreCheckedBeforeTheHandler) {
  Access access;
  access.resource.arn = "arn:aws:fake:::thing/1";
  access.permission = auth::Permission{"fake:Op", "arn:aws:fake:::thing/1", {}, nullptr,
                                       auth::Permission::PolicyRole::kNone};
  script_.resources = Accesses{access};
  HttpResponse r = Run();
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(script_.calls, (std::vector<std::string>{"route", "decode", "resolve"}));
  ASSERT_EQ(sink_.records.size(), 1u);
  EXPECT_EQ(sink_.records[0].resource, "arn:aws:fake:::thing/1");
  EXPECT_EQ(sink_.records[0].decision, "implicit-deny");
  EXPECT_EQ(sink_.records[0].error_code, "AccessDenied");
}

// An access that names nothing here carries no permission and is not checked.
TEST_F(PipelineTest, AccessesWithoutAPermissionAreNotChecked) {
  Access unnamed;
  unnamed.input = "arn:aws-cn:fake:::thing/1";
  script_.resources = Accesses{unnamed};
  EXPECT_EQ(Run().status, 200);
  EXPECT_EQ(script_.calls.back(), "handle:1");
}

// A failed resolve stops the request before any check or handler.
TEST_F(PipelineTest, AFailedResolveRunsNoHandler) {
  script_.resources = Fail(ErrorCode::kNotFound, "no such thing");
  EXPECT_EQ(Run().status, 400);
  EXPECT_EQ(script_.calls, (std::vector<std::string>{"route", "decode", "resolve"}));
}

// An error the protocol's table does not map is counted and still answered;
// an exception in a handler is an internal error, not a crash.
TEST_F(PipelineTest, UnmappedErrorsAreCountedAndExceptionsContained) {
  script_.handle = Fail(ErrorCode::kDataLoss, "corrupt");
  script_.mapped = false;
  EXPECT_EQ(Run().status, 400);
  EXPECT_EQ(metrics_.Value("coffer_unmapped_errors_total",
                           "api=\"fake\",op=\"Op\",code=\"" +
                               std::string(util::ErrorCodeName(ErrorCode::kDataLoss)) + "\""),
            1);
  script_.mapped = true;
  script_.handle = Ok();
  script_.throw_in_handle = true;
  EXPECT_EQ(Run().status, 500);
}

}  // namespace
}  // namespace coffer::api::pipeline
