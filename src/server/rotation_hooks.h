// Rotation hooks: how the server runs the code that rotates a secret
// (domain::secrets::RotationInvoker). RotationLambdaARN names the hook:
//   "/abs/path/to/executable"  run as a child process (argv, a JSON event on
//                              stdin, credentials in the environment);
//   "http://..." / "https://..."  POSTed the JSON event with the credentials;
//   "arn:aws:lambda:..."       stored for compatibility, never invoked: each
//                              step fails with a visible error.
// Each step gets temporary credentials (an STS session of an internal IAM role
// under /coffer/rotation/) that allow only secretsmanager:GetSecretValue,
// PutSecretValue, DescribeSecret and UpdateSecretVersionStage on the rotated
// secret, and GetRandomPassword. The contract is documented in
// docs/rotation-hooks.md.
#pragma once

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <string_view>

#include "domain/iam/identity_store.h"
#include "domain/secrets/rotation.h"
#include "util/mutex.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::server {

// Path of the internal roles; roles elsewhere are never used for rotation.
inline constexpr std::string_view kRotationRolePath = "/coffer/rotation/";
// The inline policy the server keeps on each rotation role. Other policies an
// operator attaches to the role are kept (that is how a hook gets more, e.g.
// read access to a master secret).
inline constexpr std::string_view kRotationPolicyName = "coffer-rotation-scope";

// "coffer-rotation-" + the first 32 hex digits of SHA-256(secret ARN).
std::string RotationRoleName(std::string_view secret_arn);
// The inline policy document for a secret (JSON text).
std::string RotationPolicyDocument(std::string_view secret_arn);
// The trust policy of rotation roles: denies every principal sts:*.
std::string_view RotationTrustPolicy();

// Issues credentials scoped to one secret: makes sure the secret's rotation
// role exists under /coffer/rotation/ with the deny-all trust policy and the
// scope policy, then creates an STS session for it. Thread-safe.
class RotationCredentials {
 public:
  explicit RotationCredentials(domain::iam::IdentityStore& identities);

  // A session valid for `duration` (clamped to 900..3600 s). Errors:
  // kFailedPrecondition when a role of that name exists outside
  // /coffer/rotation/; IAM and storage errors otherwise.
  Result<domain::iam::Session> Issue(std::string_view secret_arn, std::string_view session_name,
                                     std::chrono::seconds duration);

 private:
  Status EnsureRole(std::string_view secret_arn, const std::string& role_name);

  domain::iam::IdentityStore& identities_;
  util::Mutex mu_;  // serializes role set-up (a CAS conflict would only fail a step)
};

struct HookInvokerOptions {
  // The URL hooks call back (AWS_ENDPOINT_URL, COFFER_ENDPOINT_URL).
  std::string endpoint_url;
  std::string region = "us-east-1";
  // PEM CA bundle for https hooks, and AWS_CA_BUNDLE of executable hooks
  // (the CA of this server's certificate when it serves TLS; "" = the system's).
  std::string ca_file;
};

// The server's RotationInvoker: runs executables and calls HTTP hooks.
// Thread-safe.
class HookInvoker final : public domain::secrets::RotationInvoker {
 public:
  HookInvoker(RotationCredentials& credentials, util::Clock& clock, HookInvokerOptions options);

  // Errors (messages never carry a secret value, nor the hook's output except
  // its "coffer-error:" line):
  //   kFailedPrecondition  a Lambda ARN or other unusable hook, a path that is
  //                        not an executable regular file, credentials that
  //                        cannot be issued
  //   kUnavailable         spawn or connection failure, timeout, shut down
  //   kAborted             the hook ran and failed (exit status, signal, HTTP
  //                        status other than 2xx)
  Status Invoke(const domain::secrets::RotationStepCall& call) override;

  // Kills running hook processes and makes later calls fail with
  // kUnavailable. HTTP calls in flight end at their timeout.
  void Shutdown();

 private:
  Status RunExecutable(const domain::secrets::RotationStepCall& call,
                       const domain::iam::Session& session);
  Status CallHttp(const domain::secrets::RotationStepCall& call,
                  const domain::iam::Session& session);

  RotationCredentials& credentials_;
  util::Clock& clock_;
  const HookInvokerOptions options_;
  std::atomic<bool> shut_down_{false};
  util::Mutex mu_;
  std::set<int> running_;  // process group ids of running hooks
};

// The JSON event a hook receives: {"SecretId","ClientRequestToken","Step"}
// (Lambda's rotation event). Exposed for tests.
std::string RotationEventJson(const domain::secrets::RotationStepCall& call);

}  // namespace coffer::server
