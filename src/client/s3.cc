#include "client/s3.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "sigv4/sigv4.h"

namespace coffer::client {
namespace {

bool ValidBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-')) {
      return false;
    }
  }
  return b.front() != '.' && b.front() != '-' && b.back() != '.' && b.back() != '-';
}

bool ValidKey(std::string_view k) {
  if (k.empty() || k.size() > 1024) return false;
  for (char c : k) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '~' ||
          c == '/' || c == '!' || c == '-')) {
      return false;
    }
  }
  size_t start = 0;
  while (start <= k.size()) {
    size_t end = k.find('/', start);
    if (end == std::string_view::npos) end = k.size();
    std::string_view segment = k.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return true;
}

struct Target {
  std::string url;
  std::string host;
  std::string path;
};

Result<Target> TargetFor(const AwsConfig& config, const S3Location& where) {
  std::string base;
  bool path_style = true;
  if (auto it = config.service_endpoints.find("s3"); it != config.service_endpoints.end()) {
    base = it->second;
  } else if (!config.endpoint.empty()) {
    base = config.endpoint;
  } else if (where.bucket.find('.') == std::string::npos) {
    base = "https://" + where.bucket + ".s3." + config.region + ".amazonaws.com";
    path_style = false;
  } else {
    base = "https://s3." + config.region + ".amazonaws.com";
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string url = base + (path_style ? "/" + where.bucket : "") + "/" + where.key;
  COFFER_ASSIGN_OR_RETURN(UrlParts parts, ParseUrl(url));
  return Target{url, parts.host, parts.path};
}

Result<HttpResult> Call(const AwsConfig& config, const S3Location& where, std::string method,
                        std::string_view body, size_t max_body, util::Clock& clock) {
  if (!config.credentials) {
    return Fail(ErrorCode::kUnauthenticated,
                "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a "
                "shared credentials file)");
  }
  COFFER_ASSIGN_OR_RETURN(Target target, TargetFor(config, where));
  std::string payload_hash = crypto::Sha256Hex(body);
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Host", target.host}, {"x-amz-content-sha256", payload_hash}};
  if (method == "PUT") headers.emplace_back("Content-Type", "application/octet-stream");
  std::vector<sigv4::HeaderView> views;
  for (const auto& [k, v] : headers) views.emplace_back(k, v);
  // The key's characters are all unreserved or '/', with no empty or dot
  // segments, so sigv4's canonical URI is S3's (which encodes the path once).
  sigv4::RequestParts parts{method, target.path, "", views};
  sigv4::SigningParams params;
  params.access_key_id = config.credentials->access_key_id;
  params.secret_access_key = &config.credentials->secret_access_key;
  params.session_token = config.credentials->session_token;
  params.region = config.region;
  params.service = "s3";
  params.time = clock.Now();
  params.payload_hash = payload_hash;
  COFFER_ASSIGN_OR_RETURN(sigv4::SignResult signed_result, sigv4::Sign(parts, params));
  for (auto& h : signed_result.headers_to_add) headers.push_back(std::move(h));
  HttpCall call;
  call.method = std::move(method);
  call.url = target.url;
  call.headers = std::move(headers);
  call.body = std::string(body);
  call.timeout = config.timeout;
  call.ca_file = config.ca_bundle;
  // Error bodies are small; the limit also bounds what a hostile endpoint can make us hold.
  call.max_body = std::max<size_t>(max_body, 64 * 1024);
  return Perform(call);
}

std::unexpected<Error> S3Error(std::string_view op, const S3Location& where,
                               const HttpResult& r) {
  std::string code = XmlText(r.body, "Code");
  std::string message = XmlText(r.body, "Message");
  if (code.empty()) code = "HTTP " + std::to_string(r.status);
  std::string text = "S3 " + std::string(op) + " s3://" + where.bucket + "/" + where.key + ": " +
                     code + (message.empty() ? "" : ": " + message);
  ErrorCode ec = r.status == 404   ? ErrorCode::kNotFound
                 : r.status == 403 ? ErrorCode::kPermissionDenied
                                   : ErrorCode::kUnavailable;
  return Fail(ec, std::move(text));
}

}  // namespace

bool IsS3Url(std::string_view url) { return url.starts_with("s3://"); }

Result<S3Location> ParseS3Url(std::string_view url) {
  if (!IsS3Url(url)) return Fail(ErrorCode::kInvalidArgument, "not an s3:// URL");
  std::string_view rest = url.substr(5);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "an s3:// URL needs s3://BUCKET/KEY");
  }
  S3Location where{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
  if (!ValidBucket(where.bucket)) {
    return Fail(ErrorCode::kInvalidArgument,
                "bucket " + where.bucket + ": 3..63 of a-z, 0-9, '.', '-'");
  }
  if (!ValidKey(where.key)) {
    return Fail(ErrorCode::kInvalidArgument,
                "key " + where.key + ": 1..1024 of A-Z a-z 0-9 . _ ~ ! - and '/' without empty, "
                "'.' or '..' segments");
  }
  return where;
}

Result<std::string> S3GetObject(const AwsConfig& config, const S3Location& where,
                                size_t max_size, util::Clock& clock) {
  COFFER_ASSIGN_OR_RETURN(HttpResult r, Call(config, where, "GET", "", max_size, clock));
  if (r.status != 200) return S3Error("GetObject", where, r);
  if (r.body.size() > max_size) {
    return Fail(ErrorCode::kResourceExhausted, "S3 GetObject s3://" + where.bucket + "/" +
                                                   where.key + ": larger than the limit");
  }
  return std::move(r.body);
}

Status S3PutObject(const AwsConfig& config, const S3Location& where, std::string_view body,
                   util::Clock& clock) {
  COFFER_ASSIGN_OR_RETURN(HttpResult r, Call(config, where, "PUT", body, 0, clock));
  if (r.status != 200) return S3Error("PutObject", where, r);
  return Ok();
}

}  // namespace coffer::client
