#include "api/s3/payload.h"

#include <array>

#include "crypto/checksum.h"
#include "crypto/crypto.h"
#include "sigv4/sigv4.h"
#include "util/encoding.h"

namespace coffer::api::s3 {
namespace {

constexpr std::string_view kSignatureParam = ";chunk-signature=";
constexpr size_t kMaxChunkHeader = 256;

std::unexpected<Error> Malformed(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kMalformedInput);
}
std::unexpected<Error> BadSignature() {
  return Fail(ErrorCode::kUnauthenticated,
              "The request signature we calculated does not match the signature you provided. "
              "Check your key and signing method.",
              Reason::kSignatureMismatch);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Reads one CRLF-terminated line from `in` (without the CRLF), at most
// `limit` bytes.
Result<std::string_view> Line(std::string_view& in, size_t limit) {
  size_t end = in.find("\r\n");
  if (end == std::string_view::npos || end > limit) {
    return Malformed("The aws-chunked body is truncated or has a malformed line.");
  }
  std::string_view line = in.substr(0, end);
  in.remove_prefix(end + 2);
  return line;
}

std::string ChunkStringToSign(const auth::ChunkSigning& s, std::string_view previous,
                              std::string_view chunk) {
  std::string out = "AWS4-HMAC-SHA256-PAYLOAD\n";
  out.append(s.amz_date).push_back('\n');
  out.append(s.scope).push_back('\n');
  out.append(previous).push_back('\n');
  out.append(sigv4::kEmptyPayloadHash).push_back('\n');
  out += crypto::Sha256Hex(chunk);
  return out;
}

std::string_view AsView(const auto& digest) {
  return std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size());
}

}  // namespace

Result<DecodedChunks> DecodeAwsChunked(std::string_view body, const auth::ChunkSigning* signing,
                                       bool trailer_signed) {
  DecodedChunks out;
  std::string previous = signing != nullptr ? signing->seed_signature : std::string();
  std::string_view in = body;
  while (true) {
    COFFER_ASSIGN_OR_RETURN(std::string_view header, Line(in, kMaxChunkHeader));
    size_t semi = header.find(';');
    std::string_view size_text = header.substr(0, semi);
    if (size_text.empty() || size_text.size() > 16) {
      return Malformed("An aws-chunked chunk size is missing or too long.");
    }
    uint64_t size = 0;
    for (char c : size_text) {
      int v = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (v < 0) return Malformed("An aws-chunked chunk size is not hexadecimal.");
      size = size * 16 + static_cast<uint64_t>(v);
    }
    std::string_view signature;
    if (semi != std::string_view::npos) {
      std::string_view ext = header.substr(semi);
      if (!ext.starts_with(kSignatureParam)) {
        return Malformed("An aws-chunked chunk has an unknown extension.");
      }
      signature = ext.substr(kSignatureParam.size());
    }
    if (size > in.size()) {
      return Malformed("An aws-chunked chunk is longer than the body that is left.");
    }
    std::string_view chunk = in.substr(0, size);
    in.remove_prefix(size);
    if (signing != nullptr) {
      if (signature.size() != 64) return BadSignature();
      std::string expected =
          sigv4::SignatureHex(signing->signing_key, ChunkStringToSign(*signing, previous, chunk));
      if (!crypto::ConstantTimeEquals(expected, signature)) return BadSignature();
      previous = std::move(expected);
    } else if (!signature.empty()) {
      return BadSignature();  // a signature we cannot check is not accepted silently
    }
    if (size == 0) break;
    out.data.append(chunk);
    if (!in.starts_with("\r\n")) {
      return Malformed("An aws-chunked chunk is not followed by CRLF.");
    }
    in.remove_prefix(2);
  }
  // The trailer: "name:value" lines until an empty line (or the end).
  std::string signed_lines;
  std::string trailer_signature;
  while (!in.empty()) {
    COFFER_ASSIGN_OR_RETURN(std::string_view line, Line(in, kMaxChunkHeader));
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Malformed("A trailing header has no ':'.");
    std::string name = Lower(Trim(line.substr(0, colon)));
    std::string_view value = Trim(line.substr(colon + 1));
    if (name == "x-amz-trailer-signature") {
      if (!trailer_signature.empty()) return Malformed("The trailer signature is repeated.");
      trailer_signature = std::string(value);
      continue;
    }
    if (!trailer_signature.empty()) return Malformed("A trailing header follows the signature.");
    for (const auto& [n, v] : out.trailer) {
      if (n == name) return Malformed("A trailing header is repeated.");
    }
    signed_lines.append(name).push_back(':');
    signed_lines.append(value).push_back('\n');
    out.trailer.emplace_back(std::move(name), std::string(value));
  }
  if (!in.empty()) return Malformed("The aws-chunked body has bytes after its trailer.");
  if (signing != nullptr && trailer_signed) {
    std::string to_sign = "AWS4-HMAC-SHA256-TRAILER\n";
    to_sign.append(signing->amz_date).push_back('\n');
    to_sign.append(signing->scope).push_back('\n');
    to_sign.append(previous).push_back('\n');
    to_sign += crypto::Sha256Hex(signed_lines);
    std::string expected = sigv4::SignatureHex(signing->signing_key, to_sign);
    if (trailer_signature.size() != 64 ||
        !crypto::ConstantTimeEquals(expected, trailer_signature)) {
      return BadSignature();
    }
  } else if (!trailer_signature.empty()) {
    return BadSignature();
  }
  return out;
}

Status VerifyChecksum(std::string_view name, std::string_view value, std::string_view data) {
  std::string lower = Lower(name);
  auto invalid = [&]() {
    return Fail(ErrorCode::kInvalidArgument,
                lower == "content-md5" ? "The Content-MD5 you specified is not valid."
                                       : "Value for " + lower + " header is invalid.",
                Reason::kInvalidDigest);
  };
  auto decoded = util::Base64Decode(Trim(value));
  if (!decoded) return invalid();
  std::string actual;
  if (lower == "content-md5") {
    actual = std::string(AsView(crypto::Md5(data)));
  } else if (lower == "x-amz-checksum-crc32" || lower == "x-amz-checksum-crc32c") {
    uint32_t crc = lower == "x-amz-checksum-crc32" ? crypto::Crc32(data) : crypto::Crc32c(data);
    for (int shift = 24; shift >= 0; shift -= 8) {
      actual.push_back(static_cast<char>((crc >> shift) & 0xFF));
    }
  } else if (lower == "x-amz-checksum-sha1") {
    actual = std::string(AsView(crypto::Sha1(data)));
  } else if (lower == "x-amz-checksum-sha256") {
    actual = std::string(AsView(crypto::Sha256(data)));
  } else {
    return Fail(ErrorCode::kInvalidArgument,
                "The checksum algorithm of " + lower.substr(0, 64) + " is not supported.",
                Reason::kInvalidDigest);
  }
  if (decoded->size() != actual.size()) return invalid();
  if (!crypto::ConstantTimeEquals(*decoded, actual)) {
    if (lower == "content-md5") {
      return Fail(ErrorCode::kInvalidArgument,
                  "The Content-MD5 you specified did not match what we received.",
                  Reason::kBadDigest);
    }
    return Fail(ErrorCode::kInvalidArgument,
                "The " + lower.substr(15) + " you specified did not match the calculated checksum.",
                Reason::kBadDigest);
  }
  return Ok();
}

}  // namespace coffer::api::s3
