#include "sigv4/sigv4.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "util/encoding.h"
#include "util/time.h"

namespace coffer::sigv4 {
namespace {

namespace fs = std::filesystem;

const char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A raw test-suite request: request line, headers (with folded continuation
// lines kept in the value), body.
struct RawRequest {
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::vector<HeaderView> Views() const {
    std::vector<HeaderView> out;
    for (const auto& [n, v] : headers) out.emplace_back(n, v);
    return out;
  }
  RequestParts Parts(const std::vector<HeaderView>& views) const {
    return RequestParts{method, path, query, views};
  }
};

// Parses "METHOD SP URI SP VERSION": the last space separates the version, so a
// raw space inside the URI (normalize-path/get-space) survives.
RawRequest ParseRequest(const std::string& text) {
  RawRequest r;
  size_t line_end = text.find('\n');
  std::string line = text.substr(0, line_end);
  size_t first = line.find(' ');
  size_t last = line.rfind(' ');
  r.method = line.substr(0, first);
  std::string uri = line.substr(first + 1, last - first - 1);
  size_t q = uri.find('?');
  r.path = uri.substr(0, q);
  if (q != std::string::npos) r.query = uri.substr(q + 1);
  size_t pos = line_end == std::string::npos ? text.size() : line_end + 1;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string hl = text.substr(pos, end - pos);
    pos = end + 1;
    if (hl.empty()) {
      if (pos < text.size()) r.body = text.substr(pos);
      break;
    }
    if ((hl[0] == ' ' || hl[0] == '\t') && !r.headers.empty()) {
      r.headers.back().second += "\n" + hl;  // obs-fold continuation
      continue;
    }
    size_t colon = hl.find(':');
    r.headers.emplace_back(hl.substr(0, colon), hl.substr(colon + 1));
  }
  return r;
}

std::string TokenFromCreq(const std::string& creq) {
  const std::string marker = "\nx-amz-security-token:";
  size_t pos = creq.find(marker);
  if (pos == std::string::npos) return "";
  pos += marker.size();
  return creq.substr(pos, creq.find('\n', pos) - pos);
}

std::vector<fs::path> SuiteCases() {
  std::vector<fs::path> cases;
  for (const auto& entry :
       fs::recursive_directory_iterator(fs::path(COFFER_TESTDATA_DIR) / "sigv4")) {
    if (entry.is_regular_file() && entry.path().extension() == ".req") {
      cases.push_back(entry.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

// Every case of the public test suite (34) produces the expected canonical
// request, string to sign and Authorization header byte for byte.
TEST(Sigv4SuiteTest, EveryTestSuiteCaseMatchesCreqStsAndAuthz) {
  std::vector<fs::path> cases = SuiteCases();
  ASSERT_EQ(cases.size(), 34u);
  SecretBytes secret(kSecret);
  auto time = util::ParseAmzDate("20150830T123600Z");
  ASSERT_TRUE(time.has_value());
  for (const fs::path& req_path : cases) {
    SCOPED_TRACE(req_path.string());
    fs::path base = req_path;
    base.replace_extension();
    RawRequest raw = ParseRequest(ReadFile(req_path));
    std::string creq = ReadFile(base.string() + ".creq");
    std::string sts = ReadFile(base.string() + ".sts");
    std::string authz = ReadFile(base.string() + ".authz");
    std::string token = TokenFromCreq(creq);

    std::vector<HeaderView> views = raw.Views();
    SigningParams params;
    params.access_key_id = "AKIDEXAMPLE";
    params.secret_access_key = &secret;
    params.session_token = token;
    params.region = "us-east-1";
    params.service = "service";
    params.time = *time;
    params.body = raw.body;
    auto signed_request = Sign(raw.Parts(views), params);
    ASSERT_TRUE(signed_request.has_value()) << signed_request.error().message;
    EXPECT_EQ(signed_request->canonical_request, creq);
    EXPECT_EQ(signed_request->string_to_sign, sts);
    EXPECT_EQ(signed_request->authorization, authz);
  }
}

// The verifier-side building block, CanonicalRequest with the SignedHeaders
// list taken from .authz, reproduces every .creq too.
TEST(Sigv4SuiteTest, CanonicalRequestFromAuthzSignedHeadersMatchesEveryCreq) {
  for (const fs::path& req_path : SuiteCases()) {
    SCOPED_TRACE(req_path.string());
    fs::path base = req_path;
    base.replace_extension();
    RawRequest raw = ParseRequest(ReadFile(req_path));
    std::string creq = ReadFile(base.string() + ".creq");
    std::string authz = ReadFile(base.string() + ".authz");
    std::string token = TokenFromCreq(creq);
    bool has_token_header = std::any_of(raw.headers.begin(), raw.headers.end(),
                                        [](auto& h) { return h.first == "X-Amz-Security-Token"; });
    if (!token.empty() && !has_token_header)
      raw.headers.emplace_back("X-Amz-Security-Token", token);

    size_t sh = authz.find("SignedHeaders=") + 14;
    std::string list = authz.substr(sh, authz.find(',', sh) - sh);
    std::vector<std::string_view> names;
    std::string_view rest = list;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      names.push_back(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    }
    std::vector<HeaderView> views = raw.Views();
    auto got = CanonicalRequest(raw.Parts(views), names, crypto::Sha256Hex(raw.body));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, creq);
  }
}

// Path normalisation: dot segments resolve, empty segments collapse, a trailing
// slash stays, and each segment is encoded once.
TEST(CanonicalUriTest, NormalisesAndEncodesSegments) {
  EXPECT_EQ(CanonicalUri(""), "/");
  EXPECT_EQ(CanonicalUri("/"), "/");
  EXPECT_EQ(CanonicalUri("//"), "/");
  EXPECT_EQ(CanonicalUri("/a/./b/../c"), "/a/c");
  EXPECT_EQ(CanonicalUri("/../.."), "/");
  EXPECT_EQ(CanonicalUri("//example//"), "/example/");
  EXPECT_EQ(CanonicalUri("/a b/$"), "/a%20b/%24");
  EXPECT_EQ(CanonicalUri("/already%20encoded"), "/already%2520encoded");
}

// Query pairs are decoded, re-encoded, sorted by key then value; empty values kept.
TEST(CanonicalQueryTest, SortsByKeyThenValueAndKeepsEmptyValues) {
  EXPECT_EQ(*CanonicalQuery("b=2&a=&a=1&c"), "a=&a=1&b=2&c=");
  EXPECT_EQ(*CanonicalQuery("Param-3=x&Param=y"), "Param=y&Param-3=x");
  EXPECT_EQ(*CanonicalQuery("k=a%2fb%20c"), "k=a%2Fb%20c");
  EXPECT_EQ(*CanonicalQuery("k=a+b"), "k=a%2Bb");
}

// A broken percent-escape in the query is an input error, not a crash.
TEST(CanonicalQueryTest, BrokenEscapeFailsWithMalformedInput) {
  auto r = CanonicalQuery("k=%G1");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().reason, Reason::kMalformedInput);
}

// A signed header that the request does not carry is reported, not invented.
TEST(CanonicalRequestTest, MissingSignedHeaderFailsWithIncompleteSignature) {
  std::vector<HeaderView> headers = {{"Host", "example.com"}};
  std::vector<std::string_view> names = {"host", "x-amz-date"};
  auto r = CanonicalRequest(RequestParts{"GET", "/", "", headers}, names, kEmptyPayloadHash);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, Reason::kIncompleteSignature);
}

// AWS's documented key-derivation example (20120215/us-east-1/iam).
TEST(DeriveSigningKeyTest, MatchesAwsDocumentedExample) {
  SecretBytes key = DeriveSigningKey(SecretBytes(kSecret), "20120215", "us-east-1", "iam");
  EXPECT_EQ(util::HexEncode(key.Reveal()),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

// IMF-fixdate parses; anything else is rejected.
TEST(ParseHttpDateTest, ParsesImfFixdateAndRejectsOtherForms) {
  auto t = ParseHttpDate("Sun, 30 Aug 2015 12:36:00 GMT");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(util::FormatAmzDate(*t), "20150830T123600Z");
  EXPECT_FALSE(ParseHttpDate("Sun, 30 Foo 2015 12:36:00 GMT").has_value());
  EXPECT_FALSE(ParseHttpDate("20150830T123600Z").has_value());
}

// Sign adds X-Amz-Date and the session token before signing and signs them.
TEST(SignTest, AddsDateAndTokenHeadersAndSignsThem) {
  SecretBytes secret(kSecret);
  std::vector<HeaderView> headers = {{"Host", "example.com"}, {"User-Agent", "x"}};
  SigningParams params;
  params.access_key_id = "AKIDEXAMPLE";
  params.secret_access_key = &secret;
  params.session_token = "TOKEN";
  params.region = "us-east-1";
  params.service = "ssm";
  params.time = *util::ParseAmzDate("20261128T090727Z");
  auto r = Sign(RequestParts{"POST", "/", "", headers}, params);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->signed_headers, "host;x-amz-date;x-amz-security-token");
  ASSERT_EQ(r->headers_to_add.size(), 3u);
  EXPECT_EQ(r->headers_to_add[0].first, "X-Amz-Date");
  EXPECT_EQ(r->headers_to_add[0].second, "20261128T090727Z");
  EXPECT_EQ(r->headers_to_add[1].second, "TOKEN");
  EXPECT_EQ(r->headers_to_add[2].first, "Authorization");
}

// Signing without a Host header is refused.
TEST(SignTest, MissingHostFailsWithMalformedInput) {
  SecretBytes secret(kSecret);
  std::vector<HeaderView> headers = {{"X-Amz-Date", "20150830T123600Z"}};
  SigningParams params;
  params.secret_access_key = &secret;
  auto r = Sign(RequestParts{"GET", "/", "", headers}, params);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, Reason::kMalformedInput);
}

}  // namespace
}  // namespace coffer::sigv4
