// The server role put together: ServerContext holds every part of a running
// server (Bitcoin's NodeContext: a plain struct of owners, no globals), built
// once by Start() in dependency order and torn down in reverse.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>
#include <string>
#include <string_view>

#include "domain/secrets/rotation.h"
#include "server/http_server.h"
#include "server/seal_controller.h"
#include "util/mutex.h"
#include "util/result.h"

namespace coffer {
namespace util {
class Clock;
class IdGenerator;
class Metrics;
}  // namespace util
namespace storage {
class Backend;
}  // namespace storage
namespace keyring {
class Keyring;
}  // namespace keyring
namespace domain::kms {
class KeyDirectory;
}  // namespace domain::kms
namespace domain::iam {
class IdentityStore;
}  // namespace domain::iam
namespace domain::parameters {
class ParameterStore;
}  // namespace domain::parameters
namespace domain::secrets {
class SecretStore;
}  // namespace domain::secrets
namespace domain::s3 {
class ObjectStore;
}  // namespace domain::s3
namespace api::awsquery {
class QueryProtocol;
}  // namespace api::awsquery
namespace api::s3 {
class S3Front;
}  // namespace api::s3
namespace auth {
class Authenticator;
class HttpFetcher;
class OidcVerifier;
class PolicyCache;
class Authorizer;
}  // namespace auth
namespace audit {
class FileSink;
}  // namespace audit
namespace api::awsjson {
class JsonProtocol;
}  // namespace api::awsjson
namespace api::pipeline {
class Pipeline;
}  // namespace api::pipeline
namespace api::native {
class NativeApi;
class SysFront;
class ChangesFront;
}  // namespace api::native
namespace domain::feed {
class ChangeFeed;
}  // namespace domain::feed
namespace api::router {
class Router;
}  // namespace api::router
}  // namespace coffer

namespace coffer::server {

class RotationCredentials;
class HookInvoker;
class SealController;

enum class StorageKind {
  kSqlite,  // DATA_DIR/coffer.db (the default)
  kMemory,  // nothing persists: for tests and throw-away dev servers
};

struct ServerOptions {
  // Dev mode: the root key lives in DATA_DIR/root.key and an admin identity is
  // created on first start. Production mode: the root key is sealed
  // (SealController); `coffer operator init` then unseal.
  bool dev = false;
  // Production mode's automated unseal (docs/operations.md).
  std::string unseal_key_file;
  UnsealKmsOptions unseal_kms;
  std::string data_dir;
  std::string listen = "127.0.0.1:8200";  // HOST:PORT; port 0 = ephemeral
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  StorageKind storage = StorageKind::kSqlite;
  // Storage events kept for the change feed (GET /v1/changes); a reader
  // further behind is told to resync (410). > 0.
  size_t feed_retained_events = 100000;
  // OIDC federation (STS AssumeRoleWithWebIdentity): a PEM CA bundle to trust
  // when fetching issuers' discovery documents and JWKS ("" = the system's),
  // and static JWKS files for issuers that cannot be reached (air-gapped),
  // as (issuer URL, file path) pairs.
  std::string oidc_ca_file;
  std::vector<std::pair<std::string, std::string>> oidc_static_jwks;
  // Benchmarking only (bench/authz_load.py measures the cost of authorization
  // against it): the JSON APIs (SSM, Secrets Manager, KMS) skip policy
  // evaluation entirely; IAM and STS still authorize. Logged loudly at start.
  bool unsafe_skip_authorization = false;
  // Limits, timeouts, threads and TLS (http.tls, docs/tls.md); host and port
  // are taken from `listen`.
  HttpServerOptions http;
  // Plain HTTP on a host other than loopback (127.0.0.0/8, ::1, localhost) is
  // refused unless this is set (--insecure-http); see CheckListenTransport().
  bool insecure_http = false;
  // Secret rotation (docs/rotation-hooks.md): hook timeout, retry backoff,
  // rescan interval and workers of the engine, and the URL that hooks call
  // back ("" = this server's own URL).
  domain::secrets::RotationOptions rotation;
  std::string rotation_endpoint_url;
  // PEM CA bundle rotation hooks verify this server (and https hooks) with;
  // given to executable hooks as AWS_CA_BUNDLE ("" = the system's CAs).
  std::string rotation_ca_file;
  // The S3 API (docs/s3.md): the largest object (--s3-max-object-size), the
  // largest request body, i.e. one PutObject or UploadPart with its framing
  // (--s3-max-request-size), and the host names under which
  // "<bucket>.<name>" is a virtual-host style address (--s3-domain).
  uint64_t s3_max_object_bytes = 5ull * 1024 * 1024 * 1024;
  size_t s3_max_request_bytes = 64 * 1024 * 1024;
  std::vector<std::string> s3_domains = {"localhost"};
};

// The parts that serve requests, which exist only while the server is
// unsealed: everything built on the keyring (it holds the root keys). Built
// by BuildServing from the root keys; stopped (StopBackground) and dropped
// when the server seals; requests in flight keep it alive until they finish.
// Members are declared in dependency order. Not copyable.
struct Serving {
  Serving();
  ~Serving();  // StopBackground(), then the parts in reverse order
  Serving(const Serving&) = delete;
  Serving& operator=(const Serving&) = delete;

  // Stops rotation and scheduled work (joins their threads). Idempotent.
  void StopBackground();

  std::unique_ptr<keyring::Keyring> keyring;
  std::unique_ptr<domain::kms::KeyDirectory> keys;
  std::unique_ptr<domain::iam::IdentityStore> identities;
  std::unique_ptr<auth::Authenticator> authenticator;
  std::unique_ptr<auth::PolicyCache> policy_cache;
  std::unique_ptr<auth::Authorizer> authorizer;  // IAM policies, for every front
  // SSM, Secrets Manager and KMS: `authorizer`, or with
  // --unsafe-skip-authorization (dev benchmarks) an authorizer that allows all.
  std::unique_ptr<auth::Authorizer> json_authorizer;
  std::unique_ptr<auth::HttpFetcher> oidc_fetcher;
  std::unique_ptr<auth::OidcVerifier> oidc;
  std::unique_ptr<domain::parameters::ParameterStore> parameters;
  std::unique_ptr<domain::secrets::SecretStore> secrets;
  std::unique_ptr<domain::s3::ObjectStore> objects;
  std::unique_ptr<api::awsjson::JsonProtocol> json;
  std::unique_ptr<api::s3::S3Front> s3;  // runs on query_pipeline (IAM policies)
  std::unique_ptr<api::awsquery::QueryProtocol> query;
  // The request pipeline of each front (api/pipeline): the same stages, with
  // the front's authorizer. The operator API (/v1/sys/) runs on
  // query_pipeline (IAM policies, never the benchmark allow-all).
  std::unique_ptr<api::pipeline::Pipeline> json_pipeline;
  std::unique_ptr<api::pipeline::Pipeline> query_pipeline;
  // The change feed and its front (GET /v1/changes, on query_pipeline).
  std::unique_ptr<domain::feed::ChangeFeed> feed;
  std::unique_ptr<api::native::ChangesFront> changes;
  // Scheduled work (secret and key deletions, key rotations), every minute.
  std::thread maintenance;
  std::mutex maintenance_mu;
  std::condition_variable maintenance_cv;
  bool stopping = false;
  // Secret rotation: hooks call back over HTTP; stopped first (running hooks
  // are killed).
  std::unique_ptr<RotationCredentials> rotation_credentials;
  std::unique_ptr<HookInvoker> rotation_hooks;
  std::unique_ptr<domain::secrets::RotationEngine> rotation;
};

// Owns the parts of a running server. Members are declared in dependency
// order, so they are destroyed in reverse (the listener first). Not copyable.
struct ServerContext {
  ServerContext();
  ~ServerContext();  // stops the listener gracefully if still running
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  ServerOptions options;
  std::unique_ptr<util::Clock> clock;
  std::unique_ptr<util::IdGenerator> ids;
  std::unique_ptr<util::Metrics> metrics;
  std::unique_ptr<storage::Backend> backend;
  std::unique_ptr<audit::FileSink> audit;  // DATA_DIR/audit.log
  std::unique_ptr<api::native::NativeApi> native;
  std::unique_ptr<SealController> seal;
  std::unique_ptr<api::native::SysFront> sys;
  std::unique_ptr<api::router::Router> router;
  std::unique_ptr<HttpServer> http;

  // The serving parts; null while sealed. A request takes its own reference
  // for its whole run.
  std::shared_ptr<Serving> serving() const;
  // Publishes `next` (null: seals), stopping the background work of the
  // parts it replaces.
  void Serve(std::shared_ptr<Serving> next);

  // "http://HOST:PORT" with the bound port (IPv6 hosts in brackets); "https://"
  // when the listener speaks TLS.
  std::string Url() const;

 private:
  mutable util::Mutex serving_mu_;
  std::shared_ptr<Serving> serving_ COFFER_GUARDED_BY(serving_mu_);
};

struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
// Parses "HOST:PORT" or "[V6HOST]:PORT". kInvalidArgument (kValidation) when
// the port is missing or not a number in 0..65535, or the host is empty.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// Whether `host` (a listen host, IPv6 without brackets) is a loopback
// address: 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) or "localhost".
bool IsLoopbackHost(std::string_view host);

// The transport rule: plain HTTP only on a loopback host or with
// insecure_http; TLS anywhere. kInvalidArgument (kValidation), naming both
// remedies (--tls-cert-file/--tls-key-file or --insecure-http), otherwise.
Status CheckListenTransport(const ServerOptions& options);

// SIGHUP: re-reads the listener's TLS certificate, key and client CA files
// (HttpServer::ReloadTls: new connections use them, open ones keep theirs, a
// bad file keeps the old ones and returns its error). Without TLS it only
// logs that there is nothing to reload and returns Ok. Logs the outcome.
Status ReloadTls(ServerContext& context);

// Builds every part, binds the listener and starts serving. It sets the
// process's umask to 077 (every file it creates is 0600, every directory 0700).
// It refuses a DATA_DIR inside a git work tree that git does not ignore, then
// creates DATA_DIR (0700) if absent. In dev mode it loads or creates DATA_DIR/root.key,
// and on first start creates the admin user with an access key written to
// DATA_DIR/credentials (AWS shared-credentials format, [default], 0600) and
// the region to DATA_DIR/config; a restart reuses both. In production mode
// it starts sealed (or unseals with a configured key file or KMS key) and
// serves /healthz and /v1/sys/ until an operator unseals it. Also hardens the
// process (HardenProcess()). Errors:
//   kFailedPrecondition  the data dir / root key / unseal key file is unusable, or the data dir
//                        lies in a git work tree and is not ignored
//   kInvalidArgument     bad listen address or options, plain HTTP beyond
//                        loopback without insecure_http, unusable TLS files
//   kUnavailable         storage cannot be opened or the address cannot be bound
//   and any error of the parts' constructors (kDataLoss for a corrupt store).
// Nothing is left running on error.
Result<std::unique_ptr<ServerContext>> Start(const ServerOptions& options);

// Graceful stop: see HttpServer::Shutdown(). Returns when every connection is
// closed; the parts below the listener stay until the context is destroyed.
void Stop(ServerContext& context);

}  // namespace coffer::server
