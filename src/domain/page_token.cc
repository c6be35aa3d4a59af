#include "domain/page_token.h"

#include "domain/record.h"
#include "util/encoding.h"

namespace coffer::domain {
namespace {

constexpr uint64_t kTokenFormat = 1;

Result<std::string> Invalid() {
  return Fail(ErrorCode::kInvalidArgument, "The specified token isn't valid.",
              Reason::kInvalidNextToken);
}

}  // namespace

std::string EncodePageToken(std::string_view kind, std::string_view position) {
  RecordWriter w;
  w.PutVarint(kTokenFormat);
  w.PutString(kind);
  w.PutString(position);
  std::string b64 = util::Base64Encode(w.data());
  std::string out;
  out.reserve(b64.size());
  for (char c : b64) {
    if (c == '+') {
      out.push_back('-');
    } else if (c == '/') {
      out.push_back('_');
    } else if (c != '=') {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::string> DecodePageToken(std::string_view kind, std::string_view token) {
  if (token.empty() || token.size() > 4096) return Invalid();
  std::string b64;
  b64.reserve(token.size() + 3);
  for (char c : token) {
    if (c == '-') {
      b64.push_back('+');
    } else if (c == '_') {
      b64.push_back('/');
    } else if (c == '+' || c == '/' || c == '=') {
      return Invalid();
    } else {
      b64.push_back(c);
    }
  }
  if (b64.size() % 4 == 1) return Invalid();
  while (b64.size() % 4 != 0) b64.push_back('=');
  auto raw = util::Base64Decode(b64);
  if (!raw) return Invalid();
  RecordReader r(*raw);
  auto format = r.Varint();
  if (!format || *format != kTokenFormat) return Invalid();
  auto token_kind = r.String();
  if (!token_kind || *token_kind != kind) return Invalid();
  auto position = r.String();
  if (!position || !r.AtEnd()) return Invalid();
  return std::move(*position);
}

}  // namespace coffer::domain
