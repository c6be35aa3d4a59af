// api/native: coffer's own HTTP endpoints beside the AWS APIs: GET /healthz
// (liveness and seal state) and GET /metrics (Prometheus text format). The
// native /v1/... API (change feed, unseal) is added here later.
#pragma once

#include <atomic>

#include "api/http.h"
#include "util/metrics.h"

namespace coffer::api::native {

// Thread-safe: Handle may run on every io thread while SetSealed is called.
class NativeApi {
 public:
  // `metrics` must outlive this object.
  explicit NativeApi(util::Metrics& metrics);

  // True when the request's path belongs to the native API (/healthz, /metrics).
  static bool Matches(const HttpRequest& request);

  // Always answers; never fails:
  //   GET|HEAD /healthz -> 200 {"status":"ok"}, or 503 {"status":"sealed"} while sealed
  //   GET|HEAD /metrics -> 200 Prometheus text (text/plain; version=0.0.4)
  //   another method    -> 405 with an Allow header
  //   another path      -> 404 {"message": ...}
  HttpResponse Handle(const HttpRequest& request) const;

  // Seal state reported by /healthz (the production-mode unseal issue drives it).
  void SetSealed(bool is_sealed) { is_sealed_.store(is_sealed, std::memory_order_release); }
  bool is_sealed() const { return is_sealed_.load(std::memory_order_acquire); }

 private:
  util::Metrics& metrics_;
  std::atomic<bool> is_sealed_{false};
};

}  // namespace coffer::api::native
