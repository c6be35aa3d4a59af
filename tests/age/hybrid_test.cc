// age's post-quantum hybrid recipients: the HPKE suite against
// draft-ietf-hpke-pq's vector, the C2SP age.md example key, round trips, and
// attacks on the mlkem768x25519 stanza written as attacks. (The 19 CCTV
// hybrid vectors run with the others in age_test.cc and cctv_more_test.cc.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "age/age.h"
#include "age/bech32.h"
#include "age/internal/base64.h"
#include "age/internal/hpke.h"
#include "crypto/crypto.h"
#include "support/matchers.h"
#include "util/encoding.h"

namespace coffer::age {
namespace {

namespace fs = std::filesystem;

std::string Unhex(std::string_view hex) {
  auto r = util::HexDecode(hex);
  EXPECT_TRUE(r.has_value());
  return r.value_or("");
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool SamePlaintext(const Result<SecretBytes>& r, std::string_view expected) {
  return r.has_value() && crypto::ConstantTimeEquals(r->Reveal(), expected);
}

// The MLKEM768-X25519 / HKDF-SHA256 / ChaCha20-Poly1305 entry of the
// draft-ietf-hpke-pq vectors (tests/data/mlkem/hpke-pq-mlkem768.txt): key
// expansion from the 32-byte seed, encapsulation with the given randomness,
// the key schedule, the first encryption, and Open.
TEST(HybridHpkeTest, DraftHpkePqVector) {
  std::ifstream in(fs::path(COFFER_TESTDATA_DIR) / "mlkem" / "hpke-pq-mlkem768.txt");
  std::vector<std::map<std::string, std::string>> blocks(1);
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find(" = ");
    if (eq == std::string::npos) {
      blocks.emplace_back();
      continue;
    }
    blocks.back()[line.substr(0, eq)] = line.substr(eq + 3);
  }
  int seen = 0;
  for (const auto& v : blocks) {
    if (v.empty() || v.at("kem_id") != "25722") continue;
    ++seen;
    auto key = internal::HybridKeyFromSeed(SecretBytes(Unhex(v.at("skRm"))));
    ASSERT_TRUE(IsOk(key));
    EXPECT_EQ(util::HexEncode(key->public_key), v.at("pkRm"));
    SecretBytes randomness(Unhex(v.at("ikmE")));
    auto kem = internal::HybridEncapsulateWith(key->public_key, randomness);
    ASSERT_TRUE(IsOk(kem));
    EXPECT_EQ(util::HexEncode(kem->enc), v.at("enc"));
    EXPECT_EQ(util::HexEncode(kem->shared_secret.Reveal()), v.at("shared_secret"));
    std::string info = Unhex(v.at("info"));
    internal::HpkeKeys keys = internal::HpkeKeySchedule(kem->shared_secret, info);
    EXPECT_EQ(util::HexEncode(keys.key.Reveal()), v.at("key"));
    EXPECT_EQ(util::HexEncode(keys.base_nonce), v.at("base_nonce"));
    std::string aad = Unhex(v.at("aad"));
    std::string pt = Unhex(v.at("pt"));
    auto sealed = internal::HpkeSealBaseWith(key->public_key, info, aad, pt, randomness);
    ASSERT_TRUE(IsOk(sealed));
    EXPECT_EQ(util::HexEncode(sealed->enc), v.at("enc"));
    EXPECT_EQ(util::HexEncode(sealed->ciphertext), v.at("ct"));
    EXPECT_TRUE(SamePlaintext(
        internal::HpkeOpenBase(*key, sealed->enc, info, aad, sealed->ciphertext), pt));
  }
  EXPECT_EQ(seen, 1);
}

// C2SP age.md's example identity gives its example recipient.
TEST(HybridIdentityTest, SpecExampleIdentityGivesItsRecipient) {
  std::istringstream lines(
      ReadFile(fs::path(COFFER_TESTDATA_DIR) / "age" / "c2sp-age-md-pq-key.txt"));
  std::string identity, recipient;
  std::getline(lines, identity);
  std::getline(lines, recipient);
  ASSERT_TRUE(identity.starts_with("AGE-SECRET-KEY-PQ-1"));
  ASSERT_TRUE(recipient.starts_with("age1pq1"));
  auto derived = RecipientFromIdentity(identity);
  ASSERT_TRUE(IsOk(derived));
  EXPECT_EQ(*derived, recipient);
}

class HybridAgeTest : public ::testing::Test {
 protected:
  HybridIdentity alice_ = GenerateHybridIdentity();
  HybridIdentity bob_ = GenerateHybridIdentity();

  static std::vector<std::string> Ids(const HybridIdentity& id) {
    return {std::string(id.identity.Reveal())};
  }

  // A binary file for alice, and its one stanza's enc and body (decoded).
  struct Parts {
    std::string file, enc, body;
  };
  Parts AliceFile(std::string_view plaintext) {
    auto file = Encrypt(std::vector<std::string>{alice_.recipient}, plaintext, false);
    EXPECT_TRUE(IsOk(file));
    Parts p{*file, "", ""};
    size_t line2 = p.file.find('\n') + 1;
    size_t line3 = p.file.find('\n', line2) + 1;
    size_t line4 = p.file.find('\n', line3) + 1;
    std::string_view stanza(p.file.data() + line2, line3 - line2 - 1);
    EXPECT_TRUE(stanza.starts_with("-> mlkem768x25519 "));
    EXPECT_TRUE(internal::Base64DecodeRaw(stanza.substr(18), p.enc));
    EXPECT_TRUE(internal::Base64DecodeRaw(
        std::string_view(p.file.data() + line3, line4 - line3 - 1), p.body));
    return p;
  }

  // `file` with its stanza's enc and body replaced (the MAC is left as it is:
  // every check under test runs before the MAC is verified).
  static std::string Replace(const std::string& file, std::string_view enc, std::string_view body) {
    size_t line2 = file.find('\n') + 1;
    size_t line3 = file.find('\n', line2) + 1;
    size_t line4 = file.find('\n', line3) + 1;
    return file.substr(0, line2) + "-> mlkem768x25519 " + internal::Base64EncodeRaw(enc) + "\n" +
           internal::Base64EncodeRaw(body) + "\n" + file.substr(line4);
  }
};

// Generated keys have age's shapes and survive a trip through
// RecipientFromIdentity.
TEST_F(HybridAgeTest, GeneratedIdentityHasAgeShapes) {
  EXPECT_TRUE(alice_.identity.Reveal().starts_with("AGE-SECRET-KEY-PQ-1"));
  EXPECT_TRUE(alice_.recipient.starts_with("age1pq1"));
  auto decoded = Bech32Decode(alice_.recipient);
  ASSERT_TRUE(IsOk(decoded));
  EXPECT_EQ(decoded->data.size(), internal::kHybridPublicKeySize);
  auto derived = RecipientFromIdentity(alice_.identity.Reveal());
  ASSERT_TRUE(IsOk(derived));
  EXPECT_EQ(*derived, alice_.recipient);
  EXPECT_NE(alice_.recipient, bob_.recipient);
}

// Binary and armored files to one or two hybrid recipients decrypt with each
// identity, and with nobody else's (hybrid or X25519).
TEST_F(HybridAgeTest, RoundTripsAndOnlyTheRecipientsDecrypt) {
  const std::string plaintext = "post-quantum secret value";
  for (bool armor : {false, true}) {
    auto file =
        Encrypt(std::vector<std::string>{alice_.recipient, bob_.recipient}, plaintext, armor);
    ASSERT_TRUE(IsOk(file));
    EXPECT_TRUE(SamePlaintext(Decrypt(Ids(alice_), *file), plaintext));
    EXPECT_TRUE(SamePlaintext(Decrypt(Ids(bob_), *file), plaintext));
    HybridIdentity carol = GenerateHybridIdentity();
    EXPECT_TRUE(HasError(Decrypt(Ids(carol), *file), ErrorCode::kNotFound, Reason::kKeyNotFound));
    std::vector<std::string> x25519 = {std::string(GenerateX25519Identity().identity.Reveal())};
    EXPECT_TRUE(HasError(Decrypt(x25519, *file), ErrorCode::kNotFound, Reason::kKeyNotFound));
  }
  // A key file mixing both kinds of identity opens X25519 and hybrid files
  // alike.
  X25519Identity classic = GenerateX25519Identity();
  std::vector<std::string> keyfile = {"# keys\n" + std::string(classic.identity.Reveal()) + "\n" +
                                      std::string(alice_.identity.Reveal()) + "\n"};
  auto pq = Encrypt(std::vector<std::string>{alice_.recipient}, plaintext, false);
  auto ec = Encrypt(std::vector<std::string>{classic.recipient}, plaintext, false);
  ASSERT_TRUE(IsOk(pq));
  ASSERT_TRUE(IsOk(ec));
  EXPECT_TRUE(SamePlaintext(Decrypt(keyfile, *pq), plaintext));
  EXPECT_TRUE(SamePlaintext(Decrypt(keyfile, *ec), plaintext));
}

// Attack: encrypting to a post-quantum and a classic recipient at once would
// let a quantum attacker take the file key from the X25519 stanza. Refused, as
// age does.
TEST_F(HybridAgeTest, MixingWithX25519RecipientsIsRefused) {
  X25519Identity classic = GenerateX25519Identity();
  EXPECT_TRUE(
      HasError(Encrypt(std::vector<std::string>{alice_.recipient, classic.recipient}, "x", false),
               ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(
      HasError(Encrypt(std::vector<std::string>{classic.recipient, alice_.recipient}, "x", false),
               ErrorCode::kInvalidArgument, Reason::kValidation));
}

// Attack: a recipient whose ML-KEM key has a coefficient >= q (or the wrong
// length) is refused before anything is encrypted to it.
TEST_F(HybridAgeTest, InvalidRecipientKeysAreRefused) {
  auto decoded = Bech32Decode(alice_.recipient);
  ASSERT_TRUE(IsOk(decoded));
  std::string key(decoded->data.Reveal());
  key[0] = '\xff';
  key[1] = static_cast<char>(key[1] | 0x0f);  // first coefficient 4095
  std::string bad_coefficient = Bech32Encode("age1pq", key);
  std::string short_key = Bech32Encode("age1pq", key.substr(1));
  for (const std::string& r : {bad_coefficient, short_key}) {
    EXPECT_TRUE(HasError(Encrypt(std::vector<std::string>{r}, "x", false),
                         ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  }
  // A hybrid identity with a 31-byte seed is not an identity.
  std::string seed31(31, 'k');
  std::vector<std::string> bad_identity = {Bech32Encode("AGE-SECRET-KEY-PQ-", seed31)};
  auto file = Encrypt(std::vector<std::string>{alice_.recipient}, "x", false);
  ASSERT_TRUE(IsOk(file));
  EXPECT_TRUE(
      HasError(Decrypt(bad_identity, *file), ErrorCode::kInvalidArgument, Reason::kMalformedInput));
}

// Attacks on the stanza: a low-order X25519 share (all-zero DH) and malformed
// sizes are header failures, found before any decryption; a changed ML-KEM
// ciphertext or body is simply not for us (implicit rejection, then the AEAD).
TEST_F(HybridAgeTest, TamperedStanzasFailTheWayAgeDoes) {
  Parts p = AliceFile("payload");
  ASSERT_EQ(p.enc.size(), internal::kHybridEncSize);
  ASSERT_EQ(p.body.size(), 32u);
  auto ids = Ids(alice_);
  EXPECT_TRUE(IsOk(Decrypt(ids, Replace(p.file, p.enc, p.body))));

  std::string zero_share = p.enc.substr(0, 1088) + std::string(32, '\0');
  EXPECT_TRUE(HasError(Decrypt(ids, Replace(p.file, zero_share, p.body)),
                       ErrorCode::kInvalidArgument, Reason::kCiphertextMalformed));
  EXPECT_TRUE(HasError(Decrypt(ids, Replace(p.file, p.enc + '\0', p.body)),
                       ErrorCode::kInvalidArgument, Reason::kCiphertextMalformed));
  EXPECT_TRUE(HasError(Decrypt(ids, Replace(p.file, p.enc.substr(1), p.body)),
                       ErrorCode::kInvalidArgument, Reason::kCiphertextMalformed));
  // A longer body (a longer "file key") is refused before it is decrypted.
  EXPECT_TRUE(HasError(Decrypt(ids, Replace(p.file, p.enc, p.body + "0123456789")),
                       ErrorCode::kInvalidArgument, Reason::kCiphertextMalformed));

  std::string flipped_mlkem = p.enc;
  flipped_mlkem[100] ^= 0x04;
  EXPECT_TRUE(HasError(Decrypt(ids, Replace(p.file, flipped_mlkem, p.body)), ErrorCode::kNotFound,
                       Reason::kKeyNotFound));
  std::string flipped_x25519 = p.enc;
  flipped_x25519[1100] ^= 0x04;
  EXPECT_TRUE(HasError(Decrypt(ids, Replace(p.file, flipped_x25519, p.body)), ErrorCode::kNotFound,
                       Reason::kKeyNotFound));
  std::string flipped_body = p.body;
  flipped_body[31] ^= 0x01;
  EXPECT_TRUE(HasError(Decrypt(ids, Replace(p.file, p.enc, flipped_body)), ErrorCode::kNotFound,
                       Reason::kKeyNotFound));
}

// Error messages name the problem, never the key.
TEST_F(HybridAgeTest, ErrorsNeverQuoteTheIdentity) {
  std::string identity(alice_.identity.Reveal());
  std::string broken = identity;
  broken[30] = broken[30] == 'Q' ? 'P' : 'Q';
  auto r = Decrypt(std::vector<std::string>{broken}, "age-encryption.org/v1\n");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.find(broken.substr(19, 20)), std::string::npos);
  EXPECT_EQ(r.error().message.find(identity.substr(19, 20)), std::string::npos);
}

}  // namespace
}  // namespace coffer::age
