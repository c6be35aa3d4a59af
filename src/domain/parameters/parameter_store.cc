#include "domain/parameters/parameter_store.h"

#include <algorithm>
#include <functional>
#include <mutex>
#include <regex>
#include <set>

#include "domain/arn.h"
#include "domain/page_token.h"
#include "domain/record_store.h"
#include "domain/parameters/internal/filters.h"
#include "domain/parameters/internal/names.h"
#include "domain/parameters/internal/records.h"
#include "util/encoding.h"

namespace coffer::domain::parameters {

using internal::HeadRecord;
using internal::VersionMeta;
using internal::VersionRecord;

std::optional<ParameterType> ParseParameterType(std::string_view text) {
  if (text == "String") return ParameterType::kString;
  if (text == "StringList") return ParameterType::kStringList;
  if (text == "SecureString") return ParameterType::kSecureString;
  return std::nullopt;
}

std::string_view ParameterTypeName(ParameterType type) {
  switch (type) {
    case ParameterType::kString:
      return "String";
    case ParameterType::kStringList:
      return "StringList";
    case ParameterType::kSecureString:
      return "SecureString";
  }
  return "String";
}

std::optional<ParameterTier> ParseParameterTier(std::string_view text) {
  if (text == "Standard") return ParameterTier::kStandard;
  if (text == "Advanced") return ParameterTier::kAdvanced;
  if (text == "Intelligent-Tiering") return ParameterTier::kIntelligentTiering;
  return std::nullopt;
}

std::string_view ParameterTierName(ParameterTier tier) {
  switch (tier) {
    case ParameterTier::kStandard:
      return "Standard";
    case ParameterTier::kAdvanced:
      return "Advanced";
    case ParameterTier::kIntelligentTiering:
      return "Intelligent-Tiering";
  }
  return "Standard";
}

namespace {

constexpr size_t kScanBatch = 128;
// A page scans at most this many heads; it may then be short but carries a token.
constexpr size_t kMaxScanPerPage = 2000;
constexpr std::string_view kPathTokenKind = "ssm.path";
constexpr std::string_view kDescribeTokenKind = "ssm.describe";
constexpr std::string_view kHistoryTokenKind = "ssm.history";

std::unexpected<Error> ParameterNotFound(std::string_view name) {
  return Fail(ErrorCode::kNotFound, "Parameter " + std::string(name) + " not found.",
              Reason::kParameterNotFound);
}

std::unexpected<Error> VersionNotFound(std::string_view name, int64_t version) {
  return Fail(ErrorCode::kNotFound,
              "Version " + std::to_string(version) + " of parameter " + std::string(name) +
                  " not found.",
              Reason::kParameterVersionNotFound);
}

std::unexpected<Error> Validation(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kValidation);
}

bool ContainsNestedReference(std::string_view value) {
  size_t open = value.find("{{");
  return open != std::string_view::npos && value.find("}}", open + 2) != std::string_view::npos;
}

Result<std::regex> CompilePattern(const std::string& pattern) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error&) {
    return Fail(ErrorCode::kInvalidArgument,
                "The allowed pattern is not a valid regular expression: " + pattern,
                Reason::kInvalidAllowedPattern);
  }
}

Status CheckPattern(const std::string& pattern, const SecretBytes& value) {
  if (pattern.empty()) return Ok();
  COFFER_ASSIGN_OR_RETURN(std::regex re, CompilePattern(pattern));
  bool matches = false;
  try {
    std::string_view v = value.Reveal();
    matches = std::regex_match(v.begin(), v.end(), re);
  } catch (const std::regex_error&) {
    matches = false;  // complexity limits count as a mismatch
  }
  if (!matches) {
    return Fail(ErrorCode::kInvalidArgument,
                "Parameter value, cannot be validated against allowedPattern: " + pattern,
                Reason::kParameterPatternMismatch);
  }
  return Ok();
}

}  // namespace

struct ParameterStore::Impl {
  struct Cached {
    HeadRecord head;
    VersionRecord latest;
  };
  struct Loaded {
    HeadRecord head;
    storage::Revision revision = 0;
  };

  Impl(storage::Backend& b, keyring::Keyring& k, kms::KeyDirectory& d, util::Clock& c,
       std::string r, std::string a)
      : backend(b),
        keyring(k),
        keys(d),
        clock(c),
        region(std::move(r)),
        account(std::move(a)),
        cache(b, [](std::string_view key) {
          return key.starts_with(internal::kRootPrefix) ? internal::NameOfKey(key) : "";
        }) {}

  storage::Backend& backend;
  keyring::Keyring& keyring;
  kms::KeyDirectory& keys;
  util::Clock& clock;
  std::string region;
  std::string account;
  // Head + latest version by parameter name; a change of any record of a
  // parameter (head or version) invalidates it.
  WatchedCache<Cached> cache;

  // After a commit at `revision` that wrote `name`'s records (a remote
  // backend's change feed may come later).
  void Invalidate(const std::string& name, storage::Revision revision) {
    cache.Changed(name, revision);
  }

  // The head from storage (no cache); nullopt when absent.
  Result<std::optional<Loaded>> LoadHead(std::string_view name) {
    COFFER_ASSIGN_OR_RETURN(std::optional<Stored<HeadRecord>> stored,
                            GetRecord(backend, internal::HeadKey(name), &internal::DecodeHead));
    if (!stored) return std::optional<Loaded>();
    return std::optional<Loaded>(Loaded{std::move(stored->value), stored->revision});
  }

  Result<Stored<VersionRecord>> LoadStoredVersion(std::string_view name, int64_t version) {
    COFFER_ASSIGN_OR_RETURN(
        std::optional<Stored<VersionRecord>> stored,
        GetRecord(backend, internal::VersionKey(name, version), &internal::DecodeVersion));
    if (!stored) return VersionNotFound(name, version);
    if (stored->value.version != version) {
      return Fail(ErrorCode::kDataLoss, "parameter version record does not match its key",
                  Reason::kMalformedInput);
    }
    return std::move(*stored);
  }

  Result<VersionRecord> LoadVersion(std::string_view name, int64_t version) {
    COFFER_ASSIGN_OR_RETURN(Stored<VersionRecord> stored, LoadStoredVersion(name, version));
    return std::move(stored.value);
  }

  // Head + latest version, from the cache when possible. kParameterNotFound.
  Result<std::shared_ptr<const Cached>> LoadCached(const std::string& name) {
    return cache.GetOrLoad(name, [&]() -> Result<Stored<Cached>> {
      COFFER_ASSIGN_OR_RETURN(std::optional<Loaded> loaded, LoadHead(name));
      if (!loaded) return ParameterNotFound(name);
      auto latest = LoadStoredVersion(name, loaded->head.latest);
      if (!latest) {
        // Deleted or replaced between the two reads: report what a reader after it sees.
        if (latest.error().reason == Reason::kParameterVersionNotFound) {
          return ParameterNotFound(name);
        }
        return Fail(latest.error());
      }
      return Stored<Cached>{Cached{std::move(loaded->head), std::move(latest->value)},
                            std::max(loaded->revision, latest->revision)};
    });
  }

  // The value as Get* return it.
  Result<SecretBytes> OpenValue(std::string_view name, const VersionRecord& record,
                                bool with_decryption, const KeyCheck& may_decrypt) {
    if (record.meta.type == ParameterType::kSecureString && !with_decryption) {
      return SecretBytes(util::Base64Encode(record.envelope));
    }
    if (record.meta.type == ParameterType::kSecureString) {
      // As on AWS, a SecureString decrypts only while its KMS key exists and is
      // enabled (String values are sealed too, but AWS uses no KMS key for them).
      if (auto sealed_by = keyring::Keyring::Inspect(record.envelope)) {
        auto key = keys.Get(sealed_by->key_id);
        if (!key && key.error().code != ErrorCode::kNotFound) return Fail(key.error());
        if (!key || key->state != kms::KeyState::kEnabled) {
          return Fail(ErrorCode::kFailedPrecondition,
                      "The KMS key that protects parameter " + std::string(name) +
                          (!key ? " no longer exists."
                                : key->state == kms::KeyState::kDisabled
                                      ? " (" + key->arn + ") is disabled."
                                      : " (" + key->arn + ") is pending deletion."),
                      Reason::kKeyDisabled);
        }
        if (may_decrypt) {
          COFFER_RETURN_IF_ERROR(may_decrypt(*key, ParameterArn(region, account, name)));
        }
      }
    }
    COFFER_ASSIGN_OR_RETURN(keyring::Decrypted opened,
                            keyring.Decrypt(internal::ValueAad(name, record.version),
                                            record.envelope));
    return std::move(opened.plaintext);
  }

  ParameterMetadata Metadata(std::string_view name, const VersionMeta& meta, int64_t version) {
    ParameterMetadata m;
    m.name = std::string(name);
    m.arn = ParameterArn(region, account, name);
    m.type = meta.type;
    if (meta.type == ParameterType::kSecureString && !meta.key_id.empty()) m.key_id = meta.key_id;
    if (meta.type == ParameterType::kSecureString) m.kms_key_id = meta.kms_key_id;
    m.last_modified = util::FromUnixMillis(meta.modified_ms);
    m.last_modified_user = meta.modified_user;
    m.description = meta.description;
    m.allowed_pattern = meta.allowed_pattern;
    m.version = version;
    m.tier = meta.tier;
    m.data_type = meta.data_type;
    return m;
  }

  Result<Parameter> MakeParameter(std::string_view name, const VersionRecord& record,
                                  bool with_decryption, const KeyCheck& may_decrypt,
                                  std::string selector) {
    Parameter p;
    COFFER_ASSIGN_OR_RETURN(p.value, OpenValue(name, record, with_decryption, may_decrypt));
    p.name = std::string(name);
    p.type = record.meta.type;
    p.version = record.version;
    p.selector = std::move(selector);
    p.last_modified = util::FromUnixMillis(record.meta.modified_ms);
    p.arn = ParameterArn(region, account, name);
    p.data_type = record.meta.data_type;
    if (p.type == ParameterType::kSecureString) p.kms_key_id = record.meta.kms_key_id;
    return p;
  }

  // Reads one selector against one existing cached parameter.
  Result<Parameter> Select(const std::string& name, const Cached& cached,
                           const internal::Selector& sel, bool with_decryption,
                           const KeyCheck& may_decrypt) {
    int64_t version = cached.head.latest;
    if (sel.label) {
      auto it = cached.head.labels.find(*sel.label);
      if (it == cached.head.labels.end()) return ParameterNotFound(name + sel.text);
      version = it->second;
    } else if (sel.version) {
      version = *sel.version;
      if (version < cached.head.oldest || version > cached.head.latest) {
        return VersionNotFound(name, version);
      }
    }
    if (version == cached.latest.version) {
      return MakeParameter(name, cached.latest, with_decryption, may_decrypt, sel.text);
    }
    COFFER_ASSIGN_OR_RETURN(VersionRecord record, LoadVersion(name, version));
    return MakeParameter(name, record, with_decryption, may_decrypt, sel.text);
  }

  Result<Parameter> Get(std::string_view input, bool with_decryption,
                        const KeyCheck& may_decrypt) {
    auto sel = internal::ParseSelector(input, region, account);
    if (!sel) return ParameterNotFound(input);
    for (const std::string& name : sel->candidates) {
      auto cached = LoadCached(name);
      if (!cached) {
        if (cached.error().reason == Reason::kParameterNotFound) continue;
        return Fail(cached.error());
      }
      return Select(name, **cached, *sel, with_decryption, may_decrypt);
    }
    return ParameterNotFound(input);
  }

  // Runs read-modify-write `step` under compare-and-swap on the head of `name`,
  // retrying conflicts. `step` gets the current head (or nullopt) and fills `txn`
  // writes; returning an error aborts without writing.
  // When `committed_out` is given, it receives the revision committed (0 when
  // nothing was written).
  using Step = std::function<Status(const std::optional<Loaded>&, storage::Txn&)>;
  Status Mutate(const std::string& name, const Step& step,
                storage::Revision* committed_out = nullptr) {
    bool first_try = true;
    COFFER_ASSIGN_OR_RETURN(
        std::optional<storage::Revision> committed,
        CommitWithRetry(backend, "parameter " + name,
                        [&]() -> Result<std::optional<storage::Txn>> {
                          auto attempt =
                              [&](const std::optional<Loaded>& loaded)
                              -> Result<std::optional<storage::Txn>> {
                            storage::Txn txn;
                            txn.compares.push_back(storage::Compare{
                                internal::HeadKey(name), loaded ? loaded->revision : 0});
                            COFFER_RETURN_IF_ERROR(step(loaded, txn));
                            return std::optional<storage::Txn>(std::move(txn));
                          };
                          // The first try starts from the cached head: its compare on
                          // the cached revision fails if that is not the current head,
                          // and then every retry reads storage. An error decided on the
                          // cached head is not trusted either: it is decided again on
                          // fresh data. Saves a storage read per write.
                          if (first_try) {
                            first_try = false;
                            auto [cached, as_of] = cache.FindWithRevision(name);
                            if (cached && as_of > 0) {
                              auto txn = attempt(Loaded{cached->head, as_of});
                              if (txn) return txn;
                            }
                          }
                          COFFER_ASSIGN_OR_RETURN(std::optional<Loaded> loaded, LoadHead(name));
                          return attempt(loaded);
                        }));
    if (committed) Invalidate(name, *committed);
    if (committed_out != nullptr) *committed_out = committed ? *committed : 0;
    return Ok();
  }

  // Every version key of `name` in storage.
  Result<std::vector<std::string>> VersionKeys(const std::string& name) {
    std::string prefix = internal::VersionKeyPrefix(name);
    COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> entries, ScanAll(backend, prefix));
    std::vector<std::string> out;
    for (const storage::Entry& e : entries) {
      std::string_view rest = std::string_view(e.key).substr(prefix.size());
      if (rest.size() == internal::kVersionDigits &&
          std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        out.push_back(e.key);
      }
    }
    return out;
  }

  // Scans the heads under `prefix` after the storage key `start_after`, calling
  // `visit(name, head)` until it returns false or kMaxScanPerPage heads were
  // seen. Returns true when entries remain after the last visited one.
  Result<bool> ScanHeads(std::string_view prefix, std::string_view start_after,
                         const std::function<Result<bool>(const std::string&, HeadRecord&)>& visit,
                         std::string* last_name) {
    size_t scanned = 0;
    return ScanPrefix(backend, prefix, start_after, kScanBatch,
                      [&](const storage::Entry& e) -> Result<bool> {
                        std::string name = e.key.substr(internal::kHeadPrefix.size());
                        COFFER_ASSIGN_OR_RETURN(HeadRecord head, internal::DecodeHead(e.value));
                        *last_name = name;
                        ++scanned;
                        COFFER_ASSIGN_OR_RETURN(bool more_wanted, visit(name, head));
                        return more_wanted && scanned < kMaxScanPerPage;
                      });
  }
};

ParameterStore::ParameterStore(storage::Backend& backend, keyring::Keyring& keyring,
                               kms::KeyDirectory& keys, util::Clock& clock, std::string region,
                               std::string account_id)
    : impl_(std::make_unique<Impl>(backend, keyring, keys, clock, region, account_id)),
      region_(std::move(region)),
      account_id_(std::move(account_id)) {}

ParameterStore::~ParameterStore() = default;

Result<PutParameterResult> ParameterStore::PutParameter(const PutParameterRequest& request,
                                                        std::string_view caller_arn) {
  const std::string& name = request.name;
  COFFER_RETURN_IF_ERROR(internal::ValidateName(name, region_, account_id_));
  if (request.value.empty()) {
    return Validation(
        "1 validation error detected: Value at 'value' failed to satisfy constraint: Member "
        "must have length greater than or equal to 1");
  }
  if (request.value.size() > kAdvancedValueLimit) {
    return Validation(
        "1 validation error detected: Value at 'value' failed to satisfy constraint: Member "
        "must have length less than or equal to 8192");
  }
  if (ContainsNestedReference(request.value.Reveal())) {
    return Validation("Parameter value can't nest another parameter. Do not use \"{{}}\" in the value.");
  }
  if (request.description && request.description->size() > 1024) {
    return Validation(
        "1 validation error detected: Value at 'description' failed to satisfy constraint: "
        "Member must have length less than or equal to 1024");
  }
  if (request.allowed_pattern) {
    if (request.allowed_pattern->size() > 1024) {
      return Validation(
          "1 validation error detected: Value at 'allowedPattern' failed to satisfy "
          "constraint: Member must have length less than or equal to 1024");
    }
    COFFER_RETURN_IF_ERROR(CompilePattern(*request.allowed_pattern));
  }
  if (request.data_type && !internal::IsValidDataType(*request.data_type)) {
    return Validation("The following data type is not supported: " + *request.data_type +
                      " (Data type names are all lowercase.)");
  }
  if (!request.tags.empty() && request.overwrite) {
    return Validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with "
        "tags, please remove overwrite flag. To update tags for an existing parameter, please "
        "use AddTagsToResource or RemoveTagsFromResource.");
  }
  std::map<std::string, std::string, std::less<>> tags;
  for (const Tag& tag : request.tags) {
    COFFER_RETURN_IF_ERROR(ValidateTag(tag));
    tags.insert_or_assign(tag.key, tag.value);
  }
  if (tags.size() > static_cast<size_t>(kMaxTags)) {
    return Fail(ErrorCode::kResourceExhausted,
                "The request includes more than the maximum of 50 tags for a parameter.",
                Reason::kTooManyTags);
  }

  PutParameterResult result;
  int64_t now_ms = util::ToUnixMillis(impl_->clock.Now());
  // The head and version records of the last attempt, as written.
  std::optional<std::pair<std::string, std::string>> written_records;
  storage::Revision committed = 0;
  COFFER_RETURN_IF_ERROR(impl_->Mutate(name, [&](const std::optional<Impl::Loaded>& loaded,
                                                 storage::Txn& txn) -> Status {
    if (loaded && !request.overwrite) {
      return Fail(ErrorCode::kAlreadyExists,
                  "The parameter already exists. To overwrite this value, set the overwrite "
                  "option in the request to true.",
                  Reason::kParameterAlreadyExists);
    }
    if (!loaded && !request.type) {
      return Validation("A parameter type is required when you create a parameter.");
    }
    const VersionMeta* old = loaded ? &loaded->head.meta : nullptr;
    VersionMeta meta;
    meta.type = request.type ? *request.type : old->type;
    if (old && old->type != meta.type &&
        (old->type == ParameterType::kSecureString ||
         meta.type == ParameterType::kSecureString)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "The parameter type can't be changed from " +
                      std::string(ParameterTypeName(old->type)) + " to " +
                      std::string(ParameterTypeName(meta.type)) + ".",
                  Reason::kHierarchyTypeMismatch);
    }
    meta.description = request.description ? *request.description : (old ? old->description : "");
    meta.allowed_pattern =
        request.allowed_pattern ? *request.allowed_pattern : (old ? old->allowed_pattern : "");
    meta.data_type = request.data_type ? *request.data_type : (old ? old->data_type : "text");

    // Tier: requested, else the current one, else Standard; no downgrade.
    ParameterTier tier = request.tier ? *request.tier
                                      : (old ? old->tier : ParameterTier::kStandard);
    bool was_advanced = old && old->tier == ParameterTier::kAdvanced;
    if (tier == ParameterTier::kIntelligentTiering) {
      tier = (was_advanced || request.value.size() > kStandardValueLimit)
                 ? ParameterTier::kAdvanced
                 : ParameterTier::kStandard;
    }
    if (was_advanced && tier == ParameterTier::kStandard) {
      return Fail(ErrorCode::kInvalidArgument,
                  "This parameter uses the advanced-parameter tier. You can't downgrade a "
                  "parameter from the advanced-parameter tier to the standard-parameter tier. "
                  "If necessary, you can delete the advanced parameter and recreate it as a "
                  "standard parameter.",
                  Reason::kUnsupportedParameterTierChange);
    }
    if (tier == ParameterTier::kStandard && request.value.size() > kStandardValueLimit) {
      return Validation(
          "Standard tier parameters support a maximum parameter value of 4096 characters. To "
          "create a larger parameter value, upgrade the parameter to use the advanced-parameter "
          "tier. For more information, see "
          "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
          "parameter-store-advanced-parameters.html");
    }
    meta.tier = tier;
    COFFER_RETURN_IF_ERROR(CheckPattern(meta.allowed_pattern, request.value));

    // Key: SecureString names one (default alias/aws/ssm); other types are
    // sealed under the default key and report none.
    std::string key_name(kDefaultKeyId);
    if (meta.type == ParameterType::kSecureString) {
      if (request.key_id) {
        key_name = *request.key_id;
      } else if (old && old->type == ParameterType::kSecureString && !old->key_id.empty()) {
        key_name = old->key_id;
      }
      meta.key_id = key_name;
    }
    auto key = impl_->keys.Resolve(key_name);
    if (!key) {
      Error e = key.error();
      if (e.reason == Reason::kKeyNotFound || e.reason == Reason::kNone) {
        e.reason = Reason::kInvalidKeyId;
      }
      return Fail(std::move(e));
    }
    meta.kms_key_id = key->key_id;
    if (meta.type == ParameterType::kSecureString && request.may_encrypt) {
      COFFER_RETURN_IF_ERROR(
          request.may_encrypt(*key, ParameterArn(impl_->region, impl_->account, name)));
    }
    meta.modified_ms = now_ms;
    meta.modified_user = std::string(caller_arn);

    HeadRecord head;
    if (loaded) {
      head = loaded->head;
      head.latest = loaded->head.latest + 1;
      if (head.latest - head.oldest + 1 > kMaxVersions) {
        for (const auto& [label, version] : head.labels) {
          if (version == head.oldest) {
            return Fail(ErrorCode::kFailedPrecondition,
                        "You attempted to create a new version of " + name +
                            " by calling the PutParameter API with the overwrite flag. Version " +
                            std::to_string(head.oldest) +
                            ", the oldest version, can't be deleted because it has a label "
                            "associated with it. Move the label to another version of the "
                            "parameter, and try again.",
                        Reason::kParameterMaxVersionLimitExceeded);
          }
        }
        txn.writes.push_back(storage::Write::Delete(internal::VersionKey(name, head.oldest)));
        ++head.oldest;
      }
    } else {
      head.latest = 1;
      head.oldest = 1;
      head.tags = tags;
    }
    head.meta = meta;

    VersionRecord record;
    record.version = head.latest;
    record.meta = meta;
    COFFER_ASSIGN_OR_RETURN(record.envelope,
                            impl_->keyring.Encrypt(meta.kms_key_id,
                                                   internal::ValueAad(name, record.version),
                                                   request.value.Reveal()));
    std::string encoded_version = internal::EncodeVersion(record);
    std::string encoded_head = internal::EncodeHead(head);
    txn.writes.push_back(
        storage::Write::Put(internal::VersionKey(name, record.version), encoded_version));
    txn.writes.push_back(storage::Write::Put(internal::HeadKey(name), encoded_head));
    result.version = record.version;
    result.tier = meta.tier;
    written_records = {std::move(encoded_head), std::move(encoded_version)};
    return Ok();
  }, &committed));
  // What was just committed is what the next read (or the next write's
  // resolution) of this name needs: cache it at its revision rather than
  // make that read go to storage. Ignored if a newer change went by.
  // (Decoded from the bytes written, so that it is exactly what a read decodes.)
  if (committed != 0 && written_records) {
    auto head = internal::DecodeHead(written_records->first);
    auto version = internal::DecodeVersion(written_records->second);
    if (head && version) {
      impl_->cache.Put(name, Impl::Cached{std::move(*head), std::move(*version)}, committed);
    }
  }
  return result;
}

Result<Parameter> ParameterStore::GetParameter(std::string_view name, bool with_decryption,
                                               const KeyCheck& may_decrypt) {
  return impl_->Get(name, with_decryption, may_decrypt);
}

Result<GetParametersResult> ParameterStore::GetParameters(const std::vector<std::string>& names,
                                                          bool with_decryption,
                                                          const KeyCheck& may_decrypt) {
  if (names.empty() || names.size() > 10) {
    return Validation(
        "1 validation error detected: Value at 'names' failed to satisfy constraint: Member "
        "must have length less than or equal to 10");
  }
  GetParametersResult result;
  std::set<std::string> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) continue;
    auto p = impl_->Get(name, with_decryption, may_decrypt);
    if (p) {
      result.parameters.push_back(std::move(*p));
    } else if (p.error().code == ErrorCode::kNotFound &&
               (p.error().reason == Reason::kParameterNotFound ||
                p.error().reason == Reason::kParameterVersionNotFound)) {
      result.invalid_parameters.push_back(name);
    } else {
      return Fail(p.error());
    }
  }
  return result;
}

Result<ParameterPage> ParameterStore::GetParametersByPath(const PathQuery& query) {
  COFFER_ASSIGN_OR_RETURN(std::string path, internal::NormalizePath(query.path));
  if (query.max_results < 1 || query.max_results > 10) {
    return Validation(
        "1 validation error detected: Value '" + std::to_string(query.max_results) +
        "' at 'maxResults' failed to satisfy constraint: Member must have value less than or "
        "equal to 10");
  }
  std::optional<ParameterType> type_filter;
  std::vector<std::string> key_filter;
  std::vector<std::string> label_filter;
  for (const ParameterFilter& f : query.filters) {
    if (f.key == "Type" || f.key == "KeyId" || f.key == "Label") {
      if (!f.option.empty() && f.option != "Equals") {
        return internal::FilterError(Reason::kInvalidFilterOption,
                           "The filter option is not valid. Valid options are: [Equals].");
      }
      if (f.values.empty()) {
        return internal::FilterError(Reason::kInvalidFilterValue,
                           "The filter value is not valid. The " + f.key +
                               " filter requires at least one value.");
      }
      if (f.key == "Type") {
        if (f.values.size() != 1 || !ParseParameterType(f.values[0])) {
          return internal::FilterError(Reason::kInvalidFilterValue,
                             "The filter value is not valid. Valid values for the Type filter "
                             "are: String, StringList, SecureString.");
        }
        type_filter = ParseParameterType(f.values[0]);
      } else if (f.key == "KeyId") {
        key_filter.insert(key_filter.end(), f.values.begin(), f.values.end());
      } else {
        label_filter.insert(label_filter.end(), f.values.begin(), f.values.end());
      }
    } else {
      return internal::FilterError(Reason::kInvalidFilterKey,
                         "The following filter key is not valid: " + f.key +
                             ". Valid filter keys include: [Type, KeyId, Label].");
    }
  }

  std::string prefix = std::string(internal::kHeadPrefix) + (path == "/" ? "" : path + "/");
  std::string after;  // the storage key the page starts after ("" = from the start)
  if (!query.next_token.empty()) {
    COFFER_ASSIGN_OR_RETURN(std::string position,
                            DecodePageToken(kPathTokenKind, query.next_token));
    after = std::string(internal::kHeadPrefix) + position;
  }

  ParameterPage page;
  std::string last;
  COFFER_ASSIGN_OR_RETURN(
      bool more,
      impl_->ScanHeads(prefix, after,
                       [&](const std::string& name, HeadRecord& head) -> Result<bool> {
                         if (!internal::IsUnderPath(name, path, query.recursive)) return true;
                         if (type_filter && head.meta.type != *type_filter) return true;
                         if (!key_filter.empty()) {
                           if (head.meta.type != ParameterType::kSecureString) return true;
                           bool hit = std::any_of(
                               key_filter.begin(), key_filter.end(), [&](const std::string& k) {
                                 return k == head.meta.key_id || k == head.meta.kms_key_id;
                               });
                           if (!hit) return true;
                         }
                         int64_t version = head.latest;
                         std::string selector;
                         if (!label_filter.empty()) {
                           bool hit = false;
                           for (const std::string& label : label_filter) {
                             auto it = head.labels.find(label);
                             if (it != head.labels.end()) {
                               version = it->second;
                               hit = true;
                               break;
                             }
                           }
                           if (!hit) return true;
                         }
                         auto record = impl_->LoadVersion(name, version);
                         if (!record) {
                           // Removed since the head was read: skip it.
                           if (record.error().reason == Reason::kParameterVersionNotFound) {
                             return true;
                           }
                           return Fail(record.error());
                         }
                         COFFER_ASSIGN_OR_RETURN(
                             Parameter p,
                             impl_->MakeParameter(name, *record, query.with_decryption,
                                                  query.may_decrypt, ""));
                         page.parameters.push_back(std::move(p));
                         return static_cast<int>(page.parameters.size()) < query.max_results;
                       },
                       &last));
  if (more) page.next_token = EncodePageToken(kPathTokenKind, last);
  return page;
}

Status ParameterStore::DeleteParameter(std::string_view name_view) {
  std::string name(name_view);
  return impl_->Mutate(name, [&](const std::optional<Impl::Loaded>& loaded,
                                 storage::Txn& txn) -> Status {
    if (!loaded) return ParameterNotFound(name);
    COFFER_ASSIGN_OR_RETURN(std::vector<std::string> keys, impl_->VersionKeys(name));
    for (std::string& k : keys) txn.writes.push_back(storage::Write::Delete(std::move(k)));
    txn.writes.push_back(storage::Write::Delete(internal::HeadKey(name)));
    return Ok();
  });
}

Result<keyring::RewrapReport> ParameterStore::RewrapValues(
    std::optional<std::string_view> key_id) {
  COFFER_RETURN_IF_ERROR(impl_->keyring.Refresh());
  std::string prefix(internal::kHeadPrefix);
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Entry> heads, ScanAll(impl_->backend, prefix));
  keyring::RewrapReport report;
  for (const storage::Entry& head_entry : heads) {
    std::string name = head_entry.key.substr(prefix.size());
    keyring::RewrapReport one;
    COFFER_RETURN_IF_ERROR(impl_->Mutate(name, [&](const std::optional<Impl::Loaded>& loaded,
                                                   storage::Txn& txn) -> Status {
      one = keyring::RewrapReport();  // a retry starts over
      if (!loaded) return Ok();       // deleted meanwhile
      for (int64_t version = loaded->head.oldest; version <= loaded->head.latest; ++version) {
        // Each rewritten record is guarded too, so a racing write retries.
        std::string vkey = internal::VersionKey(name, version);
        COFFER_ASSIGN_OR_RETURN(std::optional<storage::Entry> entry,
                                GetOptional(impl_->backend, vkey));
        if (!entry) continue;
        std::string what = "parameter " + name + " version " + std::to_string(version);
        auto record = internal::DecodeVersion(entry->value);
        if (!record) {
          one.failures.push_back(what + ": " + record.error().message);
          continue;
        }
        COFFER_ASSIGN_OR_RETURN(
            std::optional<std::string> fresh,
            impl_->keyring.RewrapForPass(internal::ValueAad(name, version), record->envelope,
                                         key_id, what, one));
        if (!fresh) continue;
        record->envelope = std::move(*fresh);
        txn.compares.push_back(storage::Compare{vkey, entry->mod_revision});
        txn.writes.push_back(storage::Write::Put(vkey, internal::EncodeVersion(*record)));
      }
      return Ok();
    }));
    report.scanned += one.scanned;
    report.rewrapped += one.rewrapped;
    for (std::string& f : one.failures) report.failures.push_back(std::move(f));
  }
  return report;
}

Result<DeleteParametersResult> ParameterStore::DeleteParameters(
    const std::vector<std::string>& names) {
  if (names.empty() || names.size() > 10) {
    return Validation(
        "1 validation error detected: Value at 'names' failed to satisfy constraint: Member "
        "must have length less than or equal to 10");
  }
  DeleteParametersResult result;
  std::set<std::string> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) continue;
    auto status = DeleteParameter(name);
    if (status) {
      result.deleted_parameters.push_back(name);
    } else if (status.error().reason == Reason::kParameterNotFound) {
      result.invalid_parameters.push_back(name);
    } else {
      return Fail(status.error());
    }
  }
  return result;
}

Result<HistoryPage> ParameterStore::GetParameterHistory(const HistoryQuery& query) {
  if (query.max_results < 1 || query.max_results > 50) {
    return Validation(
        "1 validation error detected: Value '" + std::to_string(query.max_results) +
        "' at 'maxResults' failed to satisfy constraint: Member must have value less than or "
        "equal to 50");
  }
  auto sel = internal::ParseSelector(query.name, region_, account_id_);
  if (!sel || sel->version || sel->label) return ParameterNotFound(query.name);
  std::optional<Impl::Loaded> loaded;
  std::string name;
  for (const std::string& candidate : sel->candidates) {
    COFFER_ASSIGN_OR_RETURN(loaded, impl_->LoadHead(candidate));
    if (loaded) {
      name = candidate;
      break;
    }
  }
  if (!loaded) return ParameterNotFound(query.name);
  const HeadRecord& head = loaded->head;
  int64_t from = head.oldest;
  if (!query.next_token.empty()) {
    COFFER_ASSIGN_OR_RETURN(std::string position,
                            DecodePageToken(kHistoryTokenKind, query.next_token));
    int64_t after = 0;
    if (position.empty() || position.size() > 18 ||
        !std::all_of(position.begin(), position.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return Fail(ErrorCode::kInvalidArgument, "The specified token isn't valid.",
                  Reason::kInvalidNextToken);
    }
    after = std::stoll(position);
    from = std::max(from, after + 1);
  }
  std::map<int64_t, std::vector<std::string>> labels_by_version;
  for (const auto& [label, version] : head.labels) labels_by_version[version].push_back(label);

  HistoryPage page;
  int64_t to = std::min(head.latest, from + query.max_results - 1);
  if (from <= to) {
    COFFER_ASSIGN_OR_RETURN(
        storage::RangeResult range,
        impl_->backend.Range(internal::VersionKey(name, from), internal::VersionKey(name, to + 1),
                             0));
    std::string prefix = internal::VersionKeyPrefix(name);
    for (const storage::Entry& e : range.entries) {
      if (e.key.size() != prefix.size() + internal::kVersionDigits) continue;  // a child's
      COFFER_ASSIGN_OR_RETURN(VersionRecord record, internal::DecodeVersion(e.value));
      ParameterHistoryEntry entry;
      entry.metadata = impl_->Metadata(name, record.meta, record.version);
      COFFER_ASSIGN_OR_RETURN(entry.value,
                              impl_->OpenValue(name, record, query.with_decryption,
                                               query.may_decrypt));
      auto it = labels_by_version.find(record.version);
      if (it != labels_by_version.end()) entry.labels = it->second;
      page.entries.push_back(std::move(entry));
    }
  }
  if (to < head.latest) {
    page.next_token = EncodePageToken(kHistoryTokenKind, std::to_string(to));
  }
  return page;
}

Result<MetadataPage> ParameterStore::DescribeParameters(const DescribeQuery& query) {
  if (query.max_results < 1 || query.max_results > 50) {
    return Validation(
        "1 validation error detected: Value '" + std::to_string(query.max_results) +
        "' at 'maxResults' failed to satisfy constraint: Member must have value less than or "
        "equal to 50");
  }
  if (!query.filters.empty() && !query.legacy_filters.empty()) {
    return Validation(
        "You can use either Filters or ParameterFilters in a single request, but not both.");
  }
  COFFER_ASSIGN_OR_RETURN(
      std::vector<internal::HeadPredicate> predicates,
      internal::CompileDescribeFilters(query.legacy_filters, query.filters));

  std::string prefix(internal::kHeadPrefix);
  std::string after;  // the storage key the page starts after ("" = from the start)
  if (!query.next_token.empty()) {
    COFFER_ASSIGN_OR_RETURN(std::string position,
                            DecodePageToken(kDescribeTokenKind, query.next_token));
    after = prefix + position;
  }
  MetadataPage page;
  std::string last;
  COFFER_ASSIGN_OR_RETURN(
      bool more,
      impl_->ScanHeads(prefix, after,
                       [&](const std::string& name, HeadRecord& head) -> Result<bool> {
                         for (const internal::HeadPredicate& p : predicates) {
                           if (!p(name, head)) return true;
                         }
                         page.parameters.push_back(impl_->Metadata(name, head.meta, head.latest));
                         return static_cast<int>(page.parameters.size()) < query.max_results;
                       },
                       &last));
  if (more) page.next_token = EncodePageToken(kDescribeTokenKind, last);
  return page;
}

Result<LabelResult> ParameterStore::LabelParameterVersion(std::string_view name_view,
                                                          std::optional<int64_t> version,
                                                          const std::vector<std::string>& labels) {
  std::string name(name_view);
  if (labels.empty() || labels.size() > 10) {
    return Validation(
        "1 validation error detected: Value at 'labels' failed to satisfy constraint: Member "
        "must have length less than or equal to 10");
  }
  LabelResult result;
  COFFER_RETURN_IF_ERROR(impl_->Mutate(name, [&](const std::optional<Impl::Loaded>& loaded,
                                                 storage::Txn& txn) -> Status {
    result = LabelResult{};
    if (!loaded) return ParameterNotFound(name);
    HeadRecord head = loaded->head;
    int64_t target = version ? *version : head.latest;
    if (target < head.oldest || target > head.latest) return VersionNotFound(name, target);
    result.parameter_version = target;
    for (const std::string& label : labels) {
      if (!internal::IsValidLabel(label)) {
        if (std::find(result.invalid_labels.begin(), result.invalid_labels.end(), label) ==
            result.invalid_labels.end()) {
          result.invalid_labels.push_back(label);
        }
        continue;
      }
      head.labels.insert_or_assign(label, target);  // moves it from any other version
    }
    int on_target = 0;
    for (const auto& [label, v] : head.labels) on_target += v == target ? 1 : 0;
    if (on_target > kMaxLabelsPerVersion) {
      return Fail(ErrorCode::kResourceExhausted,
                  "An input parameter version can't have more than 10 labels.",
                  Reason::kParameterVersionLabelLimitExceeded);
    }
    if (head.labels != loaded->head.labels) {
      txn.writes.push_back(
          storage::Write::Put(internal::HeadKey(name), internal::EncodeHead(head)));
    }
    return Ok();
  }));
  return result;
}

Result<UnlabelResult> ParameterStore::UnlabelParameterVersion(
    std::string_view name_view, int64_t version, const std::vector<std::string>& labels) {
  std::string name(name_view);
  if (labels.empty() || labels.size() > 10) {
    return Validation(
        "1 validation error detected: Value at 'labels' failed to satisfy constraint: Member "
        "must have length less than or equal to 10");
  }
  UnlabelResult result;
  COFFER_RETURN_IF_ERROR(impl_->Mutate(name, [&](const std::optional<Impl::Loaded>& loaded,
                                                 storage::Txn& txn) -> Status {
    result = UnlabelResult{};
    if (!loaded) return ParameterNotFound(name);
    HeadRecord head = loaded->head;
    if (version < head.oldest || version > head.latest) return VersionNotFound(name, version);
    for (const std::string& label : labels) {
      auto it = head.labels.find(label);
      if (it != head.labels.end() && it->second == version) {
        head.labels.erase(it);
        result.removed_labels.push_back(label);
      } else if (std::find(result.removed_labels.begin(), result.removed_labels.end(), label) ==
                     result.removed_labels.end() &&
                 std::find(result.invalid_labels.begin(), result.invalid_labels.end(), label) ==
                     result.invalid_labels.end()) {
        result.invalid_labels.push_back(label);
      }
    }
    if (!result.removed_labels.empty()) {
      txn.writes.push_back(
          storage::Write::Put(internal::HeadKey(name), internal::EncodeHead(head)));
    }
    return Ok();
  }));
  return result;
}

namespace {

std::unexpected<Error> InvalidResourceId() {
  return Fail(ErrorCode::kNotFound, "The resource ID is not valid. Verify that you entered the "
                                    "correct ID and try again.",
              Reason::kInvalidResourceId);
}

}  // namespace

Status ParameterStore::AddTags(std::string_view name_view, const std::vector<Tag>& tags) {
  std::string name(name_view);
  if (tags.empty()) {
    return Validation(
        "1 validation error detected: Value '[]' at 'tags' failed to satisfy constraint: Member "
        "must have length greater than or equal to 1");
  }
  for (const Tag& tag : tags) COFFER_RETURN_IF_ERROR(ValidateTag(tag));
  return impl_->Mutate(name, [&](const std::optional<Impl::Loaded>& loaded,
                                 storage::Txn& txn) -> Status {
    if (!loaded) return InvalidResourceId();
    HeadRecord head = loaded->head;
    for (const Tag& tag : tags) head.tags.insert_or_assign(tag.key, tag.value);
    if (head.tags.size() > static_cast<size_t>(kMaxTags)) {
      return Fail(ErrorCode::kResourceExhausted,
                  "The Targets parameter includes too many tags. Remove one or more tags and try "
                  "the request again.",
                  Reason::kTooManyTags);
    }
    txn.writes.push_back(storage::Write::Put(internal::HeadKey(name), internal::EncodeHead(head)));
    return Ok();
  });
}

Status ParameterStore::RemoveTags(std::string_view name_view,
                                  const std::vector<std::string>& keys) {
  std::string name(name_view);
  for (const std::string& key : keys) COFFER_RETURN_IF_ERROR(ValidateTagKey(key));
  return impl_->Mutate(name, [&](const std::optional<Impl::Loaded>& loaded,
                                 storage::Txn& txn) -> Status {
    if (!loaded) return InvalidResourceId();
    HeadRecord head = loaded->head;
    size_t before = head.tags.size();
    for (const std::string& key : keys) head.tags.erase(key);
    if (head.tags.size() != before) {
      txn.writes.push_back(
          storage::Write::Put(internal::HeadKey(name), internal::EncodeHead(head)));
    }
    return Ok();
  });
}

Result<ResolvedResource> ParameterStore::Resolve(std::string_view input, NameForms forms,
                                                 bool with_tags) {
  ResolvedResource out;
  std::vector<std::string> candidates;
  if (forms == NameForms::kNameOnly) {
    candidates.emplace_back(input);
  } else {
    auto sel = internal::ParseSelector(input, region_, account_id_);
    if (!sel) return ParameterNotFound(input);
    out.selector = std::move(sel->text);
    candidates = std::move(sel->candidates);
  }
  out.name = candidates.front();
  for (const std::string& candidate : candidates) {
    auto cached = impl_->LoadCached(candidate);
    if (!cached) {
      if (cached.error().reason == Reason::kParameterNotFound) continue;
      return Fail(cached.error());
    }
    out.name = candidate;
    out.exists = true;
    if (with_tags) {
      for (const auto& [k, v] : (*cached)->head.tags) out.tags.push_back(Tag{k, v});
    }
    break;
  }
  out.arn = ParameterArn(region_, account_id_, out.name);
  return out;
}

Result<std::vector<Tag>> ParameterStore::ListTags(std::string_view name_view) {
  std::string name(name_view);
  auto cached = impl_->LoadCached(name);
  if (!cached) {
    if (cached.error().reason == Reason::kParameterNotFound) return InvalidResourceId();
    return Fail(cached.error());
  }
  std::vector<Tag> tags;
  for (const auto& [k, v] : (*cached)->head.tags) tags.push_back(Tag{k, v});
  return tags;
}

}  // namespace coffer::domain::parameters
