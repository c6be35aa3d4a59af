// OpenPGP encryption to an operator's public key, through GnuPG (gpgme).
// `coffer operator init -pgp-keys` encrypts each unseal share to one operator's
// key with it (as Vault does); SOPS PGP key sources will live beside it.
//
// Every call runs gpg in a private, temporary GNUPGHOME (a 0700 directory under
// $TMPDIR, removed before the call returns) holding nothing but the one key it
// was given: the user's ~/.gnupg and $GNUPGHOME are never read or written, no
// trust database or keyserver is consulted, and no gpg-agent is started. The
// first call initialises gpgme, which sets SIGPIPE to SIG_IGN for the process.
// All functions may be called from any thread (one gpgme context per call).
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::files {

// What PgpInspectPublicKey found in a public key.
struct PgpKeyInfo {
  std::string fingerprint;  // the primary key's fingerprint, upper-case hex (40 digits for v4)
  std::string user_id;      // the first user id, e.g. "Op One <op1@example.com>"; may be empty
};

// Checks that `public_key` (an OpenPGP public key, ASCII-armored or binary, as
// `gpg --export [--armor]` writes it) holds exactly one key that can encrypt
// now: not a secret key, not revoked, expired, disabled or invalid, with at
// least one usable encryption subkey. Returns its fingerprint and first user id.
// Errors: kInvalidArgument/kValidation when the input is not exactly one such
// key (garbage, no key, several keys, a secret-key block, a sign-only, revoked
// or expired key); kFailedPrecondition when gpg cannot be run; kInternal on
// any other gpgme failure. Messages name the gpgme error, never key contents.
Result<PgpKeyInfo> PgpInspectPublicKey(std::string_view public_key);

// Encrypts `plaintext` to the one key in `public_key`, which must pass
// PgpInspectPublicKey (same errors). The key is trusted as given: the operator
// chose it explicitly, so no web of trust is consulted. Returns an OpenPGP
// message, ASCII-armored ("-----BEGIN PGP MESSAGE-----") when `armor`, binary
// otherwise; `gpg --decrypt` with the matching secret key gives `plaintext`
// back. `plaintext` is read in place (never copied into a string) and appears
// in no error message.
Result<std::string> PgpEncrypt(std::string_view public_key, std::string_view plaintext, bool armor);

// The functions below use the user's own GnuPG keyring ($GNUPGHOME or
// ~/.gnupg, and its gpg-agent) as sops does: they are for encrypted files.

// Decrypts an OpenPGP message (armored or binary) with a secret key from the
// user's keyring. kNotFound (kKeyNotFound) when no secret key opens it;
// kFailedPrecondition when gpg cannot be run. The plaintext is in no message.
Result<SecretBytes> PgpDecrypt(std::string_view message);

// Encrypts `plaintext` to the key with fingerprint `fingerprint` in the user's
// keyring (trusted as named, as sops does), armored. kNotFound when the key
// is not in the keyring or cannot encrypt.
Result<std::string> PgpEncryptToKeyring(std::string_view fingerprint, std::string_view plaintext);

}  // namespace coffer::files
