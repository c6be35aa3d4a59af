// Opaque pagination tokens: a position (e.g. the last name returned) and a kind
// (which listing it belongs to) packed into a base64url string. Tokens are not
// secret and not authenticated: a forged token can only move the listing's
// starting point, never reveal anything the caller could not list anyway.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace coffer::domain {

// Encodes (`kind`, `position`) as a base64url token without padding.
std::string EncodePageToken(std::string_view kind, std::string_view position);

// Returns the position in `token`. kInvalidArgument (kInvalidNextToken) when the
// token is not base64url, is truncated, has an unknown format version, or was
// made for another `kind`.
Result<std::string> DecodePageToken(std::string_view kind, std::string_view token);

}  // namespace coffer::domain
