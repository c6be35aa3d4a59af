// The age file format v1 (https://age-encryption.org/v1, C2SP age.md) for
// X25519, post-quantum hybrid (MLKEM768-X25519) and scrypt (passphrase)
// recipients: encrypt to `age1...` or `age1pq1...` recipients or a
// passphrase, decrypt with `AGE-SECRET-KEY-1...` / `AGE-SECRET-KEY-PQ-1...`
// identities or the passphrase, binary or ASCII-armored. Files are
// interoperable with the reference `age` tool (v1.3+ for the hybrids). Other
// recipient types (plugins, tagged hardware keys) are not supported: their
// stanzas are skipped on decryption, like stanzas for someone else.
// Whole files are processed in memory. All functions are thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::age {

// An X25519 identity and its recipient.
struct X25519Identity {
  SecretBytes identity;   // "AGE-SECRET-KEY-1..." (74 characters, upper case)
  std::string recipient;  // "age1..." (62 characters, lower case)
};

// A fresh identity from the CSPRNG.
X25519Identity GenerateX25519Identity();

// A post-quantum hybrid identity (ML-KEM-768 + X25519, age's `age-keygen -pq`)
// and its recipient. The identity's payload is a 32-byte seed that expands
// (SHAKE256) to the ML-KEM-768 and X25519 keys.
struct HybridIdentity {
  SecretBytes identity;   // "AGE-SECRET-KEY-PQ-1..." (upper case)
  std::string recipient;  // "age1pq1..." (1216-byte public key, lower case)
};

// A fresh hybrid identity from the CSPRNG.
HybridIdentity GenerateHybridIdentity();

// The recipient ("age1..." or "age1pq1...") of an identity
// ("AGE-SECRET-KEY-1..." or "AGE-SECRET-KEY-PQ-1..."). kInvalidArgument
// (kMalformedInput) if `identity` is neither; the message never quotes it.
Result<std::string> RecipientFromIdentity(std::string_view identity);

// Encrypts `plaintext` to every recipient in `recipients` ("age1..." or
// "age1pq1...", surrounding whitespace ignored): a fresh 16-byte file key, one
// "-> X25519" or "-> mlkem768x25519" stanza per recipient (HPKE, C2SP age.md),
// the header MAC, and the STREAM payload. `armor` selects the ASCII armor
// ("-----BEGIN AGE ENCRYPTED FILE-----") instead of the binary form.
// kInvalidArgument (kValidation) when `recipients` is empty, or mixes
// post-quantum and X25519 recipients (as age refuses: the X25519 stanza would
// undo the post-quantum protection); kInvalidArgument (kMalformedInput) naming
// the recipient's index when one is neither (a hybrid key must pass ML-KEM's
// encapsulation key checks).
Result<std::string> Encrypt(std::span<const std::string> recipients, std::string_view plaintext,
                            bool armor);

// Decrypts an age file (binary, or armored: detected by its first bytes). Each
// element of `identities` is an identity ("AGE-SECRET-KEY-1..." or
// "AGE-SECRET-KEY-PQ-1...") or the text of
// an identity file as age-keygen writes it (lines starting with '#' and blank
// lines ignored). Parsing is strict; the result is released only when the
// whole file is authentic. Errors:
//   kInvalidArgument (kMalformedInput): an identity is malformed (index named)
//     or `identities` holds none;
//   kInvalidArgument (kCiphertextMalformed): bad armor or header (version,
//     line format, non-canonical base64, a malformed X25519 or
//     mlkem768x25519 stanza (its 1120-byte encapsulation, its 32-byte body),
//     a low-order X25519 share, a truncated payload nonce);
//   kNotFound (kKeyNotFound): no identity opens any stanza;
//   kDataLoss (kCiphertextTampered): the header MAC or a payload chunk does
//     not authenticate (also a missing final chunk or data after it);
//   kDataLoss (kCiphertextMalformed): a truncated chunk or an empty final
//     chunk after others.
Result<SecretBytes> Decrypt(std::span<const std::string> identities, std::string_view file);

// Encrypts `plaintext` to a passphrase (one "-> scrypt" stanza, work factor
// 2^log_n; age's default is 18). kInvalidArgument (kValidation) for an empty
// passphrase or log_n outside 1..22.
Result<std::string> EncryptWithPassphrase(const SecretBytes& passphrase, std::string_view plaintext,
                                          bool armor, int log_n = 18);

// Decrypts a passphrase-encrypted age file. The header must hold exactly one
// scrypt stanza with a canonical 16-byte salt and a decimal work factor
// (no sign, no leading zero) of at most `max_log_n` (<= 22), checked before
// any scrypt work. Errors as Decrypt; a wrong passphrase is kNotFound
// (kKeyNotFound).
Result<SecretBytes> DecryptWithPassphrase(const SecretBytes& passphrase, std::string_view file,
                                          int max_log_n = 22);

}  // namespace coffer::age
