// Identities and their access keys. In this first cut: users with long-term
// access keys, enough for the dev admin identity that `coffer server --dev`
// creates. Groups, roles, policies, OIDC providers and STS sessions extend this
// aggregate in the IAM issue (#4).
//
// Storage records (docs/formats/storage-keys.md):
//   iam/user/<name>          user record (name, id, arn, path, created, is_admin)
//   iam/akid/<AccessKeyId>   access key record; the secret access key is sealed
//                            by keyring with aad "iam/akid/<AccessKeyId>"
#pragma once

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "keyring/keyring.h"
#include "storage/backend.h"
#include "util/id_generator.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/thread_annotations.h"
#include "util/time.h"

namespace coffer::domain::iam {

// The key id whose material seals access-key secrets.
inline constexpr std::string_view kIdentityKeyId = "coffer-identity";

struct User {
  std::string name;
  std::string user_id;  // "AIDA..."
  std::string arn;      // arn:aws:iam::<account>:user/<path><name>
  std::string path = "/";
  util::SystemTime created;
  bool is_admin = false;  // until policies exist (#4): admin may do everything
};

struct AccessKey {
  std::string access_key_id;  // "AKIA..." (long-term)
  SecretBytes secret_access_key;
  std::string user_name;
  bool active = true;
  util::SystemTime created;
};

// Thread-safe. Lookups are served from an in-memory cache that a storage
// watch keeps current.
class IdentityStore {
 public:
  IdentityStore(storage::Backend& backend, keyring::Keyring& keyring, util::Clock& clock,
                util::IdGenerator& ids, std::string account_id);
  ~IdentityStore();

  // Creates user `name`. kAlreadyExists if present; kInvalidArgument (kValidation)
  // for a bad name.
  Result<User> CreateUser(std::string_view name, bool is_admin);
  // kNotFound.
  Result<User> GetUser(std::string_view name);

  // Creates a new random access key for `user_name`. kNotFound if no such user.
  Result<AccessKey> CreateAccessKey(std::string_view user_name);
  // Stores a caller-chosen key pair (dev set-up, tests with documented example
  // keys). kAlreadyExists if the access key id is taken.
  Result<AccessKey> ImportAccessKey(std::string_view user_name, std::string_view access_key_id,
                                    const SecretBytes& secret);

  // The access key and the user it belongs to. kNotFound (kUnknownAccessKey)
  // when unknown or inactive. Served from memory on the hot path.
  struct Resolved {
    AccessKey key;
    User user;
  };
  Result<Resolved> LookupAccessKey(std::string_view access_key_id);

  const std::string& account_id() const { return account_id_; }

 private:
  // ...implementation-defined members (cache, watch id)...
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string account_id_;
};

}  // namespace coffer::domain::iam
