#include "age/age.h"

#include <optional>
#include <string>
#include <vector>

#include "age/bech32.h"
#include "age/internal/armor.h"
#include "age/internal/base64.h"
#include "age/internal/hpke.h"
#include "age/internal/stream.h"
#include "crypto/crypto.h"
#include "crypto/scrypt.h"
#include "crypto/x25519.h"
#include "util/check.h"

namespace coffer::age {
namespace {

constexpr std::string_view kVersionLine = "age-encryption.org/v1";
constexpr std::string_view kVersionPrefix = "age-encryption.org/";
constexpr std::string_view kX25519Label = "age-encryption.org/v1/X25519";
constexpr std::string_view kScryptLabel = "age-encryption.org/v1/scrypt";
constexpr size_t kScryptSaltSize = 16;
constexpr std::string_view kRecipientHrp = "age";
constexpr std::string_view kIdentityHrp = "AGE-SECRET-KEY-";
constexpr std::string_view kHybridRecipientHrp = "age1pq";
constexpr std::string_view kHybridIdentityHrp = "AGE-SECRET-KEY-PQ-";
constexpr std::string_view kHybridStanzaType = "mlkem768x25519";
constexpr std::string_view kHybridLabel = "age-encryption.org/mlkem768x25519";
constexpr size_t kFileKeySize = 16;
constexpr size_t kWrappedFileKeySize = kFileKeySize + crypto::kAeadTagSize;
constexpr size_t kColumns = 64;  // header body lines: 48 bytes each
constexpr size_t kBytesPerLine = 48;
constexpr size_t kMacSize = 32;

// A stanza as parsed from the header: "-> type args...\n" then its body.
struct Stanza {
  std::string type;
  std::vector<std::string> args;
  std::string body;
};

struct Header {
  std::vector<Stanza> stanzas;
  std::string_view mac_input;  // from the version line up to and including "---"
  std::string mac;
  size_t payload_offset = 0;
};

// A parsed identity: an X25519 scalar and its public key, or (when `hybrid`
// is set) an MLKEM768-X25519 key.
struct Identity {
  SecretBytes private_key;
  std::string public_key;
  std::optional<internal::HybridPrivateKey> hybrid;
};

// A parsed recipient: an X25519 point, or an MLKEM768-X25519 public key.
struct Recipient {
  std::string public_key;
  bool hybrid = false;
};

std::unexpected<Error> BadHeader(std::string why) {
  return Fail(ErrorCode::kInvalidArgument, "malformed age header: " + why,
              Reason::kCiphertextMalformed);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    parts.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// An argument or stanza type: one or more VCHARs (33..126).
bool IsValidArg(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 33 || c > 126) return false;
  }
  return true;
}

// Reads the line starting at `pos` (without its "\n"); false if there is no
// "\n".
bool ReadLine(std::string_view file, size_t& pos, std::string_view& line) {
  size_t nl = file.find('\n', pos);
  if (nl == std::string_view::npos) return false;
  line = file.substr(pos, nl - pos);
  pos = nl + 1;
  return true;
}

Result<Header> ParseHeader(std::string_view file) {
  Header header;
  size_t pos = 0;
  std::string_view line;
  if (!ReadLine(file, pos, line)) return BadHeader("the version line is missing");
  if (line != kVersionLine) {
    if (line.starts_with(kVersionPrefix)) return BadHeader("unsupported age format version");
    return BadHeader("not an age file");
  }
  while (true) {
    size_t line_start = pos;
    if (!ReadLine(file, pos, line)) return BadHeader("the header is truncated");
    if (line.starts_with("---")) {
      std::vector<std::string_view> parts = Split(line, ' ');
      if (parts.size() != 2 || parts[0] != "---" ||
          !internal::Base64DecodeRaw(parts[1], header.mac) || header.mac.size() != kMacSize) {
        return BadHeader("malformed MAC line");
      }
      header.mac_input = file.substr(0, line_start + 3);
      header.payload_offset = pos;
      return header;
    }
    if (!line.starts_with("->")) return BadHeader("unexpected line");
    std::vector<std::string_view> parts = Split(line, ' ');
    if (parts.size() < 2 || parts[0] != "->") return BadHeader("malformed stanza line");
    Stanza stanza;
    for (size_t i = 1; i < parts.size(); ++i) {
      if (!IsValidArg(parts[i])) return BadHeader("malformed stanza argument");
    }
    stanza.type = std::string(parts[1]);
    for (size_t i = 2; i < parts.size(); ++i) stanza.args.emplace_back(parts[i]);
    std::string decoded;
    while (true) {
      if (!ReadLine(file, pos, line)) return BadHeader("the header is truncated");
      if (line.size() > kColumns) return BadHeader("stanza body line longer than 64 columns");
      if (!internal::Base64DecodeRaw(line, decoded)) {
        return BadHeader("malformed stanza body (a stanza must end with a short line)");
      }
      stanza.body.append(decoded);
      if (decoded.size() < kBytesPerLine) break;
    }
    header.stanzas.push_back(std::move(stanza));
  }
}

// The header body lines of `encoded` (base64): 64 columns, ending with a
// shorter line (possibly empty).
std::string WrapBody(std::string_view encoded) {
  std::string out;
  size_t i = 0;
  for (; i + kColumns <= encoded.size(); i += kColumns) {
    out.append(encoded.substr(i, kColumns)).push_back('\n');
  }
  out.append(encoded.substr(i)).push_back('\n');
  return out;
}

Result<SecretBytes> WrapKey(const SecretBytes& shared, std::string_view ephemeral_public,
                            std::string_view recipient_public) {
  std::string salt(ephemeral_public);
  salt.append(recipient_public);
  return crypto::HkdfSha256(shared.Reveal(), salt, kX25519Label, crypto::kAeadKeySize);
}

const std::string& ZeroNonce() {
  static const std::string nonce(12, '\0');
  return nonce;
}

Result<Recipient> ParseRecipient(std::string_view text, size_t index) {
  auto decoded = Bech32Decode(Trim(text));
  if (decoded.has_value() && decoded->hrp == kRecipientHrp &&
      decoded->data.size() == crypto::kX25519KeySize) {
    return Recipient{std::string(decoded->data.Reveal()), false};
  }
  if (decoded.has_value() && decoded->hrp == kHybridRecipientHrp &&
      internal::CheckHybridPublicKey(decoded->data.Reveal()).has_value()) {
    return Recipient{std::string(decoded->data.Reveal()), true};
  }
  return Fail(ErrorCode::kInvalidArgument,
              "recipient " + std::to_string(index) +
                  " is not an age X25519 (age1...) or post-quantum "
                  "(age1pq1...) recipient",
              Reason::kMalformedInput);
}

std::unexpected<Error> BadIdentity(size_t index) {
  return Fail(ErrorCode::kInvalidArgument,
              "identity " + std::to_string(index) +
                  " is not an age X25519 (AGE-SECRET-KEY-1...) or post-quantum "
                  "(AGE-SECRET-KEY-PQ-1...) identity",
              Reason::kMalformedInput);
}

Result<Identity> ParseIdentity(std::string_view text, size_t index) {
  auto decoded = Bech32Decode(text);
  if (decoded.has_value() && decoded->hrp == kHybridIdentityHrp) {
    auto key = internal::HybridKeyFromSeed(decoded->data);
    if (!key.has_value()) return BadIdentity(index);
    std::string public_key = key->public_key;
    return Identity{SecretBytes(), std::move(public_key), std::move(*key)};
  }
  if (!decoded.has_value() || decoded->hrp != kIdentityHrp ||
      decoded->data.size() != crypto::kX25519KeySize) {
    return BadIdentity(index);
  }
  auto public_key = crypto::X25519PublicKey(decoded->data);
  if (!public_key.has_value()) return BadIdentity(index);
  return Identity{std::move(decoded->data), std::move(*public_key), std::nullopt};
}

// Every identity in `identities` (each a key or a key file's text).
Result<std::vector<Identity>> ParseIdentities(std::span<const std::string> identities) {
  std::vector<Identity> out;
  for (size_t i = 0; i < identities.size(); ++i) {
    for (std::string_view line : Split(identities[i], '\n')) {
      line = Trim(line);
      if (line.empty() || line.front() == '#') continue;
      COFFER_ASSIGN_OR_RETURN(Identity identity, ParseIdentity(line, i));
      out.push_back(std::move(identity));
    }
  }
  if (out.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "no age identity given", Reason::kMalformedInput);
  }
  return out;
}

// The file key from an X25519 stanza if `identity` opens it; an empty
// SecretBytes if it is for someone else. REQUIRES: the stanza was validated.
Result<SecretBytes> UnwrapX25519(const Identity& identity, std::string_view ephemeral_public,
                                 std::string_view body) {
  auto shared = crypto::X25519SharedSecret(identity.private_key, ephemeral_public);
  if (!shared.has_value()) return BadHeader("X25519 stanza with a low-order ephemeral share");
  COFFER_ASSIGN_OR_RETURN(SecretBytes wrap,
                          WrapKey(*shared, ephemeral_public, identity.public_key));
  auto file_key = crypto::ChaChaPolyOpen(wrap, ZeroNonce(), "", body);
  if (!file_key.has_value()) return SecretBytes();
  return std::move(*file_key);
}

// The file key from an mlkem768x25519 stanza if `identity` opens it; an empty
// SecretBytes if it is for someone else (ML-KEM rejects implicitly, so a
// stanza for another key only fails at the AEAD). A low-order X25519 share is
// a malformed header. REQUIRES: the stanza was validated.
Result<SecretBytes> UnwrapHybrid(const internal::HybridPrivateKey& key, std::string_view enc,
                                 std::string_view body) {
  auto file_key = internal::HpkeOpenBase(key, enc, kHybridLabel, "", body);
  if (file_key.has_value()) return std::move(*file_key);
  if (file_key.error().code == ErrorCode::kDataLoss) return SecretBytes();
  return BadHeader("mlkem768x25519 stanza with a low-order X25519 share");
}

}  // namespace

X25519Identity GenerateX25519Identity() {
  crypto::X25519KeyPair pair = crypto::X25519Generate();
  std::string identity = Bech32Encode(kIdentityHrp, pair.private_key.Reveal());
  X25519Identity out{SecretBytes(identity), Bech32Encode(kRecipientHrp, pair.public_key)};
  util::SecureClear(identity);
  return out;
}

HybridIdentity GenerateHybridIdentity() {
  SecretBytes seed = crypto::RandomSecret(internal::kHybridSeedSize);
  auto key = internal::HybridKeyFromSeed(seed);
  COFFER_CHECK(key.has_value());
  std::string identity = Bech32Encode(kHybridIdentityHrp, seed.Reveal());
  HybridIdentity out{SecretBytes(identity), Bech32Encode(kHybridRecipientHrp, key->public_key)};
  util::SecureClear(identity);
  return out;
}

Result<std::string> RecipientFromIdentity(std::string_view identity) {
  COFFER_ASSIGN_OR_RETURN(Identity parsed, ParseIdentity(Trim(identity), 0));
  return Bech32Encode(parsed.hybrid.has_value() ? kHybridRecipientHrp : kRecipientHrp,
                      parsed.public_key);
}

Result<std::string> Encrypt(std::span<const std::string> recipients, std::string_view plaintext,
                            bool armor) {
  if (recipients.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "no age recipient given", Reason::kValidation);
  }
  std::vector<Recipient> publics;
  for (size_t i = 0; i < recipients.size(); ++i) {
    COFFER_ASSIGN_OR_RETURN(Recipient recipient, ParseRecipient(recipients[i], i));
    if (i > 0 && recipient.hybrid != publics[0].hybrid) {
      // As age: a classic recipient would undo the post-quantum protection of
      // the others.
      return Fail(ErrorCode::kInvalidArgument,
                  "post-quantum (age1pq1...) and X25519 (age1...) recipients "
                  "cannot be mixed",
                  Reason::kValidation);
    }
    publics.push_back(std::move(recipient));
  }
  SecretBytes file_key = crypto::RandomSecret(kFileKeySize);
  std::string out(kVersionLine);
  out.push_back('\n');
  for (size_t i = 0; i < publics.size(); ++i) {
    if (publics[i].hybrid) {
      COFFER_ASSIGN_OR_RETURN(
          internal::HpkeSealed sealed,
          internal::HpkeSealBase(publics[i].public_key, kHybridLabel, "", file_key.Reveal()));
      out.append("-> ").append(kHybridStanzaType).append(" ");
      out.append(internal::Base64EncodeRaw(sealed.enc)).push_back('\n');
      out.append(WrapBody(internal::Base64EncodeRaw(sealed.ciphertext)));
      continue;
    }
    crypto::X25519KeyPair ephemeral = crypto::X25519Generate();
    auto shared = crypto::X25519SharedSecret(ephemeral.private_key, publics[i].public_key);
    if (!shared.has_value()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "recipient " + std::to_string(i) + " is a low-order X25519 point",
                  Reason::kMalformedInput);
    }
    COFFER_ASSIGN_OR_RETURN(SecretBytes wrap,
                            WrapKey(*shared, ephemeral.public_key, publics[i].public_key));
    COFFER_ASSIGN_OR_RETURN(std::string body,
                            crypto::ChaChaPolySeal(wrap, ZeroNonce(), "", file_key.Reveal()));
    out.append("-> X25519 ").append(internal::Base64EncodeRaw(ephemeral.public_key));
    out.push_back('\n');
    out.append(WrapBody(internal::Base64EncodeRaw(body)));
  }
  out.append("---");
  COFFER_ASSIGN_OR_RETURN(SecretBytes mac_key,
                          crypto::HkdfSha256(file_key.Reveal(), "", "header", 32));
  crypto::Digest256 mac = crypto::HmacSha256(mac_key.Reveal(), out);
  out.push_back(' ');
  out.append(internal::Base64EncodeRaw(crypto::AsView(mac)));
  out.push_back('\n');
  COFFER_ASSIGN_OR_RETURN(std::string payload, internal::SealPayload(file_key, plaintext));
  out.append(payload);
  if (armor) return internal::Armor(out);
  return out;
}

Result<SecretBytes> Decrypt(std::span<const std::string> identities, std::string_view file) {
  COFFER_ASSIGN_OR_RETURN(std::vector<Identity> keys, ParseIdentities(identities));
  std::string dearmored;
  if (!file.starts_with(kVersionPrefix)) {
    COFFER_ASSIGN_OR_RETURN(dearmored, internal::Dearmor(file));
    file = dearmored;
  }
  COFFER_ASSIGN_OR_RETURN(Header header, ParseHeader(file));
  // Validate every stanza we understand before trying any key, so that the
  // outcome does not depend on which identity matches first.
  std::vector<std::string> shares(header.stanzas.size());
  for (size_t i = 0; i < header.stanzas.size(); ++i) {
    const Stanza& stanza = header.stanzas[i];
    if (stanza.type == "scrypt" && header.stanzas.size() != 1) {
      return BadHeader("an scrypt stanza must be the only stanza");
    }
    if (stanza.type == kHybridStanzaType) {
      if (stanza.args.size() != 1 || !internal::Base64DecodeRaw(stanza.args[0], shares[i]) ||
          shares[i].size() != internal::kHybridEncSize) {
        return BadHeader("malformed mlkem768x25519 stanza encapsulation");
      }
      // Checked before any decryption (C2SP age.md: against partitioning
      // oracles).
      if (stanza.body.size() != kWrappedFileKeySize) {
        return BadHeader("malformed mlkem768x25519 stanza body");
      }
      continue;
    }
    if (stanza.type != "X25519") continue;
    if (stanza.args.size() != 1 || !internal::Base64DecodeRaw(stanza.args[0], shares[i]) ||
        shares[i].size() != crypto::kX25519KeySize) {
      return BadHeader("malformed X25519 stanza share");
    }
    if (stanza.body.size() != kWrappedFileKeySize) {
      return BadHeader("malformed X25519 stanza body");
    }
  }
  SecretBytes file_key;
  for (const Identity& key : keys) {
    for (size_t i = 0; i < header.stanzas.size() && file_key.empty(); ++i) {
      const Stanza& stanza = header.stanzas[i];
      if (key.hybrid.has_value() && stanza.type == kHybridStanzaType) {
        COFFER_ASSIGN_OR_RETURN(file_key, UnwrapHybrid(*key.hybrid, shares[i], stanza.body));
      } else if (!key.hybrid.has_value() && stanza.type == "X25519") {
        COFFER_ASSIGN_OR_RETURN(file_key, UnwrapX25519(key, shares[i], stanza.body));
      }
    }
    if (!file_key.empty()) break;
  }
  if (file_key.empty()) {
    return Fail(ErrorCode::kNotFound, "no age identity matched any of the file's recipients",
                Reason::kKeyNotFound);
  }
  COFFER_ASSIGN_OR_RETURN(SecretBytes mac_key,
                          crypto::HkdfSha256(file_key.Reveal(), "", "header", 32));
  crypto::Digest256 mac = crypto::HmacSha256(mac_key.Reveal(), header.mac_input);
  if (!crypto::ConstantTimeEquals(crypto::AsView(mac), header.mac)) {
    return Fail(ErrorCode::kDataLoss, "age header MAC does not match (tampered header)",
                Reason::kCiphertextTampered);
  }
  return internal::OpenPayload(file_key, file.substr(header.payload_offset));
}

namespace {

// The header MAC line and the payload after the stanzas in `out`.
Result<std::string> FinishFile(std::string out, const SecretBytes& file_key,
                               std::string_view plaintext, bool armor) {
  out.append("---");
  COFFER_ASSIGN_OR_RETURN(SecretBytes mac_key,
                          crypto::HkdfSha256(file_key.Reveal(), "", "header", 32));
  crypto::Digest256 mac = crypto::HmacSha256(mac_key.Reveal(), out);
  out.push_back(' ');
  out.append(internal::Base64EncodeRaw(crypto::AsView(mac)));
  out.push_back('\n');
  COFFER_ASSIGN_OR_RETURN(std::string payload, internal::SealPayload(file_key, plaintext));
  out.append(payload);
  if (armor) return internal::Armor(out);
  return out;
}

}  // namespace

Result<std::string> EncryptWithPassphrase(const SecretBytes& passphrase, std::string_view plaintext,
                                          bool armor, int log_n) {
  if (passphrase.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "the passphrase is empty", Reason::kValidation);
  }
  SecretBytes file_key = crypto::RandomSecret(kFileKeySize);
  std::string salt = crypto::RandomBytes(kScryptSaltSize);
  std::string label(kScryptLabel);
  COFFER_ASSIGN_OR_RETURN(SecretBytes wrap, crypto::Scrypt(passphrase, label + salt, log_n, 32));
  COFFER_ASSIGN_OR_RETURN(std::string body,
                          crypto::ChaChaPolySeal(wrap, ZeroNonce(), "", file_key.Reveal()));
  std::string out(kVersionLine);
  out.push_back('\n');
  out.append("-> scrypt ").append(internal::Base64EncodeRaw(salt));
  out.append(" ").append(std::to_string(log_n));
  out.push_back('\n');
  out.append(WrapBody(internal::Base64EncodeRaw(body)));
  return FinishFile(std::move(out), file_key, plaintext, armor);
}

Result<SecretBytes> DecryptWithPassphrase(const SecretBytes& passphrase, std::string_view file,
                                          int max_log_n) {
  if (passphrase.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "the passphrase is empty", Reason::kValidation);
  }
  std::string dearmored;
  if (!file.starts_with(kVersionPrefix)) {
    COFFER_ASSIGN_OR_RETURN(dearmored, internal::Dearmor(file));
    file = dearmored;
  }
  COFFER_ASSIGN_OR_RETURN(Header header, ParseHeader(file));
  bool has_scrypt = false;
  for (const Stanza& s : header.stanzas) has_scrypt = has_scrypt || s.type == "scrypt";
  if (has_scrypt && header.stanzas.size() != 1) {
    return BadHeader("an scrypt stanza must be the only stanza");
  }
  if (!has_scrypt) {
    return Fail(ErrorCode::kNotFound, "the file is not encrypted to a passphrase",
                Reason::kKeyNotFound);
  }
  const Stanza& stanza = header.stanzas[0];
  std::string salt;
  if (stanza.args.size() != 2 || !internal::Base64DecodeRaw(stanza.args[0], salt) ||
      salt.size() != kScryptSaltSize) {
    return BadHeader("malformed scrypt stanza salt");
  }
  const std::string& work = stanza.args[1];
  if (work.empty() || work.size() > 2 || work[0] < '1' || work[0] > '9' ||
      work.find_first_not_of("0123456789") != std::string::npos) {
    return BadHeader("malformed scrypt work factor");
  }
  int log_n = std::stoi(work);
  if (log_n > max_log_n || log_n > crypto::kMaxScryptLogN) {
    return BadHeader("scrypt work factor " + work + " is above the limit");
  }
  if (stanza.body.size() != kWrappedFileKeySize) return BadHeader("malformed scrypt stanza body");
  std::string label(kScryptLabel);
  COFFER_ASSIGN_OR_RETURN(SecretBytes wrap, crypto::Scrypt(passphrase, label + salt, log_n, 32));
  Result<SecretBytes> file_key = crypto::ChaChaPolyOpen(wrap, ZeroNonce(), "", stanza.body);
  if (!file_key) {
    return Fail(ErrorCode::kNotFound, "the passphrase does not open the file",
                Reason::kKeyNotFound);
  }
  COFFER_ASSIGN_OR_RETURN(SecretBytes mac_key,
                          crypto::HkdfSha256(file_key->Reveal(), "", "header", 32));
  crypto::Digest256 mac = crypto::HmacSha256(mac_key.Reveal(), header.mac_input);
  if (!crypto::ConstantTimeEquals(crypto::AsView(mac), header.mac)) {
    return Fail(ErrorCode::kDataLoss, "age header MAC does not match (tampered header)",
                Reason::kCiphertextTampered);
  }
  return internal::OpenPayload(*file_key, file.substr(header.payload_offset));
}

}  // namespace coffer::age
