// The seal state machine of a production server (docs/operations.md):
// uninitialized -> init -> sealed <-> unsealed, with unseal progress, rekey
// and root rotation. It keeps the seal record (keyring/seal.h) and, while
// unsealed, the seal key; the parts that serve requests are built and torn
// down by its host (ServerContext) through SealHost.
//
// Dev mode has no seal: the root key is a file in the data directory, the
// status says unsealed, and the operator calls answer FailedPrecondition.
#pragma once

#include <functional>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "api/native/sys_api.h"
#include "client/aws_client.h"
#include "keyring/keyring.h"
#include "keyring/seal.h"
#include "storage/backend.h"
#include "util/mutex.h"
#include "util/result.h"
#include "util/secret_bytes.h"
#include "util/time.h"

namespace coffer::server {

// What the controller asks of the server that hosts it.
struct SealHost {
  // Builds the parts that serve requests from the root keys (current first)
  // and starts serving them.
  std::function<Status(std::vector<keyring::RootKey>)> unseal;
  // Stops serving them: new requests are refused as sealed at once, and
  // in-flight ones finish on the old parts.
  std::function<void()> seal;
  // On the serving parts: keyring::Keyring::RotateRoot.
  std::function<Result<int64_t>(keyring::RootKey)> rotate_root;
  // On the serving parts: creates the initial admin user and an access key.
  std::function<Result<std::pair<std::string, SecretBytes>>()> create_admin;
};

// --unseal-kms: the seal key is encrypted by a KMS key on another endpoint
// (real AWS KMS or another Coffer), reached through client/ with the usual
// AWS credential chain.
struct UnsealKmsOptions {
  std::string key_id;    // "" = off
  std::string endpoint;  // "" = AWS_ENDPOINT_URL
  std::string region;    // "" = the AWS chain's
  // A failed unseal at start is tried again after this long (then doubling,
  // up to 5 minutes) until it works or shares unseal the server.
  std::chrono::milliseconds retry = std::chrono::seconds(5);
};

struct SealOptions {
  bool dev = false;
  std::string unseal_key_file;  // "" = off
  UnsealKmsOptions kms;
};

class SealController final : public api::native::SealOperations {
 public:
  // `backend`, `clock` and the host's functions must outlive the controller.
  SealController(storage::Backend& backend, util::Clock& clock, SealOptions options,
                 SealHost host);

  // At start: in dev mode does nothing (the host serves already). Otherwise
  // reads the seal record and, when an automated unseal is configured and
  // enrolled, unseals. Errors only for what must stop the server (a corrupt
  // seal record, an unreadable key file); a failed automated unseal is logged
  // and leaves the server sealed.
  Status Start();
  // Stops the --unseal-kms retries (joins their thread). Idempotent; also
  // done by the destructor.
  void Shutdown();
  ~SealController() override;

  api::native::SealStatus GetStatus() override;
  Result<api::native::InitResult> Init(int shares, int threshold) override;
  Result<api::native::SealStatus> Unseal(std::string_view share) override;
  api::native::SealStatus ResetUnseal() override;
  Result<api::native::SealStatus> Seal() override;
  Result<api::native::SealStatus> RekeyStart(int shares, int threshold) override;
  Result<api::native::RekeyResult> RekeySubmit(std::string_view nonce,
                                               std::string_view share) override;
  Result<api::native::SealStatus> RekeyCancel() override;
  Result<api::native::RotateRootResult> RotateRoot() override;

 private:
  api::native::SealStatus StatusLocked() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Status RequireProduction() const;
  // Re-reads the record (another server may have changed it).
  Status ReloadLocked() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Opens the root keys with the seal key and asks the host to serve.
  Status UnsealWithLocked(SecretBytes seal_key) COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stores wraps of the seal key for the configured automated unseal when
  // the record lacks them (after an unseal with shares, or at init).
  void EnrolAutoUnsealLocked() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One attempt to unseal through KMS; true when unsealed.
  bool TryKmsUnsealLocked() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The retry loop of a failed --unseal-kms at start.
  void RetryKms();
  Result<client::AwsConfig> KmsConfig() const;
  Result<SecretBytes> KmsEncrypt(const SecretBytes& seal_key);
  Result<SecretBytes> KmsDecrypt(std::string_view blob);
  Status StoreLocked(keyring::SealConfig next) COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  storage::Backend& backend_;
  util::Clock& clock_;
  const SealOptions options_;
  const SealHost host_;
  std::optional<SecretBytes> file_key_;  // read once at Start

  util::Mutex mu_;
  std::optional<keyring::SealConfig> config_ COFFER_GUARDED_BY(mu_);
  storage::Revision revision_ COFFER_GUARDED_BY(mu_) = 0;
  std::optional<SecretBytes> seal_key_ COFFER_GUARDED_BY(mu_);  // set while unsealed
  std::map<uint8_t, SecretBytes> progress_ COFFER_GUARDED_BY(mu_);
  struct Rekey {
    std::string nonce;
    int shares = 0;
    int threshold = 0;
    std::map<uint8_t, SecretBytes> given;
  };
  std::optional<Rekey> rekey_ COFFER_GUARDED_BY(mu_);
  bool stopping_ COFFER_GUARDED_BY(mu_) = false;
  util::CondVar stop_cv_;
  std::thread kms_retry_;  // started by Start() when --unseal-kms failed
};

}  // namespace coffer::server
