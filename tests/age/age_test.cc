#include "age/age.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "age/bech32.h"
#include "crypto/crypto.h"
#include "support/matchers.h"
#include "support/temp_dir.h"

namespace coffer::age {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Plaintext of `size` bytes that differs per position (so chunk swaps would show).
std::string Pattern(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + i / 65536) & 0xff);
  return s;
}

// Compares without printing either side (the plaintext is secret in general).
bool SamePlaintext(const Result<SecretBytes>& r, std::string_view expected) {
  return r.has_value() && crypto::ConstantTimeEquals(r->Reveal(), expected);
}

class AgeTest : public ::testing::Test {
 protected:
  X25519Identity alice_ = GenerateX25519Identity();
  X25519Identity bob_ = GenerateX25519Identity();

  std::vector<std::string> Ids(const X25519Identity& id) {
    return {std::string(id.identity.Reveal())};
  }
  std::vector<std::string> Rcpts(const X25519Identity& id) { return {id.recipient}; }
};

// Generated identities have the documented shapes, and the recipient derives from the identity.
TEST_F(AgeTest, GeneratedIdentityHasAgeShapes) {
  EXPECT_EQ(alice_.identity.size(), 74u);
  EXPECT_TRUE(alice_.identity.Reveal().starts_with("AGE-SECRET-KEY-1"));
  EXPECT_EQ(alice_.recipient.size(), 62u);
  EXPECT_TRUE(alice_.recipient.starts_with("age1"));
  auto r = RecipientFromIdentity(alice_.identity.Reveal());
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(*r, alice_.recipient);
}

// age's published example: identity -> recipient, and example.age decrypts to its text.
TEST_F(AgeTest, ExampleFileFromAgeDecrypts) {
  fs::path dir = fs::path(COFFER_TESTDATA_DIR) / "age" / "example";
  std::string keys = ReadFile(dir / "example_keys.txt");
  auto recipient = RecipientFromIdentity(
      "AGE-SECRET-KEY-184JMZMVQH3E6U0PSL869004Y3U2NYV7R30EU99CSEDNPH02YUVFSZW44VU");
  ASSERT_TRUE(IsOk(recipient));
  EXPECT_EQ(*recipient, "age1cy0su9fwf3gf9mw868g5yut09p6nytfmmnktexz2ya5uqg9vl9sss4euqm");
  std::vector<std::string> ids = {keys};  // the key file's text, comment line included
  EXPECT_TRUE(SamePlaintext(Decrypt(ids, ReadFile(dir / "example.age")), "Black lives matter."));
}

// Binary and armored files round-trip across the STREAM chunk boundaries.
TEST_F(AgeTest, RoundTripsAtChunkBoundaries) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{65535}, size_t{65536}, size_t{65537},
                      size_t{131072}, size_t{131073}}) {
    std::string plaintext = Pattern(size);
    for (bool armor : {false, true}) {
      auto file = Encrypt(Rcpts(alice_), plaintext, armor);
      ASSERT_TRUE(IsOk(file)) << size;
      EXPECT_EQ(file->starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"), armor);
      EXPECT_TRUE(SamePlaintext(Decrypt(Ids(alice_), *file), plaintext))
          << "size " << size << " armor " << armor;
    }
  }
}

// The binary layout: one 16-byte tag per 64 KiB chunk (at least one), after a 16-byte nonce.
TEST_F(AgeTest, PayloadSizeFollowsChunking) {
  auto small = Encrypt(Rcpts(alice_), "", false);
  auto full = Encrypt(Rcpts(alice_), Pattern(65536), false);
  auto over = Encrypt(Rcpts(alice_), Pattern(65537), false);
  ASSERT_TRUE(IsOk(small) && IsOk(full) && IsOk(over));
  size_t header = small->find("\n---") + 1 + 4 + 43 + 1;  // "--- " + 43 chars + "\n"
  EXPECT_EQ(small->size(), header + 16 + 16);
  EXPECT_EQ(full->size(), header + 16 + 65536 + 16);
  EXPECT_EQ(over->size(), header + 16 + 65537 + 32);
  EXPECT_TRUE(small->starts_with("age-encryption.org/v1\n-> X25519 "));
}

// Another identity does not open the file: kNotFound, nothing released.
TEST_F(AgeTest, WrongIdentityFailsWithNoMatch) {
  auto file = Encrypt(Rcpts(alice_), "secret", false);
  ASSERT_TRUE(IsOk(file));
  EXPECT_TRUE(HasError(Decrypt(Ids(bob_), *file), ErrorCode::kNotFound, Reason::kKeyNotFound));
}

// Each of several recipients opens the file alone; a non-matching identity listed first is skipped.
TEST_F(AgeTest, MultipleRecipientsEachDecrypt) {
  X25519Identity carol = GenerateX25519Identity();
  std::vector<std::string> recipients = {alice_.recipient, bob_.recipient, carol.recipient};
  auto file = Encrypt(recipients, "shared", true);
  ASSERT_TRUE(IsOk(file));
  for (const X25519Identity* id : {&alice_, &bob_, &carol}) {
    EXPECT_TRUE(SamePlaintext(Decrypt(Ids(*id), *file), "shared"));
  }
  X25519Identity other = GenerateX25519Identity();
  std::vector<std::string> ids = {std::string(other.identity.Reveal()),
                                  std::string(carol.identity.Reveal())};
  EXPECT_TRUE(SamePlaintext(Decrypt(ids, *file), "shared"));
  auto binary = Encrypt(recipients, "shared", false);
  ASSERT_TRUE(IsOk(binary));
  size_t stanzas = 0;
  for (size_t p = 0; (p = binary->find("\n-> X25519 ", p)) != std::string::npos; ++p) ++stanzas;
  EXPECT_EQ(stanzas, 3u);
}

// A changed MAC, an added stanza or a changed version line is refused.
TEST_F(AgeTest, TamperedHeaderIsRefused) {
  auto file = Encrypt(Rcpts(alice_), "secret", false);
  ASSERT_TRUE(IsOk(file));
  size_t mac = file->find("\n--- ") + 5;
  std::string bad_mac = *file;
  bad_mac[mac] = bad_mac[mac] == 'A' ? 'B' : 'A';
  EXPECT_TRUE(
      HasError(Decrypt(Ids(alice_), bad_mac), ErrorCode::kDataLoss, Reason::kCiphertextTampered));
  std::string extra = *file;
  extra.insert(file->find("\n---") + 1, "-> other-type arg\n\n");
  EXPECT_TRUE(
      HasError(Decrypt(Ids(alice_), extra), ErrorCode::kDataLoss, Reason::kCiphertextTampered));
  std::string version = *file;
  version[20] = '2';
  EXPECT_TRUE(HasError(Decrypt(Ids(alice_), version), ErrorCode::kInvalidArgument,
                       Reason::kCiphertextMalformed));
  // Non-canonical base64 in the share (the last character carries 2 unused bits).
  std::string share = *file;
  size_t end_of_share = share.find('\n', share.find("-> X25519 ")) - 1;
  share[end_of_share] = static_cast<char>(share[end_of_share] ^ 1);
  EXPECT_TRUE(HasError(Decrypt(Ids(alice_), share), ErrorCode::kInvalidArgument,
                       Reason::kCiphertextMalformed));
}

// A changed payload byte, a dropped final chunk, or appended data is refused.
TEST_F(AgeTest, TamperedPayloadIsRefused) {
  std::string plaintext = Pattern(65536 + 10);
  auto file = Encrypt(Rcpts(alice_), plaintext, false);
  ASSERT_TRUE(IsOk(file));
  std::string flipped = *file;
  flipped[flipped.size() - 20] ^= 1;
  EXPECT_TRUE(
      HasError(Decrypt(Ids(alice_), flipped), ErrorCode::kDataLoss, Reason::kCiphertextTampered));
  std::string truncated = file->substr(0, file->size() - (10 + 16));
  EXPECT_TRUE(
      HasError(Decrypt(Ids(alice_), truncated), ErrorCode::kDataLoss, Reason::kCiphertextTampered));
  EXPECT_TRUE(HasError(Decrypt(Ids(alice_), *file + "x"), ErrorCode::kDataLoss,
                       Reason::kCiphertextTampered));
  std::string no_nonce = file->substr(0, file->find("\n--- ") + 5 + 44 + 8);
  EXPECT_TRUE(HasError(Decrypt(Ids(alice_), no_nonce), ErrorCode::kInvalidArgument,
                       Reason::kCiphertextMalformed));
}

// Armor damage is refused: a bad character, a missing footer, trailing garbage.
TEST_F(AgeTest, TamperedArmorIsRefused) {
  auto file = Encrypt(Rcpts(alice_), "secret", true);
  ASSERT_TRUE(IsOk(file));
  std::string bad_char = *file;
  bad_char[40] = '!';
  EXPECT_TRUE(HasError(Decrypt(Ids(alice_), bad_char), ErrorCode::kInvalidArgument,
                       Reason::kCiphertextMalformed));
  std::string no_footer = file->substr(0, file->find("-----END"));
  EXPECT_TRUE(HasError(Decrypt(Ids(alice_), no_footer), ErrorCode::kInvalidArgument,
                       Reason::kCiphertextMalformed));
  EXPECT_TRUE(HasError(Decrypt(Ids(alice_), *file + "garbage\n"), ErrorCode::kInvalidArgument,
                       Reason::kCiphertextMalformed));
  // Whitespace around the armor is allowed, as is CRLF.
  std::string crlf;
  for (char c : *file) {
    if (c == '\n') crlf.push_back('\r');
    crlf.push_back(c);
  }
  EXPECT_TRUE(SamePlaintext(Decrypt(Ids(alice_), "\n  \n" + crlf + "\n\t\n"), "secret"));
}

// Bad recipients and identities are refused without quoting the key in the message.
TEST_F(AgeTest, BadKeysAreRefusedWithoutQuotingThem) {
  std::vector<std::string> bad_recipients = {alice_.recipient, "age1notarecipient"};
  auto enc = Encrypt(bad_recipients, "x", false);
  ASSERT_TRUE(HasError(enc, ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_NE(enc.error().message.find("recipient 1"), std::string::npos);
  EXPECT_TRUE(HasError(Encrypt({}, "x", false), ErrorCode::kInvalidArgument, Reason::kValidation));
  // An identity in lower case is not accepted (age compares the HRP case-sensitively).
  std::string lower(alice_.identity.Reveal());
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto file = Encrypt(Rcpts(alice_), "x", false);
  ASSERT_TRUE(IsOk(file));
  std::vector<std::string> ids = {lower};
  auto dec = Decrypt(ids, *file);
  ASSERT_TRUE(HasError(dec, ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_EQ(dec.error().message.find(lower), std::string::npos);
  EXPECT_EQ(dec.error().message.find("AGE-SECRET-KEY-1Q"), std::string::npos);
  // A recipient string is not an identity.
  std::vector<std::string> wrong_kind = {alice_.recipient};
  EXPECT_TRUE(
      HasError(Decrypt(wrong_kind, *file), ErrorCode::kInvalidArgument, Reason::kMalformedInput));
}

// ---------------------------------------------------------------------------
// C2SP/CCTV age vectors (tests/data/age/cctv; X25519, armor, header, STREAM).

struct Vector {
  std::map<std::string, std::string> fields;
  std::vector<std::string> identities;
  std::string file;
};

Vector ParseVector(const std::string& text) {
  Vector v;
  size_t pos = 0;
  while (true) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) break;
    size_t colon = line.find(": ");
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 2);
    if (key == "identity") v.identities.push_back(value);
    v.fields[key] = value;
  }
  v.file = text.substr(pos);
  return v;
}

// Every vector gives its expected outcome, and successes release the expected plaintext.
TEST(AgeVectorsTest, CctvVectorsGiveTheirExpectedOutcome) {
  fs::path dir = fs::path(COFFER_TESTDATA_DIR) / "age" / "cctv";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    Vector v = ParseVector(ReadFile(entry.path()));
    // `empty` (an empty file) names no identity: any identity will do.
    if (v.identities.empty()) {
      v.identities.emplace_back(GenerateX25519Identity().identity.Reveal());
    }
    const std::string& expect = v.fields["expect"];
    auto r = Decrypt(v.identities, v.file);
    ++count;
    if (expect == "success") {
      ASSERT_TRUE(IsOk(r)) << name;
      EXPECT_EQ(crypto::Sha256Hex(r->Reveal()), v.fields["payload"]) << name;
    } else if (expect == "no match") {
      EXPECT_TRUE(HasError(r, ErrorCode::kNotFound, Reason::kKeyNotFound)) << name;
    } else if (expect == "HMAC failure") {
      EXPECT_TRUE(HasError(r, ErrorCode::kDataLoss, Reason::kCiphertextTampered)) << name;
    } else if (expect == "payload failure") {
      ASSERT_FALSE(r.has_value()) << name;
      EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << name << ": " << r.error().message;
    } else if (expect == "header failure" || expect == "armor failure") {
      EXPECT_TRUE(HasError(r, ErrorCode::kInvalidArgument, Reason::kCiphertextMalformed)) << name;
    } else {
      ADD_FAILURE() << name << ": unknown expectation " << expect;
    }
  }
  EXPECT_EQ(count, 95);
}

// ---------------------------------------------------------------------------
// Interoperability with the reference implementation (Debian's age package).

constexpr const char* kAge = "/usr/bin/age";
constexpr const char* kAgeKeygen = "/usr/bin/age-keygen";

std::string Quote(const std::string& s) { return "'" + s + "'"; }

class AgeInteropTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (!fs::exists(kAge) || !fs::exists(kAgeKeygen)) {
      GTEST_SKIP() << "the age CLI is not installed (apt-get install age)";
    }
  }
  testing::ScopedTempDir dir_;
};

// Our Encrypt output is decrypted by `age -d` with a key from age-keygen.
TEST_P(AgeInteropTest, AgeCliDecryptsOurFiles) {
  bool armor = GetParam();
  std::string key = dir_.File("key.txt");
  ASSERT_EQ(std::system((std::string(kAgeKeygen) + " -o " + Quote(key) + " 2>/dev/null").c_str()),
            0);
  ASSERT_EQ(std::system((std::string(kAgeKeygen) + " -y " + Quote(key) + " > " +
                         Quote(dir_.File("recipient.txt")))
                            .c_str()),
            0);
  std::string recipient = ReadFile(dir_.File("recipient.txt"));
  std::string plaintext = Pattern(65536 + 3);
  auto file = Encrypt(std::vector<std::string>{recipient}, plaintext, armor);
  ASSERT_TRUE(IsOk(file));
  WriteFile(dir_.File("in.age"), *file);
  ASSERT_EQ(std::system((std::string(kAge) + " -d -i " + Quote(key) + " -o " +
                         Quote(dir_.File("out")) + " " + Quote(dir_.File("in.age")))
                            .c_str()),
            0);
  EXPECT_TRUE(ReadFile(dir_.File("out")) == plaintext);
  // Our Decrypt reads the age-keygen key file as it is.
  std::vector<std::string> ids = {ReadFile(key)};
  EXPECT_TRUE(SamePlaintext(Decrypt(ids, *file), plaintext));
}

// Files written by `age -r` (to two recipients) decrypt with our Decrypt and our identities.
TEST_P(AgeInteropTest, WeDecryptAgeCliFiles) {
  bool armor = GetParam();
  X25519Identity a = GenerateX25519Identity();
  X25519Identity b = GenerateX25519Identity();
  std::string plaintext = Pattern(2 * 65536);
  WriteFile(dir_.File("in"), plaintext);
  std::string cmd = std::string(kAge) + (armor ? " -a" : "") + " -r " + a.recipient + " -r " +
                    b.recipient + " -o " + Quote(dir_.File("out.age")) + " " +
                    Quote(dir_.File("in"));
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string file = ReadFile(dir_.File("out.age"));
  EXPECT_EQ(file.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"), armor);
  for (const X25519Identity* id : {&a, &b}) {
    std::vector<std::string> ids = {std::string(id->identity.Reveal())};
    EXPECT_TRUE(SamePlaintext(Decrypt(ids, file), plaintext));
  }
  // And `age -d` accepts our identity format.
  WriteFile(dir_.File("key.txt"), std::string(a.identity.Reveal()) + "\n");
  ASSERT_EQ(std::system((std::string(kAge) + " -d -i " + Quote(dir_.File("key.txt")) + " -o " +
                         Quote(dir_.File("round")) + " " + Quote(dir_.File("out.age")))
                            .c_str()),
            0);
  EXPECT_TRUE(ReadFile(dir_.File("round")) == plaintext);
}

INSTANTIATE_TEST_SUITE_P(BinaryAndArmored, AgeInteropTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Armored") : std::string("Binary");
                         });

}  // namespace
}  // namespace coffer::age
