#include "age/bech32.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/matchers.h"
#include "util/encoding.h"

namespace coffer::age {
namespace {

// age's published example identity and its recipient (FiloSottile/age testdata/example_keys.txt).
constexpr std::string_view kIdentity =
    "AGE-SECRET-KEY-184JMZMVQH3E6U0PSL869004Y3U2NYV7R30EU99CSEDNPH02YUVFSZW44VU";
constexpr std::string_view kRecipient =
    "age1cy0su9fwf3gf9mw868g5yut09p6nytfmmnktexz2ya5uqg9vl9sss4euqm";

// BIP-173's valid test strings decode (checksum constant 1, not Bech32m).
TEST(Bech32Test, Bip173ValidStringsDecode) {
  for (std::string_view s : {"A12UEL5L", "a12uel5l",
                             "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcl"
                             "udedcharactersbio1tt5tgs",
                             "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
                             "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"}) {
    EXPECT_TRUE(IsOk(Bech32Decode(s))) << s;
  }
}

// BIP-173's invalid strings are refused: bad checksum, mixed case, no separator, empty HRP.
TEST(Bech32Test, Bip173InvalidStringsAreRefused) {
  for (std::string_view s : {"pzry9x0s0muk", "1pzry9x0s0muk", "x1b4n0q5v", "li1dgmt3", "A1G7SGD8",
                             "10a06t8", "1qzzfhee", "a12UEL5L", "A12uEL5L"}) {
    EXPECT_TRUE(HasError(Bech32Decode(s), ErrorCode::kInvalidArgument, Reason::kMalformedInput))
        << s;
  }
}

// The example recipient decodes to a 32-byte key and encodes back to the same string.
TEST(Bech32Test, RecipientRoundTrips) {
  auto r = Bech32Decode(kRecipient);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->hrp, "age");
  ASSERT_EQ(r->data.size(), 32u);
  EXPECT_EQ(Bech32Encode("age", r->data.Reveal()), kRecipient);
}

// An upper-case HRP keeps its case on decode and gives upper-case output on encode.
TEST(Bech32Test, IdentityRoundTripsInUpperCase) {
  auto r = Bech32Decode(kIdentity);
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r->hrp, "AGE-SECRET-KEY-");
  ASSERT_EQ(r->data.size(), 32u);
  EXPECT_EQ(Bech32Encode("AGE-SECRET-KEY-", r->data.Reveal()), kIdentity);
}

// One changed character breaks the checksum.
TEST(Bech32Test, OneChangedCharacterIsRefused) {
  std::string s(kRecipient);
  s[10] = s[10] == 'q' ? 'p' : 'q';
  EXPECT_TRUE(HasError(Bech32Decode(s), ErrorCode::kInvalidArgument, Reason::kMalformedInput));
}

// An independent BIP-173 checksum, to build strings with a valid checksum but bad data.
std::string WithChecksum(std::string_view hrp, const std::vector<int>& values) {
  constexpr std::string_view kCharset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
  auto polymod = [](const std::vector<int>& v) {
    const uint32_t gen[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint32_t chk = 1;
    for (int x : v) {
      uint32_t top = chk >> 25;
      chk = ((chk & 0x1ffffff) << 5) ^ static_cast<uint32_t>(x);
      for (int i = 0; i < 5; ++i) chk ^= ((top >> i) & 1) ? gen[i] : 0;
    }
    return chk;
  };
  std::vector<int> all;
  for (char c : hrp) all.push_back(c >> 5);
  all.push_back(0);
  for (char c : hrp) all.push_back(c & 31);
  all.insert(all.end(), values.begin(), values.end());
  all.insert(all.end(), 6, 0);
  uint32_t mod = polymod(all) ^ 1;
  std::string out = std::string(hrp) + "1";
  for (int v : values) out.push_back(kCharset[v]);
  for (int i = 0; i < 6; ++i) out.push_back(kCharset[(mod >> (5 * (5 - i))) & 31]);
  return out;
}

// The reference checksum agrees with Bech32Encode (so the strings below differ only in data).
TEST(Bech32Test, ReferenceChecksumAgrees) {
  EXPECT_EQ(WithChecksum("x", {31, 28}), Bech32Encode("x", std::string(1, '\xff')));
}

// Non-zero padding bits and a whole excess padding group are refused (strict 5-to-8 conversion).
TEST(Bech32Test, BadPaddingIsRefused) {
  // 0xff is groups 31, 28 (two zero padding bits); 29 sets a padding bit.
  EXPECT_TRUE(HasError(Bech32Decode(WithChecksum("x", {31, 29})), ErrorCode::kInvalidArgument,
                       Reason::kMalformedInput));
  // A third group is 5 bits of padding: more than a byte's remainder allows.
  EXPECT_TRUE(HasError(Bech32Decode(WithChecksum("x", {31, 28, 0})), ErrorCode::kInvalidArgument,
                       Reason::kMalformedInput));
}

}  // namespace
}  // namespace coffer::age
