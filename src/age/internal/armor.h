// The age ASCII armor: strict PEM (RFC 7468) with the label "AGE ENCRYPTED
// FILE", 64-column padded base64, LF or CRLF line ends, and at most 1024 bytes
// of whitespace before and after.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace coffer::age::internal {

inline constexpr std::string_view kArmorHeader = "-----BEGIN AGE ENCRYPTED FILE-----";
inline constexpr std::string_view kArmorFooter = "-----END AGE ENCRYPTED FILE-----";

// The armored form of `binary`, ending with the footer and "\n".
std::string Armor(std::string_view binary);

// The binary age file inside `text`. kInvalidArgument (kCiphertextMalformed)
// on any deviation from the armor rules.
Result<std::string> Dearmor(std::string_view text);

}  // namespace coffer::age::internal
