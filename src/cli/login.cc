#include "cli/login.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <ostream>
#include <sstream>

#include "client/aws_client.h"
#include "util/secret_bytes.h"

namespace coffer::cli {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

Result<SecretBytes> GithubToken(const LoginOptions& options) {
  std::string url = Env("ACTIONS_ID_TOKEN_REQUEST_URL");
  std::string bearer = Env("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
  if (url.empty() || bearer.empty()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: "
                "run inside a GitHub Actions job with `permissions: id-token: write`");
  }
  client::HttpCall call;
  call.method = "GET";
  call.url = url + (url.find('?') == std::string::npos ? "?" : "&") +
             "audience=" + client::FormEncode(options.audience);
  call.headers = {{"Authorization", "bearer " + bearer}, {"Accept", "application/json"}};
  util::SecureClear(bearer);
  auto response = client::Perform(call);
  util::SecureClear(call.headers[0].second);
  if (!response) return Fail(response.error());
  if (response->status != 200) {
    return Fail(ErrorCode::kUnauthenticated,
                "the GitHub token endpoint answered HTTP " + std::to_string(response->status));
  }
  try {
    auto doc = nlohmann::json::parse(response->body);
    if (!doc.is_object() || !doc.contains("value") || !doc["value"].is_string()) {
      return Fail(ErrorCode::kUnauthenticated, "the GitHub token endpoint gave no token value");
    }
    SecretBytes token(doc["value"].get_ref<const std::string&>());
    util::SecureClear(response->body);
    return token;
  } catch (const nlohmann::json::exception&) {
    return Fail(ErrorCode::kUnauthenticated, "the GitHub token endpoint did not answer JSON");
  }
}

Result<SecretBytes> FileToken(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Fail(ErrorCode::kNotFound, "cannot read the OIDC token file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  SecretBytes token(text);
  util::SecureClear(text);
  if (token.empty()) return Fail(ErrorCode::kInvalidArgument, "the OIDC token file is empty");
  return token;
}

}  // namespace

Status Login(const LoginOptions& options, util::Clock& clock, std::ostream& out) {
  std::string role_arn = options.role_arn.empty() ? Env("AWS_ROLE_ARN") : options.role_arn;
  if (role_arn.empty()) return Fail(ErrorCode::kInvalidArgument, "--role-arn is required");
  if (options.duration_seconds < 900 || options.duration_seconds > 43200) {
    return Fail(ErrorCode::kInvalidArgument, "--duration must be between 900 and 43200 seconds");
  }
  Result<SecretBytes> token = options.github ? GithubToken(options)
                              : !options.token_file.empty()
                                  ? FileToken(options.token_file)
                                  : Result<SecretBytes>(Fail(ErrorCode::kInvalidArgument,
                                                             "give --github or --oidc-token-file"));
  if (!token) return Fail(token.error());
  COFFER_ASSIGN_OR_RETURN(client::AwsConfig config, client::ResolveConfig(options.endpoint, options.ca_bundle));
  std::string session = options.session_name;
  if (session.empty()) {
    session = "coffer-login-" + std::to_string(util::ToUnixMillis(clock.Now()) / 1000);
  }
  std::string body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" +
                     client::FormEncode(role_arn) +
                     "&RoleSessionName=" + client::FormEncode(session) +
                     "&DurationSeconds=" + std::to_string(options.duration_seconds) +
                     "&WebIdentityToken=" + client::FormEncode(token->Reveal());
  auto response = client::CallQuery(config, "sts", body, /*unsigned_call=*/true, clock);
  util::SecureClear(body);
  if (!response) return Fail(response.error());
  if (response->error) {
    return Fail(ErrorCode::kUnauthenticated, "STS refused the token: " + response->error->code +
                                                 ": " + response->error->message);
  }
  std::string akid = client::XmlText(response->body, "AccessKeyId");
  SecretBytes secret(client::XmlText(response->body, "SecretAccessKey"));
  SecretBytes session_token(client::XmlText(response->body, "SessionToken"));
  std::string expiration = client::XmlText(response->body, "Expiration");
  util::SecureClear(response->body);
  if (akid.empty() || secret.empty() || session_token.empty()) {
    return Fail(ErrorCode::kInternal, "STS answered without credentials");
  }
  if (options.github_env) {
    std::string path = Env("GITHUB_ENV");
    if (path.empty()) return Fail(ErrorCode::kFailedPrecondition, "GITHUB_ENV is not set");
    std::ofstream env(path, std::ios::app);
    if (!env) return Fail(ErrorCode::kUnavailable, "cannot append to $GITHUB_ENV");
    out << "::add-mask::" << akid << "\n";
    out << "::add-mask::" << secret.Reveal() << "\n";
    out << "::add-mask::" << session_token.Reveal() << "\n";
    env << "AWS_ACCESS_KEY_ID=" << akid << "\n"
        << "AWS_SECRET_ACCESS_KEY=" << secret.Reveal() << "\n"
        << "AWS_SESSION_TOKEN=" << session_token.Reveal() << "\n"
        << "AWS_CREDENTIAL_EXPIRATION=" << expiration << "\n";
    if (!env.flush()) return Fail(ErrorCode::kUnavailable, "cannot write to $GITHUB_ENV");
    out << "coffer login: credentials for " << role_arn << " written to $GITHUB_ENV (expire "
        << expiration << ")\n";
  } else {
    out << "export AWS_ACCESS_KEY_ID=" << akid << "\n"
        << "export AWS_SECRET_ACCESS_KEY=" << secret.Reveal() << "\n"
        << "export AWS_SESSION_TOKEN=" << session_token.Reveal() << "\n"
        << "export AWS_CREDENTIAL_EXPIRATION=" << expiration << "\n";
  }
  return Ok();
}

}  // namespace coffer::cli
