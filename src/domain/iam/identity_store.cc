#include "domain/iam/identity_store.h"

#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "util/encoding.h"

namespace coffer::domain::iam {
namespace {

constexpr std::string_view kUserPrefix = "iam/user/";
constexpr std::string_view kAccessKeyPrefix = "iam/akid/";
constexpr std::string_view kIamPrefix = "iam/";

// Record encodings (persisted: never renumber or reorder fields). Each record
// starts with a format byte, then fields in order: strings as u32 little-endian
// length + bytes, times as i64 little-endian Unix milliseconds, flags as one byte.
//   user (format 1):       name, user_id, arn, path, created, is_admin
//   access key (format 1): access_key_id, user_name, sealed_secret, active, created
constexpr uint8_t kUserFormat = 1;
constexpr uint8_t kAccessKeyFormat = 1;

class RecordWriter {
 public:
  explicit RecordWriter(uint8_t format) { out_.push_back(static_cast<char>(format)); }
  void String(std::string_view s) {
    U64(s.size(), 4);
    out_ += s;
  }
  void Time(util::SystemTime t) { U64(static_cast<uint64_t>(util::ToUnixMillis(t)), 8); }
  void Flag(bool b) { out_.push_back(b ? 1 : 0); }
  std::string Take() { return std::move(out_); }

 private:
  void U64(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

class RecordReader {
 public:
  explicit RecordReader(std::string_view in) : in_(in) {}
  bool Format(uint8_t expected) {
    if (in_.empty() || static_cast<uint8_t>(in_[0]) != expected) return ok_ = false;
    in_.remove_prefix(1);
    return true;
  }
  std::string String() {
    uint64_t n = U64(4);
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  util::SystemTime Time() { return util::FromUnixMillis(static_cast<int64_t>(U64(8))); }
  bool Flag() {
    if (in_.empty()) {
      ok_ = false;
      return false;
    }
    char c = in_[0];
    in_.remove_prefix(1);
    return c != 0;
  }
  bool ok() const { return ok_ && in_.empty(); }

 private:
  uint64_t U64(int bytes) {
    if (!ok_ || in_.size() < static_cast<size_t>(bytes)) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
      v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(bytes);
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

std::string EncodeUser(const User& u) {
  RecordWriter w(kUserFormat);
  w.String(u.name);
  w.String(u.user_id);
  w.String(u.arn);
  w.String(u.path);
  w.Time(u.created);
  w.Flag(u.is_admin);
  return w.Take();
}

Result<User> DecodeUser(std::string_view key, std::string_view value) {
  RecordReader r(value);
  User u;
  if (r.Format(kUserFormat)) {
    u.name = r.String();
    u.user_id = r.String();
    u.arn = r.String();
    u.path = r.String();
    u.created = r.Time();
    u.is_admin = r.Flag();
  }
  if (!r.ok()) {
    return Fail(ErrorCode::kDataLoss, "corrupt user record " + std::string(key));
  }
  return u;
}

struct StoredAccessKey {
  std::string access_key_id;
  std::string user_name;
  std::string sealed_secret;
  bool active = true;
  util::SystemTime created;
};

std::string EncodeAccessKey(const StoredAccessKey& k) {
  RecordWriter w(kAccessKeyFormat);
  w.String(k.access_key_id);
  w.String(k.user_name);
  w.String(k.sealed_secret);
  w.Flag(k.active);
  w.Time(k.created);
  return w.Take();
}

Result<StoredAccessKey> DecodeAccessKey(std::string_view key, std::string_view value) {
  RecordReader r(value);
  StoredAccessKey k;
  if (r.Format(kAccessKeyFormat)) {
    k.access_key_id = r.String();
    k.user_name = r.String();
    k.sealed_secret = r.String();
    k.active = r.Flag();
    k.created = r.Time();
  }
  if (!r.ok()) {
    return Fail(ErrorCode::kDataLoss, "corrupt access key record " + std::string(key));
  }
  return k;
}

std::string UserKey(std::string_view name) { return std::string(kUserPrefix) + std::string(name); }
std::string AccessKeyKey(std::string_view id) {
  return std::string(kAccessKeyPrefix) + std::string(id);
}

// IAM user names: 1-64 of [A-Za-z0-9+=,.@_-].
bool IsValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              std::strchr("+=,.@_-", c) != nullptr;
    if (!ok) return false;
  }
  return true;
}

// Access key ids: 4-128 of [A-Z0-9] (allows AWS's documented AKIDEXAMPLE).
bool IsValidAccessKeyId(std::string_view id) {
  if (id.size() < 4 || id.size() > 128) return false;
  for (char c : id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// `prefix` + 16 characters drawn uniformly from [A-Z0-9] with the CSPRNG.
std::string RandomIdentifier(std::string_view prefix) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out(prefix);
  while (out.size() < prefix.size() + 16) {
    std::string bytes = crypto::RandomBytes(32);
    for (unsigned char b : bytes) {
      if (b >= 252) continue;  // 252 = 7 * 36: reject to keep the draw uniform
      out.push_back(kAlphabet[b % 36]);
      if (out.size() == prefix.size() + 16) break;
    }
  }
  return out;
}

Error UnknownKey(std::string_view id) {
  return Error{ErrorCode::kNotFound, Reason::kUnknownAccessKey,
               "access key " + std::string(id) + " is unknown or inactive"};
}

}  // namespace

struct IdentityStore::Impl {
  Impl(storage::Backend& b, keyring::Keyring& k, util::Clock& c, util::IdGenerator& i)
      : backend(b), keyring(k), clock(c), ids(i) {}

  storage::Backend& backend;
  keyring::Keyring& keyring;
  util::Clock& clock;
  util::IdGenerator& ids;  // non-secret ids only; access keys come from the CSPRNG
  uint64_t watch_id = 0;

  std::shared_mutex mu;
  // Resolved keys by access key id (inactive ones too: Lookup filters them).
  std::map<std::string, std::shared_ptr<const Resolved>, std::less<>> cache COFFER_GUARDED_BY(mu);
  // Bumped on every change under iam/. A lookup that read storage under an older
  // generation does not fill the cache, so a fill can never resurrect data that a
  // watch event has already invalidated.
  uint64_t generation COFFER_GUARDED_BY(mu) = 0;

  void OnEvents(const std::vector<storage::Event>& events) {
    std::unique_lock lock(mu);
    for (const storage::Event& e : events) {
      std::string_view key = e.key;
      if (!key.starts_with(kIamPrefix)) continue;
      ++generation;
      if (key.starts_with(kAccessKeyPrefix)) {
        auto it = cache.find(key.substr(kAccessKeyPrefix.size()));
        if (it != cache.end()) cache.erase(it);
      } else if (key.starts_with(kUserPrefix)) {
        std::string_view name = key.substr(kUserPrefix.size());
        std::erase_if(cache, [name](const auto& kv) { return kv.second->user.name == name; });
      } else {
        cache.clear();
      }
    }
  }

  Status EnsureIdentityKey() {
    if (keyring.HasKey(kIdentityKeyId)) return Ok();
    Status created = keyring.CreateKey(kIdentityKeyId);
    if (!created.has_value() && created.error().code != ErrorCode::kAlreadyExists) return created;
    return Ok();
  }

  Result<storage::Entry> GetUserEntry(std::string_view name) {
    auto entry = backend.Get(UserKey(name));
    if (!entry.has_value() && entry.error().code == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kNotFound,
                  "The user with name " + std::string(name) + " cannot be found.",
                  Reason::kNoSuchEntity);
    }
    return entry;
  }

  // Seals `secret` and writes the access key record, provided the key id is
  // free and the user record is unchanged since `user_entry` was read.
  Result<AccessKey> StoreKey(const storage::Entry& user_entry, const User& user,
                             std::string_view access_key_id, const SecretBytes& secret) {
    COFFER_RETURN_IF_ERROR(EnsureIdentityKey());
    std::string key = AccessKeyKey(access_key_id);
    StoredAccessKey stored;
    stored.access_key_id = std::string(access_key_id);
    stored.user_name = user.name;
    stored.active = true;
    stored.created = clock.Now();
    COFFER_ASSIGN_OR_RETURN(stored.sealed_secret,
                            keyring.Encrypt(kIdentityKeyId, key, secret.Reveal()));
    storage::Txn txn;
    txn.compares.push_back(storage::Compare{key, 0});
    txn.compares.push_back(storage::Compare{user_entry.key, user_entry.mod_revision});
    txn.writes.push_back(storage::Write::Put(key, EncodeAccessKey(stored)));
    auto committed = backend.Commit(txn);
    if (!committed.has_value()) {
      if (committed.error().code == ErrorCode::kAborted && backend.Get(key).has_value()) {
        return Fail(ErrorCode::kAlreadyExists,
                    "Access key " + std::string(access_key_id) + " already exists.",
                    Reason::kEntityAlreadyExists);
      }
      return Fail(std::move(committed).error());
    }
    AccessKey out;
    out.access_key_id = stored.access_key_id;
    out.secret_access_key = secret;
    out.user_name = user.name;
    out.active = true;
    out.created = stored.created;
    return out;
  }

  // Reads and decrypts an access key and its user from storage.
  Result<std::shared_ptr<const Resolved>> Load(std::string_view access_key_id) {
    std::string key = AccessKeyKey(access_key_id);
    auto entry = backend.Get(key);
    if (!entry.has_value()) {
      if (entry.error().code == ErrorCode::kNotFound) return Fail(UnknownKey(access_key_id));
      return Fail(std::move(entry).error());
    }
    COFFER_ASSIGN_OR_RETURN(StoredAccessKey stored, DecodeAccessKey(key, entry->value));
    COFFER_ASSIGN_OR_RETURN(keyring::Decrypted secret, keyring.Decrypt(key, stored.sealed_secret));
    auto user_entry = backend.Get(UserKey(stored.user_name));
    if (!user_entry.has_value()) {
      if (user_entry.error().code == ErrorCode::kNotFound) return Fail(UnknownKey(access_key_id));
      return Fail(std::move(user_entry).error());
    }
    COFFER_ASSIGN_OR_RETURN(User user, DecodeUser(user_entry->key, user_entry->value));
    auto resolved = std::make_shared<Resolved>();
    resolved->key.access_key_id = std::move(stored.access_key_id);
    resolved->key.secret_access_key = std::move(secret.plaintext);
    resolved->key.user_name = std::move(stored.user_name);
    resolved->key.active = stored.active;
    resolved->key.created = stored.created;
    resolved->user = std::move(user);
    return std::shared_ptr<const Resolved>(std::move(resolved));
  }
};

IdentityStore::IdentityStore(storage::Backend& backend, keyring::Keyring& keyring,
                             util::Clock& clock, util::IdGenerator& ids, std::string account_id)
    : impl_(std::make_unique<Impl>(backend, keyring, clock, ids)),
      account_id_(std::move(account_id)) {
  Impl* impl = impl_.get();
  impl_->watch_id =
      backend.Watch([impl](const std::vector<storage::Event>& events) { impl->OnEvents(events); });
}

IdentityStore::~IdentityStore() { impl_->backend.Unwatch(impl_->watch_id); }

Result<User> IdentityStore::CreateUser(std::string_view name, bool is_admin) {
  if (!IsValidUserName(name)) {
    return Fail(ErrorCode::kInvalidArgument,
                "user name must be 1-64 characters of [A-Za-z0-9+=,.@_-]", Reason::kValidation);
  }
  User user;
  user.name = std::string(name);
  user.user_id = RandomIdentifier("AIDA");
  user.path = "/";
  user.arn = "arn:aws:iam::" + account_id_ + ":user" + user.path + user.name;
  user.created = impl_->clock.Now();
  user.is_admin = is_admin;
  std::string key = UserKey(name);
  storage::Txn txn;
  txn.compares.push_back(storage::Compare{key, 0});
  txn.writes.push_back(storage::Write::Put(key, EncodeUser(user)));
  auto committed = impl_->backend.Commit(txn);
  if (!committed.has_value()) {
    if (committed.error().code == ErrorCode::kAborted) {
      return Fail(ErrorCode::kAlreadyExists,
                  "User with name " + std::string(name) + " already exists.",
                  Reason::kEntityAlreadyExists);
    }
    return Fail(std::move(committed).error());
  }
  return user;
}

Result<User> IdentityStore::GetUser(std::string_view name) {
  if (!IsValidUserName(name)) {
    return Fail(ErrorCode::kNotFound,
                "The user with name " + std::string(name) + " cannot be found.",
                Reason::kNoSuchEntity);
  }
  COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetUserEntry(name));
  return DecodeUser(entry.key, entry.value);
}

Result<AccessKey> IdentityStore::CreateAccessKey(std::string_view user_name) {
  if (!IsValidUserName(user_name)) {
    return Fail(ErrorCode::kNotFound,
                "The user with name " + std::string(user_name) + " cannot be found.",
                Reason::kNoSuchEntity);
  }
  COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetUserEntry(user_name));
  COFFER_ASSIGN_OR_RETURN(User user, DecodeUser(entry.key, entry.value));
  std::string random = crypto::RandomBytes(30);
  std::string encoded = util::Base64Encode(random);  // 40 characters
  SecretBytes secret(encoded);
  util::SecureClear(random);
  util::SecureClear(encoded);
  return impl_->StoreKey(entry, user, RandomIdentifier("AKIA"), secret);
}

Result<AccessKey> IdentityStore::ImportAccessKey(std::string_view user_name,
                                                 std::string_view access_key_id,
                                                 const SecretBytes& secret) {
  if (!IsValidAccessKeyId(access_key_id)) {
    return Fail(ErrorCode::kInvalidArgument, "access key id must be 4-128 characters of [A-Z0-9]",
                Reason::kValidation);
  }
  if (secret.empty() || secret.size() > 128) {
    return Fail(ErrorCode::kInvalidArgument, "secret access key must be 1-128 bytes",
                Reason::kValidation);
  }
  if (!IsValidUserName(user_name)) {
    return Fail(ErrorCode::kNotFound,
                "The user with name " + std::string(user_name) + " cannot be found.",
                Reason::kNoSuchEntity);
  }
  COFFER_ASSIGN_OR_RETURN(storage::Entry entry, impl_->GetUserEntry(user_name));
  COFFER_ASSIGN_OR_RETURN(User user, DecodeUser(entry.key, entry.value));
  return impl_->StoreKey(entry, user, access_key_id, secret);
}

Result<IdentityStore::Resolved> IdentityStore::LookupAccessKey(std::string_view access_key_id) {
  uint64_t generation;
  {
    std::shared_lock lock(impl_->mu);
    auto it = impl_->cache.find(access_key_id);
    if (it != impl_->cache.end()) {
      if (!it->second->key.active) return Fail(UnknownKey(access_key_id));
      return *it->second;
    }
    generation = impl_->generation;
  }
  if (!IsValidAccessKeyId(access_key_id)) return Fail(UnknownKey(access_key_id));
  COFFER_ASSIGN_OR_RETURN(std::shared_ptr<const Resolved> resolved, impl_->Load(access_key_id));
  {
    std::unique_lock lock(impl_->mu);
    if (impl_->generation == generation) impl_->cache[std::string(access_key_id)] = resolved;
  }
  if (!resolved->key.active) return Fail(UnknownKey(access_key_id));
  return *resolved;
}

}  // namespace coffer::domain::iam
