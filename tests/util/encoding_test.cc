#include "util/encoding.h"

#include <gtest/gtest.h>

#include <string>

namespace coffer::util {
namespace {

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

template <class R>
void ExpectMalformed(const R& r, std::string_view input) {
  ASSERT_FALSE(r.has_value()) << input;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << input;
  EXPECT_EQ(r.error().reason, Reason::kMalformedInput) << input;
}

// Base64 matches RFC 4648 section 10 vectors.
TEST(EncodingTest, Base64MatchesRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Base64Decode(encoded).value(), plain);
  }
}

// Every byte value and every length mod 3 survives a base64 round trip.
TEST(EncodingTest, Base64RoundTripsAllBytes) {
  std::string all = AllBytes();
  for (size_t n = 0; n <= all.size(); n += 7) {
    std::string s = all.substr(0, n);
    EXPECT_EQ(Base64Decode(Base64Encode(s)).value(), s) << n;
  }
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

// Malformed base64 fails with kMalformedInput.
TEST(EncodingTest, Base64DecodeOfMalformedInputFails) {
  for (std::string_view bad :
       {"Zg=", "Zg", "Z===", "====", "Zm9v\n", "Zm 9", "Zm9-", "Zg==Zg==", "Z=g=", "Zm9_"}) {
    ExpectMalformed(Base64Decode(bad), bad);
  }
}

// Hex encodes lower case and decodes either case.
TEST(EncodingTest, HexRoundTripsAndAcceptsUpperCase) {
  std::string all = AllBytes();
  EXPECT_EQ(HexDecode(HexEncode(all)).value(), all);
  EXPECT_EQ(HexEncode("\x01\xab\xff"), "01abff");
  EXPECT_EQ(HexDecode("01ABff").value(), "\x01\xab\xff");
  EXPECT_EQ(HexDecode("").value(), "");
}

// Odd-length or non-hex input fails with kMalformedInput.
TEST(EncodingTest, HexDecodeOfMalformedInputFails) {
  for (std::string_view bad : {"0", "abc", "zz", "0g", " 0", "0x00"}) {
    ExpectMalformed(HexDecode(bad), bad);
  }
}

// UriEncode keeps only the unreserved set (and '/' when asked), upper-case escapes.
TEST(EncodingTest, UriEncodeEscapesAllButUnreserved) {
  EXPECT_EQ(UriEncode("AZaz09-_.~"), "AZaz09-_.~");
  EXPECT_EQ(UriEncode("a b/c+d=e&f*%"), "a%20b%2Fc%2Bd%3De%26f%2A%25");
  EXPECT_EQ(UriEncode("/a b/c", true), "/a%20b/c");
  EXPECT_EQ(UriEncode("\xc3\xa9"), "%C3%A9");
}

// UriDecode inverts UriEncode for every byte; '+' is a space only for forms.
TEST(EncodingTest, UriDecodeRoundTripsAndHandlesPlus) {
  std::string all = AllBytes();
  EXPECT_EQ(UriDecode(UriEncode(all)).value(), all);
  EXPECT_EQ(UriDecode("a+b%2b").value(), "a+b+");
  EXPECT_EQ(UriDecode("a+b%2b", true).value(), "a b+");
  EXPECT_EQ(UriDecode("%c3%A9").value(), "\xc3\xa9");
}

// Truncated or non-hex escapes fail with kMalformedInput.
TEST(EncodingTest, UriDecodeOfMalformedEscapeFails) {
  for (std::string_view bad : {"%", "%4", "a%4", "%zz", "%4g", "100%"}) {
    ExpectMalformed(UriDecode(bad), bad);
  }
}

}  // namespace
}  // namespace coffer::util
