#include "client/aws_client.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "client/aws_files.h"
#include "sigv4/sigv4.h"
#include "util/encoding.h"

namespace coffer::client {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

// Reads section `section` of an INI-style AWS file into key -> value.
std::map<std::string, std::string> ReadSection(const std::string& path, const std::string& section) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      inside = Trim(std::string_view(t).substr(1, t.size() - 2)) == section;
      continue;
    }
    if (!inside) continue;
    size_t eq = t.find('=');
    if (eq == std::string::npos) continue;
    out[Trim(std::string_view(t).substr(0, eq))] = Trim(std::string_view(t).substr(eq + 1));
  }
  return out;
}

std::string HomePath(const char* rel) {
  std::string home = Env("HOME");
  return home.empty() ? std::string() : home + rel;
}

AwsError ParseError(const HttpResult& r) {
  AwsError e;
  e.status = r.status;
  std::string_view body = r.body;
  if (body.find("<ErrorResponse") != std::string_view::npos ||
      body.find("<Error>") != std::string_view::npos) {
    e.code = XmlText(body, "Code");
    e.message = XmlText(body, "Message");
  } else {
    // {"__type": "com.amazonaws.ssm#ParameterNotFound", "message": "..."}
    auto field = [&](std::string_view name) -> std::string {
      std::string key = "\"" + std::string(name) + "\"";
      size_t k = body.find(key);
      if (k == std::string_view::npos) return "";
      size_t colon = body.find(':', k + key.size());
      size_t q1 = colon == std::string_view::npos ? colon : body.find('"', colon);
      if (q1 == std::string_view::npos) return "";
      std::string out;
      for (size_t i = q1 + 1; i < body.size() && body[i] != '"'; ++i) {
        if (body[i] == '\\' && i + 1 < body.size()) ++i;
        out.push_back(body[i]);
      }
      return out;
    };
    e.code = field("__type");
    if (e.code.empty()) e.code = field("code");  // Coffer's own API (/v1/...)
    if (auto hash = e.code.rfind('#'); hash != std::string::npos) e.code = e.code.substr(hash + 1);
    e.message = field("message");
    if (e.message.empty()) e.message = field("Message");
  }
  if (e.code.empty()) e.code = std::to_string(r.status);
  return e;
}

bool IsRetryable(const AwsResponse& response) {
  if (!response.error) return false;
  if (response.status >= 500 || response.status == 429) return true;
  // The SDKs' throttling and transient error codes.
  static const std::set<std::string, std::less<>> kThrottling = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "RequestThrottled",
      "SlowDown",
      "PriorRequestNotComplete",
      "EC2ThrottledException",
      "RequestTimeout",
      "RequestTimeoutException",
      "TransactionInProgressException",
      "ProvisionedThroughputExceededException",
  };
  return kThrottling.contains(response.error->code);
}

// The standard retry mode's wait before attempt `attempt` + 1 (0-based):
// uniformly random in [0, min(20 s, 2^attempt s)).
std::chrono::milliseconds Backoff(int attempt) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  double cap = std::min(20.0, static_cast<double>(1LL << std::min(attempt, 5)));
  std::uniform_real_distribution<double> jitter(0.0, cap);
  return std::chrono::milliseconds(static_cast<int64_t>(jitter(random) * 1000));
}

Result<AwsResponse> SignedCallOnce(const AwsConfig& config, std::string_view service,
                                   std::vector<std::pair<std::string, std::string>> headers,
                                   const std::string& body, bool sign, util::Clock& clock,
                                   std::string_view method, std::string_view path) {
  std::string endpoint = EndpointFor(config, service) + std::string(path);
  COFFER_ASSIGN_OR_RETURN(UrlParts url, ParseUrl(endpoint));
  headers.emplace_back("Host", url.host);
  if (sign) {
    if (!config.credentials) {
      return Fail(ErrorCode::kUnauthenticated,
                  "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a "
                  "shared credentials file)");
    }
    std::vector<sigv4::HeaderView> views;
    for (const auto& [k, v] : headers) views.emplace_back(k, v);
    sigv4::RequestParts parts{method, url.path, url.query, views};
    sigv4::SigningParams params;
    params.access_key_id = config.credentials->access_key_id;
    params.secret_access_key = &config.credentials->secret_access_key;
    params.session_token = config.credentials->session_token;
    params.region = config.region;
    params.service = service;
    params.time = clock.Now();
    params.body = body;
    COFFER_ASSIGN_OR_RETURN(sigv4::SignResult signed_result, sigv4::Sign(parts, params));
    for (auto& h : signed_result.headers_to_add) headers.push_back(std::move(h));
  }
  HttpCall call;
  call.method = std::string(method);
  call.url = endpoint;
  call.headers = std::move(headers);
  call.body = body;
  call.timeout = config.timeout;
  call.ca_file = config.ca_bundle;
  COFFER_ASSIGN_OR_RETURN(HttpResult r, Perform(call));
  AwsResponse out;
  out.status = r.status;
  if (r.status >= 300) {
    out.error = ParseError(r);
  }
  out.body = std::move(r.body);
  return out;
}

// One call with the standard retry mode: throttling, 5xx and transport
// failures are tried again, up to config.max_attempts in all.
Result<AwsResponse> SignedCall(const AwsConfig& config, std::string_view service,
                               std::vector<std::pair<std::string, std::string>> headers,
                               std::string body, bool sign, util::Clock& clock,
                               std::string_view method = "POST", std::string_view path = "") {
  const int attempts = std::max(1, config.max_attempts);
  for (int attempt = 0;; ++attempt) {
    auto result = SignedCallOnce(config, service, headers, body, sign, clock, method, path);
    bool retry = result ? IsRetryable(*result) : result.error().code == ErrorCode::kUnavailable;
    if (!retry || attempt + 1 >= attempts) return result;
    std::this_thread::sleep_for(Backoff(attempt));
  }
}

}  // namespace

namespace {

struct ServiceId {
  const char* signing_name;
  const char* env_suffix;  // AWS_ENDPOINT_URL_<suffix>
  const char* config_key;  // key in a `services` section
};

constexpr ServiceId kServices[] = {
    {"ssm", "SSM", "ssm"},
    {"secretsmanager", "SECRETS_MANAGER", "secrets_manager"},
    {"kms", "KMS", "kms"},
    {"sts", "STS", "sts"},
    {"iam", "IAM", "iam"},
    {"s3", "S3", "s3"},
};

std::string StripSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Get(const IniSection& section, const std::string& key) {
  auto it = section.find(key);
  return it == section.end() ? "" : it->second;
}

// Resolves credentials for profiles, following source_profile chains.
class CredentialResolver {
 public:
  CredentialResolver(const EnvLookup& env, const IniFile& config_file, const IniFile& creds_file,
                     const AwsConfig& base, util::Clock& clock)
      : env_(env), config_file_(config_file), creds_file_(creds_file), base_(base),
        clock_(clock) {}

  const IniSection& ConfigSection(const std::string& profile) const {
    return config_file_.Section(profile == "default" ? "default" : "profile " + profile);
  }

  bool ProfileExists(const std::string& profile) const {
    return config_file_.sections.contains(profile == "default" ? "default"
                                                                : "profile " + profile) ||
           creds_file_.sections.contains(profile);
  }

  std::optional<Credentials> FromEnvironment() const {
    std::string akid = env_("AWS_ACCESS_KEY_ID");
    std::string secret = env_("AWS_SECRET_ACCESS_KEY");
    if (akid.empty() || secret.empty()) return std::nullopt;
    Credentials c{akid, SecretBytes(secret), env_("AWS_SESSION_TOKEN")};
    util::SecureClear(secret);
    return c;
  }

  static std::optional<Credentials> StaticKeys(const IniSection& section) {
    std::string akid = Get(section, "aws_access_key_id");
    std::string secret = Get(section, "aws_secret_access_key");
    if (akid.empty() || secret.empty()) return std::nullopt;
    Credentials c{akid, SecretBytes(secret), Get(section, "aws_session_token")};
    util::SecureClear(secret);
    return c;
  }

  // The profile's own credentials (not the environment's), following
  // role_arn/source_profile. `depth` guards against loops.
  Result<std::optional<Credentials>> ForProfile(const std::string& profile, int depth,
                                                bool top_level) {
    if (depth > 8) {
      return Fail(ErrorCode::kInvalidArgument,
                  "profile " + profile + ": source_profile chain is too long or loops");
    }
    const IniSection& cfg = ConfigSection(profile);
    std::string role_arn = Get(cfg, "role_arn");
    if (!role_arn.empty()) return AssumeRoleProfile(profile, cfg, role_arn, depth);
    if (top_level) {
      std::string token_file = env_("AWS_WEB_IDENTITY_TOKEN_FILE");
      std::string env_role = env_("AWS_ROLE_ARN");
      if (!token_file.empty() && !env_role.empty()) {
        return WebIdentity(env_role, token_file, env_("AWS_ROLE_SESSION_NAME"));
      }
    }
    if (auto c = StaticKeys(creds_file_.Section(profile))) return c;
    std::string process = Get(cfg, "credential_process");
    if (!process.empty()) return CredentialProcess(profile, process);
    if (auto c = StaticKeys(cfg)) return c;
    if (top_level) {
      COFFER_ASSIGN_OR_RETURN(std::optional<Credentials> c, ContainerCredentials());
      if (c) return c;
      return InstanceCredentials();
    }
    return std::optional<Credentials>();
  }

 private:
  Result<std::optional<Credentials>> AssumeRoleProfile(const std::string& profile,
                                                       const IniSection& cfg,
                                                       const std::string& role_arn, int depth) {
    std::string session = Get(cfg, "role_session_name");
    std::string token_file = Get(cfg, "web_identity_token_file");
    if (!token_file.empty()) return WebIdentity(role_arn, token_file, session);
    std::optional<Credentials> source;
    std::string source_profile = Get(cfg, "source_profile");
    std::string credential_source = Get(cfg, "credential_source");
    if (!source_profile.empty()) {
      if (source_profile == profile) {
        // A profile that is its own source uses its static keys (botocore's rule).
        source = StaticKeys(creds_file_.Section(profile));
        if (!source) source = StaticKeys(cfg);
      } else {
        if (!ProfileExists(source_profile)) {
          return Fail(ErrorCode::kInvalidArgument, "profile " + profile +
                                                       ": source_profile " + source_profile +
                                                       " does not exist");
        }
        COFFER_ASSIGN_OR_RETURN(source, ForProfile(source_profile, depth + 1, false));
      }
    } else if (credential_source == "Environment") {
      source = FromEnvironment();
    } else {
      return Fail(ErrorCode::kInvalidArgument,
                  "profile " + profile +
                      " has role_arn but no source_profile, credential_source = Environment "
                      "or web_identity_token_file");
    }
    if (!source) {
      return Fail(ErrorCode::kUnauthenticated,
                  "profile " + profile + ": no credentials to assume " + role_arn + " with");
    }
    std::string form = "Action=AssumeRole&Version=2011-06-15&RoleArn=" + FormEncode(role_arn) +
                       "&RoleSessionName=" + FormEncode(SessionName(session));
    if (std::string id = Get(cfg, "external_id"); !id.empty()) {
      form += "&ExternalId=" + FormEncode(id);
    }
    if (std::string d = Get(cfg, "duration_seconds"); !d.empty()) {
      form += "&DurationSeconds=" + FormEncode(d);
    }
    AwsConfig sts = base_;
    sts.credentials = std::move(source);
    return CallSts(sts, form, /*unsigned_call=*/false, "AssumeRole", role_arn);
  }

  Result<std::optional<Credentials>> WebIdentity(const std::string& role_arn,
                                                 const std::string& token_file,
                                                 const std::string& session) {
    std::ifstream in(token_file, std::ios::binary);
    if (!in) {
      return Fail(ErrorCode::kInvalidArgument, "cannot read the web identity token file " +
                                                   token_file);
    }
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' ||
                              token.back() == ' ')) {
      token.pop_back();
    }
    std::string form = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" +
                       FormEncode(role_arn) + "&RoleSessionName=" +
                       FormEncode(SessionName(session)) + "&WebIdentityToken=" +
                       FormEncode(token);
    util::SecureClear(token);
    AwsConfig sts = base_;
    sts.credentials.reset();
    auto result = CallSts(sts, form, /*unsigned_call=*/true, "AssumeRoleWithWebIdentity",
                          role_arn);
    util::SecureClear(form);
    return result;
  }

  std::string SessionName(const std::string& configured) const {
    if (!configured.empty()) return configured;
    return "coffer-" + std::to_string(util::ToUnixMillis(clock_.Now()));
  }

  Result<std::optional<Credentials>> CallSts(const AwsConfig& sts, const std::string& form,
                                             bool unsigned_call, const char* action,
                                             const std::string& role_arn) {
    COFFER_ASSIGN_OR_RETURN(AwsResponse response,
                            CallQuery(sts, "sts", form, unsigned_call, clock_));
    if (response.error) {
      return Fail(ErrorCode::kUnauthenticated,
                  std::string("sts:") + action + " of " + role_arn + " at " +
                      EndpointFor(sts, "sts") + " failed: " + response.error->code + ": " +
                      response.error->message);
    }
    std::string akid = XmlText(response.body, "AccessKeyId");
    std::string secret = XmlText(response.body, "SecretAccessKey");
    std::string token = XmlText(response.body, "SessionToken");
    util::SecureClear(response.body);
    if (akid.empty() || secret.empty()) {
      return Fail(ErrorCode::kUnauthenticated,
                  std::string("sts:") + action + " of " + role_arn + " returned no credentials");
    }
    Credentials c{akid, SecretBytes(secret), token};
    util::SecureClear(secret);
    return std::optional<Credentials>(std::move(c));
  }

  Result<std::optional<Credentials>> CredentialProcess(const std::string& profile,
                                                       const std::string& command) {
    std::fflush(nullptr);
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      return Fail(ErrorCode::kUnauthenticated,
                  "profile " + profile + ": cannot run its credential_process");
    }
    std::string out;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
    util::SecureZero(buffer, sizeof(buffer));
    int status = ::pclose(pipe);
    if (status != 0) {
      util::SecureClear(out);
      return Fail(ErrorCode::kUnauthenticated,
                  "profile " + profile + ": credential_process exited with status " +
                      std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : status));
    }
    nlohmann::json doc = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
    util::SecureClear(out);
    auto field = [&](const char* name) -> std::string {
      if (!doc.is_object() || !doc.contains(name) || !doc[name].is_string()) return "";
      return doc[name].get<std::string>();
    };
    if (!doc.is_object() || !doc.contains("Version") || doc["Version"] != 1) {
      return Fail(ErrorCode::kUnauthenticated,
                  "profile " + profile +
                      ": credential_process did not print a JSON object with \"Version\": 1");
    }
    std::string akid = field("AccessKeyId");
    std::string secret = field("SecretAccessKey");
    std::string token = field("SessionToken");
    if (doc.contains("SecretAccessKey") && doc["SecretAccessKey"].is_string()) {
      util::SecureClear(doc["SecretAccessKey"].get_ref<std::string&>());
    }
    if (akid.empty() || secret.empty()) {
      return Fail(ErrorCode::kUnauthenticated,
                  "profile " + profile +
                      ": credential_process output lacks AccessKeyId or SecretAccessKey");
    }
    Credentials c{akid, SecretBytes(secret), token};
    util::SecureClear(secret);
    return std::optional<Credentials>(std::move(c));
  }

  // ECS task roles (and EKS Pod Identity): GET AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on
  // 169.254.170.2, or AWS_CONTAINER_CREDENTIALS_FULL_URI when it is https or a loopback /
  // ECS / EKS address (botocore's rule), with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).
  Result<std::optional<Credentials>> ContainerCredentials() {
    std::string relative = env_("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    std::string full = env_("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    std::string url;
    if (!relative.empty()) {
      url = "http://169.254.170.2" + relative;
    } else if (!full.empty()) {
      COFFER_ASSIGN_OR_RETURN(UrlParts parts, ParseUrl(full));
      std::string host = parts.host.substr(0, parts.host.rfind(':'));
      if (parts.host.starts_with("[")) host = parts.host.substr(0, parts.host.find(']') + 1);
      bool allowed = parts.scheme == "https" || host == "127.0.0.1" || host == "localhost" ||
                     host == "[::1]" || host == "169.254.170.2" || host == "169.254.170.23" ||
                     host == "[fd00:ec2::23]";
      if (!allowed) {
        return Fail(ErrorCode::kInvalidArgument,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback, ECS or EKS "
                    "address");
      }
      url = full;
    } else {
      return std::optional<Credentials>();
    }
    HttpCall call;
    call.url = url;
    call.timeout = std::chrono::milliseconds(2000);
    call.ca_file = base_.ca_bundle;
    std::string token = env_("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    if (std::string file = env_("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); !file.empty()) {
      std::ifstream in(file, std::ios::binary);
      if (!in) {
        return Fail(ErrorCode::kInvalidArgument, "cannot read the container authorization "
                                                 "token file " + file);
      }
      token.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    }
    if (!token.empty()) call.headers.emplace_back("Authorization", token);
    util::SecureClear(token);
    auto response = Perform(call);
    for (auto& [k, v] : call.headers) util::SecureClear(v);
    if (!response || response->status != 200) {
      return Fail(ErrorCode::kUnauthenticated,
                  "the container credentials endpoint " + url + " did not answer with "
                  "credentials" + (response ? " (HTTP " + std::to_string(response->status) + ")"
                                            : ": " + response.error().message));
    }
    return FromJsonDocument(response->body, "the container credentials endpoint", "Token");
  }

  // EC2 instance profiles through IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT, default
  // http://169.254.169.254; AWS_EC2_METADATA_DISABLED=true skips it). One attempt with a
  // 1 s timeout, as botocore makes: off EC2 it costs that second, then no credentials.
  Result<std::optional<Credentials>> InstanceCredentials() {
    if (Lower(env_("AWS_EC2_METADATA_DISABLED")) == "true") return std::optional<Credentials>();
    std::string base = env_("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (base.empty()) base = "http://169.254.169.254";
    base = StripSlash(base);
    HttpCall put;
    put.method = "PUT";
    put.url = base + "/latest/api/token";
    put.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", "21600");
    put.timeout = std::chrono::milliseconds(1000);
    auto token = Perform(put);
    if (!token || token->status != 200) return std::optional<Credentials>();
    HttpCall get;
    get.url = base + "/latest/meta-data/iam/security-credentials/";
    get.headers.emplace_back("X-aws-ec2-metadata-token", token->body);
    get.timeout = std::chrono::milliseconds(1000);
    auto role = Perform(get);
    if (!role || role->status != 200 || role->body.empty()) return std::optional<Credentials>();
    std::string name = role->body.substr(0, role->body.find('\n'));
    get.url += name;
    auto creds = Perform(get);
    util::SecureClear(token->body);
    if (!creds || creds->status != 200) {
      return Fail(ErrorCode::kUnauthenticated,
                  "the instance metadata service did not give credentials for role " + name);
    }
    return FromJsonDocument(creds->body, "the instance metadata service", "Token");
  }

  // {"AccessKeyId": ..., "SecretAccessKey": ..., "<token_field>": ...}; wipes `body`.
  static Result<std::optional<Credentials>> FromJsonDocument(std::string& body,
                                                             const std::string& source,
                                                             const char* token_field) {
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    util::SecureClear(body);
    auto field = [&](const char* name) -> std::string {
      if (!doc.is_object() || !doc.contains(name) || !doc[name].is_string()) return "";
      return doc[name].get<std::string>();
    };
    std::string akid = field("AccessKeyId");
    std::string secret = field("SecretAccessKey");
    std::string token = field(token_field);
    if (doc.is_object() && doc.contains("SecretAccessKey") && doc["SecretAccessKey"].is_string()) {
      util::SecureClear(doc["SecretAccessKey"].get_ref<std::string&>());
    }
    if (akid.empty() || secret.empty()) {
      return Fail(ErrorCode::kUnauthenticated, source + " answered without credentials");
    }
    Credentials c{akid, SecretBytes(secret), token};
    util::SecureClear(secret);
    return std::optional<Credentials>(std::move(c));
  }

  const EnvLookup& env_;
  const IniFile& config_file_;
  const IniFile& creds_file_;
  const AwsConfig& base_;
  util::Clock& clock_;
};

}  // namespace

std::string EndpointFor(const AwsConfig& config, std::string_view service) {
  if (auto it = config.service_endpoints.find(std::string(service));
      it != config.service_endpoints.end()) {
    return it->second;
  }
  if (!config.endpoint.empty()) return config.endpoint;
  if (service == "iam") return "https://iam.amazonaws.com";
  return "https://" + std::string(service) + "." + config.region + ".amazonaws.com";
}

Result<AwsConfig> ResolveClientConfig(const ClientOptions& options, util::Clock& clock) {
  EnvLookup env = options.env;
  if (!env) env = [](std::string_view name) { return Env(std::string(name).c_str()); };
  auto home = [&](const char* rel) {
    std::string h = env("HOME");
    return h.empty() ? std::string() : h + rel;
  };
  AwsConfig config;
  bool explicit_profile = !options.profile.empty();
  config.profile = explicit_profile ? options.profile : env("AWS_PROFILE");
  if (config.profile.empty()) config.profile = "default";
  std::string config_path = env("AWS_CONFIG_FILE");
  if (config_path.empty()) config_path = home("/.aws/config");
  std::string creds_path = env("AWS_SHARED_CREDENTIALS_FILE");
  if (creds_path.empty()) creds_path = home("/.aws/credentials");
  IniFile config_file = ReadAwsIni(config_path);
  IniFile creds_file = ReadAwsIni(creds_path);
  CredentialResolver resolver(env, config_file, creds_file, config, clock);
  if (config.profile != "default" && !resolver.ProfileExists(config.profile)) {
    return Fail(ErrorCode::kInvalidArgument,
                "the config profile (" + config.profile + ") could not be found in " +
                    config_path + " or " + creds_path);
  }
  const IniSection& profile = resolver.ConfigSection(config.profile);

  config.region = options.region;
  if (config.region.empty()) config.region = env("AWS_REGION");
  if (config.region.empty()) config.region = env("AWS_DEFAULT_REGION");
  if (config.region.empty()) config.region = Get(profile, "region");
  if (config.region.empty()) config.region = "us-east-1";

  std::string attempts = env("AWS_MAX_ATTEMPTS");
  if (attempts.empty()) attempts = Get(profile, "max_attempts");
  if (!attempts.empty()) {
    char* end = nullptr;
    long n = std::strtol(attempts.c_str(), &end, 10);
    if (end == attempts.c_str() || *end != '\0' || n < 1 || n > 20) {
      return Fail(ErrorCode::kInvalidArgument, "max_attempts must be a number from 1 to 20");
    }
    config.max_attempts = static_cast<int>(n);
  }

  if (!options.endpoint.empty()) {
    config.endpoint = StripSlash(options.endpoint);
  } else {
    bool ignore = Lower(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) == "true" ||
                  Lower(Get(profile, "ignore_configured_endpoint_urls")) == "true";
    if (!ignore) {
      std::string global_env = env("AWS_ENDPOINT_URL");
      const IniSection& services =
          config_file.Section("services " + Get(profile, "services"));
      for (const ServiceId& id : kServices) {
        std::string url = env(std::string("AWS_ENDPOINT_URL_") + id.env_suffix);
        if (url.empty() && global_env.empty()) {
          url = Get(services, std::string(id.config_key) + ".endpoint_url");
        }
        if (!url.empty()) config.service_endpoints[id.signing_name] = StripSlash(url);
      }
      config.endpoint = global_env;
      if (config.endpoint.empty()) config.endpoint = Get(profile, "endpoint_url");
      config.endpoint = StripSlash(config.endpoint);
    }
  }

  config.ca_bundle = options.ca_bundle;
  if (config.ca_bundle.empty()) config.ca_bundle = env("AWS_CA_BUNDLE");
  if (config.ca_bundle.empty()) config.ca_bundle = Get(profile, "ca_bundle");
  if (!config.ca_bundle.empty() && !std::ifstream(config.ca_bundle)) {
    return Fail(ErrorCode::kInvalidArgument, "cannot read the CA bundle " + config.ca_bundle);
  }

  if (!explicit_profile) config.credentials = resolver.FromEnvironment();
  if (!config.credentials) {
    COFFER_ASSIGN_OR_RETURN(config.credentials,
                            resolver.ForProfile(config.profile, 0, /*top_level=*/true));
  }
  return config;
}


Result<AwsConfig> ResolveConfig(std::string_view endpoint_flag, std::string_view ca_bundle_flag) {
  AwsConfig config;
  config.endpoint = std::string(endpoint_flag);
  if (config.endpoint.empty()) config.endpoint = Env("AWS_ENDPOINT_URL");
  if (config.endpoint.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "no endpoint: pass --endpoint-url or set AWS_ENDPOINT_URL");
  }
  while (!config.endpoint.empty() && config.endpoint.back() == '/') config.endpoint.pop_back();
  std::string profile = Env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::string config_file = Env("AWS_CONFIG_FILE");
  if (config_file.empty()) config_file = HomePath("/.aws/config");
  auto config_section =
      ReadSection(config_file, profile == "default" ? "default" : "profile " + profile);
  std::string region = Env("AWS_REGION");
  if (region.empty()) region = Env("AWS_DEFAULT_REGION");
  if (region.empty() && config_section.count("region")) region = config_section["region"];
  if (!region.empty()) config.region = region;
  config.ca_bundle = std::string(ca_bundle_flag);
  if (config.ca_bundle.empty()) config.ca_bundle = Env("AWS_CA_BUNDLE");
  if (config.ca_bundle.empty() && config_section.count("ca_bundle")) {
    config.ca_bundle = config_section["ca_bundle"];
  }
  if (!config.ca_bundle.empty() && !std::ifstream(config.ca_bundle)) {
    // Refused rather than falling back to the system's store: the caller named what to trust.
    return Fail(ErrorCode::kInvalidArgument, "cannot read the CA bundle " + config.ca_bundle);
  }

  std::string akid = Env("AWS_ACCESS_KEY_ID");
  std::string secret = Env("AWS_SECRET_ACCESS_KEY");
  std::string token = Env("AWS_SESSION_TOKEN");
  if (akid.empty() || secret.empty()) {
    std::string creds_file = Env("AWS_SHARED_CREDENTIALS_FILE");
    if (creds_file.empty()) creds_file = HomePath("/.aws/credentials");
    auto section = ReadSection(creds_file, profile);
    akid = section["aws_access_key_id"];
    secret = section["aws_secret_access_key"];
    token = section["aws_session_token"];
    util::SecureClear(section["aws_secret_access_key"]);
  }
  if (!akid.empty() && !secret.empty()) {
    config.credentials = Credentials{akid, SecretBytes(secret), token};
  }
  util::SecureClear(secret);
  return config;
}

Result<AwsResponse> CallJson(const AwsConfig& config, std::string_view service,
                             std::string_view target, std::string_view json_body,
                             util::Clock& clock) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", std::string(target)}};
  return SignedCall(config, service, std::move(headers), std::string(json_body), true, clock);
}

Result<AwsResponse> CallQuery(const AwsConfig& config, std::string_view service,
                              std::string_view form_body, bool unsigned_call,
                              util::Clock& clock) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  return SignedCall(config, service, std::move(headers), std::string(form_body), !unsigned_call,
                    clock);
}

Result<AwsResponse> CallCoffer(const AwsConfig& config, std::string_view method,
                               std::string_view path, std::string_view json_body, bool sign,
                               util::Clock& clock) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", "application/json"}};
  return SignedCall(config, "coffer", std::move(headers), std::string(json_body), sign, clock,
                    method, path);
}

std::string XmlText(std::string_view xml, std::string_view name) {
  std::string open = "<" + std::string(name) + ">";
  std::string close = "</" + std::string(name) + ">";
  size_t a = xml.find(open);
  if (a == std::string_view::npos) return "";
  a += open.size();
  size_t b = xml.find(close, a);
  if (b == std::string_view::npos) return "";
  std::string_view raw = xml.substr(a, b - a);
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '&') {
      auto rest = raw.substr(i);
      if (rest.starts_with("&lt;")) { out += '<'; i += 3; continue; }
      if (rest.starts_with("&gt;")) { out += '>'; i += 3; continue; }
      if (rest.starts_with("&amp;")) { out += '&'; i += 4; continue; }
      if (rest.starts_with("&quot;")) { out += '"'; i += 5; continue; }
      if (rest.starts_with("&apos;")) { out += '\''; i += 5; continue; }
    }
    out.push_back(raw[i]);
  }
  return out;
}

std::string FormEncode(std::string_view value) { return util::UriEncode(value); }

}  // namespace coffer::client
