// client/s3: the two S3 calls bundles need (GetObject, PutObject) against AWS
// S3 or any S3-compatible endpoint, signed with SigV4 (signed payload). An
// endpoint from the configuration (--endpoint-url, AWS_ENDPOINT_URL_S3, ...)
// is addressed path-style (ENDPOINT/BUCKET/KEY); AWS itself virtual-host style
// (https://BUCKET.s3.REGION.amazonaws.com/KEY).
#pragma once

#include <string>
#include <string_view>

#include "client/aws_client.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::client {

// "s3://BUCKET/KEY" split. Buckets are S3's DNS-style names (3..63 of
// [a-z0-9.-]); keys are 1..1024 bytes of [A-Za-z0-9._~/!-] without empty,
// "." or ".." segments, so that the key signs the same on every S3 server.
struct S3Location {
  std::string bucket;
  std::string key;
};
bool IsS3Url(std::string_view url);
// kInvalidArgument naming what is wrong with `url`.
Result<S3Location> ParseS3Url(std::string_view url);

// The object's bytes, at most `max_size`. kNotFound for NoSuchKey/NoSuchBucket
// (404), kPermissionDenied for 403 (the message names S3's code, e.g.
// AccessDenied), kResourceExhausted over `max_size`, kUnavailable for transport
// failures and other errors.
Result<std::string> S3GetObject(const AwsConfig& config, const S3Location& where,
                                size_t max_size, util::Clock& clock);

// Writes the object (x-amz-content-sha256 of the body signed). Errors as
// S3GetObject.
Status S3PutObject(const AwsConfig& config, const S3Location& where, std::string_view body,
                   util::Clock& clock);

}  // namespace coffer::client
