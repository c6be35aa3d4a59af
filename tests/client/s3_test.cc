#include "client/s3.h"

#include <gtest/gtest.h>

#include "support/matchers.h"

namespace coffer::client {
namespace {

// s3://BUCKET/KEY splits at the first '/' after the bucket; the key keeps its slashes.
TEST(S3UrlTest, ParsesBucketAndKey) {
  auto r = ParseS3Url("s3://my-bundles.prod/env/prod/app.bundle");
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->bucket, "my-bundles.prod");
  EXPECT_EQ(r->key, "env/prod/app.bundle");
}

// Keys that S3 and SigV4 would canonicalise differently (empty or dot segments,
// characters needing percent-encoding) and invalid buckets are refused before
// any request is signed.
TEST(S3UrlTest, RefusesAmbiguousKeysAndBadBuckets) {
  for (const char* url : {"s3://bundles", "s3://bundles/", "s3://Bundles/k", "s3://ab/k",
                          "s3://-bundles/k", "s3://bundles/a//b", "s3://bundles/a/./b",
                          "s3://bundles/../b", "s3://bundles/a b", "s3://bundles/a%2Fb",
                          "s3://bundles/a?x=1", "https://bundles/k"}) {
    EXPECT_TRUE(HasError(ParseS3Url(url), ErrorCode::kInvalidArgument)) << url;
  }
}

}  // namespace
}  // namespace coffer::client
