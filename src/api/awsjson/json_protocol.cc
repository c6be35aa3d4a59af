#include "api/awsjson/json_protocol.h"

#include <optional>
#include <string>
#include <vector>

#include "api/awsjson/errors.h"
#include "auth/strict_json.h"
#include "util/check.h"

namespace coffer::api::awsjson {
namespace {

constexpr std::string_view kContentType = "application/x-amz-json-1.1";

// The stored values an answer carries or a write created, as "<ARN>#<version>"
// for the audit record: objects with an "ARN" and a "VersionId" (Secrets
// Manager), or with a numeric "Version" and a "Value" (a parameter; its "ARN",
// or for GetParameterHistory's entries, which have none, the ARN the request
// was authorized on, `resource`).
void CollectValueIds(const nlohmann::json& j, int depth, std::string_view resource,
                     std::vector<std::string>& out) {
  if (depth > 3) return;
  if (j.is_array()) {
    for (const auto& item : j) {
      if (item.is_object() || item.is_array()) CollectValueIds(item, depth + 1, resource, out);
    }
    return;
  }
  if (!j.is_object()) return;
  auto arn = j.find("ARN");
  bool has_arn = arn != j.end() && arn->is_string();
  auto version_id = j.find("VersionId");
  auto version = j.find("Version");
  if (has_arn && version_id != j.end() && version_id->is_string()) {
    out.push_back(arn->get_ref<const std::string&>() + "#" +
                  version_id->get_ref<const std::string&>());
  } else if (version != j.end() && version->is_number_integer() && j.contains("Value") &&
             (has_arn || !resource.empty())) {
    out.push_back((has_arn ? arn->get_ref<const std::string&>() : std::string(resource)) + "#" +
                  std::to_string(version->get<int64_t>()));
  }
  for (const auto& [key, child] : j.items()) {
    if (child.is_object() || child.is_array()) CollectValueIds(child, depth + 1, resource, out);
  }
}

bool IsTargetHeader(std::string_view name) {
  constexpr std::string_view kTarget = "x-amz-target";
  if (name.size() != kTarget.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kTarget[i]) return false;
  }
  return true;
}

// Parses a request body: {} when empty; a key given twice is ambiguous (which
// one did the signer mean?) and refused.
Result<nlohmann::json> ParseBody(std::string_view text) {
  if (text.empty()) return nlohmann::json::object();
  auth::StrictJson parsed = auth::ParseStrictJson(text);
  if (parsed.problem == auth::StrictJson::Problem::kDuplicateKey) {
    return Fail(ErrorCode::kInvalidArgument,
                "The request body holds the key '" + parsed.duplicate_key.substr(0, 128) +
                    "' more than once.",
                Reason::kMalformedInput);
  }
  if (parsed.problem != auth::StrictJson::Problem::kNone || !parsed.doc.is_object()) {
    return Fail(ErrorCode::kInvalidArgument,
                parsed.problem != auth::StrictJson::Problem::kNone
                    ? "Unable to parse the request body as JSON."
                    : "Start of structure or map expected.",
                Reason::kMalformedInput);
  }
  return std::move(parsed.doc);
}

class JsonExchange final : public pipeline::Exchange {
 public:
  JsonExchange(const HttpRequest& request, const JsonService* service, std::string_view operation)
      : request_(request), service_(service), operation_(operation) {
    if (service_ != nullptr) entry_ = service_->Find(operation_);
  }

  std::string_view api() const override {
    return service_ != nullptr ? service_->signing_name() : std::string_view("unknown");
  }
  std::string_view operation() const override {
    return entry_ != nullptr && !ambiguous_ ? operation_ : std::string_view("unknown");
  }

  Status Route() override {
    if (service_ == nullptr) {
      return Fail(ErrorCode::kInvalidArgument, "", Reason::kUnknownOperation);
    }
    // Two targets are ambiguous: the router and a proxy could each take another.
    size_t targets = 0;
    for (const auto& [name, value] : request_.headers) {
      if (IsTargetHeader(name)) ++targets;
    }
    if (targets > 1) {
      ambiguous_ = true;
      return Fail(ErrorCode::kUnauthenticated,
                  "The request carries more than one 'X-Amz-Target' header.",
                  Reason::kIncompleteSignature);
    }
    return Ok();
  }

  std::string_view signing_name() const override { return service_->signing_name(); }
  bool Unsigned() const override { return false; }

  Status Decode() override {
    COFFER_ASSIGN_OR_RETURN(body_, ParseBody(request_.body));
    if (entry_ == nullptr) return Fail(ErrorCode::kInvalidArgument, "", Reason::kUnknownOperation);
    return Ok();
  }

  Result<Accesses> Resolve(const auth::Authenticated* caller,
                           auth::RequestAuthorization& authz) override {
    return pipeline::LookUp(*entry_, Fields(body_), caller, authz);
  }

  Status Handle(CallContext& context) override {
    COFFER_ASSIGN_OR_RETURN(result_, entry_->handler(Fields(body_), context));
    resource_ = context.authz.resource();
    return Ok();
  }

  std::vector<std::string> ValueIds() const override {
    std::vector<std::string> out;
    CollectValueIds(result_, 0, resource_, out);
    return out;
  }

  HttpResponse Render() override {
    HttpResponse response;
    response.status = 200;
    response.SetHeader("x-amzn-RequestId", request_.request_id);
    response.SetHeader("Content-Type", std::string(kContentType));
    response.body = result_.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return response;
  }

  pipeline::RenderedError RenderError(const Error& error) override {
    WireError wire = MapError(api(), error);
    pipeline::RenderedError out;
    out.code = wire.code;
    out.mapped = wire.mapped;
    nlohmann::json body = nlohmann::json::object();
    body["__type"] = wire.code;
    body[wire.capital_message ? "Message" : "message"] = error.message;
    out.response.status = wire.status;
    out.response.SetHeader("x-amzn-RequestId", request_.request_id);
    out.response.SetHeader("x-amzn-ErrorType", std::string(wire.code));
    out.response.SetHeader("Content-Type", std::string(kContentType));
    out.response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return out;
  }

 private:
  const HttpRequest& request_;
  const JsonService* service_;
  std::string_view operation_;
  const JsonOperation* entry_ = nullptr;
  bool ambiguous_ = false;
  nlohmann::json body_;
  nlohmann::json result_;
  std::string resource_;
};

}  // namespace

JsonOperation::Resources OnAccount(
    std::function<Result<auth::KeyMap>(const Fields& input)> keys) {
  return [keys = std::move(keys)](const Fields& input,
                                  const LookupContext& lookup) -> Result<Accesses> {
    auth::KeyMap request_keys;
    if (keys) {
      COFFER_ASSIGN_OR_RETURN(request_keys, keys(input));
    }
    Access access;
    access.resource.arn = "*";
    access.permission = lookup.On("*", std::move(request_keys));
    return Accesses{std::move(access)};
  };
}

Result<nlohmann::json> Invoke(const JsonService& service, std::string_view operation,
                              const nlohmann::json& body, const auth::Authenticated& caller,
                              auth::RequestAuthorization& authz, std::string_view request_id) {
  const JsonOperation* entry = service.Find(operation);
  if (entry == nullptr) return Fail(ErrorCode::kInvalidArgument, "", Reason::kUnknownOperation);
  COFFER_ASSIGN_OR_RETURN(Accesses accesses, pipeline::LookUp(*entry, Fields(body), &caller, authz));
  COFFER_RETURN_IF_ERROR(pipeline::AuthorizeAll(authz, accesses));
  CallContext context{&caller, request_id, "127.0.0.1", true, authz, accesses};
  return entry->handler(Fields(body), context);
}

void JsonProtocol::AddService(std::unique_ptr<JsonService> service) {
  COFFER_CHECK(service != nullptr);
  std::string prefix(service->target_prefix());
  COFFER_CHECK(!services_.contains(prefix));
  services_.emplace(std::move(prefix), std::move(service));
}

bool JsonProtocol::Matches(const HttpRequest& request) const {
  return request.HasHeader("X-Amz-Target");
}

std::unique_ptr<pipeline::Exchange> JsonProtocol::Open(const HttpRequest& request) {
  std::string_view target = request.Header("X-Amz-Target");
  size_t dot = target.rfind('.');
  std::string_view prefix = dot == std::string_view::npos ? target : target.substr(0, dot);
  std::string_view operation =
      dot == std::string_view::npos ? std::string_view() : target.substr(dot + 1);
  auto it = services_.find(prefix);
  return std::make_unique<JsonExchange>(request, it == services_.end() ? nullptr : it->second.get(),
                                        operation);
}

}  // namespace coffer::api::awsjson
