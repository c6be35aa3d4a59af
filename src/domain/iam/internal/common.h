// Helpers shared by the files of domain/iam: name and value checks, the
// errors every operation returns, random identifiers, transaction clauses.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "domain/iam/identity_store.h"
#include "storage/backend.h"
#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::domain::iam::internal {

// ---- validation

// IAM names: 1-`max` of [A-Za-z0-9+=,.@_-].
bool IsValidName(std::string_view name, size_t max);
bool IsValidUserName(std::string_view name);
// "/" or "/a/b/": 1-512 printable ASCII characters, starting and ending with "/".
bool IsValidPath(std::string_view path);
// Access key ids: 4-128 of [A-Z0-9] (allows AWS's documented AKIDEXAMPLE).
bool IsValidAccessKeyId(std::string_view id);
bool IsSessionKeyId(std::string_view id);
bool IsHex40(std::string_view s);
Status ValidateTags(const std::vector<Tag>& tags);
Status ValidatePath(std::string_view path);

// `prefix` + 16 characters drawn uniformly from [A-Z0-9] with the CSPRNG.
std::string RandomIdentifier(std::string_view prefix);
// Base64 of `random_bytes` CSPRNG bytes, as a secret.
SecretBytes RandomBase64Secret(size_t random_bytes);

// ---- errors

// Messages of the delete conflicts that several entities share.
inline constexpr std::string_view kMustDeletePolicies =
    "Cannot delete entity, must delete policies first.";
inline constexpr std::string_view kMustDetachPolicies =
    "Cannot delete entity, must detach all policies first.";
inline constexpr std::string_view kMustRemoveRolesFromProfile =
    "Cannot delete entity, must remove roles from instance profile first.";

Error Invalid(std::string message);
Error UnknownKey(std::string_view id);
Error NoSuchEntity(std::string message);
Error NoSuch(EntityKind kind, std::string_view name);
Error NoSuchPolicy(std::string_view arn);
Error AlreadyExists(std::string message);
Error DeleteConflict(std::string message);
Error LimitExceeded(std::string message);
bool IsCasConflict(const Error& e);

// ---- keys and transactions

// The part of `key` after its last '/'.
std::string_view LastSegment(std::string_view key);
// Requires `entry` unchanged and rewrites it (so a concurrent writer of it retries).
void Touch(storage::Txn& txn, const storage::Entry& entry);
// Requires `entry` unchanged.
void Guard(storage::Txn& txn, const storage::Entry& entry);

}  // namespace coffer::domain::iam::internal
