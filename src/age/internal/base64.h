// Strict base64 (standard alphabet) for the age header (unpadded) and armor
// (padded). Only the canonical encoding is accepted: no whitespace, no
// non-zero trailing bits, padding exactly where it must be.
#pragma once

#include <string>
#include <string_view>

namespace coffer::age::internal {

std::string Base64EncodeRaw(std::string_view bytes);
std::string Base64EncodePadded(std::string_view bytes);

// False on anything but the canonical encoding of some byte string.
bool Base64DecodeRaw(std::string_view text, std::string& out);
bool Base64DecodePadded(std::string_view text, std::string& out);

}  // namespace coffer::age::internal
