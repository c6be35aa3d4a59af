#include "util/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace coffer::util {
namespace {

bool Contains(const std::string& text, std::string_view line) {
  return text.find(line) != std::string::npos;
}

// Counters add up, gauges are set, and both render with their labels.
TEST(MetricsTest, CountersAndGaugesRender) {
  Metrics m;
  m.Describe("coffer_requests_total", "counter", "Requests by API and status.");
  m.Increment("coffer_requests_total", "api=\"ssm\",status=\"200\"");
  m.Increment("coffer_requests_total", "api=\"ssm\",status=\"200\"", 2);
  m.Increment("coffer_requests_total", "api=\"ssm\",status=\"400\"");
  m.Set("coffer_sealed", "", 1);
  EXPECT_EQ(m.Value("coffer_requests_total", "api=\"ssm\",status=\"200\""), 3);
  EXPECT_EQ(m.Value("coffer_requests_total", "api=\"kms\""), 0);
  std::string out = m.Render();
  EXPECT_TRUE(Contains(out, "# HELP coffer_requests_total Requests by API and status.\n")) << out;
  EXPECT_TRUE(Contains(out, "# TYPE coffer_requests_total counter\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_requests_total{api=\"ssm\",status=\"200\"} 3\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_requests_total{api=\"ssm\",status=\"400\"} 1\n")) << out;
  EXPECT_TRUE(Contains(out, "\ncoffer_sealed 1\n")) << out;
  // One TYPE line per family.
  EXPECT_EQ(out.find("# TYPE coffer_requests_total"), out.rfind("# TYPE coffer_requests_total"));
}

// A label value from outside a closed set cannot grow the registry without
// bound: past kMaxSeries, or with too long a key, a new series is not created
// and the update is counted as dropped; existing series keep counting.
TEST(MetricsTest, SeriesPastTheLimitAreDroppedAndCounted) {
  Metrics m;
  for (size_t i = 0; i < Metrics::kMaxSeries; ++i) {
    m.Increment("coffer_x_total", "op=\"" + std::to_string(i) + "\"");
  }
  m.Increment("coffer_x_total", "op=\"one-too-many\"");
  m.Observe("coffer_x_seconds", "op=\"one-too-many\"", 0.1);
  m.Set("coffer_x_gauge", "", 1);
  m.Increment("coffer_x_total", "op=\"0\"");
  EXPECT_EQ(m.Value("coffer_x_total", "op=\"one-too-many\""), 0);
  EXPECT_EQ(m.Value("coffer_x_total", "op=\"0\""), 2);
  std::string out = m.Render();
  EXPECT_TRUE(Contains(out, "\ncoffer_metrics_series_dropped_total 3\n"));
  EXPECT_FALSE(Contains(out, "one-too-many"));
}

TEST(MetricsTest, TooLongSeriesKeyIsDroppedAndCounted) {
  Metrics m;
  std::string long_value(Metrics::kMaxSeriesKeyBytes, 'a');
  m.Increment("coffer_x_total", "op=\"" + long_value + "\"");
  m.Observe("coffer_x_seconds", "op=\"" + long_value + "\"", 0.1);
  EXPECT_EQ(m.Value("coffer_x_total", "op=\"" + long_value + "\""), 0);
  std::string out = m.Render();
  EXPECT_FALSE(Contains(out, long_value));
  EXPECT_TRUE(Contains(out, "coffer_metrics_series_dropped_total 2\n")) << out;
}

// Histograms render cumulative buckets, +Inf, sum and count.
TEST(MetricsTest, HistogramRendersCumulativeBuckets) {
  Metrics m;
  m.Observe("coffer_latency_seconds", "op=\"Get\"", 0.0002);
  m.Observe("coffer_latency_seconds", "op=\"Get\"", 0.003);
  m.Observe("coffer_latency_seconds", "op=\"Get\"", 100);
  std::string out = m.Render();
  EXPECT_TRUE(Contains(out, "# TYPE coffer_latency_seconds histogram\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_latency_seconds_bucket{op=\"Get\",le=\"0.0001\"} 0\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_latency_seconds_bucket{op=\"Get\",le=\"0.00025\"} 1\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_latency_seconds_bucket{op=\"Get\",le=\"0.005\"} 2\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_latency_seconds_bucket{op=\"Get\",le=\"5\"} 2\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_latency_seconds_bucket{op=\"Get\",le=\"+Inf\"} 3\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_latency_seconds_sum{op=\"Get\"} 100.003200\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_latency_seconds_count{op=\"Get\"} 3\n")) << out;
}

// A histogram without labels renders no empty braces on sum and count.
TEST(MetricsTest, UnlabelledHistogramRendersWithoutEmptyBraces) {
  Metrics m;
  m.Observe("coffer_fsync_seconds", "", 0.001);
  std::string out = m.Render();
  EXPECT_TRUE(Contains(out, "coffer_fsync_seconds_bucket{le=\"0.001\"} 1\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_fsync_seconds_sum 0.001000\n")) << out;
  EXPECT_TRUE(Contains(out, "coffer_fsync_seconds_count 1\n")) << out;
  EXPECT_FALSE(Contains(out, "{}")) << out;
}

// Concurrent increments are all counted.
TEST(MetricsTest, ConcurrentIncrementsAreCounted) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 1000; ++i) m.Increment("c", "x=\"1\"");
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(m.Value("c", "x=\"1\""), 4000);
}

}  // namespace
}  // namespace coffer::util
