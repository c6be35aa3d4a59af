// The body of an S3 write as the client framed and checked it:
//   - aws-chunked bodies (Content-Encoding: aws-chunked), with a signature per
//     chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], each verified and
//     chained from the request's signature) or without
//     (STREAMING-UNSIGNED-PAYLOAD-TRAILER), and their trailing checksum;
//   - Content-MD5 and x-amz-checksum-{crc32,crc32c,sha1,sha256}, in headers or
//     in the trailer (x-amz-trailer names it).
// Nothing is stored before the whole payload has been decoded and checked.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/authenticator.h"
#include "util/result.h"

namespace coffer::api::s3 {

// One trailing header of an aws-chunked body ("x-amz-checksum-crc32", value).
using Trailer = std::vector<std::pair<std::string, std::string>>;

struct DecodedChunks {
  std::string data;
  Trailer trailer;
};

// Decodes an aws-chunked body. With `signing` (the request's chunk-signing
// material), every chunk must carry ";chunk-signature=<hex>" equal to
// HMAC(signing key, "AWS4-HMAC-SHA256-PAYLOAD" \n date \n scope \n previous
// signature \n SHA256("") \n SHA256(chunk)) (constant-time compare), and with
// `trailer_signed` the trailer must end with x-amz-trailer-signature over
// "AWS4-HMAC-SHA256-TRAILER" ... SHA256(trailer lines). Without `signing`, a
// chunk that carries a signature is refused.
// Errors: kUnauthenticated (kSignatureMismatch) for a wrong or missing chunk
// or trailer signature; kInvalidArgument (kIncompleteBody... kMalformedInput)
// for a truncated or malformed framing, a chunk size that is not hex or
// larger than what is left, or bytes after the final chunk.
Result<DecodedChunks> DecodeAwsChunked(std::string_view body, const auth::ChunkSigning* signing,
                                       bool trailer_signed);

// Checks `data` against a checksum header value (base64 of the digest):
// `name` is "content-md5" or "x-amz-checksum-<algorithm>". kInvalidArgument
// (kInvalidDigest) when the value is not a well-formed digest of that
// algorithm or the algorithm is unknown; kInvalidArgument (kBadDigest) when
// it does not match.
Status VerifyChecksum(std::string_view name, std::string_view value, std::string_view data);

}  // namespace coffer::api::s3
