#include "api/pipeline/pipeline.h"

#include <chrono>
#include <exception>
#include <optional>

#include "util/check.h"
#include "util/log.h"

namespace coffer::api::pipeline {
namespace {

// The principal of an unsigned call: no identity, no policies.
const auth::Principal& Anonymous() {
  static const auth::Principal kAnonymous{};
  return kAnonymous;
}

Error Unauditable() {
  return Error{ErrorCode::kUnavailable, Reason::kNone,
               "The request cannot be audited; it was refused."};
}

std::string Labels(std::string_view api, std::string_view op) {
  std::string out = "api=\"";
  out.append(api).append("\",op=\"").append(op).append("\"");
  return out;
}

}  // namespace

Status AuthorizeAll(auth::RequestAuthorization& authz, const Accesses& accesses) {
  for (const Access& access : accesses) {
    if (access.permission) COFFER_RETURN_IF_ERROR(authz.Check(*access.permission));
  }
  return Ok();
}

Pipeline::Pipeline(auth::Authenticator& authenticator, const auth::Authorizer& authorizer,
                   audit::Sink& audit, util::Metrics& metrics, util::Clock& clock)
    : authenticator_(authenticator),
      authorizer_(authorizer),
      audit_(audit),
      metrics_(metrics),
      clock_(clock) {
  metrics_.Describe("coffer_requests_total", "counter", "API requests by api, operation, code");
  metrics_.Describe("coffer_request_duration_seconds", "histogram",
                    "API request latency by api and operation");
  metrics_.Describe("coffer_unmapped_errors_total", "counter",
                    "Errors without an entry in the wire error table");
}

HttpResponse Pipeline::Handle(Front& front, const HttpRequest& request) {
  // Latency is measured on the steady clock directly: it only feeds a metric.
  auto started = std::chrono::steady_clock::now();
  std::unique_ptr<Exchange> exchange = front.Open(request);
  COFFER_CHECK(exchange != nullptr);

  std::optional<auth::Authenticated> caller;
  std::optional<auth::RequestAuthorization> authz;
  bool unauthenticated = false;
  std::vector<std::string> value_ids;
  HttpResponse response;
  std::string code;  // the metric's and audit record's code: "200" or the wire error code
  // An unauthenticated call is not counted or audited as its operation.
  auto operation = [&]() -> std::string_view {
    return unauthenticated ? std::string_view("unknown") : exchange->operation();
  };

  auto refuse = [&](const Error& error) {
    RenderedError rendered = exchange->RenderError(error);
    response = std::move(rendered.response);
    code = std::string(rendered.code);
    if (!rendered.mapped) {
      std::string labels = Labels(exchange->api(), operation());
      labels.append(",code=\"").append(util::ErrorCodeName(error.code)).append("\"");
      metrics_.Increment("coffer_unmapped_errors_total", labels);
      util::LogWarn("unmapped error", {{"api", exchange->api()},
                                       {"op", operation()},
                                       {"code", util::ErrorCodeName(error.code)},
                                       {"reason", static_cast<int>(error.reason)},
                                       {"message", error.message},
                                       {"request_id", request.request_id}});
    }
  };

  [&] {
    // 1. route
    if (Status routed = exchange->Route(); !routed) return refuse(routed.error());
    // 2. authenticate, over the raw bytes before any parsing of the input
    if (!exchange->Unsigned()) {
      auth::SignedRequest signed_request;
      signed_request.method = request.method;
      signed_request.path = request.path;
      signed_request.query = request.query;
      signed_request.body = request.body;
      signed_request.service = exchange->signing_name();
      signed_request.payload = exchange->payload_signing();
      signed_request.headers.reserve(request.headers.size());
      for (const auto& [name, value] : request.headers) {
        signed_request.headers.emplace_back(name, value);
      }
      auto authenticated = authenticator_.Authenticate(signed_request);
      if (!authenticated) {
        unauthenticated = true;
        return refuse(authenticated.error());
      }
      caller = std::move(*authenticated);
    }
    // 3. audit gate: nothing runs while requests cannot be audited
    if (!audit_.Healthy()) return refuse(Unauditable());
    // 4. decode
    if (Status decoded = exchange->Decode(); !decoded) return refuse(decoded.error());
    // 5. resolve
    authz.emplace(authorizer_.Begin(caller ? caller->principal : Anonymous(), request.remote_ip,
                                    request.secure));
    const auth::Authenticated* who = caller ? &*caller : nullptr;
    Result<Accesses> accesses = exchange->Resolve(who, *authz);
    if (!accesses) return refuse(accesses.error());
    // 6. authorize
    if (Status allowed = AuthorizeAll(*authz, *accesses); !allowed) {
      return refuse(allowed.error());
    }
    // 7. handle
    CallContext context{who, request.request_id, request.remote_ip, request.secure, *authz,
                        *accesses};
    Status handled = [&]() -> Status {
      try {
        return exchange->Handle(context);
      } catch (const std::exception&) {
        return Fail(ErrorCode::kInternal, "An internal error occurred.");
      }
    }();
    if (!handled) {
      if (handled.error().code == ErrorCode::kInternal) {
        util::LogError("operation failed", {{"request_id", request.request_id},
                                            {"api", exchange->api()},
                                            {"op", exchange->operation()},
                                            {"error", handled.error().message}});
      }
      return refuse(handled.error());
    }
    value_ids = exchange->ValueIds();
    response = exchange->Render();
    code = "200";
  }();

  // 8. audit record
  audit::Record record;
  record.time = clock_.Now();
  record.request_id = request.request_id;
  record.principal_arn = caller ? caller->principal.arn : "";
  record.source_ip = request.remote_ip;
  record.api = std::string(exchange->api());
  record.operation = std::string(operation());
  if (authz) {
    record.resource = authz->resource();
    record.decision = authz->decision();
    record.decided_by = authz->decided_by();
  }
  if (unauthenticated) record.decision = "unauthenticated";
  if (record.decision.empty()) record.decision = "n/a";
  record.status = response.status;
  if (response.status >= 300) record.error_code = code;
  record.value_ids = std::move(value_ids);
  if (Status written = audit_.Write(record); !written) {
    util::LogError("audit write failed; request refused",
                   {{"request_id", request.request_id}, {"error", written.error().message}});
    refuse(Unauditable());
  }

  // 9. metrics
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::string labels = Labels(exchange->api(), operation());
  metrics_.Observe("coffer_request_duration_seconds", labels, seconds);
  labels.append(",code=\"").append(code).append("\"");
  metrics_.Increment("coffer_requests_total", labels);
  return response;
}

}  // namespace coffer::api::pipeline
