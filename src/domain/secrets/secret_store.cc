#include "domain/secrets/secret_store.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <mutex>

#include "domain/arn.h"
#include "domain/page_token.h"
#include "domain/record_store.h"
#include "domain/secrets/internal/filters.h"
#include "domain/secrets/internal/records.h"
#include "domain/secrets/internal/staging.h"
#include "domain/secrets/schedule.h"
#include "util/check.h"

namespace coffer::domain::secrets {

using internal::HeadRecord;
using internal::VersionInfo;
using internal::VersionRecord;
using internal::AttachStages;
using internal::CheckFilters;
using internal::FindVersion;
using internal::HasStage;
using internal::HolderOf;
using internal::Matches;
using internal::MoveStage;
using internal::RemoveStage;

namespace {

constexpr int64_t kDayMs = 24 * 60 * 60 * 1000;
constexpr std::string_view kListTokenKind = "sm.list";
constexpr std::string_view kBatchTokenKind = "sm.batch";
constexpr std::string_view kVersionsTokenKind = "sm.versions";
constexpr std::string_view kNameChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+=.@-";

std::unexpected<Error> SecretNotFound() {
  return Fail(ErrorCode::kNotFound, "Secrets Manager can't find the specified secret.",
              Reason::kSecretNotFound);
}

std::unexpected<Error> VersionNotFound(std::string what) {
  return Fail(ErrorCode::kNotFound,
              "Secrets Manager can't find the specified secret value for " + what,
              Reason::kSecretVersionNotFound);
}

std::unexpected<Error> InvalidParameter(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kSecretInvalidParameter);
}

std::unexpected<Error> Validation(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kValidation);
}

std::unexpected<Error> ScheduledForDeletion() {
  return Fail(ErrorCode::kFailedPrecondition,
              "You can't perform this operation on the secret because it was marked for "
              "deletion.",
              Reason::kSecretScheduledForDeletion);
}

Status CheckLength(std::string_view value, std::string_view member, size_t min, size_t max) {
  if (value.size() < min) {
    return Validation("1 validation error detected: Value at '" + std::string(member) +
                      "' failed to satisfy constraint: Member must have length greater than or "
                      "equal to " +
                      std::to_string(min));
  }
  if (value.size() > max) {
    return Validation("1 validation error detected: Value at '" + std::string(member) +
                      "' failed to satisfy constraint: Member must have length less than or "
                      "equal to " +
                      std::to_string(max));
  }
  return Ok();
}

Status CheckToken(const std::optional<std::string>& token) {
  if (!token) return Ok();
  return CheckLength(*token, "clientRequestToken", kMinTokenLength, kMaxTokenLength);
}

Status CheckVersionId(std::string_view id, std::string_view member) {
  return CheckLength(id, member, kMinTokenLength, kMaxTokenLength);
}

Status CheckValue(const SecretValue& value) {
  if (value.bytes.size() > kMaxValueSize) {
    return Validation(std::string("1 validation error detected: Value at '") +
                      (value.is_binary ? "secretBinary" : "secretString") +
                      "' failed to satisfy constraint: Member must have length less than or "
                      "equal to 65536");
  }
  return Ok();
}

Status CheckName(std::string_view name) {
  COFFER_RETURN_IF_ERROR(CheckLength(name, "name", 1, kMaxNameLength));
  if (name.find_first_not_of(kNameChars) != std::string_view::npos) {
    return InvalidParameter(
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the "
        "following: -/_+=.@");
  }
  return Ok();
}

Status CheckStages(const std::vector<std::string>& stages) {
  if (stages.empty() || stages.size() > kMaxStagesPerVersion) {
    return Validation(
        "1 validation error detected: Value at 'versionStages' failed to satisfy constraint: "
        "Member must have length less than or equal to 20 and greater than or equal to 1");
  }
  for (const std::string& s : stages)
    COFFER_RETURN_IF_ERROR(CheckLength(s, "versionStages", 1, 256));
  return Ok();
}

Status CheckTags(const std::vector<Tag>& tags) {
  for (const Tag& tag : tags) {
    auto ok = ValidateTag(tag);
    if (!ok) return InvalidParameter(ok.error().message);
  }
  return Ok();
}

Status CheckHook(std::string_view hook) {
  COFFER_RETURN_IF_ERROR(CheckLength(hook, "rotationLambdaARN", 1, 2048));
  if (hook.starts_with("/") || hook.starts_with("http://") || hook.starts_with("https://") ||
      hook.starts_with("arn:aws:lambda:")) {
    return Ok();
  }
  return InvalidParameter(
      "RotationLambdaARN must be an absolute path of an executable, an http(s) URL or a Lambda "
      "ARN.");
}

int64_t DayOf(int64_t ms) { return ms - (((ms % kDayMs) + kDayMs) % kDayMs); }

std::optional<util::SystemTime> OptTime(int64_t ms) {
  if (ms == 0) return std::nullopt;
  return util::FromUnixMillis(ms);
}

std::optional<RotationRules> RulesOf(const internal::RotationRecord& r) {
  if (r.after_days == 0 && r.schedule_expression.empty() && r.duration.empty()) {
    return std::nullopt;
  }
  RotationRules rules;
  if (r.after_days != 0) rules.automatically_after_days = r.after_days;
  if (!r.schedule_expression.empty()) rules.schedule_expression = r.schedule_expression;
  if (!r.duration.empty()) rules.duration = r.duration;
  return rules;
}

// The schedule of the stored rules; nullopt when none is configured.
std::optional<RotationSchedule> ScheduleOf(const internal::RotationRecord& r) {
  Result<RotationSchedule> s = Fail(ErrorCode::kNotFound, "");
  if (!r.schedule_expression.empty()) {
    s = ParseScheduleExpression(r.schedule_expression);
  } else if (r.after_days != 0) {
    s = ScheduleAfterDays(r.after_days);
  }
  if (!s) return std::nullopt;
  return *s;
}

int64_t NextRotationMs(const internal::RotationRecord& r, util::SystemTime base) {
  auto schedule = ScheduleOf(r);
  if (!schedule) return 0;
  auto next = NextRotationAfter(*schedule, base);
  return next ? util::ToUnixMillis(*next) : 0;
}

SecretDescription Describe(const std::string& name, const HeadRecord& h) {
  SecretDescription d;
  d.arn = h.arn;
  d.name = name;
  if (h.has_description) d.description = h.description;
  if (!h.key_name.empty()) d.kms_key_id = h.key_name;
  d.rotation_enabled = h.rotation.enabled;
  if (!h.rotation.hook.empty()) d.rotation_hook = h.rotation.hook;
  d.rotation_rules = RulesOf(h.rotation);
  d.last_rotated = OptTime(h.rotation.last_rotated_ms);
  if (h.rotation.enabled) d.next_rotation = OptTime(h.rotation.next_rotation_ms);
  d.last_changed = util::FromUnixMillis(h.last_changed_ms);
  d.last_accessed = OptTime(h.last_accessed_ms);
  d.deleted = OptTime(h.deleted_ms);
  d.created = util::FromUnixMillis(h.created_ms);
  for (const auto& [k, v] : h.tags) d.tags.push_back(Tag{k, v});
  for (const VersionInfo& v : h.versions) {
    if (!v.stages.empty()) d.version_ids_to_stages[v.id] = v.stages;
  }
  return d;
}

RotationInfo RotationOf(const std::string& name, const HeadRecord& h) {
  RotationInfo info;
  info.arn = h.arn;
  info.name = name;
  info.rotation_enabled = h.rotation.enabled;
  info.hook = h.rotation.hook;
  info.rules = RulesOf(h.rotation).value_or(RotationRules{});
  info.last_rotated = OptTime(h.rotation.last_rotated_ms);
  info.next_rotation = OptTime(h.rotation.next_rotation_ms);
  const VersionInfo* current = HolderOf(h, kStageCurrent);
  const VersionInfo* pending = HolderOf(h, kStagePending);
  if (current) info.current_version_id = current->id;
  if (pending && pending != current) info.pending_version_id = pending->id;
  return info;
}

std::string SortPosition(int64_t created_ms, std::string_view name) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020lld/", static_cast<long long>(created_ms));
  return std::string(buf) + std::string(name);
}

}  // namespace

struct SecretStore::Impl {
  struct Loaded {
    HeadRecord head;
    storage::Revision revision = 0;
  };
  struct Located {
    std::string name;
    std::shared_ptr<const Loaded> loaded;
  };
  // The outcome of one mutation step: whether the head changed.
  using Step =
      std::function<Result<bool>(const std::string& name, HeadRecord& head, storage::Txn& txn)>;

  Impl(storage::Backend& b, keyring::Keyring& k, kms::KeyDirectory& d, util::Clock& c,
       util::IdGenerator& i, std::string r, std::string a)
      : backend(b),
        keyring(k),
        keys(d),
        clock(c),
        ids(i),
        region(std::move(r)),
        account(std::move(a)),
        heads(b,
              [](std::string_view key) {
                return key.starts_with(internal::kHeadPrefix) ? internal::NameOfKey(key) : "";
              }),
        versions(b, [](std::string_view key) {
          return key.starts_with(internal::kVersionPrefix) ? std::string(key) : "";
        }) {}

  storage::Backend& backend;
  keyring::Keyring& keyring;
  kms::KeyDirectory& keys;
  util::Clock& clock;
  util::IdGenerator& ids;
  std::string region;
  std::string account;

  // Heads by secret name; version records by storage key (envelopes only,
  // never plaintext).
  WatchedCache<Loaded> heads;
  WatchedCache<VersionRecord> versions;

  // After a commit of `txn` at `revision` (a remote backend's change feed may
  // come later).
  void Drop(const storage::Txn& txn, storage::Revision revision) {
    for (const storage::Write& w : txn.writes) {
      if (w.key.starts_with(internal::kHeadPrefix)) {
        heads.Changed(internal::NameOfKey(w.key), revision);
      } else {
        versions.Changed(w.key, revision);
      }
    }
  }

  int64_t NowMs() { return util::ToUnixMillis(clock.Now()); }

  // The head from storage; nullopt when absent.
  Result<std::optional<Loaded>> LoadHead(std::string_view name) {
    COFFER_ASSIGN_OR_RETURN(std::optional<Stored<HeadRecord>> stored,
                            GetRecord(backend, internal::HeadKey(name), &internal::DecodeHead));
    if (!stored) return std::optional<Loaded>();
    return std::optional<Loaded>(Loaded{std::move(stored->value), stored->revision});
  }

  // The head, from the cache when possible; nullptr when absent.
  Result<std::shared_ptr<const Loaded>> LoadCached(const std::string& name) {
    auto loaded = heads.GetOrLoad(name, [&]() -> Result<Stored<Loaded>> {
      COFFER_ASSIGN_OR_RETURN(std::optional<Loaded> head, LoadHead(name));
      if (!head) return SecretNotFound();
      storage::Revision revision = head->revision;
      return Stored<Loaded>{std::move(*head), revision};
    });
    if (!loaded && loaded.error().reason == Reason::kSecretNotFound) {
      return std::shared_ptr<const Loaded>();
    }
    return loaded;
  }

  // Resolves a SecretId (name, full ARN, partial ARN). kNotFound (kSecretNotFound).
  Result<Located> Locate(std::string_view secret_id) {
    if (secret_id.empty() || secret_id.size() > 2048) return SecretNotFound();
    if (!secret_id.starts_with("arn:")) {
      std::string name(secret_id);
      COFFER_ASSIGN_OR_RETURN(auto loaded, LoadCached(name));
      if (!loaded) return SecretNotFound();
      return Located{std::move(name), std::move(loaded)};
    }
    auto arn = ParseArn(secret_id);
    if (!arn || !IsLocalArn(*arn, "secretsmanager", region, account) ||
        !arn->resource.starts_with("secret:")) {
      return SecretNotFound();
    }
    std::string rest = arn->resource.substr(7);
    // Full ARN: name + "-" + 6 characters, and the stored ARN must be this one.
    if (rest.size() > 7 && rest[rest.size() - 7] == '-') {
      std::string name = rest.substr(0, rest.size() - 7);
      COFFER_ASSIGN_OR_RETURN(auto loaded, LoadCached(name));
      if (loaded && loaded->head.arn == secret_id) return Located{std::move(name), loaded};
    }
    // Partial ARN: the whole resource is the name.
    COFFER_ASSIGN_OR_RETURN(auto loaded, LoadCached(rest));
    if (!loaded) return SecretNotFound();
    return Located{std::move(rest), std::move(loaded)};
  }

  Result<std::shared_ptr<const VersionRecord>> LoadVersion(const std::string& name,
                                                           const std::string& id) {
    std::string key = internal::VersionKey(name, id);
    return versions.GetOrLoad(key, [&]() -> Result<Stored<VersionRecord>> {
      COFFER_ASSIGN_OR_RETURN(std::optional<Stored<VersionRecord>> stored,
                              GetRecord(backend, key, &internal::DecodeVersion));
      if (!stored) return VersionNotFound("VersionId: " + id);
      if (stored->value.id != id) {
        return Fail(ErrorCode::kDataLoss, "secret version record does not match its key",
                    Reason::kMalformedInput);
      }
      return std::move(*stored);
    });
  }

  // `may_decrypt`: see DecryptCheck.
  Result<SecretValue> Open(const std::string& arn, const VersionRecord& record,
                           const DecryptCheck& may_decrypt = {}) {
    auto sealed_by = keyring::Keyring::Inspect(record.envelope);
    if (!sealed_by && may_decrypt) {
      // No key to check permission on: refuse rather than decrypt unchecked.
      return Fail(ErrorCode::kFailedPrecondition,
                  "Secrets Manager can't decrypt the protected secret text using the provided "
                  "KMS key.",
                  Reason::kSecretDecryptionFailure);
    }
    // As on AWS, a value reads only while its KMS key exists and is enabled.
    if (sealed_by) {
      auto key = keys.Get(sealed_by->key_id);
      if (!key && key.error().code != ErrorCode::kNotFound) return Fail(key.error());
      if (!key || key->state != kms::KeyState::kEnabled) {
        return Fail(ErrorCode::kFailedPrecondition,
                    "Secrets Manager can't decrypt the protected secret text using the provided "
                    "KMS key: " +
                        (key ? key->arn + " is not enabled."
                             : std::string("the KMS key no longer exists.")),
                    Reason::kSecretDecryptionFailure);
      }
      if (may_decrypt) COFFER_RETURN_IF_ERROR(may_decrypt(*key, arn, record.id));
    }
    auto opened = keyring.Decrypt(internal::ValueAad(arn, record.id), record.envelope);
    if (!opened) {
      Error e = opened.error();
      if (e.code == ErrorCode::kNotFound || e.code == ErrorCode::kFailedPrecondition) {
        return Fail(ErrorCode::kFailedPrecondition,
                    "Secrets Manager can't decrypt the protected secret text using the provided "
                    "KMS key.",
                    Reason::kSecretDecryptionFailure);
      }
      return Fail(std::move(e));
    }
    return SecretValue{record.is_binary, std::move(opened->plaintext)};
  }

  // Resolves the KMS key a secret names ("" = default).
  Result<kms::KeyMetadata> ResolveKey(std::string_view key_name) {
    auto key = keys.Resolve(key_name.empty() ? kDefaultKeyId : key_name);
    if (!key) {
      const Error& e = key.error();
      if (e.code == ErrorCode::kNotFound || e.code == ErrorCode::kFailedPrecondition ||
          e.code == ErrorCode::kInvalidArgument) {
        return Fail(ErrorCode::kFailedPrecondition,
                    "Secrets Manager can't encrypt the protected secret text using the provided "
                    "KMS key. Check that the KMS key is available, enabled, and not in an "
                    "invalid state. " +
                        e.message,
                    Reason::kSecretEncryptionFailure);
      }
      return Fail(e);
    }
    return *key;
  }

  // Seals `value` as version `v` of the secret and adds the record write.
  Status SealInto(const std::string& name, const HeadRecord& head, VersionInfo& v,
                  const SecretValue& value, storage::Txn& txn) {
    COFFER_ASSIGN_OR_RETURN(kms::KeyMetadata key, ResolveKey(head.key_name));
    COFFER_ASSIGN_OR_RETURN(
        std::string envelope,
        keyring.Encrypt(key.key_id, internal::ValueAad(head.arn, v.id), value.bytes.Reveal()));
    v.has_value = true;
    v.key_name = head.key_name;
    v.kms_key_id = key.key_id;
    VersionRecord record{v.id, value.is_binary, std::move(envelope)};
    txn.writes.push_back(
        storage::Write::Put(internal::VersionKey(name, v.id), internal::EncodeVersion(record)));
    return Ok();
  }

  // Removes deprecated versions beyond kMaxVersions (oldest first, never those
  // younger than a day).
  void Purge(const std::string& name, HeadRecord& head, int64_t now_ms, storage::Txn& txn) {
    const int64_t min_age_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(kDeprecatedVersionMinAge).count();
    size_t excess = head.versions.size() > kMaxVersions ? head.versions.size() - kMaxVersions : 0;
    for (auto it = head.versions.begin(); excess > 0 && it != head.versions.end();) {
      if (it->stages.empty() && now_ms - it->created_ms >= min_age_ms) {
        txn.writes.push_back(storage::Write::Delete(internal::VersionKey(name, it->id)));
        it = head.versions.erase(it);
        --excess;
      } else {
        ++it;
      }
    }
  }

  // Adds (or matches, or fills) version `token` with `value` and `stages`
  // (nullopt = AWSCURRENT). Returns the version id; sets *changed.
  Result<std::string> WriteValue(const std::string& name, HeadRecord& head,
                                 const std::optional<std::string>& token, const SecretValue& value,
                                 const std::optional<std::vector<std::string>>& stages,
                                 int64_t now_ms, storage::Txn& txn, bool* changed) {
    std::string id = token ? *token : ids.NewUuid();
    VersionInfo* existing = FindVersion(head, id);
    if (existing && existing->has_value) {
      COFFER_ASSIGN_OR_RETURN(auto record, LoadVersion(name, id));
      COFFER_ASSIGN_OR_RETURN(SecretValue stored, Open(head.arn, *record));
      if (stored.is_binary == value.is_binary && stored.bytes.Equals(value.bytes)) {
        *changed = false;
        return id;  // idempotent retry
      }
      return Fail(ErrorCode::kAlreadyExists,
                  "You can't modify an existing version, you can only create a new version. "
                  "The ClientRequestToken " +
                      id + " names a version with a different value.",
                  Reason::kSecretVersionAlreadyExists);
    }
    if (!existing) {
      VersionInfo v;
      v.id = id;
      v.created_ms = now_ms;
      head.versions.push_back(std::move(v));
      existing = &head.versions.back();
    }
    COFFER_RETURN_IF_ERROR(SealInto(name, head, *existing, value, txn));
    std::vector<std::string> wanted =
        stages ? *stages : std::vector<std::string>{std::string(kStageCurrent)};
    COFFER_RETURN_IF_ERROR(AttachStages(head, id, wanted));
    head.last_changed_ms = now_ms;
    Purge(name, head, now_ms, txn);
    *changed = true;
    return id;
  }

  // Read-modify-write of the head of `name` under compare-and-swap, retrying
  // conflicts. `arn` (when not empty) must still be the secret's ARN.
  Status Mutate(const std::string& name, const std::string& arn, const Step& step) {
    storage::Txn committed_txn;
    COFFER_ASSIGN_OR_RETURN(
        std::optional<storage::Revision> committed,
        CommitWithRetry(backend, "secret " + name, [&]() -> Result<std::optional<storage::Txn>> {
          COFFER_ASSIGN_OR_RETURN(std::optional<Loaded> loaded, LoadHead(name));
          if (!loaded || (!arn.empty() && loaded->head.arn != arn)) return SecretNotFound();
          storage::Txn txn;
          txn.compares.push_back(storage::Compare{internal::HeadKey(name), loaded->revision});
          COFFER_ASSIGN_OR_RETURN(bool head_changed, step(name, loaded->head, txn));
          if (head_changed) {
            txn.writes.push_back(
                storage::Write::Put(internal::HeadKey(name), internal::EncodeHead(loaded->head)));
          }
          committed_txn = txn;
          return std::optional<storage::Txn>(std::move(txn));
        }));
    if (committed) Drop(committed_txn, *committed);
    return Ok();
  }

  // Mutate on a SecretId.
  Result<std::string> MutateId(std::string_view secret_id, const Step& step) {
    COFFER_ASSIGN_OR_RETURN(Located loc, Locate(secret_id));
    COFFER_RETURN_IF_ERROR(Mutate(loc.name, loc.loaded->head.arn, step));
    return loc.name;
  }

  // Deletes the head and every version record of `name` into `txn`.
  Status DeleteAll(const std::string& name, storage::Txn& txn) {
    COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries,
                            ScanAll(backend, internal::VersionKeyPrefix(name)));
    for (const storage::Entry& e : entries) {
      // A longer name sharing the prefix ("a/b" vs "a") has more '/'-separated parts.
      if (internal::NameOfKey(e.key) != name) continue;
      txn.writes.push_back(storage::Write::Delete(e.key));
    }
    txn.writes.push_back(storage::Write::Delete(internal::HeadKey(name)));
    return Ok();
  }

  // Every head in storage, in name order.
  Result<std::vector<std::pair<std::string, HeadRecord>>> AllHeads() {
    COFFER_ASSIGN_OR_RETURN(auto records,
                            ScanRecords(backend, internal::kHeadPrefix, &internal::DecodeHead));
    std::vector<std::pair<std::string, HeadRecord>> out;
    out.reserve(records.size());
    for (auto& [name, stored] : records) out.emplace_back(name, std::move(stored.value));
    return out;
  }

  // Records the access day on the secret and the version (best effort: a
  // lost race or a storage error only loses the date).
  void TouchAccess(const std::string& name, const HeadRecord& seen, const std::string& id) {
    int64_t day = DayOf(NowMs());
    const VersionInfo* v = FindVersion(seen, id);
    if (seen.last_accessed_ms == day && v && v->last_accessed_ms == day) return;
    auto touched = Mutate(name, seen.arn,
                          [&](const std::string&, HeadRecord& head, storage::Txn&) -> Result<bool> {
                            VersionInfo* mv = FindVersion(head, id);
                            if (head.last_accessed_ms == day &&
                                (!mv || mv->last_accessed_ms == day)) {
                              return false;
                            }
                            head.last_accessed_ms = day;
                            if (mv) mv->last_accessed_ms = day;
                            return true;
                          });
    IgnoreError(touched, "best effort: a lost race or a storage error only loses the date");
  }

  Result<VersionedSecret> Get(std::string_view secret_id, std::optional<std::string_view> id,
                              std::optional<std::string_view> stage,
                              const DecryptCheck& may_decrypt = {}) {
    COFFER_ASSIGN_OR_RETURN(Located loc, Locate(secret_id));
    const HeadRecord& head = loc.loaded->head;
    if (head.deleted_ms != 0) return ScheduledForDeletion();
    const VersionInfo* v = nullptr;
    if (id) {
      v = FindVersion(head, *id);
      if (!v) return VersionNotFound("VersionId: " + std::string(*id));
      if (stage && !HasStage(*v, *stage)) {
        return Fail(ErrorCode::kFailedPrecondition,
                    "You provided a VersionStage that is not associated to the provided "
                    "VersionId.",
                    Reason::kSecretVersionStageMismatch);
      }
    } else {
      std::string_view label = stage ? *stage : kStageCurrent;
      v = HolderOf(head, label);
      if (!v) return VersionNotFound("staging label: " + std::string(label));
    }
    if (!v->has_value) {
      return VersionNotFound(id ? "VersionId: " + v->id
                                : "staging label: " + std::string(stage ? *stage : kStageCurrent));
    }
    COFFER_ASSIGN_OR_RETURN(auto record, LoadVersion(loc.name, v->id));
    VersionedSecret out;
    COFFER_ASSIGN_OR_RETURN(out.value, Open(head.arn, *record, may_decrypt));
    out.arn = head.arn;
    out.name = loc.name;
    out.version_id = v->id;
    out.version_stages = v->stages;
    out.created = util::FromUnixMillis(v->created_ms);
    TouchAccess(loc.name, head, v->id);
    return out;
  }

  // Filtered, sorted listing with paging (shared by ListSecrets and
  // BatchGetSecretValue's filter form).
  Result<std::pair<std::vector<std::pair<std::string, HeadRecord>>, std::string>> List(
      const std::vector<SecretFilter>& filters, bool include_deleted, bool descending,
      size_t max_results, const std::string& token, std::string_view kind) {
    COFFER_RETURN_IF_ERROR(CheckFilters(filters));
    std::string full_kind = std::string(kind) + (descending ? ".desc" : ".asc");
    std::string after;
    if (!token.empty()) {
      COFFER_ASSIGN_OR_RETURN(after, DecodePageToken(full_kind, token));
    }
    COFFER_ASSIGN_OR_RETURN(auto all, AllHeads());
    std::vector<std::pair<std::string, std::pair<std::string, HeadRecord>>> keyed;
    for (auto& [name, head] : all) {
      if (!include_deleted && head.deleted_ms != 0) continue;
      if (!Matches(name, head, filters)) continue;
      std::string pos = SortPosition(head.created_ms, name);
      if (!after.empty() && (descending ? pos >= after : pos <= after)) continue;
      keyed.emplace_back(std::move(pos), std::make_pair(name, std::move(head)));
    }
    std::sort(keyed.begin(), keyed.end(), [descending](const auto& a, const auto& b) {
      return descending ? a.first > b.first : a.first < b.first;
    });
    std::vector<std::pair<std::string, HeadRecord>> page;
    std::string next;
    for (size_t i = 0; i < keyed.size() && i < max_results; ++i) {
      page.push_back(std::move(keyed[i].second));
      if (i + 1 == max_results && keyed.size() > max_results) {
        next = EncodePageToken(full_kind, keyed[i].first);
      }
    }
    return std::make_pair(std::move(page), std::move(next));
  }
};

SecretStore::SecretStore(storage::Backend& backend, keyring::Keyring& keyring,
                         kms::KeyDirectory& keys, util::Clock& clock, util::IdGenerator& ids,
                         std::string region, std::string account_id)
    : impl_(std::make_unique<Impl>(backend, keyring, keys, clock, ids, region, account_id)),
      region_(std::move(region)),
      account_id_(std::move(account_id)) {}

SecretStore::~SecretStore() = default;

Result<SecretRef> SecretStore::CreateSecret(const CreateSecretRequest& request) {
  COFFER_RETURN_IF_ERROR(CheckName(request.name));
  COFFER_RETURN_IF_ERROR(CheckToken(request.client_request_token));
  if (request.description) {
    COFFER_RETURN_IF_ERROR(
        CheckLength(*request.description, "description", 0, kMaxDescriptionLength));
  }
  if (request.kms_key_id)
    COFFER_RETURN_IF_ERROR(CheckLength(*request.kms_key_id, "kmsKeyId", 0, 2048));
  if (request.value) COFFER_RETURN_IF_ERROR(CheckValue(*request.value));
  COFFER_RETURN_IF_ERROR(CheckTags(request.tags));
  std::map<std::string, std::string, std::less<>> tags;
  for (const Tag& t : request.tags) tags.insert_or_assign(t.key, t.value);
  if (tags.size() > kMaxTags) return InvalidParameter("A secret can have at most 50 tags.");
  std::string key_name = request.kms_key_id.value_or("");
  if (key_name == kDefaultKeyId) key_name.clear();
  // Fail early (and before writing) on an unusable key.
  COFFER_RETURN_IF_ERROR(impl_->ResolveKey(key_name));

  const std::string& name = request.name;
  std::optional<SecretRef> result;
  storage::Txn committed_txn;
  COFFER_ASSIGN_OR_RETURN(
      std::optional<storage::Revision> committed,
      CommitWithRetry(
          impl_->backend, "secret " + name, [&]() -> Result<std::optional<storage::Txn>> {
            result.reset();
            COFFER_ASSIGN_OR_RETURN(std::optional<Impl::Loaded> loaded, impl_->LoadHead(name));
            if (loaded) {
              const HeadRecord& head = loaded->head;
              if (head.deleted_ms != 0) {
                return Fail(ErrorCode::kFailedPrecondition,
                            "You can't create this secret because a secret with this name is "
                            "already scheduled for deletion.",
                            Reason::kSecretScheduledForDeletion);
              }
              // A retry of the same create: same token and same value.
              if (request.client_request_token && request.value) {
                const VersionInfo* v = FindVersion(head, *request.client_request_token);
                if (v && v->has_value) {
                  COFFER_ASSIGN_OR_RETURN(auto record, impl_->LoadVersion(name, v->id));
                  COFFER_ASSIGN_OR_RETURN(SecretValue stored, impl_->Open(head.arn, *record));
                  if (stored.is_binary == request.value->is_binary &&
                      stored.bytes.Equals(request.value->bytes)) {
                    result = SecretRef{head.arn, name, v->id, v->stages};
                    return std::optional<storage::Txn>();
                  }
                  return Fail(ErrorCode::kAlreadyExists,
                              "You can't modify an existing version, you can only create a new "
                              "version. The ClientRequestToken names a version with a different "
                              "value.",
                              Reason::kSecretVersionAlreadyExists);
                }
              }
              return Fail(ErrorCode::kAlreadyExists,
                          "The operation failed because the secret " + name + " already exists.",
                          Reason::kSecretAlreadyExists);
            }
            int64_t now_ms = impl_->NowMs();
            HeadRecord head;
            head.arn =
                SecretArn(region_, account_id_, name, impl_->ids.NewToken(util::kAlphanumeric, 6));
            head.has_description = request.description.has_value();
            head.description = request.description.value_or("");
            head.key_name = key_name;
            head.created_ms = now_ms;
            head.last_changed_ms = now_ms;
            head.tags = tags;
            storage::Txn txn;
            txn.compares.push_back(storage::Compare{internal::HeadKey(name), 0});
            SecretRef ref{head.arn, name, std::nullopt, {}};
            if (request.value) {
              bool changed = false;
              COFFER_ASSIGN_OR_RETURN(
                  std::string id,
                  impl_->WriteValue(name, head, request.client_request_token, *request.value,
                                    std::nullopt, now_ms, txn, &changed));
              ref.version_id = id;
              ref.version_stages = FindVersion(head, id)->stages;
            }
            txn.writes.push_back(
                storage::Write::Put(internal::HeadKey(name), internal::EncodeHead(head)));
            result = std::move(ref);
            committed_txn = txn;
            return std::optional<storage::Txn>(std::move(txn));
          }));
  if (committed) impl_->Drop(committed_txn, *committed);
  COFFER_CHECK(result.has_value());
  return std::move(*result);
}

Result<VersionedSecret> SecretStore::GetSecretValue(std::string_view secret_id,
                                                    std::optional<std::string_view> version_id,
                                                    std::optional<std::string_view> version_stage,
                                                    const DecryptCheck& may_decrypt) {
  return impl_->Get(secret_id, version_id, version_stage, may_decrypt);
}

Result<BatchGetResult> SecretStore::BatchGetSecretValue(const BatchGetRequest& request) {
  bool by_ids = !request.secret_ids.empty();
  bool by_filters = !request.filters.empty();
  if (by_ids == by_filters) {
    return InvalidParameter("Specify either SecretIdList or Filters, but not both.");
  }
  if (request.secret_ids.size() > 20) {
    return InvalidParameter("SecretIdList can name at most 20 secrets.");
  }
  if (request.max_results &&
      (!by_filters || *request.max_results < 1 || *request.max_results > 20)) {
    return InvalidParameter("MaxResults (1..20) can be used only with Filters.");
  }
  BatchGetResult out;
  auto get_one = [&](const std::string& id) -> Status {
    auto value = impl_->Get(id, std::nullopt, std::nullopt, request.may_decrypt);
    if (value) {
      out.values.push_back(std::move(*value));
      return Ok();
    }
    ErrorCode c = value.error().code;
    if (c == ErrorCode::kUnavailable || c == ErrorCode::kInternal || c == ErrorCode::kAborted) {
      return Fail(value.error());
    }
    out.errors.push_back(BatchGetError{id, value.error()});
    return Ok();
  };
  if (by_ids) {
    for (const std::string& id : request.secret_ids) COFFER_RETURN_IF_ERROR(get_one(id));
    return out;
  }
  COFFER_ASSIGN_OR_RETURN(auto page,
                          impl_->List(request.filters, false, false,
                                      static_cast<size_t>(request.max_results.value_or(20)),
                                      request.next_token, kBatchTokenKind));
  for (const auto& [name, head] : page.first) {
    if (request.may_read) {
      if (Status allowed = request.may_read(head.arn); !allowed) {
        out.errors.push_back(BatchGetError{head.arn, allowed.error()});
        continue;
      }
    }
    COFFER_RETURN_IF_ERROR(get_one(head.arn));
  }
  out.next_token = std::move(page.second);
  return out;
}

Result<SecretRef> SecretStore::PutSecretValue(const PutSecretValueRequest& request) {
  COFFER_RETURN_IF_ERROR(CheckToken(request.client_request_token));
  COFFER_RETURN_IF_ERROR(CheckValue(request.value));
  if (request.version_stages) COFFER_RETURN_IF_ERROR(CheckStages(*request.version_stages));
  SecretRef ref;
  COFFER_ASSIGN_OR_RETURN(
      ref.name,
      impl_->MutateId(
          request.secret_id,
          [&](const std::string& name, HeadRecord& head, storage::Txn& txn) -> Result<bool> {
            if (head.deleted_ms != 0) return ScheduledForDeletion();
            bool changed = false;
            COFFER_ASSIGN_OR_RETURN(
                std::string id,
                impl_->WriteValue(name, head, request.client_request_token, request.value,
                                  request.version_stages, impl_->NowMs(), txn, &changed));
            ref.arn = head.arn;
            ref.version_id = id;
            ref.version_stages = FindVersion(head, id)->stages;
            return changed;
          }));
  return ref;
}

Result<SecretRef> SecretStore::UpdateSecret(const UpdateSecretRequest& request) {
  if (request.value) {
    COFFER_RETURN_IF_ERROR(CheckToken(request.client_request_token));
    COFFER_RETURN_IF_ERROR(CheckValue(*request.value));
  }
  if (request.description) {
    COFFER_RETURN_IF_ERROR(
        CheckLength(*request.description, "description", 0, kMaxDescriptionLength));
  }
  std::optional<std::string> key_name;
  if (request.kms_key_id) {
    COFFER_RETURN_IF_ERROR(CheckLength(*request.kms_key_id, "kmsKeyId", 0, 2048));
    key_name = *request.kms_key_id == kDefaultKeyId ? "" : *request.kms_key_id;
    COFFER_RETURN_IF_ERROR(impl_->ResolveKey(*key_name));
  }
  SecretRef ref;
  COFFER_ASSIGN_OR_RETURN(
      ref.name,
      impl_->MutateId(
          request.secret_id,
          [&](const std::string& name, HeadRecord& head, storage::Txn& txn) -> Result<bool> {
            if (head.deleted_ms != 0) return ScheduledForDeletion();
            int64_t now_ms = impl_->NowMs();
            ref.arn = head.arn;
            ref.version_id.reset();
            bool changed = false;
            if (request.description) {
              head.has_description = true;
              head.description = *request.description;
              changed = true;
            }
            if (key_name && *key_name != head.key_name) {
              head.key_name = *key_name;
              // Re-seal the labelled versions under the new key.
              for (VersionInfo& v : head.versions) {
                if (v.stages.empty() || !v.has_value) continue;
                COFFER_ASSIGN_OR_RETURN(auto record, impl_->LoadVersion(name, v.id));
                COFFER_ASSIGN_OR_RETURN(SecretValue value, impl_->Open(head.arn, *record));
                COFFER_RETURN_IF_ERROR(impl_->SealInto(name, head, v, value, txn));
              }
              changed = true;
            }
            if (request.value) {
              bool wrote = false;
              COFFER_ASSIGN_OR_RETURN(
                  std::string id,
                  impl_->WriteValue(name, head, request.client_request_token, *request.value,
                                    std::nullopt, now_ms, txn, &wrote));
              ref.version_id = id;
              changed = changed || wrote;
            }
            if (changed) head.last_changed_ms = now_ms;
            return changed;
          }));
  return ref;
}

Result<SecretDescription> SecretStore::DescribeSecret(std::string_view secret_id) {
  COFFER_ASSIGN_OR_RETURN(Impl::Located loc, impl_->Locate(secret_id));
  return Describe(loc.name, loc.loaded->head);
}

Result<SecretPage> SecretStore::ListSecrets(const ListSecretsQuery& query) {
  if (query.max_results < 1 || query.max_results > 100) {
    return InvalidParameter("MaxResults must be between 1 and 100.");
  }
  COFFER_ASSIGN_OR_RETURN(
      auto page,
      impl_->List(query.filters, query.include_planned_deletion, query.descending,
                  static_cast<size_t>(query.max_results), query.next_token, kListTokenKind));
  SecretPage out;
  for (const auto& [name, head] : page.first) out.secrets.push_back(Describe(name, head));
  out.next_token = std::move(page.second);
  return out;
}

Result<VersionPage> SecretStore::ListSecretVersionIds(const VersionQuery& query) {
  if (query.max_results < 1 || query.max_results > 100) {
    return InvalidParameter("MaxResults must be between 1 and 100.");
  }
  COFFER_ASSIGN_OR_RETURN(Impl::Located loc, impl_->Locate(query.secret_id));
  const HeadRecord& head = loc.loaded->head;
  std::string after;
  if (!query.next_token.empty()) {
    COFFER_ASSIGN_OR_RETURN(after, DecodePageToken(kVersionsTokenKind, query.next_token));
  }
  VersionPage out;
  out.arn = head.arn;
  out.name = loc.name;
  size_t start = 0;
  if (!after.empty()) {
    auto it = std::find_if(head.versions.begin(), head.versions.end(),
                           [&](const VersionInfo& v) { return v.id == after; });
    if (it == head.versions.end()) {
      return Fail(ErrorCode::kInvalidArgument, "The NextToken is not valid.",
                  Reason::kInvalidNextToken);
    }
    start = static_cast<size_t>(it - head.versions.begin()) + 1;
  }
  for (size_t i = start; i < head.versions.size(); ++i) {
    const VersionInfo& v = head.versions[i];
    if (v.stages.empty() && !query.include_deprecated) continue;
    if (out.versions.size() == static_cast<size_t>(query.max_results)) {
      out.next_token = EncodePageToken(kVersionsTokenKind, out.versions.back().version_id);
      break;
    }
    SecretVersionSummary s;
    s.version_id = v.id;
    s.version_stages = v.stages;
    s.created = util::FromUnixMillis(v.created_ms);
    s.last_accessed = OptTime(v.last_accessed_ms);
    if (v.has_value) s.kms_key_ids.push_back(v.key_name.empty() ? "DEFAULT" : v.key_name);
    out.versions.push_back(std::move(s));
  }
  return out;
}

Result<DeletionResult> SecretStore::DeleteSecret(const DeleteSecretRequest& request) {
  if (request.recovery_window_days && request.force_delete_without_recovery) {
    return InvalidParameter(
        "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  }
  int64_t window = request.recovery_window_days.value_or(kDefaultRecoveryWindowDays);
  if (window < 7 || window > 30) {
    return InvalidParameter(
        "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  }
  DeletionResult out;
  COFFER_ASSIGN_OR_RETURN(
      out.name,
      impl_->MutateId(
          request.secret_id,
          [&](const std::string& name, HeadRecord& head, storage::Txn& txn) -> Result<bool> {
            int64_t now_ms = impl_->NowMs();
            out.arn = head.arn;
            if (request.force_delete_without_recovery) {
              COFFER_RETURN_IF_ERROR(impl_->DeleteAll(name, txn));
              out.deletion_date = util::FromUnixMillis(now_ms);
              return false;
            }
            if (head.deleted_ms != 0) {
              return Fail(ErrorCode::kFailedPrecondition,
                          "You can't perform this operation on the secret because it was already "
                          "scheduled for deletion.",
                          Reason::kSecretScheduledForDeletion);
            }
            head.deleted_ms = now_ms;
            head.deletion_ms = now_ms + window * kDayMs;
            out.deletion_date = util::FromUnixMillis(head.deletion_ms);
            return true;
          }));
  return out;
}

Result<SecretRef> SecretStore::RestoreSecret(std::string_view secret_id) {
  SecretRef ref;
  COFFER_ASSIGN_OR_RETURN(ref.name, impl_->MutateId(secret_id,
                                                    [&](const std::string&, HeadRecord& head,
                                                        storage::Txn&) -> Result<bool> {
                                                      ref.arn = head.arn;
                                                      if (head.deleted_ms == 0) return false;
                                                      head.deleted_ms = 0;
                                                      head.deletion_ms = 0;
                                                      return true;
                                                    }));
  return ref;
}

Result<int> SecretStore::RunDueDeletions(util::SystemTime now) {
  int64_t now_ms = util::ToUnixMillis(now);
  COFFER_ASSIGN_OR_RETURN(auto all, impl_->AllHeads());
  int removed = 0;
  for (const auto& [name, seen] : all) {
    if (seen.deletion_ms == 0 || seen.deletion_ms > now_ms) continue;
    bool purged = false;
    auto done = impl_->Mutate(
        name, seen.arn,
        [&](const std::string& name, HeadRecord& head, storage::Txn& txn) -> Result<bool> {
          // Re-checked on the current head: a restore in between keeps the secret.
          if (head.deletion_ms == 0 || head.deletion_ms > now_ms) return false;
          COFFER_RETURN_IF_ERROR(impl_->DeleteAll(name, txn));
          purged = true;
          return false;
        });
    if (!done) {
      if (done.error().reason == Reason::kSecretNotFound) continue;  // someone else purged it
      return Fail(done.error());
    }
    if (purged) ++removed;
  }
  return removed;
}

Result<keyring::RewrapReport> SecretStore::RewrapValues(std::optional<std::string_view> key_id) {
  COFFER_RETURN_IF_ERROR(impl_->keyring.Refresh());
  COFFER_ASSIGN_OR_RETURN(auto all, impl_->AllHeads());
  keyring::RewrapReport report;
  for (const auto& [name, seen] : all) {
    keyring::RewrapReport one;
    auto done = impl_->Mutate(
        name, seen.arn,
        [&](const std::string& name, HeadRecord& head, storage::Txn& txn) -> Result<bool> {
          one = keyring::RewrapReport();  // a retry starts over
          for (const VersionInfo& v : head.versions) {
            if (!v.has_value) continue;
            // Read from storage, not the cache, and guard the record itself: a
            // re-seal racing with this pass makes the commit fail and retry.
            std::string vkey = internal::VersionKey(name, v.id);
            COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry,
                                    GetOptional(impl_->backend, vkey));
            if (!entry) continue;
            std::string what = "secret " + head.arn + " version " + v.id;
            auto record = internal::DecodeVersion(entry->value);
            if (!record) {
              one.failures.push_back(what + ": " + record.error().message);
              continue;
            }
            COFFER_ASSIGN_OR_RETURN(
                std::optional<std::string> fresh,
                impl_->keyring.RewrapForPass(internal::ValueAad(head.arn, v.id),
                                             record->envelope, key_id, what, one));
            if (!fresh) continue;
            record->envelope = std::move(*fresh);
            txn.compares.push_back(storage::Compare{vkey, entry->mod_revision});
            txn.writes.push_back(storage::Write::Put(vkey, internal::EncodeVersion(*record)));
          }
          return false;  // the head is unchanged
        });
    if (!done) {
      if (done.error().reason == Reason::kSecretNotFound) continue;  // deleted meanwhile
      return Fail(done.error());
    }
    report.scanned += one.scanned;
    report.rewrapped += one.rewrapped;
    for (std::string& f : one.failures) report.failures.push_back(std::move(f));
  }
  return report;
}

Result<SecretRef> SecretStore::UpdateSecretVersionStage(const UpdateStageRequest& request) {
  COFFER_RETURN_IF_ERROR(CheckLength(request.version_stage, "versionStage", 1, 256));
  if (request.remove_from_version_id) {
    COFFER_RETURN_IF_ERROR(CheckVersionId(*request.remove_from_version_id, "removeFromVersionId"));
  }
  if (request.move_to_version_id) {
    COFFER_RETURN_IF_ERROR(CheckVersionId(*request.move_to_version_id, "moveToVersionId"));
  }
  if (!request.remove_from_version_id && !request.move_to_version_id) {
    return InvalidParameter("Specify MoveToVersionId, RemoveFromVersionId, or both.");
  }
  const std::string& stage = request.version_stage;
  SecretRef ref;
  COFFER_ASSIGN_OR_RETURN(
      ref.name,
      impl_->MutateId(
          request.secret_id,
          [&](const std::string&, HeadRecord& head, storage::Txn&) -> Result<bool> {
            if (head.deleted_ms != 0) return ScheduledForDeletion();
            ref.arn = head.arn;
            COFFER_ASSIGN_OR_RETURN(
                bool moved, MoveStage(head, stage, request.move_to_version_id,
                                      request.remove_from_version_id));
            if (!moved) return false;
            head.last_changed_ms = impl_->NowMs();
            return true;
          }));
  return ref;
}

Result<SecretRef> SecretStore::RotateSecret(const RotateSecretRequest& request) {
  COFFER_RETURN_IF_ERROR(CheckToken(request.client_request_token));
  if (request.rotation_hook) COFFER_RETURN_IF_ERROR(CheckHook(*request.rotation_hook));
  if (request.rules) {
    const RotationRules& r = *request.rules;
    if (r.automatically_after_days && r.schedule_expression) {
      return InvalidParameter(
          "You can't specify both AutomaticallyAfterDays and ScheduleExpression.");
    }
    if (r.automatically_after_days) {
      COFFER_RETURN_IF_ERROR(ScheduleAfterDays(*r.automatically_after_days));
    }
    if (r.schedule_expression) {
      COFFER_RETURN_IF_ERROR(CheckLength(*r.schedule_expression, "scheduleExpression", 1, 256));
      COFFER_RETURN_IF_ERROR(ParseScheduleExpression(*r.schedule_expression));
    }
    if (r.duration) COFFER_RETURN_IF_ERROR(ValidateRotationDuration(*r.duration));
  }
  SecretRef ref;
  COFFER_ASSIGN_OR_RETURN(
      ref.name,
      impl_->MutateId(
          request.secret_id,
          [&](const std::string&, HeadRecord& head, storage::Txn&) -> Result<bool> {
            if (head.deleted_ms != 0) return ScheduledForDeletion();
            ref.arn = head.arn;
            ref.version_id.reset();
            ref.version_stages.clear();
            internal::RotationRecord& rot = head.rotation;
            std::string hook = request.rotation_hook ? *request.rotation_hook : rot.hook;
            if (hook.empty()) {
              return Fail(ErrorCode::kFailedPrecondition,
                          "No Lambda rotation function ARN is associated with this secret.",
                          Reason::kRotationNotConfigured);
            }
            VersionInfo* current = HolderOf(head, kStageCurrent);
            VersionInfo* pending = HolderOf(head, kStagePending);
            if (pending && pending != current) {
              return Fail(ErrorCode::kFailedPrecondition,
                          "A previous rotation isn't complete. That rotation will be reattempted.",
                          Reason::kRotationInProgress);
            }
            rot.hook = hook;
            rot.enabled = true;
            if (request.rules) {
              rot.after_days = request.rules->automatically_after_days.value_or(0);
              rot.schedule_expression = request.rules->schedule_expression.value_or("");
              rot.duration = request.rules->duration.value_or("");
            }
            int64_t now_ms = impl_->NowMs();
            util::SystemTime now = util::FromUnixMillis(now_ms);
            if (request.rotate_immediately) {
              std::string id = request.client_request_token ? *request.client_request_token
                                                            : impl_->ids.NewUuid();
              if (FindVersion(head, id)) {
                return Fail(
                    ErrorCode::kAlreadyExists,
                    "The ClientRequestToken " + id + " already names a version of the secret.",
                    Reason::kSecretVersionAlreadyExists);
              }
              if (pending) RemoveStage(*pending, kStagePending);
              VersionInfo v;
              v.id = id;
              v.created_ms = now_ms;
              v.stages.emplace_back(kStagePending);
              head.versions.push_back(std::move(v));
              rot.next_rotation_ms = NextRotationMs(rot, now);
              ref.version_id = id;
              ref.version_stages = {std::string(kStagePending)};
            } else {
              util::SystemTime base =
                  rot.last_rotated_ms != 0 ? util::FromUnixMillis(rot.last_rotated_ms) : now;
              rot.next_rotation_ms = NextRotationMs(rot, base);
            }
            head.last_changed_ms = now_ms;
            return true;
          }));
  return ref;
}

Result<SecretRef> SecretStore::CancelRotateSecret(std::string_view secret_id) {
  SecretRef ref;
  COFFER_ASSIGN_OR_RETURN(
      ref.name,
      impl_->MutateId(
          secret_id, [&](const std::string&, HeadRecord& head, storage::Txn&) -> Result<bool> {
            if (head.deleted_ms != 0) return ScheduledForDeletion();
            ref.arn = head.arn;
            ref.version_id.reset();
            head.rotation.enabled = false;
            head.rotation.next_rotation_ms = 0;
            VersionInfo* current = HolderOf(head, kStageCurrent);
            VersionInfo* pending = HolderOf(head, kStagePending);
            if (pending && pending != current) {
              ref.version_id = pending->id;
              if (!pending->has_value) {
                std::string id = pending->id;
                std::erase_if(head.versions, [&](const VersionInfo& v) { return v.id == id; });
              }
            }
            head.last_changed_ms = impl_->NowMs();
            return true;
          }));
  return ref;
}

Status SecretStore::TagResource(std::string_view secret_id, const std::vector<Tag>& tags) {
  COFFER_RETURN_IF_ERROR(CheckTags(tags));
  COFFER_RETURN_IF_ERROR(impl_->MutateId(
      secret_id, [&](const std::string&, HeadRecord& head, storage::Txn&) -> Result<bool> {
        for (const Tag& t : tags) head.tags.insert_or_assign(t.key, t.value);
        if (head.tags.size() > kMaxTags)
          return InvalidParameter("A secret can have at most 50 tags.");
        return true;
      }));
  return Ok();
}

Status SecretStore::UntagResource(std::string_view secret_id,
                                  const std::vector<std::string>& keys) {
  for (const std::string& k : keys) COFFER_RETURN_IF_ERROR(CheckLength(k, "tagKeys", 1, 128));
  COFFER_RETURN_IF_ERROR(impl_->MutateId(
      secret_id, [&](const std::string&, HeadRecord& head, storage::Txn&) -> Result<bool> {
        bool changed = false;
        for (const std::string& k : keys) {
          auto it = head.tags.find(k);
          if (it == head.tags.end()) continue;
          head.tags.erase(it);
          changed = true;
        }
        return changed;
      }));
  return Ok();
}

Result<SecretRef> SecretStore::PutResourcePolicy(std::string_view secret_id,
                                                 std::string_view document) {
  COFFER_RETURN_IF_ERROR(CheckLength(document, "resourcePolicy", 1, kMaxResourcePolicyLength));
  return SetResourcePolicy(secret_id, document);
}

Result<SecretPolicy> SecretStore::GetResourcePolicy(std::string_view secret_id) {
  COFFER_ASSIGN_OR_RETURN(Impl::Located loc, impl_->Locate(secret_id));
  const HeadRecord& head = loc.loaded->head;
  SecretPolicy out{head.arn, loc.name, std::nullopt};
  if (!head.resource_policy.empty()) out.resource_policy = head.resource_policy;
  return out;
}

Result<SecretRef> SecretStore::DeleteResourcePolicy(std::string_view secret_id) {
  return SetResourcePolicy(secret_id, "");
}

Result<SecretRef> SecretStore::SetResourcePolicy(std::string_view secret_id,
                                                 std::string_view document) {
  SecretRef ref;
  COFFER_ASSIGN_OR_RETURN(
      ref.name,
      impl_->MutateId(secret_id,
                      [&](const std::string&, HeadRecord& head, storage::Txn&) -> Result<bool> {
                        if (head.deleted_ms != 0) return ScheduledForDeletion();
                        ref.arn = head.arn;
                        if (head.resource_policy == document) return false;
                        head.resource_policy = std::string(document);
                        head.last_changed_ms = impl_->NowMs();
                        return true;
                      }));
  return ref;
}

Result<SecretAccessInfo> SecretStore::AccessInfo(std::string_view secret_id) {
  COFFER_ASSIGN_OR_RETURN(Impl::Located loc, impl_->Locate(secret_id));
  const HeadRecord& head = loc.loaded->head;
  SecretAccessInfo out;
  out.arn = head.arn;
  out.name = std::move(loc.name);
  out.tags.reserve(head.tags.size());
  for (const auto& [k, v] : head.tags) out.tags.push_back(Tag{k, v});
  out.resource_policy = head.resource_policy;
  out.revision = static_cast<uint64_t>(loc.loaded->revision);
  return out;
}

Result<std::vector<RotationInfo>> SecretStore::ListRotationsDue(util::SystemTime now) {
  int64_t now_ms = util::ToUnixMillis(now);
  COFFER_ASSIGN_OR_RETURN(auto all, impl_->AllHeads());
  std::vector<RotationInfo> out;
  for (const auto& [name, head] : all) {
    if (!head.rotation.enabled || head.deleted_ms != 0) continue;
    RotationInfo info = RotationOf(name, head);
    bool due = head.rotation.next_rotation_ms != 0 && head.rotation.next_rotation_ms <= now_ms;
    if (due || info.pending_version_id) out.push_back(std::move(info));
  }
  return out;
}

Result<RotationInfo> SecretStore::GetRotation(std::string_view secret_id) {
  COFFER_ASSIGN_OR_RETURN(Impl::Located loc, impl_->Locate(secret_id));
  return RotationOf(loc.name, loc.loaded->head);
}

Status SecretStore::MarkRotated(std::string_view secret_id, util::SystemTime now) {
  int64_t now_ms = util::ToUnixMillis(now);
  COFFER_RETURN_IF_ERROR(impl_->MutateId(
      secret_id, [&](const std::string&, HeadRecord& head, storage::Txn&) -> Result<bool> {
        head.rotation.last_rotated_ms = now_ms;
        head.rotation.next_rotation_ms =
            head.rotation.enabled ? NextRotationMs(head.rotation, util::FromUnixMillis(now_ms)) : 0;
        head.last_changed_ms = std::max(head.last_changed_ms, now_ms);
        return true;
      }));
  return Ok();
}

}  // namespace coffer::domain::secrets
