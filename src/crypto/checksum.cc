#include "crypto/checksum.h"

#include <openssl/md5.h>
#include <openssl/sha.h>

namespace coffer::crypto {
namespace {

using Table = std::array<uint32_t, 256>;

constexpr Table MakeTable(uint32_t polynomial) {
  Table table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (polynomial ^ (c >> 1)) : (c >> 1);
    table[i] = c;
  }
  return table;
}

constexpr Table kCrc32Table = MakeTable(0xEDB88320u);
constexpr Table kCrc32cTable = MakeTable(0x82F63B78u);

uint32_t Update(const Table& table, std::string_view data, uint32_t crc) {
  crc = ~crc;
  for (unsigned char byte : data) crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace

uint32_t Crc32(std::string_view data, uint32_t crc) { return Update(kCrc32Table, data, crc); }
uint32_t Crc32c(std::string_view data, uint32_t crc) { return Update(kCrc32cTable, data, crc); }

std::array<uint8_t, 16> Md5(std::string_view data) {
  std::array<uint8_t, 16> d;
  MD5_CTX ctx;
  MD5_Init(&ctx);
  MD5_Update(&ctx, data.data(), data.size());
  MD5_Final(d.data(), &ctx);
  return d;
}

std::array<uint8_t, 20> Sha1(std::string_view data) {
  std::array<uint8_t, 20> d;
  SHA_CTX ctx;
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, data.data(), data.size());
  SHA1_Final(d.data(), &ctx);
  return d;
}

}  // namespace coffer::crypto
