#include "api/awsquery/query_protocol.h"

#include <strings.h>

#include <cctype>
#include <chrono>
#include <optional>

#include "util/encoding.h"
#include "util/log.h"

namespace coffer::api::awsquery {
namespace {

struct WireError {
  const char* code;
  int status;
};

// The one mapping table for the query protocols: (service, code, reason) ->
// wire code and status. STS and IAM share most rows.
WireError MapError(std::string_view service, const Error& e) {
  switch (e.reason) {
    case Reason::kMissingAuthenticationToken: return {"MissingAuthenticationToken", 403};
    case Reason::kIncompleteSignature: return {"IncompleteSignature", 400};
    case Reason::kSignatureExpired:
    case Reason::kSignatureNotYetCurrent:
    case Reason::kSignatureMismatch: return {"SignatureDoesNotMatch", 403};
    case Reason::kUnknownAccessKey:
    case Reason::kInvalidSecurityToken: return {"InvalidClientTokenId", 403};
    case Reason::kExpiredSecurityToken: return {"ExpiredToken", 403};
    case Reason::kAccessDenied: return {"AccessDenied", 403};
    case Reason::kUnknownOperation: return {"InvalidAction", 400};
    case Reason::kMalformedPolicy: return {"MalformedPolicyDocument", 400};
    case Reason::kNoSuchEntity: return {"NoSuchEntity", 404};
    case Reason::kEntityAlreadyExists: return {"EntityAlreadyExists", 409};
    case Reason::kDeleteConflict: return {"DeleteConflict", 409};
    case Reason::kLimitExceeded: return {"LimitExceeded", 409};
    case Reason::kInvalidIdentityToken: return {"InvalidIdentityToken", 400};
    case Reason::kExpiredIdentityToken: return {"ExpiredTokenException", 400};
    case Reason::kIdpRejectedClaim: return {"IDPRejectedClaim", 403};
    case Reason::kIdpCommunicationError: return {"IDPCommunicationError", 400};
    case Reason::kMalformedInput:
    case Reason::kValidation: return {service == "iam" ? "ValidationError" : "ValidationError", 400};
    default: break;
  }
  switch (e.code) {
    case ErrorCode::kInvalidArgument: return {service == "iam" ? "InvalidInput" : "ValidationError", 400};
    case ErrorCode::kNotFound: return {"NoSuchEntity", 404};
    case ErrorCode::kAlreadyExists: return {"EntityAlreadyExists", 409};
    case ErrorCode::kFailedPrecondition: return {"DeleteConflict", 409};
    case ErrorCode::kResourceExhausted: return {"LimitExceeded", 409};
    case ErrorCode::kAborted: return {"ConcurrentModification", 409};
    case ErrorCode::kPermissionDenied: return {"AccessDenied", 403};
    case ErrorCode::kUnauthenticated: return {"InvalidClientTokenId", 403};
    case ErrorCode::kUnavailable: return {"ServiceUnavailable", 503};
    default: return {service == "iam" ? "ServiceFailure" : "InternalFailure", 500};
  }
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// The caller's action as error messages quote it: at most this many bytes.
constexpr size_t kMaxQuotedAction = 128;

Error InvalidAction(std::string_view action) {
  std::string message = "The action ";
  message.append(action.substr(0, kMaxQuotedAction));
  if (action.size() > kMaxQuotedAction) message += "...";
  message += " is not valid for this web service.";
  return Error{ErrorCode::kInvalidArgument, Reason::kUnknownOperation, std::move(message)};
}

}  // namespace

Result<QueryParams> QueryParams::Parse(std::string_view body) {
  QueryParams out;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    COFFER_ASSIGN_OR_RETURN(std::string key, util::UriDecode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      COFFER_ASSIGN_OR_RETURN(value, util::UriDecode(pair.substr(eq + 1), true));
    }
    // A parameter given twice is ambiguous (which one did the signer mean?).
    if (out.values_.contains(key)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "The parameter '" + key.substr(0, 128) + "' appears more than once.",
                  Reason::kMalformedInput);
    }
    out.values_[std::move(key)] = std::move(value);
  }
  return out;
}

const std::string* QueryParams::Find(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

Result<std::string> QueryParams::Required(std::string_view name) const {
  if (const std::string* v = Find(name)) return *v;
  return Fail(ErrorCode::kInvalidArgument,
              "1 validation error detected: Value null at '" + std::string(1, static_cast<char>(std::tolower(name[0]))) +
                  std::string(name.substr(1)) + "' failed to satisfy constraint: Member must not be null",
              Reason::kValidation);
}

std::string QueryParams::Optional(std::string_view name, std::string_view fallback) const {
  if (const std::string* v = Find(name)) return *v;
  return std::string(fallback);
}

std::vector<std::string> QueryParams::List(std::string_view prefix) const {
  std::vector<std::string> out;
  for (int i = 1;; ++i) {
    const std::string* v = Find(std::string(prefix) + ".member." + std::to_string(i));
    if (v == nullptr) break;
    out.push_back(*v);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> QueryParams::KeyValueList(
    std::string_view prefix, std::string_view key_name, std::string_view value_name) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 1;; ++i) {
    std::string base = std::string(prefix) + ".member." + std::to_string(i) + ".";
    const std::string* k = Find(base + std::string(key_name));
    if (k == nullptr) break;
    out.emplace_back(*k, Optional(base + std::string(value_name)));
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

Xml& Xml::Open(std::string_view name) {
  out_ += '<';
  out_ += name;
  out_ += '>';
  return *this;
}
Xml& Xml::Close(std::string_view name) {
  out_ += "</";
  out_ += name;
  out_ += '>';
  return *this;
}
Xml& Xml::Element(std::string_view name, std::string_view text) {
  Open(name);
  out_ += XmlEscape(text);
  return Close(name);
}
Xml& Xml::Raw(std::string_view xml) {
  out_ += xml;
  return *this;
}

HttpResponse QueryErrorResponse(const QueryService* service, const Error& error,
                                std::string_view request_id) {
  std::string_view name = service ? service->signing_name() : "sts";
  std::string_view ns = service ? service->xml_namespace() : "https://sts.amazonaws.com/doc/2011-06-15/";
  WireError wire = MapError(name, error);
  HttpResponse response;
  response.status = wire.status;
  response.SetHeader("Content-Type", "text/xml");
  response.SetHeader("x-amzn-RequestId", std::string(request_id));
  Xml xml;
  xml.Raw("<ErrorResponse xmlns=\"").Raw(XmlEscape(ns)).Raw("\">");
  xml.Open("Error")
      .Element("Type", wire.status >= 500 ? "Receiver" : "Sender")
      .Element("Code", wire.code)
      .Element("Message", error.message)
      .Close("Error")
      .Element("RequestId", request_id)
      .Close("ErrorResponse");
  response.body = xml.str();
  return response;
}

QueryProtocol::QueryProtocol(auth::Authenticator& authenticator, util::Metrics& metrics)
    : authenticator_(authenticator), metrics_(metrics) {}

void QueryProtocol::AddService(std::unique_ptr<QueryService> service) {
  services_.push_back(std::move(service));
}

bool QueryProtocol::Matches(const HttpRequest& request) {
  if (request.HasHeader("X-Amz-Target") || request.method != "POST") return false;
  std::string_view ct = request.Header("Content-Type");
  return ct.size() >= 33 && IEquals(ct.substr(0, 33), "application/x-www-form-urlencoded");
}

void QueryProtocol::EnableAudit(audit::Sink& sink, util::Clock& clock) {
  audit_ = &sink;
  clock_ = &clock;
}

void AuditNote::Record(std::string_view resource_arn, std::string_view kind, std::string by) {
  if (decision == "explicit-deny" || decision == "implicit-deny") return;
  resource = std::string(resource_arn);
  decision = std::string(kind);
  decided_by = std::move(by);
}

HttpResponse QueryProtocol::Handle(const HttpRequest& request) {
  auto started = std::chrono::steady_clock::now();
  QueryService* service = nullptr;
  // The operation as metrics and the audit record name it: one of the
  // service's actions (a closed set), else "unknown". The Action member is the
  // caller's, and each new label value would be a series kept forever.
  std::string_view action = "unknown";
  std::string principal_arn;
  AuditNote note;
  auto finish = [&](HttpResponse response) {
    if (audit_ != nullptr) {
      audit::Record record;
      record.time = clock_->Now();
      record.request_id = request.request_id;
      record.principal_arn = principal_arn;
      record.source_ip = request.remote_ip;
      record.api = std::string(service ? service->signing_name() : "query");
      record.operation = std::string(action);
      record.resource = note.resource;
      record.decision = note.decision;
      record.decided_by = note.decided_by;
      // Refused before any policy was read (signature, unknown action, bad input).
      if (record.decision.empty()) record.decision = response.status == 403 ? "denied" : "n/a";
      record.status = response.status;
      if (response.status >= 300) {
        size_t a = response.body.find("<Code>"), b = response.body.find("</Code>");
        if (a != std::string::npos && b != std::string::npos && b > a) {
          record.error_code = response.body.substr(a + 6, b - a - 6);
        }
      }
      if (Status written = audit_->Write(record); !written) {
        response = QueryErrorResponse(service,
                                      Error{ErrorCode::kUnavailable, Reason::kNone,
                                            "The request cannot be audited; it was refused."},
                                      request.request_id);
      }
    }
    std::string labels = "api=\"" + std::string(service ? service->signing_name() : "query") +
                         "\",op=\"" + std::string(action) + "\",code=\"" +
                         std::to_string(response.status) + "\"";
    metrics_.Increment("coffer_requests_total", labels);
    metrics_.Observe(
        "coffer_request_duration_seconds",
        "api=\"" + std::string(service ? service->signing_name() : "query") + "\"",
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return response;
  };

  auto params = QueryParams::Parse(request.body);
  if (!params) return finish(QueryErrorResponse(nullptr, params.error(), request.request_id));
  const std::string* act = params->Find("Action");
  if (act == nullptr || act->empty()) {
    return finish(QueryErrorResponse(
        nullptr, Error{ErrorCode::kInvalidArgument, Reason::kUnknownOperation, "Could not find operation"},
        request.request_id));
  }
  std::string_view authorization = request.Header("Authorization");
  std::optional<auth::Authenticated> caller;
  if (!authorization.empty()) {
    auto scope = auth::Authenticator::PeekScope(authorization);
    if (!scope) return finish(QueryErrorResponse(nullptr, scope.error(), request.request_id));
    for (const auto& s : services_) {
      if (s->signing_name() == scope->service) service = s.get();
    }
  } else {
    std::string version = params->Optional("Version");
    for (const auto& s : services_) {
      if (s->version() == version) service = s.get();
    }
  }
  if (service == nullptr) {
    return finish(QueryErrorResponse(nullptr, InvalidAction(*act), request.request_id));
  }
  bool is_known = service->HasAction(*act);
  if (is_known) action = *act;
  if (!service->IsUnsigned(*act) || !authorization.empty()) {
    auth::SignedRequest signed_request;
    signed_request.method = request.method;
    signed_request.path = request.path;
    signed_request.query = request.query;
    signed_request.body = request.body;
    signed_request.service = service->signing_name();
    signed_request.headers.reserve(request.headers.size());
    for (const auto& [k, v] : request.headers) signed_request.headers.emplace_back(k, v);
    auto authenticated = authenticator_.Authenticate(signed_request);
    if (!authenticated) {
      return finish(QueryErrorResponse(service, authenticated.error(), request.request_id));
    }
    caller = std::move(*authenticated);
    principal_arn = caller->principal.arn;
  }
  if (audit_ != nullptr && !audit_->Healthy()) {
    return finish(QueryErrorResponse(service,
                                     Error{ErrorCode::kUnavailable, Reason::kNone,
                                           "The request cannot be audited; it was refused."},
                                     request.request_id));
  }
  if (!is_known) {  // never handed to the service, whose messages may quote it whole
    return finish(QueryErrorResponse(service, InvalidAction(*act), request.request_id));
  }
  QueryContext context{caller ? &*caller : nullptr, request.request_id, request.remote_ip,
                       request.secure, &note};
  auto result = service->Call(*act, *params, context);
  if (!result) {
    if (result.error().code == ErrorCode::kInternal) {
      util::LogError("query call failed", {{"request_id", request.request_id},
                                           {"action", action},
                                           {"error", result.error().message}});
    }
    return finish(QueryErrorResponse(service, result.error(), request.request_id));
  }
  HttpResponse response;
  response.SetHeader("Content-Type", "text/xml");
  response.SetHeader("x-amzn-RequestId", request.request_id);
  Xml xml;
  xml.Raw("<").Raw(*act).Raw("Response xmlns=\"").Raw(XmlEscape(service->xml_namespace())).Raw("\">");
  if (!result->empty()) xml.Open(*act + "Result").Raw(*result).Close(*act + "Result");
  xml.Open("ResponseMetadata").Element("RequestId", request.request_id).Close("ResponseMetadata");
  xml.Raw("</").Raw(*act).Raw("Response>");
  response.body = xml.str();
  return finish(std::move(response));
}

}  // namespace coffer::api::awsquery
