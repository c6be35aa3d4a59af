// domain/parameters: SSM Parameter Store semantics over storage + keyring, with
// no knowledge of JSON, HTTP or the AWS wire. Hierarchical names, the types
// String / StringList / SecureString, versions (the 100 newest are kept),
// labels, description, tags, KMS key id, tier, allowed pattern, data type, and
// last-modified date and user.
//
// Every value (String ones too) is sealed by keyring::Keyring before it reaches
// storage, with associated data "ssm/param/<name>/<version>", so a ciphertext
// copied onto another record does not decrypt (kDataLoss). Storage layout:
// docs/formats/storage-keys.md ("ssm/p/<name>" head, "ssm/v/<name>/<version>").
//
// Errors are Result values whose Reason names the failure exactly (api/ maps
// them to AWS error codes). Every mutating call changes nothing on error and is
// durable before it returns.
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
#include "domain/resource.h"
#include "domain/tags.h"
#include "keyring/keyring.h"
#include "storage/backend.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::domain::parameters {

// Persisted (in head and version records): never renumber.
enum class ParameterType { kString = 0, kStringList = 1, kSecureString = 2 };
// Persisted: never renumber.
enum class ParameterTier { kStandard = 0, kAdvanced = 1, kIntelligentTiering = 2 };

// "String" / "StringList" / "SecureString"; nullopt for anything else.
std::optional<ParameterType> ParseParameterType(std::string_view text);
std::string_view ParameterTypeName(ParameterType type);
// "Standard" / "Advanced" / "Intelligent-Tiering"; nullopt for anything else.
std::optional<ParameterTier> ParseParameterTier(std::string_view text);
std::string_view ParameterTierName(ParameterTier tier);

inline constexpr int kMaxVersions = 100;
inline constexpr int kMaxLabelsPerVersion = 10;
inline constexpr int kMaxTags = 50;
inline constexpr int kMaxHierarchyLevels = 15;
inline constexpr size_t kStandardValueLimit = 4096;
inline constexpr size_t kAdvancedValueLimit = 8192;
inline constexpr std::string_view kDefaultKeyId = "alias/aws/ssm";

// A caller's permission on a KMS key for one parameter's value: the key and
// the parameter's ARN. A refusal is returned as is.
using KeyCheck = std::function<Status(const kms::KeyMetadata& key, std::string_view arn)>;

struct PutParameterRequest {
  std::string name;
  SecretBytes value;
  std::optional<ParameterType> type;         // required on create
  std::optional<std::string> description;    // carried over on overwrite when absent
  std::optional<std::string> key_id;         // SecureString only; default alias/aws/ssm
  bool overwrite = false;
  std::optional<std::string> allowed_pattern;
  std::vector<Tag> tags;                     // create only (not with overwrite)
  std::optional<ParameterTier> tier;         // default Standard (or the current tier)
  std::optional<std::string> data_type;      // text | aws:ec2:image | aws:ssm:integration
  // When set, asked for a SecureString with the KMS key its value is about to
  // be sealed under (resolved, possibly through the previous version's key)
  // and the parameter's ARN, before anything is written; a refusal is
  // returned as is and nothing changes. (The caller's kms:Encrypt permission.)
  KeyCheck may_encrypt;
};

struct PutParameterResult {
  int64_t version = 0;
  ParameterTier tier = ParameterTier::kStandard;
};

// One version's value as Get* return it.
struct Parameter {
  std::string name;  // bare name, without selector
  ParameterType type = ParameterType::kString;
  // Plaintext; for a SecureString read without decryption, the base64 envelope.
  SecretBytes value;
  int64_t version = 0;
  std::string selector;  // ":7" / ":prod" when the request used one, else ""
  util::SystemTime last_modified;
  std::string arn;
  std::string data_type;
  // SecureString: the id of the KMS key that sealed this version (what a
  // caller needs kms:Decrypt on); "" for other types.
  std::string kms_key_id;
};

// Metadata of the latest version (DescribeParameters).
struct ParameterMetadata {
  std::string name;
  std::string arn;
  ParameterType type = ParameterType::kString;
  std::optional<std::string> key_id;  // SecureString only, as the caller named it
  std::string kms_key_id;             // SecureString only: the resolved key id, else ""
  util::SystemTime last_modified;
  std::string last_modified_user;
  std::string description;
  std::string allowed_pattern;
  int64_t version = 0;
  ParameterTier tier = ParameterTier::kStandard;
  std::string data_type;
};

// One retained version (GetParameterHistory).
struct ParameterHistoryEntry {
  ParameterMetadata metadata;  // of that version
  SecretBytes value;           // as in Parameter::value
  std::vector<std::string> labels;
};

// A filter as AWS's ParameterStringFilter: key (Name, Type, KeyId, Path, Label,
// Tier, DataType, tag:KEY), option ("" = the key's default) and values.
struct ParameterFilter {
  std::string key;
  std::string option;
  std::vector<std::string> values;
};

struct GetParametersResult {
  std::vector<Parameter> parameters;
  std::vector<std::string> invalid_parameters;  // as requested
};

struct PathQuery {
  std::string path;
  bool recursive = false;
  std::vector<ParameterFilter> filters;  // Type, KeyId, Label
  bool with_decryption = false;
  int max_results = 10;  // 1..10
  std::string next_token;
  KeyCheck may_decrypt;  // as GetParameter's
};

struct ParameterPage {
  std::vector<Parameter> parameters;
  std::string next_token;  // "" when done
};

struct HistoryQuery {
  std::string name;
  bool with_decryption = false;
  int max_results = 50;  // 1..50
  std::string next_token;
  KeyCheck may_decrypt;  // as GetParameter's
};

struct HistoryPage {
  std::vector<ParameterHistoryEntry> entries;  // oldest first
  std::string next_token;
};

struct DescribeQuery {
  std::vector<ParameterFilter> filters;         // ParameterFilters
  std::vector<ParameterFilter> legacy_filters;  // Filters (Name, Type, KeyId); option unused
  int max_results = 50;                         // 1..50
  std::string next_token;
};

struct MetadataPage {
  std::vector<ParameterMetadata> parameters;
  std::string next_token;
};

struct DeleteParametersResult {
  std::vector<std::string> deleted_parameters;
  std::vector<std::string> invalid_parameters;
};

struct LabelResult {
  std::vector<std::string> invalid_labels;
  int64_t parameter_version = 0;
};

// The name forms an operation accepts (as on AWS).
enum class NameForms {
  // The name itself ("/a/b" or "a"), taken literally: PutParameter,
  // DeleteParameter(s), Label/UnlabelParameterVersion, the tag operations.
  kNameOnly,
  // Also "name:<version>", "name:<label>" and the parameter's ARN (with an
  // optional selector): GetParameter(s), GetParameterHistory.
  kAny,
};

struct UnlabelResult {
  std::vector<std::string> removed_labels;
  std::vector<std::string> invalid_labels;
};

// Thread-safe. Owns an in-memory cache of decoded head + latest-version
// records, kept current through Backend::Watch on "ssm/", so reading the latest
// version of a cached name does no storage access. The referenced objects must
// outlive the store.
class ParameterStore {
 public:
  ParameterStore(storage::Backend& backend, keyring::Keyring& keyring,
                 kms::KeyDirectory& keys, util::Clock& clock, std::string region,
                 std::string account_id);
  ~ParameterStore();
  ParameterStore(const ParameterStore&) = delete;
  ParameterStore& operator=(const ParameterStore&) = delete;

  // The one parameter `input` names in `forms`: canonical name, canonical ARN
  // (ParameterArn of the canonical name), the selector, whether it exists and
  // (`with_tags`, when it exists) its tags. Every caller that authorizes,
  // audits or runs an operation on a parameter uses this result. An ARN of the
  // parameter "a" and of "/a" is the same ("...:parameter/a"): the existing one
  // is chosen ("a" first, as GetParameter reads). kNotFound
  // (kParameterNotFound) when `input` cannot name a parameter here (a foreign
  // partition, region or account, another service, a malformed selector);
  // storage errors as they come (fail closed).
  Result<ResolvedResource> Resolve(std::string_view input, NameForms forms, bool with_tags);

  // Creates version 1, or (with overwrite) the next version. Errors:
  //   kInvalidArgument: kValidation (bad name / value / description / data type,
  //     missing type on create, tags with overwrite, value too long for the tier),
  //     kReservedParameterName (aws/ssm prefix), kHierarchyLevelLimitExceeded
  //     (> 15 levels), kHierarchyTypeMismatch (to/from SecureString),
  //     kInvalidAllowedPattern, kParameterPatternMismatch, kUnsupportedParameterTierChange
  //     (Advanced -> Standard)
  //   kAlreadyExists (kParameterAlreadyExists): exists and !overwrite
  //   kFailedPrecondition (kParameterMaxVersionLimitExceeded): 100 versions
  //     kept and the oldest carries a label
  //   kNotFound (kInvalidKeyId) / kFailedPrecondition (kKeyDisabled): bad KeyId
  //   kAborted (kTooManyUpdates): lost the compare-and-swap race repeatedly
  Result<PutParameterResult> PutParameter(const PutParameterRequest& request,
                                          std::string_view caller_arn);

  // `name` may be "name", "name:<version>", "name:<label>" or a parameter ARN
  // (optionally with the selector). kNotFound (kParameterNotFound) when the name
  // or label is unknown; kNotFound (kParameterVersionNotFound) when the version is
  // not retained; kDataLoss when the stored ciphertext does not open;
  // kFailedPrecondition (kKeyDisabled) when decrypting a SecureString whose KMS
  // key is disabled, pending deletion or gone (GetParameters/ByPath alike).
  // When set, `may_decrypt` is asked with the key that sealed a SecureString
  // value before it is decrypted (the caller's kms:Decrypt); its refusal is
  // returned and nothing is decrypted (GetParameters, ByPath and History too).
  Result<Parameter> GetParameter(std::string_view name, bool with_decryption,
                                 const KeyCheck& may_decrypt = {});

  // Up to 10 names (as GetParameter); unknown ones go to invalid_parameters.
  // kInvalidArgument (kValidation) for 0 or more than 10 names.
  Result<GetParametersResult> GetParameters(const std::vector<std::string>& names,
                                            bool with_decryption,
                                            const KeyCheck& may_decrypt = {});

  // Parameters below `path` (direct children, or all descendants when
  // recursive), in name order. kInvalidArgument: kValidation (bad path or
  // max_results), kInvalidFilterKey/Option/Value, kInvalidNextToken.
  Result<ParameterPage> GetParametersByPath(const PathQuery& query);

  // Removes the parameter with all versions. kNotFound (kParameterNotFound).
  Status DeleteParameter(std::string_view name);
  // Up to 10 names; unknown ones are listed, not errors. kInvalidArgument (kValidation).
  Result<DeleteParametersResult> DeleteParameters(const std::vector<std::string>& names);

  // kNotFound (kParameterNotFound); kInvalidArgument (kInvalidNextToken / kValidation).
  Result<HistoryPage> GetParameterHistory(const HistoryQuery& query);

  // Metadata of every parameter that passes the filters, in name order.
  // kInvalidArgument: kInvalidFilterKey/Option/Value, kInvalidNextToken, kValidation.
  Result<MetadataPage> DescribeParameters(const DescribeQuery& query);

  // Attaches `labels` to `version` (latest when absent), moving each from any
  // other version. Labels breaking the label rules are returned, not errors.
  // kNotFound (kParameterNotFound / kParameterVersionNotFound);
  // kResourceExhausted (kParameterVersionLabelLimitExceeded) beyond 10 on a version;
  // kInvalidArgument (kValidation) for 0 or more than 10 labels.
  Result<LabelResult> LabelParameterVersion(std::string_view name, std::optional<int64_t> version,
                                            const std::vector<std::string>& labels);
  // Detaches labels; those not on `version` come back as invalid.
  // kNotFound (kParameterNotFound / kParameterVersionNotFound).
  Result<UnlabelResult> UnlabelParameterVersion(std::string_view name, int64_t version,
                                                const std::vector<std::string>& labels);

  // Tags of parameter `name` (AWS's ResourceId). kNotFound (kInvalidResourceId)
  // when it does not exist; kInvalidArgument (kValidation) for a bad tag;
  // kResourceExhausted (kTooManyTags) beyond 50 tags. Adding a key replaces it.
  Status AddTags(std::string_view name, const std::vector<Tag>& tags);
  Status RemoveTags(std::string_view name, const std::vector<std::string>& keys);
  // Sorted by key. kNotFound (kInvalidResourceId).
  Result<std::vector<Tag>> ListTags(std::string_view name);

  // Re-wrap after a KMS key rotation: re-encrypts every retained version's
  // value whose envelope is under an older version of its key's material under
  // the newest version (same plaintext, version and metadata), each parameter
  // in one compare-and-swap transaction. With `key_id` (a resolved KMS key id),
  // only values sealed under that key are looked at. A version that cannot be
  // re-wrapped (damaged ciphertext or key material) is listed in `failures` and
  // the pass goes on; storage errors end it. Safe while the server serves.
  Result<keyring::RewrapReport> RewrapValues(std::optional<std::string_view> key_id);

  const std::string& region() const { return region_; }
  const std::string& account_id() const { return account_id_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string region_;
  std::string account_id_;
};

}  // namespace coffer::domain::parameters
