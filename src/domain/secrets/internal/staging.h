// Staging labels of a secret's versions (AWSCURRENT, AWSPREVIOUS, AWSPENDING
// and the caller's own), as the head record holds them: who holds a label and
// how labels move. Pure functions over internal::HeadRecord; the caller
// writes the head.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/secrets/internal/records.h"
#include "util/result.h"

namespace coffer::domain::secrets::internal {

bool HasStage(const VersionInfo& v, std::string_view stage);
void RemoveStage(VersionInfo& v, std::string_view stage);

// The version with id `id`, or nullptr.
VersionInfo* FindVersion(HeadRecord& head, std::string_view id);
const VersionInfo* FindVersion(const HeadRecord& head, std::string_view id);

// The version that holds `stage`, or nullptr.
VersionInfo* HolderOf(HeadRecord& head, std::string_view stage);
const VersionInfo* HolderOf(const HeadRecord& head, std::string_view stage);

// Moves AWSCURRENT onto `target` (by id): AWSPREVIOUS goes to the version that
// held AWSCURRENT and leaves every other version.
// REQUIRES: `target` is a version of `head`.
void MoveCurrent(HeadRecord& head, const std::string& target);

// Attaches `stages` to version `target`, detaching each from its holder;
// AWSCURRENT first, with the AWSPREVIOUS rule. kResourceExhausted
// (kSecretStageLimitExceeded) when `target` would hold more than 20 labels.
// REQUIRES: `target` is a version of `head`.
Status AttachStages(HeadRecord& head, const std::string& target,
                    const std::vector<std::string>& stages);

// UpdateSecretVersionStage on the head: moves `stage` to version `move_to`
// and/or removes it from version `remove_from`. Returns false when nothing
// changes (the label is already on `move_to`). kInvalidArgument
// (kSecretInvalidParameter) for an unknown version, a `remove_from` that does
// not hold the label, a move of a held label without `remove_from`, or
// removing AWSCURRENT without moving it; kResourceExhausted
// (kSecretStageLimitExceeded) past 20 labels on a version (the caller then
// discards `head`). REQUIRES: `move_to` or `remove_from`.
Result<bool> MoveStage(HeadRecord& head, const std::string& stage,
                       const std::optional<std::string>& move_to,
                       const std::optional<std::string>& remove_from);

}  // namespace coffer::domain::secrets::internal
