// SecretBytes: the only type that holds plaintext secret values (parameter
// values, secret access keys, key material). It zeroes its memory when
// destroyed or overwritten, has no operator<<, is formatted as "[redacted]" by
// util/log.h, and exposes its bytes only through the explicit Reveal().
// Not thread-safe for concurrent mutation; const access from many threads is fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace coffer::util {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::string_view bytes);
  // Allocates `size` zero bytes to be filled through MutableData().
  explicit SecretBytes(size_t size);
  ~SecretBytes();

  SecretBytes(const SecretBytes& other);
  SecretBytes& operator=(const SecretBytes& other);
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;

  // The plaintext. The view is valid while this object lives and is unchanged.
  std::string_view Reveal() const { return std::string_view(data_, size_); }
  const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(data_); }
  uint8_t* MutableData() { return reinterpret_cast<uint8_t*>(data_); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Constant-time equality of contents (lengths may leak).
  bool Equals(const SecretBytes& other) const;

  // Shrinks to `size` bytes (zeroing the tail). REQUIRES: size <= this->size().
  void Truncate(size_t size);

 private:
  void Wipe() noexcept;

  char* data_ = nullptr;
  size_t size_ = 0;
};

// Overwrites a buffer with zeros in a way the compiler cannot elide.
void SecureZero(void* data, size_t size);
// Zeroes and clears a std::string that held secret material.
void SecureClear(std::string& s);

}  // namespace coffer::util

namespace coffer {
using util::SecretBytes;
}  // namespace coffer
