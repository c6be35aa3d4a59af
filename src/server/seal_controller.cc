#include "server/seal_controller.h"

#include <utility>

#include "client/aws_client.h"
#include "client/kms.h"
#include "crypto/crypto.h"
#include "util/encoding.h"
#include "util/log.h"

namespace coffer::server {
namespace {

using api::native::InitResult;
using api::native::RekeyResult;
using api::native::RotateRootResult;
using api::native::SealStatus;

constexpr const char* kKmsContextKey = "coffer";
constexpr const char* kKmsContextValue = "seal-key";

std::unexpected<Error> NotInitialized() {
  return Fail(ErrorCode::kFailedPrecondition,
              "Coffer is not initialized: run `coffer operator init` first",
              Reason::kNotInitialized);
}

std::unexpected<Error> SealedError() {
  return Fail(ErrorCode::kUnavailable,
              "Coffer is sealed: unseal it (coffer operator unseal) before this call",
              Reason::kSealed);
}

std::vector<SecretBytes> Values(const std::map<uint8_t, SecretBytes>& shares) {
  std::vector<SecretBytes> out;
  for (const auto& [x, share] : shares) out.push_back(share);
  return out;
}

}  // namespace

SealController::SealController(storage::Backend& backend, util::Clock& clock, SealOptions options,
                               SealHost host)
    : backend_(backend), clock_(clock), options_(std::move(options)), host_(std::move(host)) {}

Status SealController::RequireProduction() const {
  if (options_.dev) {
    return Fail(ErrorCode::kFailedPrecondition,
                "this server runs in dev mode: its root key is a file in the data directory and "
                "it has no seal");
  }
  return Ok();
}

Status SealController::Start() {
  if (options_.dev) return Ok();
  if (!options_.unseal_key_file.empty()) {
    COFFER_ASSIGN_OR_RETURN(SecretBytes key, keyring::ReadUnsealKeyFile(options_.unseal_key_file));
    file_key_ = std::move(key);
  }
  util::MutexLock lock(mu_);
  COFFER_RETURN_IF_ERROR(ReloadLocked());
  if (!config_) {
    util::LogWarn("coffer is not initialized; run `coffer operator init` against this server");
    return Ok();
  }
  if (file_key_) {
    auto seal_key = keyring::OpenWithKeyFile(*config_, *file_key_);
    if (seal_key) {
      if (Status opened = UnsealWithLocked(std::move(*seal_key)); opened) {
        util::LogInfo("unsealed with the unseal key file");
        return Ok();
      } else {
        util::LogError("unseal with the key file failed", {{"error", opened.error().message}});
      }
    } else {
      util::LogWarn("the unseal key file cannot unseal this server; unseal with shares",
                    {{"error", seal_key.error().message}});
    }
  }
  if (!options_.kms.key_id.empty()) {
    if (config_->kms_blob.empty() || config_->kms_key_id != options_.kms.key_id) {
      util::LogWarn("--unseal-kms is not enrolled for this key; unseal with shares once to enrol");
    } else if (TryKmsUnsealLocked()) {
      return Ok();
    } else {
      // The remote KMS may come back (or the key be enabled again): try again
      // in the background until it works or shares unseal the server.
      kms_retry_ = std::thread([this] { RetryKms(); });
    }
  }
  util::LogInfo("sealed; waiting for `coffer operator unseal`",
                {{"threshold", config_->threshold}, {"shares", config_->shares}});
  return Ok();
}

SealController::~SealController() { Shutdown(); }

void SealController::Shutdown() {
  {
    util::MutexLock lock(mu_);
    stopping_ = true;
  }
  stop_cv_.NotifyAll();
  if (kms_retry_.joinable()) kms_retry_.join();
}

bool SealController::TryKmsUnsealLocked() {
  auto seal_key = KmsDecrypt(config_->kms_blob);
  if (!seal_key) {
    util::LogError("unseal through KMS failed; the server stays sealed",
                   {{"error", seal_key.error().message}});
    return false;
  }
  if (Status opened = UnsealWithLocked(std::move(*seal_key)); !opened) {
    util::LogError("unseal through KMS failed", {{"error", opened.error().message}});
    return false;
  }
  util::LogInfo("unsealed through KMS", {{"key_id", options_.kms.key_id}});
  return true;
}

void SealController::RetryKms() {
  auto wait = options_.kms.retry;
  util::MutexLock lock(mu_);
  for (;;) {
    stop_cv_.WaitFor(lock, wait);
    if (stopping_ || seal_key_) return;  // shutting down, or unsealed by shares meanwhile
    if (Status reloaded = ReloadLocked(); !reloaded || !config_ || config_->kms_blob.empty()) {
      continue;
    }
    if (TryKmsUnsealLocked()) return;
    wait = std::min<std::chrono::milliseconds>(wait * 2, std::chrono::minutes(5));
  }
}

Status SealController::ReloadLocked() {
  COFFER_ASSIGN_OR_RETURN(auto stored, keyring::LoadSealConfig(backend_));
  if (!stored) {
    config_.reset();
    revision_ = 0;
    return Ok();
  }
  config_ = std::move(stored->config);
  revision_ = stored->revision;
  return Ok();
}

Status SealController::StoreLocked(keyring::SealConfig next) {
  next.generation = config_ ? config_->generation + 1 : 1;
  COFFER_ASSIGN_OR_RETURN(storage::Revision rev,
                          keyring::StoreSealConfig(backend_, next, revision_));
  config_ = std::move(next);
  revision_ = rev;
  return Ok();
}

SealStatus SealController::StatusLocked() {
  SealStatus s;
  if (options_.dev) {
    s.initialized = true;
    s.sealed = false;
    s.auto_unseal = "dev";
    return s;
  }
  s.initialized = config_.has_value();
  s.sealed = !seal_key_.has_value();
  s.progress = static_cast<int>(progress_.size());
  if (file_key_) s.auto_unseal = "key-file";
  if (!options_.kms.key_id.empty()) s.auto_unseal = s.auto_unseal.empty() ? "kms" : "key-file,kms";
  if (config_) {
    s.shares = config_->shares;
    s.threshold = config_->threshold;
    s.root_fingerprints = config_->root_fingerprints;
  }
  if (rekey_) {
    s.rekey_nonce = rekey_->nonce;
    s.rekey_progress = static_cast<int>(rekey_->given.size());
    s.rekey_shares = rekey_->shares;
    s.rekey_threshold = rekey_->threshold;
  }
  return s;
}

SealStatus SealController::GetStatus() {
  util::MutexLock lock(mu_);
  return StatusLocked();
}

Status SealController::UnsealWithLocked(SecretBytes seal_key) {
  COFFER_ASSIGN_OR_RETURN(std::vector<keyring::RootKey> roots,
                          keyring::OpenRoots(*config_, seal_key));
  bool rotation_unfinished = roots.size() > 1;
  keyring::RootKey current = roots.front();
  COFFER_RETURN_IF_ERROR(host_.unseal(std::move(roots)));
  seal_key_ = std::move(seal_key);
  progress_.clear();
  if (rotation_unfinished) {
    // A root rotation was cut short: the keyring finished it when it opened
    // (Keyring::Open with both keys, RewrapUnderCurrentRoot by the host);
    // the record keeps only the current key from now on.
    keyring::SealConfig next = *config_;
    std::vector<keyring::RootKey> only{current};
    if (Status wrapped = keyring::WrapRoots(*seal_key_, only, next); wrapped) {
      if (Status stored = StoreLocked(std::move(next)); !stored) {
        util::LogWarn("could not drop the old root key from the seal record",
                      {{"error", stored.error().message}});
      }
    }
  }
  EnrolAutoUnsealLocked();
  return Ok();
}

void SealController::EnrolAutoUnsealLocked() {
  if (!seal_key_ || !config_) return;
  keyring::SealConfig next = *config_;
  bool changed = false;
  if (file_key_ && (next.key_file_wrap.empty() ||
                    next.key_file_fingerprint != keyring::KeyFileFingerprint(*file_key_))) {
    if (Status wrapped = keyring::WrapForKeyFile(*seal_key_, *file_key_, next); wrapped) {
      changed = true;
      util::LogInfo("enrolled the unseal key file: later starts unseal with it");
    }
  }
  if (!options_.kms.key_id.empty() &&
      (next.kms_blob.empty() || next.kms_key_id != options_.kms.key_id)) {
    auto blob = KmsEncrypt(*seal_key_);
    if (blob) {
      next.kms_key_id = options_.kms.key_id;
      next.kms_blob = std::string(blob->Reveal());
      changed = true;
      util::LogInfo("enrolled --unseal-kms: later starts unseal through KMS",
                    {{"key_id", options_.kms.key_id}});
    } else {
      util::LogWarn("could not enrol --unseal-kms", {{"error", blob.error().message}});
    }
  }
  if (changed) {
    if (Status stored = StoreLocked(std::move(next)); !stored) {
      util::LogWarn("could not store the automated unseal", {{"error", stored.error().message}});
    }
  }
}

Result<InitResult> SealController::Init(int shares, int threshold) {
  COFFER_RETURN_IF_ERROR(RequireProduction());
  util::MutexLock lock(mu_);
  COFFER_RETURN_IF_ERROR(ReloadLocked());
  if (config_) {
    return Fail(ErrorCode::kFailedPrecondition, "Coffer is already initialized",
                Reason::kAlreadyInitialized);
  }
  // Data written under a root key that no seal record names (a copied dev
  // data directory, or an init that failed half-way) would never open.
  COFFER_ASSIGN_OR_RETURN(storage::RangeResult existing,
                          backend_.Range("keyring/", storage::PrefixEnd("keyring/"), 1));
  if (!existing.entries.empty()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "this data directory already holds key material but no seal record (a dev-mode "
                "data directory, or an init that failed): start from an empty data directory");
  }
  SecretBytes seal_key = keyring::NewSealKey();
  keyring::RootKey root = keyring::RootKey::FromMaterial(crypto::RandomSecret(32));
  keyring::SealConfig next;
  std::vector<keyring::RootKey> roots{root};
  COFFER_RETURN_IF_ERROR(keyring::WrapRoots(seal_key, roots, next));
  COFFER_ASSIGN_OR_RETURN(std::vector<SecretBytes> texts,
                          keyring::MakeShares(seal_key, shares, threshold, next));
  COFFER_RETURN_IF_ERROR(StoreLocked(std::move(next)));
  util::LogInfo("initialized", {{"shares", shares}, {"threshold", threshold},
                                {"root_fingerprint", root.Fingerprint()}});

  InitResult result;
  result.shares = std::move(texts);
  result.root_fingerprint = root.Fingerprint();
  COFFER_RETURN_IF_ERROR(host_.unseal(std::move(roots)));
  seal_key_ = std::move(seal_key);
  auto admin = host_.create_admin();
  if (!admin) {
    util::LogError("initialized, but creating the admin failed",
                   {{"error", admin.error().message}});
    return Fail(ErrorCode::kInternal,
                "initialized, but creating the initial admin failed: " + admin.error().message);
  }
  result.access_key_id = std::move(admin->first);
  result.secret_access_key = std::move(admin->second);
  EnrolAutoUnsealLocked();
  bool automated = (file_key_ && !config_->key_file_wrap.empty()) ||
                   (!options_.kms.key_id.empty() && !config_->kms_blob.empty());
  if (automated) {
    result.unsealed = true;
  } else {
    // As Vault: a new server starts sealed; the operators unseal it.
    host_.seal();
    seal_key_.reset();
  }
  return result;
}

Result<SealStatus> SealController::Unseal(std::string_view share) {
  COFFER_RETURN_IF_ERROR(RequireProduction());
  util::MutexLock lock(mu_);
  if (seal_key_) return StatusLocked();
  if (progress_.empty()) COFFER_RETURN_IF_ERROR(ReloadLocked());
  if (!config_) return NotInitialized();
  COFFER_ASSIGN_OR_RETURN(SecretBytes raw, keyring::CheckShare(*config_, share));
  uint8_t x = keyring::ShareIndex(raw);
  if (progress_.contains(x)) {
    return Fail(ErrorCode::kInvalidArgument,
                "this share was already given for this unseal; give another operator's share",
                Reason::kValidation);
  }
  progress_.emplace(x, std::move(raw));
  if (static_cast<int>(progress_.size()) < config_->threshold) return StatusLocked();
  std::vector<SecretBytes> given = Values(progress_);
  progress_.clear();
  COFFER_ASSIGN_OR_RETURN(SecretBytes seal_key, keyring::OpenWithShares(*config_, given));
  COFFER_RETURN_IF_ERROR(UnsealWithLocked(std::move(seal_key)));
  util::LogInfo("unsealed with shares");
  return StatusLocked();
}

SealStatus SealController::ResetUnseal() {
  util::MutexLock lock(mu_);
  progress_.clear();
  return StatusLocked();
}

Result<SealStatus> SealController::Seal() {
  COFFER_RETURN_IF_ERROR(RequireProduction());
  util::MutexLock lock(mu_);
  if (seal_key_) {
    host_.seal();
    seal_key_.reset();
    rekey_.reset();
    progress_.clear();
    util::LogInfo("sealed by an operator");
  }
  return StatusLocked();
}

Result<SealStatus> SealController::RekeyStart(int shares, int threshold) {
  COFFER_RETURN_IF_ERROR(RequireProduction());
  util::MutexLock lock(mu_);
  if (!seal_key_) return SealedError();
  if (rekey_) {
    return Fail(ErrorCode::kFailedPrecondition,
                "a rekey is already in progress (nonce " + rekey_->nonce + "); cancel it first");
  }
  // Validate the new configuration now rather than after the shares.
  keyring::SealConfig probe;
  if (auto made = keyring::MakeShares(*seal_key_, shares, threshold, probe); !made) {
    return Fail(std::move(made).error());
  }
  rekey_ = Rekey{util::HexEncode(crypto::RandomBytes(16)), shares, threshold, {}};
  util::LogInfo("rekey started", {{"shares", shares}, {"threshold", threshold}});
  return StatusLocked();
}

Result<RekeyResult> SealController::RekeySubmit(std::string_view nonce, std::string_view share) {
  COFFER_RETURN_IF_ERROR(RequireProduction());
  util::MutexLock lock(mu_);
  if (!seal_key_) return SealedError();
  if (!rekey_) return Fail(ErrorCode::kFailedPrecondition, "no rekey is in progress");
  if (!crypto::ConstantTimeEquals(nonce, rekey_->nonce)) {
    return Fail(ErrorCode::kFailedPrecondition,
                "the nonce does not name the rekey in progress (see coffer operator status)");
  }
  COFFER_ASSIGN_OR_RETURN(SecretBytes raw, keyring::CheckShare(*config_, share));
  uint8_t x = keyring::ShareIndex(raw);
  if (rekey_->given.contains(x)) {
    return Fail(ErrorCode::kInvalidArgument, "this share was already given for this rekey",
                Reason::kValidation);
  }
  rekey_->given.emplace(x, std::move(raw));
  RekeyResult result;
  result.required = config_->threshold;
  result.progress = static_cast<int>(rekey_->given.size());
  if (result.progress < config_->threshold) return result;
  std::vector<SecretBytes> given = Values(rekey_->given);
  Rekey rekey = std::move(*rekey_);
  rekey_.reset();
  // The shares must open the seal key this server holds: proof that their
  // holders agree, as for an unseal.
  COFFER_ASSIGN_OR_RETURN(SecretBytes opened, keyring::OpenWithShares(*config_, given));
  if (!opened.Equals(*seal_key_)) {
    return Fail(ErrorCode::kInvalidArgument, "the shares do not open this server's seal key",
                Reason::kInvalidShare);
  }
  keyring::SealConfig next = *config_;
  COFFER_ASSIGN_OR_RETURN(result.shares,
                          keyring::MakeShares(*seal_key_, rekey.shares, rekey.threshold, next));
  COFFER_RETURN_IF_ERROR(StoreLocked(std::move(next)));
  result.complete = true;
  util::LogInfo("rekeyed: new shares issued, the old ones open nothing",
                {{"shares", rekey.shares}, {"threshold", rekey.threshold}});
  return result;
}

Result<SealStatus> SealController::RekeyCancel() {
  COFFER_RETURN_IF_ERROR(RequireProduction());
  util::MutexLock lock(mu_);
  if (!seal_key_) return SealedError();
  rekey_.reset();
  return StatusLocked();
}

Result<RotateRootResult> SealController::RotateRoot() {
  COFFER_RETURN_IF_ERROR(RequireProduction());
  util::MutexLock lock(mu_);
  if (!seal_key_) return SealedError();
  COFFER_RETURN_IF_ERROR(ReloadLocked());
  COFFER_ASSIGN_OR_RETURN(std::vector<keyring::RootKey> roots,
                          keyring::OpenRoots(*config_, *seal_key_));
  keyring::RootKey next_root = keyring::RootKey::FromMaterial(crypto::RandomSecret(32));
  // 1. The record names the new root key beside the old ones before any
  // key material moves: a crash from here on loses nothing.
  std::vector<keyring::RootKey> both{next_root};
  both.insert(both.end(), roots.begin(), roots.end());
  keyring::SealConfig with_both = *config_;
  COFFER_RETURN_IF_ERROR(keyring::WrapRoots(*seal_key_, both, with_both));
  COFFER_RETURN_IF_ERROR(StoreLocked(std::move(with_both)));
  // 2. Every key material record is re-wrapped under it (online: requests
  // keep being served; the keyring knows both keys meanwhile).
  RotateRootResult result;
  COFFER_ASSIGN_OR_RETURN(result.rewrapped, host_.rotate_root(next_root));
  // 3. The old root keys are forgotten.
  keyring::SealConfig only_next = *config_;
  std::vector<keyring::RootKey> one{next_root};
  COFFER_RETURN_IF_ERROR(keyring::WrapRoots(*seal_key_, one, only_next));
  COFFER_RETURN_IF_ERROR(StoreLocked(std::move(only_next)));
  result.root_fingerprint = next_root.Fingerprint();
  util::LogInfo("root key rotated", {{"root_fingerprint", result.root_fingerprint},
                                     {"rewrapped", result.rewrapped}});
  return result;
}

Result<client::AwsConfig> SealController::KmsConfig() const {
  // No endpoint given (flag or AWS_ENDPOINT_URL): AWS KMS in the region.
  constexpr std::string_view kPlaceholder = "https://kms.region.amazonaws.com";
  auto config = client::ResolveConfig(options_.kms.endpoint);
  bool aws = false;
  if (!config && options_.kms.endpoint.empty()) {
    config = client::ResolveConfig(kPlaceholder);
    aws = true;
  }
  if (!config) return Fail(std::move(config).error());
  if (!options_.kms.region.empty()) config->region = options_.kms.region;
  if (aws) config->endpoint = "https://kms." + config->region + ".amazonaws.com";
  return config;
}

Result<SecretBytes> SealController::KmsEncrypt(const SecretBytes& seal_key) {
  COFFER_ASSIGN_OR_RETURN(client::AwsConfig config, KmsConfig());
  COFFER_ASSIGN_OR_RETURN(std::string blob,
                          client::KmsEncrypt(config, options_.kms.key_id, seal_key,
                                             {{kKmsContextKey, kKmsContextValue}}, clock_));
  return SecretBytes(blob);
}

Result<SecretBytes> SealController::KmsDecrypt(std::string_view blob) {
  COFFER_ASSIGN_OR_RETURN(client::AwsConfig config, KmsConfig());
  return client::KmsDecrypt(config, options_.kms.key_id, blob,
                            {{kKmsContextKey, kKmsContextValue}}, clock_);
}

}  // namespace coffer::server
