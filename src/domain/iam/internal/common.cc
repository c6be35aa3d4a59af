#include "domain/iam/internal/common.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>

#include "crypto/crypto.h"
#include "util/encoding.h"

namespace coffer::domain::iam::internal {

namespace {

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::strchr("+=,.@_-", c) != nullptr;
}

}  // namespace

// IAM names: 1-`max` of [A-Za-z0-9+=,.@_-].
bool IsValidName(std::string_view name, size_t max) {
  if (name.empty() || name.size() > max) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return c != 0 && IsNameChar(c); });
}
bool IsValidUserName(std::string_view name) { return IsValidName(name, 64); }

// "/" or "/a/b/": 1-512 printable ASCII characters, starting and ending with "/".
bool IsValidPath(std::string_view path) {
  if (path.empty() || path.size() > 512 || path.front() != '/' || path.back() != '/') return false;
  return std::all_of(path.begin(), path.end(), [](char c) { return c >= 0x21 && c <= 0x7E; });
}

// Access key ids: 4-128 of [A-Z0-9] (allows AWS's documented AKIDEXAMPLE).
bool IsValidAccessKeyId(std::string_view id) {
  if (id.size() < 4 || id.size() > 128) return false;
  for (char c : id) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool IsSessionKeyId(std::string_view id) { return id.starts_with("ASIA"); }

bool IsHex40(std::string_view s) {
  if (s.size() != 40) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

Error Invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, Reason::kValidation, std::move(message)};
}

Status ValidateTags(const std::vector<Tag>& tags) {
  if (tags.size() > kMaxTags) return Fail(Invalid("at most 50 tags are allowed"));
  std::set<std::string_view> seen;
  for (const Tag& t : tags) {
    if (t.key.empty() || t.key.size() > 128) {
      return Fail(Invalid("tag keys must be 1-128 characters"));
    }
    if (t.value.size() > 256) return Fail(Invalid("tag values must be at most 256 characters"));
    if (!seen.insert(t.key).second) return Fail(Invalid("duplicate tag key " + t.key));
  }
  return Ok();
}

Status ValidatePath(std::string_view path) {
  if (!IsValidPath(path)) {
    return Fail(Invalid("path must be \"/\" or begin and end with \"/\" (1-512 characters)"));
  }
  return Ok();
}

// `prefix` + 16 characters drawn uniformly from [A-Z0-9] with the CSPRNG.
std::string RandomIdentifier(std::string_view prefix) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string out(prefix);
  while (out.size() < prefix.size() + 16) {
    std::string bytes = crypto::RandomBytes(32);
    for (unsigned char b : bytes) {
      if (b >= 252) continue;  // 252 = 7 * 36: reject to keep the draw uniform
      out.push_back(kAlphabet[b % 36]);
      if (out.size() == prefix.size() + 16) break;
    }
  }
  return out;
}

// Base64 of `random_bytes` CSPRNG bytes, as a secret.
SecretBytes RandomBase64Secret(size_t random_bytes) {
  std::string random = crypto::RandomBytes(random_bytes);
  std::string encoded = util::Base64Encode(random);
  SecretBytes secret(encoded);
  util::SecureClear(random);
  util::SecureClear(encoded);
  return secret;
}

// ---- errors

Error UnknownKey(std::string_view id) {
  return Error{ErrorCode::kNotFound, Reason::kUnknownAccessKey,
               "access key " + std::string(id) + " is unknown or inactive"};
}

Error NoSuchEntity(std::string message) {
  return Error{ErrorCode::kNotFound, Reason::kNoSuchEntity, std::move(message)};
}

Error NoSuch(EntityKind kind, std::string_view name) {
  return NoSuchEntity("The " + std::string(EntityKindName(kind)) + " with name " +
                      std::string(name) + " cannot be found.");
}

Error NoSuchPolicy(std::string_view arn) {
  return NoSuchEntity("Policy " + std::string(arn) + " does not exist or is not attachable.");
}

Error AlreadyExists(std::string message) {
  return Error{ErrorCode::kAlreadyExists, Reason::kEntityAlreadyExists, std::move(message)};
}

Error DeleteConflict(std::string message) {
  return Error{ErrorCode::kFailedPrecondition, Reason::kDeleteConflict, std::move(message)};
}

Error LimitExceeded(std::string message) {
  return Error{ErrorCode::kResourceExhausted, Reason::kLimitExceeded, std::move(message)};
}

bool IsCasConflict(const Error& e) { return e.code == ErrorCode::kAborted; }

std::string_view LastSegment(std::string_view key) {
  size_t slash = key.rfind('/');
  return slash == std::string_view::npos ? key : key.substr(slash + 1);
}

void Touch(storage::Txn& txn, const storage::Entry& entry) {
  txn.compares.push_back(storage::Compare{entry.key, entry.mod_revision});
  txn.writes.push_back(storage::Write::Put(entry.key, entry.value));
}

void Guard(storage::Txn& txn, const storage::Entry& entry) {
  txn.compares.push_back(storage::Compare{entry.key, entry.mod_revision});
}

}  // namespace coffer::domain::iam::internal
