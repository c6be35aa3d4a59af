#include "util/metrics.h"

#include <cstdio>

namespace coffer::util {
namespace {

constexpr double kBuckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                               0.01,   0.025,   0.05,   0.1,   0.25,   0.5,  1, 2.5, 5};
constexpr size_t kBucketCount = sizeof(kBuckets) / sizeof(kBuckets[0]);

std::string SeriesKey(std::string_view name, std::string_view labels) {
  std::string key(name);
  key += '{';
  key += labels;
  key += '}';
  return key;
}

std::string_view FamilyOf(std::string_view series) { return series.substr(0, series.find('{')); }

std::string WithLabel(std::string_view series, std::string_view suffix, std::string_view extra) {
  // series = name{labels}; produce name<suffix>{labels,extra}
  size_t brace = series.find('{');
  std::string out(series.substr(0, brace));
  out += suffix;
  std::string_view labels = series.substr(brace + 1, series.size() - brace - 2);
  if (labels.empty() && extra.empty()) return out;  // no empty braces
  out += '{';
  out += labels;
  if (!extra.empty()) {
    if (!labels.empty()) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

}  // namespace

Metrics::Histogram::Histogram() : buckets(kBucketCount + 1) {}

void Metrics::Increment(std::string_view name, std::string_view labels, int64_t by) {
  std::string key = SeriesKey(name, labels);
  {
    util::ReaderLock lock(mu_);
    auto it = scalars_.find(key);
    if (it != scalars_.end()) {
      it->second->fetch_add(by, std::memory_order_relaxed);
      return;
    }
  }
  util::WriterLock lock(mu_);
  auto it = scalars_.find(key);
  if (it == scalars_.end()) {
    if (!MayCreate(key)) return;
    it = scalars_.emplace(std::move(key), std::make_unique<std::atomic<int64_t>>(0)).first;
  }
  it->second->fetch_add(by, std::memory_order_relaxed);
}

void Metrics::Set(std::string_view name, std::string_view labels, int64_t value) {
  std::string key = SeriesKey(name, labels);
  {
    util::ReaderLock lock(mu_);
    auto it = scalars_.find(key);
    if (it != scalars_.end()) {
      it->second->store(value, std::memory_order_relaxed);
      return;
    }
  }
  util::WriterLock lock(mu_);
  auto it = scalars_.find(key);
  if (it == scalars_.end()) {
    if (!MayCreate(key)) return;
    it = scalars_.emplace(std::move(key), std::make_unique<std::atomic<int64_t>>(0)).first;
  }
  it->second->store(value, std::memory_order_relaxed);
}

void Metrics::Observe(std::string_view name, std::string_view labels, double seconds) {
  std::string key = SeriesKey(name, labels);
  Histogram* h = nullptr;
  {
    util::ReaderLock lock(mu_);
    auto it = histograms_.find(key);
    if (it != histograms_.end()) h = it->second.get();
  }
  if (h == nullptr) {
    util::WriterLock lock(mu_);
    auto it = histograms_.find(key);
    if (it == histograms_.end()) {
      if (!MayCreate(key)) return;
      it = histograms_.emplace(std::move(key), std::make_unique<Histogram>()).first;
    }
    h = it->second.get();
  }
  size_t i = 0;
  while (i < kBucketCount && seconds > kBuckets[i]) ++i;
  h->buckets[i].fetch_add(1, std::memory_order_relaxed);
  h->count.fetch_add(1, std::memory_order_relaxed);
  h->sum_micros.fetch_add(static_cast<int64_t>(seconds * 1e6), std::memory_order_relaxed);
}

bool Metrics::MayCreate(std::string_view key) {
  if (key.size() <= kMaxSeriesKeyBytes && scalars_.size() + histograms_.size() < kMaxSeries) {
    return true;
  }
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void Metrics::Describe(std::string_view name, std::string_view type, std::string_view help) {
  util::WriterLock lock(mu_);
  families_[std::string(name)] = Family{std::string(type), std::string(help)};
}

int64_t Metrics::Value(std::string_view name, std::string_view labels) const {
  util::ReaderLock lock(mu_);
  auto it = scalars_.find(SeriesKey(name, labels));
  return it == scalars_.end() ? 0 : it->second->load(std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  util::ReaderLock lock(mu_);
  std::string out;
  std::string last_family;
  auto header = [&](std::string_view family,
                    std::string_view default_type) COFFER_SHARED_LOCKS_REQUIRED(mu_) {
    if (family == last_family) return;
    last_family = std::string(family);
    auto it = families_.find(family);
    if (it != families_.end()) {
      out += "# HELP " + last_family + " " + it->second.help + "\n";
      out += "# TYPE " + last_family + " " + it->second.type + "\n";
    } else {
      out += "# TYPE " + last_family + " " + std::string(default_type) + "\n";
    }
  };
  for (const auto& [series, value] : scalars_) {
    header(FamilyOf(series), "counter");
    std::string_view s = series;
    if (s.ends_with("{}")) s.remove_suffix(2);
    out += s;
    out += ' ';
    out += std::to_string(value->load(std::memory_order_relaxed));
    out += '\n';
  }
  for (const auto& [series, h] : histograms_) {
    header(FamilyOf(series), "histogram");
    int64_t cumulative = 0;
    char le[48];
    for (size_t i = 0; i <= kBucketCount; ++i) {
      cumulative += h->buckets[i].load(std::memory_order_relaxed);
      if (i < kBucketCount) {
        std::snprintf(le, sizeof le, "le=\"%g\"", kBuckets[i]);
      } else {
        std::snprintf(le, sizeof le, "le=\"+Inf\"");
      }
      out += WithLabel(series, "_bucket", le) + " " + std::to_string(cumulative) + "\n";
    }
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.6f", h->sum_micros.load(std::memory_order_relaxed) / 1e6);
    out += WithLabel(series, "_sum", "") + " " + sum + "\n";
    out += WithLabel(series, "_count", "") + " " +
           std::to_string(h->count.load(std::memory_order_relaxed)) + "\n";
  }
  if (int64_t dropped = dropped_.load(std::memory_order_relaxed); dropped > 0) {
    out += "# HELP coffer_metrics_series_dropped_total Updates to series not created (over the "
           "series limit or too long a key)\n";
    out += "# TYPE coffer_metrics_series_dropped_total counter\n";
    out += "coffer_metrics_series_dropped_total " + std::to_string(dropped) + "\n";
  }
  return out;
}

}  // namespace coffer::util
