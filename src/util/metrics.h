// Metrics: counters and latency histograms rendered in the Prometheus text
// format by /metrics. Names and label values must not carry secret values
// (operation names, status codes, error codes only). Thread-safe; the hot
// path costs one mutex-free lookup after the first use of a series.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/mutex.h"

namespace coffer::util {

class Metrics {
 public:
  // A backstop against label values that are not from a closed set (each new
  // value is a series kept for the life of the process): a new series whose
  // key (name and labels) is longer than kMaxSeriesKeyBytes, or that would
  // pass kMaxSeries series in all, is not created; the update is counted in
  // coffer_metrics_series_dropped_total instead. Callers still build labels
  // only from closed sets; this bounds the damage when one does not.
  static constexpr size_t kMaxSeries = 10000;
  static constexpr size_t kMaxSeriesKeyBytes = 512;

  // A series is `name` plus rendered labels, e.g. {api="ssm",op="GetParameter"}.
  // `labels` must already be in Prometheus form (without braces): a="b",c="d".
  void Increment(std::string_view name, std::string_view labels, int64_t by = 1);
  // Sets a gauge.
  void Set(std::string_view name, std::string_view labels, int64_t value);
  // Records one observation (seconds) into a histogram with fixed buckets.
  void Observe(std::string_view name, std::string_view labels, double seconds);
  // Declares HELP/TYPE text for a metric family.
  void Describe(std::string_view name, std::string_view type, std::string_view help);

  // Current value of a counter or gauge series; 0 when absent. For tests and /metrics.
  int64_t Value(std::string_view name, std::string_view labels) const;

  // The Prometheus text exposition.
  std::string Render() const;

 private:
  struct Histogram {
    std::vector<std::atomic<int64_t>> buckets;  // cumulative counts per bound, +Inf last
    std::atomic<int64_t> count{0};
    std::atomic<int64_t> sum_micros{0};
    Histogram();
  };
  struct Family {
    std::string type;
    std::string help;
  };

  // Whether a new series `key` may be created. REQUIRES: mu_ held exclusively.
  bool MayCreate(std::string_view key) COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable util::SharedMutex mu_;
  std::atomic<int64_t> dropped_{0};
  std::map<std::string, std::unique_ptr<std::atomic<int64_t>>, std::less<>> scalars_
      COFFER_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> histograms_ COFFER_GUARDED_BY(mu_);
  std::map<std::string, Family, std::less<>> families_ COFFER_GUARDED_BY(mu_);
};

}  // namespace coffer::util
