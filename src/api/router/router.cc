#include "api/router/router.h"

#include <string>
#include <string_view>
#include <utility>

#include "api/native/changes_api.h"
#include "api/native/sys_api.h"

namespace coffer::api::router {
namespace {

constexpr std::string_view kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";
constexpr std::string_view kIamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/";

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;
  }
  return true;
}

// Value of `key` in an application/x-www-form-urlencoded string, raw (not
// decoded); empty when absent.
std::string_view FormValue(std::string_view form, std::string_view key) {
  while (!form.empty()) {
    size_t amp = form.find('&');
    std::string_view pair = form.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key && eq != std::string_view::npos) return pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    form.remove_prefix(amp + 1);
  }
  return {};
}

bool HasFormKey(std::string_view form, std::string_view key) {
  while (!form.empty()) {
    size_t amp = form.find('&');
    std::string_view pair = form.substr(0, amp);
    if (pair.substr(0, pair.find('=')) == key) return true;
    if (amp == std::string_view::npos) break;
    form.remove_prefix(amp + 1);
  }
  return false;
}

void AppendXmlEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters other than tab/newline are not valid XML 1.0.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') {
          out.push_back(c);
        }
    }
  }
}

// The query protocol's error envelope (spec 1.5).
HttpResponse QueryError(const HttpRequest& request, int status, std::string_view code,
                        std::string_view message) {
  std::string_view form = request.query.empty() ? std::string_view(request.body) : request.query;
  std::string_view ns = FormValue(form, "Version") == "2010-05-08" ? kIamNamespace : kStsNamespace;
  std::string body = "<ErrorResponse xmlns=\"";
  body += ns;
  body += "\">\n  <Error><Type>";
  body += status >= 500 ? "Receiver" : "Sender";
  body += "</Type><Code>";
  AppendXmlEscaped(body, code);
  body += "</Code><Message>";
  AppendXmlEscaped(body, message);
  body += "</Message></Error>\n  <RequestId>";
  AppendXmlEscaped(body, request.request_id);
  body += "</RequestId>\n</ErrorResponse>\n";
  HttpResponse response;
  response.status = status;
  response.SetHeader("Content-Type", "text/xml");
  response.SetHeader("x-amzn-RequestId", request.request_id);
  response.body = std::move(body);
  return response;
}

HttpResponse JsonError(const HttpRequest& request, int status, std::string_view type,
                       std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.SetHeader("Content-Type", "application/json");
  response.SetHeader("x-amzn-RequestId", request.request_id);
  response.body = "{\"__type\":\"";
  response.body += type;  // a constant of ours, no escaping needed
  response.body += "\",\"message\":\"";
  response.body += message;
  response.body += "\"}";
  return response;
}

}  // namespace

Router::Router(native::NativeApi& native, ProtocolHandler json, ProtocolHandler query,
               ProtocolHandler sys, ProtocolHandler s3)
    : native_(native),
      json_(std::move(json)),
      query_(std::move(query)),
      sys_(std::move(sys)),
      s3_(std::move(s3)) {}

HttpResponse Router::Sealed(const HttpRequest& request) {
  constexpr std::string_view kMessage =
      "Coffer is sealed: an operator must unseal it (coffer operator unseal) before it serves "
      "requests.";
  if (native::IsSysPath(request.path)) return native::SealedError(request);
  if (!request.HasHeader("X-Amz-Target") && IsQueryProtocol(request)) {
    return QueryError(request, 503, "ServiceUnavailable", kMessage);
  }
  if (IsS3(request)) {
    HttpResponse response;
    response.status = 503;
    response.SetHeader("x-amz-request-id", request.request_id);
    if (request.method == "HEAD") return response;
    response.SetHeader("Content-Type", "application/xml");
    response.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ServiceUnavailable</Code><Message>";
    AppendXmlEscaped(response.body, kMessage);
    response.body += "</Message><RequestId>";
    AppendXmlEscaped(response.body, request.request_id);
    response.body += "</RequestId></Error>";
    return response;
  }
  return JsonError(request, 503, "ServiceUnavailable", kMessage);
}

bool Router::IsQueryProtocol(const HttpRequest& request) {
  if (request.HasHeader("X-Amz-Target")) return false;
  if (HasFormKey(request.query, "Action")) return true;
  return request.method == "POST" &&
         StartsWithNoCase(request.Header("Content-Type"), "application/x-www-form-urlencoded");
}

bool Router::IsS3(const HttpRequest& request) {
  return !native::NativeApi::Matches(request) && !native::IsSysPath(request.path) &&
         !request.HasHeader("X-Amz-Target") && !IsQueryProtocol(request);
}

bool Router::MayBlock(const HttpRequest& request) {
  if (native::NativeApi::Matches(request)) return false;
  if (native::IsSysPath(request.path)) return request.method != "GET";
  if (native::IsChangesPath(request.path)) return true;  // a long-poll waits
  std::string_view target = request.Header("X-Amz-Target");
  if (target.empty()) return true;  // query protocol (IAM, STS) or S3
  std::string_view op = target.substr(target.rfind('.') + 1);  // npos + 1 == 0
  for (std::string_view read : {"Get", "BatchGet", "Describe", "List", "Decrypt", "Encrypt",
                                "ReEncrypt", "GenerateDataKey", "GenerateRandom", "Sign",
                                "Verify", "GenerateMac", "VerifyMac"}) {
    if (op.starts_with(read)) return false;
  }
  return true;
}

HttpResponse Router::Handle(const HttpRequest& request) const {
  if (native::NativeApi::Matches(request)) return native_.Handle(request);
  if (native::IsSysPath(request.path) || native::IsChangesPath(request.path)) {
    if (!sys_) return JsonError(request, 404, "NotFound", "no operator API on this server");
    return sys_(request);
  }
  if (request.HasHeader("X-Amz-Target")) {
    if (!json_) return JsonError(request, 500, "InternalFailure", "JSON protocol not configured");
    return json_(request);
  }
  if (IsQueryProtocol(request)) {
    if (query_) return query_(request);
    std::string_view form = request.query.empty() ? std::string_view(request.body) : request.query;
    if (!HasFormKey(form, "Action")) {
      return QueryError(request, 400, "MissingAction", "The request must contain an Action.");
    }
    std::string message = "Could not find operation ";
    message += FormValue(form, "Action").substr(0, 128);
    message += " (the query protocol for STS and IAM is not implemented yet)";
    return QueryError(request, 400, "InvalidAction", message);
  }
  if (s3_) return s3_(request);
  return JsonError(request, 404, "NotFound", "no route for this request");
}

}  // namespace coffer::api::router
