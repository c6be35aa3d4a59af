#include "domain/secrets/password.h"

#include <cstring>
#include <string_view>
#include <vector>

#include "crypto/crypto.h"

namespace coffer::domain::secrets {
namespace {

constexpr int64_t kMaxPasswordLength = 4096;

std::unexpected<Error> InvalidParameter(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kSecretInvalidParameter);
}

// Uniform in [0, n) by rejection sampling over 32-bit draws. REQUIRES: n > 0.
uint32_t UniformIndex(uint32_t n) {
  const uint64_t range = uint64_t{1} << 32;
  const uint64_t limit = range - range % n;
  while (true) {
    uint32_t draw = 0;
    crypto::RandomFill(&draw, sizeof draw);
    if (draw < limit) return draw % n;
  }
}

std::string Allowed(std::string_view chars, std::string_view excluded) {
  std::string out;
  for (char c : chars) {
    if (excluded.find(c) == std::string_view::npos) out.push_back(c);
  }
  return out;
}

}  // namespace

Result<SecretBytes> GenerateRandomPassword(const PasswordOptions& options) {
  if (options.length < 1 || options.length > kMaxPasswordLength) {
    return InvalidParameter("PasswordLength must be between 1 and 4096.");
  }
  std::vector<std::string> classes;
  if (!options.exclude_uppercase) classes.push_back("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  if (!options.exclude_lowercase) classes.push_back("abcdefghijklmnopqrstuvwxyz");
  if (!options.exclude_numbers) classes.push_back("0123456789");
  if (!options.exclude_punctuation) classes.push_back(std::string(kPasswordPunctuation));
  std::string all;
  std::vector<std::string> required;
  for (const std::string& cls : classes) {
    std::string allowed = Allowed(cls, options.exclude_characters);
    if (allowed.empty()) continue;  // every character of this type excluded
    all += allowed;
    required.push_back(std::move(allowed));
  }
  if (options.include_space && options.exclude_characters.find(' ') == std::string::npos) {
    all.push_back(' ');
  }
  if (all.empty()) {
    return InvalidParameter("The password options exclude every character.");
  }
  size_t length = static_cast<size_t>(options.length);
  if (options.require_each_included_type && required.size() > length) {
    return InvalidParameter(
        "The password length is too short to include a character of each required type.");
  }

  SecretBytes out(length);
  uint8_t* p = out.MutableData();
  size_t filled = 0;
  if (options.require_each_included_type) {
    for (const std::string& cls : required) {
      p[filled++] = static_cast<uint8_t>(cls[UniformIndex(static_cast<uint32_t>(cls.size()))]);
    }
  }
  while (filled < length) {
    p[filled++] = static_cast<uint8_t>(all[UniformIndex(static_cast<uint32_t>(all.size()))]);
  }
  // Fisher-Yates, so the required characters do not sit at the front.
  for (size_t i = length - 1; i > 0; --i) {
    size_t j = UniformIndex(static_cast<uint32_t>(i + 1));
    std::swap(p[i], p[j]);
  }
  return out;
}

}  // namespace coffer::domain::secrets
