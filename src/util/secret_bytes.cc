#include "util/secret_bytes.h"

#include <string.h>

#include <cstdlib>
#include <new>

#include "util/check.h"

namespace coffer::util {

void SecureZero(void* data, size_t size) {
  if (data != nullptr && size > 0) explicit_bzero(data, size);
}

void SecureClear(std::string& s) {
  SecureZero(s.data(), s.size());
  s.clear();
}

SecretBytes::SecretBytes(std::string_view bytes) : size_(bytes.size()) {
  if (size_ > 0) {
    data_ = new char[size_];
    memcpy(data_, bytes.data(), size_);
  }
}

SecretBytes::SecretBytes(size_t size) : size_(size) {
  if (size_ > 0) data_ = new char[size_]();
}

SecretBytes::~SecretBytes() { Wipe(); }

SecretBytes::SecretBytes(const SecretBytes& other) : SecretBytes(other.Reveal()) {}

SecretBytes& SecretBytes::operator=(const SecretBytes& other) {
  if (this != &other) {
    SecretBytes copy(other);
    *this = std::move(copy);
  }
  return *this;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < size_; ++i) diff |= static_cast<unsigned char>(data_[i] ^ other.data_[i]);
  return diff == 0;
}

void SecretBytes::Truncate(size_t size) {
  COFFER_CHECK(size <= size_);
  SecureZero(data_ + size, size_ - size);
  size_ = size;
}

void SecretBytes::Wipe() noexcept {
  if (data_ != nullptr) {
    SecureZero(data_, size_);
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
}

}  // namespace coffer::util
