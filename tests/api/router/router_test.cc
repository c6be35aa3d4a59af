#include "api/router/router.h"

#include <gtest/gtest.h>

#include <string>

namespace coffer::api::router {
namespace {

class RouterTest : public ::testing::Test {
 protected:
  RouterTest()
      : router_(native_, [this](const HttpRequest&) {
          ++json_calls_;
          HttpResponse response;
          response.body = "json";
          return response;
        }) {}

  static HttpRequest Request(std::string method, std::string path) {
    HttpRequest request;
    request.method = std::move(method);
    request.path = std::move(path);
    request.request_id = "req-1";
    return request;
  }

  util::Metrics metrics_;
  native::NativeApi native_{metrics_};
  int json_calls_ = 0;
  Router router_;
};

// GET /healthz goes to the native API.
TEST_F(RouterTest, HealthzGoesToNativeApi) {
  HttpResponse response = router_.Handle(Request("GET", "/healthz"));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"status":"ok"})");
  EXPECT_EQ(json_calls_, 0);
}

// A request with X-Amz-Target goes to the JSON protocol front.
TEST_F(RouterTest, AmzTargetGoesToJsonProtocol) {
  HttpRequest request = Request("POST", "/");
  request.headers.emplace_back("X-Amz-Target", "AmazonSSM.GetParameter");
  request.headers.emplace_back("Content-Type", "application/x-amz-json-1.1");
  HttpResponse response = router_.Handle(request);
  EXPECT_EQ(response.body, "json");
  EXPECT_EQ(json_calls_, 1);
}

// A form-encoded Action= request without a query front answers the query
// protocol's InvalidAction XML error with status 400.
TEST_F(RouterTest, QueryProtocolRequestGetsInvalidActionXmlError) {
  HttpRequest request = Request("POST", "/");
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  request.body = "Action=GetCallerIdentity&Version=2011-06-15";
  HttpResponse response = router_.Handle(request);
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"),
            std::string::npos);
  EXPECT_NE(response.body.find("<Type>Sender</Type><Code>InvalidAction</Code>"), std::string::npos);
  EXPECT_NE(response.body.find("<RequestId>req-1</RequestId>"), std::string::npos);
  EXPECT_EQ(json_calls_, 0);
}

// An IAM query request gets the IAM namespace; markup in the action is escaped.
TEST_F(RouterTest, IamQueryErrorUsesIamNamespaceAndEscapes) {
  HttpRequest request = Request("POST", "/");
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.body = "Action=<x>&Version=2010-05-08";
  HttpResponse response = router_.Handle(request);
  EXPECT_NE(response.body.find("https://iam.amazonaws.com/doc/2010-05-08/"), std::string::npos);
  EXPECT_NE(response.body.find("&lt;x&gt;"), std::string::npos);
  EXPECT_EQ(response.body.find("<x>"), std::string::npos);
}

// A form-encoded request without Action answers MissingAction.
TEST_F(RouterTest, QueryRequestWithoutActionGetsMissingAction) {
  HttpRequest request = Request("POST", "/");
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.body = "Version=2011-06-15";
  HttpResponse response = router_.Handle(request);
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(response.body.find("<Code>MissingAction</Code>"), std::string::npos);
}

// A query front, when given, receives the query-protocol requests.
TEST_F(RouterTest, QueryFrontReceivesQueryRequestsWhenConfigured) {
  int query_calls = 0;
  Router router(native_, {}, [&query_calls](const HttpRequest&) {
    ++query_calls;
    return HttpResponse{};
  });
  HttpRequest request = Request("GET", "/");
  request.query = "Action=GetCallerIdentity&Version=2011-06-15";
  EXPECT_EQ(router.Handle(request).status, 200);
  EXPECT_EQ(query_calls, 1);
}

// Anything else answers 404 with a small JSON body.
TEST_F(RouterTest, UnknownRequestAnswers404Json) {
  HttpResponse response = router_.Handle(Request("GET", "/nothing"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.body, R"({"__type":"NotFound","message":"no route for this request"})");
  EXPECT_EQ(json_calls_, 0);
}

// With an S3 front, what no other front takes goes to it (and runs off the
// io threads); JSON, query, health and operator calls still go where they did.
TEST_F(RouterTest, RequestsNoOtherFrontTakesGoToTheS3Front) {
  int s3_calls = 0;
  Router router(native_, [](const HttpRequest&) { return HttpResponse{}; },
                [](const HttpRequest&) { return HttpResponse{}; }, {},
                [&](const HttpRequest&) {
                  ++s3_calls;
                  HttpResponse r;
                  r.status = 204;
                  return r;
                });
  EXPECT_EQ(router.Handle(Request("PUT", "/bucket/key")).status, 204);
  EXPECT_EQ(router.Handle(Request("GET", "/")).status, 204);
  EXPECT_EQ(s3_calls, 2);
  EXPECT_TRUE(Router::IsS3(Request("DELETE", "/bucket")));
  EXPECT_TRUE(Router::MayBlock(Request("GET", "/bucket/key")));
  EXPECT_FALSE(Router::IsS3(Request("GET", "/healthz")));
  HttpRequest json = Request("POST", "/");
  json.headers.emplace_back("X-Amz-Target", "AmazonSSM.GetParameter");
  EXPECT_FALSE(Router::IsS3(json));
  EXPECT_EQ(router.Handle(json).status, 200);
  EXPECT_EQ(s3_calls, 2);
  // Sealed, an S3 request is refused in S3's XML shape.
  HttpResponse sealed = Router::Sealed(Request("GET", "/bucket/key"));
  EXPECT_EQ(sealed.status, 503);
  EXPECT_NE(sealed.body.find("<Code>ServiceUnavailable</Code>"), std::string::npos);
}

// Writes (and every call that is not a known read) run off the io threads;
// reads, KMS crypto calls, health and metrics stay inline.
TEST_F(RouterTest, MayBlockIsTrueForWritesOnly) {
  auto json = [&](const char* target) {
    HttpRequest request = Request("POST", "/");
    request.headers.emplace_back("X-Amz-Target", target);
    return Router::MayBlock(request);
  };
  EXPECT_FALSE(json("AmazonSSM.GetParameter"));
  EXPECT_FALSE(json("AmazonSSM.GetParametersByPath"));
  EXPECT_FALSE(json("AmazonSSM.DescribeParameters"));
  EXPECT_FALSE(json("secretsmanager.GetSecretValue"));
  EXPECT_FALSE(json("secretsmanager.BatchGetSecretValue"));
  EXPECT_FALSE(json("TrentService.Decrypt"));
  EXPECT_FALSE(json("TrentService.GenerateDataKey"));
  EXPECT_TRUE(json("AmazonSSM.PutParameter"));
  EXPECT_TRUE(json("AmazonSSM.DeleteParameters"));
  EXPECT_TRUE(json("secretsmanager.PutSecretValue"));
  EXPECT_TRUE(json("TrentService.CreateKey"));
  EXPECT_TRUE(json("NoDotAtAll"));
  EXPECT_FALSE(Router::MayBlock(Request("GET", "/healthz")));
  HttpRequest iam = Request("POST", "/");
  iam.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  iam.body = "Action=CreateUser&UserName=a";
  EXPECT_TRUE(Router::MayBlock(iam));
}

}  // namespace
}  // namespace coffer::api::router
