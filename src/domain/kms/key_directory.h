// KMS keys as the rest of the domain sees them: key metadata (id, ARN,
// description, state, aliases) over keyring/'s material. In this first cut it
// resolves the KeyId forms AWS accepts (key id, key ARN, alias/NAME, alias ARN)
// and creates the AWS-managed default keys (alias/aws/ssm,
// alias/aws/secretsmanager) on first use. The KMS API issue (#3) adds
// CreateKey, aliases, enable/disable, rotation and deletion here.
//
// Storage records:
//   kms/key/<key-id>      key metadata
//   kms/alias/<alias>     alias -> key id   (alias includes the "alias/" prefix)
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "keyring/keyring.h"
#include "storage/backend.h"
#include "util/id_generator.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::domain::kms {

enum class KeyState { kEnabled, kDisabled, kPendingDeletion };

struct KeyMetadata {
  std::string key_id;  // UUID
  std::string arn;     // arn:aws:kms:<region>:<account>:key/<key_id>
  std::string description;
  KeyState state = KeyState::kEnabled;
  bool aws_managed = false;  // alias/aws/* keys
  util::SystemTime created;
};

// Thread-safe.
class KeyDirectory {
 public:
  KeyDirectory(storage::Backend& backend, keyring::Keyring& keyring, util::Clock& clock,
               util::IdGenerator& ids, std::string region, std::string account_id);
  ~KeyDirectory();

  // Resolves any accepted KeyId form to key metadata. If `key_id` is one of the
  // AWS-managed default aliases (alias/aws/ssm, alias/aws/secretsmanager) and does
  // not exist yet, creates it (key + material + alias, durably).
  // kNotFound (kInvalidKeyId) when unknown or malformed; kFailedPrecondition
  // (kKeyDisabled) when the key is not enabled and `require_enabled`.
  Result<KeyMetadata> Resolve(std::string_view key_id, bool require_enabled = true);
  // Lookup by bare key id (UUID), no creation. kNotFound (kKeyNotFound).
  Result<KeyMetadata> Get(std::string_view key_id);

  const std::string& region() const { return region_; }
  const std::string& account_id() const { return account_id_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string region_;
  std::string account_id_;
};

}  // namespace coffer::domain::kms
