#include "domain/kms/key_directory.h"

#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>

#include "domain/kms/internal/records.h"
#include "util/thread_annotations.h"

namespace coffer::domain::kms {
namespace {

constexpr size_t kMaxKeyIdInput = 2048;
constexpr std::string_view kAliasPrefix = "alias/";
constexpr int kMaxCasAttempts = 16;

struct ManagedAlias {
  std::string_view alias;
  std::string_view description;
};
constexpr ManagedAlias kManagedAliases[] = {
    {"alias/aws/ssm", "Default key that protects my SSM parameters when no other key is defined"},
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

}  // namespace

struct KeyDirectory::Impl {
  Impl(storage::Backend& b, keyring::Keyring& k, util::Clock& c, util::IdGenerator& i)
      : backend(b), keyring(k), clock(c), ids(i) {}

  storage::Backend& backend;
  keyring::Keyring& keyring;
  util::Clock& clock;
  util::IdGenerator& ids;
  std::string region;
  std::string account_id;
  uint64_t watch_id = 0;

  // Metadata cache, invalidated by the storage change feed (another server or
  // a later KMS API call may change a record).
  struct CachedKey {
    KeyMetadata meta;
    storage::Revision revision = 0;
  };
  struct CachedAlias {
    std::string target;
    storage::Revision revision = 0;
  };
  std::shared_mutex mu;
  std::map<std::string, CachedKey, std::less<>> keys COFFER_GUARDED_BY(mu);
  std::map<std::string, CachedAlias, std::less<>> aliases COFFER_GUARDED_BY(mu);
  // Newest change-feed revision seen per storage key, so a lookup that read an
  // older revision does not cache it after the invalidation went by.
  std::map<std::string, storage::Revision, std::less<>> last_change COFFER_GUARDED_BY(mu);
  // Serialises creation of managed keys in this process (CAS covers other processes).
  std::mutex create_mu;

  std::string KeyArn(std::string_view key_id) const {
    return "arn:aws:kms:" + region + ":" + account_id + ":key/" + std::string(key_id);
  }

  bool IsStale(std::string_view storage_key, storage::Revision rev) const {
    auto it = last_change.find(storage_key);
    return it != last_change.end() && it->second > rev;
  }

  void CacheKey(const KeyMetadata& meta, storage::Revision rev) {
    std::unique_lock lock(mu);
    if (IsStale(internal::KeyRecordKey(meta.key_id), rev)) return;
    auto [it, inserted] = keys.try_emplace(meta.key_id, CachedKey{meta, rev});
    if (!inserted && it->second.revision < rev) it->second = CachedKey{meta, rev};
  }
  void CacheAlias(std::string_view alias, std::string target, storage::Revision rev) {
    std::unique_lock lock(mu);
    if (IsStale(internal::AliasRecordKey(alias), rev)) return;
    auto it = aliases.find(alias);
    if (it == aliases.end()) {
      aliases.emplace(std::string(alias), CachedAlias{std::move(target), rev});
    } else if (it->second.revision < rev) {
      it->second = CachedAlias{std::move(target), rev};
    }
  }

  void OnEvents(const std::vector<storage::Event>& events) {
    std::unique_lock lock(mu);
    for (const storage::Event& e : events) {
      std::string_view key = e.key;
      if (!key.starts_with(internal::kKeyPrefix) && !key.starts_with(internal::kAliasPrefix)) {
        continue;
      }
      auto [seen, inserted] = last_change.try_emplace(e.key, e.revision);
      if (!inserted && seen->second < e.revision) seen->second = e.revision;
      if (key.starts_with(internal::kKeyPrefix)) {
        auto it = keys.find(key.substr(internal::kKeyPrefix.size()));
        if (it != keys.end() && it->second.revision < e.revision) keys.erase(it);
      } else if (key.starts_with(internal::kAliasPrefix)) {
        auto it = aliases.find(key.substr(internal::kAliasPrefix.size()));
        if (it != aliases.end() && it->second.revision < e.revision) aliases.erase(it);
      }
    }
  }

  // kNotFound (kKeyNotFound) when there is no such key record.
  Result<KeyMetadata> LookupKey(std::string_view key_id) {
    {
      std::shared_lock lock(mu);
      auto it = keys.find(key_id);
      if (it != keys.end()) return it->second.meta;
    }
    auto entry = backend.Get(internal::KeyRecordKey(key_id));
    if (!entry.has_value()) {
      if (entry.error().code == ErrorCode::kNotFound) {
        return Fail(ErrorCode::kNotFound, "Key '" + KeyArn(key_id) + "' does not exist",
                    Reason::kKeyNotFound);
      }
      return Fail(std::move(entry).error());
    }
    COFFER_ASSIGN_OR_RETURN(KeyMetadata meta, internal::DecodeKey(entry->value));
    if (meta.key_id != key_id) {
      return Fail(ErrorCode::kDataLoss,
                  "kms key record " + std::string(key_id) + " names another key",
                  Reason::kMalformedInput);
    }
    CacheKey(meta, entry->mod_revision);
    return meta;
  }

  // The target key id of `alias`; kNotFound (kInvalidKeyId) if there is none.
  Result<std::string> LookupAlias(std::string_view alias) {
    {
      std::shared_lock lock(mu);
      auto it = aliases.find(alias);
      if (it != aliases.end()) return it->second.target;
    }
    auto entry = backend.Get(internal::AliasRecordKey(alias));
    if (!entry.has_value()) {
      if (entry.error().code == ErrorCode::kNotFound) return InvalidKeyId(alias);
      return Fail(std::move(entry).error());
    }
    COFFER_ASSIGN_OR_RETURN(internal::AliasRecord rec, internal::DecodeAlias(entry->value));
    CacheAlias(alias, rec.target_key_id, entry->mod_revision);
    return rec.target_key_id;
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
    std::lock_guard create_lock(create_mu);
    std::string alias_key = internal::AliasRecordKey(managed.alias);
    for (int attempt = 0; attempt < kMaxCasAttempts; ++attempt) {
      auto existing = backend.Get(alias_key);
      if (existing.has_value()) {
        COFFER_ASSIGN_OR_RETURN(internal::AliasRecord rec, internal::DecodeAlias(existing->value));
        CacheAlias(managed.alias, rec.target_key_id, existing->mod_revision);
        return LookupKey(rec.target_key_id);
      }
      if (existing.error().code != ErrorCode::kNotFound) return Fail(std::move(existing).error());

      KeyMetadata meta;
      meta.key_id = ids.NewUuid();
      meta.arn = KeyArn(meta.key_id);
      meta.description = std::string(managed.description);
      meta.state = KeyState::kEnabled;
      meta.aws_managed = true;
      meta.created = clock.Now();
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
      auto rev = backend.Commit(txn);
      if (!rev.has_value()) {
        if (rev.error().code == ErrorCode::kAborted) continue;  // someone else created it
        return Fail(std::move(rev).error());
      }
      CacheKey(meta, *rev);
      CacheAlias(managed.alias, meta.key_id, *rev);
      return meta;
    }
    return Fail(ErrorCode::kAborted, "could not create " + std::string(managed.alias),
                Reason::kCasConflict);
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
};

KeyDirectory::KeyDirectory(storage::Backend& backend, keyring::Keyring& keyring, util::Clock& clock,
                           util::IdGenerator& ids, std::string region, std::string account_id)
    : impl_(std::make_unique<Impl>(backend, keyring, clock, ids)),
      region_(std::move(region)),
      account_id_(std::move(account_id)) {
  impl_->region = region_;
  impl_->account_id = account_id_;
  Impl* impl = impl_.get();
  impl_->watch_id =
      backend.Watch([impl](const std::vector<storage::Event>& events) { impl->OnEvents(events); });
}

KeyDirectory::~KeyDirectory() { impl_->backend.Unwatch(impl_->watch_id); }

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

}  // namespace coffer::domain::kms
