#include "crypto/checksum.h"

#include <gtest/gtest.h>

#include <string>

#include "util/encoding.h"

namespace coffer::crypto {
namespace {

std::string Hex(const auto& digest) {
  return util::HexEncode(std::string_view(reinterpret_cast<const char*>(digest.data()),
                                          digest.size()));
}

// The CRC catalogue's check values ("123456789").
TEST(ChecksumTest, Crc32MatchesTheCatalogueCheckValue) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
}

TEST(ChecksumTest, Crc32cMatchesTheCatalogueCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
}

// RFC 3720 B.4: 32 bytes of zeros, of 0xFF, and an ascending sequence.
TEST(ChecksumTest, Crc32cMatchesTheIscsiVectors) {
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
}

// Feeding the data in pieces gives the same value as at once.
TEST(ChecksumTest, CrcsAreIncremental) {
  std::string data = "The quick brown fox jumps over the lazy dog";
  EXPECT_EQ(Crc32(data.substr(10), Crc32(data.substr(0, 10))), Crc32(data));
  EXPECT_EQ(Crc32c(data.substr(7), Crc32c(data.substr(0, 7))), Crc32c(data));
  EXPECT_EQ(Crc32(data), 0x414FA339u);
}

// RFC 1321 and FIPS 180 test vectors.
TEST(ChecksumTest, Md5AndSha1MatchTheirStandardVectors) {
  EXPECT_EQ(Hex(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Hex(Md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Hex(Sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

}  // namespace
}  // namespace coffer::crypto
