#include "api/awsjson/errors.h"

#include <gtest/gtest.h>

namespace coffer::api::awsjson {
namespace {

// Known combinations map to AWS's codes and statuses.
TEST(ErrorsTest, KnownCombinationsMapToAwsCodes) {
  WireError e = MapError("ssm", Error{ErrorCode::kNotFound, Reason::kParameterNotFound, ""});
  EXPECT_EQ(e.code, "ParameterNotFound");
  EXPECT_EQ(e.status, 400);
  EXPECT_FALSE(e.capital_message);
  EXPECT_TRUE(e.mapped);
  e = MapError("ssm", Error{ErrorCode::kAborted, Reason::kTooManyUpdates, ""});
  EXPECT_EQ(e.code, "TooManyUpdates");
  EXPECT_TRUE(e.capital_message);
  e = MapError("kms", Error{ErrorCode::kUnauthenticated, Reason::kMissingAuthenticationToken, ""});
  EXPECT_EQ(e.code, "MissingAuthenticationTokenException");
  EXPECT_EQ(e.status, 403);
}

// Unknown combinations are the service's internal error with 500, flagged unmapped.
TEST(ErrorsTest, UnknownCombinationsAreInternalServerError) {
  WireError e = MapError("ssm", Error{ErrorCode::kDataLoss, Reason::kCiphertextTampered, ""});
  EXPECT_EQ(e.code, "InternalServerError");
  EXPECT_EQ(e.status, 500);
  EXPECT_TRUE(e.capital_message);
  EXPECT_FALSE(e.mapped);
  // An SSM reason under another service is not mapped either.
  e = MapError("kms", Error{ErrorCode::kNotFound, Reason::kParameterNotFound, ""});
  EXPECT_EQ(e.code, "KMSInternalException");
  EXPECT_FALSE(e.mapped);
}

}  // namespace
}  // namespace coffer::api::awsjson
