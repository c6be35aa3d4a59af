// Byte encodings: base64 (standard alphabet, padded, as AWS blobs use), hex,
// and RFC 3986 percent-encoding. Binary data travels as std::string bytes.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace coffer::util {

std::string Base64Encode(std::string_view bytes);
// Decodes standard base64 with padding; whitespace is not allowed.
// kInvalidArgument (kMalformedInput) on any other character or a bad length.
Result<std::string> Base64Decode(std::string_view text);

// Lower-case hex.
std::string HexEncode(std::string_view bytes);
// Accepts upper and lower case; kInvalidArgument on odd length or a non-hex character.
Result<std::string> HexDecode(std::string_view text);

// Percent-encodes everything except the RFC 3986 unreserved set A-Za-z0-9-_.~
// (and '/' when `keep_slash`), with upper-case hex, as SigV4 requires.
std::string UriEncode(std::string_view text, bool keep_slash = false);
// Decodes %XX sequences (and '+' as space when `plus_is_space`, for forms).
// kInvalidArgument on a truncated or non-hex escape.
Result<std::string> UriDecode(std::string_view text, bool plus_is_space = false);

}  // namespace coffer::util
