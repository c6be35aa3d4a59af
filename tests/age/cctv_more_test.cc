// The C2SP/CCTV age vectors stored zlib-compressed (long STREAM payloads and
// one armor case): decompressed here, then each gives its expected outcome.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "age/age.h"
#include "crypto/crypto.h"

namespace coffer::age {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// zlib-inflates `in` (a zlib stream); empty on error.
std::string Inflate(const std::string& in) {
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return "";
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - zs.avail_out);
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : "";
}

TEST(AgeCompressedVectorsTest, EveryCompressedVectorGivesItsExpectedOutcome) {
  fs::path dir = fs::path(COFFER_TESTDATA_DIR) / "age" / "cctv-zlib";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    std::string text = ReadAll(entry.path());
    std::map<std::string, std::string> fields;
    std::vector<std::string> identities;
    size_t pos = 0;
    while (true) {
      size_t nl = text.find('\n', pos);
      std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.empty()) break;
      size_t colon = line.find(": ");
      std::string key = line.substr(0, colon);
      if (key == "identity") identities.push_back(line.substr(colon + 2));
      fields[key] = line.substr(colon + 2);
    }
    ASSERT_EQ(fields["compressed"], "zlib") << name;
    std::string file = Inflate(text.substr(pos));
    ASSERT_FALSE(file.empty()) << name << ": does not inflate";
    ++count;
    auto r = Decrypt(identities, file);
    const std::string& expect = fields["expect"];
    if (expect == "success") {
      ASSERT_TRUE(r.has_value()) << name << ": " << r.error().message;
      EXPECT_EQ(crypto::Sha256Hex(r->Reveal()), fields["payload"]) << name;
    } else if (expect == "payload failure") {
      ASSERT_FALSE(r.has_value()) << name;
      EXPECT_EQ(r.error().code, ErrorCode::kDataLoss) << name << ": " << r.error().message;
    } else if (expect == "armor failure" || expect == "header failure") {
      ASSERT_FALSE(r.has_value()) << name;
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << name;
    } else {
      ADD_FAILURE() << name << ": unexpected expectation " << expect;
    }
  }
  EXPECT_EQ(count, 22);
}

}  // namespace
}  // namespace coffer::age
