// keyring/seal: how a production server keeps its root key sealed
// (docs/formats/seal.md, docs/operations.md).
//
// Three levels. The root key(s) that wrap KMS key material are stored
// wrapped (AES-256-GCM) under a seal key; the seal key is stored wrapped
// under an unseal key, and only the unseal key is split into Shamir shares
// (GF(2^8), crypto/shamir.h), which the operators keep. Automated unseal
// stores more wraps of the seal key: under a key file's key
// (--unseal-key-file) or by a remote KMS key (--unseal-kms; the remote call
// is the server's, over client/, this module keeps the blob). Nothing stored
// can rebuild the unseal key, the seal key or the root key.
//
//   rekey       new shares: a new unseal key wraps the same seal key (the
//               old shares open nothing in the store from then on)
//   rotate-root a new root key, wrapped under the seal key; the old one
//               stays beside it until every key material record is
//               re-wrapped (no shares needed: the unsealed server holds the
//               seal key)
//
// A share is printed as base64 of (33 share bytes | 4 check bytes): the check
// bytes tell a mistyped share ("corrupt") from a well-formed share that is
// not one of this server's current shares ("wrong": from another server, or
// from before a rekey), which the record's per-share HMACs tell apart.
//
// The record "seal/config" is text (one field a line) so that an operator can
// read it; its secrets are wrapped, its share digests are HMACs of random
// values under a random salt.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "keyring/keyring.h"
#include "storage/backend.h"
#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::keyring {

inline constexpr std::string_view kSealRecordKey = "seal/config";
inline constexpr int kMaxShares = 255;

// The stored seal configuration.
struct SealConfig {
  int shares = 0;
  int threshold = 0;
  // Bumped by every change (rekey, rotate-root, a new auto-unseal wrap).
  uint64_t generation = 0;
  std::string share_salt;                       // 16 random bytes
  std::map<uint8_t, std::string> share_digests;  // share x -> HMAC-SHA256(salt, share)
  std::string shamir_wrap;                      // the seal key under the unseal key
  std::vector<std::string> root_fingerprints;   // current first; more only mid-rotation
  std::string roots_wrap;                       // the root keys under the seal key
  // --unseal-key-file: the seal key under the key file's key, and which key.
  std::string key_file_fingerprint;
  std::string key_file_wrap;
  // --unseal-kms: the remote key's id and the CiphertextBlob it returned.
  std::string kms_key_id;
  std::string kms_blob;
};

// Reads the record; nullopt when the server was never initialized.
struct StoredSealConfig {
  SealConfig config;
  storage::Revision revision = 0;
};
Result<std::optional<StoredSealConfig>> LoadSealConfig(storage::Backend& backend);
// Writes `config` if the stored record is still at `expected_revision` (0: absent).
// kAborted (kCasConflict) when another writer came first.
Result<storage::Revision> StoreSealConfig(storage::Backend& backend, const SealConfig& config,
                                          storage::Revision expected_revision);
std::string EncodeSealConfig(const SealConfig& config);
// kDataLoss (kMalformedInput) when the record does not parse.
Result<SealConfig> ParseSealConfig(std::string_view text);

// A new random seal key (32 bytes).
SecretBytes NewSealKey();

// Sets root_fingerprints and roots_wrap: `roots` (current first) under the
// seal key.
Status WrapRoots(const SecretBytes& seal_key, std::span<const RootKey> roots, SealConfig& config);
// The root keys, current first. kDataLoss when the wrap does not open under
// `seal_key` or a key does not match its fingerprint.
Result<std::vector<RootKey>> OpenRoots(const SealConfig& config, const SecretBytes& seal_key);

// New shares for `seal_key`: a new unseal key is made, split, and the seal
// key is wrapped under it (shares, threshold, share salt and digests,
// shamir_wrap set in `config`; nothing else changes). Returns the shares as
// text. kInvalidArgument (kValidation) unless 1 <= threshold <= shares <= 255
// and a threshold of 1 comes with exactly 1 share.
Result<std::vector<SecretBytes>> MakeShares(const SecretBytes& seal_key, int shares,
                                            int threshold, SealConfig& config);

// A share as given by an operator, decoded and checked against `config`:
// kInvalidArgument with Reason::kCorruptShare (not a share: bad base64,
// length or check bytes) or Reason::kInvalidShare (well-formed, but not one
// of this server's current shares). Returns the raw share.
Result<SecretBytes> CheckShare(const SealConfig& config, std::string_view text);
// The x coordinate of a raw share from CheckShare (distinct per share).
uint8_t ShareIndex(const SecretBytes& share);

// The seal key from `threshold` distinct checked shares. kInvalidArgument
// (kInvalidShare) if they do not open the wrap.
Result<SecretBytes> OpenWithShares(const SealConfig& config, std::span<const SecretBytes> shares);

// Auto-unseal with a key file: the key is 32 bytes, stored raw or as base64
// text. ReadUnsealKeyFile refuses a file that others may read (kFailedPrecondition).
Result<SecretBytes> ReadUnsealKeyFile(const std::string& path);
std::string KeyFileFingerprint(const SecretBytes& file_key);
// Sets key_file_* in `config`: the seal key under `file_key`.
Status WrapForKeyFile(const SecretBytes& seal_key, const SecretBytes& file_key,
                      SealConfig& config);
// The seal key. kNotFound when `config` has no wrap for this key file (not
// enrolled, or another key); kDataLoss when the wrap does not open.
Result<SecretBytes> OpenWithKeyFile(const SealConfig& config, const SecretBytes& file_key);

}  // namespace coffer::keyring
