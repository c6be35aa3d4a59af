// domain/secrets: Secrets Manager semantics over storage + keyring, with no
// knowledge of JSON, HTTP or the AWS wire. Secrets have a name, an ARN with a
// random 6-character suffix, versions identified by id (the client's
// ClientRequestToken) carrying staging labels (AWSCURRENT / AWSPENDING /
// AWSPREVIOUS and custom ones), string or binary values up to 64 KiB, a KMS
// key, tags, a rotation configuration and scheduled deletion with a recovery
// window.
//
// Every value is sealed by keyring::Keyring before it reaches storage, with
// associated data "sm/secret/<arn>/<version id>", so a ciphertext copied onto
// another record does not decrypt (kDataLoss). Storage layout:
// docs/formats/storage-keys.md ("sm/s/<name>" head, "sm/v/<name>/<hex version id>").
//
// Errors are Result values whose Reason names the failure exactly (api/ maps
// them to AWS error codes); messages never contain a secret value. Every
// mutating call changes nothing on error and is durable before it returns.
//
// SecretId arguments accept the name, the full ARN, or a partial ARN (the ARN
// without its "-XXXXXX" suffix).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/kms/key_directory.h"
#include "domain/tags.h"
#include "keyring/keyring.h"
#include "storage/backend.h"
#include "util/id_generator.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::domain::secrets {

inline constexpr std::string_view kStageCurrent = "AWSCURRENT";
inline constexpr std::string_view kStagePending = "AWSPENDING";
inline constexpr std::string_view kStagePrevious = "AWSPREVIOUS";
inline constexpr std::string_view kDefaultKeyId = "alias/aws/secretsmanager";

inline constexpr size_t kMaxValueSize = 65536;
inline constexpr size_t kMaxNameLength = 512;
inline constexpr size_t kMaxDescriptionLength = 2048;
inline constexpr size_t kMinTokenLength = 32;
inline constexpr size_t kMaxTokenLength = 64;
inline constexpr size_t kMaxStagesPerVersion = 20;
inline constexpr size_t kMaxTags = 50;
inline constexpr size_t kMaxResourcePolicyLength = 20480;
// Deprecated (unlabelled) versions beyond this many are purged, except those
// younger than kDeprecatedVersionMinAge.
inline constexpr size_t kMaxVersions = 100;
inline constexpr std::chrono::hours kDeprecatedVersionMinAge{24};
inline constexpr int64_t kDefaultRecoveryWindowDays = 30;

// A secret value: SecretString (is_binary false) or SecretBinary (raw bytes).
struct SecretValue {
  bool is_binary = false;
  SecretBytes bytes;
};

struct RotationRules {
  std::optional<int64_t> automatically_after_days;  // 1..1000
  std::optional<std::string> schedule_expression;   // rate(...) / cron(...)
  std::optional<std::string> duration;              // "Nh", 1..24
};

// What Create/Put/Update/Rotate report.
struct SecretRef {
  std::string arn;
  std::string name;
  std::optional<std::string> version_id;  // when a version was created (or matched)
  std::vector<std::string> version_stages;
};

// Asked, when set, before a stored value is decrypted, with the KMS key that
// sealed it, the secret's ARN and the version's id (the caller's kms:Decrypt
// permission); a refusal is returned as is and nothing is read or recorded.
using DecryptCheck = std::function<Status(const kms::KeyMetadata& key, std::string_view arn,
                                          std::string_view version_id)>;

// One version's value (GetSecretValue).
struct VersionedSecret {
  std::string arn;
  std::string name;
  std::string version_id;
  SecretValue value;
  std::vector<std::string> version_stages;
  util::SystemTime created;  // of the version
};

// DescribeSecret / one ListSecrets entry.
struct SecretDescription {
  std::string arn;
  std::string name;
  std::optional<std::string> description;
  std::optional<std::string> kms_key_id;  // only when the caller chose a key
  bool rotation_enabled = false;
  std::optional<std::string> rotation_hook;  // RotationLambdaARN
  std::optional<RotationRules> rotation_rules;
  std::optional<util::SystemTime> last_rotated;
  std::optional<util::SystemTime> next_rotation;
  util::SystemTime last_changed;
  std::optional<util::SystemTime> last_accessed;  // midnight UTC
  std::optional<util::SystemTime> deleted;        // DeletedDate: when DeleteSecret ran
  util::SystemTime created;
  std::vector<Tag> tags;  // sorted by key
  // Labelled versions only (unlabelled ones are deprecated).
  std::map<std::string, std::vector<std::string>> version_ids_to_stages;
};

struct CreateSecretRequest {
  std::string name;
  std::optional<std::string> client_request_token;  // version id; generated when absent
  std::optional<std::string> description;
  std::optional<std::string> kms_key_id;  // default alias/aws/secretsmanager
  std::optional<SecretValue> value;       // none: a secret without versions
  std::vector<Tag> tags;
};

struct PutSecretValueRequest {
  std::string secret_id;
  std::optional<std::string> client_request_token;
  SecretValue value;
  std::optional<std::vector<std::string>> version_stages;  // default [AWSCURRENT]
};

struct UpdateSecretRequest {
  std::string secret_id;
  std::optional<std::string> client_request_token;  // ignored without a value
  std::optional<std::string> description;
  std::optional<std::string> kms_key_id;
  std::optional<SecretValue> value;
};

// ListSecrets filter: key description | name | tag-key | tag-value |
// primary-region | owning-service | all; values may start with "!" (negation).
struct SecretFilter {
  std::string key;
  std::vector<std::string> values;
};

struct ListSecretsQuery {
  std::vector<SecretFilter> filters;
  bool include_planned_deletion = false;
  bool descending = false;  // by CreatedDate, then name
  int max_results = 100;    // 1..100
  std::string next_token;
};

struct SecretPage {
  std::vector<SecretDescription> secrets;
  std::string next_token;  // "" when done
};

struct SecretVersionSummary {
  std::string version_id;
  std::vector<std::string> version_stages;
  util::SystemTime created;
  std::optional<util::SystemTime> last_accessed;
  std::vector<std::string> kms_key_ids;  // "DEFAULT" for the default key
};

struct VersionQuery {
  std::string secret_id;
  bool include_deprecated = false;
  int max_results = 100;  // 1..100
  std::string next_token;
};

struct VersionPage {
  std::string arn;
  std::string name;
  std::vector<SecretVersionSummary> versions;  // creation order
  std::string next_token;
};

struct DeleteSecretRequest {
  std::string secret_id;
  std::optional<int64_t> recovery_window_days;  // 7..30, default 30
  bool force_delete_without_recovery = false;
};

struct DeletionResult {
  std::string arn;
  std::string name;
  util::SystemTime deletion_date;
};

struct UpdateStageRequest {
  std::string secret_id;
  std::string version_stage;
  std::optional<std::string> remove_from_version_id;
  std::optional<std::string> move_to_version_id;
};

struct RotateSecretRequest {
  std::string secret_id;
  std::optional<std::string> client_request_token;  // the AWSPENDING version id
  std::optional<std::string> rotation_hook;         // RotationLambdaARN
  std::optional<RotationRules> rules;
  bool rotate_immediately = true;
};

struct BatchGetRequest {
  std::vector<std::string> secret_ids;  // 1..20, xor filters
  std::vector<SecretFilter> filters;
  std::optional<int> max_results;  // 1..20, only with filters
  std::string next_token;
  // With filters: asked for each matching secret (by ARN) before its value is
  // read; a refusal goes to `errors` under the ARN and the value is not read.
  std::function<Status(std::string_view arn)> may_read;
  // Asked before each value is decrypted (DecryptCheck); a refusal goes to
  // `errors` under the id as given (the ARN with filters).
  DecryptCheck may_decrypt;
};

struct BatchGetError {
  std::string secret_id;
  Error error;
};

struct BatchGetResult {
  std::vector<VersionedSecret> values;
  std::vector<BatchGetError> errors;
  std::string next_token;
};

// GetResourcePolicy.
struct SecretPolicy {
  std::string arn;
  std::string name;
  std::optional<std::string> resource_policy;  // the document as stored; none when unset
};

// What authorization needs to know about a secret, on every call that names
// one (served from the in-memory cache).
struct SecretAccessInfo {
  std::string arn;
  std::string name;
  std::vector<Tag> tags;        // sorted by key
  std::string resource_policy;  // "" = none
  // Changes whenever the secret's head record changes (policy, tags, ...): a
  // compiled form of resource_policy may be cached under (arn, revision).
  uint64_t revision = 0;
};

// Rotation state as the rotation engine sees it.
struct RotationInfo {
  std::string arn;
  std::string name;
  bool rotation_enabled = false;
  std::string hook;  // "" when none is configured
  RotationRules rules;
  std::optional<util::SystemTime> last_rotated;
  std::optional<util::SystemTime> next_rotation;
  // The AWSPENDING version when it is not also AWSCURRENT (a rotation in progress).
  std::optional<std::string> pending_version_id;
  std::optional<std::string> current_version_id;
};

// Thread-safe. Keeps an in-memory cache of decoded head records and version
// envelopes (never plaintext), kept current through Backend::Watch on "sm/"
// and dropped locally after each own write, so reading a cached secret does
// no storage access. The referenced objects must outlive the store.
class SecretStore {
 public:
  SecretStore(storage::Backend& backend, keyring::Keyring& keyring, kms::KeyDirectory& keys,
              util::Clock& clock, util::IdGenerator& ids, std::string region,
              std::string account_id);
  ~SecretStore();
  SecretStore(const SecretStore&) = delete;
  SecretStore& operator=(const SecretStore&) = delete;

  // Creates a secret (ARN suffix from IdGenerator), with version
  // `client_request_token` labelled AWSCURRENT when a value is given.
  // Retrying with the same token and the same value returns the existing version.
  // Errors:
  //   kInvalidArgument: kValidation (name, description, token or value length,
  //     > 64 KiB), kSecretInvalidParameter (bad tag, > 50 tags)
  //   kAlreadyExists: kSecretAlreadyExists (name taken), kSecretVersionAlreadyExists
  //     (token names a version with another value)
  //   kFailedPrecondition: kSecretScheduledForDeletion (name pending deletion),
  //     kSecretEncryptionFailure (KMS key unknown or disabled)
  Result<SecretRef> CreateSecret(const CreateSecretRequest& request);

  // The version named by `version_id` and/or `version_stage` (default
  // AWSCURRENT). Records the access day (LastAccessedDate). Errors:
  //   kNotFound: kSecretNotFound, kSecretVersionNotFound (no such version or
  //     label, or an empty AWSPENDING placeholder)
  //   kFailedPrecondition: kSecretScheduledForDeletion, kSecretVersionStageMismatch
  //     (both given and they name different versions), kSecretDecryptionFailure
  //     (key gone or disabled)
  //   kDataLoss: the stored ciphertext does not open (tampered or moved)
  // With `may_decrypt`, its refusal is returned (before decryption, without
  // recording the access).
  Result<VersionedSecret> GetSecretValue(std::string_view secret_id,
                                         std::optional<std::string_view> version_id,
                                         std::optional<std::string_view> version_stage,
                                         const DecryptCheck& may_decrypt = {});

  // Current values of up to 20 secrets, or of the secrets matching `filters`
  // (a page of them). Per-secret failures land in `errors`. Errors:
  //   kInvalidArgument: kSecretInvalidParameter (both or neither of ids and
  //     filters, > 20 ids, max_results without filters or out of 1..20, bad
  //     filter), kInvalidNextToken
  Result<BatchGetResult> BatchGetSecretValue(const BatchGetRequest& request);

  // Adds a version (or fills the empty AWSPENDING placeholder with that id).
  // No stages: AWSCURRENT moves here and AWSPREVIOUS to the version it left.
  // Explicit stages move each named label here (AWSCURRENT with the same rule).
  // Same token + same value: no change. Errors:
  //   kNotFound (kSecretNotFound); kFailedPrecondition (kSecretScheduledForDeletion,
  //   kSecretEncryptionFailure); kAlreadyExists (kSecretVersionAlreadyExists);
  //   kInvalidArgument (kValidation: lengths, stage count 1..20);
  //   kResourceExhausted (kSecretStageLimitExceeded: > 20 labels on the version)
  Result<SecretRef> PutSecretValue(const PutSecretValueRequest& request);

  // Changes description and/or KMS key (re-sealing the labelled versions under
  // the new key) and/or adds a value as PutSecretValue without stages. A
  // metadata-only update ignores the token. Errors as PutSecretValue.
  Result<SecretRef> UpdateSecret(const UpdateSecretRequest& request);

  // kNotFound (kSecretNotFound). Works on a secret pending deletion.
  Result<SecretDescription> DescribeSecret(std::string_view secret_id);

  // Secrets matching every filter (any value of one filter), by CreatedDate.
  // Errors: kInvalidArgument (kSecretInvalidParameter: bad filter key/value or
  // max_results; kInvalidNextToken).
  Result<SecretPage> ListSecrets(const ListSecretsQuery& query);

  // Versions in creation order; deprecated (unlabelled) ones only with
  // include_deprecated. kNotFound (kSecretNotFound); kInvalidArgument
  // (kSecretInvalidParameter, kInvalidNextToken).
  Result<VersionPage> ListSecretVersionIds(const VersionQuery& query);

  // Schedules deletion after the recovery window (7..30 days, default 30) or,
  // with force, removes the secret now. Errors: kNotFound (kSecretNotFound);
  // kInvalidArgument (kSecretInvalidParameter: window out of range, or window
  // with force); kFailedPrecondition (kSecretScheduledForDeletion: already
  // scheduled and not forced).
  Result<DeletionResult> DeleteSecret(const DeleteSecretRequest& request);

  // Cancels a scheduled deletion (no-op when none). kNotFound (kSecretNotFound).
  Result<SecretRef> RestoreSecret(std::string_view secret_id);

  // Removes every secret whose deletion date is <= `now`, each in its own
  // compare-and-swap transaction (a secret restored meanwhile is kept).
  // Idempotent; safe to run from several servers. Returns how many it removed.
  Result<int> RunDueDeletions(util::SystemTime now);

  // Re-wrap after a KMS key rotation: re-encrypts every stored version value
  // whose envelope is under an older version of its key's material under the
  // newest version (same plaintext, version id, stages and key), each secret in
  // one compare-and-swap transaction. With `key_id` (a resolved KMS key id),
  // only values sealed under that key are looked at. A version that cannot be
  // re-wrapped (damaged ciphertext or key material) is listed in `failures`
  // and the pass goes on; storage errors end it. Safe while the server serves.
  Result<keyring::RewrapReport> RewrapValues(std::optional<std::string_view> key_id);

  // Moves or removes one staging label. Rules: a label attached elsewhere moves
  // only with remove_from_version_id naming its holder; AWSCURRENT can only be
  // moved, and moving it moves AWSPREVIOUS to the version it left. Errors:
  //   kNotFound (kSecretNotFound); kFailedPrecondition (kSecretScheduledForDeletion);
  //   kInvalidArgument (kSecretInvalidParameter: unknown version, label not on
  //   remove_from, neither id given, holder not named; kValidation: lengths);
  //   kResourceExhausted (kSecretStageLimitExceeded)
  Result<SecretRef> UpdateSecretVersionStage(const UpdateStageRequest& request);

  // Configures rotation (RotationEnabled = true) and, when rotate_immediately,
  // creates the empty AWSPENDING placeholder version (id = token) for the
  // rotation engine to fill. Computes NextRotationDate from the rules. Errors:
  //   kNotFound (kSecretNotFound); kFailedPrecondition (kSecretScheduledForDeletion,
  //   kRotationInProgress: AWSPENDING on a version other than AWSCURRENT's,
  //   kRotationNotConfigured: no hook given or stored);
  //   kInvalidArgument (kSecretInvalidParameter: rules or hook invalid;
  //   kValidation: lengths); kAlreadyExists (kSecretVersionAlreadyExists: the
  //   token names an existing version)
  Result<SecretRef> RotateSecret(const RotateSecretRequest& request);

  // Turns rotation off (hook and rules are kept) and removes an empty AWSPENDING
  // placeholder. Returns the pending version id it cancelled, if any.
  // kNotFound (kSecretNotFound); kFailedPrecondition (kSecretScheduledForDeletion).
  Result<SecretRef> CancelRotateSecret(std::string_view secret_id);

  // Adds or replaces tags. kNotFound (kSecretNotFound); kInvalidArgument
  // (kSecretInvalidParameter: a tag breaks the rules, or > 50 tags result).
  Status TagResource(std::string_view secret_id, const std::vector<Tag>& tags);
  // Removes tag keys (absent keys are ignored). kNotFound (kSecretNotFound).
  Status UntagResource(std::string_view secret_id, const std::vector<std::string>& keys);

  // --- Resource policies (documents are validated by the caller; stored as given) ---

  // Attaches `document` as the secret's resource policy, replacing any other.
  // Errors: kNotFound (kSecretNotFound); kFailedPrecondition
  // (kSecretScheduledForDeletion); kInvalidArgument (kValidation: empty or
  // longer than kMaxResourcePolicyLength).
  Result<SecretRef> PutResourcePolicy(std::string_view secret_id, std::string_view document);
  // kNotFound (kSecretNotFound). Works on a secret pending deletion.
  Result<SecretPolicy> GetResourcePolicy(std::string_view secret_id);
  // Removes the resource policy (no-op when none). kNotFound (kSecretNotFound);
  // kFailedPrecondition (kSecretScheduledForDeletion).
  Result<SecretRef> DeleteResourcePolicy(std::string_view secret_id);
  // ARN, tags and resource policy of a secret, for authorization. kNotFound
  // (kSecretNotFound). Works on a secret pending deletion.
  Result<SecretAccessInfo> AccessInfo(std::string_view secret_id);

  // --- For the rotation engine ---

  // Rotation-enabled secrets not pending deletion whose NextRotationDate is
  // <= now or that have a rotation in progress, in name order.
  Result<std::vector<RotationInfo>> ListRotationsDue(util::SystemTime now);
  // One secret's rotation state. kNotFound (kSecretNotFound).
  Result<RotationInfo> GetRotation(std::string_view secret_id);
  // Records a finished rotation: LastRotatedDate = now, NextRotationDate from
  // the rules. kNotFound (kSecretNotFound).
  Status MarkRotated(std::string_view secret_id, util::SystemTime now);

  const std::string& region() const { return region_; }
  const std::string& account_id() const { return account_id_; }

 private:
  // Put (document non-empty) or delete (empty) the resource policy.
  Result<SecretRef> SetResourcePolicy(std::string_view secret_id, std::string_view document);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string region_;
  std::string account_id_;
};

}  // namespace coffer::domain::secrets
