#include "files/pgp.h"

#include <gpgme.h>
#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>

#include "util/private_file.h"

namespace coffer::files {
namespace {

// A public key is a few KiB; a bound keeps gpg from parsing anything huge.
constexpr size_t kMaxPublicKeyBytes = 1 << 20;

// gpg.conf of the private home. no-autostart: nothing here needs a secret key,
// so no gpg-agent or dirmngr is started (a secret-key block fails to import
// instead of reaching an agent). No key is ever fetched from the network.
constexpr std::string_view kGpgConf =
    "no-autostart\n"
    "no-auto-key-retrieve\n"
    "no-auto-key-locate\n";

struct ContextDeleter {
  void operator()(gpgme_ctx_t ctx) const { gpgme_release(ctx); }
};
struct DataDeleter {
  void operator()(gpgme_data_t data) const { gpgme_data_release(data); }
};
struct KeyDeleter {
  void operator()(gpgme_key_t key) const { gpgme_key_unref(key); }
};
using ContextPtr = std::unique_ptr<std::remove_pointer_t<gpgme_ctx_t>, ContextDeleter>;
using DataPtr = std::unique_ptr<std::remove_pointer_t<gpgme_data_t>, DataDeleter>;
using KeyPtr = std::unique_ptr<std::remove_pointer_t<gpgme_key_t>, KeyDeleter>;

// "<source>: <description>" of a gpgme error (gpgme_strerror_r: thread-safe).
std::string GpgmeError(gpgme_error_t err) {
  char text[256] = {};
  if (gpgme_strerror_r(err, text, sizeof(text) - 1) != 0) text[0] = '\0';
  return std::string(gpgme_strsource(err)) + ": " + text;
}

Error InvalidKey(std::string why) {
  return Error{ErrorCode::kInvalidArgument, Reason::kValidation,
               "not a usable OpenPGP public key: " + std::move(why)};
}

// Initialises gpgme once per process (thread-safe static) and checks that gpg runs.
Status InitGpgme() {
  static const Status status = []() -> Status {
    if (gpgme_check_version("1.14.0") == nullptr) {
      return Fail(ErrorCode::kFailedPrecondition, "gpgme 1.14 or newer is required");
    }
    gpgme_error_t err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
    if (err != 0) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "gpg (GnuPG) is not available: " + GpgmeError(err));
    }
    return Ok();
  }();
  return status;
}

// A private GNUPGHOME: a fresh 0700 directory under $TMPDIR (or /tmp), removed
// with everything in it when this object goes away.
class ScopedGnupgHome {
 public:
  ScopedGnupgHome() = default;
  ~ScopedGnupgHome() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScopedGnupgHome(const ScopedGnupgHome&) = delete;
  ScopedGnupgHome& operator=(const ScopedGnupgHome&) = delete;

  Status Create() {
    const char* tmpdir = ::getenv("TMPDIR");
    std::string base = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
    std::string pattern = base + "/coffer-gnupg-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {  // mkdtemp makes it 0700
      return Fail(ErrorCode::kUnavailable, "cannot create a temporary GnuPG home under " + base +
                                               ": " + std::generic_category().message(errno));
    }
    path_ = pattern;
    return util::WritePrivateFile(path_ + "/gpg.conf", kGpgConf);
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Why `key` cannot be encrypted to now, or an empty string when it can.
std::string UnusableReason(gpgme_key_t key) {
  if (key->secret) return "it is a secret key (give the public key: gpg --export)";
  if (key->revoked) return "the key is revoked";
  if (key->expired) return "the key has expired";
  if (key->disabled) return "the key is disabled";
  if (key->invalid) return "the key is invalid";
  for (gpgme_subkey_t sub = key->subkeys; sub != nullptr; sub = sub->next) {
    if (sub->secret) return "it is a secret key (give the public key: gpg --export)";
  }
  for (gpgme_subkey_t sub = key->subkeys; sub != nullptr; sub = sub->next) {
    if (sub->can_encrypt && !sub->revoked && !sub->expired && !sub->disabled && !sub->invalid) {
      return "";
    }
  }
  return "it has no usable encryption subkey (a sign-only, expired or revoked subkey)";
}

// The one key of `public_key`, imported into `home` and checked, with a context
// bound to that home.
struct ImportedKey {
  ContextPtr ctx;
  KeyPtr key;
};

Result<ImportedKey> ImportOneKey(const ScopedGnupgHome& home, std::string_view public_key) {
  gpgme_ctx_t raw_ctx = nullptr;
  gpgme_error_t err = gpgme_new(&raw_ctx);
  if (err != 0) return Fail(ErrorCode::kInternal, "gpgme_new failed: " + GpgmeError(err));
  ContextPtr ctx(raw_ctx);
  err = gpgme_set_protocol(ctx.get(), GPGME_PROTOCOL_OpenPGP);
  // The home of this context only: the process environment is not changed.
  if (err == 0) {
    err =
        gpgme_ctx_set_engine_info(ctx.get(), GPGME_PROTOCOL_OpenPGP, nullptr, home.path().c_str());
  }
  if (err == 0) err = gpgme_set_keylist_mode(ctx.get(), GPGME_KEYLIST_MODE_LOCAL);
  if (err != 0) return Fail(ErrorCode::kInternal, "cannot set up gpgme: " + GpgmeError(err));
  gpgme_set_offline(ctx.get(), 1);

  gpgme_data_t raw_data = nullptr;
  err = gpgme_data_new_from_mem(&raw_data, public_key.data(), public_key.size(), /*copy=*/0);
  if (err != 0) return Fail(ErrorCode::kInternal, "gpgme_data_new_from_mem: " + GpgmeError(err));
  DataPtr data(raw_data);

  err = gpgme_op_import(ctx.get(), data.get());
  gpgme_import_result_t imported = gpgme_op_import_result(ctx.get());
  if (imported != nullptr && imported->secret_read > 0) {
    return Fail(InvalidKey("it is a secret key (give the public key: gpg --export)"));
  }
  if (err != 0) return Fail(InvalidKey("gpg could not import it (" + GpgmeError(err) + ")"));
  if (imported == nullptr || imported->considered == 0) {
    return Fail(InvalidKey("no OpenPGP key found in it"));
  }
  if (imported->considered > 1) {
    return Fail(
        InvalidKey("it holds " + std::to_string(imported->considered) + " keys; give exactly one"));
  }
  if (imported->imported != 1 || imported->imports == nullptr ||
      imported->imports->fpr == nullptr || imported->imports->result != 0) {
    return Fail(InvalidKey("gpg refused to import it (" + std::to_string(imported->not_imported) +
                           " not imported, e.g. no valid user id)"));
  }
  std::string fingerprint = imported->imports->fpr;

  gpgme_key_t raw_key = nullptr;
  err = gpgme_get_key(ctx.get(), fingerprint.c_str(), &raw_key, /*secret=*/0);
  if (err != 0) {
    return Fail(ErrorCode::kInternal, "cannot find the imported key: " + GpgmeError(err));
  }
  KeyPtr key(raw_key);
  if (std::string why = UnusableReason(key.get()); !why.empty()) {
    return Fail(InvalidKey(std::move(why)));
  }
  if (key->fpr == nullptr) return Fail(InvalidKey("it has no fingerprint"));
  return ImportedKey{std::move(ctx), std::move(key)};
}

Status CheckInput(std::string_view public_key) {
  COFFER_RETURN_IF_ERROR(InitGpgme());
  if (public_key.empty()) return Fail(InvalidKey("it is empty"));
  if (public_key.size() > kMaxPublicKeyBytes) {
    return Fail(InvalidKey("it is larger than " + std::to_string(kMaxPublicKeyBytes) + " bytes"));
  }
  return Ok();
}

}  // namespace

Result<PgpKeyInfo> PgpInspectPublicKey(std::string_view public_key) {
  COFFER_RETURN_IF_ERROR(CheckInput(public_key));
  ScopedGnupgHome home;
  COFFER_RETURN_IF_ERROR(home.Create());
  COFFER_ASSIGN_OR_RETURN(ImportedKey imported, ImportOneKey(home, public_key));
  PgpKeyInfo info;
  info.fingerprint = imported.key->fpr;
  if (imported.key->uids != nullptr && imported.key->uids->uid != nullptr) {
    info.user_id = imported.key->uids->uid;
  }
  return info;
}

Result<std::string> PgpEncrypt(std::string_view public_key, std::string_view plaintext,
                               bool armor) {
  COFFER_RETURN_IF_ERROR(CheckInput(public_key));
  ScopedGnupgHome home;
  COFFER_RETURN_IF_ERROR(home.Create());
  COFFER_ASSIGN_OR_RETURN(ImportedKey imported, ImportOneKey(home, public_key));
  gpgme_ctx_t ctx = imported.ctx.get();
  gpgme_set_armor(ctx, armor ? 1 : 0);

  // Read in place (copy=0): gpgme streams the plaintext from this buffer to gpg.
  static constexpr char kEmpty[] = "";
  gpgme_data_t raw_in = nullptr;
  gpgme_error_t err = gpgme_data_new_from_mem(
      &raw_in, plaintext.empty() ? kEmpty : plaintext.data(), plaintext.size(), /*copy=*/0);
  if (err != 0) return Fail(ErrorCode::kInternal, "gpgme_data_new_from_mem: " + GpgmeError(err));
  DataPtr in(raw_in);
  gpgme_data_t raw_out = nullptr;
  err = gpgme_data_new(&raw_out);
  if (err != 0) return Fail(ErrorCode::kInternal, "gpgme_data_new: " + GpgmeError(err));
  DataPtr out(raw_out);

  gpgme_key_t recipients[] = {imported.key.get(), nullptr};
  // ALWAYS_TRUST: the operator named this key explicitly; there is no web of
  // trust in the private home to consult. NO_ENCRYPT_TO: this one recipient only.
  auto flags =
      static_cast<gpgme_encrypt_flags_t>(GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_ENCRYPT_TO);
  err = gpgme_op_encrypt(ctx, recipients, flags, in.get(), out.get());
  gpgme_encrypt_result_t result = gpgme_op_encrypt_result(ctx);
  if (result != nullptr && result->invalid_recipients != nullptr) {
    return Fail(InvalidKey("gpg refused it as a recipient (" +
                           GpgmeError(result->invalid_recipients->reason) + ")"));
  }
  if (err != 0) return Fail(ErrorCode::kInternal, "gpg could not encrypt: " + GpgmeError(err));

  size_t size = 0;
  char* bytes = gpgme_data_release_and_get_mem(out.release(), &size);
  if (bytes == nullptr) {
    return Fail(ErrorCode::kInternal, "gpg produced no ciphertext");
  }
  std::string ciphertext(bytes, size);
  gpgme_free(bytes);
  if (ciphertext.empty()) return Fail(ErrorCode::kInternal, "gpg produced no ciphertext");
  return ciphertext;
}

namespace {

// A context on the user's own keyring (the engine's default home).
Result<ContextPtr> UserContext() {
  COFFER_RETURN_IF_ERROR(InitGpgme());
  gpgme_ctx_t raw_ctx = nullptr;
  gpgme_error_t err = gpgme_new(&raw_ctx);
  if (err != 0) return Fail(ErrorCode::kInternal, "gpgme_new failed: " + GpgmeError(err));
  ContextPtr ctx(raw_ctx);
  err = gpgme_set_protocol(ctx.get(), GPGME_PROTOCOL_OpenPGP);
  if (err != 0) return Fail(ErrorCode::kInternal, "cannot set up gpgme: " + GpgmeError(err));
  gpgme_set_offline(ctx.get(), 1);
  gpgme_set_pinentry_mode(ctx.get(), GPGME_PINENTRY_MODE_DEFAULT);
  return ctx;
}

}  // namespace

Result<SecretBytes> PgpDecrypt(std::string_view message) {
  COFFER_ASSIGN_OR_RETURN(ContextPtr ctx, UserContext());
  static constexpr char kEmpty[] = "";
  gpgme_data_t raw_in = nullptr;
  gpgme_error_t err = gpgme_data_new_from_mem(&raw_in, message.empty() ? kEmpty : message.data(),
                                              message.size(), /*copy=*/0);
  if (err != 0) return Fail(ErrorCode::kInternal, "gpgme_data_new_from_mem: " + GpgmeError(err));
  DataPtr in(raw_in);
  gpgme_data_t raw_out = nullptr;
  err = gpgme_data_new(&raw_out);
  if (err != 0) return Fail(ErrorCode::kInternal, "gpgme_data_new: " + GpgmeError(err));
  DataPtr out(raw_out);
  err = gpgme_op_decrypt(ctx.get(), in.get(), out.get());
  if (err != 0) {
    return Fail(ErrorCode::kNotFound, "gpg could not decrypt: " + GpgmeError(err),
                Reason::kKeyNotFound);
  }
  size_t size = 0;
  char* bytes = gpgme_data_release_and_get_mem(out.release(), &size);
  if (bytes == nullptr) return SecretBytes();
  SecretBytes plain(std::string_view(bytes, size));
  util::SecureZero(bytes, size);
  gpgme_free(bytes);
  return plain;
}

Result<std::string> PgpEncryptToKeyring(std::string_view fingerprint, std::string_view plaintext) {
  COFFER_ASSIGN_OR_RETURN(ContextPtr ctx, UserContext());
  std::string fpr(fingerprint);
  gpgme_key_t raw_key = nullptr;
  gpgme_error_t err = gpgme_get_key(ctx.get(), fpr.c_str(), &raw_key, /*secret=*/0);
  if (err != 0 || raw_key == nullptr) {
    return Fail(ErrorCode::kNotFound,
                "PGP key " + fpr + " is not in the GnuPG keyring (gpg --import it first)",
                Reason::kKeyNotFound);
  }
  KeyPtr key(raw_key);
  gpgme_set_armor(ctx.get(), 1);
  static constexpr char kEmpty[] = "";
  gpgme_data_t raw_in = nullptr;
  err = gpgme_data_new_from_mem(&raw_in, plaintext.empty() ? kEmpty : plaintext.data(),
                                plaintext.size(), /*copy=*/0);
  if (err != 0) return Fail(ErrorCode::kInternal, "gpgme_data_new_from_mem: " + GpgmeError(err));
  DataPtr in(raw_in);
  gpgme_data_t raw_out = nullptr;
  err = gpgme_data_new(&raw_out);
  if (err != 0) return Fail(ErrorCode::kInternal, "gpgme_data_new: " + GpgmeError(err));
  DataPtr out(raw_out);
  gpgme_key_t recipients[] = {key.get(), nullptr};
  auto flags =
      static_cast<gpgme_encrypt_flags_t>(GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_ENCRYPT_TO);
  err = gpgme_op_encrypt(ctx.get(), recipients, flags, in.get(), out.get());
  if (err != 0) {
    return Fail(ErrorCode::kNotFound, "gpg could not encrypt to " + fpr + ": " + GpgmeError(err),
                Reason::kKeyNotFound);
  }
  size_t size = 0;
  char* bytes = gpgme_data_release_and_get_mem(out.release(), &size);
  if (bytes == nullptr || size == 0) {
    return Fail(ErrorCode::kInternal, "gpg produced no ciphertext");
  }
  std::string ciphertext(bytes, size);
  gpgme_free(bytes);
  // sops writes the armored message without a trailing newline.
  while (!ciphertext.empty() && ciphertext.back() == '\n') ciphertext.pop_back();
  return ciphertext;
}

}  // namespace coffer::files
