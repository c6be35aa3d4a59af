// AWS-style calls from coffer's client roles: credentials and region resolved
// the way the AWS CLI does (environment, then the shared credentials/config
// files and profile), requests signed with SigV4, JSON 1.1 and query protocol
// helpers, and AWS error bodies turned into Errors that name the AWS code.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "client/http_client.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::client {

struct Credentials {
  std::string access_key_id;
  SecretBytes secret_access_key;
  std::string session_token;  // "" for long-term keys
};

struct AwsConfig {
  // "http://127.0.0.1:8080" for every service; "" (only from ResolveClientConfig):
  // AWS's own endpoint for each service and region.
  std::string endpoint;
  std::string region = "us-east-1";
  std::optional<Credentials> credentials;  // absent: unsigned calls only
  std::chrono::milliseconds timeout{10000};  // per call, connect to last byte
  // PEM CA bundle that an https endpoint's certificate must chain to ("": the
  // system's trust store). The certificate is always verified.
  std::string ca_bundle;
  // Per-service endpoints by signing name ("ssm", "secretsmanager", "kms",
  // "sts", "iam"); they win over `endpoint` (AWS_ENDPOINT_URL_SSM, a profile's
  // `services` section).
  std::map<std::string, std::string> service_endpoints;
  // Attempts per call, the first included (the AWS SDKs' standard retry mode:
  // AWS_MAX_ATTEMPTS or the profile's max_attempts, default 3). Throttling
  // errors, 5xx answers and transport failures are retried after a random
  // wait in [0, min(20 s, 2^attempt s)).
  int max_attempts = 3;
  std::string profile;  // the profile the configuration came from
};

// The URL calls for `service` (a signing name) go to: its per-service
// endpoint, else `endpoint`, else AWS's https://SERVICE.REGION.amazonaws.com.
std::string EndpointFor(const AwsConfig& config, std::string_view service);

// Reads one environment variable ("" when unset). Injected so that tests can
// resolve a configuration without touching the process environment.
using EnvLookup = std::function<std::string(std::string_view name)>;

// What a command line says about where and as whom to call.
struct ClientOptions {
  std::string profile;    // --profile; "": $AWS_PROFILE, else "default"
  std::string region;     // --region
  std::string endpoint;   // --endpoint-url: every service, over every other source
  std::string ca_bundle;  // --ca-bundle
  EnvLookup env;          // null: the process environment
};

// Resolves a configuration the way the AWS CLI does.
//  Region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's `region`, us-east-1.
//  Endpoints: --endpoint-url; else per service AWS_ENDPOINT_URL_<SSM|SECRETS_MANAGER|KMS|
//   STS|IAM>, then AWS_ENDPOINT_URL, then the profile's `services` section
//   (`ssm =\n  endpoint_url = URL`), then the profile's `endpoint_url`, then AWS's
//   own; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (or the profile's
//   ignore_configured_endpoint_urls) ignores all but --endpoint-url.
//  Credentials, first found: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN
//   (not when --profile is given); a profile with `role_arn` (STS AssumeRole with the
//   credentials of `source_profile`, or of the environment for `credential_source =
//   Environment`; with `web_identity_token_file` instead, AssumeRoleWithWebIdentity);
//   AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME); the shared
//   credentials file's profile; the profile's `credential_process` (its JSON output,
//   Version 1); keys in the config file's profile; container credentials
//   (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI, ECS task roles); EC2 instance
//   metadata (IMDSv2; AWS_EC2_METADATA_DISABLED=true skips it, as it costs a 1 s timeout
//   off EC2). None found: no credentials.
//  Files: AWS_CONFIG_FILE (~/.aws/config), AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials).
// Errors: kInvalidArgument for a named profile that exists in neither file, a
// role profile without a source, a source_profile loop, an unreadable CA bundle
// or token file; kUnauthenticated when STS refuses (the message names the role
// and STS's code) or a credential_process fails. Messages never hold a secret.
Result<AwsConfig> ResolveClientConfig(const ClientOptions& options, util::Clock& clock);

// Resolves credentials and region from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
// AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION, AWS_PROFILE, and the files
// AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and AWS_CONFIG_FILE
// (~/.aws/config). Endpoint from `endpoint_flag`, else AWS_ENDPOINT_URL. CA
// bundle as the AWS CLI finds it: `ca_bundle_flag` (--ca-bundle), else
// AWS_CA_BUNDLE, else the profile's `ca_bundle` key, else the system's.
// Credentials are optional; kInvalidArgument when no endpoint is known or the
// CA bundle named cannot be read.
Result<AwsConfig> ResolveConfig(std::string_view endpoint_flag,
                                std::string_view ca_bundle_flag = "");

// An AWS error answered by the server: `code` is the AWS error code.
struct AwsError {
  long status = 0;
  std::string code;
  std::string message;
};

// Result of a protocol call: the body as sent, and on an error status the
// parsed AWS error too.
struct AwsResponse {
  long status = 0;
  std::string body;
  std::optional<AwsError> error;
};

// POSTs a JSON 1.1 call (X-Amz-Target = target_prefix.operation) signed for
// `service`. Transport failures are Errors; AWS errors are in `error`.
Result<AwsResponse> CallJson(const AwsConfig& config, std::string_view service,
                             std::string_view target, std::string_view json_body,
                             util::Clock& clock);

// POSTs a query-protocol call (form body, "Action=...&Version=..."). Signed
// unless `unsigned_call` (AssumeRoleWithWebIdentity).
Result<AwsResponse> CallQuery(const AwsConfig& config, std::string_view service,
                              std::string_view form_body, bool unsigned_call,
                              util::Clock& clock);

// A call to Coffer's own API: `method` on the endpoint's `path` ("/v1/sys/seal"),
// a JSON body, signed for the service "coffer" unless !sign. Errors as CallJson
// (Coffer's {"code","message"} error bodies are parsed too).
Result<AwsResponse> CallCoffer(const AwsConfig& config, std::string_view method,
                               std::string_view path, std::string_view json_body, bool sign,
                               util::Clock& clock);

// Text of the first <name>...</name> element in `xml`, entity-decoded; "" if absent.
std::string XmlText(std::string_view xml, std::string_view name);

// application/x-www-form-urlencoded encoding of one value.
std::string FormEncode(std::string_view value);

}  // namespace coffer::client
