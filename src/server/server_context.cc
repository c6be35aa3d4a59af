#include "server/server_context.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "api/awsjson/json_protocol.h"
#include "api/pipeline/pipeline.h"
#include "api/awsjson/ssm_service.h"
#include "api/native/native_api.h"
#include "api/native/sys_api.h"
#include "api/native/changes_api.h"
#include "domain/feed/change_feed.h"
#include "api/router/router.h"
#include "api/awsjson/kms_service.h"
#include "api/awsjson/secretsmanager_service.h"
#include "api/awsquery/iam_service.h"
#include "api/awsquery/query_protocol.h"
#include "api/awsquery/sts_service.h"
#include "api/s3/s3_front.h"
#include "domain/s3/object_store.h"
#include "domain/secrets/secret_store.h"
#include "audit/audit.h"
#include "auth/authorizer.h"
#include "auth/authenticator.h"
#include "auth/oidc.h"
#include "client/http_client.h"
#include "domain/iam/identity_store.h"
#include "domain/kms/key_directory.h"
#include "domain/parameters/parameter_store.h"
#include "keyring/keyring.h"
#include "server/process.h"
#include "server/rotation_hooks.h"
#include "storage/backend.h"
#include "storage/memory/memory_backend.h"
#include "storage/sqlite/sqlite_backend.h"
#include "util/id_generator.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/private_file.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::server {
namespace {

using util::SecureClear;
using util::SecureZero;

constexpr std::string_view kAdminUser = "admin";

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + strerror(errno);
}

// Creates `dir` with mode 0700 if absent. kFailedPrecondition if it cannot be
// created or exists and is not a directory.
Status EnsureDataDir(const std::string& dir) {
  if (dir.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "--data-dir is required", Reason::kValidation);
  }
  if (mkdir(dir.c_str(), 0700) == 0) return Ok();
  if (errno != EEXIST) return Fail(ErrorCode::kFailedPrecondition, Errno("cannot create", dir));
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Fail(ErrorCode::kFailedPrecondition, "data dir " + dir + " is not a directory");
  }
  return Ok();
}

// Runs `git -C work_tree check-ignore -q -- path/` (no shell, GIT_* variables
// dropped, output discarded). true when git says the path is ignored; false
// when it is not, or when git cannot be run or answers anything else.
bool GitIgnores(const std::string& work_tree, const std::string& path) {
  std::vector<char*> envp;
  for (char** e = ::environ; *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with("GIT_")) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  std::string git = "git", dash_c = "-C", tree = work_tree, sub = "check-ignore", quiet = "-q",
              end = "--", target = path + "/";
  std::vector<char*> argv = {git.data(),   dash_c.data(), tree.data(),   sub.data(),
                             quiet.data(), end.data(),    target.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_setflags(&attr, ChildSignalDefaults(attr));
  pid_t pid = -1;
  int spawned = posix_spawnp(&pid, "git", &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (spawned != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A data directory holds the root key, the audit key and the database: inside a
// git work tree it is one `git add .` away from being committed. Refused
// (kFailedPrecondition) when `dir` lies in a work tree (a parent, or `dir`
// itself, has a .git entry) and git does not say the path is ignored; also
// refused when git cannot be asked. Checked before the directory is created.
Status RefuseDataDirInGitWorkTree(const std::string& dir) {
  if (dir.empty()) return Ok();  // EnsureDataDir reports it
  std::error_code ec;
  namespace fs = std::filesystem;
  fs::path path = fs::absolute(dir, ec);
  if (!ec) path = fs::weakly_canonical(path, ec);
  if (ec) return Fail(ErrorCode::kFailedPrecondition, "cannot resolve data dir " + dir);
  for (fs::path p = path;; p = p.parent_path()) {
    if (fs::exists(p / ".git", ec)) {
      if (GitIgnores(p.string(), path.string())) return Ok();
      return Fail(ErrorCode::kFailedPrecondition,
                  "data dir " + path.string() + " lies inside the git work tree " + p.string() +
                      " and is not ignored by git (or git cannot be run to ask); it would hold "
                      "the root key: add it to " + (p / ".gitignore").string() +
                      " or choose a --data-dir outside the work tree");
    }
    if (p == p.parent_path()) return Ok();
  }
}

// Reads a small file; kNotFound if absent.
Result<std::string> ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Fail(ErrorCode::kNotFound, path + " does not exist");
    return Fail(ErrorCode::kFailedPrecondition, Errno("cannot open", path));
  }
  std::string content;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      SecureZero(buf, sizeof(buf));
      SecureClear(content);
      return Fail(ErrorCode::kFailedPrecondition, Errno("cannot read", path));
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > 64 * 1024) break;  // not a credentials file
  }
  SecureZero(buf, sizeof(buf));
  close(fd);
  return content;
}

// The aws_access_key_id of the [default] profile in a shared-credentials file;
// "" when there is none.
std::string DefaultAccessKeyId(std::string_view content) {
  bool in_default = false;
  while (!content.empty()) {
    size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content.remove_prefix(nl == std::string_view::npos ? content.size() : nl + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (line.starts_with('[')) {
      in_default = line == "[default]";
      continue;
    }
    if (!in_default) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (key != "aws_access_key_id") continue;
    std::string_view value = line.substr(eq + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return std::string(value);
  }
  return "";
}

// Dev mode: DATA_DIR/config names the region for AWS clients (the
// shared-credentials file may not carry it). Rewritten only when it differs.
Status WriteDevConfig(const ServerOptions& options) {
  std::string path = options.data_dir + "/config";
  std::string want = "[default]\nregion = " + options.region + "\n";
  if (auto have = ReadSmallFile(path); have.has_value() && *have == want) return Ok();
  return util::WritePrivateFile(path, want);
}

// Dev mode: makes sure the admin user exists and DATA_DIR/credentials holds a
// valid access key of it. A valid existing file is kept (never rotated).
Status EnsureDevIdentity(const ServerOptions& options, Serving& serving) {
  const std::string& dir = options.data_dir;
  auto& identities = *serving.identities;
  if (auto user = identities.GetUser(kAdminUser); !user) {
    if (user.error().code != ErrorCode::kNotFound) return Fail(user.error());
    COFFER_RETURN_IF_ERROR(identities.CreateUser(kAdminUser, /*is_admin=*/true));
    util::LogInfo("created dev admin user", {{"user", kAdminUser}});
  }

  std::string credentials_path = dir + "/credentials";
  if (auto content = ReadSmallFile(credentials_path); content.has_value()) {
    std::string akid = DefaultAccessKeyId(*content);
    SecureClear(*content);
    if (!akid.empty()) {
      auto found = identities.LookupAccessKey(akid);
      if (found.has_value() && found->user.name == kAdminUser) return Ok();
      if (!found.has_value() && found.error().code != ErrorCode::kNotFound) {
        return Fail(found.error());
      }
    }
    util::LogWarn("credentials file does not name a valid admin key; writing a new one",
                  {{"path", credentials_path}});
  } else if (content.error().code != ErrorCode::kNotFound) {
    return Fail(content.error());
  }

  COFFER_ASSIGN_OR_RETURN(domain::iam::AccessKey key, identities.CreateAccessKey(kAdminUser));
  std::string file = "[default]\naws_access_key_id = " + key.access_key_id +
                     "\naws_secret_access_key = ";
  file += key.secret_access_key.Reveal();
  file += '\n';
  Status written = util::WritePrivateFile(credentials_path, file);
  SecureClear(file);
  COFFER_RETURN_IF_ERROR(written);
  util::LogInfo("wrote dev credentials",
                {{"path", credentials_path}, {"access_key_id", key.access_key_id}});
  return Ok();
}

Result<std::unique_ptr<storage::Backend>> OpenBackend(const ServerOptions& options) {
  switch (options.storage) {
    case StorageKind::kMemory:
      return std::unique_ptr<storage::Backend>(std::make_unique<storage::memory::MemoryBackend>());
    case StorageKind::kSqlite: {
      storage::sqlite::SqliteOptions sqlite_options;
      sqlite_options.max_events = options.feed_retained_events;
      COFFER_ASSIGN_OR_RETURN(auto sqlite, storage::sqlite::SqliteBackend::Open(
                                               options.data_dir + "/coffer.db", sqlite_options));
      return std::unique_ptr<storage::Backend>(std::move(sqlite));
    }
  }
  return Fail(ErrorCode::kInvalidArgument, "unknown storage kind", Reason::kValidation);
}

// Fetches OIDC discovery documents and JWKS for auth::OidcVerifier over
// client/ (libcurl): GET, 5 s timeout, 200 only, at most 1 MiB.
class CurlFetcher final : public auth::HttpFetcher {
 public:
  explicit CurlFetcher(std::string ca_file) : ca_file_(std::move(ca_file)) {}

  Result<std::string> Fetch(const std::string& url) override {
    client::HttpCall call;
    call.url = url;
    call.timeout = std::chrono::seconds(5);
    call.ca_file = ca_file_;
    call.headers = {{"Accept", "application/json"}};
    COFFER_ASSIGN_OR_RETURN(client::HttpResult result, client::Perform(call));
    if (result.status != 200) {
      return Fail(ErrorCode::kUnavailable,
                  url + " answered HTTP " + std::to_string(result.status));
    }
    if (result.body.size() > (1u << 20)) {
      return Fail(ErrorCode::kUnavailable, url + " answered more than 1 MiB");
    }
    return std::move(result.body);
  }

 private:
  std::string ca_file_;
};


// Builds the serving parts from the root keys (current first). When more than
// one is given, a root rotation was cut short: it is finished here.
Result<std::shared_ptr<Serving>> BuildServing(ServerContext& context,
                                              std::vector<keyring::RootKey> roots) {
  const ServerOptions& options = context.options;
  auto serving = std::make_shared<Serving>();
  Serving* s = serving.get();
  bool finish_rotation = roots.size() > 1;
  COFFER_ASSIGN_OR_RETURN(s->keyring,
                          keyring::Keyring::Open(*context.backend, std::move(roots), *context.clock));
  if (finish_rotation) {
    COFFER_ASSIGN_OR_RETURN(int64_t rewrapped, s->keyring->RewrapUnderCurrentRoot());
    util::LogInfo("finished a root key rotation that was cut short", {{"rewrapped", rewrapped}});
  }
  s->keys = std::make_unique<domain::kms::KeyDirectory>(*context.backend, *s->keyring,
                                                        *context.clock, *context.ids,
                                                        options.region, options.account_id);
  s->identities = std::make_unique<domain::iam::IdentityStore>(
      *context.backend, *s->keyring, *context.clock, *context.ids, options.account_id);
  s->authenticator =
      std::make_unique<auth::Authenticator>(*s->identities, *context.clock, options.region);
  s->parameters = std::make_unique<domain::parameters::ParameterStore>(
      *context.backend, *s->keyring, *s->keys, *context.clock, options.region,
      options.account_id);
  s->policy_cache = std::make_unique<auth::PolicyCache>();
  s->authorizer = std::make_unique<auth::Authorizer>(
      auth::Authorizer::IamPolicies(*s->identities, *s->policy_cache), *context.clock);
  if (options.unsafe_skip_authorization) {
    util::LogWarn("AUTHORIZATION IS OFF for SSM, Secrets Manager and KMS "
                  "(--unsafe-skip-authorization): every authenticated caller may do everything; "
                  "for benchmarks only");
    s->json_authorizer =
        std::make_unique<auth::Authorizer>(auth::Authorizer::UnsafeAllowAll(*context.clock));
  }
  s->json = std::make_unique<api::awsjson::JsonProtocol>();
  s->json_pipeline = std::make_unique<api::pipeline::Pipeline>(
      *s->authenticator, s->json_authorizer ? *s->json_authorizer : *s->authorizer,
      *context.audit, *context.metrics, *context.clock);
  auto ssm = std::make_unique<api::awsjson::SsmService>(*s->parameters);
  api::awsjson::SsmService* ssm_service = ssm.get();
  s->json->AddService(std::move(ssm));
  s->secrets = std::make_unique<domain::secrets::SecretStore>(
      *context.backend, *s->keyring, *s->keys, *context.clock, *context.ids, options.region,
      options.account_id);
  auto sm = std::make_unique<api::awsjson::SecretsManagerService>(*s->secrets, *s->keys);
  api::awsjson::SecretsManagerService* sm_service = sm.get();
  s->json->AddService(std::move(sm));
  // The change feed (GET /v1/changes): names and versions only, each shown to
  // a caller only if it may read it as GetParameter / GetSecretValue would
  // decide. Runs on the IAM authorizer (query_pipeline), never allow-all.
  s->feed = std::make_unique<domain::feed::ChangeFeed>(*context.backend);
  s->changes = std::make_unique<api::native::ChangesFront>(
      *s->feed,
      [ssm_service, sm_service](const domain::feed::Change& change,
                                auth::RequestAuthorization& authz) {
        return change.type == domain::feed::ChangeType::kParameter
                   ? ssm_service->MayReadValue(change.name, authz)
                   : sm_service->MayReadValue(change.name, authz);
      },
      *context.clock, options.region, options.account_id);
  {
    auto kms = std::make_unique<api::awsjson::KmsService>(*s->keys, *s->keyring);
    // `coffer kms rewrap` calls it (RewrapStoredValues).
    kms->EnableRewrap(*s->parameters, *s->secrets);
    s->json->AddService(std::move(kms));
  }

  s->query = std::make_unique<api::awsquery::QueryProtocol>();
  s->query_pipeline = std::make_unique<api::pipeline::Pipeline>(
      *s->authenticator, *s->authorizer, *context.audit, *context.metrics, *context.clock);
  s->query->AddService(
      std::make_unique<api::awsquery::IamService>(*s->identities, options.account_id));
  s->oidc_fetcher = std::make_unique<CurlFetcher>(options.oidc_ca_file);
  // An unknown kid refetches the issuer's JWKS at most every 5 s (key rotation
  // is picked up at once; a flood of made-up kids costs one fetch per 5 s).
  s->oidc = std::make_unique<auth::OidcVerifier>(*s->oidc_fetcher, *context.clock,
                                                 std::chrono::seconds(5));
  for (const auto& [issuer, file] : options.oidc_static_jwks) {
    auto text = ReadSmallFile(file);
    if (!text) {
      return Fail(ErrorCode::kInvalidArgument,
                  "cannot read the static JWKS " + file + ": " + text.error().message);
    }
    if (Status set = s->oidc->SetStaticJwks(issuer, *text); !set) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the static JWKS " + file + " does not parse: " + set.error().message);
    }
  }
  s->query->AddService(
      std::make_unique<api::awsquery::StsService>(*s->identities, *s->oidc, *context.clock));

  domain::s3::ObjectStoreOptions object_options;
  object_options.max_object_bytes = options.s3_max_object_bytes;
  s->objects = std::make_unique<domain::s3::ObjectStore>(
      *context.backend, *s->keyring, *s->keys, *context.clock, *context.ids, object_options);
  api::s3::S3FrontOptions s3_options;
  s3_options.virtual_host_domains = options.s3_domains;
  s3_options.max_request_bytes = options.s3_max_request_bytes;
  s->s3 = std::make_unique<api::s3::S3Front>(*s->objects, std::move(s3_options));

  if (options.dev) {
    COFFER_RETURN_IF_ERROR(EnsureDevIdentity(options, *s));
    COFFER_RETURN_IF_ERROR(WriteDevConfig(options));
  }

  // Rotation: hooks call this server back with credentials scoped to the secret.
  s->rotation_credentials = std::make_unique<RotationCredentials>(*s->identities);
  HookInvokerOptions hook_options;
  hook_options.endpoint_url =
      options.rotation_endpoint_url.empty() ? context.Url() : options.rotation_endpoint_url;
  hook_options.region = options.region;
  hook_options.ca_file = options.rotation_ca_file;
  s->rotation_hooks =
      std::make_unique<HookInvoker>(*s->rotation_credentials, *context.clock, hook_options);
  s->rotation = std::make_unique<domain::secrets::RotationEngine>(
      *s->secrets, *context.backend, *s->rotation_hooks, *context.clock, *context.ids,
      *context.metrics, options.rotation);
  s->rotation->Start();
  util::Clock* clock = context.clock.get();
  s->maintenance = std::thread([s, clock] {
    std::unique_lock lock(s->maintenance_mu);
    // The first pass runs at start: work that fell due while no server ran is
    // done now, not a minute later.
    do {
      lock.unlock();
      util::SystemTime now = clock->Now();
      if (auto r = s->secrets->RunDueDeletions(now); !r) {
        util::LogWarn("scheduled secret deletions failed", {{"error", r.error().message}});
      } else if (*r > 0) {
        util::LogInfo("deleted secrets whose recovery window ended", {{"count", *r}});
      }
      if (auto r = s->keys->RunDueDeletions(now); !r) {
        util::LogWarn("scheduled key deletions failed", {{"error", r.error().message}});
      } else if (*r > 0) {
        util::LogInfo("deleted KMS keys whose pending window ended", {{"count", *r}});
      }
      if (auto r = s->keys->RunDueRotations(now); !r) {
        util::LogWarn("scheduled key rotations failed", {{"error", r.error().message}});
      }
      lock.lock();
    } while (!s->maintenance_cv.wait_for(lock, std::chrono::minutes(1),
                                         [s] { return s->stopping; }));
  });
  return serving;
}

// The seal controller's view of the context.
SealHost MakeSealHost(ServerContext& context) {
  SealHost host;
  host.unseal = [&context](std::vector<keyring::RootKey> roots) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto serving, BuildServing(context, std::move(roots)));
    context.Serve(std::move(serving));
    context.native->SetSealed(false);
    return Ok();
  };
  host.seal = [&context] {
    context.native->SetSealed(true);
    context.Serve(nullptr);
  };
  host.rotate_root = [&context](keyring::RootKey next) -> Result<int64_t> {
    auto serving = context.serving();
    if (!serving) return Fail(ErrorCode::kUnavailable, "sealed", Reason::kSealed);
    return serving->keyring->RotateRoot(std::move(next));
  };
  host.create_admin = [&context]() -> Result<std::pair<std::string, SecretBytes>> {
    auto serving = context.serving();
    if (!serving) return Fail(ErrorCode::kUnavailable, "sealed", Reason::kSealed);
    auto& identities = *serving->identities;
    if (auto user = identities.GetUser(kAdminUser); !user) {
      if (user.error().code != ErrorCode::kNotFound) return Fail(user.error());
      COFFER_RETURN_IF_ERROR(identities.CreateUser(kAdminUser, /*is_admin=*/true));
    }
    COFFER_ASSIGN_OR_RETURN(domain::iam::AccessKey key, identities.CreateAccessKey(kAdminUser));
    util::LogInfo("created the initial admin", {{"user", kAdminUser},
                                                {"access_key_id", key.access_key_id}});
    return std::make_pair(key.access_key_id, std::move(key.secret_access_key));
  };
  return host;
}

}  // namespace

Serving::Serving() = default;

Serving::~Serving() { StopBackground(); }

void Serving::StopBackground() {
  if (feed) feed->Shutdown();  // long-polls answer at once
  if (rotation_hooks) rotation_hooks->Shutdown();
  if (rotation) rotation->Stop();
  {
    std::lock_guard lock(maintenance_mu);
    stopping = true;
  }
  maintenance_cv.notify_all();
  if (maintenance.joinable()) maintenance.join();
}

ServerContext::ServerContext() = default;

ServerContext::~ServerContext() { Stop(*this); }

std::shared_ptr<Serving> ServerContext::serving() const {
  util::MutexLock lock(serving_mu_);
  return serving_;
}

void ServerContext::Serve(std::shared_ptr<Serving> next) {
  std::shared_ptr<Serving> old;
  {
    util::MutexLock lock(serving_mu_);
    old = std::exchange(serving_, std::move(next));
  }
  if (old) old->StopBackground();
}
std::string ServerContext::Url() const {
  if (!http) return "";
  const std::string& host = http->host();
  std::string url = http->tls() ? "https://" : "http://";
  if (host.find(':') != std::string::npos) {
    url += '[' + host + ']';
  } else {
    url += host;
  }
  url += ':' + std::to_string(http->port());
  return url;
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  auto bad = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                "listen address '" + std::string(text) + "' is not HOST:PORT", Reason::kValidation);
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return bad();
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad();  // IPv6 needs brackets
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad();
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(port)};
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost") return true;
  std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

Status CheckListenTransport(const ServerOptions& options) {
  if (options.http.tls.enabled() || options.insecure_http) return Ok();
  COFFER_ASSIGN_OR_RETURN(ListenAddress listen, ParseListenAddress(options.listen));
  if (IsLoopbackHost(listen.host)) return Ok();
  return Fail(ErrorCode::kInvalidArgument,
              "refusing to serve plain HTTP on " + options.listen +
                  ", which is not a loopback address: give a certificate with --tls-cert-file "
                  "and --tls-key-file, or pass --insecure-http to accept that credentials and "
                  "values cross the network in the clear",
              Reason::kValidation);
}

Status ReloadTls(ServerContext& context) {
  if (!context.http || !context.http->tls()) {
    util::LogInfo("SIGHUP: TLS is not enabled, nothing to reload");
    return Ok();
  }
  return context.http->ReloadTls();  // logs the outcome
}

Result<std::unique_ptr<ServerContext>> Start(const ServerOptions& options) {
  COFFER_ASSIGN_OR_RETURN(ListenAddress listen, ParseListenAddress(options.listen));
  // Plain HTTP only on loopback, or when asked for out loud (docs/tls.md).
  COFFER_RETURN_IF_ERROR(CheckListenTransport(options));
  if (!options.http.tls.enabled() && !IsLoopbackHost(listen.host)) {
    util::LogWarn("INSECURE: serving plain HTTP beyond loopback (--insecure-http): credentials "
                  "and secret values cross the network in the clear; use TLS",
                  {{"listen", options.listen}});
  }
  if (auto hardened = HardenProcess(); !hardened) {
    util::LogWarn("process hardening failed", {{"error", hardened.error().message}});
  }
  // Every file the server creates is private to its user (0600, directories 0700).
  ::umask(077);
  COFFER_RETURN_IF_ERROR(RefuseDataDirInGitWorkTree(options.data_dir));
  COFFER_RETURN_IF_ERROR(EnsureDataDir(options.data_dir));

  auto context = std::make_unique<ServerContext>();
  context->options = options;
  context->clock = std::make_unique<util::SystemClock>();
  context->ids = std::make_unique<util::RandomIdGenerator>();
  context->metrics = std::make_unique<util::Metrics>();
  COFFER_ASSIGN_OR_RETURN(context->backend, OpenBackend(options));
  COFFER_ASSIGN_OR_RETURN(SecretBytes audit_key,
                          audit::LoadOrCreateKey(options.data_dir + "/audit.key"));
  COFFER_ASSIGN_OR_RETURN(context->audit, audit::FileSink::Open(options.data_dir + "/audit.log",
                                                                std::move(audit_key)));
  context->native = std::make_unique<api::native::NativeApi>(*context->metrics);
  context->native->SetSealed(true);
  SealOptions seal_options;
  seal_options.dev = options.dev;
  seal_options.unseal_key_file = options.unseal_key_file;
  seal_options.kms = options.unseal_kms;
  context->seal = std::make_unique<SealController>(*context->backend, *context->clock,
                                                   std::move(seal_options),
                                                   MakeSealHost(*context));
  context->sys = std::make_unique<api::native::SysFront>(*context->seal, options.region,
                                                         options.account_id);
  ServerContext* ctx = context.get();
  context->router = std::make_unique<api::router::Router>(
      *context->native,
      [ctx](const api::HttpRequest& request) {
        std::shared_ptr<Serving> s = ctx->serving();
        if (!s) return api::router::Router::Sealed(request);
        return s->json_pipeline->Handle(*s->json, request);
      },
      [ctx](const api::HttpRequest& request) {
        std::shared_ptr<Serving> s = ctx->serving();
        if (!s) return api::router::Router::Sealed(request);
        return s->query_pipeline->Handle(*s->query, request);
      },
      [ctx](const api::HttpRequest& request) {
        std::shared_ptr<Serving> s = ctx->serving();
        if (api::native::IsChangesPath(request.path)) {
          if (!s) return api::router::Router::Sealed(request);
          return s->query_pipeline->Handle(*s->changes, request);
        }
        if (!s) return ctx->sys->HandleSealed(request, *ctx->audit, *ctx->clock);
        return s->query_pipeline->Handle(*ctx->sys, request);
      },
      [ctx](const api::HttpRequest& request) {
        std::shared_ptr<Serving> s = ctx->serving();
        if (!s) return api::router::Router::Sealed(request);
        return s->query_pipeline->Handle(*s->s3, request);
      });

  // Bound before the serving parts are built: rotation hooks need the URL.
  HttpServerOptions http = options.http;
  http.host = listen.host;
  http.port = listen.port;
  // Writes wait for their group commit off the io threads.
  if (!http.offload) http.offload = &api::router::Router::MayBlock;
  // S3 object uploads may be larger than the other APIs' bodies.
  if (!http.large_body_limit) {
    // Only for a caller whose signature over the request's head verifies: an
    // unauthenticated client cannot make the server buffer more than
    // max_body_bytes (the request is verified again, body included, when it runs).
    http.large_body_limit = [ctx](const api::HttpRequest& head) -> size_t {
      if (!api::router::Router::IsS3(head)) return 0;
      std::shared_ptr<Serving> s = ctx->serving();
      if (!s) return 0;
      size_t limit = s->s3->BodyLimit(head);
      if (limit == 0) return 0;
      auth::SignedRequest signed_head;
      signed_head.method = head.method;
      signed_head.path = head.path;
      signed_head.query = head.query;
      signed_head.service = "s3";
      signed_head.payload = auth::PayloadSigning::kAllowUnsigned;
      signed_head.verify_body = false;
      for (const auto& [name, value] : head.headers) signed_head.headers.emplace_back(name, value);
      return s->authenticator->Authenticate(signed_head).has_value() ? limit : 0;
    };
  }
  COFFER_ASSIGN_OR_RETURN(
      context->http,
      HttpServer::Create(
          http,
          [router = context->router.get()](api::HttpRequest& request) {
            return router->Handle(request);
          },
          *context->metrics, *context->ids, *context->clock));

  if (options.dev) {
    COFFER_ASSIGN_OR_RETURN(keyring::RootKey root,
                            keyring::RootKey::LoadOrCreateFile(options.data_dir + "/root.key"));
    std::vector<keyring::RootKey> roots;
    roots.push_back(std::move(root));
    COFFER_ASSIGN_OR_RETURN(auto serving, BuildServing(*context, std::move(roots)));
    context->Serve(std::move(serving));
    context->native->SetSealed(false);
  } else {
    COFFER_RETURN_IF_ERROR(context->seal->Start());
  }
  context->http->Start();
  util::LogInfo("serving", {{"url", context->Url()},
                            {"data_dir", options.data_dir},
                            {"region", options.region},
                            {"mode", options.dev ? "dev" : "production"},
                            {"sealed", context->native->is_sealed()},
                            {"storage", options.storage == StorageKind::kSqlite ? "sqlite" : "memory"}});
  return context;
}

void Stop(ServerContext& context) {
  // No unseal may start from here on (the --unseal-kms retries).
  if (context.seal) context.seal->Shutdown();
  if (std::shared_ptr<Serving> serving = context.serving()) serving->StopBackground();
  if (context.http) context.http->Shutdown();
  context.Serve(nullptr);
}

}  // namespace coffer::server
