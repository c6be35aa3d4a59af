#include "api/native/native_api.h"

#include <gtest/gtest.h>

namespace coffer::api::native {
namespace {

HttpRequest Get(std::string path, std::string method = "GET") {
  HttpRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  return request;
}

class NativeApiTest : public ::testing::Test {
 protected:
  util::Metrics metrics_;
  NativeApi api_{metrics_};
};

// /healthz answers 200 {"status":"ok"} while unsealed.
TEST_F(NativeApiTest, HealthzAnswersOkWhenUnsealed) {
  HttpResponse response = api_.Handle(Get("/healthz"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"status":"ok"})");
}

// /healthz answers 503 {"status":"sealed"} while sealed.
TEST_F(NativeApiTest, HealthzAnswers503WhenSealed) {
  api_.SetSealed(true);
  HttpResponse response = api_.Handle(Get("/healthz"));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.body, R"({"status":"sealed"})");
}

// /metrics renders the registry in the Prometheus text format.
TEST_F(NativeApiTest, MetricsRendersPrometheusText) {
  metrics_.Increment("coffer_test_total", "op=\"x\"");
  HttpResponse response = api_.Handle(Get("/metrics"));
  EXPECT_EQ(response.status, 200);
  bool found_type = false;
  for (const auto& [name, value] : response.headers) {
    if (name == "Content-Type") found_type = value == "text/plain; version=0.0.4";
  }
  EXPECT_TRUE(found_type);
  EXPECT_NE(response.body.find("coffer_test_total{op=\"x\"} 1"), std::string::npos);
}

// A method other than GET/HEAD on a native path answers 405.
TEST_F(NativeApiTest, PostToHealthzAnswers405) {
  EXPECT_EQ(api_.Handle(Get("/healthz", "POST")).status, 405);
}

// Only the native paths match.
TEST_F(NativeApiTest, MatchesOnlyNativePaths) {
  EXPECT_TRUE(NativeApi::Matches(Get("/healthz")));
  EXPECT_TRUE(NativeApi::Matches(Get("/metrics")));
  EXPECT_FALSE(NativeApi::Matches(Get("/")));
  EXPECT_FALSE(NativeApi::Matches(Get("/healthz/x")));
}

}  // namespace
}  // namespace coffer::api::native
