#include "crypto/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "util/encoding.h"

namespace coffer::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  auto r = util::HexDecode(hex);
  EXPECT_TRUE(r.has_value());
  return r.value_or("");
}

std::string Hex(const Digest256& d) { return util::HexEncode(AsView(d)); }

SecretBytes Key(std::string_view hex) { return SecretBytes(Unhex(hex)); }

// Compares secret output with an expected value without printing either.
bool SameSecret(const SecretBytes& a, std::string_view b) {
  return ConstantTimeEquals(a.Reveal(), b);
}

// SHA-256 matches the FIPS 180-2 examples.
TEST(CryptoTest, Sha256MatchesKnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Hex(Sha256("abc")), Sha256Hex("abc"));
}

// SHA-512 matches the FIPS 180-2 "abc" example.
TEST(CryptoTest, Sha512MatchesKnownDigest) {
  auto d = Sha512("abc");
  EXPECT_EQ(util::HexEncode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size())),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

// HMAC-SHA256 matches RFC 4231 test cases 1, 2, 3, 6 and 7.
TEST(CryptoTest, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\xaa'), std::string(50, '\xdd'))),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'),
                           "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'),
                           "This is a test using a larger than block-size key and a larger than "
                           "block-size data. The key needs to be hashed before being used by the "
                           "HMAC algorithm.")),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

// HKDF-SHA256 matches RFC 5869 test cases 1 and 3.
TEST(CryptoTest, HkdfSha256MatchesRfc5869) {
  auto okm = HkdfSha256(std::string(22, '\x0b'), Unhex("000102030405060708090a0b0c"),
                        Unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.has_value());
  EXPECT_TRUE(
      SameSecret(*okm, Unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5"
                             "bf34007208d5b887185865")));
  auto empty_salt = HkdfSha256(std::string(22, '\x0b'), "", "", 42);
  ASSERT_TRUE(empty_salt.has_value());
  EXPECT_TRUE(SameSecret(*empty_salt, Unhex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec345"
                                            "4e5f3c738d2d9d201395faa4b61a96c8")));
}

// HKDF rejects output lengths of 0 and above 255 blocks.
TEST(CryptoTest, HkdfSha256WithBadLengthFailsWithInvalidArgument) {
  auto zero = HkdfSha256("ikm", "salt", "info", 0);
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
  auto big = HkdfSha256("ikm", "salt", "info", 255 * 32 + 1);
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(HkdfSha256("ikm", "salt", "info", 255 * 32)->size(), 255u * 32);
}

// AES-256-GCM matches GCM spec test case 16 (and 14) in both directions.
TEST(CryptoTest, AesGcmMatchesGcmSpecVectors) {
  SecretBytes key = Key("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  std::string pt = Unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
      "49a6b525b16aedf5aa0de657ba637b39");
  std::string aad = Unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  std::string iv = Unhex("cafebabefacedbaddecaf888");
  std::string expected = Unhex(
      "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
      "56828838c5f61e6393ba7a0abcc9f662"
      "76fc6ece0f4e1768cddf8853bb2d551b");
  auto sealed = AesGcmSeal(key, iv, aad, pt);
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(util::HexEncode(*sealed), util::HexEncode(expected));
  auto opened = AesGcmOpen(key, iv, aad, expected);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(SameSecret(*opened, pt));

  auto zero = AesGcmSeal(SecretBytes(size_t{32}), std::string(12, '\0'), "", std::string(16, '\0'));
  ASSERT_TRUE(zero.has_value());
  EXPECT_EQ(util::HexEncode(*zero),
            "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
}

// A 32-byte IV (as sops uses) matches an independent implementation (pyca/cryptography).
TEST(CryptoTest, AesGcmWith32ByteIvMatchesReference) {
  SecretBytes key = Key("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  std::string iv;
  for (int i = 0; i < 32; ++i) iv.push_back(static_cast<char>(i));
  auto sealed = AesGcmSeal(key, iv, "aad", "sops value");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(util::HexEncode(*sealed), "8c8f8a772356f15528e6f3699e8a8590277ed4302baac36b2aa5");
  auto opened = AesGcmOpen(key, iv, "aad", *sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(SameSecret(*opened, "sops value"));
}

// Round trips with 12- and 32-byte IVs; any flipped bit of ciphertext, tag, aad
// or IV fails with kDataLoss / kCiphertextTampered.
TEST(CryptoTest, AesGcmTamperingFailsWithCiphertextTampered) {
  SecretBytes key = RandomSecret(32);
  for (size_t iv_len : {12u, 32u}) {
    std::string iv = RandomBytes(iv_len);
    auto sealed = AesGcmSeal(key, iv, "record-1", "the plaintext");
    ASSERT_TRUE(sealed.has_value());
    ASSERT_EQ(sealed->size(), 13u + kAeadTagSize);
    ASSERT_TRUE(AesGcmOpen(key, iv, "record-1", *sealed).has_value());
    for (size_t i = 0; i < sealed->size(); ++i) {
      std::string bad = *sealed;
      bad[i] = static_cast<char>(bad[i] ^ 0x01);
      auto r = AesGcmOpen(key, iv, "record-1", bad);
      ASSERT_FALSE(r.has_value()) << i;
      EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
      EXPECT_EQ(r.error().reason, Reason::kCiphertextTampered);
    }
    auto wrong_aad = AesGcmOpen(key, iv, "record-2", *sealed);
    ASSERT_FALSE(wrong_aad.has_value());
    EXPECT_EQ(wrong_aad.error().reason, Reason::kCiphertextTampered);
    std::string bad_iv = iv;
    bad_iv[0] ^= 1;
    EXPECT_FALSE(AesGcmOpen(key, bad_iv, "record-1", *sealed).has_value());
    EXPECT_FALSE(AesGcmOpen(RandomSecret(32), iv, "record-1", *sealed).has_value());
  }
}

// Bad key or IV sizes are rejected; a too-short ciphertext is malformed.
TEST(CryptoTest, AesGcmWithBadSizesFails) {
  auto short_key = AesGcmSeal(RandomSecret(16), RandomBytes(12), "", "x");
  ASSERT_FALSE(short_key.has_value());
  EXPECT_EQ(short_key.error().code, ErrorCode::kInvalidArgument);
  auto empty_iv = AesGcmSeal(RandomSecret(32), "", "", "x");
  ASSERT_FALSE(empty_iv.has_value());
  EXPECT_EQ(empty_iv.error().code, ErrorCode::kInvalidArgument);
  auto short_ct = AesGcmOpen(RandomSecret(32), RandomBytes(12), "", "short");
  ASSERT_FALSE(short_ct.has_value());
  EXPECT_EQ(short_ct.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(short_ct.error().reason, Reason::kCiphertextMalformed);
}

// Empty plaintext seals to just the tag and opens to empty.
TEST(CryptoTest, AesGcmEmptyPlaintextRoundTrips) {
  SecretBytes key = RandomSecret(32);
  std::string iv = RandomBytes(12);
  auto sealed = AesGcmSeal(key, iv, "", "");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(sealed->size(), kAeadTagSize);
  auto opened = AesGcmOpen(key, iv, "", *sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(opened->empty());
}

// ChaCha20-Poly1305 matches RFC 8439 section 2.8.2 and detects tampering.
TEST(CryptoTest, ChaChaPolyMatchesRfc8439) {
  std::string key_bytes;
  for (int i = 0x80; i < 0xa0; ++i) key_bytes.push_back(static_cast<char>(i));
  SecretBytes key(key_bytes);
  std::string nonce = Unhex("070000004041424344454647");
  std::string aad = Unhex("50515253c0c1c2c3c4c5c6c7");
  std::string pt =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  std::string expected =
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da"
      "92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad67594558580"
      "8b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116"
      "1ae10b594f09e26a7e902ecbd0600691";
  auto sealed = ChaChaPolySeal(key, nonce, aad, pt);
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(util::HexEncode(*sealed), expected);
  auto opened = ChaChaPolyOpen(key, nonce, aad, Unhex(expected));
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(SameSecret(*opened, pt));

  std::string bad = Unhex(expected);
  bad.back() ^= 0x40;
  auto r = ChaChaPolyOpen(key, nonce, aad, bad);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(r.error().reason, Reason::kCiphertextTampered);
  // ChaCha20-Poly1305 takes exactly 12-byte nonces.
  auto long_nonce = ChaChaPolySeal(key, std::string(24, 'n'), aad, pt);
  ASSERT_FALSE(long_nonce.has_value());
  EXPECT_EQ(long_nonce.error().code, ErrorCode::kInvalidArgument);
}

// ConstantTimeEquals compares contents and lengths.
TEST(CryptoTest, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

// The CSPRNG returns the requested sizes and does not repeat.
TEST(CryptoTest, RandomBytesHaveRequestedSizeAndDiffer) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_EQ(RandomSecret(32).size(), 32u);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(RandomBytes(16));
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace
}  // namespace coffer::crypto
