#include "keyring/seal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "crypto/crypto.h"
#include "crypto/shamir.h"
#include "util/encoding.h"

namespace coffer::keyring {
namespace {

// ---- Persisted (docs/formats/seal.md): never change without a new version. ----
constexpr std::string_view kMagic = "coffer-seal 1";
constexpr size_t kKeySize = 32;
constexpr size_t kNonceSize = 12;
constexpr size_t kShareSize = kKeySize + 1;  // Vault's layout: y bytes, then x
constexpr size_t kCheckSize = 4;
constexpr std::string_view kCheckInfo = "coffer-share-check";
constexpr std::string_view kWrapAad = "coffer/seal/v1/";
constexpr size_t kMaxRecord = 64 * 1024;
constexpr size_t kMaxKeyFile = 4096;

std::unexpected<Error> Malformed(std::string_view what) {
  return Fail(ErrorCode::kDataLoss, "the seal record is corrupt: " + std::string(what),
              Reason::kMalformedInput);
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += ',';
    out += p;
  }
  return out;
}

std::string WrapAad(std::string_view method) {
  std::string aad(kWrapAad);
  aad += method;
  return aad;
}

std::string RootsAad(const SealConfig& config) {
  return WrapAad("roots/") + Join(config.root_fingerprints);
}

SecretBytes RootPayload(std::span<const RootKey> roots) {
  SecretBytes payload(roots.size() * kKeySize);
  for (size_t i = 0; i < roots.size(); ++i) {
    std::memcpy(payload.MutableData() + i * kKeySize, roots[i].material().bytes(), kKeySize);
  }
  return payload;
}

std::unexpected<Error> NotOpened(std::string_view what) {
  return Fail(ErrorCode::kDataLoss, std::string(what) + " does not open (tampered or corrupt)",
              Reason::kMalformedInput);
}

Result<std::string> Wrap(const SecretBytes& key, std::string_view aad,
                         const SecretBytes& payload) {
  std::string nonce = crypto::RandomBytes(kNonceSize);
  COFFER_ASSIGN_OR_RETURN(std::string sealed, crypto::AesGcmSeal(key, nonce, aad, payload.Reveal()));
  return nonce + sealed;
}

Result<SecretBytes> Unwrap(const SecretBytes& key, std::string_view aad, std::string_view wrapped) {
  if (wrapped.size() < kNonceSize + crypto::kAeadTagSize) {
    return Fail(ErrorCode::kDataLoss, "a wrapped root key is truncated", Reason::kMalformedInput);
  }
  return crypto::AesGcmOpen(key, wrapped.substr(0, kNonceSize), aad, wrapped.substr(kNonceSize));
}

std::string ShareCheck(std::string_view share) {
  crypto::Digest256 d = crypto::HmacSha256(kCheckInfo, share);
  return std::string(crypto::AsView(d).substr(0, kCheckSize));
}

std::string ShareDigest(std::string_view salt, std::string_view share) {
  return std::string(crypto::AsView(crypto::HmacSha256(salt, share)));
}

bool ParseInt(std::string_view text, uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

Result<std::string> Hex(std::string_view text) {
  auto decoded = util::HexDecode(text);
  if (!decoded) return Malformed("a field is not hex");
  return std::move(*decoded);
}

}  // namespace

std::string EncodeSealConfig(const SealConfig& c) {
  std::string out(kMagic);
  out += '\n';
  auto line = [&](std::string_view name, std::string_view value) {
    out += name;
    out += ' ';
    out += value;
    out += '\n';
  };
  line("generation", std::to_string(c.generation));
  line("shares", std::to_string(c.shares));
  line("threshold", std::to_string(c.threshold));
  line("share-salt", util::HexEncode(c.share_salt));
  for (const auto& [x, digest] : c.share_digests) {
    line("share", std::to_string(x) + " " + util::HexEncode(digest));
  }
  line("shamir-wrap", util::HexEncode(c.shamir_wrap));
  line("roots", Join(c.root_fingerprints));
  line("roots-wrap", util::HexEncode(c.roots_wrap));
  if (!c.key_file_wrap.empty()) {
    line("key-file-wrap", c.key_file_fingerprint + " " + util::HexEncode(c.key_file_wrap));
  }
  if (!c.kms_blob.empty()) {
    line("kms-wrap", util::HexEncode(c.kms_key_id) + " " + util::HexEncode(c.kms_blob));
  }
  return out;
}

Result<SealConfig> ParseSealConfig(std::string_view text) {
  if (text.size() > kMaxRecord) return Malformed("too large");
  SealConfig c;
  bool first = true;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return Malformed("unterminated line");
    std::string_view l = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (first) {
      if (l != kMagic) return Malformed("unknown format");
      first = false;
      continue;
    }
    size_t sp = l.find(' ');
    if (sp == std::string_view::npos) return Malformed("a line has no value");
    std::string_view name = l.substr(0, sp), value = l.substr(sp + 1);
    uint64_t n = 0;
    if (name == "generation") {
      if (!ParseInt(value, c.generation)) return Malformed("generation");
    } else if (name == "shares" || name == "threshold") {
      if (!ParseInt(value, n) || n < 1 || n > kMaxShares) return Malformed(name);
      (name == "shares" ? c.shares : c.threshold) = static_cast<int>(n);
    } else if (name == "share-salt") {
      COFFER_ASSIGN_OR_RETURN(c.share_salt, Hex(value));
    } else if (name == "share") {
      size_t sp2 = value.find(' ');
      if (sp2 == std::string_view::npos || !ParseInt(value.substr(0, sp2), n) || n < 1 ||
          n > 255) {
        return Malformed("share");
      }
      COFFER_ASSIGN_OR_RETURN(std::string digest, Hex(value.substr(sp2 + 1)));
      c.share_digests[static_cast<uint8_t>(n)] = std::move(digest);
    } else if (name == "roots") {
      std::string_view rest = value;
      while (!rest.empty()) {
        size_t comma = rest.find(',');
        c.root_fingerprints.emplace_back(rest.substr(0, comma));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (name == "shamir-wrap") {
      COFFER_ASSIGN_OR_RETURN(c.shamir_wrap, Hex(value));
    } else if (name == "roots-wrap") {
      COFFER_ASSIGN_OR_RETURN(c.roots_wrap, Hex(value));
    } else if (name == "key-file-wrap") {
      size_t sp2 = value.find(' ');
      if (sp2 == std::string_view::npos) return Malformed("key-file-wrap");
      c.key_file_fingerprint = std::string(value.substr(0, sp2));
      COFFER_ASSIGN_OR_RETURN(c.key_file_wrap, Hex(value.substr(sp2 + 1)));
    } else if (name == "kms-wrap") {
      size_t sp2 = value.find(' ');
      if (sp2 == std::string_view::npos) return Malformed("kms-wrap");
      COFFER_ASSIGN_OR_RETURN(c.kms_key_id, Hex(value.substr(0, sp2)));
      COFFER_ASSIGN_OR_RETURN(c.kms_blob, Hex(value.substr(sp2 + 1)));
    } else {
      return Malformed("unknown field " + std::string(name.substr(0, 32)));
    }
  }
  if (first) return Malformed("empty");
  if (c.shares < c.threshold || c.root_fingerprints.empty() || c.shamir_wrap.empty() ||
      c.roots_wrap.empty() ||
      c.share_digests.size() != static_cast<size_t>(c.shares)) {
    return Malformed("incomplete");
  }
  return c;
}

Result<std::optional<StoredSealConfig>> LoadSealConfig(storage::Backend& backend) {
  auto entry = backend.Get(std::string(kSealRecordKey));
  if (!entry) {
    if (entry.error().code == ErrorCode::kNotFound) return std::optional<StoredSealConfig>();
    return Fail(std::move(entry).error());
  }
  COFFER_ASSIGN_OR_RETURN(SealConfig config, ParseSealConfig(entry->value));
  return std::optional<StoredSealConfig>(StoredSealConfig{std::move(config), entry->mod_revision});
}

Result<storage::Revision> StoreSealConfig(storage::Backend& backend, const SealConfig& config,
                                          storage::Revision expected_revision) {
  storage::Txn txn;
  std::string key(kSealRecordKey);
  txn.compares.push_back(storage::Compare{key, expected_revision});
  txn.writes.push_back(storage::Write::Put(key, EncodeSealConfig(config)));
  auto rev = backend.Commit(txn);
  if (!rev && rev.error().code == ErrorCode::kAborted) {
    return Fail(ErrorCode::kAborted, "the seal configuration changed meanwhile",
                Reason::kCasConflict);
  }
  return rev;
}

SecretBytes NewSealKey() { return crypto::RandomSecret(kKeySize); }

Status WrapRoots(const SecretBytes& seal_key, std::span<const RootKey> roots, SealConfig& config) {
  config.root_fingerprints.clear();
  for (const RootKey& root : roots) config.root_fingerprints.push_back(root.Fingerprint());
  COFFER_ASSIGN_OR_RETURN(config.roots_wrap, Wrap(seal_key, RootsAad(config), RootPayload(roots)));
  return Ok();
}

Result<std::vector<RootKey>> OpenRoots(const SealConfig& config, const SecretBytes& seal_key) {
  auto payload = Unwrap(seal_key, RootsAad(config), config.roots_wrap);
  if (!payload) return NotOpened("the wrap of the root keys");
  if (payload->size() % kKeySize != 0 ||
      payload->size() / kKeySize != config.root_fingerprints.size()) {
    return NotOpened("the wrap of the root keys");
  }
  std::vector<RootKey> roots;
  for (size_t i = 0; i < payload->size() / kKeySize; ++i) {
    roots.push_back(
        RootKey::FromMaterial(SecretBytes(payload->Reveal().substr(i * kKeySize, kKeySize))));
    if (!crypto::ConstantTimeEquals(roots.back().Fingerprint(), config.root_fingerprints[i])) {
      return NotOpened("a root key (fingerprint mismatch)");
    }
  }
  return roots;
}

Result<std::vector<SecretBytes>> MakeShares(const SecretBytes& seal_key, int shares,
                                            int threshold, SealConfig& config) {
  if (shares < 1 || shares > kMaxShares || threshold < 1 || threshold > shares ||
      (threshold == 1 && shares != 1)) {
    return Fail(ErrorCode::kInvalidArgument,
                "shares and threshold must satisfy 1 <= threshold <= shares <= 255, and a "
                "threshold of 1 needs exactly 1 share (got " + std::to_string(shares) +
                    " shares, threshold " + std::to_string(threshold) + ")",
                Reason::kValidation);
  }
  SecretBytes unseal_key = crypto::RandomSecret(kKeySize);
  std::vector<SecretBytes> raw;
  if (shares == 1) {
    SecretBytes only(kShareSize);
    std::memcpy(only.MutableData(), unseal_key.bytes(), kKeySize);
    only.MutableData()[kKeySize] = 1;
    raw.push_back(std::move(only));
  } else {
    COFFER_ASSIGN_OR_RETURN(raw, crypto::ShamirSplit(unseal_key, shares, threshold));
  }
  SealConfig next = config;
  next.shares = shares;
  next.threshold = threshold;
  next.share_salt = crypto::RandomBytes(16);
  next.share_digests.clear();
  COFFER_ASSIGN_OR_RETURN(next.shamir_wrap, Wrap(unseal_key, WrapAad("shamir"), seal_key));
  std::vector<SecretBytes> texts;
  for (const SecretBytes& share : raw) {
    next.share_digests[ShareIndex(share)] = ShareDigest(next.share_salt, share.Reveal());
    SecretBytes framed(kShareSize + kCheckSize);
    std::memcpy(framed.MutableData(), share.bytes(), kShareSize);
    std::string check = ShareCheck(share.Reveal());
    std::memcpy(framed.MutableData() + kShareSize, check.data(), kCheckSize);
    std::string text = util::Base64Encode(framed.Reveal());
    texts.emplace_back(text);
    util::SecureClear(text);
  }
  config = std::move(next);
  return texts;
}

uint8_t ShareIndex(const SecretBytes& share) {
  return share.empty() ? 0 : share.bytes()[share.size() - 1];
}

Result<SecretBytes> CheckShare(const SealConfig& config, std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  auto corrupt = [] {
    return Fail(ErrorCode::kInvalidArgument,
                "the share is corrupt: it is not a coffer unseal share (mistyped or cut short?)",
                Reason::kCorruptShare);
  };
  auto decoded = util::Base64Decode(text);
  if (!decoded || decoded->size() != kShareSize + kCheckSize) {
    if (decoded) util::SecureClear(*decoded);
    return corrupt();
  }
  SecretBytes framed(*decoded);
  util::SecureClear(*decoded);
  std::string_view share = framed.Reveal().substr(0, kShareSize);
  if (!crypto::ConstantTimeEquals(ShareCheck(share), framed.Reveal().substr(kShareSize))) {
    return corrupt();
  }
  uint8_t x = static_cast<uint8_t>(share.back());
  auto it = config.share_digests.find(x);
  if (it == config.share_digests.end() ||
      !crypto::ConstantTimeEquals(ShareDigest(config.share_salt, share), it->second)) {
    return Fail(ErrorCode::kInvalidArgument,
                "the share is wrong: it is well-formed but not one of this server's current "
                "unseal shares (from another server, or from before a rekey?)",
                Reason::kInvalidShare);
  }
  return SecretBytes(share);
}

Result<SecretBytes> OpenWithShares(const SealConfig& config, std::span<const SecretBytes> shares) {
  SecretBytes unseal_key;
  if (shares.size() == 1) {
    if (shares[0].size() != kShareSize) {
      return Fail(ErrorCode::kInvalidArgument, "share has the wrong size", Reason::kInvalidShare);
    }
    unseal_key = SecretBytes(shares[0].Reveal().substr(0, kKeySize));
  } else {
    COFFER_ASSIGN_OR_RETURN(unseal_key, crypto::ShamirCombine(shares));
  }
  auto seal_key = Unwrap(unseal_key, WrapAad("shamir"), config.shamir_wrap);
  if (!seal_key || seal_key->size() != kKeySize) {
    return Fail(ErrorCode::kInvalidArgument,
                "the shares do not open this server's seal key (a share is wrong)",
                Reason::kInvalidShare);
  }
  return std::move(*seal_key);
}

Result<SecretBytes> ReadUnsealKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Fail(ErrorCode::kFailedPrecondition,
                "cannot open the unseal key file " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kFailedPrecondition,
                "the unseal key file " + path + " is not a regular file");
  }
  if ((st.st_mode & 0077) != 0) {
    ::close(fd);
    return Fail(ErrorCode::kFailedPrecondition,
                "the unseal key file " + path +
                    " can be read by others; make it 0600 or 0400 (chmod 600)");
  }
  SecretBytes buf(kMaxKeyFile);
  size_t got = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.MutableData() + got, kMaxKeyFile - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
    if (got == kMaxKeyFile) break;
  }
  ::close(fd);
  buf.Truncate(got);
  if (buf.size() == kKeySize) return buf;
  std::string_view text = buf.Reveal();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  auto decoded = util::Base64Decode(text);
  if (!decoded || decoded->size() != kKeySize) {
    if (decoded) util::SecureClear(*decoded);
    return Fail(ErrorCode::kFailedPrecondition,
                "the unseal key file " + path +
                    " must hold 32 random bytes, raw or base64 (openssl rand -base64 32)");
  }
  SecretBytes key(*decoded);
  util::SecureClear(*decoded);
  return key;
}

std::string KeyFileFingerprint(const SecretBytes& file_key) {
  crypto::Digest256 d = crypto::HmacSha256(file_key.Reveal(), "coffer-unseal-key-file");
  return util::HexEncode(crypto::AsView(d).substr(0, 8));
}

Status WrapForKeyFile(const SecretBytes& seal_key, const SecretBytes& file_key,
                      SealConfig& config) {
  COFFER_ASSIGN_OR_RETURN(config.key_file_wrap, Wrap(file_key, WrapAad("key-file"), seal_key));
  config.key_file_fingerprint = KeyFileFingerprint(file_key);
  return Ok();
}

Result<SecretBytes> OpenWithKeyFile(const SealConfig& config, const SecretBytes& file_key) {
  if (config.key_file_wrap.empty() ||
      !crypto::ConstantTimeEquals(config.key_file_fingerprint, KeyFileFingerprint(file_key))) {
    return Fail(ErrorCode::kNotFound,
                "this unseal key file is not enrolled (unseal with shares once while the server "
                "runs with --unseal-key-file to enrol it)");
  }
  auto seal_key = Unwrap(file_key, WrapAad("key-file"), config.key_file_wrap);
  if (!seal_key || seal_key->size() != kKeySize) return NotOpened("the key-file wrap");
  return std::move(*seal_key);
}

}  // namespace coffer::keyring
