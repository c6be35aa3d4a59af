// Checksums S3 clients send beside a payload (Content-MD5, x-amz-checksum-*):
// CRC-32 (ISO-HDLC, zlib's), CRC-32C (Castagnoli), MD5 and SHA-1. None of them
// is used for security here: they only tell the server that the bytes it
// received are the bytes the client meant (S3's BadDigest); authenticity comes
// from SigV4. The CRCs are table-driven and incremental. All thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace coffer::crypto {

// CRC-32 as zlib computes it (reflected polynomial 0xEDB88320). `crc` is the
// value so far (0 to start); Crc32("123456789") == 0xCBF43926.
uint32_t Crc32(std::string_view data, uint32_t crc = 0);
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), incremental as Crc32;
// Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

std::array<uint8_t, 16> Md5(std::string_view data);
std::array<uint8_t, 20> Sha1(std::string_view data);

}  // namespace coffer::crypto
