#include "api/awsjson/json_protocol.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "api/awsjson/errors.h"
#include "auth/strict_json.h"
#include "util/check.h"
#include "util/log.h"

namespace coffer::api::awsjson {
namespace {

constexpr std::string_view kContentType = "application/x-amz-json-1.1";

std::string Labels(std::string_view api, std::string_view op, std::string_view code) {
  std::string out = "api=\"";
  out.append(api).append("\",op=\"").append(op).append("\",code=\"").append(code).append("\"");
  return out;
}

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

}  // namespace

JsonProtocol::JsonProtocol(auth::Authenticator& authenticator, util::Metrics& metrics)
    : authenticator_(authenticator), metrics_(metrics) {
  metrics_.Describe("coffer_requests_total", "counter", "API requests by api, operation, code");
  metrics_.Describe("coffer_request_duration_seconds", "histogram",
                    "API request latency by api and operation");
  metrics_.Describe("coffer_unmapped_errors_total", "counter",
                    "Errors without an entry in the wire error table");
}

void JsonProtocol::AddService(std::unique_ptr<JsonService> service) {
  COFFER_CHECK(service != nullptr);
  std::string prefix(service->target_prefix());
  COFFER_CHECK(!services_.contains(prefix));
  services_.emplace(std::move(prefix), std::move(service));
}

void JsonProtocol::EnableAuthorization(PolicyProvider provider, util::Clock& clock) {
  policies_ = std::move(provider);
  clock_ = &clock;
}

void JsonProtocol::EnableAudit(audit::Sink& sink) { audit_ = &sink; }

bool JsonProtocol::Matches(const HttpRequest& request) {
  return request.HasHeader("X-Amz-Target");
}

HttpResponse JsonProtocol::Handle(const HttpRequest& request) {
  // Latency is measured on the steady clock directly: it only feeds a metric.
  util::SteadyTime start = std::chrono::steady_clock::now();
  std::string_view target = request.Header("X-Amz-Target");
  size_t dot = target.rfind('.');
  std::string_view prefix = dot == std::string_view::npos ? target : target.substr(0, dot);
  std::string_view operation =
      dot == std::string_view::npos ? std::string_view() : target.substr(dot + 1);

  auto service_it = services_.find(prefix);
  JsonService* service = service_it == services_.end() ? nullptr : service_it->second.get();
  // Metric labels and the audit record's api and operation come only from
  // closed sets (the services added and their operation tables): the target
  // is the caller's, and each new label value would be a series kept forever.
  std::string_view api = service ? service->signing_name() : std::string_view("unknown");
  std::string_view op_label =
      service != nullptr && service->HasOperation(operation) ? operation : "unknown";

  HttpResponse response;
  response.SetHeader("x-amzn-RequestId", request.request_id);

  auto render_error = [&](const Error& error) {
    WireError wire = MapError(api, error);
    if (!wire.mapped) {
      metrics_.Increment("coffer_unmapped_errors_total",
                         Labels(api, op_label, util::ErrorCodeName(error.code)));
      util::LogWarn("unmapped error", {{"api", api},
                                       {"op", op_label},
                                       {"code", util::ErrorCodeName(error.code)},
                                       {"reason", static_cast<int>(error.reason)},
                                       {"message", error.message},
                                       {"request_id", request.request_id}});
    }
    if (error.reason == Reason::kUnknownOperation) op_label = "unknown";
    nlohmann::json body = nlohmann::json::object();
    body["__type"] = wire.code;
    body[wire.capital_message ? "Message" : "message"] = error.message;
    response.status = wire.status;
    response.SetHeader("x-amzn-ErrorType", std::string(wire.code));
    response.SetHeader("Content-Type", std::string(kContentType));
    response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return std::string(wire.code);
  };

  std::string code_label;
  std::string principal_arn;
  std::string error_code;
  std::optional<auth::RequestAuthorization> authz;
  std::vector<std::string> value_ids;
  bool unauthenticated = false;
  [&] {
    if (service == nullptr) {
      code_label = render_error(Error{ErrorCode::kInvalidArgument, Reason::kUnknownOperation,
                                      ""});
      return;
    }
    // Two targets are ambiguous: the router and a proxy could each take another.
    size_t targets = 0;
    for (const auto& [name, value] : request.headers) {
      if (IsTargetHeader(name)) ++targets;
    }
    if (targets > 1) {
      op_label = "unknown";
      code_label = render_error(Error{ErrorCode::kUnauthenticated, Reason::kIncompleteSignature,
                                      "The request carries more than one 'X-Amz-Target' header."});
      return;
    }
    // Authenticate over the raw bytes before any parsing.
    auth::SignedRequest signed_request;
    signed_request.method = request.method;
    signed_request.path = request.path;
    signed_request.query = request.query;
    signed_request.body = request.body;
    signed_request.service = service->signing_name();
    signed_request.headers.reserve(request.headers.size());
    for (const auto& [name, value] : request.headers) signed_request.headers.emplace_back(name, value);
    auto authenticated = authenticator_.Authenticate(signed_request);
    if (!authenticated) {
      op_label = "unknown";  // an unauthenticated call is not counted as its operation
      unauthenticated = true;
      code_label = render_error(authenticated.error());
      return;
    }
    principal_arn = authenticated->principal.arn;
    if (audit_ != nullptr && !audit_->Healthy()) {
      // Fail closed: nothing runs while requests cannot be audited.
      code_label = render_error(Error{ErrorCode::kUnavailable, Reason::kNone,
                                      "The request cannot be audited; it was refused."});
      return;
    }
    if (authenticated->scope.service != service->signing_name()) {
      code_label = render_error(Error{
          ErrorCode::kUnauthenticated, Reason::kSignatureMismatch,
          "Credential should be scoped to correct service: '" +
              std::string(service->signing_name()) + "'. "});
      return;
    }

    nlohmann::json body;
    if (request.body.empty()) {
      body = nlohmann::json::object();
    } else {
      // A key given twice is ambiguous (which one did the signer mean?): refused.
      auth::StrictJson parsed = auth::ParseStrictJson(request.body);
      if (parsed.problem == auth::StrictJson::Problem::kDuplicateKey) {
        code_label = render_error(Error{
            ErrorCode::kInvalidArgument, Reason::kMalformedInput,
            "The request body holds the key '" + parsed.duplicate_key.substr(0, 128) +
                "' more than once."});
        return;
      }
      if (parsed.problem != auth::StrictJson::Problem::kNone || !parsed.doc.is_object()) {
        code_label = render_error(Error{ErrorCode::kInvalidArgument, Reason::kMalformedInput,
                                        parsed.problem != auth::StrictJson::Problem::kNone
                                            ? "Unable to parse the request body as JSON."
                                            : "Start of structure or map expected."});
        return;
      }
      body = std::move(parsed.doc);
    }

    if (policies_) {
      authz.emplace(authenticated->principal,
                    authenticated->principal.is_admin ? nullptr
                                                      : policies_(authenticated->principal),
                    request.remote_ip, request.secure, clock_->Now());
    }
    CallContext context(*authenticated, request.request_id, request.remote_ip,
                        authz ? &*authz : nullptr);
    Result<nlohmann::json> result = [&]() -> Result<nlohmann::json> {
      try {
        return service->Call(operation, body, context);
      } catch (const std::exception&) {
        return Fail(ErrorCode::kInternal, "An internal error occurred.");
      }
    }();
    if (!result) {
      code_label = render_error(result.error());
      return;
    }
    if (audit_ != nullptr) {
      CollectValueIds(*result, 0, authz ? std::string_view(authz->resource()) : "", value_ids);
    }
    response.status = 200;
    response.SetHeader("Content-Type", std::string(kContentType));
    response.body = result->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    code_label = "200";
  }();

  if (audit_ != nullptr) {
    audit::Record record;
    record.time = clock_ != nullptr ? clock_->Now() : std::chrono::system_clock::now();
    record.request_id = request.request_id;
    record.principal_arn = principal_arn;
    record.source_ip = request.remote_ip;
    record.api = std::string(api);
    record.operation = std::string(op_label);
    if (authz) {
      record.resource = authz->resource();
      record.decision = authz->decision();
      record.decided_by = authz->decided_by();
    }
    if (unauthenticated) record.decision = "unauthenticated";
    if (record.decision.empty()) record.decision = "n/a";
    record.status = response.status;
    if (response.status >= 300) record.error_code = code_label;
    record.value_ids = std::move(value_ids);
    if (Status written = audit_->Write(record); !written) {
      util::LogError("audit write failed; request refused",
                     {{"request_id", request.request_id}, {"error", written.error().message}});
      HttpResponse refused;
      refused.SetHeader("x-amzn-RequestId", request.request_id);
      response = std::move(refused);
      code_label = render_error(Error{ErrorCode::kUnavailable, Reason::kNone,
                                      "The request cannot be audited; it was refused."});
    }
  }

  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.Increment("coffer_requests_total", Labels(api, op_label, code_label));
  std::string duration_labels = "api=\"" + std::string(api) + "\",op=\"" + std::string(op_label) +
                                "\"";
  metrics_.Observe("coffer_request_duration_seconds", duration_labels, seconds);
  return response;
}

}  // namespace coffer::api::awsjson
