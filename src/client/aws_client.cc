#include "client/aws_client.h"

#include <cstdlib>
#include <fstream>
#include <map>

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

Result<AwsResponse> SignedCall(const AwsConfig& config, std::string_view service,
                               std::vector<std::pair<std::string, std::string>> headers,
                               std::string body, bool sign, util::Clock& clock,
                               std::string_view method = "POST", std::string_view path = "") {
  std::string endpoint = config.endpoint + std::string(path);
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
  call.body = std::move(body);
  call.timeout = config.timeout;
  call.ca_file = config.ca_bundle;
  COFFER_ASSIGN_OR_RETURN(HttpResult r, Perform(call));
  AwsResponse out;
  out.status = r.status;
  if (r.status >= 300) {
    out.error = ParseError(r);
  } else {
    out.body = std::move(r.body);
  }
  return out;
}

}  // namespace

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
