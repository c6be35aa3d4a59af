#include "api/awsquery/query_protocol.h"

#include <strings.h>

#include <cctype>

#include "util/encoding.h"
#include "util/log.h"

namespace coffer::api::awsquery {
namespace {

struct WireError {
  const char* code;
  int status;
  bool mapped = true;  // false: fell through to the internal error
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
    case ErrorCode::kInternal: return {service == "iam" ? "ServiceFailure" : "InternalFailure", 500};
    default: return {service == "iam" ? "ServiceFailure" : "InternalFailure", 500, false};
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

pipeline::RenderedError QueryErrorResponse(const QueryService* service, const Error& error,
                                           std::string_view request_id) {
  std::string_view name = service ? service->signing_name() : "sts";
  std::string_view ns = service ? service->xml_namespace() : "https://sts.amazonaws.com/doc/2011-06-15/";
  WireError wire = MapError(name, error);
  pipeline::RenderedError out;
  out.code = wire.code;
  out.mapped = wire.mapped;
  HttpResponse& response = out.response;
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
  return out;
}

namespace {

class QueryExchange final : public pipeline::Exchange {
 public:
  QueryExchange(const HttpRequest& request,
                const std::vector<std::unique_ptr<QueryService>>& services)
      : request_(request), services_(services) {}

  std::string_view api() const override {
    return service_ != nullptr ? service_->signing_name() : std::string_view("query");
  }
  std::string_view operation() const override {
    return entry_ != nullptr ? std::string_view(*action_) : std::string_view("unknown");
  }

  // The form is parsed before authentication: the action and, for an
  // unsigned call, the Version are what route it.
  Status Route() override {
    COFFER_ASSIGN_OR_RETURN(params_, QueryParams::Parse(request_.body));
    action_ = params_.Find("Action");
    if (action_ == nullptr || action_->empty()) {
      return Fail(ErrorCode::kInvalidArgument, "Could not find operation",
                  Reason::kUnknownOperation);
    }
    signed_ = !request_.Header("Authorization").empty();
    if (signed_) {
      COFFER_ASSIGN_OR_RETURN(auto scope,
                              auth::Authenticator::PeekScope(request_.Header("Authorization")));
      for (const auto& s : services_) {
        if (s->signing_name() == scope.service) service_ = s.get();
      }
    } else {
      std::string version = params_.Optional("Version");
      for (const auto& s : services_) {
        if (s->version() == version) service_ = s.get();
      }
    }
    if (service_ == nullptr) return Fail(InvalidAction(*action_));
    entry_ = service_->Find(*action_);
    return Ok();
  }

  std::string_view signing_name() const override { return service_->signing_name(); }
  bool Unsigned() const override {
    return !signed_ && entry_ != nullptr && entry_->served_unsigned;
  }

  // An unknown action is never handed to the service, whose messages may
  // quote it whole.
  Status Decode() override {
    if (entry_ == nullptr) return Fail(InvalidAction(*action_));
    return Ok();
  }

  Result<Accesses> Resolve(const auth::Authenticated* caller,
                           auth::RequestAuthorization& authz) override {
    return pipeline::LookUp(*entry_, params_, caller, authz);
  }

  Status Handle(CallContext& context) override {
    COFFER_ASSIGN_OR_RETURN(result_, entry_->handler(params_, context));
    return Ok();
  }

  HttpResponse Render() override {
    HttpResponse response;
    response.SetHeader("Content-Type", "text/xml");
    response.SetHeader("x-amzn-RequestId", request_.request_id);
    const std::string& act = *action_;
    Xml xml;
    xml.Raw("<").Raw(act).Raw("Response xmlns=\"").Raw(XmlEscape(service_->xml_namespace()))
        .Raw("\">");
    if (!result_.empty()) xml.Open(act + "Result").Raw(result_).Close(act + "Result");
    xml.Open("ResponseMetadata").Element("RequestId", request_.request_id).Close("ResponseMetadata");
    xml.Raw("</").Raw(act).Raw("Response>");
    response.body = xml.str();
    return response;
  }

  pipeline::RenderedError RenderError(const Error& error) override {
    return QueryErrorResponse(service_, error, request_.request_id);
  }

 private:
  const HttpRequest& request_;
  const std::vector<std::unique_ptr<QueryService>>& services_;
  QueryParams params_;
  const std::string* action_ = nullptr;
  bool signed_ = false;
  QueryService* service_ = nullptr;
  const QueryOperation* entry_ = nullptr;
  std::string result_;
};

}  // namespace

void QueryProtocol::AddService(std::unique_ptr<QueryService> service) {
  services_.push_back(std::move(service));
}

bool QueryProtocol::Matches(const HttpRequest& request) const {
  if (request.HasHeader("X-Amz-Target") || request.method != "POST") return false;
  std::string_view ct = request.Header("Content-Type");
  return ct.size() >= 33 && IEquals(ct.substr(0, 33), "application/x-www-form-urlencoded");
}

std::unique_ptr<pipeline::Exchange> QueryProtocol::Open(const HttpRequest& request) {
  return std::make_unique<QueryExchange>(request, services_);
}

}  // namespace coffer::api::awsquery
