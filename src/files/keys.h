// Master keys of sops files: wrapping and unwrapping the data key with age
// recipients (age/), PGP keys from the user's GnuPG keyring (gpgme) and KMS
// keys (the AWS KMS protocol, so a Coffer server or AWS KMS), in key groups
// split with Shamir's scheme when there are several. Thread-safe as long as
// the KmsService given is.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "files/sops.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::files {

// The KMS seam: a KMS key wraps and unwraps data keys. Implemented over
// client/kms.h (NewClientKmsService) and by fakes in tests. Thread-safe.
class KmsService {
 public:
  virtual ~KmsService() = default;
  // The CiphertextBlob (raw) of `plaintext` under key.arn with key.context.
  virtual Result<std::string> Encrypt(const KmsMasterKey& key, const SecretBytes& plaintext) = 0;
  // The plaintext of `blob` (raw); the context must match.
  virtual Result<SecretBytes> Decrypt(const KmsMasterKey& key, std::string_view blob) = 0;
};

// KMS over HTTP: endpoint and credentials from the environment as the AWS CLI
// finds them (`endpoint` when not empty, else AWS_ENDPOINT_URL, else AWS KMS
// at https://kms.REGION.amazonaws.com), the region taken from each key's ARN.
// Errors of client::ResolveConfig (an unreadable CA bundle).
Result<std::unique_ptr<KmsService>> NewClientKmsService(std::string_view endpoint,
                                                        util::Clock& clock);

// How master keys are reached.
struct KeyServices {
  // Each: an identity ("AGE-SECRET-KEY-1...") or an identity file's text.
  std::vector<std::string> age_identities;
  bool use_pgp = true;
  KmsService* kms = nullptr;  // nullptr: KMS keys are skipped
};

// age identities as sops finds them: SOPS_AGE_KEY (whitespace-separated),
// SOPS_AGE_KEY_FILE, the output of SOPS_AGE_KEY_CMD (run by /bin/sh),
// $XDG_CONFIG_HOME/sops/age/keys.txt
// (~/.config/sops/age/keys.txt). Missing files are skipped. A key file that is
// itself a passphrase-encrypted age file is opened with $COFFER_AGE_PASSPHRASE
// (skipped without it).
std::vector<std::string> AgeIdentitiesFromEnvironment();

// The data key of a file: one group's keys are tried in order age, PGP, KMS
// until one opens; with several groups, at least shamir_threshold (default:
// all) groups must open and their shares are combined. kNotFound
// (kKeyNotFound) naming each key that failed (never key material) when too
// few open. The caller verifies the result through the MAC.
Result<SecretBytes> DecryptDataKey(const Metadata& metadata, const KeyServices& services);

// Wraps `data_key` for every master key in metadata.key_groups (filling each
// `enc` and `created_at`); with several groups it is split with Shamir
// (threshold shamir_threshold, default the number of groups, at least 2).
// kInvalidArgument for a bad recipient or threshold; errors of the key
// services otherwise. Changes nothing on error.
Status WrapDataKey(const SecretBytes& data_key, std::string_view now_rfc3339,
                   const KeyServices& services, Metadata& metadata);

// A fresh 32-byte data key.
SecretBytes NewDataKey();

}  // namespace coffer::files
