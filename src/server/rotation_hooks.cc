#include "server/rotation_hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "client/http_client.h"
#include "crypto/crypto.h"
#include "server/process.h"
#include "util/log.h"
#include "util/secret_bytes.h"

namespace coffer::server {
namespace {

namespace sm = domain::secrets;
using util::SecureClear;

constexpr size_t kMaxCapturedOutput = 64 * 1024;
constexpr size_t kMaxReasonLength = 300;
constexpr std::string_view kReasonPrefix = "coffer-error:";

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  util::AppendJsonEscaped(out, s);
  out += '"';
  return out;
}

// "NAME=value" for a secret value, built in place (no temporary copy of the
// value is left behind unzeroed).
std::string EnvVar(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(name.size() + 1 + value.size());
  out.append(name).append("=").append(value);
  return out;
}

// The session name for a step: "<step>-<token>", reduced to STS's [\w+=,.@-]{2,64}.
std::string SessionName(const sm::RotationStepCall& call) {
  std::string name = std::string(sm::RotationStepName(call.step)) + "-" + call.token;
  for (char& c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
    if (!ok) c = '-';
  }
  if (name.size() > 64) name.resize(64);
  return name;
}

// The last "coffer-error: <reason>" line of the hook's output, printable ASCII
// only and capped; "" when there is none.
std::string ReasonLine(std::string_view output) {
  std::string_view found;
  while (!output.empty()) {
    size_t nl = output.find('\n');
    std::string_view line = output.substr(0, nl);
    output.remove_prefix(nl == std::string_view::npos ? output.size() : nl + 1);
    if (line.starts_with(kReasonPrefix)) found = line.substr(kReasonPrefix.size());
  }
  std::string out;
  for (char c : found) {
    if (out.size() >= kMaxReasonLength) break;
    if (c >= 0x20 && c < 0x7f) out += c;
  }
  while (!out.empty() && out.front() == ' ') out.erase(out.begin());
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Reads what is available from a non-blocking fd into `into` (at most
// kMaxCapturedOutput kept). Returns false at EOF or on error.
bool Drain(int fd, std::string& into) {
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n > 0) {
      size_t room = kMaxCapturedOutput - std::min(kMaxCapturedOutput, into.size());
      into.append(buf, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    util::SecureZero(buf, sizeof(buf));
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

struct Pipe {
  int fds[2] = {-1, -1};
  ~Pipe() { CloseBoth(); }
  void Close(int i) {
    if (fds[i] >= 0) close(fds[i]);
    fds[i] = -1;
  }
  void CloseBoth() {
    Close(0);
    Close(1);
  }
};

std::string ExitDescription(int status) {
  if (WIFEXITED(status)) return "hook exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "hook was killed by signal " + std::to_string(WTERMSIG(status));
  return "hook ended abnormally";
}

}  // namespace

std::string RotationRoleName(std::string_view secret_arn) {
  return "coffer-rotation-" + crypto::Sha256Hex(secret_arn).substr(0, 32);
}

std::string RotationPolicyDocument(std::string_view secret_arn) {
  return "{\"Version\":\"2012-10-17\",\"Statement\":["
         "{\"Sid\":\"RotateThisSecret\",\"Effect\":\"Allow\",\"Action\":["
         "\"secretsmanager:GetSecretValue\",\"secretsmanager:PutSecretValue\","
         "\"secretsmanager:DescribeSecret\",\"secretsmanager:UpdateSecretVersionStage\"],"
         "\"Resource\":" +
         Quoted(secret_arn) +
         "},"
         "{\"Sid\":\"GeneratePasswords\",\"Effect\":\"Allow\",\"Action\":"
         "\"secretsmanager:GetRandomPassword\",\"Resource\":\"*\"}]}";
}

std::string_view RotationTrustPolicy() {
  return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"NoOneAssumes\",\"Effect\":"
         "\"Deny\",\"Principal\":\"*\",\"Action\":\"sts:*\"}]}";
}

std::string RotationEventJson(const sm::RotationStepCall& call) {
  return "{\"SecretId\":" + Quoted(call.secret_arn) +
         ",\"ClientRequestToken\":" + Quoted(call.token) +
         ",\"Step\":" + Quoted(sm::RotationStepName(call.step)) + "}";
}

// ---------------------------------------------------------------------------
// RotationCredentials

RotationCredentials::RotationCredentials(domain::iam::IdentityStore& identities)
    : identities_(identities) {}

Status RotationCredentials::EnsureRole(std::string_view secret_arn, const std::string& role_name) {
  namespace iam = domain::iam;
  util::MutexLock lock(mu_);
  auto role = identities_.GetRole(role_name);
  if (!role) {
    if (role.error().code != ErrorCode::kNotFound) return Fail(role.error());
    iam::NewRole spec;
    spec.name = role_name;
    spec.path = std::string(kRotationRolePath);
    spec.assume_role_policy = std::string(RotationTrustPolicy());
    spec.description = "Coffer rotation hook credentials for " + std::string(secret_arn);
    if (spec.description.size() > 1000) spec.description.resize(1000);
    spec.max_session_duration = iam::kMinRoleSessionSeconds;
    auto created = identities_.CreateRole(spec);
    if (!created && created.error().code != ErrorCode::kAlreadyExists) {
      return Fail(created.error());
    }
    role = identities_.GetRole(role_name);
    if (!role) return Fail(role.error());
    util::LogInfo("created rotation role", {{"role", role->arn}, {"secret", secret_arn}});
  }
  if (role->path != kRotationRolePath) {
    return Fail(ErrorCode::kFailedPrecondition,
                "role " + role_name + " exists outside " + std::string(kRotationRolePath) +
                    "; it is not used for rotation credentials");
  }
  if (role->assume_role_policy != RotationTrustPolicy()) {
    COFFER_RETURN_IF_ERROR(identities_.UpdateAssumeRolePolicy(role_name, RotationTrustPolicy()));
  }
  std::string want = RotationPolicyDocument(secret_arn);
  auto have = identities_.GetInlinePolicy(iam::EntityKind::kRole, role_name, kRotationPolicyName);
  if (!have || *have != want) {
    if (!have && have.error().code != ErrorCode::kNotFound) return Fail(have.error());
    COFFER_RETURN_IF_ERROR(
        identities_.PutInlinePolicy(iam::EntityKind::kRole, role_name, kRotationPolicyName, want));
  }
  return Ok();
}

Result<domain::iam::Session> RotationCredentials::Issue(std::string_view secret_arn,
                                                        std::string_view session_name,
                                                        std::chrono::seconds duration) {
  std::string role_name = RotationRoleName(secret_arn);
  COFFER_RETURN_IF_ERROR(EnsureRole(secret_arn, role_name));
  duration = std::clamp(duration, std::chrono::seconds(domain::iam::kMinSessionDurationSeconds),
                        std::chrono::seconds(domain::iam::kMinRoleSessionSeconds));
  domain::iam::SessionSource source;
  source.source_identity = "coffer-rotation";
  return identities_.CreateSession(role_name, session_name, duration, source, {});
}

// ---------------------------------------------------------------------------
// HookInvoker

HookInvoker::HookInvoker(RotationCredentials& credentials, util::Clock& clock,
                         HookInvokerOptions options)
    : credentials_(credentials), clock_(clock), options_(std::move(options)) {}

void HookInvoker::Shutdown() {
  shut_down_ = true;
  util::MutexLock lock(mu_);
  for (int pgid : running_) kill(-pgid, SIGKILL);
}

Status HookInvoker::Invoke(const sm::RotationStepCall& call) {
  if (shut_down_) return Fail(ErrorCode::kUnavailable, "the server is shutting down");
  const std::string& hook = call.hook;
  bool is_exec = hook.starts_with("/");
  bool is_http = hook.starts_with("http://") || hook.starts_with("https://");
  if (!is_exec && !is_http) {
    if (hook.starts_with("arn:aws:lambda:")) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "RotationLambdaARN is a Lambda ARN, which Coffer cannot invoke; set an "
                  "executable path or an http(s) URL (docs/rotation-hooks.md)");
    }
    return Fail(ErrorCode::kFailedPrecondition,
                "RotationLambdaARN is neither an absolute executable path nor an http(s) URL");
  }
  if (is_exec) {
    struct stat st {};
    if (stat(hook.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || access(hook.c_str(), X_OK) != 0) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "rotation hook " + hook + " is not an executable file");
    }
  }
  auto session = credentials_.Issue(call.secret_arn, SessionName(call),
                                    call.timeout + std::chrono::seconds(60));
  if (!session) {
    return Fail(ErrorCode::kFailedPrecondition,
                "cannot issue rotation credentials: " + session.error().message);
  }
  return is_exec ? RunExecutable(call, *session) : CallHttp(call, *session);
}

Status HookInvoker::RunExecutable(const sm::RotationStepCall& call,
                                  const domain::iam::Session& session) {
  // A private working directory, also HOME and TMPDIR of the hook.
  std::error_code ec;
  std::string base = std::filesystem::temp_directory_path(ec).string();
  if (ec || base.empty()) base = "/tmp";
  std::string workdir_template = base + "/coffer-hook-XXXXXX";
  if (mkdtemp(workdir_template.data()) == nullptr) {
    return Fail(ErrorCode::kUnavailable,
                std::string("cannot create the hook's working directory: ") + strerror(errno));
  }
  const std::string workdir = workdir_template;
  struct RemoveDir {
    const std::string& dir;
    ~RemoveDir() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_dir{workdir};

  std::string step(sm::RotationStepName(call.step));
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=" + workdir,
      "TMPDIR=" + workdir,
      "LANG=C.UTF-8",
      "AWS_ACCESS_KEY_ID=" + session.access_key_id,
      EnvVar("AWS_SECRET_ACCESS_KEY", session.secret_access_key.Reveal()),
      EnvVar("AWS_SESSION_TOKEN", session.session_token.Reveal()),
      "AWS_REGION=" + options_.region,
      "AWS_DEFAULT_REGION=" + options_.region,
      "AWS_ENDPOINT_URL=" + options_.endpoint_url,
      "AWS_ENDPOINT_URL_SECRETS_MANAGER=" + options_.endpoint_url,
      "COFFER_ENDPOINT_URL=" + options_.endpoint_url,
      "AWS_CONFIG_FILE=/dev/null",
      "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
      "AWS_EC2_METADATA_DISABLED=true",
      "AWS_PAGER=",
      "COFFER_SECRET_ID=" + call.secret_arn,
      "COFFER_SECRET_NAME=" + call.secret_name,
      "COFFER_CLIENT_REQUEST_TOKEN=" + call.token,
      "COFFER_ROTATION_STEP=" + step,
      "COFFER_CREDENTIALS_EXPIRATION=" + util::FormatIso8601(session.expiration),
  };
  // The CA of this server's certificate, for hooks that call back over https
  // (absent, not empty, when there is none: an empty AWS_CA_BUNDLE is not "none").
  if (!options_.ca_file.empty()) env.push_back("AWS_CA_BUNDLE=" + options_.ca_file);
  struct ClearEnv {
    std::vector<std::string>& env;
    ~ClearEnv() {
      for (std::string& s : env) SecureClear(s);
    }
  } clear_env{env};
  std::vector<char*> envp;
  for (std::string& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string hook = call.hook;
  std::vector<char*> argv = {hook.data(), step.data(), const_cast<char*>(call.secret_arn.c_str()),
                             const_cast<char*>(call.token.c_str()), nullptr};

  Pipe in, out, err;
  if (pipe2(in.fds, O_CLOEXEC) != 0 || pipe2(out.fds, O_CLOEXEC) != 0 ||
      pipe2(err.fds, O_CLOEXEC) != 0) {
    return Fail(ErrorCode::kUnavailable, std::string("cannot create pipes: ") + strerror(errno));
  }
  // The event fits in the pipe buffer: write it before the child exists, so
  // a hook that exits without reading cannot raise SIGPIPE here.
  std::string event = RotationEventJson(call) + "\n";
  if (write(in.fds[1], event.data(), event.size()) != static_cast<ssize_t>(event.size())) {
    return Fail(ErrorCode::kUnavailable, "cannot write the hook's event");
  }
  in.Close(1);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&actions, in.fds[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out.fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fds[1], 2);
  posix_spawn_file_actions_addchdir_np(&actions, workdir.c_str());
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  short signal_flags = ChildSignalDefaults(attr);
  posix_spawnattr_setpgroup(&attr, 0);  // its own process group, killed as a whole
  posix_spawnattr_setflags(&attr, static_cast<short>(signal_flags | POSIX_SPAWN_SETPGROUP));
  pid_t pid = -1;
  int spawned;
  {
    // Registered under the lock so Shutdown() never misses a hook.
    util::MutexLock lock(mu_);
    if (shut_down_) {
      spawned = ECANCELED;
    } else {
      spawned = posix_spawn(&pid, hook.c_str(), &actions, &attr, argv.data(), envp.data());
      if (spawned == 0) running_.insert(pid);
    }
  }
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  in.Close(0);
  out.Close(1);
  err.Close(1);
  if (spawned != 0) {
    return Fail(ErrorCode::kUnavailable,
                "cannot start rotation hook " + call.hook + ": " + strerror(spawned));
  }
  fcntl(out.fds[0], F_SETFL, O_NONBLOCK);
  fcntl(err.fds[0], F_SETFL, O_NONBLOCK);

  std::string captured_out;
  std::string captured_err;
  struct ClearOutput {
    std::string& a;
    std::string& b;
    ~ClearOutput() {
      SecureClear(a);
      SecureClear(b);
    }
  } clear_output{captured_out, captured_err};

  util::SteadyTime deadline = clock_.SteadyNow() + call.timeout;
  bool exited = false;
  bool timed_out = false;
  bool stopped = false;
  while (!exited) {
    siginfo_t info{};
    if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
      exited = true;
      break;
    }
    if (shut_down_) {
      stopped = true;
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.SteadyNow());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2];
    int nfds = 0;
    if (out.fds[0] >= 0) fds[nfds++] = {out.fds[0], POLLIN, 0};
    if (err.fds[0] >= 0) fds[nfds++] = {err.fds[0], POLLIN, 0};
    int wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 50));
    if (poll(fds, static_cast<nfds_t>(nfds), wait_ms) > 0) {
      if (out.fds[0] >= 0 && !Drain(out.fds[0], captured_out)) out.Close(0);
      if (err.fds[0] >= 0 && !Drain(err.fds[0], captured_err)) err.Close(0);
    }
  }
  // Kill the whole group (stragglers the hook left behind too), then reap.
  {
    util::MutexLock lock(mu_);
    kill(-pid, SIGKILL);
    running_.erase(pid);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (out.fds[0] >= 0) Drain(out.fds[0], captured_out);
  if (err.fds[0] >= 0) Drain(err.fds[0], captured_err);

  // Shutdown() may have killed it before this loop noticed the flag.
  if (stopped || (shut_down_ && WIFSIGNALED(status))) {
    return Fail(ErrorCode::kUnavailable, "rotation hook stopped: server shutting down");
  }
  if (timed_out) {
    return Fail(ErrorCode::kUnavailable, "rotation hook timed out after " +
                                             std::to_string(call.timeout.count()) + " s");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Ok();
  std::string message = ExitDescription(status);
  std::string reason = ReasonLine(captured_err);
  if (reason.empty()) reason = ReasonLine(captured_out);
  if (!reason.empty()) message += ": " + reason;
  return Fail(ErrorCode::kAborted, std::move(message));
}

Status HookInvoker::CallHttp(const sm::RotationStepCall& call,
                             const domain::iam::Session& session) {
  client::HttpCall request;
  request.method = "POST";
  request.url = call.hook;
  request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(call.timeout);
  request.ca_file = options_.ca_file;
  std::string step(sm::RotationStepName(call.step));
  request.headers = {{"Content-Type", "application/json"},
                     {"User-Agent", "coffer-rotation"},
                     {"X-Coffer-Rotation-Step", step}};
  // Lambda's event plus the credentials; the secret parts are escaped straight
  // into a buffer reserved up front, so no copy of them is left unzeroed.
  std::string& body = request.body;
  std::string event = RotationEventJson(call);
  body.reserve(event.size() + 2 * (session.secret_access_key.size() +
                                   session.session_token.size()) + 1024);
  body.append(event, 0, event.size() - 1);  // without its closing brace
  body += ",\"Credentials\":{\"AccessKeyId\":" + Quoted(session.access_key_id) +
          ",\"SecretAccessKey\":\"";
  util::AppendJsonEscaped(body, session.secret_access_key.Reveal());
  body += "\",\"SessionToken\":\"";
  util::AppendJsonEscaped(body, session.session_token.Reveal());
  body += "\",\"Expiration\":" + Quoted(util::FormatIso8601(session.expiration)) +
          "},\"Region\":" + Quoted(options_.region) +
          ",\"Endpoint\":" + Quoted(options_.endpoint_url) + "}";
  auto result = client::Perform(request);
  SecureClear(body);
  if (!result) {
    return Fail(ErrorCode::kUnavailable, "rotation hook unreachable: " + result.error().message);
  }
  long status = result->status;
  std::string reason = ReasonLine("coffer-error:" + std::string(result->Header("coffer-error")));
  SecureClear(result->body);
  if (status >= 200 && status < 300) return Ok();
  std::string message = "rotation hook answered HTTP " + std::to_string(status);
  if (!reason.empty()) message += ": " + reason;
  return Fail(ErrorCode::kAborted, std::move(message));
}

}  // namespace coffer::server
