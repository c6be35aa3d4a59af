// IdGenerator: makes non-secret identifiers (request ids, version ids, ARN
// suffixes, key ids). Tests may substitute a deterministic one. Keys, nonces,
// salts and tokens never come from here: they come from crypto::RandomBytes().
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace coffer::util {

// Thread-safe.
class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  // A random (version 4) UUID in lower-case 8-4-4-4-12 form.
  virtual std::string NewUuid() = 0;
  // `length` characters drawn uniformly from `alphabet`.
  virtual std::string NewToken(std::string_view alphabet, size_t length) = 0;
};

// Draws from the kernel's getrandom(2).
class RandomIdGenerator final : public IdGenerator {
 public:
  std::string NewUuid() override;
  std::string NewToken(std::string_view alphabet, size_t length) override;
};

// Deterministic ids for tests: "00000000-0000-4000-8000-000000000001", ...
class SequentialIdGenerator final : public IdGenerator {
 public:
  std::string NewUuid() override;
  std::string NewToken(std::string_view alphabet, size_t length) override;

 private:
  std::atomic<uint64_t> next_{1};
};

inline constexpr std::string_view kAlphanumeric =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

}  // namespace coffer::util
