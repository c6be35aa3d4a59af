#include "main/commands.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent.h"
#include "agent/config.h"
#include "agent/status.h"
#include "audit/audit.h"
#include "client/aws_client.h"
#include "cli/backup.h"
#include "cli/bundle.h"
#include "cli/chamber.h"
#include "cli/file.h"
#include "cli/login.h"
#include "cli/kms_rewrap.h"
#include "cli/operator.h"
#include "main/completion.h"
#include "main/config_file.h"
#include "server/process.h"
#include "server/server_context.h"
#include "util/log.h"

namespace coffer::main {
namespace {

// Runs a parsed command; returns the exit code.
using Runner = std::function<int()>;

struct LoggingFlags {
  std::string level = "info";
  std::string file;
};

void AddLoggingFlags(CLI::App& command, LoggingFlags& flags) {
  command.add_option("--log-level", flags.level, "debug, info, warn, error or off")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));
  command.add_option("--log-file", flags.file, "append JSON log lines here instead of stderr");
}

// --ca-bundle for every command that talks to a server, as the AWS CLI spells it.
void AddCaBundleOption(CLI::App& command, std::string& ca_bundle) {
  command.add_option("--ca-bundle", ca_bundle,
                     "PEM CA bundle to verify an https endpoint's certificate with (default: "
                     "$AWS_CA_BUNDLE, the profile's ca_bundle, else the system's CAs); the "
                     "certificate is always verified");
}

// coffer server --dev --data-dir DIR --listen HOST:PORT [--region R] [--account-id A]
//               [--storage sqlite|memory] [--io-threads N] [--log-level L] [--log-file F]
//               [--oidc-ca-file PEM] [--oidc-jwks ISSUER=FILE ...]
//               [--rotation-hook-timeout S] [--rotation-retry-min S] [--rotation-retry-max S]
//               [--rotation-check-interval S] [--rotation-workers N] [--rotation-endpoint-url URL]
//               [--tls-cert-file PEM --tls-key-file PEM [--tls-client-ca-file PEM]
//                [--tls-client-auth none|request|require]] [--insecure-http]
//               [--s3-max-object-size N] [--s3-max-request-size N] [--s3-domain NAME ...]
//               [--config FILE]   (every option above also as a key of FILE; see config_file.h)
Runner AddServer(CLI::App& command) {
  struct Flags {
    server::ServerOptions options;
    LoggingFlags logging;
    std::string storage = "sqlite";
    std::vector<std::string> static_jwks;
    int64_t rotation_hook_timeout = 60;
    int64_t rotation_retry_min = 30;
    int64_t rotation_retry_max = 3600;
    int64_t rotation_check_interval = 60;
    std::string tls_client_auth;
  };
  auto flags = std::make_shared<Flags>();
  auto& o = flags->options;
  command.add_flag("--dev", o.dev,
                   "development mode: root key kept in DATA_DIR, admin credentials written to "
                   "DATA_DIR/credentials (without it: production mode, sealed root key)");
  command.add_option("--unseal-key-file", o.unseal_key_file,
                     "production: unseal at start with this key file (32 random bytes, raw or "
                     "base64; 0600; a systemd credential works); enrolled at the first unseal");
  command.add_option("--unseal-kms", o.unseal_kms.key_id,
                     "production: unseal at start through this KMS key on another endpoint "
                     "(AWS KMS or another Coffer; AWS credential chain); enrolled at the first "
                     "unseal");
  command.add_option("--unseal-kms-endpoint", o.unseal_kms.endpoint,
                     "endpoint of --unseal-kms (default: AWS_ENDPOINT_URL)");
  command.add_option("--unseal-kms-region", o.unseal_kms.region,
                     "region of --unseal-kms (default: the AWS chain's)");
  command.add_option("--data-dir", o.data_dir, "data directory (created 0700 if absent)")
      ->required();
  command.add_option("--listen", o.listen, "HOST:PORT to serve on; port 0 picks a free port")
      ->capture_default_str();
  command.add_option("--region", o.region, "AWS region the server answers as")
      ->capture_default_str();
  command.add_option("--account-id", o.account_id, "AWS account id used in ARNs")
      ->capture_default_str();
  command.add_option("--storage", flags->storage, "storage backend")
      ->check(CLI::IsMember({"sqlite", "memory"}))
      ->capture_default_str();
  command.add_option("--feed-retained-events", o.feed_retained_events,
                     "storage events kept for the change feed (/v1/changes); a reader further "
                     "behind resyncs")
      ->check(CLI::Range(size_t{1}, size_t{100000000}))
      ->capture_default_str();
  command.add_option("--io-threads", o.http.io_threads, "io threads (0 = one per core)")
      ->check(CLI::Range(0, 1024));
  command.add_flag("--unsafe-skip-authorization", o.unsafe_skip_authorization,
                   "BENCHMARKING ONLY: do not evaluate IAM policies on SSM, Secrets Manager and "
                   "KMS calls (every authenticated caller may do everything there)");
  command.add_option("--oidc-ca-file", o.oidc_ca_file,
                     "PEM CA bundle to trust when fetching OIDC issuers' keys (default: system)")
      ->check(CLI::ExistingFile);
  command.add_option("--oidc-jwks", flags->static_jwks,
                     "ISSUER=FILE: use this JWKS file for ISSUER instead of fetching (repeatable)");
  command.add_option("--s3-max-object-size", o.s3_max_object_bytes,
                     "S3 API: largest object in bytes (EntityTooLarge above it)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{5} << 40))
      ->capture_default_str();
  command.add_option("--s3-max-request-size", o.s3_max_request_bytes,
                     "S3 API: largest request body in bytes (one PutObject or UploadPart)")
      ->check(CLI::Range(size_t{1} << 20, size_t{1} << 32))
      ->capture_default_str();
  command.add_option("--s3-domain", o.s3_domains,
                     "S3 API: host name under which BUCKET.NAME addresses a bucket "
                     "(virtual-host style; repeatable; default localhost)");
  command.add_option("--rotation-hook-timeout", flags->rotation_hook_timeout,
                     "seconds a rotation hook may take for one step")
      ->check(CLI::Range(1, 3000))
      ->capture_default_str();
  command.add_option("--rotation-retry-min", flags->rotation_retry_min,
                     "seconds before the first retry of a failed rotation step (then doubling)")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  command.add_option("--rotation-retry-max", flags->rotation_retry_max,
                     "longest wait in seconds between retries of a failed rotation step")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  command.add_option("--rotation-check-interval", flags->rotation_check_interval,
                     "seconds between full scans for due rotations (changes made through this "
                     "server are seen at once)")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  command.add_option("--rotation-workers", o.rotation.workers,
                     "rotations of different secrets that may run at the same time")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  command.add_option("--rotation-endpoint-url", o.rotation_endpoint_url,
                     "URL rotation hooks use to reach this server (default: the listen URL)");
  command.add_option("--rotation-ca-bundle", o.rotation_ca_file,
                     "PEM CA bundle hooks verify this server's TLS certificate (and https hooks) "
                     "with; executable hooks get it as AWS_CA_BUNDLE (default: the system's)")
      ->check(CLI::ExistingFile);
  // TLS (docs/tls.md).
  command.add_option("--tls-cert-file", o.http.tls.cert_file,
                     "PEM certificate (then its chain) to serve HTTPS with; re-read on SIGHUP");
  command.add_option("--tls-key-file", o.http.tls.key_file,
                     "PEM private key of --tls-cert-file; re-read on SIGHUP");
  command.add_option("--tls-client-ca-file", o.http.tls.client_ca_file,
                     "PEM CA bundle that client certificates must chain to");
  command.add_option("--tls-client-auth", flags->tls_client_auth,
                     "client certificates: none, request or require (default: require when "
                     "--tls-client-ca-file is given, else none)")
      ->check(CLI::IsMember({"none", "request", "require"}));
  command.add_flag("--insecure-http", o.insecure_http,
                   "allow plain HTTP on a non-loopback listen address (credentials and values "
                   "then cross the network in the clear)");
  AddLoggingFlags(command, flags->logging);
  AddConfigFileOption(command);

  return [flags]() -> int {
    auto& options = flags->options;
    std::string& client_auth = flags->tls_client_auth;
    if (client_auth.empty()) {
      client_auth = options.http.tls.client_ca_file.empty() ? "none" : "require";
    }
    options.http.tls.client_auth = client_auth == "require"   ? server::ClientAuth::kRequire
                                   : client_auth == "request" ? server::ClientAuth::kRequest
                                                              : server::ClientAuth::kNone;
    if (options.http.tls.cert_file.empty() != options.http.tls.key_file.empty()) {
      std::fprintf(stderr, "coffer server: --tls-cert-file and --tls-key-file go together\n");
      return 2;
    }
    if (Status transport = server::CheckListenTransport(options); !transport) {
      std::fprintf(stderr, "coffer server: %s\n", transport.error().message.c_str());
      return 2;
    }
    if (flags->rotation_retry_min > flags->rotation_retry_max) {
      std::fprintf(stderr,
                   "coffer server: --rotation-retry-min must not exceed --rotation-retry-max\n");
      return 2;
    }
    options.rotation.step_timeout = std::chrono::seconds(flags->rotation_hook_timeout);
    options.rotation.retry_min = std::chrono::seconds(flags->rotation_retry_min);
    options.rotation.retry_max = std::chrono::seconds(flags->rotation_retry_max);
    options.rotation.check_interval = std::chrono::seconds(flags->rotation_check_interval);
    options.storage =
        flags->storage == "memory" ? server::StorageKind::kMemory : server::StorageKind::kSqlite;
    for (const std::string& pair : flags->static_jwks) {
      size_t eq = pair.rfind('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
        std::fprintf(stderr, "coffer server: --oidc-jwks wants ISSUER=FILE, got '%s'\n",
                     pair.c_str());
        return 2;
      }
      options.oidc_static_jwks.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    }
    if (options.unsafe_skip_authorization && !options.dev) {
      std::fprintf(stderr, "coffer server: --unsafe-skip-authorization is for benchmarks in "
                           "--dev mode only\n");
      return 2;
    }
    if (options.dev && (!options.unseal_key_file.empty() || !options.unseal_kms.key_id.empty())) {
      std::fprintf(stderr, "coffer server: --unseal-key-file and --unseal-kms are for production "
                           "mode; dev mode keeps its root key in the data directory\n");
      return 2;
    }
    util::InitLogging(util::ParseLogLevel(flags->logging.level), flags->logging.file);
    // Before any thread starts, so that every thread inherits the mask.
    server::BlockShutdownSignals();
    auto context = server::Start(options);
    if (!context) {
      std::fprintf(stderr, "coffer server: %s\n", context.error().message.c_str());
      return 1;
    }
    std::printf("listening on %s\n", (*context)->Url().c_str());
    std::fflush(stdout);
    int signal = server::WaitForShutdownSignal();
    while (server::IsReloadSignal(signal)) {
      (void)server::ReloadTls(**context);  // logs its outcome; a failure keeps the old certificate
      signal = server::WaitForShutdownSignal();
    }
    util::LogInfo("shutting down", {{"signal", signal}});
    server::Stop(**context);
    context->reset();
    util::LogInfo("stopped");
    util::FlushLogging();
    return 0;
  };
}

// coffer login (--github | --oidc-token-file F) --role-arn ARN [--endpoint-url URL]
//              [--ca-bundle PEM] [--audience A] [--role-session-name N] [--duration S] [--github-env]
Runner AddLogin(CLI::App& command) {
  auto options = std::make_shared<cli::LoginOptions>();
  command.add_flag("--github", options->github,
                   "take the OIDC token from the GitHub Actions token endpoint");
  command.add_option("--oidc-token-file", options->token_file, "read the OIDC token from a file");
  command.add_option("--role-arn", options->role_arn, "role to assume (default: $AWS_ROLE_ARN)");
  command.add_option("--endpoint-url", options->endpoint,
                     "STS endpoint (default: $AWS_ENDPOINT_URL)");
  AddCaBundleOption(command, options->ca_bundle);
  command.add_option("--audience", options->audience, "audience to request from GitHub")
      ->capture_default_str();
  command.add_option("--role-session-name", options->session_name, "session name");
  command.add_option("--duration", options->duration_seconds, "credential lifetime in seconds")
      ->capture_default_str();
  command.add_flag("--github-env", options->github_env,
                   "append the credentials to $GITHUB_ENV and mask them in the job log");
  return [options]() -> int {
    util::SystemClock clock;
    Status status = cli::Login(*options, clock, std::cout);
    if (!status) {
      std::fprintf(stderr, "coffer login: %s\n", status.error().message.c_str());
      return 1;
    }
    return 0;
  };
}

// coffer audit verify|tail --data-dir DIR  (or --file F --key-file K)
Runner AddAudit(CLI::App& command) {
  struct Flags {
    std::string data_dir, file, key_file;
    int lines = 20;
    CLI::App* verify = nullptr;
    CLI::App* tail = nullptr;
  };
  auto flags = std::make_shared<Flags>();
  command.require_subcommand(1);
  flags->verify = command.add_subcommand("verify", "check the audit log's hash chain");
  flags->tail = command.add_subcommand("tail", "print the newest audit records");
  for (CLI::App* sub : {flags->verify, flags->tail}) {
    sub->add_option("--data-dir", flags->data_dir, "the server's data directory");
    sub->add_option("--file", flags->file, "audit log (default DATA_DIR/audit.log)");
    sub->add_option("--key-file", flags->key_file, "audit key (default DATA_DIR/audit.key)");
  }
  flags->tail->add_option("-n,--lines", flags->lines, "how many records")->capture_default_str();
  return [flags]() -> int {
    std::string file = !flags->file.empty() ? flags->file : flags->data_dir + "/audit.log";
    std::string key_file =
        !flags->key_file.empty() ? flags->key_file : flags->data_dir + "/audit.key";
    if (flags->file.empty() && flags->data_dir.empty()) {
      std::fprintf(stderr, "coffer audit: give --data-dir or --file\n");
      return 2;
    }
    if (flags->tail->parsed()) {
      std::ifstream in(file);
      if (!in) {
        std::fprintf(stderr, "coffer audit: cannot read %s\n", file.c_str());
        return 1;
      }
      std::deque<std::string> last;
      for (std::string line; std::getline(in, line);) {
        last.push_back(std::move(line));
        if (static_cast<int>(last.size()) > flags->lines) last.pop_front();
      }
      for (const auto& line : last) std::printf("%s\n", line.c_str());
      return 0;
    }
    std::ifstream probe(key_file);
    if (!probe) {
      std::fprintf(stderr, "coffer audit: cannot read the audit key %s\n", key_file.c_str());
      return 1;
    }
    auto key = audit::LoadOrCreateKey(key_file);
    if (!key) {
      std::fprintf(stderr, "coffer audit: %s\n", key.error().message.c_str());
      return 1;
    }
    auto report = audit::VerifyLog(file, *key);
    if (!report) {
      std::fprintf(stderr, "coffer audit: %s\n", report.error().message.c_str());
      return 1;
    }
    if (!report->ok) {
      std::printf("audit log %s: BAD at record %llu (line %llu): %s\n", file.c_str(),
                  static_cast<unsigned long long>(report->first_bad_line),
                  static_cast<unsigned long long>(report->first_bad_line),
                  report->problem.c_str());
      return 1;
    }
    std::printf("audit log %s: %llu records, chain intact, last mac %s\n", file.c_str(),
                static_cast<unsigned long long>(report->records), report->last_mac.c_str());
    if (!report->note.empty()) std::printf("note: %s\n", report->note.c_str());
    return 0;
  };
}

// coffer kms rewrap [--endpoint-url URL] [--ca-bundle PEM] [--key-id KEY]
Runner AddKms(CLI::App& command) {
  auto options = std::make_shared<cli::RewrapOptions>();
  command.require_subcommand(1);
  CLI::App* rewrap = command.add_subcommand(
      "rewrap",
      "re-encrypt stored parameter and secret values under the newest version of their KMS "
      "key (after a key rotation); plaintexts and versions do not change");
  rewrap->add_option("--endpoint-url", options->endpoint,
                     "the running server (default: $AWS_ENDPOINT_URL)");
  AddCaBundleOption(*rewrap, options->ca_bundle);
  rewrap->add_option("--key-id", options->key_id,
                     "only values under this KMS key (key id, ARN or alias; default: every key)");
  return [options]() -> int {
    util::SystemClock clock;
    Status status = cli::KmsRewrap(*options, clock, std::cout);
    std::cout.flush();
    if (!status) {
      std::fprintf(stderr, "coffer kms rewrap: %s\n", status.error().message.c_str());
      return 1;
    }
    return 0;
  };
}

// coffer operator init|unseal|status|seal|rekey|rotate-root [--endpoint-url URL]
Runner AddOperator(CLI::App& command) {
  struct Flags {
    cli::OperatorOptions options;
    std::map<const CLI::App*, cli::OperatorCommand> commands;
  };
  auto flags = std::make_shared<Flags>();
  auto& o = flags->options;
  command.require_subcommand(1);
  auto add = [&](CLI::App& parent, const char* name, const char* help,
                 cli::OperatorCommand which) {
    CLI::App* sub = parent.add_subcommand(name, help);
    sub->add_option("--endpoint-url", o.endpoint, "the server (default: $AWS_ENDPOINT_URL)");
    AddCaBundleOption(*sub, o.ca_bundle);
    sub->add_flag("--json", o.json, "print the server's JSON answer");
    flags->commands[sub] = which;
    return sub;
  };
  using C = cli::OperatorCommand;
  CLI::App* init = add(command, "init",
                       "initialize a new production server: prints the unseal shares and the "
                       "initial admin key, once",
                       C::kInit);
  init->add_option("--shares", o.shares, "number of shares (1-255)")->capture_default_str();
  init->add_option("--threshold", o.threshold, "shares needed to unseal")->capture_default_str();
  init->add_option("--encrypt-share-to", o.share_recipients,
                   "one per share, in order: an age recipient (age1...) or a file with a PGP "
                   "public key; that share is printed encrypted to it");
  CLI::App* unseal = add(command, "unseal",
                         "give one unseal share (argument, or one line on stdin, hidden on a "
                         "terminal)",
                         C::kUnseal);
  unseal->add_option("share", o.share, "the share (prefer stdin: arguments show in ps)");
  unseal->add_flag("--reset", o.reset, "forget the shares given so far");
  add(command, "status", "print the seal status (exit 0 unsealed, 2 sealed)", C::kStatus);
  add(command, "seal", "seal the server (signed; coffer:Seal)", C::kSeal);
  add(command, "rotate-root",
      "make a new root key and re-wrap all KMS key material under it, online (signed; "
      "coffer:RotateRoot)",
      C::kRotateRoot);
  CLI::App* rekey = command.add_subcommand("rekey", "issue new unseal shares for the same keys");
  rekey->require_subcommand(1);
  CLI::App* start = add(*rekey, "start", "start a rekey (signed; coffer:Rekey)", C::kRekeyStart);
  start->add_option("--shares", o.shares, "number of new shares")->capture_default_str();
  start->add_option("--threshold", o.threshold, "new threshold")->capture_default_str();
  CLI::App* submit =
      add(*rekey, "submit", "give one current share towards the rekey", C::kRekeySubmit);
  submit->add_option("--nonce", o.nonce, "the rekey's nonce (coffer operator status)")
      ->required();
  submit->add_option("share", o.share, "the share (prefer stdin)");
  submit->add_option("--encrypt-share-to", o.share_recipients,
                     "when this submission completes the rekey: one per new share, as for init");
  add(*rekey, "cancel", "cancel the rekey in progress (signed; coffer:Rekey)", C::kRekeyCancel);
  return [flags]() -> int {
    for (const auto& [sub, which] : flags->commands) {
      if (sub->parsed()) flags->options.command = which;
    }
    util::SystemClock clock;
    return cli::RunOperator(flags->options, clock, std::cin, std::cout, std::cerr);
  };
}

// coffer backup --data-dir DIR --out OUT_DIR
Runner AddBackup(CLI::App& command) {
  auto options = std::make_shared<cli::BackupOptions>();
  command.add_option("--data-dir", options->data_dir,
                     "the server's data directory (the server may be running)")
      ->required();
  command.add_option("--out", options->out_dir,
                     "a new or empty directory to write the backup into (created 0700)")
      ->required();
  return [options]() -> int {
    Status status = cli::BackupDataDir(*options, std::cout);
    std::cout.flush();
    if (!status) {
      std::fprintf(stderr, "coffer backup: %s\n", status.error().message.c_str());
      return 1;
    }
    return 0;
  };
}

// The flags every chamber-style command shares: where and as whom to call,
// which backend, how keys are named, how data is printed.
std::shared_ptr<cli::ChamberOptions> AddChamberFlags(CLI::App& command, cli::ChamberVerb verb,
                                                     const char* examples) {
  auto o = std::make_shared<cli::ChamberOptions>();
  o->verb = verb;
  CLI::Option_group* aws = command.add_option_group("AWS", "where and as whom to call");
  aws->add_option("--profile", o->client.profile,
                  "AWS profile (default: $AWS_PROFILE, else default); role_arn, "
                  "web_identity_token_file and credential_process profiles work");
  aws->add_option("--region", o->client.region,
                  "region (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's)");
  aws->add_option("--endpoint-url", o->client.endpoint,
                  "endpoint for every service (default: $AWS_ENDPOINT_URL_SSM and friends, "
                  "$AWS_ENDPOINT_URL, the profile's endpoint_url/services, else AWS)");
  AddCaBundleOption(*aws, o->client.ca_bundle);
  command.add_option("--backend", o->backend,
                     "ssm (one parameter per key under /SERVICE/) or secretsmanager (one JSON "
                     "secret per service)")
      ->check(CLI::IsMember({"ssm", "secretsmanager"}))
      ->capture_default_str();
  command.add_option("--kms-key-alias", o->kms_key_alias,
                     "KMS key alias to encrypt new values under (default: "
                     "$COFFER_KMS_KEY_ALIAS, else the service's default key)");
  command.add_flag("--lowercase", o->lowercase,
                   "lower-case services and keys, as chamber does (keys keep their case by "
                   "default)");
  command.add_option("--output", o->output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  command.footer(std::string("Examples:\n") + examples +
                 "\nExit codes: 0 ok, 1 failed (AWS error or network), 2 usage, 3 refused (a "
                 "format or backend cannot hold a value), 4 not found.");
  return o;
}

Runner ChamberRunner(std::shared_ptr<cli::ChamberOptions> options) {
  return [options]() -> int {
    util::SystemClock clock;
    return cli::RunChamber(*options, clock, std::cin, std::cout, std::cerr);
  };
}

// coffer write SERVICE KEY VALUE|- [--tags K=V ...] [--singleline]
Runner AddWrite(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kWrite,
                           "  coffer write myapp DB_PASSWORD -  < password.txt\n"
                           "  coffer write myapp LOG_LEVEL debug --tags team=core\n");
  command.add_option("service", o->service, "service (a path: team/app)")->required();
  command.add_option("key", o->key, "key")->required();
  command.add_option("value", o->value, "the value, or - to read it from stdin (exactly)")
      ->required();
  command.add_option("--tags", o->tags, "KEY=VALUE tags to set on the parameter");
  command.add_flag("--singleline", o->singleline, "with -: read one line, without its newline");
  return ChamberRunner(o);
}

// coffer read SERVICE KEY [--version N] [--quiet]
Runner AddRead(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kRead,
                           "  coffer read myapp DB_PASSWORD\n"
                           "  coffer read myapp DB_PASSWORD --version 3 --quiet\n");
  command.add_option("service", o->service, "service")->required();
  command.add_option("key", o->key, "key")->required();
  command.add_option("--version", o->version, "this version instead of the newest")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  command.add_flag("-q,--quiet", o->quiet, "print only the value");
  return ChamberRunner(o);
}

// coffer list SERVICE [--expand] [--time] [--sort-by-...]
Runner AddList(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kList,
                           "  coffer list myapp\n  coffer list myapp --expand --sort-by-time\n");
  command.add_option("service", o->service, "service")->required();
  command.add_flag("-e,--expand", o->expand, "show the values too");
  command.add_flag("-t,--time", o->time, "show LastModified (always shown; chamber compatible)");
  command.add_flag_callback("--sort-by-name", [o] { o->sort_by = "name"; }, "sort by key");
  command.add_flag_callback("--sort-by-time", [o] { o->sort_by = "time"; },
                            "sort by last modified time");
  command.add_flag_callback("--sort-by-user", [o] { o->sort_by = "user"; },
                            "sort by last modifying user");
  command.add_flag_callback("--sort-by-version", [o] { o->sort_by = "version"; },
                            "sort by version");
  return ChamberRunner(o);
}

// coffer list-services [PREFIX]
Runner AddListServices(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kListServices,
                           "  coffer list-services\n  coffer list-services team/\n");
  command.add_option("prefix", o->prefix, "only services starting with this");
  return ChamberRunner(o);
}

// coffer history SERVICE KEY
Runner AddHistory(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kHistory,
                           "  coffer history myapp DB_PASSWORD\n");
  command.add_option("service", o->service, "service")->required();
  command.add_option("key", o->key, "key")->required();
  return ChamberRunner(o);
}

// coffer delete SERVICE KEY [--exact-key]
Runner AddDelete(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kDelete,
                           "  coffer delete myapp OLD_TOKEN\n");
  command.add_option("service", o->service, "service")->required();
  command.add_option("key", o->key, "key")->required();
  command.add_flag("--exact-key", o->exact_key, "with --lowercase: delete KEY as written");
  return ChamberRunner(o);
}

// coffer find KEY [--by-value]
Runner AddFind(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kFind,
                           "  coffer find DB_PASSWORD\n  coffer find --by-value 'leaked-value'\n");
  command.add_option("key", o->key, "key name (or, with --by-value, a value)")->required();
  command.add_flag("-v,--by-value", o->by_value,
                   "find keys whose value is KEY (reads every value you may read)");
  return ChamberRunner(o);
}

// coffer env SERVICE...
Runner AddEnv(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kEnv,
                           "  eval \"$(coffer env myapp)\"\n  coffer env shared myapp\n");
  command.add_option("services", o->services, "services; later ones win")->required();
  return ChamberRunner(o);
}

// coffer exec SERVICE... [--pristine] [--strict [--strict-value V]] -- CMD ARGS...
Runner AddExec(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kExec,
                           "  coffer exec myapp -- ./server --port 8080\n"
                           "  coffer exec --pristine shared myapp -- env\n");
  // SERVICE... -- CMD...: parsed by hand from what CLI11 leaves, so that the
  // command's own arguments are never taken for coffer's.
  command.prefix_command();
  command.add_flag("--pristine", o->pristine, "start the child from an empty environment");
  command.add_flag("--strict", o->strict,
                   "fill only variables already set to --strict-value; fail if one has no value");
  command.add_option("--strict-value", o->strict_value, "the marker value for --strict")
      ->capture_default_str();
  command.add_option("--bundle", o->bundle,
                     "take the values from a bundle (FILE, s3://BUCKET/KEY or https://URL; "
                     "coffer bundle create) instead of services: KMS decrypts it, then it is "
                     "verified");
  command.add_option("--bundle-key", o->bundle_key,
                     "with --bundle: the KMS key (id, ARN or alias) that must have made the "
                     "bundle; a bundle under any other key is refused (recommended)");
  // A hidden positional that accepts no value: it keeps CLI11 from handing a
  // "--" that directly follows the flags (exec --bundle FILE -- CMD) back to
  // the top-level parser, which would refuse CMD's arguments. Every word is
  // rejected by it, so the words still reach remaining() as before.
  auto never = std::make_shared<std::vector<std::string>>();
  command.add_option("never", *never)
      ->check([](const std::string&) { return std::string("not a value"); })
      ->group("");
  command.validate_positionals();
  CLI::App* self = &command;
  return [o, self, never]() -> int {
    std::vector<std::string> rest = self->remaining();
    auto dashes = std::find(rest.begin(), rest.end(), "--");
    if (!o->bundle.empty()) {
      if (dashes != rest.begin() || dashes + 1 == rest.end()) {
        std::fprintf(stderr, "coffer exec: usage: coffer exec [flags] --bundle FILE|URL -- "
                             "COMMAND [ARGS] (no services with --bundle)\n");
        return cli::kExitUsage;
      }
      o->command.assign(dashes + 1, rest.end());
      util::SystemClock clock;
      return cli::RunBundleExec(*o, clock, std::cout, std::cerr);
    }
    if (dashes == rest.end() || dashes == rest.begin() || dashes + 1 == rest.end()) {
      std::fprintf(stderr,
                   "coffer exec: usage: coffer exec [flags] SERVICE... -- COMMAND [ARGS]\n");
      return cli::kExitUsage;
    }
    for (auto it = rest.begin(); it != dashes; ++it) {
      if (it->starts_with("-")) {
        std::fprintf(stderr, "coffer exec: flags go before the services (%s)\n", it->c_str());
        return cli::kExitUsage;
      }
    }
    o->services.assign(rest.begin(), dashes);
    o->command.assign(dashes + 1, rest.end());
    util::SystemClock clock;
    return cli::RunChamber(*o, clock, std::cin, std::cout, std::cerr);
  };
}

// coffer export SERVICE... --format F [-o FILE]
Runner AddExport(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kExport,
                           "  coffer export myapp --format dotenv -o .env\n"
                           "  coffer export myapp --format k8s-secret --name myapp | kubectl "
                           "apply -f -\n"
                           "  coffer export myapp --format github-env  # in GitHub Actions\n");
  command.add_option("services", o->services, "services; later ones win")->required();
  command.add_option("-f,--format", o->format,
                     "dotenv, json, yaml, java-properties, csv, tsv, tfvars, k8s-secret, ecs, "
                     "github-env")
      ->check(CLI::IsMember({"dotenv", "json", "yaml", "java-properties", "csv", "tsv", "tfvars",
                             "k8s-secret", "ecs", "github-env"}))
      ->capture_default_str();
  command.add_option("-o,--output-file", o->out_file,
                     "write here (created 0600) instead of stdout; github-env appends to it "
                     "instead of $GITHUB_ENV");
  command.add_option("--name", o->k8s_name, "k8s-secret: the Secret's name (default: service)");
  command.add_option("--namespace", o->k8s_namespace, "k8s-secret: the Secret's namespace");
  return ChamberRunner(o);
}

// coffer import SERVICE FILE|-
Runner AddImport(CLI::App& command) {
  auto o = AddChamberFlags(command, cli::ChamberVerb::kImport,
                           "  coffer import myapp values.json\n"
                           "  coffer export old --format yaml | coffer import new -\n");
  command.add_option("service", o->service, "service")->required();
  command.add_option("file", o->import_file, "JSON object or YAML mapping of KEY: value, or -")
      ->required();
  return ChamberRunner(o);
}

// coffer tag read|write|delete SERVICE KEY [TAGS...]
Runner AddTag(CLI::App& command) {
  command.require_subcommand(1);
  struct Subs {
    std::vector<std::pair<CLI::App*, std::shared_ptr<cli::ChamberOptions>>> subs;
  };
  auto subs = std::make_shared<Subs>();
  auto add = [&](const char* name, const char* help, cli::ChamberVerb verb, const char* ex) {
    CLI::App* sub = command.add_subcommand(name, help);
    auto o = AddChamberFlags(*sub, verb, ex);
    sub->add_option("service", o->service, "service")->required();
    sub->add_option("key", o->key, "key")->required();
    subs->subs.emplace_back(sub, o);
    return std::make_pair(sub, o);
  };
  add("read", "print a key's tags", cli::ChamberVerb::kTagRead, "  coffer tag read myapp KEY\n");
  auto [w, wo] = add("write", "set tags on a key", cli::ChamberVerb::kTagWrite,
                     "  coffer tag write myapp KEY team=core tier=1\n");
  w->add_option("tags", wo->tags, "KEY=VALUE")->required();
  auto [d, dop] = add("delete", "remove tags from a key", cli::ChamberVerb::kTagDelete,
                      "  coffer tag delete myapp KEY team\n");
  d->add_option("tags", dop->tags, "tag keys")->required();
  return [subs]() -> int {
    for (auto& [sub, o] : subs->subs) {
      if (sub->parsed()) {
        util::SystemClock clock;
        return cli::RunChamber(*o, clock, std::cin, std::cout, std::cerr);
      }
    }
    return cli::kExitUsage;
  };
}

// coffer file encrypt|decrypt|edit|set|unset|exec-env|exec-file|updatekeys|rotate|status|diff|merge
Runner AddFile(CLI::App& command) {
  struct Flags {
    cli::FileOptions options;
    std::map<const CLI::App*, cli::FileCommand> commands;
    std::string file;  // the one file of set/unset/exec-env/exec-file
  };
  auto flags = std::make_shared<Flags>();
  auto& o = flags->options;
  command.require_subcommand(1);
  auto add = [&](const char* name, const char* help, cli::FileCommand which) {
    CLI::App* sub = command.add_subcommand(name, help);
    flags->commands[sub] = which;
    sub->add_option("--input-type", o.input_type, "yaml, json, dotenv, ini or binary");
    sub->add_option("--output-type", o.output_type, "yaml, json, dotenv, ini or binary");
    sub->add_option("--filename-override", o.filename_override,
                    "the name that picks the format and .sops.yaml rule for stdin");
    sub->add_flag("--ignore-mac", o.ignore_mac, "decrypt even if the MAC does not match");
    sub->add_option("--config", o.config, "the .sops.yaml to use (default: found upward)");
    sub->add_option("--endpoint-url", o.endpoint,
                    "KMS endpoint for kms keys (default: $AWS_ENDPOINT_URL)");
    return sub;
  };
  auto keys = [&](CLI::App* sub) {
    sub->add_option("--age", o.age, "age recipients, comma-separated");
    sub->add_option("--pgp", o.pgp, "PGP fingerprints, comma-separated");
    sub->add_option("--kms", o.kms, "KMS key ARNs (arn[+role]), comma-separated");
    sub->add_option("--encryption-context", o.encryption_context, "KMS context k1:v1,k2:v2");
    sub->add_option("--unencrypted-suffix", o.unencrypted_suffix, "keys ending so stay clear");
    sub->add_option("--encrypted-suffix", o.encrypted_suffix, "only keys ending so are encrypted");
    sub->add_option("--unencrypted-regex", o.unencrypted_regex, "keys matching stay clear");
    sub->add_option("--encrypted-regex", o.encrypted_regex, "only keys matching are encrypted");
    sub->add_option("--unencrypted-comment-regex", o.unencrypted_comment_regex,
                    "values after a matching comment stay clear");
    sub->add_option("--encrypted-comment-regex", o.encrypted_comment_regex,
                    "only values after a matching comment are encrypted");
    sub->add_flag("--mac-only-encrypted", o.mac_only_encrypted,
                  "the MAC covers encrypted values only");
    sub->add_option("--shamir-secret-sharing-threshold", o.shamir_threshold,
                    "key groups needed to decrypt");
  };
  auto output = [&](CLI::App* sub) {
    sub->add_flag("-i,--in-place", o.in_place, "write the result back to the file");
    sub->add_option("--output", o.output, "write the result to this file");
  };
  CLI::App* enc = add("encrypt", "encrypt a plaintext file", cli::FileCommand::kEncrypt);
  keys(enc);
  output(enc);
  enc->add_option("file", o.files, "the file (default: stdin)");
  CLI::App* dec = add("decrypt", "decrypt a file", cli::FileCommand::kDecrypt);
  output(dec);
  dec->add_option("--extract", o.extract, "only this value or subtree, e.g. '[\"a\"][\"b\"]'");
  dec->add_option("--to", o.to, "k8s-secret: render a Kubernetes Secret manifest");
  dec->add_option("--name", o.secret_name, "the Secret's name for --to k8s-secret");
  dec->add_option("file", o.files, "the file (default: stdin)");
  CLI::App* edit =
      add("edit", "decrypt into $EDITOR and re-encrypt on change", cli::FileCommand::kEdit);
  keys(edit);
  edit->add_option("file", o.files, "the file")->required();
  CLI::App* set =
      add("set", "set a value: set FILE '[\"a\"][\"b\"]' '<json>'", cli::FileCommand::kSet);
  set->add_option("file", flags->file, "the file")->required();
  set->add_option("path", o.tree_path, "the tree path")->required();
  set->add_option("value", o.value, "the value as JSON")->required();
  CLI::App* unset =
      add("unset", "remove a value: unset FILE '[\"a\"][0]'", cli::FileCommand::kUnset);
  unset->add_option("file", flags->file, "the file")->required();
  unset->add_option("path", o.tree_path, "the tree path")->required();
  unset->add_flag("--idempotent", o.idempotent, "succeed when the path is absent");
  CLI::App* env =
      add("exec-env", "run a command with the file's top-level values in its environment",
          cli::FileCommand::kExecEnv);
  env->add_option("file", flags->file, "the file")->required();
  env->add_option("command", o.command_line, "the command (run by /bin/sh -c)")->required();
  env->add_flag("--pristine", o.pristine, "no inherited environment");
  CLI::App* ef = add("exec-file", "run a command with {} replaced by a decrypted temporary file",
                     cli::FileCommand::kExecFile);
  ef->add_option("file", flags->file, "the file")->required();
  ef->add_option("command", o.command_line, "the command (run by /bin/sh -c)")->required();
  ef->add_flag("--no-fifo", o.no_fifo, "use a temporary file (always the case here)");
  CLI::App* uk = add("updatekeys", "re-wrap the data key for the keys of the .sops.yaml rule",
                     cli::FileCommand::kUpdateKeys);
  uk->add_flag("-y,--yes", o.yes, "do not ask");
  uk->add_option("file", o.files, "the file")->required();
  CLI::App* rot =
      add("rotate", "new data key, every value re-encrypted", cli::FileCommand::kRotate);
  output(rot);
  rot->add_option("--add-age", o.add_age, "add age recipients");
  rot->add_option("--rm-age", o.rm_age, "remove age recipients");
  rot->add_option("--add-pgp", o.add_pgp, "add PGP fingerprints");
  rot->add_option("--rm-pgp", o.rm_pgp, "remove PGP fingerprints");
  rot->add_option("--add-kms", o.add_kms, "add KMS ARNs");
  rot->add_option("--rm-kms", o.rm_kms, "remove KMS ARNs");
  rot->add_option("file", o.files, "the file")->required();
  CLI::App* st = add("status", "print {\"encrypted\": true|false}", cli::FileCommand::kStatus);
  st->add_option("file", o.files, "the file")->required();
  CLI::App* diff = add("diff", "FILE: print decrypted (git textconv); A B: changed keys",
                       cli::FileCommand::kDiff);
  diff->add_option("files", o.files, "one or two files")->required();
  CLI::App* merge =
      add("merge", "git merge driver: merge BASE OURS THEIRS key by key", cli::FileCommand::kMerge);
  merge->add_option("--output", o.output, "write here instead of OURS");
  merge->add_option("files", o.files, "BASE OURS THEIRS")->required()->expected(3);
  return [flags]() -> int {
    for (const auto& [sub, which] : flags->commands) {
      if (sub->parsed()) flags->options.command = which;
    }
    if (!flags->file.empty()) flags->options.files = {flags->file};
    if (!flags->file.empty()) flags->options.files = {flags->file};
    util::SystemClock clock;
    return cli::RunFile(flags->options, clock, std::cout, std::cerr);
  };
}

// coffer age [-d] [-r RECIPIENT] [-R FILE] [-i IDENTITY] [-a] [-o OUT] [INPUT]
Runner AddAge(CLI::App& command) {
  auto o = std::make_shared<cli::AgeOptions>();
  command.add_flag("-d,--decrypt", o->decrypt, "decrypt (default: encrypt)");
  command.add_flag("-a,--armor", o->armor, "ASCII armor");
  command.add_option("-r,--recipient", o->recipients, "an age1... or age1pq1... recipient")
      ->allow_extra_args(false);
  command.add_option("-R,--recipients-file", o->recipient_files, "a file of recipients")
      ->allow_extra_args(false);
  command.add_option("-i,--identity", o->identity_files, "an identity file")
      ->allow_extra_args(false);
  command.add_flag("-p,--passphrase", o->passphrase,
                   "encrypt to a passphrase (scrypt; from $COFFER_AGE_PASSPHRASE or the terminal)");
  command.add_flag("--keygen", o->keygen, "write a new identity (as age-keygen)");
  command.add_flag("--pq", o->pq,
                   "with --keygen: a post-quantum ML-KEM-768+X25519 identity (as age-keygen -pq)");
  command.add_option("-o,--output", o->output, "output file (default: stdout)");
  command.add_option("input", o->input, "input file (default: stdin)");
  return [o]() -> int { return cli::RunAge(*o, std::cout, std::cerr); };
}

// coffer version
Runner AddVersion(CLI::App&) {
  return [] {
    std::printf("coffer %s\n", COFFER_VERSION);
    return 0;
  };
}

// coffer completion bash|zsh|fish: hidden; the packages install its output.
Runner AddCompletion(CLI::App& command) {
  command.group("");  // hidden from --help
  auto shell = std::make_shared<std::string>();
  command.add_option("shell", *shell, "shell to complete for")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  const CLI::App* root = command.get_parent();
  return [root, shell] {
    std::string script = *shell == "zsh"    ? ZshCompletion(*root)
                         : *shell == "fish" ? FishCompletion(*root)
                                            : BashCompletion(*root);
    std::fputs(script.c_str(), stdout);
    return 0;
  };
}

// coffer bundle create SERVICE... --key KMS_KEY_ID -o FILE [--name NAME]
// coffer bundle inspect FILE|URL [--output json]
Runner AddBundle(CLI::App& command) {
  auto o = std::make_shared<cli::BundleOptions>();
  command.require_subcommand(1);
  CLI::App* create = command.add_subcommand(
      "create", "write every value of SERVICE... into one KMS envelope-encrypted file");
  auto chamber = AddChamberFlags(*create, cli::ChamberVerb::kExec,
                                 "  coffer bundle create shared myapp --key alias/app -o app.bundle\n"
                                 "  coffer exec --bundle app.bundle -- ./server\n");
  create->add_option("services", chamber->services, "services; later ones win")->required();
  create->add_option("--key", o->key_id, "KMS key id, ARN or alias for the data key")
      ->required();
  create->add_option("-o,--out", o->out, "the bundle file to write (mode 0600)")->required();
  create->add_option("--name", o->name,
                     "the bundle's name, bound into the KMS encryption context (default: the "
                     "file name of -o)");
  CLI::App* inspect = command.add_subcommand(
      "inspect", "print a bundle's header: name, KMS key, services, keys (never values)");
  auto inspect_flags = AddChamberFlags(*inspect, cli::ChamberVerb::kExec,
                                       "  coffer bundle inspect app.bundle\n");
  inspect->add_option("file", o->file, "the bundle: FILE or https://URL")->required();
  return [o, create, chamber, inspect_flags]() -> int {
    if (create->parsed()) {
      o->verb = cli::BundleVerb::kCreate;
      o->chamber = *chamber;
    } else {
      o->verb = cli::BundleVerb::kInspect;
      o->chamber = *inspect_flags;
      o->output = inspect_flags->output;
    }
    util::SystemClock clock;
    return cli::RunBundle(*o, clock, std::cout, std::cerr);
  };
}

// coffer agent run --config FILE [--endpoint-url URL] [--profile P] [--region R] [--ca-bundle PEM]
// coffer agent status [--metrics HOST:PORT | --config FILE]
Runner AddAgent(CLI::App& command) {
  struct Flags {
    std::string config_file, endpoint, profile, region, ca_bundle, metrics;
    LoggingFlags logging;
    CLI::App* run = nullptr;
    CLI::App* status = nullptr;
  };
  auto flags = std::make_shared<Flags>();
  command.require_subcommand(1);
  flags->run = command.add_subcommand("run", "sync targets and roll workloads out (docs/agent.md)");
  flags->status = command.add_subcommand("status", "summarise a running agent's metrics");
  flags->run->add_option("--config", flags->config_file, "agent configuration (YAML)")->required();
  flags->run->add_option("--endpoint-url", flags->endpoint,
                         "server URL (default: the configuration's server.endpoint, then "
                         "AWS_ENDPOINT_URL)");
  flags->run->add_option("--profile", flags->profile, "AWS profile for credentials");
  flags->run->add_option("--region", flags->region, "region");
  AddCaBundleOption(*flags->run, flags->ca_bundle);
  AddLoggingFlags(*flags->run, flags->logging);
  flags->status->add_option("--metrics", flags->metrics, "the agent's metrics address HOST:PORT");
  flags->status->add_option("--config", flags->config_file,
                            "read the metrics address from this agent configuration");
  return [flags]() -> int {
    if (flags->status->parsed()) {
      std::string address = flags->metrics;
      if (address.empty()) {
        if (flags->config_file.empty()) {
          std::fprintf(stderr, "coffer agent status: give --metrics or --config\n");
          return 2;
        }
        auto config = agent::LoadAgentConfig(flags->config_file);
        if (!config) {
          std::fprintf(stderr, "coffer agent status: %s\n", config.error().message.c_str());
          return 2;
        }
        address = config->metrics_listen;
      }
      auto status = agent::ReadStatus(address);
      if (!status) {
        std::fprintf(stderr, "coffer agent status: %s\n", status.error().message.c_str());
        return 1;
      }
      std::printf("%s", status->c_str());
      return 0;
    }
    auto config = agent::LoadAgentConfig(flags->config_file);
    if (!config) {
      std::fprintf(stderr, "coffer agent: %s\n", config.error().message.c_str());
      return 2;
    }
    // Before any thread starts (the logger's included), so that every thread inherits the mask.
    server::BlockShutdownSignals();
    util::InitLogging(util::ParseLogLevel(flags->logging.level), flags->logging.file);
    util::SystemClock clock;
    client::ClientOptions options;
    options.profile = !flags->profile.empty() ? flags->profile : config->server.profile;
    options.region = !flags->region.empty() ? flags->region : config->server.region;
    options.endpoint = !flags->endpoint.empty() ? flags->endpoint : config->server.endpoint;
    options.ca_bundle = !flags->ca_bundle.empty() ? flags->ca_bundle : config->server.ca_bundle;
    auto aws = client::ResolveClientConfig(options, clock);
    if (!aws) {
      std::fprintf(stderr, "coffer agent: %s\n", aws.error().message.c_str());
      return 2;
    }
    agent::Agent syncer(std::move(*config), std::move(*aws), clock);
    if (Status started = syncer.Start(); !started) {
      std::fprintf(stderr, "coffer agent: %s\n", started.error().message.c_str());
      return 1;
    }
    if (!syncer.metrics_address().empty()) {
      std::printf("metrics on http://%s/metrics\n", syncer.metrics_address().c_str());
    }
    std::fflush(stdout);
    std::thread waiter([&syncer] {
      int signal = server::WaitForShutdownSignal();
      while (server::IsReloadSignal(signal)) signal = server::WaitForShutdownSignal();
      util::LogInfo("agent: shutting down", {{"signal", signal}});
      syncer.Stop();
    });
    syncer.Run();
    // Run returns only after Stop(), which only the waiter calls. The sync in
    // progress has finished and the state file is written; the follower may
    // still sit in a long-poll (up to feedWait), which nothing needs: exit now
    // rather than wait for it.
    waiter.join();
    util::FlushLogging();
    std::fflush(stdout);
    std::_Exit(0);
  };
}

struct CommandSpec {
  const char* name;
  const char* help;
  Runner (*add)(CLI::App& command);
};

// The command table. New roles (login, file, agent, audit, chamber-style
// read/write/...) add a line here and an Add* function.
constexpr CommandSpec kCommands[] = {
    {"server", "run the secrets server", AddServer},
    {"login", "trade an OIDC token (GitHub Actions) for short-lived credentials", AddLogin},
    {"audit", "verify or read the audit log", AddAudit},
    {"kms", "KMS administration: re-wrap stored values after a key rotation", AddKms},
    {"operator", "production mode: init, unseal, seal, rekey, rotate-root", AddOperator},
    {"backup", "copy a data directory, while its server runs, for a later restore", AddBackup},
    {"write", "write a value: SERVICE KEY VALUE|-", AddWrite},
    {"read", "read a value: SERVICE KEY", AddRead},
    {"list", "list a service's keys", AddList},
    {"list-services", "list services", AddListServices},
    {"history", "a key's versions and who wrote them", AddHistory},
    {"delete", "delete a key", AddDelete},
    {"find", "find a key (or a value) in every service", AddFind},
    {"env", "print services' values as shell export lines", AddEnv},
    {"exec", "run a command with services' values in its environment", AddExec},
    {"bundle", "one KMS-encrypted file of many values: create, inspect (exec --bundle)",
     AddBundle},
    {"export", "write services' values in a file format", AddExport},
    {"import", "write a JSON or YAML file's values into a service", AddImport},
    {"tag", "read, write or delete a key's tags", AddTag},
    {"file", "SOPS-compatible encrypted files (age, PGP, KMS keys)", AddFile},
    {"age", "encrypt and decrypt files in the age format", AddAge},
    {"agent", "sync values into files and manifests; roll workloads out once per burst",
     AddAgent},
    {"version", "print the version", AddVersion},
    {"completion", "print a shell completion script", AddCompletion},
};

}  // namespace

int RunCommandLine(int argc, char** argv) {
  CLI::App app{"coffer: a self-hosted secrets server speaking the AWS APIs", "coffer"};
  app.require_subcommand(1);
  std::map<const CLI::App*, Runner> runners;
  for (const CommandSpec& spec : kCommands) {
    CLI::App* command = app.add_subcommand(spec.name, spec.help);
    runners[command] = spec.add(*command);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (const CLI::App* command : app.get_subcommands()) {
    auto it = runners.find(command);
    if (it != runners.end()) return it->second();
  }
  return 2;
}

}  // namespace coffer::main
