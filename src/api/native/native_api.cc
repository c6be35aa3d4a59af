#include "api/native/native_api.h"

#include <string>
#include <string_view>

namespace coffer::api::native {
namespace {

constexpr std::string_view kHealthz = "/healthz";
constexpr std::string_view kMetrics = "/metrics";

HttpResponse Json(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.SetHeader("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

}  // namespace

NativeApi::NativeApi(util::Metrics& metrics) : metrics_(metrics) {}

bool NativeApi::Matches(const HttpRequest& request) {
  return request.path == kHealthz || request.path == kMetrics;
}

HttpResponse NativeApi::Handle(const HttpRequest& request) const {
  if (!Matches(request)) return Json(404, R"({"message":"not found"})");
  bool is_head = request.method == "HEAD";
  if (request.method != "GET" && !is_head) {
    HttpResponse response = Json(405, R"({"message":"method not allowed"})");
    response.SetHeader("Allow", "GET, HEAD");
    return response;
  }
  HttpResponse response;
  if (request.path == kHealthz) {
    response = is_sealed() ? Json(503, R"({"status":"sealed"})") : Json(200, R"({"status":"ok"})");
  } else {
    response.status = 200;
    response.SetHeader("Content-Type", "text/plain; version=0.0.4");
    response.body = metrics_.Render();
  }
  if (is_head) response.body.clear();
  return response;
}

}  // namespace coffer::api::native
