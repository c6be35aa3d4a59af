// cli/bundle_format: the bundle file (docs/formats/bundle.md): many named
// values in one envelope-encrypted file. A header in the clear names the
// bundle, the KMS key, the encrypted data key, the services it was made from
// and the value names; the values are sealed with AES-256-GCM under the data
// key, with every header byte as associated data, so a change anywhere in the
// file fails authentication. This file knows nothing of KMS: callers obtain
// the data key (KMS GenerateDataKey / Decrypt) and pass it in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::cli {

inline constexpr std::string_view kBundleMagic = "CFBUNDLE";  // persisted
inline constexpr uint8_t kBundleVersion = 1;                  // persisted
// The encryption context key that binds the data key to the bundle's name.
inline constexpr std::string_view kBundleContextKey = "coffer:bundle";  // persisted
// Largest bundle file read or written (64 MiB), largest value count, name length.
inline constexpr size_t kMaxBundleSize = size_t{64} << 20;
inline constexpr size_t kMaxBundleEntries = 100000;
inline constexpr size_t kMaxBundleFieldSize = 64 * 1024;

// The clear, authenticated header.
struct BundleHeader {
  std::string name;                // bundle name (the encryption context's value)
  std::string kms_key_id;          // KMS key ARN that wrapped the data key
  std::string encrypted_data_key;  // KMS CiphertextBlob (raw bytes)
  std::string created;             // RFC 3339 time of creation
  std::vector<std::string> services;
  std::vector<std::string> names;  // value names (environment variable names), unique
};

// A parsed file: its header and what the data key must open.
struct ParsedBundle {
  BundleHeader header;
  std::string nonce;   // 12 bytes
  std::string aad;     // every byte before the sealed part
  std::string sealed;  // ciphertext || tag
};

// True for an environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 1 KiB.
bool IsBundleName(std::string_view name);

// Writes a bundle: `header.names[i]` holds `values[i]`. `data_key` is 32
// bytes. kInvalidArgument (kValidation) for mismatched counts, a name that is
// not an environment variable name, a duplicate name, a value holding NUL, a
// field too long, too many values or a file over kMaxBundleSize. The message
// names the offending name, never a value.
Result<std::string> SealBundle(const BundleHeader& header, const SecretBytes& data_key,
                               const std::vector<std::pair<std::string, SecretBytes>>& values);

// Parses the header without decrypting. kDataLoss (kCiphertextMalformed) for
// a file that is not a version-1 bundle, is truncated, has trailing bytes,
// a bad or duplicate name, or a field over its limit.
Result<ParsedBundle> ParseBundle(std::string_view file);

// Decrypts and verifies: the values in header order. kDataLoss
// (kCiphertextTampered) when authentication fails (any byte of the file
// changed, or the wrong data key), kDataLoss (kCiphertextMalformed) when the
// plaintext does not hold exactly one value per name. Nothing is released on
// error.
Result<std::vector<std::pair<std::string, SecretBytes>>> OpenBundle(const ParsedBundle& bundle,
                                                                    const SecretBytes& data_key);

}  // namespace coffer::cli
