#include "api/s3/payload.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crypto/checksum.h"
#include "crypto/crypto.h"
#include "sigv4/sigv4.h"
#include "support/matchers.h"
#include "util/encoding.h"

namespace coffer::api::s3 {
namespace {

// The chunk-signing material of a request signed at 20130524T000000Z (the
// AWS documentation's example key and seed signature).
auth::ChunkSigning Signing() {
  auth::ChunkSigning s;
  s.signing_key = sigv4::DeriveSigningKey(SecretBytes("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                                          "20130524", "us-east-1", "s3");
  s.seed_signature = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
  s.amz_date = "20130524T000000Z";
  s.scope = "20130524/us-east-1/s3/aws4_request";
  return s;
}

// Frames `chunks` as aws-chunked, signing each chunk as a client does.
std::string Frame(const auth::ChunkSigning& s, const std::vector<std::string>& chunks,
                  const std::string& trailer_line = "") {
  std::string body;
  std::string previous = s.seed_signature;
  std::vector<std::string> all = chunks;
  all.push_back("");
  for (const std::string& data : all) {
    std::string to_sign = "AWS4-HMAC-SHA256-PAYLOAD\n" + s.amz_date + "\n" + s.scope + "\n" +
                          previous + "\n" + std::string(sigv4::kEmptyPayloadHash) + "\n" +
                          crypto::Sha256Hex(data);
    previous = sigv4::SignatureHex(s.signing_key, to_sign);
    char size[32];
    std::snprintf(size, sizeof size, "%zx", data.size());
    body += std::string(size) + ";chunk-signature=" + previous + "\r\n";
    if (!data.empty()) body += data + "\r\n";
  }
  if (!trailer_line.empty()) {
    body += trailer_line + "\r\n";
    std::string to_sign = "AWS4-HMAC-SHA256-TRAILER\n" + s.amz_date + "\n" + s.scope + "\n" +
                          previous + "\n" + crypto::Sha256Hex(trailer_line + "\n");
    body += "x-amz-trailer-signature:" + sigv4::SignatureHex(s.signing_key, to_sign) + "\r\n";
  }
  body += "\r\n";
  return body;
}

// The AWS documentation's example: a 66560-byte object in 64 KiB + 1 KiB
// chunks; its first chunk signature is the one the documentation shows.
TEST(AwsChunkedTest, DocumentationExampleFirstChunkSignatureMatches) {
  auth::ChunkSigning s = Signing();
  std::string body = Frame(s, {std::string(65536, 'a'), std::string(1024, 'a')});
  EXPECT_NE(body.find("chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
            std::string::npos);
  auto decoded = DecodeAwsChunked(body, &s, false);
  ASSERT_TRUE(IsOk(decoded));
  EXPECT_EQ(decoded->data, std::string(66560, 'a'));
}

// One flipped hex digit of a chunk signature is refused.
TEST(AwsChunkedTest, TamperedChunkSignatureIsRefused) {
  auth::ChunkSigning s = Signing();
  std::string body = Frame(s, {"hello", "world"});
  size_t at = body.find(";chunk-signature=", body.find(";chunk-signature=") + 1) + 17;
  body[at] = body[at] == '0' ? '1' : '0';
  EXPECT_TRUE(HasError(DecodeAwsChunked(body, &s, false), ErrorCode::kUnauthenticated,
                       Reason::kSignatureMismatch));
}

// Chunk bytes changed under a valid-looking signature are refused.
TEST(AwsChunkedTest, ChangedChunkDataIsRefused) {
  auth::ChunkSigning s = Signing();
  std::string body = Frame(s, {"hello", "world"});
  body[body.find("hello")] = 'j';
  EXPECT_TRUE(HasError(DecodeAwsChunked(body, &s, false), ErrorCode::kUnauthenticated,
                       Reason::kSignatureMismatch));
}

// A chunk moved or dropped breaks the chain (each signature covers the previous).
TEST(AwsChunkedTest, DroppedChunkBreaksTheChain) {
  auth::ChunkSigning s = Signing();
  std::string body = Frame(s, {"one", "two"});
  size_t second = body.find("3;chunk-signature=", 1);
  size_t third = body.find("0;chunk-signature=");
  std::string dropped = body.substr(0, second) + body.substr(third);
  EXPECT_TRUE(HasError(DecodeAwsChunked(dropped, &s, false), ErrorCode::kUnauthenticated,
                       Reason::kSignatureMismatch));
}

// A body cut short anywhere is refused as malformed, never half-accepted.
TEST(AwsChunkedTest, TruncatedBodyIsRefused) {
  auth::ChunkSigning s = Signing();
  std::string body = Frame(s, {"hello world", "again"});
  for (size_t cut = 1; cut < body.size() - 2; cut += 7) {
    auto r = DecodeAwsChunked(body.substr(0, cut), &s, false);
    EXPECT_FALSE(r.has_value()) << "cut at " << cut;
  }
  // Without the final zero-length chunk.
  EXPECT_TRUE(HasError(DecodeAwsChunked(body.substr(0, body.find("0;chunk")), &s, false),
                       ErrorCode::kInvalidArgument, Reason::kMalformedInput));
}

// A size larger than what is left, a non-hex size and trailing garbage.
TEST(AwsChunkedTest, MalformedFramingIsRefused) {
  EXPECT_TRUE(HasError(DecodeAwsChunked("ff\r\nabc\r\n0\r\n\r\n", nullptr, false),
                       ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_TRUE(HasError(DecodeAwsChunked("zz\r\nabc\r\n0\r\n\r\n", nullptr, false),
                       ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_TRUE(HasError(DecodeAwsChunked("3\r\nabc\r\n0\r\n\r\njunk", nullptr, false),
                       ErrorCode::kInvalidArgument, Reason::kMalformedInput));
}

// Unsigned chunks with a trailer decode; a chunk signature that cannot be
// checked (no signing material) is refused.
TEST(AwsChunkedTest, UnsignedChunksWithTrailer) {
  auto r = DecodeAwsChunked("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n", nullptr,
                            false);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->data, "abc");
  ASSERT_EQ(r->trailer.size(), 1u);
  EXPECT_EQ(r->trailer[0].first, "x-amz-checksum-crc32");
  EXPECT_TRUE(IsOk(VerifyChecksum(r->trailer[0].first, r->trailer[0].second, r->data)));
  EXPECT_TRUE(HasError(DecodeAwsChunked("3;chunk-signature=00\r\nabc\r\n0\r\n\r\n", nullptr,
                                        false),
                       ErrorCode::kUnauthenticated, Reason::kSignatureMismatch));
}

// A signed trailer verifies; a changed trailer value or signature does not.
TEST(AwsChunkedTest, SignedTrailerIsVerified) {
  auth::ChunkSigning s = Signing();
  std::string body = Frame(s, {"abc"}, "x-amz-checksum-crc32:NSRBwg==");
  auto r = DecodeAwsChunked(body, &s, true);
  ASSERT_TRUE(IsOk(r));
  std::string changed = body;
  changed.replace(changed.find("NSRBwg=="), 8, "AAAAAA==");
  EXPECT_TRUE(HasError(DecodeAwsChunked(changed, &s, true), ErrorCode::kUnauthenticated,
                       Reason::kSignatureMismatch));
  std::string unsigned_trailer = Frame(s, {"abc"});
  EXPECT_TRUE(HasError(DecodeAwsChunked(unsigned_trailer, &s, true), ErrorCode::kUnauthenticated,
                       Reason::kSignatureMismatch));
}

// Checksums: right values pass, wrong ones are BadDigest, malformed ones
// InvalidDigest (S3's two errors).
TEST(ChecksumHeaderTest, RightWrongAndMalformedDigests) {
  std::string data = "abc";
  auto b64 = [](uint32_t crc) {
    std::string bytes;
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>(crc >> shift));
    return util::Base64Encode(bytes);
  };
  EXPECT_TRUE(IsOk(VerifyChecksum("x-amz-checksum-crc32", b64(crypto::Crc32(data)), data)));
  EXPECT_TRUE(IsOk(VerifyChecksum("x-amz-checksum-crc32c", b64(crypto::Crc32c(data)), data)));
  EXPECT_TRUE(IsOk(VerifyChecksum("Content-MD5", "kAFQmDzST7DWlj99KOF/cg==", data)));
  EXPECT_TRUE(HasError(VerifyChecksum("x-amz-checksum-crc32c", b64(crypto::Crc32(data)), data),
                       ErrorCode::kInvalidArgument, Reason::kBadDigest));
  EXPECT_TRUE(HasError(VerifyChecksum("content-md5", "kAFQmDzST7DWlj99KOF/cA==", data),
                       ErrorCode::kInvalidArgument, Reason::kBadDigest));
  EXPECT_TRUE(HasError(VerifyChecksum("content-md5", "not base64!", data),
                       ErrorCode::kInvalidArgument, Reason::kInvalidDigest));
  EXPECT_TRUE(HasError(VerifyChecksum("x-amz-checksum-sha256", "AAAA", data),
                       ErrorCode::kInvalidArgument, Reason::kInvalidDigest));
}

}  // namespace
}  // namespace coffer::api::s3
