#include "domain/secrets/secret_store.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <functional>
#include <unordered_map>

#include "domain/arn.h"
#include "domain/page_token.h"
#include "domain/secrets/internal/records.h"
#include "domain/secrets/schedule.h"
#include "util/mutex.h"

namespace coffer::domain::secrets {

using internal::HeadRecord;
using internal::VersionInfo;
using internal::VersionRecord;

namespace {

constexpr int kMaxCommitAttempts = 5;
constexpr size_t kMaxCacheEntries = 100000;
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

std::unexpected<Error> TooManyUpdates() {
  return Fail(ErrorCode::kAborted, "There are concurrent updates to the secret. Please try again.",
              Reason::kTooManyUpdates);
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

bool HasStage(const VersionInfo& v, std::string_view stage) {
  return std::find(v.stages.begin(), v.stages.end(), stage) != v.stages.end();
}

void RemoveStage(VersionInfo& v, std::string_view stage) {
  std::erase(v.stages, std::string(stage));
}

VersionInfo* FindVersion(HeadRecord& head, std::string_view id) {
  for (VersionInfo& v : head.versions) {
    if (v.id == id) return &v;
  }
  return nullptr;
}

const VersionInfo* FindVersion(const HeadRecord& head, std::string_view id) {
  for (const VersionInfo& v : head.versions) {
    if (v.id == id) return &v;
  }
  return nullptr;
}

VersionInfo* HolderOf(HeadRecord& head, std::string_view stage) {
  for (VersionInfo& v : head.versions) {
    if (HasStage(v, stage)) return &v;
  }
  return nullptr;
}

const VersionInfo* HolderOf(const HeadRecord& head, std::string_view stage) {
  for (const VersionInfo& v : head.versions) {
    if (HasStage(v, stage)) return &v;
  }
  return nullptr;
}

// Moves AWSCURRENT onto `target` (by id): AWSPREVIOUS goes to the version that
// held AWSCURRENT and leaves every other version.
void MoveCurrent(HeadRecord& head, const std::string& target) {
  VersionInfo* old = HolderOf(head, kStageCurrent);
  if (old && old->id == target) return;
  std::string old_id = old ? old->id : "";
  if (old) RemoveStage(*old, kStageCurrent);
  FindVersion(head, target)->stages.emplace_back(kStageCurrent);
  if (!old_id.empty()) {
    for (VersionInfo& v : head.versions) RemoveStage(v, kStagePrevious);
    FindVersion(head, old_id)->stages.emplace_back(kStagePrevious);
  } else {
    RemoveStage(*FindVersion(head, target), kStagePrevious);
  }
}

// Attaches `stages` to version `target`, detaching each from its holder;
// AWSCURRENT first, with the AWSPREVIOUS rule.
Status AttachStages(HeadRecord& head, const std::string& target,
                    const std::vector<std::string>& stages) {
  bool has_current = std::find(stages.begin(), stages.end(), kStageCurrent) != stages.end();
  if (has_current) MoveCurrent(head, target);
  for (const std::string& stage : stages) {
    if (stage == kStageCurrent) continue;
    VersionInfo* holder = HolderOf(head, stage);
    if (holder && holder->id == target) continue;
    if (holder) RemoveStage(*holder, stage);
    FindVersion(head, target)->stages.push_back(stage);
  }
  if (FindVersion(head, target)->stages.size() > kMaxStagesPerVersion) {
    return Fail(ErrorCode::kResourceExhausted,
                "A version can have at most 20 staging labels attached.",
                Reason::kSecretStageLimitExceeded);
  }
  return Ok();
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

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '/' || c == '-' || c == '_' || c == '+' || c == '=' || c == '.' ||
        c == '@' || c == ':') {
      if (!cur.empty()) out.push_back(ToLower(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(ToLower(cur));
  return out;
}

// Prefix match (case-sensitive), or with `words`, every word of the pattern is a
// case-insensitive prefix of some word of the value.
bool MatchOne(std::string_view pattern, std::string_view value, bool words) {
  if (!words) return value.starts_with(pattern);
  std::vector<std::string> pw = Words(pattern);
  if (pw.empty()) return false;
  std::vector<std::string> vw = Words(value);
  vw.push_back(ToLower(value));
  for (const std::string& p : pw) {
    bool found = false;
    for (const std::string& v : vw) found = found || v.starts_with(p);
    if (!found) return false;
  }
  return true;
}

// One filter: any value matches one of `attributes`; a "!" value matches when
// no attribute matches it.
bool MatchFilter(const std::vector<std::string>& values,
                 const std::vector<std::string_view>& attributes, bool words) {
  for (const std::string& value : values) {
    bool negate = value.starts_with('!');
    std::string_view pattern = negate ? std::string_view(value).substr(1) : value;
    bool any = false;
    for (std::string_view a : attributes) any = any || MatchOne(pattern, a, words);
    if (negate ? !any : any) return true;
  }
  return false;
}

bool Matches(const std::string& name, const HeadRecord& h,
             const std::vector<SecretFilter>& filters) {
  for (const SecretFilter& f : filters) {
    std::vector<std::string_view> attrs;
    bool words = false;
    if (f.key == "name") {
      attrs.push_back(name);
    } else if (f.key == "description") {
      if (h.has_description) attrs.push_back(h.description);
      words = true;
    } else if (f.key == "tag-key") {
      for (const auto& [k, v] : h.tags) attrs.push_back(k);
    } else if (f.key == "tag-value") {
      for (const auto& [k, v] : h.tags) attrs.push_back(v);
    } else if (f.key == "all") {
      attrs.push_back(name);
      if (h.has_description) attrs.push_back(h.description);
      for (const auto& [k, v] : h.tags) {
        attrs.push_back(k);
        attrs.push_back(v);
      }
      words = true;
    }
    // primary-region / owning-service: no secret has either.
    if (!MatchFilter(f.values, attrs, words)) return false;
  }
  return true;
}

Status CheckFilters(const std::vector<SecretFilter>& filters) {
  if (filters.size() > 10) return InvalidParameter("You can specify at most 10 filters.");
  for (const SecretFilter& f : filters) {
    if (f.key != "description" && f.key != "name" && f.key != "tag-key" && f.key != "tag-value" &&
        f.key != "primary-region" && f.key != "owning-service" && f.key != "all") {
      return InvalidParameter("Invalid filter key: " + f.key);
    }
    if (f.values.empty() || f.values.size() > 10) {
      return InvalidParameter("A filter needs between 1 and 10 values.");
    }
    for (const std::string& v : f.values) {
      if (v.size() > 512)
        return InvalidParameter("A filter value can have at most 512 characters.");
      for (size_t i = 0; i < v.size(); ++i) {
        char c = v[i];
        bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
                  std::string_view(" :_@/+=.-!").find(c) != std::string_view::npos;
        if (!ok) return InvalidParameter("Invalid filter value for key " + f.key + ".");
      }
    }
  }
  return Ok();
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
        account(std::move(a)) {
    watch_id = backend.Watch([this](const std::vector<storage::Event>& events) {
      bool touched = false;
      util::WriterLock lock(mu);
      for (const storage::Event& e : events) {
        if (!e.key.starts_with(internal::kRootPrefix)) continue;
        DropLocked(e.key);
        touched = true;
      }
      if (touched) generation.fetch_add(1);
    });
  }
  ~Impl() { backend.Unwatch(watch_id); }

  storage::Backend& backend;
  keyring::Keyring& keyring;
  kms::KeyDirectory& keys;
  util::Clock& clock;
  util::IdGenerator& ids;
  std::string region;
  std::string account;
  uint64_t watch_id = 0;

  util::SharedMutex mu;
  std::unordered_map<std::string, std::shared_ptr<const Loaded>> heads COFFER_GUARDED_BY(mu);
  // Keyed by storage key; envelopes only, never plaintext.
  std::unordered_map<std::string, std::shared_ptr<const VersionRecord>> versions
      COFFER_GUARDED_BY(mu);
  std::atomic<uint64_t> generation{0};

  void DropLocked(const std::string& key) COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (key.starts_with(internal::kHeadPrefix)) {
      heads.erase(internal::NameOfKey(key));
    } else {
      versions.erase(key);
    }
  }

  void Drop(const storage::Txn& txn) {
    util::WriterLock lock(mu);
    for (const storage::Write& w : txn.writes) DropLocked(w.key);
    generation.fetch_add(1);
  }

  int64_t NowMs() { return util::ToUnixMillis(clock.Now()); }

  // The head from storage; nullopt when absent.
  Result<std::optional<Loaded>> LoadHead(std::string_view name) {
    auto entry = backend.Get(internal::HeadKey(name));
    if (!entry) {
      if (entry.error().code == ErrorCode::kNotFound) return std::optional<Loaded>();
      return Fail(entry.error());
    }
    COFFER_ASSIGN_OR_RETURN(HeadRecord head, internal::DecodeHead(entry->value));
    return std::optional<Loaded>(Loaded{std::move(head), entry->mod_revision});
  }

  // The head, from the cache when possible; nullptr when absent.
  Result<std::shared_ptr<const Loaded>> LoadCached(const std::string& name) {
    {
      util::ReaderLock lock(mu);
      auto it = heads.find(name);
      if (it != heads.end()) return it->second;
    }
    uint64_t gen = generation.load();
    COFFER_ASSIGN_OR_RETURN(std::optional<Loaded> loaded, LoadHead(name));
    if (!loaded) return std::shared_ptr<const Loaded>();
    auto shared = std::make_shared<const Loaded>(std::move(*loaded));
    util::WriterLock lock(mu);
    if (generation.load() == gen) {
      if (heads.size() >= kMaxCacheEntries) heads.clear();
      heads.emplace(name, shared);
    }
    return shared;
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
    {
      util::ReaderLock lock(mu);
      auto it = versions.find(key);
      if (it != versions.end()) return it->second;
    }
    uint64_t gen = generation.load();
    auto entry = backend.Get(key);
    if (!entry) {
      if (entry.error().code == ErrorCode::kNotFound) return VersionNotFound("VersionId: " + id);
      return Fail(entry.error());
    }
    COFFER_ASSIGN_OR_RETURN(VersionRecord record, internal::DecodeVersion(entry->value));
    if (record.id != id) {
      return Fail(ErrorCode::kDataLoss, "secret version record does not match its key",
                  Reason::kMalformedInput);
    }
    auto shared = std::make_shared<const VersionRecord>(std::move(record));
    util::WriterLock lock(mu);
    if (generation.load() == gen) {
      if (versions.size() >= kMaxCacheEntries) versions.clear();
      versions.emplace(std::move(key), shared);
    }
    return shared;
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
    for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
      COFFER_ASSIGN_OR_RETURN(std::optional<Loaded> loaded, LoadHead(name));
      if (!loaded || (!arn.empty() && loaded->head.arn != arn)) return SecretNotFound();
      storage::Txn txn;
      txn.compares.push_back(storage::Compare{internal::HeadKey(name), loaded->revision});
      COFFER_ASSIGN_OR_RETURN(bool head_changed, step(name, loaded->head, txn));
      if (head_changed) {
        txn.writes.push_back(
            storage::Write::Put(internal::HeadKey(name), internal::EncodeHead(loaded->head)));
      }
      if (txn.writes.empty()) return Ok();
      auto committed = backend.Commit(txn);
      if (committed) {
        Drop(txn);
        return Ok();
      }
      if (committed.error().code != ErrorCode::kAborted) return Fail(committed.error());
    }
    return TooManyUpdates();
  }

  // Mutate on a SecretId.
  Result<std::string> MutateId(std::string_view secret_id, const Step& step) {
    COFFER_ASSIGN_OR_RETURN(Located loc, Locate(secret_id));
    COFFER_RETURN_IF_ERROR(Mutate(loc.name, loc.loaded->head.arn, step));
    return loc.name;
  }

  // Deletes the head and every version record of `name` into `txn`.
  Status DeleteAll(const std::string& name, storage::Txn& txn) {
    std::string prefix = internal::VersionKeyPrefix(name);
    COFFER_ASSIGN_OR_RETURN(storage::RangeResult range,
                            backend.Range(prefix, storage::PrefixEnd(prefix), 0));
    for (const storage::Entry& e : range.entries) {
      // A longer name sharing the prefix ("a/b" vs "a") has more '/'-separated parts.
      if (internal::NameOfKey(e.key) != name) continue;
      txn.writes.push_back(storage::Write::Delete(e.key));
    }
    txn.writes.push_back(storage::Write::Delete(internal::HeadKey(name)));
    return Ok();
  }

  // Every head in storage, in name order.
  Result<std::vector<std::pair<std::string, HeadRecord>>> AllHeads() {
    std::string prefix(internal::kHeadPrefix);
    COFFER_ASSIGN_OR_RETURN(storage::RangeResult range,
                            backend.Range(prefix, storage::PrefixEnd(prefix), 0));
    std::vector<std::pair<std::string, HeadRecord>> out;
    out.reserve(range.entries.size());
    for (const storage::Entry& e : range.entries) {
      COFFER_ASSIGN_OR_RETURN(HeadRecord head, internal::DecodeHead(e.value));
      out.emplace_back(e.key.substr(prefix.size()), std::move(head));
    }
    return out;
  }

  // Records the access day on the secret and the version (best effort: a
  // lost race or a storage error only loses the date).
  void TouchAccess(const std::string& name, const HeadRecord& seen, const std::string& id) {
    int64_t day = DayOf(NowMs());
    const VersionInfo* v = FindVersion(seen, id);
    if (seen.last_accessed_ms == day && v && v->last_accessed_ms == day) return;
    auto touched =
        Mutate(name, seen.arn,
               [&](const std::string&, HeadRecord& head, storage::Txn&) -> Result<bool> {
                 VersionInfo* mv = FindVersion(head, id);
                 if (head.last_accessed_ms == day && (!mv || mv->last_accessed_ms == day))
                   return false;
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
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    COFFER_ASSIGN_OR_RETURN(std::optional<Impl::Loaded> loaded, impl_->LoadHead(name));
    if (loaded) {
      const HeadRecord& head = loaded->head;
      if (head.deleted_ms != 0) {
        return Fail(ErrorCode::kFailedPrecondition,
                    "You can't create this secret because a secret with this name is already "
                    "scheduled for deletion.",
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
            return SecretRef{head.arn, name, v->id, v->stages};
          }
          return Fail(ErrorCode::kAlreadyExists,
                      "You can't modify an existing version, you can only create a new "
                      "version. The ClientRequestToken names a version with a different value.",
                      Reason::kSecretVersionAlreadyExists);
        }
      }
      return Fail(ErrorCode::kAlreadyExists,
                  "The operation failed because the secret " + name + " already exists.",
                  Reason::kSecretAlreadyExists);
    }
    int64_t now_ms = impl_->NowMs();
    HeadRecord head;
    head.arn = SecretArn(region_, account_id_, name, impl_->ids.NewToken(util::kAlphanumeric, 6));
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
          std::string id, impl_->WriteValue(name, head, request.client_request_token,
                                            *request.value, std::nullopt, now_ms, txn, &changed));
      ref.version_id = id;
      ref.version_stages = FindVersion(head, id)->stages;
    }
    txn.writes.push_back(storage::Write::Put(internal::HeadKey(name), internal::EncodeHead(head)));
    auto committed = impl_->backend.Commit(txn);
    if (committed) {
      impl_->Drop(txn);
      return ref;
    }
    if (committed.error().code != ErrorCode::kAborted) return Fail(committed.error());
  }
  return TooManyUpdates();
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
            auto entry = impl_->backend.Get(vkey);
            if (!entry) {
              if (entry.error().code == ErrorCode::kNotFound) continue;
              return Fail(entry.error());
            }
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
            VersionInfo* holder = HolderOf(head, stage);
            if (request.remove_from_version_id) {
              VersionInfo* from = FindVersion(head, *request.remove_from_version_id);
              if (!from)
                return InvalidParameter("Not a valid version: " + *request.remove_from_version_id);
              if (from != holder) {
                return InvalidParameter(
                    "The staging label " + stage +
                    " is not attached to the version specified by RemoveFromVersionId "
                    "(" +
                    *request.remove_from_version_id + ").");
              }
            }
            if (request.move_to_version_id) {
              VersionInfo* to = FindVersion(head, *request.move_to_version_id);
              if (!to)
                return InvalidParameter("Not a valid version: " + *request.move_to_version_id);
              if (holder == to) return false;
              if (holder && !request.remove_from_version_id) {
                return InvalidParameter(
                    "The parameter RemoveFromVersionId can't be empty. Staging label " + stage +
                    " is currently attached to version " + holder->id +
                    ", so you must explicitly reference that version in RemoveFromVersionId.");
              }
              std::string target = to->id;
              if (stage == kStageCurrent) {
                MoveCurrent(head, target);
              } else {
                if (holder) RemoveStage(*holder, stage);
                FindVersion(head, target)->stages.push_back(stage);
              }
              if (FindVersion(head, target)->stages.size() > kMaxStagesPerVersion) {
                return Fail(ErrorCode::kResourceExhausted,
                            "A version can have at most 20 staging labels attached.",
                            Reason::kSecretStageLimitExceeded);
              }
            } else {
              if (stage == kStageCurrent) {
                return InvalidParameter(
                    "You can only move staging label AWSCURRENT to a different secret version. It "
                    "can't be completely removed.");
              }
              RemoveStage(*holder, stage);
            }
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
