// Whole-file operations on sops files, over the format, sops and key layers:
// load and decrypt an encrypted file, encrypt a plaintext file for a set of
// master keys, re-encrypt an edited tree keeping unchanged ciphertexts.
// Plaintext output is SecretBytes. Thread-safe as the KeyServices are.
#pragma once

#include <string>
#include <string_view>

#include "files/formats.h"
#include "files/keys.h"
#include "files/sops.h"
#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::files {

// Parses an encrypted file: binary files are JSON on disk.
Result<SopsFile> LoadSopsFile(Format format, std::string_view text);

// A decrypted file and what re-encrypting it needs.
struct DecryptedFile {
  SopsFile file;  // doc holds plaintext values
  SecretBytes data_key;
  IvStash stash;  // IVs of the values as they were
};

// Loads, unwraps the data key and decrypts `text`. Errors of LoadSopsFile,
// DecryptDataKey and DecryptSopsFile.
Result<DecryptedFile> DecryptText(Format format, std::string_view text, const KeyServices& services,
                                  const DecryptOptions& options);

// The plaintext document in `format` (binary: the raw bytes).
Result<SecretBytes> EmitPlaintext(Format format, const Document& doc);

// Encrypts the plaintext `text` (parsed as `format`) for the master keys and
// selection rule of `metadata` (enc fields are filled here). kInvalidArgument
// "file already encrypted" when `text` carries sops metadata.
Result<std::string> EncryptText(Format format, std::string_view text, Metadata metadata,
                                const KeyServices& services, std::string_view now_rfc3339);

// Re-encrypts an edited plaintext tree with the file's data key: values whose
// (path, plaintext) is in `decrypted.stash` keep their IV and so their
// ciphertext. The master keys are not touched.
Result<std::string> ReencryptDocument(Format format, Document doc, const DecryptedFile& decrypted,
                                      std::string_view now_rfc3339);

}  // namespace coffer::files
