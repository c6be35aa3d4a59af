// age scrypt (passphrase) recipients: the 26 C2SP/CCTV scrypt vectors and round trips.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "age/age.h"
#include "crypto/crypto.h"
#include "support/matchers.h"

namespace coffer::age {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool Fails(const Result<SecretBytes>& r, ErrorCode code, Reason reason) {
  return !r.has_value() && r.error().code == code && r.error().reason == reason;
}

TEST(AgeScryptVectorsTest, CctvScryptVectorsGiveTheirExpectedOutcome) {
  fs::path dir = fs::path(COFFER_TESTDATA_DIR) / "age" / "cctv-scrypt";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    std::string text = ReadAll(entry.path());
    std::map<std::string, std::string> fields;
    size_t pos = 0;
    while (true) {
      size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.empty()) break;
      size_t colon = line.find(": ");
      fields[line.substr(0, colon)] = line.substr(colon + 2);
    }
    std::string file = text.substr(pos);
    ++count;
    auto r = DecryptWithPassphrase(SecretBytes(fields["passphrase"]), file);
    const std::string& expect = fields["expect"];
    if (expect == "success") {
      ASSERT_TRUE(r.has_value()) << name << ": " << r.error().message;
      EXPECT_EQ(crypto::Sha256Hex(r->Reveal()), fields["payload"]) << name;
    } else if (expect == "no match") {
      EXPECT_TRUE(Fails(r, ErrorCode::kNotFound, Reason::kKeyNotFound)) << name;
    } else if (expect == "header failure" || expect == "armor failure") {
      EXPECT_TRUE(Fails(r, ErrorCode::kInvalidArgument, Reason::kCiphertextMalformed))
          << name << (r.has_value() ? "" : ": " + r.error().message);
    } else {
      ADD_FAILURE() << name << ": unexpected expectation " << expect;
    }
  }
  EXPECT_EQ(count, 26);
}

TEST(AgeScryptTest, RoundTripsBinaryAndArmored) {
  SecretBytes pass("correct horse battery staple");
  for (bool armor : {false, true}) {
    auto file = EncryptWithPassphrase(pass, "the payload", armor, /*log_n=*/10);
    ASSERT_TRUE(file.has_value());
    EXPECT_NE(file->find(armor ? "BEGIN AGE ENCRYPTED FILE" : "-> scrypt "), std::string::npos);
    auto plain = DecryptWithPassphrase(pass, *file);
    ASSERT_TRUE(plain.has_value());
    EXPECT_TRUE(plain->Reveal() == "the payload");
    EXPECT_TRUE(Fails(DecryptWithPassphrase(SecretBytes("wrong"), *file), ErrorCode::kNotFound,
                      Reason::kKeyNotFound));
  }
}

TEST(AgeScryptTest, WorkFactorAboveTheCallersLimitIsRefusedBeforeWork) {
  SecretBytes pass("p");
  auto file = EncryptWithPassphrase(pass, "x", false, /*log_n=*/12);
  ASSERT_TRUE(file.has_value());
  EXPECT_TRUE(Fails(DecryptWithPassphrase(pass, *file, /*max_log_n=*/11),
                    ErrorCode::kInvalidArgument, Reason::kCiphertextMalformed));
  EXPECT_FALSE(EncryptWithPassphrase(SecretBytes(""), "x", false).has_value());
  EXPECT_FALSE(EncryptWithPassphrase(pass, "x", false, 23).has_value());
}

}  // namespace
}  // namespace coffer::age
