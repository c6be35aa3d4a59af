#include "server/rotation_hooks.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "domain/iam/identity_store.h"
#include "keyring/keyring.h"
#include "server/http_server.h"
#include "storage/memory/memory_backend.h"
#include "util/id_generator.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/time.h"
#include "support/matchers.h"
#include "support/temp_dir.h"

namespace coffer::server {
namespace {

namespace sm = domain::secrets;
namespace fs = std::filesystem;

constexpr char kArn[] = "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-AbCdEf";
constexpr char kOtherArn[] = "arn:aws:secretsmanager:us-east-1:000000000000:secret:other-XyZaBc";
constexpr char kToken[] = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
constexpr char kEndpoint[] = "http://127.0.0.1:8200";

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool HasLine(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

bool HasLineStartingWith(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l.starts_with(prefix)) return true;
  }
  return false;
}

class RotationHooksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { util::InitLogging(util::LogLevel::kOff); }

  void SetUp() override {
    auto k = keyring::Keyring::Open(
        backend_, keyring::RootKey::FromMaterial(SecretBytes(std::string(32, '\x42'))), clock_);
    ASSERT_TRUE(k.has_value());
    keyring_ = std::move(*k);
    identities_ = std::make_unique<domain::iam::IdentityStore>(backend_, *keyring_, clock_, ids_,
                                                               "000000000000");
    credentials_ = std::make_unique<RotationCredentials>(*identities_);
    HookInvokerOptions options;
    options.endpoint_url = kEndpoint;
    options.region = "eu-west-1";
    invoker_ = std::make_unique<HookInvoker>(*credentials_, clock_, options);
    ASSERT_FALSE(temp_.path().empty());
    dir_ = temp_.path();
  }

  // Writes an executable shell script.
  std::string Script(const std::string& name, const std::string& body) {
    fs::path p = dir_ / name;
    std::ofstream(p) << "#!/bin/sh\n" << body;
    chmod(p.c_str(), 0755);
    return p.string();
  }

  static sm::RotationStepCall Call(std::string hook, sm::RotationStep step,
                                   std::chrono::seconds timeout = std::chrono::seconds(30)) {
    sm::RotationStepCall call;
    call.hook = std::move(hook);
    call.secret_arn = kArn;
    call.secret_name = "app/db";
    call.token = kToken;
    call.step = step;
    call.timeout = timeout;
    return call;
  }

  storage::memory::MemoryBackend backend_;
  util::SystemClock clock_;
  util::SequentialIdGenerator ids_;
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<domain::iam::IdentityStore> identities_;
  std::unique_ptr<RotationCredentials> credentials_;
  std::unique_ptr<HookInvoker> invoker_;
  coffer::testing::ScopedTempDir temp_;
  fs::path dir_;
};

// The role is named after the secret's ARN and its policy names exactly that ARN.
TEST_F(RotationHooksTest, RoleNameAndPolicyAreScopedToTheSecret) {
  std::string name = RotationRoleName(kArn);
  EXPECT_EQ(name.size(), std::string("coffer-rotation-").size() + 32);
  EXPECT_TRUE(name.starts_with("coffer-rotation-"));
  EXPECT_NE(name, RotationRoleName(kOtherArn));
  std::string doc = RotationPolicyDocument(kArn);
  EXPECT_NE(doc.find(std::string("\"Resource\":\"") + kArn + "\""), std::string::npos);
  EXPECT_EQ(doc.find("secretsmanager:*"), std::string::npos);
  EXPECT_EQ(RotationEventJson(Call("/x", sm::RotationStep::kTestSecret)),
            std::string("{\"SecretId\":\"") + kArn + "\",\"ClientRequestToken\":\"" + kToken +
                "\",\"Step\":\"testSecret\"}");
}

// Issue creates the role under /coffer/rotation/ with the deny-all trust policy
// and the scope policy, and returns session credentials for it.
TEST_F(RotationHooksTest, IssueCreatesTheRoleAndASession) {
  auto session = credentials_->Issue(kArn, "createSecret-x", std::chrono::seconds(60));
  ASSERT_TRUE(session.has_value()) << session.error().message;
  EXPECT_TRUE(session->access_key_id.starts_with("ASIA"));
  EXPECT_EQ(session->role_name, RotationRoleName(kArn));
  EXPECT_FALSE(session->session_token.Reveal().empty());
  // 60 s is raised to STS's minimum of 15 minutes.
  EXPECT_EQ(session->expiration - session->created, std::chrono::seconds(900));
  auto role = identities_->GetRole(RotationRoleName(kArn));
  ASSERT_TRUE(role.has_value());
  EXPECT_EQ(role->path, kRotationRolePath);
  EXPECT_EQ(role->assume_role_policy, RotationTrustPolicy());
  auto policy = identities_->GetInlinePolicy(domain::iam::EntityKind::kRole, role->name,
                                             kRotationPolicyName);
  ASSERT_TRUE(policy.has_value());
  EXPECT_EQ(*policy, RotationPolicyDocument(kArn));
  // The session resolves to the role's policies.
  auto resolved = identities_->LookupAccessKey(session->access_key_id);
  ASSERT_TRUE(resolved.has_value());
  EXPECT_TRUE(resolved->is_session);
}

// A tampered scope policy or trust policy is restored; other policies stay.
TEST_F(RotationHooksTest, IssueRestoresScopeAndKeepsOperatorPolicies) {
  ASSERT_TRUE(credentials_->Issue(kArn, "s1", std::chrono::seconds(60)).has_value());
  std::string role = RotationRoleName(kArn);
  using domain::iam::EntityKind;
  ASSERT_TRUE(identities_->PutInlinePolicy(EntityKind::kRole, role, kRotationPolicyName,
                                           RotationPolicyDocument(kOtherArn)));
  ASSERT_TRUE(identities_->PutInlinePolicy(EntityKind::kRole, role, "read-master",
                                           RotationPolicyDocument(kOtherArn)));
  ASSERT_TRUE(identities_->UpdateAssumeRolePolicy(role, "{\"Version\":\"2012-10-17\"}"));
  ASSERT_TRUE(credentials_->Issue(kArn, "s2", std::chrono::seconds(60)).has_value());
  EXPECT_EQ(*identities_->GetInlinePolicy(EntityKind::kRole, role, kRotationPolicyName),
            RotationPolicyDocument(kArn));
  EXPECT_TRUE(identities_->GetInlinePolicy(EntityKind::kRole, role, "read-master").has_value());
  EXPECT_EQ(identities_->GetRole(role)->assume_role_policy, RotationTrustPolicy());
}

// A role of that name outside /coffer/rotation/ is not used.
TEST_F(RotationHooksTest, IssueRefusesARoleOutsideTheRotationPath) {
  domain::iam::NewRole spec;
  spec.name = RotationRoleName(kArn);
  spec.path = "/";
  spec.assume_role_policy = "{}";
  ASSERT_TRUE(identities_->CreateRole(spec).has_value());
  EXPECT_TRUE(HasError(credentials_->Issue(kArn, "s1", std::chrono::seconds(60)),
                       ErrorCode::kFailedPrecondition));
}

// An executable hook gets the step, ARN and token as arguments, Lambda's event
// on stdin, and a clean environment with scoped credentials and the endpoint.
TEST_F(RotationHooksTest, ExecutableGetsArgumentsEventAndCleanEnvironment) {
  setenv("COFFER_TEST_SERVER_ONLY", "1", 1);
  fs::path out = dir_ / "out";
  fs::create_directory(out);
  std::string hook = Script("hook", "printf '%s\\n' \"$@\" > " + out.string() + "/args\n" +
                                        "cat > " + out.string() + "/stdin\n" +
                                        "env > " + out.string() + "/env\n" +
                                        "pwd > " + out.string() + "/pwd\n");
  Status done = invoker_->Invoke(Call(hook, sm::RotationStep::kSetSecret));
  unsetenv("COFFER_TEST_SERVER_ONLY");
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_EQ(ReadFile(out / "args"), std::string("setSecret\n") + kArn + "\n" + kToken + "\n");
  EXPECT_EQ(ReadFile(out / "stdin"),
            RotationEventJson(Call(hook, sm::RotationStep::kSetSecret)) + "\n");
  std::string env = ReadFile(out / "env");
  // Checked without printing: the file holds live credentials.
  EXPECT_TRUE(HasLineStartingWith(env, "AWS_ACCESS_KEY_ID=ASIA"));
  EXPECT_TRUE(HasLineStartingWith(env, "AWS_SECRET_ACCESS_KEY="));
  EXPECT_TRUE(HasLineStartingWith(env, "AWS_SESSION_TOKEN="));
  EXPECT_TRUE(HasLine(env, std::string("AWS_ENDPOINT_URL=") + kEndpoint));
  EXPECT_TRUE(HasLine(env, std::string("COFFER_ENDPOINT_URL=") + kEndpoint));
  EXPECT_TRUE(HasLine(env, "AWS_REGION=eu-west-1"));
  EXPECT_TRUE(HasLine(env, "AWS_SHARED_CREDENTIALS_FILE=/dev/null"));
  EXPECT_TRUE(HasLine(env, "COFFER_ROTATION_STEP=setSecret"));
  EXPECT_TRUE(HasLine(env, std::string("COFFER_SECRET_ID=") + kArn));
  EXPECT_FALSE(HasLineStartingWith(env, "COFFER_TEST_SERVER_ONLY="));
  EXPECT_FALSE(HasLineStartingWith(env, "AWS_CA_BUNDLE="));  // none given: absent, not empty
  // It ran in a private directory that is gone afterwards.
  std::string pwd = ReadFile(out / "pwd");
  ASSERT_FALSE(pwd.empty());
  pwd.pop_back();
  EXPECT_TRUE(HasLine(env, "HOME=" + pwd));
  EXPECT_NE(pwd.find("coffer-hook-"), std::string::npos);
  EXPECT_FALSE(fs::exists(pwd));
}

// With a CA bundle (the server serves TLS under a private CA), executable
// hooks get it as AWS_CA_BUNDLE, so the AWS CLI and SDKs in them verify the
// server when they call back.
TEST_F(RotationHooksTest, ExecutableGetsTheServersCaBundle) {
  HookInvokerOptions options;
  options.endpoint_url = "https://127.0.0.1:8443";
  options.ca_file = (dir_ / "ca.pem").string();
  HookInvoker invoker(*credentials_, clock_, options);
  fs::path out = dir_ / "out";
  fs::create_directory(out);
  std::string hook = Script("hook", "env > " + out.string() + "/env\n");
  Status done = invoker.Invoke(Call(hook, sm::RotationStep::kSetSecret));
  ASSERT_TRUE(done.has_value()) << done.error().message;
  std::string env = ReadFile(out / "env");
  EXPECT_TRUE(HasLine(env, "AWS_CA_BUNDLE=" + options.ca_file));
  EXPECT_TRUE(HasLine(env, "AWS_ENDPOINT_URL=https://127.0.0.1:8443"));
}

// A failing hook is kAborted with its exit status and its coffer-error line;
// its other output is not reported.
TEST_F(RotationHooksTest, FailingExecutableReportsStatusAndReasonLine) {
  std::string hook = Script("hook",
                            "echo 'debug: some output'\n"
                            "echo 'coffer-error: first reason' >&2\n"
                            "echo 'coffer-error: cannot log in as app' >&2\n"
                            "exit 3\n");
  Status done = invoker_->Invoke(Call(hook, sm::RotationStep::kTestSecret));
  ASSERT_TRUE(HasError(done, ErrorCode::kAborted));
  EXPECT_EQ(done.error().message, "hook exited with status 3: cannot log in as app");

  std::string quiet = Script("quiet", "echo 'password=hunter2' >&2\nexit 1\n");
  done = invoker_->Invoke(Call(quiet, sm::RotationStep::kTestSecret));
  ASSERT_TRUE(HasError(done, ErrorCode::kAborted));
  EXPECT_EQ(done.error().message, "hook exited with status 1");
}

// A hook that outlives its timeout is killed and the step fails as unavailable.
TEST_F(RotationHooksTest, HookPastItsTimeoutIsKilled) {
  std::string hook = Script("slow", "sleep 30 &\nwait\n");
  Status done =
      invoker_->Invoke(Call(hook, sm::RotationStep::kCreateSecret, std::chrono::seconds(1)));
  ASSERT_TRUE(HasError(done, ErrorCode::kUnavailable));
  EXPECT_EQ(done.error().message, "rotation hook timed out after 1 s");
}

// Lambda ARNs, relative names and non-executables are refused before any
// credentials are issued.
TEST_F(RotationHooksTest, UnusableHooksAreRefused) {
  EXPECT_TRUE(HasError(invoker_->Invoke(Call("arn:aws:lambda:us-east-1:000000000000:function:r",
                                             sm::RotationStep::kCreateSecret)),
                       ErrorCode::kFailedPrecondition));
  EXPECT_TRUE(HasError(invoker_->Invoke(Call("rotate.sh", sm::RotationStep::kCreateSecret)),
                       ErrorCode::kFailedPrecondition));
  EXPECT_TRUE(HasError(invoker_->Invoke(Call((dir_ / "missing").string(),
                                             sm::RotationStep::kCreateSecret)),
                       ErrorCode::kFailedPrecondition));
  fs::path plain = dir_ / "plain";
  std::ofstream(plain) << "#!/bin/sh\n";
  chmod(plain.c_str(), 0644);
  EXPECT_TRUE(HasError(invoker_->Invoke(Call(plain.string(), sm::RotationStep::kCreateSecret)),
                       ErrorCode::kFailedPrecondition));
  EXPECT_TRUE(HasError(identities_->GetRole(RotationRoleName(kArn)), ErrorCode::kNotFound,
                       Reason::kNoSuchEntity));
}

// Shutdown kills a running hook and refuses later calls.
TEST_F(RotationHooksTest, ShutdownStopsRunningHooks) {
  fs::path fifo = dir_ / "started";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string hook = Script("hang", "echo started > " + fifo.string() + "\nsleep 60\n");
  Status done;
  std::thread runner([&] {
    done = invoker_->Invoke(Call(hook, sm::RotationStep::kSetSecret, std::chrono::seconds(120)));
  });
  {
    std::ifstream started(fifo);  // blocks until the hook opens it
    std::string line;
    std::getline(started, line);
    EXPECT_EQ(line, "started");
  }
  invoker_->Shutdown();
  runner.join();
  ASSERT_TRUE(HasError(done, ErrorCode::kUnavailable));
  EXPECT_EQ(done.error().message, "rotation hook stopped: server shutting down");
  EXPECT_TRUE(HasError(invoker_->Invoke(Call(hook, sm::RotationStep::kSetSecret)),
                       ErrorCode::kUnavailable));
}

// An HTTP hook gets a POST with the event and the credentials; 2xx is success,
// another status a failure with the coffer-error header as the reason.
TEST_F(RotationHooksTest, HttpHookGetsEventAndCredentials) {
  std::mutex mu;
  std::vector<api::HttpRequest> seen;
  int status = 200;
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = 1;
  util::Metrics metrics;
  auto server = HttpServer::Create(
      options,
      [&](api::HttpRequest& request) {
        std::lock_guard lock(mu);
        seen.push_back(request);
        api::HttpResponse response;
        response.status = status;
        if (status != 200) response.SetHeader("coffer-error", "login refused");
        return response;
      },
      metrics, ids_, clock_);
  ASSERT_TRUE(server.has_value());
  (*server)->Start();
  std::string url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/rotate";

  Status done = invoker_->Invoke(Call(url, sm::RotationStep::kFinishSecret));
  ASSERT_TRUE(done.has_value()) << done.error().message;
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(seen.size(), 1u);
    const api::HttpRequest& r = seen[0];
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.path, "/rotate");
    EXPECT_EQ(r.Header("X-Coffer-Rotation-Step"), "finishSecret");
    EXPECT_EQ(r.Header("Content-Type"), "application/json");
    EXPECT_TRUE(r.body.starts_with(std::string("{\"SecretId\":\"") + kArn +
                                   "\",\"ClientRequestToken\":\"" + kToken +
                                   "\",\"Step\":\"finishSecret\",\"Credentials\":{"
                                   "\"AccessKeyId\":\"ASIA"));
    EXPECT_NE(r.body.find("\"SessionToken\":\""), std::string::npos);
    EXPECT_NE(r.body.find(std::string("\"Endpoint\":\"") + kEndpoint + "\""), std::string::npos);
  }
  {
    std::lock_guard lock(mu);
    status = 500;
  }
  done = invoker_->Invoke(Call(url, sm::RotationStep::kTestSecret));
  ASSERT_TRUE(HasError(done, ErrorCode::kAborted));
  EXPECT_EQ(done.error().message, "rotation hook answered HTTP 500: login refused");
  (*server)->Shutdown();
}

}  // namespace
}  // namespace coffer::server
