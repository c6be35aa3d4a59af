#include "keyring/keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "util/check.h"
#include "util/encoding.h"
#include "util/log.h"
#include "util/private_file.h"

namespace coffer::keyring {
namespace {

// ---- Envelope (docs/formats/envelope.md). Persisted: never renumber. ----
constexpr uint8_t kEnvelopeV1 = 0xC1;
constexpr size_t kSaltSize = 32;
constexpr size_t kNonceSize = 12;
constexpr size_t kMaxKeyIdSize = 255;
constexpr std::string_view kEnvelopeInfo = "coffer/envelope/v1";

// ---- Key material record "keyring/<key_id>". Persisted: never renumber. ----
constexpr uint8_t kRecordV1 = 0x4B;  // 'K'
constexpr size_t kMaterialSize = 32;
constexpr size_t kWrappedSize = kNonceSize + kMaterialSize + crypto::kAeadTagSize;
constexpr std::string_view kRecordPrefix = "keyring/";

// ---- Root key file. Persisted. ----
constexpr std::string_view kRootFileMagic = "coffer-root-key-v1\n";
constexpr size_t kRootFileSize = kRootFileMagic.size() + 32;

constexpr int kMaxCasAttempts = 64;

void PutU32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

uint32_t GetU32(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

std::string RecordKey(std::string_view key_id) {
  std::string key(kRecordPrefix);
  key += key_id;
  return key;
}

std::string WrapAad(std::string_view key_id, uint32_t version, std::string_view fingerprint) {
  std::string aad(kRecordPrefix);
  aad += key_id;
  aad += '/';
  aad += std::to_string(version);
  aad += fingerprint;
  return aad;
}

Status ValidateKeyId(std::string_view key_id) {
  if (key_id.empty() || key_id.size() > kMaxKeyIdSize) {
    return Fail(ErrorCode::kInvalidArgument, "key id must be 1 to 255 bytes", Reason::kValidation);
  }
  return Ok();
}

std::unexpected<Error> Malformed(std::string_view what) {
  return Fail(ErrorCode::kDataLoss, "not a coffer envelope: " + std::string(what),
              Reason::kCiphertextMalformed);
}

// The parsed, non-owning view of an envelope.
struct EnvelopeView {
  std::string_view header;  // everything before the ciphertext
  std::string_view key_id;
  uint32_t version = 0;
  std::string_view salt;
  std::string_view nonce;
  std::string_view sealed;  // ciphertext || tag
};

Result<EnvelopeView> ParseEnvelope(std::string_view env) {
  if (env.empty() || static_cast<uint8_t>(env[0]) != kEnvelopeV1) {
    return Malformed("unknown format byte");
  }
  if (env.size() < 2) return Malformed("truncated");
  size_t id_len = static_cast<unsigned char>(env[1]);
  size_t header_len = 2 + id_len + 4 + kSaltSize + kNonceSize;
  if (id_len == 0) return Malformed("empty key id");
  if (env.size() < header_len + crypto::kAeadTagSize) return Malformed("truncated");
  EnvelopeView v;
  v.header = env.substr(0, header_len);
  v.key_id = env.substr(2, id_len);
  v.version = GetU32(env.substr(2 + id_len, 4));
  v.salt = env.substr(2 + id_len + 4, kSaltSize);
  v.nonce = env.substr(2 + id_len + 4 + kSaltSize, kNonceSize);
  v.sealed = env.substr(header_len);
  if (v.version == 0) return Malformed("key version 0");
  return v;
}

// Per-thread scratch buffer for header || aad, so the hot path does not
// allocate once it has warmed up.
std::string& AadScratch(std::string_view header, std::string_view aad) {
  thread_local std::string scratch;
  scratch.assign(header);
  scratch.append(aad);
  return scratch;
}

std::string ErrnoText(int err) { return std::strerror(err); }

// Reads the key file; kNotFound if it does not exist.
Result<SecretBytes> ReadRootFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Fail(ErrorCode::kNotFound, "root key file absent");
    return Fail(ErrorCode::kUnavailable,
                "cannot open root key file " + path + ": " + ErrnoText(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Fail(ErrorCode::kUnavailable,
                "cannot stat root key file " + path + ": " + ErrnoText(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kDataLoss, "root key file " + path + " is not a regular file",
                Reason::kMalformedInput);
  }
  if ((st.st_mode & 07777 & ~static_cast<mode_t>(0600)) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Fail(ErrorCode::kFailedPrecondition,
                "root key file " + path + " has mode " + mode + "; it must be 0600 or stricter");
  }
  if (static_cast<size_t>(st.st_size) != kRootFileSize) {
    ::close(fd);
    return Fail(ErrorCode::kDataLoss, "root key file " + path + " has the wrong size",
                Reason::kMalformedInput);
  }
  SecretBytes buf(kRootFileSize);
  size_t got = 0;
  while (got < kRootFileSize) {
    ssize_t n = ::read(fd, buf.MutableData() + got, kRootFileSize - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (got != kRootFileSize || !buf.Reveal().starts_with(kRootFileMagic)) {
    return Fail(ErrorCode::kDataLoss, "root key file " + path + " is not a coffer root key",
                Reason::kMalformedInput);
  }
  return SecretBytes(buf.Reveal().substr(kRootFileMagic.size()));
}

// Creates the key file if absent (0600, atomically: util::WritePrivateFile).
// Returns kAlreadyExists if `path` appeared meanwhile.
Status CreateRootFile(const std::string& path, const SecretBytes& material) {
  SecretBytes content(kRootFileSize);
  std::memcpy(content.MutableData(), kRootFileMagic.data(), kRootFileMagic.size());
  std::memcpy(content.MutableData() + kRootFileMagic.size(), material.bytes(), material.size());
  Status written = util::WritePrivateFile(path, content.Reveal(), util::IfExists::kKeep);
  if (!written && written.error().code == ErrorCode::kAlreadyExists) {
    return Fail(ErrorCode::kAlreadyExists, "root key file appeared");
  }
  if (!written) {
    return Fail(ErrorCode::kUnavailable,
                "cannot create root key file " + path + ": " + written.error().message);
  }
  return Ok();
}

}  // namespace

// ---------------------------------------------------------------------------
// RootKey

Result<RootKey> RootKey::LoadOrCreateFile(const std::string& path) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto loaded = ReadRootFile(path);
    if (loaded.has_value()) return RootKey(std::move(*loaded));
    if (loaded.error().code != ErrorCode::kNotFound) return Fail(std::move(loaded).error());
    SecretBytes material = crypto::RandomSecret(kMaterialSize);
    auto created = CreateRootFile(path, material);
    if (created.has_value()) return RootKey(std::move(material));
    if (created.error().code != ErrorCode::kAlreadyExists) return Fail(std::move(created).error());
    // Another process created it first: read theirs.
  }
  return Fail(ErrorCode::kUnavailable, "root key file " + path + " keeps changing");
}

RootKey RootKey::FromMaterial(SecretBytes material) {
  COFFER_CHECK(material.size() == kMaterialSize);
  return RootKey(std::move(material));
}

std::string RootKey::Fingerprint() const {
  crypto::Digest256 d = crypto::Sha256(material_.Reveal());
  return util::HexEncode(std::string_view(reinterpret_cast<const char*>(d.data()), 8));
}

// ---------------------------------------------------------------------------
// Keyring

// One key's unwrapped material, immutable once published in keys_.
struct Keyring::KeyMaterial {
  storage::Revision mod_revision = 0;
  std::string record;                 // the stored record
  std::string root_fingerprint;       // of the root key that wraps `record`
  std::vector<SecretBytes> versions;  // versions[i] is version i + 1
};

namespace {

// Record layout (docs/formats/envelope.md, "Key material record"):
//   u8 format (0x4B) | u8 fp_len | fingerprint | u32 count | count * (u32 version | wrapped[60])
struct ParsedRecord {
  std::string_view fingerprint;
  std::vector<std::pair<uint32_t, std::string_view>> wrapped;
};

Result<ParsedRecord> ParseRecord(std::string_view key_id, std::string_view rec) {
  auto corrupt = [&](std::string_view what) {
    return Fail(
        ErrorCode::kDataLoss,
        "key material record for " + std::string(key_id) + " is corrupt: " + std::string(what),
        Reason::kKeyMaterialDamaged);
  };
  if (rec.size() < 2 || static_cast<uint8_t>(rec[0]) != kRecordV1) return corrupt("format byte");
  size_t fp_len = static_cast<unsigned char>(rec[1]);
  if (rec.size() < 2 + fp_len + 4) return corrupt("truncated");
  ParsedRecord out;
  out.fingerprint = rec.substr(2, fp_len);
  uint32_t count = GetU32(rec.substr(2 + fp_len, 4));
  size_t pos = 2 + fp_len + 4;
  if (count == 0) return corrupt("no versions");
  if ((rec.size() - pos) != static_cast<size_t>(count) * (4 + kWrappedSize)) {
    return corrupt("length does not match version count");
  }
  out.wrapped.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t version = GetU32(rec.substr(pos, 4));
    if (version != i + 1) return corrupt("versions are not dense");
    out.wrapped.emplace_back(version, rec.substr(pos + 4, kWrappedSize));
    pos += 4 + kWrappedSize;
  }
  return out;
}

Result<std::string> WrapMaterial(const RootKey& root, std::string_view fingerprint,
                                 std::string_view key_id, uint32_t version,
                                 const SecretBytes& material) {
  std::string nonce = crypto::RandomBytes(kNonceSize);
  COFFER_ASSIGN_OR_RETURN(
      std::string sealed,
      crypto::AesGcmSeal(root.material(), nonce, WrapAad(key_id, version, fingerprint),
                         material.Reveal()));
  return nonce + sealed;
}

Result<SecretBytes> UnwrapMaterial(const RootKey& root, std::string_view fingerprint,
                                   std::string_view key_id, uint32_t version,
                                   std::string_view wrapped) {
  auto opened =
      crypto::AesGcmOpen(root.material(), wrapped.substr(0, kNonceSize),
                         WrapAad(key_id, version, fingerprint), wrapped.substr(kNonceSize));
  if (!opened.has_value() || opened->size() != kMaterialSize) {
    return Fail(ErrorCode::kDataLoss,
                "key material of " + std::string(key_id) + " version " + std::to_string(version) +
                    " failed authentication (tampered or corrupt)",
                Reason::kKeyMaterialDamaged);
  }
  return std::move(*opened);
}

std::string EncodeRecordHeader(std::string_view fingerprint, uint32_t count) {
  std::string rec;
  rec.push_back(static_cast<char>(kRecordV1));
  rec.push_back(static_cast<char>(fingerprint.size()));
  rec += fingerprint;
  PutU32(rec, count);
  return rec;
}

}  // namespace

Keyring::Keyring(storage::Backend& backend, std::vector<RootKey> roots, util::Clock& clock)
    : backend_(backend), clock_(clock) {
  auto set = std::make_shared<Roots>();
  for (RootKey& root : roots) {
    set->fingerprints.push_back(root.Fingerprint());
    set->keys.push_back(std::move(root));
  }
  roots_ = std::move(set);
}

Result<std::unique_ptr<Keyring>> Keyring::Open(storage::Backend& backend, RootKey root,
                                               util::Clock& clock) {
  std::vector<RootKey> roots;
  roots.push_back(std::move(root));
  return Open(backend, std::move(roots), clock);
}

Result<std::unique_ptr<Keyring>> Keyring::Open(storage::Backend& backend,
                                               std::vector<RootKey> roots, util::Clock& clock) {
  COFFER_CHECK(!roots.empty());
  std::unique_ptr<Keyring> keyring(new Keyring(backend, std::move(roots), clock));
  COFFER_RETURN_IF_ERROR(keyring->Reload());
  return keyring;
}

std::shared_ptr<const Keyring::Roots> Keyring::CurrentRoots() {
  util::ReaderLock lock(mu_);
  return roots_;
}

std::vector<std::string> Keyring::RootFingerprints() { return CurrentRoots()->fingerprints; }

Result<std::shared_ptr<const Keyring::KeyMaterial>> Keyring::Decode(std::string_view key_id,
                                                                    const storage::Entry& entry) {
  COFFER_ASSIGN_OR_RETURN(ParsedRecord parsed, ParseRecord(key_id, entry.value));
  std::shared_ptr<const Roots> roots = CurrentRoots();
  // The root key the record names; none: it was wrapped by a root key this
  // keyring does not know, unless the current one opens it (then the stored
  // fingerprint itself was altered).
  size_t index = roots->keys.size();
  for (size_t i = 0; i < roots->keys.size(); ++i) {
    if (crypto::ConstantTimeEquals(parsed.fingerprint, roots->fingerprints[i])) index = i;
  }
  bool fingerprint_matches = index < roots->keys.size();
  const RootKey& root = roots->keys[fingerprint_matches ? index : 0];
  const std::string& fingerprint = roots->fingerprints[fingerprint_matches ? index : 0];
  auto km = std::make_shared<KeyMaterial>();
  km->mod_revision = entry.mod_revision;
  km->record = entry.value;
  km->root_fingerprint = fingerprint;
  km->versions.reserve(parsed.wrapped.size());
  for (const auto& [version, wrapped] : parsed.wrapped) {
    auto material = UnwrapMaterial(root, fingerprint, key_id, version, wrapped);
    if (!material.has_value()) {
      if (!fingerprint_matches) {
        return Fail(ErrorCode::kFailedPrecondition,
                    "key material of " + std::string(key_id) +
                        " was wrapped by another root key (fingerprint " +
                        std::string(parsed.fingerprint) + ", this root key is " + fingerprint +
                        ")",
                    Reason::kRootKeyMismatch);
      }
      return Fail(std::move(material).error());
    }
    km->versions.push_back(std::move(*material));
  }
  if (!fingerprint_matches) {
    // The material opened under our root key, so the stored fingerprint itself was altered.
    return Fail(ErrorCode::kDataLoss,
                "key material record for " + std::string(key_id) + " has a tampered fingerprint",
                Reason::kKeyMaterialDamaged);
  }
  return std::shared_ptr<const KeyMaterial>(std::move(km));
}

Result<std::string> Keyring::EncodeUnderCurrentRoot(std::string_view key_id,
                                                    const std::vector<SecretBytes>& versions) {
  std::shared_ptr<const Roots> roots = CurrentRoots();
  const RootKey& root = roots->keys.front();
  const std::string& fingerprint = roots->fingerprints.front();
  std::string record = EncodeRecordHeader(fingerprint, static_cast<uint32_t>(versions.size()));
  for (size_t i = 0; i < versions.size(); ++i) {
    uint32_t version = static_cast<uint32_t>(i + 1);
    COFFER_ASSIGN_OR_RETURN(std::string wrapped,
                            WrapMaterial(root, fingerprint, key_id, version, versions[i]));
    PutU32(record, version);
    record += wrapped;
  }
  return record;
}

void Keyring::Install(const std::string& key_id, std::shared_ptr<const KeyMaterial> km) {
  util::WriterLock lock(mu_);
  auto it = keys_.find(key_id);
  if (it == keys_.end()) {
    keys_.emplace(key_id, std::move(km));
  } else if (it->second->mod_revision < km->mod_revision) {
    it->second = std::move(km);
  }
}

Status Keyring::Reload() {
  std::string end = storage::PrefixEnd(kRecordPrefix);
  COFFER_ASSIGN_OR_RETURN(storage::RangeResult range, backend_.Range(kRecordPrefix, end, 0));
  std::map<std::string, std::shared_ptr<const KeyMaterial>, std::less<>> loaded;
  for (const storage::Entry& entry : range.entries) {
    std::string key_id = entry.key.substr(kRecordPrefix.size());
    auto km = Decode(key_id, entry);
    if (!km.has_value()) {
      // One damaged key must not take every other key down with it: it stays
      // out of the cache, and each use reads it again and fails the same way
      // (kDataLoss, kKeyMaterialDamaged). Another root key is fatal.
      if (km.error().reason != Reason::kKeyMaterialDamaged) return Fail(std::move(km).error());
      util::LogError("key material is damaged; values under this key cannot be used",
                     {{"key_id", key_id}, {"error", km.error().message}});
      continue;
    }
    loaded.emplace(std::move(key_id), std::move(*km));
  }
  for (auto& [key_id, km] : loaded) Install(key_id, std::move(km));
  return Ok();
}

Result<std::shared_ptr<const Keyring::KeyMaterial>> Keyring::LoadKey(std::string_view key_id) {
  auto entry = backend_.Get(RecordKey(key_id));
  if (!entry.has_value()) {
    if (entry.error().code == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kNotFound, "key " + std::string(key_id) + " has no key material",
                  Reason::kKeyNotFound);
    }
    return Fail(std::move(entry).error());
  }
  COFFER_ASSIGN_OR_RETURN(auto km, Decode(key_id, *entry));
  Install(std::string(key_id), km);
  return km;
}

Result<std::shared_ptr<const Keyring::KeyMaterial>> Keyring::Find(std::string_view key_id,
                                                                  bool reload_if_missing) {
  {
    util::ReaderLock lock(mu_);
    auto it = keys_.find(key_id);
    if (it != keys_.end()) return it->second;
  }
  if (!reload_if_missing) {
    return Fail(ErrorCode::kNotFound, "key " + std::string(key_id) + " has no key material",
                Reason::kKeyNotFound);
  }
  return LoadKey(key_id);
}

Status Keyring::CreateKey(std::string_view key_id) {
  COFFER_RETURN_IF_ERROR(ValidateKeyId(key_id));
  std::vector<SecretBytes> versions;
  versions.push_back(crypto::RandomSecret(kMaterialSize));
  COFFER_ASSIGN_OR_RETURN(std::string record, EncodeUnderCurrentRoot(key_id, versions));
  storage::Txn txn;
  std::string key = RecordKey(key_id);
  txn.compares.push_back(storage::Compare{key, 0});
  txn.writes.push_back(storage::Write::Put(key, record));
  auto rev = backend_.Commit(txn);
  if (!rev.has_value()) {
    if (rev.error().code == ErrorCode::kAborted) {
      return Fail(ErrorCode::kAlreadyExists,
                  "key " + std::string(key_id) + " already has key material");
    }
    return Fail(std::move(rev).error());
  }
  auto km = std::make_shared<KeyMaterial>();
  km->mod_revision = *rev;
  km->record = std::move(record);
  km->root_fingerprint = CurrentRoots()->fingerprints.front();
  km->versions = std::move(versions);
  Install(std::string(key_id), std::move(km));
  return Ok();
}

bool Keyring::HasKey(std::string_view key_id) { return Find(key_id, true).has_value(); }

Result<uint32_t> Keyring::RotateKey(std::string_view key_id) {
  COFFER_RETURN_IF_ERROR(ValidateKeyId(key_id));
  std::string key = RecordKey(key_id);
  for (int attempt = 0; attempt < kMaxCasAttempts; ++attempt) {
    // Always start from the stored record: the cache may be behind another writer.
    COFFER_ASSIGN_OR_RETURN(auto current, LoadKey(key_id));
    uint32_t version = static_cast<uint32_t>(current->versions.size()) + 1;
    // The whole record is wrapped again under the current root key: the
    // stored one may be under an older root key (a root rotation in flight).
    std::vector<SecretBytes> versions = current->versions;
    versions.push_back(crypto::RandomSecret(kMaterialSize));
    COFFER_ASSIGN_OR_RETURN(std::string record, EncodeUnderCurrentRoot(key_id, versions));
    storage::Txn txn;
    txn.compares.push_back(storage::Compare{key, current->mod_revision});
    txn.writes.push_back(storage::Write::Put(key, record));
    auto rev = backend_.Commit(txn);
    if (!rev.has_value()) {
      if (rev.error().code == ErrorCode::kAborted) continue;  // lost a race: retry on fresh data
      return Fail(std::move(rev).error());
    }
    auto km = std::make_shared<KeyMaterial>();
    km->mod_revision = *rev;
    km->record = std::move(record);
    km->root_fingerprint = CurrentRoots()->fingerprints.front();
    km->versions = std::move(versions);
    Install(std::string(key_id), std::move(km));
    return version;
  }
  return Fail(ErrorCode::kAborted, "too many concurrent rotations of key " + std::string(key_id),
              Reason::kCasConflict);
}

Result<uint32_t> Keyring::LatestVersion(std::string_view key_id) {
  COFFER_ASSIGN_OR_RETURN(auto km, Find(key_id, true));
  return static_cast<uint32_t>(km->versions.size());
}

Result<std::string> Keyring::Encrypt(std::string_view key_id, std::string_view aad,
                                     std::string_view plaintext) {
  COFFER_RETURN_IF_ERROR(ValidateKeyId(key_id));
  COFFER_ASSIGN_OR_RETURN(auto km, Find(key_id, true));
  return Seal(key_id, *km, aad, plaintext);
}

Result<std::string> Keyring::Seal(std::string_view key_id, const KeyMaterial& km,
                                  std::string_view aad, std::string_view plaintext) {
  uint32_t version = static_cast<uint32_t>(km.versions.size());
  const size_t header_len = 2 + key_id.size() + 4 + kSaltSize + kNonceSize;
  std::string env;
  env.reserve(header_len + plaintext.size() + crypto::kAeadTagSize);
  env.push_back(static_cast<char>(kEnvelopeV1));
  env.push_back(static_cast<char>(key_id.size()));
  env += key_id;
  PutU32(env, version);
  env.resize(header_len);
  crypto::RandomFill(env.data() + header_len - kSaltSize - kNonceSize, kSaltSize + kNonceSize);
  std::string_view header(env.data(), header_len);
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes data_key,
      crypto::HkdfSha256(km.versions.back().Reveal(),
                         header.substr(header_len - kSaltSize - kNonceSize, kSaltSize),
                         kEnvelopeInfo, crypto::kAeadKeySize));
  COFFER_ASSIGN_OR_RETURN(std::string sealed,
                          crypto::AesGcmSeal(data_key, header.substr(header_len - kNonceSize),
                                             AadScratch(header, aad), plaintext));
  env += sealed;
  return env;
}

Result<Decrypted> Keyring::Decrypt(std::string_view aad, std::string_view envelope) {
  COFFER_ASSIGN_OR_RETURN(EnvelopeView v, ParseEnvelope(envelope));
  COFFER_ASSIGN_OR_RETURN(auto km, Find(v.key_id, true));
  if (v.version > km->versions.size()) {
    // Another server may have rotated the key since we cached it.
    COFFER_ASSIGN_OR_RETURN(km, LoadKey(v.key_id));
    if (v.version > km->versions.size()) {
      return Fail(ErrorCode::kNotFound,
                  "key " + std::string(v.key_id) + " has no version " + std::to_string(v.version),
                  Reason::kKeyVersionNotFound);
    }
  }
  const SecretBytes& material = km->versions[v.version - 1];
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes data_key,
      crypto::HkdfSha256(material.Reveal(), v.salt, kEnvelopeInfo, crypto::kAeadKeySize));
  auto opened = crypto::AesGcmOpen(data_key, v.nonce, AadScratch(v.header, aad), v.sealed);
  if (!opened.has_value()) {
    return Fail(ErrorCode::kDataLoss,
                "envelope under key " + std::string(v.key_id) + " version " +
                    std::to_string(v.version) +
                    " failed authentication: it was altered or belongs to another record",
                Reason::kCiphertextTampered);
  }
  return Decrypted{std::move(*opened), KeyVersionRef{std::string(v.key_id), v.version}};
}

Result<std::string> Keyring::Rewrap(std::string_view aad, std::string_view envelope) {
  COFFER_ASSIGN_OR_RETURN(Decrypted d, Decrypt(aad, envelope));
  COFFER_ASSIGN_OR_RETURN(auto km, Find(d.key.key_id, true));
  if (d.key.version == km->versions.size()) return std::string(envelope);
  return Seal(d.key.key_id, *km, aad, d.plaintext.Reveal());
}

Result<std::optional<std::string>> Keyring::RewrapIfStale(std::string_view aad,
                                                          std::string_view envelope) {
  COFFER_ASSIGN_OR_RETURN(EnvelopeView v, ParseEnvelope(envelope));
  COFFER_ASSIGN_OR_RETURN(auto km, Find(v.key_id, true));
  if (v.version == km->versions.size()) return std::optional<std::string>();
  COFFER_ASSIGN_OR_RETURN(Decrypted d, Decrypt(aad, envelope));
  COFFER_ASSIGN_OR_RETURN(std::string fresh, Seal(v.key_id, *km, aad, d.plaintext.Reveal()));
  return std::optional<std::string>(std::move(fresh));
}

Result<std::optional<std::string>> Keyring::RewrapForPass(
    std::string_view aad, std::string_view envelope, std::optional<std::string_view> only_key,
    std::string_view what, RewrapReport& report) {
  auto sealed_by = Inspect(envelope);
  if (sealed_by && only_key && sealed_by->key_id != *only_key) return std::optional<std::string>();
  ++report.scanned;
  if (!sealed_by) {
    report.failures.push_back(std::string(what) + ": " + sealed_by.error().message);
    return std::optional<std::string>();
  }
  auto fresh = RewrapIfStale(aad, envelope);
  if (!fresh) {
    if (fresh.error().code == ErrorCode::kUnavailable) return Fail(fresh.error());
    report.failures.push_back(std::string(what) + ": " + fresh.error().message);
    return std::optional<std::string>();
  }
  if (*fresh) ++report.rewrapped;
  return fresh;
}

Status Keyring::Refresh() { return Reload(); }

Result<int64_t> Keyring::RotateRoot(RootKey next) {
  {
    util::WriterLock lock(mu_);
    auto set = std::make_shared<Roots>();
    std::string next_fingerprint = next.Fingerprint();
    set->fingerprints.push_back(next_fingerprint);
    set->keys.push_back(std::move(next));
    for (size_t i = 0; i < roots_->keys.size(); ++i) {
      if (roots_->fingerprints[i] == next_fingerprint) continue;
      set->fingerprints.push_back(roots_->fingerprints[i]);
      set->keys.push_back(roots_->keys[i]);
    }
    roots_ = std::move(set);
  }
  return RewrapUnderCurrentRoot();
}

Result<int64_t> Keyring::RewrapUnderCurrentRoot() {
  std::shared_ptr<const Roots> roots = CurrentRoots();
  const std::string& current = roots->fingerprints.front();
  std::string end = storage::PrefixEnd(kRecordPrefix);
  COFFER_ASSIGN_OR_RETURN(storage::RangeResult range, backend_.Range(kRecordPrefix, end, 0));
  int64_t rewrapped = 0;
  for (const storage::Entry& listed : range.entries) {
    std::string key_id = listed.key.substr(kRecordPrefix.size());
    bool done = false;
    for (int attempt = 0; attempt < kMaxCasAttempts && !done; ++attempt) {
      COFFER_ASSIGN_OR_RETURN(auto km, LoadKey(key_id));
      if (km->root_fingerprint == current) {
        done = true;
        break;
      }
      COFFER_ASSIGN_OR_RETURN(std::string record, EncodeUnderCurrentRoot(key_id, km->versions));
      storage::Txn txn;
      std::string key = RecordKey(key_id);
      txn.compares.push_back(storage::Compare{key, km->mod_revision});
      txn.writes.push_back(storage::Write::Put(key, record));
      auto rev = backend_.Commit(txn);
      if (!rev.has_value()) {
        if (rev.error().code == ErrorCode::kAborted) continue;  // a concurrent rotation: again
        return Fail(std::move(rev).error());
      }
      auto fresh = std::make_shared<KeyMaterial>();
      fresh->mod_revision = *rev;
      fresh->record = std::move(record);
      fresh->root_fingerprint = current;
      fresh->versions = km->versions;
      Install(key_id, std::move(fresh));
      ++rewrapped;
      done = true;
    }
    if (!done) {
      return Fail(ErrorCode::kAborted, "too many concurrent changes to key " + key_id,
                  Reason::kCasConflict);
    }
  }
  {
    util::WriterLock lock(mu_);
    if (roots_->fingerprints.front() == current && roots_->keys.size() > 1) {
      auto set = std::make_shared<Roots>();
      set->fingerprints.push_back(roots_->fingerprints.front());
      set->keys.push_back(roots_->keys.front());
      roots_ = std::move(set);
    }
  }
  return rewrapped;
}

Result<KeyVersionRef> Keyring::Inspect(std::string_view envelope) {
  COFFER_ASSIGN_OR_RETURN(EnvelopeView v, ParseEnvelope(envelope));
  return KeyVersionRef{std::string(v.key_id), v.version};
}

}  // namespace coffer::keyring
