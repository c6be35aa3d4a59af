#include "domain/tags.h"

namespace coffer::domain {
namespace {

bool TagCharsOk(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) continue;  // part of a UTF-8 sequence: letters in other scripts
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
    switch (c) {
      case ' ': case '_': case '.': case ':': case '/': case '=': case '+': case '-': case '@':
        continue;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace

Status ValidateTagKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxTagKeyLength) {
    return Fail(ErrorCode::kInvalidArgument,
                "Tag keys must be between 1 and 128 characters long.", Reason::kValidation);
  }
  if (!TagCharsOk(key)) {
    return Fail(ErrorCode::kInvalidArgument,
                "Tag keys may only contain letters, numbers, spaces and _.:/=+-@",
                Reason::kValidation);
  }
  if (key.size() >= 4 && (key[0] == 'a' || key[0] == 'A') && (key[1] == 'w' || key[1] == 'W') &&
      (key[2] == 's' || key[2] == 'S') && key[3] == ':') {
    return Fail(ErrorCode::kInvalidArgument, "Tag keys may not start with the reserved prefix aws:",
                Reason::kValidation);
  }
  return Ok();
}

Status ValidateTag(const Tag& tag) {
  COFFER_RETURN_IF_ERROR(ValidateTagKey(tag.key));
  if (tag.value.size() > kMaxTagValueLength) {
    return Fail(ErrorCode::kInvalidArgument,
                "Tag values must be at most 256 characters long.", Reason::kValidation);
  }
  if (!TagCharsOk(tag.value)) {
    return Fail(ErrorCode::kInvalidArgument,
                "Tag values may only contain letters, numbers, spaces and _.:/=+-@",
                Reason::kValidation);
  }
  return Ok();
}

}  // namespace coffer::domain
