// cli: `coffer age` — whole-file age encryption (X25519 and post-quantum
// hybrid recipients, passphrases, armor), compatible with the age tool, for
// users who do not have it.
#include "age/age.h"

#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/file.h"
#include "util/private_file.h"

namespace coffer::cli {
namespace {

Status Write(const AgeOptions& o, std::string_view data, std::ostream& out) {
  if (o.output.empty() || o.output == "-") {
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    return Ok();
  }
  return util::WritePrivateFile(o.output, data);
}

// The passphrase: $COFFER_AGE_PASSPHRASE, else asked on the terminal (no echo).
Result<SecretBytes> Passphrase() {
  if (const char* p = ::getenv("COFFER_AGE_PASSPHRASE"); p != nullptr && *p != '\0') {
    return SecretBytes(p);
  }
  int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    return Fail(ErrorCode::kFailedPrecondition,
                "no terminal to ask the passphrase on: set COFFER_AGE_PASSPHRASE");
  }
  static constexpr char kPrompt[] = "Enter passphrase: ";
  [[maybe_unused]] ssize_t written = ::write(fd, kPrompt, sizeof(kPrompt) - 1);
  termios old{};
  bool restore = ::tcgetattr(fd, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (restore) ::tcsetattr(fd, TCSAFLUSH, &old);
  written = ::write(fd, "\n", 1);
  ::close(fd);
  SecretBytes out(line);
  util::SecureClear(line);
  if (out.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "empty passphrase", Reason::kValidation);
  }
  return out;
}

Status Run(const AgeOptions& o, std::ostream& out) {
  if (o.keygen) {
    // The same file age-keygen (-pq) writes: the recipient as a comment, then
    // the identity.
    auto [identity, recipient] = [&o] {
      if (o.pq) {
        age::HybridIdentity id = age::GenerateHybridIdentity();
        return std::pair(std::move(id.identity), std::move(id.recipient));
      }
      age::X25519Identity id = age::GenerateX25519Identity();
      return std::pair(std::move(id.identity), std::move(id.recipient));
    }();
    std::string text = "# public key: " + recipient + "\n" + std::string(identity.Reveal()) + "\n";
    Status s = Write(o, text, out);
    util::SecureClear(text);
    return s;
  }
  if (o.pq) {
    return Fail(ErrorCode::kInvalidArgument,
                "--pq goes with --keygen (to encrypt, give age1pq1... "
                "recipients with -r)",
                Reason::kValidation);
  }
  COFFER_ASSIGN_OR_RETURN(std::string input, ReadInput(o.input));
  if (o.decrypt && o.identity_files.empty() &&
      (input.starts_with("age-encryption.org/v1\n-> scrypt ") ||
       input.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"))) {
    // A passphrase file (armored files are tried with the passphrase when no -i
    // is given).
    COFFER_ASSIGN_OR_RETURN(SecretBytes pass, Passphrase());
    COFFER_ASSIGN_OR_RETURN(SecretBytes plain, age::DecryptWithPassphrase(pass, input));
    return Write(o, plain.Reveal(), out);
  }
  if (!o.decrypt && o.passphrase) {
    COFFER_ASSIGN_OR_RETURN(SecretBytes pass, Passphrase());
    Result<std::string> enc = age::EncryptWithPassphrase(pass, input, o.armor);
    util::SecureClear(input);
    if (!enc) return Fail(enc.error());
    return Write(o, *enc, out);
  }
  if (o.decrypt) {
    std::vector<std::string> identities;
    for (const std::string& f : o.identity_files) {
      COFFER_ASSIGN_OR_RETURN(std::string text, ReadInput(f));
      identities.push_back(std::move(text));
    }
    if (identities.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "give an identity file with -i",
                  Reason::kValidation);
    }
    Result<SecretBytes> plain = age::Decrypt(identities, input);
    for (std::string& s : identities) util::SecureClear(s);
    if (!plain) return Fail(plain.error());
    return Write(o, plain->Reveal(), out);
  }
  std::vector<std::string> recipients = o.recipients;
  for (const std::string& f : o.recipient_files) {
    COFFER_ASSIGN_OR_RETURN(std::string text, ReadInput(f));
    size_t start = 0;
    while (start < text.size()) {
      size_t nl = text.find('\n', start);
      std::string line =
          text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      start = nl == std::string::npos ? text.size() : nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      recipients.push_back(line);
    }
  }
  Result<std::string> enc = age::Encrypt(recipients, input, o.armor);
  util::SecureClear(input);
  if (!enc) return Fail(enc.error());
  return Write(o, *enc, out);
}

}  // namespace

int RunAge(const AgeOptions& options, std::ostream& out, std::ostream& err) {
  Status s = Run(options, out);
  if (!s) {
    err << "coffer age: " << s.error().message << "\n";
    return 1;
  }
  return 0;
}

}  // namespace coffer::cli
