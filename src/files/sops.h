// SOPS-compatible encrypted files (getsops/sops 3.x format): every selected
// leaf of the tree is encrypted with AES-256-GCM under one 32-byte data key
// (AAD = the mapping-key path joined by ':' plus ':'), a SHA-512 MAC over the
// plaintext values is stored encrypted with AAD = lastmodified, and a `sops`
// metadata block lists the master keys (age, PGP, KMS, in key groups with a
// Shamir threshold) that each wrap the data key. Files written here are read
// by sops and the other way round. Thread-safe (pure functions over values).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "files/formats.h"
#include "files/tree.h"
#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::files {

// The version string written into metadata: sops requires semver.
inline constexpr std::string_view kSopsVersion = "3.13.2";

struct AgeMasterKey {
  std::string recipient;
  std::string enc;  // an armored age file holding the data key (or its share)
};
struct PgpMasterKey {
  std::string fp;
  std::string created_at;
  std::string enc;  // an armored OpenPGP message
};
struct KmsMasterKey {
  std::string arn;
  std::string role;
  std::map<std::string, std::string> context;
  std::string created_at;
  std::string enc;  // base64 CiphertextBlob
  std::string aws_profile;
};
struct KeyGroup {
  std::vector<AgeMasterKey> age;
  std::vector<PgpMasterKey> pgp;
  std::vector<KmsMasterKey> kms;
  // Key types coffer cannot use (gcp_kms, azure_kv, hc_vault, hckms), kept as
  // they were so that a rewrite does not drop them.
  std::vector<Entry> other;
  bool empty() const { return age.empty() && pgp.empty() && kms.empty() && other.empty(); }
};

// Which leaves are encrypted: at most one rule (sops' six options).
struct SelectionRule {
  std::string kind;  // "" (none), "unencrypted_suffix", "encrypted_suffix", "unencrypted_regex",
                     // "encrypted_regex", "unencrypted_comment_regex", "encrypted_comment_regex"
  std::string value;
};

struct Metadata {
  std::string lastmodified;  // RFC 3339
  std::string mac;           // ENC[...] ("" when absent)
  std::string version;
  SelectionRule rule;
  bool mac_only_encrypted = false;
  int shamir_threshold = 0;
  std::vector<KeyGroup> key_groups;
};

// An encrypted value: ENC[AES256_GCM,data:..,iv:..,tag:..,type:..].
struct EncValue {
  std::string data;  // raw ciphertext
  std::string iv;
  std::string tag;
  std::string type;
};
Result<EncValue> ParseEncValue(std::string_view text);
std::string FormatEncValue(const EncValue& v);
bool LooksEncrypted(std::string_view text);

// A file split into its data tree and metadata.
struct SopsFile {
  Document doc;
  Metadata metadata;
};

// Splits a parsed file (any format) into data and metadata. kInvalidArgument
// (kValidation) "not a sops file" when there is no metadata, or malformed metadata.
Result<SopsFile> SplitSopsFile(Format format, Document doc);
// Whether a parsed document carries sops metadata (`sops` / `sops_*` / [sops]).
bool HasSopsMetadata(Format format, const Document& doc);
// The encrypted file in `format` (binary files are written as JSON).
Result<std::string> EmitSopsFile(Format format, const SopsFile& file);

// Remembers the IV each (path, plaintext) had, so that unchanged values keep
// their ciphertext when a file is re-encrypted with the same data key.
class IvStash {
 public:
  void Remember(std::string_view aad, std::string_view plaintext, std::string iv);
  // The remembered IV, or "" when none.
  std::string Find(std::string_view aad, std::string_view plaintext) const;
  ~IvStash();

 private:
  std::map<std::string, std::string> ivs_;  // key: sha512(aad \0 plaintext)
};

struct DecryptOptions {
  bool ignore_mac = false;
};

// Decrypts the values of `file.doc` in place with `data_key` and checks the
// MAC. Errors: kDataLoss (kCiphertextTampered) when a value, the MAC or the
// lastmodified does not authenticate ("MAC mismatch"); kDataLoss
// (kCiphertextMalformed) "no MAC" without ignore_mac; kInvalidArgument
// (kMalformedInput) for a value that should be encrypted but is not. Values
// never appear in messages, only their key paths. When `stash` is given the
// IV of every decrypted value is remembered in it.
Status DecryptSopsFile(SopsFile& file, const SecretBytes& data_key, const DecryptOptions& options,
                       IvStash* stash = nullptr);

// Encrypts the plaintext tree of `file.doc` in place (selection rule from
// file.metadata), sets lastmodified to `now_rfc3339` and the MAC. Values found
// in `stash` reuse their IV. kInvalidArgument for a key path sops forbids.
Status EncryptSopsFile(SopsFile& file, const SecretBytes& data_key, std::string_view now_rfc3339,
                       const IvStash* stash = nullptr);

// Checks that at most one selection rule is set and that regexes compile.
Status ValidateRule(const SelectionRule& rule);

}  // namespace coffer::files
