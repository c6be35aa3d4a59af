// keyring: the root key, KMS key material with versions, and envelope
// encryption of every stored value.
//
// Envelope (docs/formats/envelope.md): a value is sealed with AES-256-GCM under
// a data key derived per value by HKDF-SHA256 from one version of a KMS key's
// material and a random salt. The caller's associated data (the record's
// identity: kind, name, version) is bound into the tag, so a ciphertext copied
// onto another record does not decrypt. The envelope names its key id and key
// version, so Decrypt needs no hint. Key material is stored wrapped by the root
// key (records under "keyring/"); the root key never reaches storage.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/backend.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/mutex.h"
#include "util/time.h"

namespace coffer::keyring {

// The root key: 32 bytes that wrap all KMS key material. Dev mode keeps it in a
// file (mode 0600) in the data directory. Immutable after construction.
class RootKey {
 public:
  // Reads the key file at `path`; if absent, creates it (0600) with a new random
  // key, durably (fsync of file and directory). kDataLoss if the file exists but
  // is not a valid key file; kFailedPrecondition if its mode is wider than 0600.
  static Result<RootKey> LoadOrCreateFile(const std::string& path);
  // REQUIRES: material.size() == 32.
  static RootKey FromMaterial(SecretBytes material);

  const SecretBytes& material() const { return material_; }
  // Non-secret identifier of this root key (first 8 bytes of SHA-256 of
  // material, hex), stored alongside wrapped material to detect a wrong root key.
  std::string Fingerprint() const;

 private:
  explicit RootKey(SecretBytes material) : material_(std::move(material)) {}
  SecretBytes material_;
};

struct KeyVersionRef {
  std::string key_id;
  uint32_t version = 0;
};

// What Decrypt learned besides the plaintext.
struct Decrypted {
  SecretBytes plaintext;
  KeyVersionRef key;
};

// What one re-wrap pass over stored envelopes did (RewrapIfStale over a
// record kind): envelopes looked at, envelopes re-encrypted under the newest
// version of their key, and the records that could not be (named by record
// identity and error message, never by value).
struct RewrapReport {
  int64_t scanned = 0;
  int64_t rewrapped = 0;
  std::vector<std::string> failures;
};

// Thread-safe. Unwrapped material is cached in memory; a key or version the
// cache does not know is looked up in storage again (another server may have
// created or rotated it).
class Keyring {
 public:
  // Loads wrapped key material from `backend` and unwraps it with `root`.
  // kFailedPrecondition (Reason::kRootKeyMismatch) when the stored material was
  // wrapped by another root key. A record that is tampered with or corrupt is
  // logged and left out: every later use of that key fails with kDataLoss
  // (Reason::kKeyMaterialDamaged), and the other keys keep working.
  static Result<std::unique_ptr<Keyring>> Open(storage::Backend& backend, RootKey root,
                                               util::Clock& clock);
  // The same with several root keys: `roots.front()` is the current one
  // (wraps everything written from now on); the others are older root keys
  // whose records a root rotation has not re-wrapped yet (a rotation that
  // was cut short). Records name the root key that wraps them (fingerprint).
  // REQUIRES: !roots.empty().
  static Result<std::unique_ptr<Keyring>> Open(storage::Backend& backend,
                                               std::vector<RootKey> roots, util::Clock& clock);

  // Creates version 1 of new key material for `key_id` (durable before it
  // returns). kAlreadyExists if the key id has material.
  Status CreateKey(std::string_view key_id);
  bool HasKey(std::string_view key_id);
  // Adds a new version of key material, which becomes the one Encrypt uses.
  // Old versions stay for decryption. Returns the new version. kNotFound.
  Result<uint32_t> RotateKey(std::string_view key_id);
  // The newest version. kNotFound (kKeyNotFound).
  Result<uint32_t> LatestVersion(std::string_view key_id);

  // Seals `plaintext` under the newest version of `key_id`, binding `aad`.
  // kNotFound (kKeyNotFound) if the key has no material.
  Result<std::string> Encrypt(std::string_view key_id, std::string_view aad,
                              std::string_view plaintext);
  // Opens an envelope made by Encrypt with the same `aad`.
  // kDataLoss (kCiphertextTampered) if the envelope or aad does not match;
  // kDataLoss (kCiphertextMalformed) if it is not an envelope;
  // kDataLoss (kKeyMaterialDamaged) if its key's stored material is damaged;
  // kNotFound (kKeyNotFound / kKeyVersionNotFound) if its key is unknown.
  Result<Decrypted> Decrypt(std::string_view aad, std::string_view envelope);
  // Decrypts and re-encrypts under the newest version of the same key (no-op
  // copy if already newest). Same errors as Decrypt.
  Result<std::string> Rewrap(std::string_view aad, std::string_view envelope);
  // Re-wrap of stored values: nullopt when `envelope` is already under the
  // newest version of its key (nothing decrypted); otherwise the same plaintext
  // sealed again under the newest version, with the same `aad`. Errors as
  // Decrypt. Call Refresh() first to see rotations made by another server.
  Result<std::optional<std::string>> RewrapIfStale(std::string_view aad,
                                                   std::string_view envelope);
  // One stored envelope's part of a re-wrap pass, for the stores: skipped
  // (nullopt, not counted) when `only_key` is set and names another key;
  // otherwise counted in report.scanned, and a stale envelope comes back
  // re-sealed and counted in report.rewrapped. A value that cannot be re-sealed
  // goes to report.failures as "<what>: <error>" and gives nullopt; only
  // kUnavailable (storage) is returned as an error, to end the pass.
  Result<std::optional<std::string>> RewrapForPass(std::string_view aad,
                                                   std::string_view envelope,
                                                   std::optional<std::string_view> only_key,
                                                   std::string_view what, RewrapReport& report);
  // Re-reads every key's material from storage (keys created or rotated by
  // another server). Errors as Open.
  Status Refresh();

  // Root key rotation, online: `next` becomes the current root key (new
  // material is wrapped under it at once; records under the old one still
  // open), then every stored key material record is re-wrapped under it and
  // the old root keys are forgotten. Returns how many records were
  // re-wrapped. The caller stores `next` (sealed) BEFORE calling this, with
  // the old root key beside it until this returns: a crash half-way leaves
  // records under both. On error the old root keys stay known (call
  // RewrapUnderCurrentRoot again).
  Result<int64_t> RotateRoot(RootKey next);
  // The second half of RotateRoot: re-wraps every record that is not under
  // the current root key, then forgets the older ones.
  Result<int64_t> RewrapUnderCurrentRoot();
  // Fingerprints of the root keys this keyring knows, current first.
  std::vector<std::string> RootFingerprints();

  // Reads the key reference from an envelope without decrypting it.
  // kDataLoss (kCiphertextMalformed) if it is not an envelope.
  static Result<KeyVersionRef> Inspect(std::string_view envelope);

 private:
  struct KeyMaterial;
  // The root keys, current first, with their fingerprints. Immutable once
  // published; replaced whole under mu_.
  struct Roots {
    std::vector<RootKey> keys;
    std::vector<std::string> fingerprints;
  };
  Keyring(storage::Backend& backend, std::vector<RootKey> roots, util::Clock& clock);
  std::shared_ptr<const Roots> CurrentRoots();
  // Encodes a whole record for `versions`, wrapped under the current root.
  Result<std::string> EncodeUnderCurrentRoot(std::string_view key_id,
                                             const std::vector<SecretBytes>& versions);
  Status Reload();
  Result<std::shared_ptr<const KeyMaterial>> Find(std::string_view key_id, bool reload_if_missing);
  // Reads "keyring/<key_id>" from storage, unwraps it and caches it.
  Result<std::shared_ptr<const KeyMaterial>> LoadKey(std::string_view key_id);
  // Parses and unwraps one stored record.
  Result<std::shared_ptr<const KeyMaterial>> Decode(std::string_view key_id,
                                                    const storage::Entry& entry);
  // Publishes `km` unless the cache already holds a newer revision of the key.
  void Install(const std::string& key_id, std::shared_ptr<const KeyMaterial> km);
  // Builds an envelope under the newest version in `km`.
  Result<std::string> Seal(std::string_view key_id, const KeyMaterial& km, std::string_view aad,
                           std::string_view plaintext);

  storage::Backend& backend_;
  util::Clock& clock_;
  util::SharedMutex mu_;
  std::shared_ptr<const Roots> roots_ COFFER_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<const KeyMaterial>, std::less<>> keys_
      COFFER_GUARDED_BY(mu_);
};

}  // namespace coffer::keyring
