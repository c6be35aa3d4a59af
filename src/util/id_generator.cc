#include "util/id_generator.h"

#include <sys/random.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "util/check.h"

namespace coffer::util {
namespace {

void FillFromKernel(void* buf, size_t n) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    ssize_t got = getrandom(p, n, 0);
    if (got < 0) continue;  // EINTR
    p += got;
    n -= static_cast<size_t>(got);
  }
}

// Ids are not secret: a per-thread buffer refilled from the kernel keeps the
// getrandom(2) syscall off the per-request path.
void FillRandom(void* buf, size_t n) {
  thread_local unsigned char pool[4096];
  thread_local size_t used = sizeof pool;
  auto* out = static_cast<unsigned char*>(buf);
  while (n > 0) {
    if (used == sizeof pool) {
      FillFromKernel(pool, sizeof pool);
      used = 0;
    }
    size_t take = std::min(n, sizeof pool - used);
    std::memcpy(out, pool + used, take);
    std::memset(pool + used, 0, take);
    used += take;
    out += take;
    n -= take;
  }
}

}  // namespace

std::string RandomIdGenerator::NewUuid() {
  unsigned char b[16];
  FillRandom(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  // 8-4-4-4-12 lower-case hex, formatted by hand (one per request: snprintf
  // showed in the read path's profile).
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  for (size_t i = 0; i < sizeof b; ++i) {
    if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
    out[pos++] = kHex[b[i] >> 4];
    out[pos++] = kHex[b[i] & 15];
  }
  return out;
}

std::string RandomIdGenerator::NewToken(std::string_view alphabet, size_t length) {
  COFFER_CHECK(!alphabet.empty() && alphabet.size() <= 256);
  std::string out;
  out.reserve(length);
  // Rejection sampling keeps the distribution uniform.
  const unsigned limit = 256 - (256 % alphabet.size());
  while (out.size() < length) {
    unsigned char buf[64];
    FillRandom(buf, sizeof buf);
    for (unsigned char c : buf) {
      if (c >= limit) continue;
      out.push_back(alphabet[c % alphabet.size()]);
      if (out.size() == length) break;
    }
  }
  return out;
}

std::string SequentialIdGenerator::NewUuid() {
  uint64_t n = next_.fetch_add(1);
  char out[37];
  std::snprintf(out, sizeof out, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n));
  return out;
}

std::string SequentialIdGenerator::NewToken(std::string_view alphabet, size_t length) {
  COFFER_CHECK(!alphabet.empty());
  uint64_t n = next_.fetch_add(1);
  std::string out(length, alphabet[0]);
  for (size_t i = length; i > 0 && n > 0; --i) {
    out[i - 1] = alphabet[n % alphabet.size()];
    n /= alphabet.size();
  }
  return out;
}

}  // namespace coffer::util
