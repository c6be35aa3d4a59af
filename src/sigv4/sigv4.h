// sigv4: the AWS Signature Version 4 algorithm, once. auth/ uses it to verify
// requests, client/ to sign them. Pure functions over request parts: no I/O, no
// clock (the signing time is an input), no knowledge of HTTP libraries.
//
// Canonical request (spec aws-wire.md §5.1):
//   METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n PayloadHash
// String to sign (§5.2):
//   "AWS4-HMAC-SHA256" \n AmzDate \n Scope \n hex(SHA256(CanonicalRequest))
// All functions are thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kTerminator = "aws4_request";
// SHA-256 of the empty string, the payload hash of a request without a body.
inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Headers as received or as they will be sent: (name, value), names in any case,
// repeated names allowed, order kept.
using HeaderView = std::pair<std::string_view, std::string_view>;

// The raw parts of one HTTP request. Views must outlive the call.
struct RequestParts {
  std::string_view method;
  std::string_view path;   // raw request-target path, as on the wire (no query)
  std::string_view query;  // raw query string without '?'
  std::span<const HeaderView> headers;
};

// The canonical URI of a raw path: dot segments resolved, empty segments
// dropped (a trailing '/' is kept), each segment URI-encoded (RFC 3986
// unreserved set kept). The raw path is encoded as is (not decoded first), so a
// path that is already percent-encoded on the wire comes out double-encoded, as
// botocore and the Go SDK sign non-S3 requests. "" and "/" give "/".
std::string CanonicalUri(std::string_view raw_path);

// How the path becomes the canonical URI: every AWS service but S3 normalises
// the raw path and encodes it again (CanonicalUri); S3 signs the key's bytes
// encoded once, without normalisation (CanonicalUriS3).
enum class UriStyle { kNormalized, kS3 };

// S3's canonical URI: the raw path percent-decoded, then each byte but '/'
// outside RFC 3986's unreserved set encoded once (no dot-segment or empty
// segment handling). "" gives "/". kInvalidArgument (kMalformedInput) on a
// broken %-escape.
Result<std::string> CanonicalUriS3(std::string_view raw_path);

// The canonical query string: pairs split on '&' and the first '=', each key and
// value percent-decoded then RFC 3986-encoded, sorted by key then value, joined
// "k=v" with '&'. A key without '=' gets an empty value. kInvalidArgument
// (kMalformedInput) on a broken %-escape.
Result<std::string> CanonicalQuery(std::string_view raw_query);

// The canonical value of one header: every value of `lower_name` among
// `headers` (compared case-insensitively), each trimmed with inner whitespace
// runs (spaces, tabs, folded line breaks) collapsed to one space, joined with
// ','. Returns false when no header has that name.
bool CanonicalHeaderValue(std::span<const HeaderView> headers, std::string_view lower_name,
                          std::string& out);

// Appends the canonical request to `out` for the given signed header names
// (lower-case, in the order they are signed: the order of the SignedHeaders list)
// and payload hash (lower-case hex, or the client's X-Amz-Content-SHA256 value).
// kInvalidArgument (kMalformedInput) on a broken %-escape in the query;
// kInvalidArgument (kIncompleteSignature) when a signed header is absent.
Status AppendCanonicalRequest(const RequestParts& request,
                              std::span<const std::string_view> signed_headers,
                              std::string_view payload_hash, std::string& out,
                              UriStyle style = UriStyle::kNormalized);
// Same as AppendCanonicalRequest, returning a new string.
Result<std::string> CanonicalRequest(const RequestParts& request,
                                     std::span<const std::string_view> signed_headers,
                                     std::string_view payload_hash);

// "<yyyymmdd>/<region>/<service>/aws4_request".
std::string CredentialScope(std::string_view date, std::string_view region,
                            std::string_view service);

// The string to sign for `amz_date` ("20150830T123600Z"), `scope` and the
// canonical request.
std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request);

// kSigning = HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request".
// Returns the 32-byte signing key.
SecretBytes DeriveSigningKey(const SecretBytes& secret_access_key, std::string_view date,
                             std::string_view region, std::string_view service);

// Lower-case hex HMAC-SHA256(signing_key, string_to_sign).
std::string SignatureHex(const SecretBytes& signing_key, std::string_view string_to_sign);

// Parses an HTTP Date header (IMF-fixdate, "Sun, 30 Aug 2015 12:36:00 GMT").
// kInvalidArgument (kMalformedInput) otherwise.
Result<util::SystemTime> ParseHttpDate(std::string_view text);

// Inputs for signing a request as a client.
struct SigningParams {
  std::string_view access_key_id;
  const SecretBytes* secret_access_key = nullptr;  // REQUIRES: non-null
  std::string_view session_token;                  // "" for long-term keys
  std::string_view region;
  std::string_view service;
  util::SystemTime time;  // used unless the request already has X-Amz-Date
  // Payload hash (lower-case hex). Empty = SHA-256 of `body`.
  std::string_view payload_hash;
  std::string_view body;
};

struct SignResult {
  // Headers the caller must add to the request before sending it, in order:
  // X-Amz-Date (unless the request had it), X-Amz-Security-Token (if a token
  // was given and the request did not have it), Authorization.
  std::vector<std::pair<std::string, std::string>> headers_to_add;
  std::string authorization;  // also the last entry of headers_to_add
  std::string amz_date;
  std::string signed_headers;  // "host;x-amz-date"
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

// Signs `request` as botocore does: every header present (plus the added
// X-Amz-Date and token) is signed except authorization, user-agent, expect and
// x-amzn-trace-id. The request must carry a Host header.
// kInvalidArgument (kMalformedInput) if Host is missing, an existing X-Amz-Date
// does not parse, or the query has a broken %-escape.
Result<SignResult> Sign(const RequestParts& request, const SigningParams& params);

}  // namespace coffer::sigv4
