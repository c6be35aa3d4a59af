// api/native/sys_api: the operator API of production mode, under /v1/sys/
// (docs/operations.md, docs/api/sys.md). JSON in and out:
//
//   GET  /v1/sys/seal-status     unsigned  the seal state (never a secret)
//   POST /v1/sys/init            unsigned  {"shares":N,"threshold":T} once, on a new data dir
//   POST /v1/sys/unseal          unsigned  {"share":"..."} or {"reset":true}
//   POST /v1/sys/rekey/update    unsigned  {"nonce":"...","share":"..."} (a current share)
//   POST /v1/sys/seal            signed    coffer:Seal
//   POST /v1/sys/rekey/init      signed    coffer:Rekey  {"shares":N,"threshold":T}
//   POST /v1/sys/rekey/cancel    signed    coffer:Rekey
//   POST /v1/sys/rotate-root     signed    coffer:RotateRoot
//
// The unsigned calls are authorized by what they carry (shares), as Vault's
// are. While the server is unsealed every call runs through the request
// pipeline (SysFront: signed calls authenticated and authorized on the
// resource arn:aws:coffer:<region>:<account>:seal, every call audited). While
// sealed there is no identity store to authenticate against: HandleSealed
// serves the unsigned calls, refuses the signed ones (Sealed), and audits each.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "api/pipeline/pipeline.h"
#include "audit/audit.h"
#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::api::native {

struct SealStatus {
  bool initialized = false;
  bool sealed = true;
  int shares = 0;
  int threshold = 0;
  int progress = 0;         // shares given towards the next unseal
  std::string auto_unseal;  // "", "key-file", "kms" (configured on this server)
  std::vector<std::string> root_fingerprints;  // public; current first
  // A rekey in progress: its nonce, shares given, and the new configuration.
  std::string rekey_nonce;
  int rekey_progress = 0;
  int rekey_shares = 0;
  int rekey_threshold = 0;
};

struct InitResult {
  std::vector<SecretBytes> shares;  // printed once, never stored
  std::string access_key_id;        // the initial admin's key
  SecretBytes secret_access_key;
  std::string root_fingerprint;
  bool unsealed = false;            // auto-unseal configured: serving at once
};

struct RekeyResult {
  bool complete = false;
  int progress = 0;
  int required = 0;
  std::vector<SecretBytes> shares;  // when complete: the new shares
};

struct RotateRootResult {
  std::string root_fingerprint;
  int64_t rewrapped = 0;            // key material records re-wrapped
  std::vector<std::string> notes;   // e.g. an auto-unseal wrap that had to be dropped
};

// What the server's seal state machine offers (server/ implements it).
// Thread-safe. Errors carry the keyring Reasons (kSealed, kNotInitialized,
// kAlreadyInitialized, kCorruptShare, kInvalidShare) or kValidation.
class SealOperations {
 public:
  virtual ~SealOperations() = default;
  virtual SealStatus GetStatus() = 0;
  virtual Result<InitResult> Init(int shares, int threshold) = 0;
  virtual Result<SealStatus> Unseal(std::string_view share) = 0;
  virtual SealStatus ResetUnseal() = 0;
  virtual Result<SealStatus> Seal() = 0;
  virtual Result<SealStatus> RekeyStart(int shares, int threshold) = 0;
  virtual Result<RekeyResult> RekeySubmit(std::string_view nonce, std::string_view share) = 0;
  virtual Result<SealStatus> RekeyCancel() = 0;
  virtual Result<RotateRootResult> RotateRoot() = 0;
};

// True for a path of this API (/v1/sys/...).
bool IsSysPath(std::string_view path);

// The error a refused call answers while sealed, in this API's shape.
HttpResponse SealedError(const HttpRequest& request);

// The pipeline front of /v1/sys/ (used while unsealed). `operations` must
// outlive it. Thread-safe.
class SysFront final : public pipeline::Front {
 public:
  SysFront(SealOperations& operations, std::string region, std::string account_id);
  bool Matches(const HttpRequest& request) const override;
  std::unique_ptr<pipeline::Exchange> Open(const HttpRequest& request) override;

  // While sealed: serves the unsigned calls, refuses the others with Sealed,
  // and writes one audit record per call (refused when it cannot be written).
  HttpResponse HandleSealed(const HttpRequest& request, audit::Sink& audit,
                            util::Clock& clock);

 private:
  SealOperations& operations_;
  std::string resource_arn_;
};

}  // namespace coffer::api::native
