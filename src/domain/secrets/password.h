// GetRandomPassword as a pure function: a password drawn from the CSPRNG
// (crypto::RandomBytes, rejection sampling, so every allowed character is
// equally likely) under Secrets Manager's options.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::domain::secrets {

// AWS's punctuation set: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
inline constexpr std::string_view kPasswordPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

struct PasswordOptions {
  int64_t length = 32;             // 1..4096
  std::string exclude_characters;  // never used in the password
  bool exclude_numbers = false;
  bool exclude_punctuation = false;
  bool exclude_uppercase = false;
  bool exclude_lowercase = false;
  bool include_space = false;
  // At least one character of every included type (upper, lower, digit,
  // punctuation; space is never required).
  bool require_each_included_type = true;
};

// Returns a new password. kInvalidArgument (kSecretInvalidParameter) when the
// length is outside 1..4096, when the options exclude every character, or when
// require_each_included_type asks for more types than `length` characters hold.
Result<SecretBytes> GenerateRandomPassword(const PasswordOptions& options);

}  // namespace coffer::domain::secrets
