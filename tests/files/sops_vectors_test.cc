// Every sops file among the vectors (tests/data/sops, written by real sops
// 3.3.1 to 3.13.2) decrypts, with the test PGP key imported into a private
// GNUPGHOME, to exactly its expected plaintext, and its MAC is checked.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "files/operations.h"
#include "support/temp_dir.h"

namespace coffer::files {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int RunShell(const std::string& command) {
  int status = ::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

fs::path Vectors() { return fs::path(COFFER_TESTDATA_DIR) / "sops"; }

class SopsVectorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    home_ = new testing::ScopedTempDir();
    ::setenv("GNUPGHOME", home_->path().c_str(), 1);
    std::string key = (Vectors() / "pgp" / "sops_functional_tests_key.asc").string();
    import_status_ = RunShell("gpg --batch --quiet --import '" + key + "' >/dev/null 2>&1");
  }
  static void TearDownTestSuite() {
    RunShell("gpgconf --homedir '" + home_->path() + "' --kill all >/dev/null 2>&1");
    delete home_;
    home_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(import_status_, 0) << "gpg --import of the test key failed"; }

  static Result<std::string> Decrypt(const std::string& rel, bool ignore_mac = false) {
    fs::path path = Vectors() / rel;
    Format format = FormatFromPath(path.string());
    KeyServices services;
    DecryptOptions options;
    options.ignore_mac = ignore_mac;
    COFFER_ASSIGN_OR_RETURN(DecryptedFile d,
                            DecryptText(format, ReadFile(path), services, options));
    COFFER_ASSIGN_OR_RETURN(SecretBytes plain, EmitPlaintext(format, d.file.doc));
    return std::string(plain.Reveal());
  }

  static testing::ScopedTempDir* home_;
  static int import_status_;
};
testing::ScopedTempDir* SopsVectorsTest::home_ = nullptr;
int SopsVectorsTest::import_status_ = -1;

class EveryVector : public SopsVectorsTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(EveryVector, DecryptsToItsExpectedPlaintext) {
  std::string rel = GetParam();
  Result<std::string> plain = Decrypt(rel);
  ASSERT_TRUE(plain.has_value()) << rel << ": " << plain.error().message;
  // Compared as booleans so that a failure prints no plaintext.
  EXPECT_TRUE(*plain == ReadFile(Vectors() / (rel + ".plain"))) << rel << " differs";
}

INSTANTIATE_TEST_SUITE_P(
    Sops, EveryVector,
    ::testing::Values("example.yaml", "example.json", "example.ini", "example.txt",
                      "examples/all_in_one/config/secret.enc.json",
                      "examples/per_file/config.enc/static_github.json",
                      "functional-tests/res/format.enc.yaml",
                      "functional-tests/res/format.enc.json", "functional-tests/res/format.enc.env",
                      "functional-tests/res/format.enc.ini",
                      "functional-tests/res/format-2.enc.ini",
                      "functional-tests/res/comments.enc.yaml",
                      "functional-tests/res/comments_unencrypted_comments.yaml",
                      "functional-tests/res/multiple_keys.yaml"));

TEST_F(SopsVectorsTest, NoMacFailsUnlessIgnored) {
  Result<std::string> plain = Decrypt("functional-tests/res/no_mac.yaml");
  ASSERT_FALSE(plain.has_value());
  EXPECT_THAT(plain.error().message, HasSubstr("no MAC"));
  plain = Decrypt("functional-tests/res/no_mac.yaml", /*ignore_mac=*/true);
  ASSERT_TRUE(plain.has_value()) << plain.error().message;
  EXPECT_TRUE(*plain == ReadFile(Vectors() / "functional-tests/res/no_mac.yaml.plain"));
}

}  // namespace
}  // namespace coffer::files
