// sops files written by coffer: round trips for every format and type with
// comments kept, tampering detected, stable ciphertexts on re-encryption,
// selection rules, key groups with Shamir, KMS keys through the seam.
#include "files/sops.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "age/age.h"
#include "files/formats.h"
#include "files/keys.h"
#include "files/operations.h"
#include "util/encoding.h"

namespace coffer::files {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kNow = "2026-12-03T10:00:00Z";

struct AgeKeys {
  std::vector<age::X25519Identity> ids;
  explicit AgeKeys(int n) {
    for (int i = 0; i < n; ++i) ids.push_back(age::GenerateX25519Identity());
  }
  KeyServices Services(std::vector<int> which) const {
    KeyServices s;
    s.use_pgp = false;
    for (int i : which) s.age_identities.emplace_back(ids[i].identity.Reveal());
    return s;
  }
  Metadata OneGroup() const {
    Metadata md;
    KeyGroup g;
    for (const auto& id : ids) g.age.push_back({id.recipient, ""});
    md.key_groups.push_back(g);
    return md;
  }
};

std::string Plain(Format format, const Document& doc) {
  auto s = EmitPlaintext(format, doc);
  return s.has_value() ? std::string(s->Reveal()) : "<error>";
}

struct RoundTripCase {
  const char* name;
  Format format;
  const char* text;
};

class RoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(RoundTrip, EncryptThenDecryptGivesTheSameFile) {
  const RoundTripCase& c = GetParam();
  AgeKeys keys(1);
  Result<std::string> enc =
      EncryptText(c.format, c.text, keys.OneGroup(), keys.Services({0}), kNow);
  ASSERT_TRUE(enc.has_value()) << enc.error().message;
  Result<DecryptedFile> dec = DecryptText(c.format, *enc, keys.Services({0}), {});
  ASSERT_TRUE(dec.has_value()) << dec.error().message;
  EXPECT_TRUE(Plain(c.format, dec->file.doc) == c.text) << c.name << " round trip differs";
}

INSTANTIATE_TEST_SUITE_P(
    EveryFormat, RoundTrip,
    ::testing::Values(
        RoundTripCase{"yaml", Format::kYaml,
                      "# top comment\n"
                      "str: hello world\n"
                      "quoted: \"true\"\n"
                      "int: -42\n"
                      "float: 25.4\n"
                      "big_float: 1.234568e+09\n"
                      "bool: false\n"
                      "time: 2024-01-01T10:20:30Z\n"
                      "empty: \"\"\n"
                      "nested:\n"
                      "    # inside\n"
                      "    a: b\n"
                      "    list:\n"
                      "        - one\n"
                      "        - 2\n"
                      "        - k: v\n"
                      "          k2: v2\n"
                      "    block: |\n"
                      "        line one\n"
                      "        line two\n"
                      "clear_unencrypted: visible\n"},
        RoundTripCase{"yaml-multidoc", Format::kYaml, "a: 1\n---\nb: two\n"},
        RoundTripCase{"json", Format::kJson,
                      "{\n\t\"s\": \"x \\u003c\\u0026\\u003e y\",\n\t\"i\": "
                      "9007199254740993,\n\t\"f\": 2.5,\n"
                      "\t\"b\": true,\n\t\"n\": null,\n\t\"l\": [\n\t\t1,\n\t\t\"two\"\n\t],\n"
                      "\t\"o\": {}\n}\n"},
        RoundTripCase{"dotenv", Format::kDotenv, "#comment\nA=1\nB=multi\\nline\nC=x=y\n"},
        RoundTripCase{"ini", Format::kIni,
                      "; about s1\n[s1]\nkey   = value\nother = 2\n\n[s2]\nk = v\n"},
        RoundTripCase{"binary", Format::kBinary, "\x01\x02 binary\n\xff data"}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (char& ch : n) {
        if (ch == '-') ch = '_';
      }
      return n;
    });

TEST(SopsFile, TypesAndPlaintextBytesAreSopsOnes) {
  EXPECT_EQ(FormatFloatFixed(1234568000.0), "1234568000");
  EXPECT_EQ(FormatFloatFixed(25.4), "25.4");
  EXPECT_EQ(FormatFloatFixed(0.000001), "0.000001");
  EXPECT_EQ(FormatFloatG(1234568000.0), "1.234568e+09");
  EXPECT_EQ(FormatFloatG(25.4), "25.4");
  EXPECT_EQ(FormatFloatG(100000.0), "100000");
  EXPECT_EQ(FormatFloatG(1e-5), "1e-05");
  EXPECT_EQ(ScalarPlaintext(Node::Bool(true)), "True");
  EXPECT_EQ(ScalarPlaintext(Node::Bool(false)), "False");
  EXPECT_EQ(ScalarPlaintext(Node::Int(-7)), "-7");
}

// The encrypted file of a YAML document for one age key.
struct Encrypted {
  AgeKeys keys{1};
  std::string text;
  explicit Encrypted(const char* plain, Metadata md = {}) {
    if (md.key_groups.empty()) md.key_groups = keys.OneGroup().key_groups;
    auto enc = EncryptText(Format::kYaml, plain, md, keys.Services({0}), kNow);
    EXPECT_TRUE(enc.has_value()) << enc.error().message;
    if (enc.has_value()) text = *enc;
  }
  Result<DecryptedFile> Decrypt(const std::string& t, bool ignore_mac = false) const {
    DecryptOptions o;
    o.ignore_mac = ignore_mac;
    return DecryptText(Format::kYaml, t, keys.Services({0}), o);
  }
};

std::string ValueLine(const std::string& text, const std::string& key) {
  size_t p = text.find(key + ": ");
  size_t e = text.find('\n', p);
  return text.substr(p + key.size() + 2, e - p - key.size() - 2);
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t p = text.find(from);
  EXPECT_NE(p, std::string::npos) << "test setup: pattern not found";
  if (p != std::string::npos) text.replace(p, from.size(), to);
  return text;
}

const char* kTwoSecrets = "user: alice\npassword: hunter2\nnote_unencrypted: hi\n";

TEST(SopsTamper, SwappedCiphertextsDoNotAuthenticate) {
  Encrypted f(kTwoSecrets);
  std::string u = ValueLine(f.text, "user"), p = ValueLine(f.text, "password");
  std::string t =
      Replace(Replace(f.text, "user: " + u, "user: X"), "password: " + p, "password: " + u);
  t = Replace(t, "user: X", "user: " + p);
  auto d = f.Decrypt(t);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
  EXPECT_THAT(d.error().message, HasSubstr("does not authenticate"));
  EXPECT_THAT(d.error().message, Not(HasSubstr("hunter2")));
}

TEST(SopsTamper, FlippedCiphertextByteIsDetected) {
  Encrypted f(kTwoSecrets);
  std::string p = ValueLine(f.text, "password");
  std::string flipped = p;
  size_t at = flipped.find("data:") + 5;
  flipped[at] = flipped[at] == 'A' ? 'B' : 'A';
  auto d = f.Decrypt(Replace(f.text, p, flipped));
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, ErrorCode::kDataLoss);
}

TEST(SopsTamper, ChangedClearValueIsAMacMismatch) {
  Encrypted f(kTwoSecrets);
  auto d = f.Decrypt(Replace(f.text, "note_unencrypted: hi", "note_unencrypted: ho"));
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message, HasSubstr("MAC mismatch"));
}

TEST(SopsTamper, RemovedValueIsAMacMismatch) {
  Encrypted f(kTwoSecrets);
  std::string u = ValueLine(f.text, "user");
  auto d = f.Decrypt(Replace(f.text, "user: " + u + "\n", ""));
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message, HasSubstr("MAC mismatch"));
}

TEST(SopsTamper, ChangedLastmodifiedIsDetected) {
  Encrypted f(kTwoSecrets);
  auto d = f.Decrypt(Replace(f.text, "2026-12-03T10:00:00Z", "2026-12-03T10:00:01Z"));
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message, HasSubstr("MAC mismatch"));
}

TEST(SopsTamper, ChangedMacIsDetected) {
  Encrypted f(kTwoSecrets);
  std::string mac = ValueLine(f.text, "    mac");
  std::string other = mac;
  size_t at = other.find("data:") + 5;
  other[at] = other[at] == 'A' ? 'B' : 'A';
  auto d = f.Decrypt(Replace(f.text, mac, other));
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message, HasSubstr("MAC mismatch"));
  // And a MAC copied from another file (same layout, other data key).
  Encrypted g(kTwoSecrets);
  d = f.Decrypt(Replace(f.text, mac, ValueLine(g.text, "    mac")));
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message, HasSubstr("MAC mismatch"));
}

TEST(SopsTamper, MissingMacFailsUnlessIgnored) {
  Encrypted f(kTwoSecrets);
  std::string mac = ValueLine(f.text, "    mac");
  std::string t = Replace(f.text, "    mac: " + mac + "\n", "");
  auto d = f.Decrypt(t);
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message, HasSubstr("no MAC"));
  EXPECT_TRUE(f.Decrypt(t, /*ignore_mac=*/true).has_value());
}

TEST(SopsTamper, ChangedRecipientStanzaIsAClearError) {
  Encrypted f(kTwoSecrets);
  size_t p = f.text.find("-----BEGIN AGE ENCRYPTED FILE-----\n") + 36;
  size_t line = f.text.find_first_not_of(' ', p);
  std::string t = f.text;
  t[line + 30] = t[line + 30] == 'A' ? 'B' : 'A';
  auto d = f.Decrypt(t);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().reason, Reason::kKeyNotFound);
  EXPECT_THAT(d.error().message, HasSubstr("could not retrieve the data key"));
}

TEST(SopsTamper, PlaintextWhereCiphertextBelongsIsRefused) {
  Encrypted f(kTwoSecrets);
  std::string u = ValueLine(f.text, "user");
  auto d = f.Decrypt(Replace(f.text, "user: " + u, "user: mallory"));
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message, HasSubstr("should be encrypted"));
}

TEST(SopsFile, UnchangedValuesKeepTheirCiphertext) {
  Encrypted f("a: one\nb: two\n# note\nc: 3\n");
  auto d = f.Decrypt(f.text);
  ASSERT_TRUE(d.has_value());
  Document doc = d->file.doc;
  auto same = ReencryptDocument(Format::kYaml, doc, *d, "2026-12-04T00:00:00Z");
  ASSERT_TRUE(same.has_value());
  for (const char* k : {"a", "b", "c"}) EXPECT_EQ(ValueLine(*same, k), ValueLine(f.text, k)) << k;
  doc.branches[0].Find("b")->text = "changed";
  auto changed = ReencryptDocument(Format::kYaml, doc, *d, "2026-12-04T00:00:00Z");
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(ValueLine(*changed, "a"), ValueLine(f.text, "a"));
  EXPECT_NE(ValueLine(*changed, "b"), ValueLine(f.text, "b"));
  EXPECT_TRUE(f.Decrypt(*changed).has_value());
}

TEST(SopsFile, EncryptedRegexEncryptsOnlyTheSubtree) {
  Metadata md;
  md.rule = {"encrypted_regex", "^(data|stringData)$"};
  Encrypted f("kind: Secret\nmetadata:\n    name: x\nstringData:\n    pw: s3cret\n", md);
  EXPECT_THAT(f.text, HasSubstr("kind: Secret\n"));
  EXPECT_THAT(f.text, HasSubstr("    name: x\n"));
  EXPECT_THAT(f.text, Not(HasSubstr("s3cret")));
  EXPECT_THAT(f.text, HasSubstr("encrypted_regex: ^(data|stringData)$"));
  auto d = f.Decrypt(f.text);
  ASSERT_TRUE(d.has_value()) << d.error().message;
}

TEST(SopsFile, MacOnlyEncryptedLetsClearValuesChange) {
  Metadata md;
  md.mac_only_encrypted = true;
  Encrypted f(kTwoSecrets, md);
  EXPECT_THAT(f.text, HasSubstr("mac_only_encrypted: true"));
  auto d = f.Decrypt(Replace(f.text, "note_unencrypted: hi", "note_unencrypted: ho"));
  EXPECT_TRUE(d.has_value());
}

TEST(SopsFile, RefusesAlreadyEncryptedInput) {
  Encrypted f(kTwoSecrets);
  auto again = EncryptText(Format::kYaml, f.text, f.keys.OneGroup(), f.keys.Services({0}), kNow);
  ASSERT_FALSE(again.has_value());
  EXPECT_THAT(again.error().message, HasSubstr("already encrypted"));
}

TEST(SopsKeyGroups, ThreeGroupsThresholdTwoOpenWithAnyTwo) {
  AgeKeys keys(3);
  Metadata md;
  md.shamir_threshold = 2;
  for (const auto& id : keys.ids) {
    KeyGroup g;
    g.age.push_back({id.recipient, ""});
    md.key_groups.push_back(g);
  }
  auto enc = EncryptText(Format::kYaml, "secret: value\n", md, keys.Services({0, 1, 2}), kNow);
  ASSERT_TRUE(enc.has_value()) << enc.error().message;
  EXPECT_THAT(*enc, HasSubstr("key_groups:"));
  EXPECT_THAT(*enc, HasSubstr("shamir_threshold: 2"));
  for (std::vector<int> two : {std::vector<int>{0, 1}, {0, 2}, {1, 2}}) {
    auto d = DecryptText(Format::kYaml, *enc, keys.Services(two), {});
    ASSERT_TRUE(d.has_value()) << d.error().message;
    EXPECT_TRUE(Plain(Format::kYaml, d->file.doc) == "secret: value\n");
  }
  for (int one = 0; one < 3; ++one) {
    auto d = DecryptText(Format::kYaml, *enc, keys.Services({one}), {});
    ASSERT_FALSE(d.has_value());
    EXPECT_EQ(d.error().reason, Reason::kKeyNotFound);
    EXPECT_THAT(d.error().message, HasSubstr("opened 1 of the 2 key groups needed"));
  }
}

// A post-quantum age recipient (age1pq1..., ML-KEM-768 + X25519) beside an
// X25519 one in the same group: each gets its own age file holding the data
// key, so either identity alone opens the file, and the metadata keeps the
// age1pq1 recipient as written.
TEST(SopsFile, PostQuantumAgeRecipientsRoundTrip) {
  age::HybridIdentity pq = age::GenerateHybridIdentity();
  age::X25519Identity classic = age::GenerateX25519Identity();
  Metadata md;
  KeyGroup g;
  g.age.push_back({pq.recipient, ""});
  g.age.push_back({classic.recipient, ""});
  md.key_groups.push_back(g);
  KeyServices both;
  both.use_pgp = false;
  auto enc = EncryptText(Format::kYaml, "secret: value\n", md, both, kNow);
  ASSERT_TRUE(enc.has_value()) << enc.error().message;
  EXPECT_THAT(*enc, HasSubstr(pq.recipient));
  for (std::string_view identity : {pq.identity.Reveal(), classic.identity.Reveal()}) {
    KeyServices s;
    s.use_pgp = false;
    s.age_identities.emplace_back(identity);
    auto d = DecryptText(Format::kYaml, *enc, s, {});
    ASSERT_TRUE(d.has_value()) << d.error().message;
    EXPECT_TRUE(Plain(Format::kYaml, d->file.doc) == "secret: value\n");
  }
  KeyServices other;
  other.use_pgp = false;
  other.age_identities.emplace_back(age::GenerateHybridIdentity().identity.Reveal());
  auto d = DecryptText(Format::kYaml, *enc, other, {});
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().reason, Reason::kKeyNotFound);
}

// A KMS that wraps with a fixed key in memory, checking the context.
class FakeKms final : public KmsService {
 public:
  Result<std::string> Encrypt(const KmsMasterKey& key, const SecretBytes& plaintext) override {
    return key.arn + "|" + Context(key) + "|" + std::string(plaintext.Reveal());
  }
  Result<SecretBytes> Decrypt(const KmsMasterKey& key, std::string_view blob) override {
    std::string prefix = key.arn + "|" + Context(key) + "|";
    if (blob.substr(0, prefix.size()) != prefix) {
      return Fail(ErrorCode::kUnavailable, "InvalidCiphertextException");
    }
    return SecretBytes(blob.substr(prefix.size()));
  }

 private:
  static std::string Context(const KmsMasterKey& key) {
    std::string s;
    for (const auto& [k, v] : key.context) s += k + "=" + v + ";";
    return s;
  }
};

TEST(SopsKms, KmsKeysWrapWithTheirContext) {
  FakeKms kms;
  KeyServices services;
  services.use_pgp = false;
  services.kms = &kms;
  Metadata md;
  KeyGroup g;
  KmsMasterKey k;
  k.arn = "arn:aws:kms:us-east-1:000000000000:key/abc";
  k.context = {{"app", "web"}};
  g.kms.push_back(k);
  md.key_groups.push_back(g);
  auto enc = EncryptText(Format::kYaml, "a: b\n", md, services, kNow);
  ASSERT_TRUE(enc.has_value()) << enc.error().message;
  EXPECT_THAT(*enc, HasSubstr("arn: arn:aws:kms:us-east-1:000000000000:key/abc"));
  EXPECT_THAT(*enc, HasSubstr("context:\n              app: web"));
  EXPECT_THAT(*enc, HasSubstr("aws_profile: \"\""));
  EXPECT_TRUE(DecryptText(Format::kYaml, *enc, services, {}).has_value());
  // A changed context in the file no longer opens the data key.
  std::string t = Replace(*enc, "app: web", "app: evil");
  auto d = DecryptText(Format::kYaml, t, services, {});
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().reason, Reason::kKeyNotFound);
}

TEST(SopsFormats, DotenvAndIniMetadataAreFlattened) {
  AgeKeys keys(1);
  auto env = EncryptText(Format::kDotenv, "A=1\n", keys.OneGroup(), keys.Services({0}), kNow);
  ASSERT_TRUE(env.has_value());
  EXPECT_THAT(*env, HasSubstr("sops_age__list_0__map_recipient=" + keys.ids[0].recipient));
  EXPECT_THAT(*env, HasSubstr("sops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\n"));
  EXPECT_THAT(*env, HasSubstr("sops_version=3.13.2\n"));
  auto ini = EncryptText(Format::kIni, "[s]\nk = v\n", keys.OneGroup(), keys.Services({0}), kNow);
  ASSERT_TRUE(ini.has_value());
  EXPECT_THAT(*ini, HasSubstr("[sops]\n"));
  EXPECT_THAT(*ini, HasSubstr("age__list_0__map_recipient = " + keys.ids[0].recipient));
  auto bin = EncryptText(Format::kBinary, "raw", keys.OneGroup(), keys.Services({0}), kNow);
  ASSERT_TRUE(bin.has_value());
  EXPECT_THAT(*bin, HasSubstr("{\n\t\"data\": \"ENC[AES256_GCM,data:"));
}

TEST(SopsFormats, YamlBadInputIsAnErrorNotACrash) {
  for (const char* bad : {"- a\n- b\n", "a: [1, 2\n", "a: \"open\n", "a: b\na: c\n",
                          "a:\n  b: 1\n c: 2\n", "a: *nope\n", "\ta: 1\n"}) {
    auto d = ParseYaml(bad);
    EXPECT_FALSE(d.has_value()) << bad;
  }
}

TEST(SopsTamper, SelectionRuleThatDoesNotCompileIsRefusedOnDecrypt) {
  // An attacker rewrites the rule so that it would select nothing: decryption
  // must not go on as if no value were encrypted.
  Encrypted f(kTwoSecrets);
  std::string t = Replace(f.text, "unencrypted_suffix: _unencrypted", "");
  t = Replace(t, "    version:", "    encrypted_regex: (?P<x>a)\n    version:");
  auto d = f.Decrypt(t);
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message, HasSubstr("does not compile"));
}

TEST(SopsTamper, HugeKeyUnderARegexRuleIsRefusedNotACrash) {
  // std::regex recurses per character: a 20,000-byte key against this rule
  // overflowed the stack. Such keys are refused on encrypt and on decrypt.
  Metadata md;
  md.rule = {"encrypted_regex", "^(a|b)*$"};
  std::string key(20000, 'a');
  AgeKeys keys(1);
  md.key_groups = keys.OneGroup().key_groups;
  auto enc = EncryptText(Format::kYaml, key + ": v\n", md, keys.Services({0}), kNow);
  ASSERT_FALSE(enc.has_value());
  EXPECT_THAT(enc.error().message, HasSubstr("cannot be matched"));
  md.key_groups.clear();  // Encrypted uses its own key
  Encrypted f("ok: v\n", md);
  std::string t = Replace(f.text, "ok: ", key + ": ");
  auto d = f.Decrypt(t);
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message, HasSubstr("cannot be matched"));
}

TEST(SopsFormats, HugeFlattenedListIndexIsRefusedNotAllocated) {
  auto doc = ParseDotenv(
      "A=1\nsops_lastmodified=2026-01-01T00:00:00Z\n"
      "sops_age__list_4000000000__map_recipient=x\n");
  ASSERT_TRUE(doc.has_value());
  auto file = SplitSopsFile(Format::kDotenv, *doc);
  ASSERT_FALSE(file.has_value());
  EXPECT_THAT(file.error().message, HasSubstr("bad list index"));
}

TEST(SopsFormats, DeepNestingIsAnErrorNotAStackOverflow) {
  std::string block;
  for (int i = 0; i < 5000; ++i) block += std::string(i * 2, ' ') + "k:\n";
  block += std::string(10000, ' ') + "k: v\n";
  auto d = ParseYaml(block);
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error().message, HasSubstr("nesting too deep"));
  auto flow = ParseYaml("a: " + std::string(100000, '[') + std::string(100000, ']') + "\n");
  ASSERT_FALSE(flow.has_value());
  auto json = ParseJson("{\"a\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  EXPECT_FALSE(json.has_value());
}

}  // namespace
}  // namespace coffer::files
