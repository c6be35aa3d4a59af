// KMS keys as the rest of the domain sees them: key metadata (id, ARN,
// description, state, rotation schedule, scheduled deletion) and aliases over
// keyring/'s material. Resolves the KeyId forms AWS accepts (key id, key ARN,
// alias/NAME, alias ARN) and creates the AWS-managed default keys
// (alias/aws/ssm, alias/aws/secretsmanager) on first use. The KMS API (#3)
// manages keys and aliases through it; crypto on keys is in kms_crypto.h.
//
// Key states: Enabled <-> Disabled (EnableKey / DisableKey); Enabled or Disabled
// -> PendingDeletion (ScheduleKeyDeletion) -> Disabled (CancelKeyDeletion), or
// deleted for good by RunDueDeletions once its deletion date has passed.
// Rotation adds a keyring version; old versions keep decrypting.
//
// Storage records (docs/formats/storage-keys.md):
//   kms/key/<key-id>      key metadata
//   kms/alias/<alias>     alias -> key id   (alias includes the "alias/" prefix)
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/tags.h"
#include "keyring/keyring.h"
#include "storage/backend.h"
#include "util/id_generator.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::domain::kms {

enum class KeyState { kEnabled, kDisabled, kPendingDeletion };

inline constexpr int kDefaultRotationPeriodDays = 365;
inline constexpr int kMinRotationPeriodDays = 90;
inline constexpr int kMaxRotationPeriodDays = 2560;
inline constexpr int kDefaultPendingWindowDays = 30;
inline constexpr int kMinPendingWindowDays = 7;
inline constexpr int kMaxPendingWindowDays = 30;
inline constexpr size_t kMaxDescriptionLength = 8192;
inline constexpr size_t kMaxPolicyLength = 32768;  // AWS's key policy limit (32 KB)
inline constexpr int kDefaultListLimit = 100;
inline constexpr int kMaxListLimit = 1000;
inline constexpr size_t kMaxTagsPerKey = 50;
inline constexpr int kDefaultTagListLimit = 50;
inline constexpr int kMaxTagListLimit = 50;

struct KeyMetadata {
  std::string key_id;  // UUID
  std::string arn;     // arn:aws:kms:<region>:<account>:key/<key_id>
  std::string description;
  KeyState state = KeyState::kEnabled;
  bool aws_managed = false;  // alias/aws/* keys
  util::SystemTime created;
  // The key policy document as given (CreateKey's Policy, PutKeyPolicy),
  // stored verbatim; empty = none given, which means the default key policy
  // (or, for an AWS managed key, AWS's managed key policy). The domain does not
  // read it: api/awsjson/kms_authorization.h parses and evaluates it.
  std::string policy;
  std::vector<Tag> tags;
  // Set while state == kPendingDeletion.
  std::optional<util::SystemTime> deletion_date;
  int pending_window_days = 0;
  // Automatic rotation.
  bool rotation_enabled = false;
  int rotation_period_days = kDefaultRotationPeriodDays;
  std::optional<util::SystemTime> next_rotation;  // set while rotation_enabled
  std::optional<util::SystemTime> last_rotated;   // automatic or on demand
};

struct CreateKeyRequest {
  std::string description;
  std::string policy;
  std::vector<Tag> tags;
  // Only SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT / AWS_KMS / single-region keys
  // are supported; the strings are AWS's enum values.
  std::string key_spec = "SYMMETRIC_DEFAULT";
  std::string key_usage = "ENCRYPT_DECRYPT";
  std::string origin = "AWS_KMS";
  bool multi_region = false;
};

struct KeyPage {
  std::vector<KeyMetadata> keys;
  std::string next_marker;  // empty on the last page
};

struct AliasEntry {
  std::string name;           // "alias/..."
  std::string arn;            // arn:aws:kms:<region>:<account>:alias/...
  std::string target_key_id;  // empty for an AWS-managed alias whose key does not exist yet
  std::optional<util::SystemTime> created;
  std::optional<util::SystemTime> updated;
};

struct AliasPage {
  std::vector<AliasEntry> aliases;
  std::string next_marker;
};

struct TagPage {
  std::vector<Tag> tags;     // in tag-key order
  std::string next_marker;  // empty on the last page
};

struct RotationStatus {
  std::string key_arn;
  bool enabled = false;
  int period_days = kDefaultRotationPeriodDays;
  std::optional<util::SystemTime> next_rotation;
};

struct ScheduledDeletion {
  std::string key_arn;
  util::SystemTime deletion_date;
  int pending_window_days = 0;
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

  // OK when `key` may be used for cryptographic operations: kFailedPrecondition
  // with kKeyDisabled (Disabled) or kKmsInvalidState (PendingDeletion).
  static Status CheckUsable(const KeyMetadata& key);

  // --- The KMS API ---------------------------------------------------------
  // KeyId inputs below accept every form Resolve does (and may create a
  // managed default key) unless noted. Unknown keys: kNotFound (kInvalidKeyId);
  // an "arn:" input that is not a KMS ARN: kInvalidArgument (kKmsInvalidArn).

  // Creates a symmetric key (material + metadata, durably), Enabled, rotation
  // off. kInvalidArgument: kKmsUnsupportedOperation for any other key spec,
  // usage, origin or multi-region; kValidation for a description over 8192 or a
  // policy over 32768 characters or an invalid tag.
  Result<KeyMetadata> CreateKey(const CreateKeyRequest& request);
  // Metadata in any state.
  Result<KeyMetadata> DescribeKey(std::string_view key_id);
  // Same, for a key id or key ARN only (kNotFound (kInvalidKeyId) for an
  // alias), as GetKeyPolicy and PutKeyPolicy take them.
  Result<KeyMetadata> DescribeKeyOnly(std::string_view key_id);
  // Keys in key-id order, `limit` (1..1000) per page from after `marker` (a
  // previous next_marker). kInvalidArgument (kInvalidNextToken) for a bad marker.
  Result<KeyPage> ListKeys(int limit, std::string_view marker);

  // Enabled; kFailedPrecondition (kKmsInvalidState) while pending deletion.
  Status EnableKey(std::string_view key_id);
  // Disabled; kFailedPrecondition (kKmsInvalidState) while pending deletion;
  // kInvalidArgument (kKmsUnsupportedOperation) for AWS-managed keys.
  Status DisableKey(std::string_view key_id);

  // `key_id`: key id or key ARN only (kNotFound (kInvalidKeyId) for an alias).
  // Turns on yearly (or every `period_days`, 90..2560) rotation; the next
  // rotation is due `period_days` from now. kFailedPrecondition: kKeyDisabled,
  // kKmsInvalidState; kInvalidArgument (kKmsUnsupportedOperation) for
  // AWS-managed keys; kInvalidArgument (kValidation) for a bad period.
  Status EnableKeyRotation(std::string_view key_id, std::optional<int> period_days);
  // Same KeyId rules and errors as EnableKeyRotation.
  Status DisableKeyRotation(std::string_view key_id);
  // Rotation settings; kFailedPrecondition (kKmsInvalidState) while pending deletion.
  Result<RotationStatus> GetKeyRotationStatus(std::string_view key_id);
  // Adds a key material version now (the automatic schedule is unchanged).
  // Returns the key ARN. Key id or ARN only; errors as EnableKeyRotation.
  Result<std::string> RotateKeyOnDemand(std::string_view key_id);
  // Rotates every enabled key whose next rotation is at or before `now` and
  // moves its next rotation one period on. Returns the number rotated; after
  // trying every key, the first error met (other keys still rotated).
  // For the server to call periodically.
  Result<int> RunDueRotations(util::SystemTime now);

  // PendingDeletion with a deletion date `window_days` (7..30) from now.
  // kFailedPrecondition (kKmsInvalidState) when already pending;
  // kInvalidArgument (kKmsUnsupportedOperation) for AWS-managed keys.
  Result<ScheduledDeletion> ScheduleKeyDeletion(std::string_view key_id, int window_days);
  // Back to Disabled (as AWS does). Returns the key ARN. kFailedPrecondition
  // (kKmsInvalidState) when the key is not pending deletion.
  Result<std::string> CancelKeyDeletion(std::string_view key_id);
  // Deletes every pending key whose deletion date is at or before `now`,
  // together with its aliases (its keyring material stays, unreachable).
  // Returns the number deleted; errors as RunDueRotations. For the server to
  // call periodically.
  Result<int> RunDueDeletions(util::SystemTime now);

  // `alias_name`: "alias/" + [a-zA-Z0-9:/_-]+, at most 256 characters, not
  // "alias/aws/..." (kInvalidArgument, kKmsInvalidAliasName). `target_key_id`:
  // key id or key ARN only. kAlreadyExists (kKmsAliasExists);
  // kFailedPrecondition (kKmsInvalidState) if the target is pending deletion.
  Status CreateAlias(std::string_view alias_name, std::string_view target_key_id);
  // Points an existing customer alias at another key. kNotFound
  // (kKmsAliasNotFound); other errors as CreateAlias.
  Status UpdateAlias(std::string_view alias_name, std::string_view target_key_id);
  // kNotFound (kKmsAliasNotFound); kInvalidArgument (kKmsInvalidAliasName) for
  // "alias/aws/..." or a malformed name.
  Status DeleteAlias(std::string_view alias_name);
  // Aliases in name order, including the AWS-managed default aliases (with no
  // target before their key exists). With `key_id` (key id or ARN), only that
  // key's aliases. Pagination as ListKeys.
  Result<AliasPage> ListAliases(std::optional<std::string_view> key_id, int limit,
                                std::string_view marker);

  // --- Key policy -------------------------------------------------------------
  // Replaces the key policy with `policy` (1..32768 characters; checked for
  // meaning by the caller). `key_id`: key id or key ARN only (kNotFound
  // (kInvalidKeyId) for an alias); any key state. kInvalidArgument:
  // kValidation for an empty or too long policy, kKmsUnsupportedOperation for
  // AWS-managed keys. Durable before it returns; changes nothing on error.
  Status PutKeyPolicy(std::string_view key_id, std::string_view policy);

  // --- Tags ------------------------------------------------------------------
  // `key_id`: key id or key ARN only (kNotFound (kInvalidKeyId) for an alias).
  // A key's tags are also its aws:ResourceTag/<key> condition keys.

  // Adds `tags`, replacing the value of a key already present (later entries
  // of `tags` win). kInvalidArgument (kKmsTagError) for a tag that breaks
  // AWS's tag rules (ValidateTag); kResourceExhausted (kTooManyTags) when the
  // key would carry more than 50; kInvalidArgument (kKmsUnsupportedOperation)
  // for AWS-managed keys; kFailedPrecondition (kKmsInvalidState) while pending
  // deletion. Durable before it returns; changes nothing on error.
  Status TagResource(std::string_view key_id, const std::vector<Tag>& tags);
  // Removes the tags with these keys (absent keys are ignored). Errors as
  // TagResource (kKmsTagError for a malformed key).
  Status UntagResource(std::string_view key_id, const std::vector<std::string>& tag_keys);
  // The key's tags in tag-key order, `limit` (1..50) per page from after
  // `marker` (a previous next_marker); any key state. kInvalidArgument
  // (kInvalidNextToken) for a bad marker.
  Result<TagPage> ListResourceTags(std::string_view key_id, int limit, std::string_view marker);

  const std::string& region() const { return region_; }
  const std::string& account_id() const { return account_id_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string region_;
  std::string account_id_;
};

}  // namespace coffer::domain::kms
