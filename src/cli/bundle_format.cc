#include "cli/bundle_format.h"

#include <cctype>
#include <cstring>
#include <set>

#include "crypto/crypto.h"

namespace coffer::cli {
namespace {

constexpr size_t kNonceSize = 12;

void PutU32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v >> 24));
  out.push_back(static_cast<char>(v >> 16));
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

void PutField(std::string& out, std::string_view field) {
  PutU32(out, static_cast<uint32_t>(field.size()));
  out.append(field);
}

// Reads the file front to back; every read is bounds-checked.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool U32(uint32_t& v) {
    if (data_.size() - pos_ < 4) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(data_.data() + pos_);
    v = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    pos_ += 4;
    return true;
  }
  bool Bytes(size_t n, std::string_view& out) {
    if (data_.size() - pos_ < n) return false;
    out = data_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Field(std::string& out, size_t limit) {
    uint32_t n = 0;
    std::string_view v;
    if (!U32(n) || n > limit || !Bytes(n, v)) return false;
    out.assign(v);
    return true;
  }
  size_t pos() const { return pos_; }
  size_t left() const { return data_.size() - pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

std::unexpected<Error> Malformed(const std::string& what) {
  return Fail(ErrorCode::kDataLoss, "not a valid bundle: " + what, Reason::kCiphertextMalformed);
}

std::unexpected<Error> Invalid(const std::string& what) {
  return Fail(ErrorCode::kInvalidArgument, what, Reason::kValidation);
}

std::string HeaderBytes(const BundleHeader& h) {
  std::string out(kBundleMagic);
  out.push_back(static_cast<char>(kBundleVersion));
  PutField(out, h.name);
  PutField(out, h.kms_key_id);
  PutField(out, h.encrypted_data_key);
  PutField(out, h.created);
  PutU32(out, static_cast<uint32_t>(h.services.size()));
  for (const std::string& s : h.services) PutField(out, s);
  PutU32(out, static_cast<uint32_t>(h.names.size()));
  for (const std::string& n : h.names) PutField(out, n);
  return out;
}

}  // namespace

bool IsBundleName(std::string_view name) {
  if (name.empty() || name.size() > 1024) return false;
  if (std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

Result<std::string> SealBundle(const BundleHeader& header, const SecretBytes& data_key,
                               const std::vector<std::pair<std::string, SecretBytes>>& values) {
  if (header.names.size() != values.size()) return Invalid("bundle: names and values differ");
  if (values.size() > kMaxBundleEntries) {
    return Invalid("bundle: more than " + std::to_string(kMaxBundleEntries) + " values");
  }
  for (const std::string* f : {&header.name, &header.kms_key_id, &header.encrypted_data_key,
                               &header.created}) {
    if (f->size() > kMaxBundleFieldSize) return Invalid("bundle: a header field is too long");
  }
  if (header.name.empty()) return Invalid("bundle: the bundle needs a name");
  if (header.services.size() > kMaxBundleEntries) return Invalid("bundle: too many services");
  for (const std::string& s : header.services) {
    if (s.size() > kMaxBundleFieldSize) return Invalid("bundle: a service name is too long");
  }
  std::set<std::string_view> seen;
  size_t plain_size = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& name = header.names[i];
    if (name != values[i].first) return Invalid("bundle: names and values differ at " + name);
    if (!IsBundleName(name)) {
      return Invalid("bundle: " + name + " is not a valid environment variable name");
    }
    if (!seen.insert(name).second) return Invalid("bundle: " + name + " appears twice");
    if (values[i].second.Reveal().find('\0') != std::string_view::npos) {
      return Invalid("bundle: the value of " + name + " holds a NUL byte");
    }
    plain_size += 4 + values[i].second.size();
  }
  std::string out = HeaderBytes(header);
  std::string nonce = crypto::RandomBytes(kNonceSize);
  out += nonce;
  if (out.size() + plain_size + crypto::kAeadTagSize > kMaxBundleSize) {
    return Invalid("bundle: larger than " + std::to_string(kMaxBundleSize >> 20) + " MiB");
  }
  SecretBytes plain(plain_size);
  uint8_t* p = plain.MutableData();
  for (const auto& [name, value] : values) {
    uint32_t n = static_cast<uint32_t>(value.size());
    p[0] = static_cast<uint8_t>(n >> 24);
    p[1] = static_cast<uint8_t>(n >> 16);
    p[2] = static_cast<uint8_t>(n >> 8);
    p[3] = static_cast<uint8_t>(n);
    if (n != 0) std::memcpy(p + 4, value.bytes(), n);
    p += 4 + n;
  }
  COFFER_ASSIGN_OR_RETURN(std::string sealed,
                          crypto::AesGcmSeal(data_key, nonce, out, plain.Reveal()));
  out += sealed;
  return out;
}

Result<ParsedBundle> ParseBundle(std::string_view file) {
  if (file.size() > kMaxBundleSize) return Malformed("larger than the 64 MiB limit");
  Reader r(file);
  std::string_view magic;
  if (!r.Bytes(kBundleMagic.size(), magic) || magic != kBundleMagic) {
    return Malformed("no bundle magic at the start");
  }
  std::string_view version;
  if (!r.Bytes(1, version)) return Malformed("truncated header");
  if (static_cast<uint8_t>(version[0]) != kBundleVersion) {
    return Malformed("unknown version " + std::to_string(static_cast<uint8_t>(version[0])));
  }
  ParsedBundle b;
  BundleHeader& h = b.header;
  if (!r.Field(h.name, kMaxBundleFieldSize) || !r.Field(h.kms_key_id, kMaxBundleFieldSize) ||
      !r.Field(h.encrypted_data_key, kMaxBundleFieldSize) ||
      !r.Field(h.created, kMaxBundleFieldSize)) {
    return Malformed("truncated or oversized header field");
  }
  if (h.name.empty() || h.kms_key_id.empty() || h.encrypted_data_key.empty()) {
    return Malformed("empty name, key id or data key");
  }
  uint32_t count = 0;
  // Each entry takes at least 4 bytes, so a count beyond what is left is refused
  // before anything is reserved.
  if (!r.U32(count) || count > kMaxBundleEntries || count > r.left() / 4) {
    return Malformed("bad service count");
  }
  h.services.resize(count);
  for (std::string& s : h.services) {
    if (!r.Field(s, kMaxBundleFieldSize)) return Malformed("truncated service");
  }
  if (!r.U32(count) || count > kMaxBundleEntries || count > r.left() / 4) {
    return Malformed("bad value count");
  }
  h.names.resize(count);
  std::set<std::string_view> seen;
  for (std::string& n : h.names) {
    if (!r.Field(n, 1024)) return Malformed("truncated value name");
    if (!IsBundleName(n)) return Malformed("a value name is not an environment variable name");
    if (!seen.insert(n).second) return Malformed("value name " + n + " appears twice");
  }
  std::string_view nonce;
  if (!r.Bytes(kNonceSize, nonce)) return Malformed("truncated before the nonce");
  b.nonce.assign(nonce);
  b.aad.assign(file.substr(0, r.pos()));
  if (r.left() < crypto::kAeadTagSize) return Malformed("truncated ciphertext");
  b.sealed.assign(file.substr(r.pos()));
  return b;
}

Result<std::vector<std::pair<std::string, SecretBytes>>> OpenBundle(const ParsedBundle& bundle,
                                                                    const SecretBytes& data_key) {
  auto plain = crypto::AesGcmOpen(data_key, bundle.nonce, bundle.aad, bundle.sealed);
  if (!plain) {
    return Fail(ErrorCode::kDataLoss,
                "bundle authentication failed: the file was changed or the data key is wrong",
                Reason::kCiphertextTampered);
  }
  std::vector<std::pair<std::string, SecretBytes>> out;
  out.reserve(bundle.header.names.size());
  Reader r(plain->Reveal());
  for (const std::string& name : bundle.header.names) {
    uint32_t n = 0;
    std::string_view v;
    if (!r.U32(n) || !r.Bytes(n, v)) return Malformed("the values do not match the names");
    out.emplace_back(name, SecretBytes(v));
  }
  if (r.left() != 0) return Malformed("bytes after the last value");
  return out;
}

}  // namespace coffer::cli
