#include "util/log.h"
#include "util/mutex.h"
#include "domain/kms/key_directory.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "domain/arn.h"
#include "domain/kms/internal/records.h"
#include "domain/page_token.h"
#include "domain/record_store.h"
#include "util/check.h"

namespace coffer::domain::kms {
namespace {

constexpr size_t kMaxKeyIdInput = 2048;
constexpr std::string_view kAliasPrefix = "alias/";

struct ManagedAlias {
  std::string_view alias;
  std::string_view description;
};
constexpr ManagedAlias kManagedAliases[] = {
    {"alias/aws/ssm", "Default key that protects my SSM parameters when no other key is defined"},
    {"alias/aws/s3", "Default key that protects my S3 objects when no other key is defined"},
    {"alias/aws/secretsmanager",
     "Default key that protects my Secrets Manager data when no other key is defined"},
};

const ManagedAlias* FindManaged(std::string_view alias) {
  for (const ManagedAlias& m : kManagedAliases) {
    if (m.alias == alias) return &m;
  }
  return nullptr;
}

std::unexpected<Error> InvalidKeyId(std::string_view input) {
  constexpr size_t kShown = 256;  // keep messages bounded
  std::string shown(input.substr(0, kShown));
  if (input.size() > kShown) shown += "...";
  return Fail(ErrorCode::kNotFound, "Invalid keyId " + shown, Reason::kInvalidKeyId);
}

// Splits "arn:<partition>:kms:<region>:<account>:<resource>".
struct KmsArn {
  std::string_view partition, service, region, account, resource;
};
std::optional<KmsArn> SplitArn(std::string_view text) {
  std::string_view parts[5];
  std::string_view rest = text;
  for (int i = 0; i < 5; ++i) {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    parts[i] = rest.substr(0, colon);
    rest.remove_prefix(colon + 1);
  }
  if (parts[0] != "arn") return std::nullopt;
  return KmsArn{parts[1], parts[2], parts[3], parts[4], rest};
}

constexpr std::string_view kKeysPageKind = "kms/keys";
constexpr std::string_view kAliasesPageKind = "kms/aliases";
constexpr size_t kMaxAliasName = 256;

std::chrono::system_clock::duration Days(int n) { return std::chrono::hours(24) * n; }

Status CheckAliasName(std::string_view name) {
  auto invalid = [&](std::string_view why) {
    return Fail(ErrorCode::kInvalidArgument,
                "Alias " + std::string(name.substr(0, kMaxAliasName)) + " " + std::string(why),
                Reason::kKmsInvalidAliasName);
  };
  if (name.size() > kMaxAliasName) return invalid("is too long");
  if (!name.starts_with(kAliasPrefix) || name.size() == kAliasPrefix.size()) {
    return invalid("must begin with 'alias/' followed by a name");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '/' || c == '_' || c == '-';
    if (!ok) return invalid("contains characters outside [a-zA-Z0-9:/_-]");
  }
  if (name.starts_with("alias/aws/")) return invalid("must not begin with 'alias/aws/'");
  return Ok();
}

std::unexpected<Error> InvalidState(const KeyMetadata& key, std::string_view why) {
  return Fail(ErrorCode::kFailedPrecondition, key.arn + " " + std::string(why),
              Reason::kKmsInvalidState);
}

std::unexpected<Error> ManagedKeyRefused(const KeyMetadata& key, std::string_view op) {
  return Fail(ErrorCode::kInvalidArgument,
              std::string(op) + " is not supported on AWS managed key " + key.arn,
              Reason::kKmsUnsupportedOperation);
}

constexpr std::string_view kTagsPageKind = "kms.tags";

// ValidateTag's refusal, as KMS names it (TagException).
Status CheckKmsTag(const Tag& tag) {
  if (Status valid = ValidateTag(tag); !valid) {
    return Fail(ErrorCode::kInvalidArgument, valid.error().message, Reason::kKmsTagError);
  }
  return Ok();
}

// Sets `tag` on `tags`, replacing the value of an existing key.
void PutTag(std::vector<Tag>& tags, const Tag& tag) {
  auto it = std::find_if(tags.begin(), tags.end(), [&](const Tag& t) { return t.key == tag.key; });
  if (it != tags.end()) {
    it->value = tag.value;
  } else {
    tags.push_back(tag);
  }
}

}  // namespace

struct KeyDirectory::Impl {
  Impl(storage::Backend& b, keyring::Keyring& k, util::Clock& c, util::IdGenerator& i)
      : backend(b),
        keyring(k),
        clock(c),
        ids(i),
        keys(b, [](std::string_view key) { return KeyIdOf(key, internal::kKeyPrefix); }),
        aliases(b, [](std::string_view key) { return KeyIdOf(key, internal::kAliasPrefix); }) {}

  storage::Backend& backend;
  keyring::Keyring& keyring;
  util::Clock& clock;
  util::IdGenerator& ids;
  std::string region;
  std::string account_id;

  // Metadata and alias caches, fed by the storage change feed (another server
  // or a later KMS API call may change a record): key id -> metadata, alias
  // name -> target key id.
  WatchedCache<KeyMetadata> keys;
  WatchedCache<std::string> aliases;
  // Serialises creation of managed keys in this process (CAS covers other processes).
  util::Mutex create_mu;

  // The cache key of a storage key under `prefix`; "" for other keys.
  static std::string KeyIdOf(std::string_view key, std::string_view prefix) {
    if (!key.starts_with(prefix)) return "";
    return std::string(key.substr(prefix.size()));
  }

  std::string KeyArn(std::string_view key_id) const {
    return domain::KmsKeyArn(region, account_id, key_id);
  }

  std::unexpected<Error> KeyNotFound(std::string_view key_id) const {
    return Fail(ErrorCode::kNotFound, "Key '" + KeyArn(key_id) + "' does not exist",
                Reason::kKeyNotFound);
  }

  // kNotFound (kKeyNotFound) when there is no such key record.
  Result<KeyMetadata> LookupKey(std::string_view key_id) {
    COFFER_ASSIGN_OR_RETURN(
        std::shared_ptr<const KeyMetadata> meta,
        keys.GetOrLoad(key_id, [&]() -> Result<Stored<KeyMetadata>> {
          COFFER_ASSIGN_OR_RETURN(
              std::optional<Stored<KeyMetadata>> stored,
              GetRecord(backend, internal::KeyRecordKey(key_id), &internal::DecodeKey));
          if (!stored) return KeyNotFound(key_id);
          if (stored->value.key_id != key_id) {
            return Fail(ErrorCode::kDataLoss,
                        "kms key record " + std::string(key_id) + " names another key",
                        Reason::kMalformedInput);
          }
          return std::move(*stored);
        }));
    return *meta;
  }

  // The target key id of `alias`; kNotFound (kInvalidKeyId) if there is none.
  Result<std::string> LookupAlias(std::string_view alias) {
    COFFER_ASSIGN_OR_RETURN(
        std::shared_ptr<const std::string> target,
        aliases.GetOrLoad(alias, [&]() -> Result<Stored<std::string>> {
          COFFER_ASSIGN_OR_RETURN(
              std::optional<Stored<internal::AliasRecord>> stored,
              GetRecord(backend, internal::AliasRecordKey(alias), &internal::DecodeAlias));
          if (!stored) return InvalidKeyId(alias);
          return Stored<std::string>{std::move(stored->value.target_key_id), stored->revision};
        }));
    return *target;
  }

  Result<KeyMetadata> ResolveAlias(std::string_view alias, std::string_view input) {
    auto target = LookupAlias(alias);
    if (!target.has_value()) {
      if (target.error().reason != Reason::kInvalidKeyId) return Fail(std::move(target).error());
      const ManagedAlias* managed = FindManaged(alias);
      if (managed == nullptr) return InvalidKeyId(input);
      return CreateManaged(*managed);
    }
    auto meta = LookupKey(*target);
    if (!meta.has_value() && meta.error().code == ErrorCode::kNotFound) {
      return InvalidKeyId(input);  // dangling alias
    }
    return meta;
  }

  // Creates key material, key metadata and the alias for a managed default
  // alias. Race-safe: the metadata and alias are committed together only if
  // neither exists; the loser of a race uses the winner's key.
  Result<KeyMetadata> CreateManaged(const ManagedAlias& managed) {
    util::MutexLock create_lock(create_mu);
    std::string alias_key = internal::AliasRecordKey(managed.alias);
    std::optional<std::string> existing_target;
    KeyMetadata meta;
    COFFER_ASSIGN_OR_RETURN(
        std::optional<storage::Revision> rev,
        CommitWithRetry(
            backend, managed.alias, [&]() -> Result<std::optional<storage::Txn>> {
              COFFER_ASSIGN_OR_RETURN(
                  std::optional<Stored<internal::AliasRecord>> existing,
                  GetRecord(backend, alias_key, &internal::DecodeAlias));
              if (existing) {  // someone else created it
                existing_target = existing->value.target_key_id;
                aliases.Put(managed.alias, existing->value.target_key_id, existing->revision);
                return std::optional<storage::Txn>();
              }
              meta = KeyMetadata();
              meta.key_id = ids.NewUuid();
              meta.arn = KeyArn(meta.key_id);
              meta.description = std::string(managed.description);
              meta.state = KeyState::kEnabled;
              meta.aws_managed = true;
              meta.created = clock.Now();
              meta.rotation_enabled = true;  // AWS-managed keys rotate yearly
              meta.rotation_period_days = kDefaultRotationPeriodDays;
              meta.next_rotation = meta.created + Days(kDefaultRotationPeriodDays);
              // Material first, so a key that is visible always has material. If this
              // process loses a race with another server the material stays unused.
              COFFER_RETURN_IF_ERROR(keyring.CreateKey(meta.key_id));
              std::string key_key = internal::KeyRecordKey(meta.key_id);
              storage::Txn txn;
              txn.compares.push_back(storage::Compare{alias_key, 0});
              txn.compares.push_back(storage::Compare{key_key, 0});
              txn.writes.push_back(storage::Write::Put(key_key, internal::EncodeKey(meta)));
              txn.writes.push_back(storage::Write::Put(
                  alias_key, internal::EncodeAlias({meta.key_id, meta.created, meta.created})));
              return std::optional<storage::Txn>(std::move(txn));
            }));
    if (existing_target) return LookupKey(*existing_target);
    COFFER_CHECK(rev.has_value());
    keys.Put(meta.key_id, meta, *rev);
    aliases.Put(managed.alias, meta.key_id, *rev);
    return meta;
  }

  Result<KeyMetadata> ResolveAny(std::string_view input) {
    if (input.empty() || input.size() > kMaxKeyIdInput) return InvalidKeyId(input);
    if (input.starts_with("arn:")) {
      auto arn = SplitArn(input);
      if (!arn || !arn->partition.starts_with("aws") || arn->service != "kms" ||
          arn->region != region || arn->account != account_id) {
        return InvalidKeyId(input);
      }
      if (arn->resource.starts_with("key/")) {
        std::string_view id = arn->resource.substr(4);
        if (id.empty()) return InvalidKeyId(input);
        auto meta = LookupKey(id);
        if (!meta.has_value() && meta.error().code == ErrorCode::kNotFound) {
          return InvalidKeyId(input);
        }
        return meta;
      }
      if (arn->resource.starts_with(kAliasPrefix) && arn->resource.size() > kAliasPrefix.size()) {
        return ResolveAlias(arn->resource, input);
      }
      return InvalidKeyId(input);
    }
    if (input.starts_with(kAliasPrefix)) {
      if (input.size() == kAliasPrefix.size()) return InvalidKeyId(input);
      return ResolveAlias(input, input);
    }
    auto meta = LookupKey(input);
    if (!meta.has_value() && meta.error().code == ErrorCode::kNotFound) {
      return InvalidKeyId(input);
    }
    return meta;
  }
  std::string AliasArn(std::string_view alias) const {
    return domain::KmsAliasArn(region, account_id, alias);
  }

  // ResolveAny, but an "arn:" input that is not a KMS ARN is InvalidArn.
  Result<KeyMetadata> ResolveKms(std::string_view input) {
    if (input.starts_with("arn:")) {
      auto arn = SplitArn(input);
      if (!arn || arn->service != "kms" || arn->resource.empty()) {
        return Fail(ErrorCode::kInvalidArgument, "Invalid arn " + std::string(input.substr(0, 256)),
                    Reason::kKmsInvalidArn);
      }
    }
    return ResolveAny(input);
  }

  // Key id or key ARN only; alias forms are unknown key ids.
  Result<KeyMetadata> ResolveKeyOnly(std::string_view input) {
    if (input.starts_with(kAliasPrefix)) return InvalidKeyId(input);
    if (input.starts_with("arn:")) {
      auto arn = SplitArn(input);
      if (arn && arn->service == "kms" && arn->resource.starts_with(kAliasPrefix)) {
        return InvalidKeyId(input);
      }
    }
    return ResolveKms(input);
  }

  // Reads the key record fresh from storage, applies `change` and commits it
  // if the record is unchanged since the read (retrying on conflict).
  Result<KeyMetadata> Mutate(std::string_view key_id,
                             const std::function<Status(KeyMetadata&)>& change) {
    COFFER_ASSIGN_OR_RETURN(
        std::optional<Stored<KeyMetadata>> written,
        UpdateRecord<KeyMetadata>(backend, internal::KeyRecordKey(key_id),
                                  "KMS key " + std::string(key_id), &internal::DecodeKey,
                                  &internal::EncodeKey, change));
    if (!written) return InvalidKeyId(key_id);
    keys.Put(key_id, written->value, written->revision);
    return std::move(written->value);
  }

  // Every key record, in key-id order.
  Result<std::vector<Stored<KeyMetadata>>> ScanKeys() {
    COFFER_ASSIGN_OR_RETURN(auto records,
                            ScanRecords(backend, internal::kKeyPrefix, &internal::DecodeKey));
    std::vector<Stored<KeyMetadata>> out;
    out.reserve(records.size());
    for (auto& [id, stored] : records) out.push_back(std::move(stored));
    return out;
  }

  // Alias records: name -> record, in name order.
  Result<std::vector<std::pair<std::string, internal::AliasRecord>>> ScanAliases() {
    COFFER_ASSIGN_OR_RETURN(auto records,
                            ScanRecords(backend, internal::kAliasPrefix, &internal::DecodeAlias));
    std::vector<std::pair<std::string, internal::AliasRecord>> out;
    out.reserve(records.size());
    for (auto& [name, stored] : records) out.emplace_back(name, std::move(stored.value));
    return out;
  }

  // Target for CreateAlias / UpdateAlias: key id or ARN, not pending deletion.
  Result<KeyMetadata> AliasTarget(std::string_view target) {
    COFFER_ASSIGN_OR_RETURN(KeyMetadata meta, ResolveKeyOnly(target));
    if (meta.state == KeyState::kPendingDeletion) return InvalidState(meta, "is pending deletion.");
    return meta;
  }
};

KeyDirectory::KeyDirectory(storage::Backend& backend, keyring::Keyring& keyring, util::Clock& clock,
                           util::IdGenerator& ids, std::string region, std::string account_id)
    : impl_(std::make_unique<Impl>(backend, keyring, clock, ids)),
      region_(std::move(region)),
      account_id_(std::move(account_id)) {
  impl_->region = region_;
  impl_->account_id = account_id_;
}

KeyDirectory::~KeyDirectory() = default;

Result<KeyMetadata> KeyDirectory::Resolve(std::string_view key_id, bool require_enabled) {
  COFFER_ASSIGN_OR_RETURN(KeyMetadata meta, impl_->ResolveAny(key_id));
  if (require_enabled && meta.state != KeyState::kEnabled) {
    std::string why =
        meta.state == KeyState::kPendingDeletion ? " is pending deletion." : " is disabled.";
    return Fail(ErrorCode::kFailedPrecondition, meta.arn + why, Reason::kKeyDisabled);
  }
  return meta;
}

Result<KeyMetadata> KeyDirectory::Get(std::string_view key_id) { return impl_->LookupKey(key_id); }

Status KeyDirectory::CheckUsable(const KeyMetadata& key) {
  switch (key.state) {
    case KeyState::kEnabled:
      return Ok();
    case KeyState::kDisabled:
      return Fail(ErrorCode::kFailedPrecondition, key.arn + " is disabled.", Reason::kKeyDisabled);
    case KeyState::kPendingDeletion:
      return InvalidState(key, "is pending deletion.");
  }
  return InvalidState(key, "is not usable.");
}

Result<KeyMetadata> KeyDirectory::CreateKey(const CreateKeyRequest& request) {
  if (request.key_spec != "SYMMETRIC_DEFAULT" || request.key_usage != "ENCRYPT_DECRYPT") {
    return Fail(ErrorCode::kInvalidArgument,
                "Only symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage "
                "ENCRYPT_DECRYPT) are supported.",
                Reason::kKmsUnsupportedOperation);
  }
  if (request.origin != "AWS_KMS" || request.multi_region) {
    return Fail(ErrorCode::kInvalidArgument,
                "Only single-region keys with Origin AWS_KMS are supported.",
                Reason::kKmsUnsupportedOperation);
  }
  if (request.description.size() > kMaxDescriptionLength) {
    return Fail(ErrorCode::kInvalidArgument, "Description must be at most 8192 characters.",
                Reason::kValidation);
  }
  if (request.policy.size() > kMaxPolicyLength) {
    return Fail(ErrorCode::kInvalidArgument, "Policy must be at most 32768 characters.",
                Reason::kValidation);
  }
  if (request.tags.size() > kMaxTagsPerKey) {
    return Fail(ErrorCode::kResourceExhausted, "A KMS key can have at most 50 tags.",
                Reason::kTooManyTags);
  }
  for (const Tag& tag : request.tags) COFFER_RETURN_IF_ERROR(CheckKmsTag(tag));

  KeyMetadata meta;
  meta.key_id = impl_->ids.NewUuid();
  meta.arn = impl_->KeyArn(meta.key_id);
  meta.description = request.description;
  meta.state = KeyState::kEnabled;
  meta.created = impl_->clock.Now();
  meta.policy = request.policy;
  // Later tags with the same key replace earlier ones.
  for (const Tag& tag : request.tags) PutTag(meta.tags, tag);
  COFFER_RETURN_IF_ERROR(impl_->keyring.CreateKey(meta.key_id));
  std::string key = internal::KeyRecordKey(meta.key_id);
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{key, 0});
  txn.writes.push_back(storage::Write::Put(key, internal::EncodeKey(meta)));
  COFFER_ASSIGN_OR_RETURN(storage::Revision rev, impl_->backend.Commit(txn));
  impl_->keys.Put(meta.key_id, meta, rev);
  return meta;
}

Result<KeyMetadata> KeyDirectory::DescribeKeyOnly(std::string_view key_id) {
  return impl_->ResolveKeyOnly(key_id);
}

Status KeyDirectory::PutKeyPolicy(std::string_view key_id, std::string_view policy) {
  if (policy.empty() || policy.size() > kMaxPolicyLength) {
    return Fail(ErrorCode::kInvalidArgument, "Policy must be 1 to 32768 characters.",
                Reason::kValidation);
  }
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKeyOnly(key_id));
  if (found.aws_managed) return ManagedKeyRefused(found, "PutKeyPolicy");
  COFFER_RETURN_IF_ERROR(impl_->Mutate(found.key_id, [&](KeyMetadata& m) -> Status {
    m.policy.assign(policy);
    return Ok();
  }));
  return Ok();
}

Status KeyDirectory::TagResource(std::string_view key_id, const std::vector<Tag>& tags) {
  for (const Tag& tag : tags) COFFER_RETURN_IF_ERROR(CheckKmsTag(tag));
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKeyOnly(key_id));
  if (found.aws_managed) return ManagedKeyRefused(found, "TagResource");
  COFFER_RETURN_IF_ERROR(impl_->Mutate(found.key_id, [&](KeyMetadata& m) -> Status {
    if (m.state == KeyState::kPendingDeletion) return InvalidState(m, "is pending deletion.");
    std::vector<Tag> next = m.tags;
    for (const Tag& tag : tags) PutTag(next, tag);
    if (next.size() > kMaxTagsPerKey) {
      return Fail(ErrorCode::kResourceExhausted,
                  "A KMS key can have at most 50 tags; " + m.arn + " would have " +
                      std::to_string(next.size()) + ".",
                  Reason::kTooManyTags);
    }
    m.tags = std::move(next);
    return Ok();
  }));
  return Ok();
}

Status KeyDirectory::UntagResource(std::string_view key_id,
                                   const std::vector<std::string>& tag_keys) {
  for (const std::string& k : tag_keys) {
    if (Status valid = ValidateTagKey(k); !valid) {
      return Fail(ErrorCode::kInvalidArgument, valid.error().message, Reason::kKmsTagError);
    }
  }
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKeyOnly(key_id));
  if (found.aws_managed) return ManagedKeyRefused(found, "UntagResource");
  COFFER_RETURN_IF_ERROR(impl_->Mutate(found.key_id, [&](KeyMetadata& m) -> Status {
    if (m.state == KeyState::kPendingDeletion) return InvalidState(m, "is pending deletion.");
    std::erase_if(m.tags, [&](const Tag& t) {
      return std::find(tag_keys.begin(), tag_keys.end(), t.key) != tag_keys.end();
    });
    return Ok();
  }));
  return Ok();
}

Result<TagPage> KeyDirectory::ListResourceTags(std::string_view key_id, int limit,
                                               std::string_view marker) {
  limit = std::clamp(limit, 1, kMaxTagListLimit);
  std::string after;
  if (!marker.empty()) {
    COFFER_ASSIGN_OR_RETURN(after, DecodePageToken(kTagsPageKind, marker));
  }
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKeyOnly(key_id));
  std::vector<Tag> tags = std::move(found.tags);
  std::sort(tags.begin(), tags.end(), [](const Tag& a, const Tag& b) { return a.key < b.key; });
  TagPage page;
  for (Tag& tag : tags) {
    if (!marker.empty() && tag.key <= after) continue;
    if (page.tags.size() == static_cast<size_t>(limit)) {
      page.next_marker = EncodePageToken(kTagsPageKind, page.tags.back().key);
      break;
    }
    page.tags.push_back(std::move(tag));
  }
  return page;
}

Result<KeyMetadata> KeyDirectory::DescribeKey(std::string_view key_id) {
  return impl_->ResolveKms(key_id);
}

Result<KeyPage> KeyDirectory::ListKeys(int limit, std::string_view marker) {
  limit = std::clamp(limit, 1, kMaxListLimit);
  std::string after;
  if (!marker.empty()) {
    COFFER_ASSIGN_OR_RETURN(std::string id, DecodePageToken(kKeysPageKind, marker));
    after = internal::KeyRecordKey(id);
  }
  KeyPage page;
  COFFER_RETURN_IF_ERROR(ScanPrefix(
      impl_->backend, internal::kKeyPrefix, after, static_cast<size_t>(limit) + 1,
      [&](const storage::Entry& e) -> Result<bool> {
        if (page.keys.size() == static_cast<size_t>(limit)) {
          page.next_marker = EncodePageToken(kKeysPageKind, page.keys.back().key_id);
          return false;
        }
        COFFER_ASSIGN_OR_RETURN(KeyMetadata meta, internal::DecodeKey(e.value));
        page.keys.push_back(std::move(meta));
        return true;
      }));
  return page;
}

Status KeyDirectory::EnableKey(std::string_view key_id) {
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKms(key_id));
  COFFER_RETURN_IF_ERROR(impl_->Mutate(found.key_id, [](KeyMetadata& m) -> Status {
    if (m.state == KeyState::kPendingDeletion) return InvalidState(m, "is pending deletion.");
    m.state = KeyState::kEnabled;
    return Ok();
  }));
  return Ok();
}

Status KeyDirectory::DisableKey(std::string_view key_id) {
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKms(key_id));
  if (found.aws_managed) return ManagedKeyRefused(found, "DisableKey");
  COFFER_RETURN_IF_ERROR(impl_->Mutate(found.key_id, [](KeyMetadata& m) -> Status {
    if (m.state == KeyState::kPendingDeletion) return InvalidState(m, "is pending deletion.");
    m.state = KeyState::kDisabled;
    return Ok();
  }));
  return Ok();
}

Status KeyDirectory::EnableKeyRotation(std::string_view key_id, std::optional<int> period_days) {
  if (period_days &&
      (*period_days < kMinRotationPeriodDays || *period_days > kMaxRotationPeriodDays)) {
    return Fail(ErrorCode::kInvalidArgument, "RotationPeriodInDays must be between 90 and 2560.",
                Reason::kValidation);
  }
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKeyOnly(key_id));
  if (found.aws_managed) return ManagedKeyRefused(found, "EnableKeyRotation");
  util::SystemTime now = impl_->clock.Now();
  COFFER_RETURN_IF_ERROR(impl_->Mutate(found.key_id, [&](KeyMetadata& m) -> Status {
    COFFER_RETURN_IF_ERROR(CheckUsable(m));
    int period = period_days.value_or(kDefaultRotationPeriodDays);
    if (!m.rotation_enabled || m.rotation_period_days != period || !m.next_rotation) {
      m.rotation_enabled = true;
      m.rotation_period_days = period;
      m.next_rotation = now + Days(period);
    }
    return Ok();
  }));
  return Ok();
}

Status KeyDirectory::DisableKeyRotation(std::string_view key_id) {
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKeyOnly(key_id));
  if (found.aws_managed) return ManagedKeyRefused(found, "DisableKeyRotation");
  COFFER_RETURN_IF_ERROR(impl_->Mutate(found.key_id, [&](KeyMetadata& m) -> Status {
    COFFER_RETURN_IF_ERROR(CheckUsable(m));
    m.rotation_enabled = false;
    m.next_rotation.reset();
    return Ok();
  }));
  return Ok();
}

Result<RotationStatus> KeyDirectory::GetKeyRotationStatus(std::string_view key_id) {
  COFFER_ASSIGN_OR_RETURN(KeyMetadata meta, impl_->ResolveKms(key_id));
  if (meta.state == KeyState::kPendingDeletion) return InvalidState(meta, "is pending deletion.");
  RotationStatus status;
  status.key_arn = meta.arn;
  status.enabled = meta.rotation_enabled;
  status.period_days = meta.rotation_period_days;
  if (meta.rotation_enabled) status.next_rotation = meta.next_rotation;
  return status;
}

Result<std::string> KeyDirectory::RotateKeyOnDemand(std::string_view key_id) {
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKeyOnly(key_id));
  if (found.aws_managed) return ManagedKeyRefused(found, "RotateKeyOnDemand");
  COFFER_RETURN_IF_ERROR(CheckUsable(found));
  COFFER_RETURN_IF_ERROR(impl_->keyring.RotateKey(found.key_id));
  util::SystemTime now = impl_->clock.Now();
  COFFER_RETURN_IF_ERROR(impl_->Mutate(found.key_id, [&](KeyMetadata& m) -> Status {
    m.last_rotated = now;
    return Ok();
  }));
  return found.arn;
}

Result<int> KeyDirectory::RunDueRotations(util::SystemTime now) {
  COFFER_ASSIGN_OR_RETURN(std::vector<Stored<KeyMetadata>> keys, impl_->ScanKeys());
  int rotated = 0;
  std::optional<Error> first_error;
  for (const Stored<KeyMetadata>& stored : keys) {
    const KeyMetadata& k = stored.value;
    if (k.state != KeyState::kEnabled || !k.rotation_enabled || !k.next_rotation ||
        *k.next_rotation > now) {
      continue;
    }
    // Claim the rotation first (compare-and-swap on the record), so two
    // servers running this at once rotate a key only once.
    bool claimed = false;
    auto claim = impl_->Mutate(k.key_id, [&](KeyMetadata& m) -> Status {
      claimed = m.state == KeyState::kEnabled && m.rotation_enabled && m.next_rotation &&
                *m.next_rotation <= now;
      if (!claimed) return Ok();  // someone else got there first
      m.last_rotated = now;
      m.next_rotation = now + Days(m.rotation_period_days);
      return Ok();
    });
    if (!claim.has_value()) {
      if (!first_error) first_error = claim.error();
      continue;
    }
    if (!claimed) continue;
    auto version = impl_->keyring.RotateKey(k.key_id);
    if (!version.has_value()) {
      if (!first_error) first_error = version.error();
      // Make it due again so the next run retries.
      auto again = impl_->Mutate(k.key_id, [&](KeyMetadata& m) -> Status {
        if (m.rotation_enabled) m.next_rotation = now;
        return Ok();
      });
      if (!again.has_value()) {
        util::LogWarn("a failed key rotation could not be made due again",
                      {{"key_id", k.key_id}, {"error", again.error().message}});
      }
      continue;
    }
    ++rotated;
  }
  if (first_error) return Fail(std::move(*first_error));
  return rotated;
}

Result<ScheduledDeletion> KeyDirectory::ScheduleKeyDeletion(std::string_view key_id,
                                                            int window_days) {
  if (window_days < kMinPendingWindowDays || window_days > kMaxPendingWindowDays) {
    return Fail(ErrorCode::kInvalidArgument, "PendingWindowInDays must be between 7 and 30.",
                Reason::kValidation);
  }
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKms(key_id));
  if (found.aws_managed) return ManagedKeyRefused(found, "ScheduleKeyDeletion");
  util::SystemTime now = impl_->clock.Now();
  COFFER_ASSIGN_OR_RETURN(KeyMetadata meta,
                          impl_->Mutate(found.key_id, [&](KeyMetadata& m) -> Status {
                            if (m.state == KeyState::kPendingDeletion) {
                              return InvalidState(m, "is pending deletion.");
                            }
                            m.state = KeyState::kPendingDeletion;
                            m.deletion_date = now + Days(window_days);
                            m.pending_window_days = window_days;
                            return Ok();
                          }));
  return ScheduledDeletion{meta.arn, *meta.deletion_date, meta.pending_window_days};
}

Result<std::string> KeyDirectory::CancelKeyDeletion(std::string_view key_id) {
  COFFER_ASSIGN_OR_RETURN(KeyMetadata found, impl_->ResolveKms(key_id));
  COFFER_ASSIGN_OR_RETURN(KeyMetadata meta,
                          impl_->Mutate(found.key_id, [&](KeyMetadata& m) -> Status {
                            if (m.state != KeyState::kPendingDeletion) {
                              return InvalidState(m, "is not pending deletion.");
                            }
                            m.state = KeyState::kDisabled;
                            m.deletion_date.reset();
                            m.pending_window_days = 0;
                            return Ok();
                          }));
  return meta.arn;
}

Result<int> KeyDirectory::RunDueDeletions(util::SystemTime now) {
  COFFER_ASSIGN_OR_RETURN(std::vector<Stored<KeyMetadata>> keys, impl_->ScanKeys());
  std::vector<std::pair<std::string, internal::AliasRecord>> aliases;
  bool any_due = false;
  for (const Stored<KeyMetadata>& stored : keys) {
    const KeyMetadata& k = stored.value;
    any_due = any_due ||
              (k.state == KeyState::kPendingDeletion && k.deletion_date && *k.deletion_date <= now);
  }
  if (!any_due) return 0;
  COFFER_ASSIGN_OR_RETURN(aliases, impl_->ScanAliases());
  int deleted = 0;
  std::optional<Error> first_error;
  for (const Stored<KeyMetadata>& stored : keys) {
    const KeyMetadata& k = stored.value;
    if (k.state != KeyState::kPendingDeletion || !k.deletion_date || *k.deletion_date > now) {
      continue;
    }
    // One transaction: the key record (only if unchanged since the scan, so a
    // concurrent CancelKeyDeletion wins) and every alias pointing at it.
    storage::Txn txn;
    std::string key = internal::KeyRecordKey(k.key_id);
    txn.compares.push_back(storage::Compare{key, stored.revision});
    txn.writes.push_back(storage::Write::Delete(key));
    for (const auto& [name, rec] : aliases) {
      if (rec.target_key_id == k.key_id) {
        txn.writes.push_back(storage::Write::Delete(internal::AliasRecordKey(name)));
      }
    }
    auto rev = impl_->backend.Commit(txn);
    if (!rev.has_value()) {
      // kAborted: changed since the scan (e.g. cancelled); the next run looks again.
      if (rev.error().code != ErrorCode::kAborted && !first_error) first_error = rev.error();
      continue;
    }
    ++deleted;
  }
  if (first_error) return Fail(std::move(*first_error));
  return deleted;
}

Status KeyDirectory::CreateAlias(std::string_view alias_name, std::string_view target_key_id) {
  COFFER_RETURN_IF_ERROR(CheckAliasName(alias_name));
  COFFER_ASSIGN_OR_RETURN(KeyMetadata target, impl_->AliasTarget(target_key_id));
  util::SystemTime now = impl_->clock.Now();
  std::string key = internal::AliasRecordKey(alias_name);
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{key, 0});
  txn.writes.push_back(storage::Write::Put(key, internal::EncodeAlias({target.key_id, now, now})));
  auto rev = impl_->backend.Commit(txn);
  if (!rev.has_value()) {
    if (rev.error().code == ErrorCode::kAborted) {
      return Fail(ErrorCode::kAlreadyExists,
                  "An alias with the name " + impl_->AliasArn(alias_name) + " already exists",
                  Reason::kKmsAliasExists);
    }
    return Fail(std::move(rev).error());
  }
  impl_->aliases.Put(alias_name, target.key_id, *rev);
  return Ok();
}

Status KeyDirectory::UpdateAlias(std::string_view alias_name, std::string_view target_key_id) {
  COFFER_RETURN_IF_ERROR(CheckAliasName(alias_name));
  COFFER_ASSIGN_OR_RETURN(KeyMetadata target, impl_->AliasTarget(target_key_id));
  util::SystemTime now = impl_->clock.Now();
  COFFER_ASSIGN_OR_RETURN(
      std::optional<Stored<internal::AliasRecord>> written,
      UpdateRecord<internal::AliasRecord>(impl_->backend, internal::AliasRecordKey(alias_name),
                                          "KMS alias " + std::string(alias_name),
                                          &internal::DecodeAlias, &internal::EncodeAlias,
                                          [&](internal::AliasRecord& rec) -> Status {
                                            rec.target_key_id = target.key_id;
                                            rec.updated = now;
                                            return Ok();
                                          }));
  if (!written) {
    return Fail(ErrorCode::kNotFound, "Alias " + impl_->AliasArn(alias_name) + " is not found.",
                Reason::kKmsAliasNotFound);
  }
  impl_->aliases.Put(alias_name, target.key_id, written->revision);
  return Ok();
}

Status KeyDirectory::DeleteAlias(std::string_view alias_name) {
  COFFER_RETURN_IF_ERROR(CheckAliasName(alias_name));
  std::string key = internal::AliasRecordKey(alias_name);
  COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry, GetOptional(impl_->backend, key));
  if (!entry) {
    return Fail(ErrorCode::kNotFound, "Alias " + impl_->AliasArn(alias_name) + " is not found.",
                Reason::kKmsAliasNotFound);
  }
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{key, entry->mod_revision});
  txn.writes.push_back(storage::Write::Delete(key));
  auto rev = impl_->backend.Commit(txn);
  if (!rev.has_value()) {
    if (rev.error().code == ErrorCode::kAborted) {  // changed or deleted meanwhile
      return Fail(ErrorCode::kAborted, "alias " + std::string(alias_name) + " changed meanwhile",
                  Reason::kCasConflict);
    }
    return Fail(std::move(rev).error());
  }
  return Ok();
}

Result<AliasPage> KeyDirectory::ListAliases(std::optional<std::string_view> key_id, int limit,
                                            std::string_view marker) {
  limit = std::clamp(limit, 1, kMaxListLimit);
  std::string after;
  if (!marker.empty()) {
    COFFER_ASSIGN_OR_RETURN(after, DecodePageToken(kAliasesPageKind, marker));
  }
  std::optional<std::string> filter;
  if (key_id) {
    COFFER_ASSIGN_OR_RETURN(KeyMetadata meta, impl_->ResolveKeyOnly(*key_id));
    filter = meta.key_id;
  }
  COFFER_ASSIGN_OR_RETURN(auto records, impl_->ScanAliases());
  std::map<std::string, AliasEntry> all;
  for (auto& [name, rec] : records) {
    if (filter && rec.target_key_id != *filter) continue;
    AliasEntry e;
    e.name = name;
    e.arn = impl_->AliasArn(name);
    e.target_key_id = rec.target_key_id;
    e.created = rec.created;
    e.updated = rec.updated;
    all.emplace(name, std::move(e));
  }
  if (!filter) {
    for (const ManagedAlias& m : kManagedAliases) {
      std::string name(m.alias);
      if (all.contains(name)) continue;
      all.emplace(name, AliasEntry{name, impl_->AliasArn(name), "", std::nullopt, std::nullopt});
    }
  }
  AliasPage page;
  for (auto it = after.empty() ? all.begin() : all.upper_bound(after); it != all.end(); ++it) {
    if (page.aliases.size() == static_cast<size_t>(limit)) {
      page.next_marker = EncodePageToken(kAliasesPageKind, page.aliases.back().name);
      break;
    }
    page.aliases.push_back(it->second);
  }
  return page;
}

}  // namespace coffer::domain::kms
