#include "files/pgp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/matchers.h"
#include "support/temp_dir.h"

namespace coffer::files {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A share-like plaintext with a NUL byte inside (encryption is binary-safe).
const std::string kPlaintext("coffer-share-canary\0-7f3a9c", 27);

struct Output {
  int status = -1;
  std::string out;
};

// Runs `command` through the shell and returns its exit status and stdout.
Output RunShell(const std::string& command) {
  Output result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.out.append(buf, n);
  int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool IsEmptyDir(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_empty(path, ec) && !ec;
}

// Keys are made with the real gpg in a keyring of the test's own (keys_), and
// the code under test runs with HOME, GNUPGHOME and TMPDIR pointing at empty
// directories of the test, so that anything it leaves there is seen.
class PgpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (RunShell("gpg --version >/dev/null 2>&1").status != 0) {
      GTEST_SKIP() << "gpg (GnuPG) is not installed: apt-get install gnupg to run the PGP tests";
    }
    ASSERT_FALSE(keys_.path().empty());
    ASSERT_FALSE(user_home_.path().empty());
    ASSERT_FALSE(tmp_.path().empty());
    SetEnv("HOME", user_home_.path());
    SetEnv("GNUPGHOME", user_home_.path());
    SetEnv("TMPDIR", tmp_.path());
  }

  void TearDown() override {
    if (keys_.path().empty()) return;
    // The key generation started a gpg-agent for keys_; stop it.
    RunShell("gpgconf --homedir '" + keys_.path() + "' --kill all >/dev/null 2>&1");
    // Every call removes its private GnuPG home, and none touches the user's.
    EXPECT_TRUE(IsEmptyDir(tmp_.path())) << "a temporary GnuPG home was left in $TMPDIR";
    EXPECT_TRUE(IsEmptyDir(user_home_.path())) << "the user's HOME/GNUPGHOME was written";
    for (const auto& [name, value] : saved_env_) {
      if (value.has_value()) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

  // Sets an environment variable for this test; TearDown restores it (the
  // cases of this binary may run in one process).
  void SetEnv(const std::string& name, const std::string& value) {
    const char* old = ::getenv(name.c_str());
    saved_env_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    ::setenv(name.c_str(), value.c_str(), 1);
  }

  // gpg on the test's own keyring, stderr kept in keys_/gpg.err.
  Output Gpg(const std::string& args, const std::string& extra = "") {
    return RunShell("gpg --homedir '" + keys_.path() + "' --batch --pinentry-mode loopback " +
                    "--passphrase '' " + extra + " " + args + " 2>>'" + keys_.File("gpg.err") +
                    "'");
  }

  // Generates a key for `uid` (an ed25519 primary key that certifies and signs,
  // and with `with_encryption` a cv25519 encryption subkey) and returns its
  // fingerprint. `extra` goes to gpg (e.g. a faked system time).
  std::string GenerateKey(const std::string& uid, bool with_encryption,
                          const std::string& expire = "0", const std::string& extra = "") {
    Output gen = Gpg("--quick-gen-key '" + uid + "' ed25519 cert,sign " + expire, extra);
    EXPECT_EQ(gen.status, 0) << ReadFile(keys_.File("gpg.err"));
    Output list = Gpg("--with-colons --list-keys '=" + uid + "'");
    std::istringstream lines(list.out);
    std::string line, fingerprint;
    while (std::getline(lines, line)) {
      if (line.starts_with("fpr:")) {
        // fpr:::::::::<fingerprint>:
        fingerprint = line.substr(12, line.find(':', 12) - 12);
        break;
      }
    }
    EXPECT_FALSE(fingerprint.empty()) << list.out;
    if (with_encryption) {
      Output add = Gpg("--quick-add-key " + fingerprint + " cv25519 encr " + expire, extra);
      EXPECT_EQ(add.status, 0) << ReadFile(keys_.File("gpg.err"));
    }
    return fingerprint;
  }

  std::string ExportPublic(const std::string& fingerprints, bool armor = true) {
    Output out = Gpg(std::string(armor ? "--armor " : "") + "--export " + fingerprints);
    EXPECT_EQ(out.status, 0);
    EXPECT_FALSE(out.out.empty());
    return out.out;
  }

  // gpg --decrypt with the test's keyring (which holds the secret keys).
  Output Decrypt(const std::string& ciphertext) {
    std::string path = keys_.File("message.gpg");
    std::ofstream(path, std::ios::binary) << ciphertext;
    return Gpg("--decrypt '" + path + "'");
  }

  testing::ScopedTempDir keys_;
  testing::ScopedTempDir user_home_;
  testing::ScopedTempDir tmp_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_env_;
};

// The fingerprint and first user id of an armored public key are read back.
TEST_F(PgpTest, InspectArmoredPublicKeyGivesFingerprintAndUserId) {
  std::string fingerprint = GenerateKey("Op One <op1@example.com>", true);
  Result<PgpKeyInfo> info = PgpInspectPublicKey(ExportPublic(fingerprint));
  ASSERT_TRUE(IsOk(info));
  EXPECT_EQ(info->fingerprint, fingerprint);
  EXPECT_EQ(info->user_id, "Op One <op1@example.com>");
}

// A binary (unarmored) public key is accepted as well.
TEST_F(PgpTest, InspectBinaryPublicKeyGivesFingerprint) {
  std::string fingerprint = GenerateKey("Op One <op1@example.com>", true);
  Result<PgpKeyInfo> info = PgpInspectPublicKey(ExportPublic(fingerprint, /*armor=*/false));
  ASSERT_TRUE(IsOk(info));
  EXPECT_EQ(info->fingerprint, fingerprint);
}

// Armored output is a PGP MESSAGE that gpg decrypts with the secret key to the plaintext.
TEST_F(PgpTest, EncryptArmoredDecryptsWithGpgToThePlaintext) {
  std::string fingerprint = GenerateKey("Op One <op1@example.com>", true);
  Result<std::string> ciphertext = PgpEncrypt(ExportPublic(fingerprint), kPlaintext, true);
  ASSERT_TRUE(IsOk(ciphertext));
  EXPECT_THAT(*ciphertext, StartsWith("-----BEGIN PGP MESSAGE-----"));
  EXPECT_THAT(*ciphertext, Not(HasSubstr("coffer-share-canary")));
  Output plain = Decrypt(*ciphertext);
  EXPECT_EQ(plain.status, 0) << ReadFile(keys_.File("gpg.err"));
  EXPECT_TRUE(plain.out == kPlaintext) << "decrypted text differs from the plaintext";
}

// Binary output decrypts with gpg to the plaintext too.
TEST_F(PgpTest, EncryptBinaryDecryptsWithGpgToThePlaintext) {
  std::string fingerprint = GenerateKey("Op One <op1@example.com>", true);
  Result<std::string> ciphertext =
      PgpEncrypt(ExportPublic(fingerprint, /*armor=*/false), kPlaintext, false);
  ASSERT_TRUE(IsOk(ciphertext));
  EXPECT_THAT(*ciphertext, Not(StartsWith("-----BEGIN")));
  EXPECT_THAT(*ciphertext, Not(HasSubstr("coffer-share-canary")));
  Output plain = Decrypt(*ciphertext);
  EXPECT_EQ(plain.status, 0) << ReadFile(keys_.File("gpg.err"));
  EXPECT_TRUE(plain.out == kPlaintext) << "decrypted text differs from the plaintext";
}

// Calls from several threads at once each get their own context and home, and
// every ciphertext decrypts.
TEST_F(PgpTest, ConcurrentEncryptionsAllDecrypt) {
  std::string fingerprint = GenerateKey("Op One <op1@example.com>", true);
  std::string key = ExportPublic(fingerprint);
  constexpr int kThreads = 4;
  std::vector<Result<std::string>> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = PgpEncrypt(key, kPlaintext, i % 2 == 0); });
  }
  for (std::thread& t : threads) t.join();
  for (const Result<std::string>& r : results) {
    ASSERT_TRUE(IsOk(r));
    Output plain = Decrypt(*r);
    EXPECT_EQ(plain.status, 0) << ReadFile(keys_.File("gpg.err"));
    EXPECT_TRUE(plain.out == kPlaintext) << "decrypted text differs from the plaintext";
  }
}

// A secret-key block (which also holds the public key) is refused, by both calls.
TEST_F(PgpTest, SecretKeyBlockIsRefused) {
  std::string fingerprint = GenerateKey("Op One <op1@example.com>", true);
  Output secret = Gpg("--armor --export-secret-keys " + fingerprint);
  ASSERT_EQ(secret.status, 0);
  ASSERT_THAT(secret.out, HasSubstr("PRIVATE KEY BLOCK"));
  EXPECT_TRUE(
      HasError(PgpInspectPublicKey(secret.out), ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(PgpEncrypt(secret.out, kPlaintext, true), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

// Two public keys in one block are refused: a share goes to exactly one operator.
TEST_F(PgpTest, TwoKeysAreRefused) {
  std::string one = GenerateKey("Op One <op1@example.com>", true);
  std::string two = GenerateKey("Op Two <op2@example.com>", true);
  std::string both = ExportPublic(one + " " + two);
  EXPECT_TRUE(
      HasError(PgpInspectPublicKey(both), ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(PgpEncrypt(both, kPlaintext, true), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  // Two armored blocks one after the other, likewise.
  std::string concatenated = ExportPublic(one) + ExportPublic(two);
  EXPECT_TRUE(HasError(PgpInspectPublicKey(concatenated), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

// Garbage, an empty input and a truncated key are refused.
TEST_F(PgpTest, GarbageIsRefused) {
  EXPECT_TRUE(HasError(PgpInspectPublicKey("not a key at all"), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  EXPECT_TRUE(HasError(PgpInspectPublicKey(std::string("\x99\x01\xff\x00garbage", 12)),
                       ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(PgpInspectPublicKey(""), ErrorCode::kInvalidArgument, Reason::kValidation));
  std::string fingerprint = GenerateKey("Op One <op1@example.com>", true);
  std::string binary = ExportPublic(fingerprint, /*armor=*/false);
  EXPECT_TRUE(HasError(PgpEncrypt(binary.substr(0, binary.size() / 2), kPlaintext, true),
                       ErrorCode::kInvalidArgument, Reason::kValidation));
}

// A key that can only sign is refused, and the error does not carry the plaintext.
TEST_F(PgpTest, SignOnlyKeyIsRefused) {
  std::string fingerprint = GenerateKey("Signer <signer@example.com>", false);
  std::string key = ExportPublic(fingerprint);
  EXPECT_TRUE(HasError(PgpInspectPublicKey(key), ErrorCode::kInvalidArgument, Reason::kValidation));
  Result<std::string> r = PgpEncrypt(key, kPlaintext, true);
  ASSERT_TRUE(HasError(r, ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_THAT(r.error().message, HasSubstr("encryption"));
  EXPECT_THAT(r.error().message, Not(HasSubstr("coffer-share-canary")));
}

// A revoked key is refused.
TEST_F(PgpTest, RevokedKeyIsRefused) {
  std::string fingerprint = GenerateKey("Op One <op1@example.com>", true);
  // gpg keeps a revocation certificate; its armor line is escaped by a ':'.
  std::string revocation = ReadFile(keys_.File("openpgp-revocs.d/" + fingerprint + ".rev"));
  size_t escape = revocation.find(":-----BEGIN");
  ASSERT_NE(escape, std::string::npos);
  revocation.erase(escape, 1);
  std::string path = keys_.File("revoke.asc");
  std::ofstream(path) << revocation;
  ASSERT_EQ(Gpg("--import '" + path + "'").status, 0) << ReadFile(keys_.File("gpg.err"));
  std::string key = ExportPublic(fingerprint);
  EXPECT_TRUE(HasError(PgpInspectPublicKey(key), ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(PgpEncrypt(key, kPlaintext, true), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

// An expired key (made in 2020, valid for one day) is refused.
TEST_F(PgpTest, ExpiredKeyIsRefused) {
  std::string fingerprint =
      GenerateKey("Old <old@example.com>", true, "1d", "--faked-system-time 20200101T000000");
  std::string key = ExportPublic(fingerprint);
  EXPECT_TRUE(HasError(PgpInspectPublicKey(key), ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(PgpEncrypt(key, kPlaintext, true), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

}  // namespace
}  // namespace coffer::files
