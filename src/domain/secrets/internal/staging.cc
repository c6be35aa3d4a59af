#include "domain/secrets/internal/staging.h"

#include <algorithm>

#include "domain/secrets/secret_store.h"

namespace coffer::domain::secrets::internal {
namespace {

std::unexpected<Error> InvalidParameter(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kSecretInvalidParameter);
}

}  // namespace

bool HasStage(const VersionInfo& v, std::string_view stage) {
  return std::find(v.stages.begin(), v.stages.end(), stage) != v.stages.end();
}

void RemoveStage(VersionInfo& v, std::string_view stage) {
  std::erase(v.stages, std::string(stage));
}

VersionInfo* FindVersion(HeadRecord& head, std::string_view id) {
  for (VersionInfo& v : head.versions) {
    if (v.id == id) return &v;
  }
  return nullptr;
}

const VersionInfo* FindVersion(const HeadRecord& head, std::string_view id) {
  for (const VersionInfo& v : head.versions) {
    if (v.id == id) return &v;
  }
  return nullptr;
}

VersionInfo* HolderOf(HeadRecord& head, std::string_view stage) {
  for (VersionInfo& v : head.versions) {
    if (HasStage(v, stage)) return &v;
  }
  return nullptr;
}

const VersionInfo* HolderOf(const HeadRecord& head, std::string_view stage) {
  for (const VersionInfo& v : head.versions) {
    if (HasStage(v, stage)) return &v;
  }
  return nullptr;
}

void MoveCurrent(HeadRecord& head, const std::string& target) {
  VersionInfo* old = HolderOf(head, kStageCurrent);
  if (old && old->id == target) return;
  std::string old_id = old ? old->id : "";
  if (old) RemoveStage(*old, kStageCurrent);
  FindVersion(head, target)->stages.emplace_back(kStageCurrent);
  if (!old_id.empty()) {
    for (VersionInfo& v : head.versions) RemoveStage(v, kStagePrevious);
    FindVersion(head, old_id)->stages.emplace_back(kStagePrevious);
  } else {
    RemoveStage(*FindVersion(head, target), kStagePrevious);
  }
}

Status AttachStages(HeadRecord& head, const std::string& target,
                    const std::vector<std::string>& stages) {
  bool has_current = std::find(stages.begin(), stages.end(), kStageCurrent) != stages.end();
  if (has_current) MoveCurrent(head, target);
  for (const std::string& stage : stages) {
    if (stage == kStageCurrent) continue;
    VersionInfo* holder = HolderOf(head, stage);
    if (holder && holder->id == target) continue;
    if (holder) RemoveStage(*holder, stage);
    FindVersion(head, target)->stages.push_back(stage);
  }
  if (FindVersion(head, target)->stages.size() > kMaxStagesPerVersion) {
    return Fail(ErrorCode::kResourceExhausted,
                "A version can have at most 20 staging labels attached.",
                Reason::kSecretStageLimitExceeded);
  }
  return Ok();
}

Result<bool> MoveStage(HeadRecord& head, const std::string& stage,
                       const std::optional<std::string>& move_to,
                       const std::optional<std::string>& remove_from) {
  VersionInfo* holder = HolderOf(head, stage);
  if (remove_from) {
    VersionInfo* from = FindVersion(head, *remove_from);
    if (!from) return InvalidParameter("Not a valid version: " + *remove_from);
    if (from != holder) {
      return InvalidParameter("The staging label " + stage +
                              " is not attached to the version specified by RemoveFromVersionId "
                              "(" +
                              *remove_from + ").");
    }
  }
  if (move_to) {
    VersionInfo* to = FindVersion(head, *move_to);
    if (!to) return InvalidParameter("Not a valid version: " + *move_to);
    if (holder == to) return false;
    if (holder && !remove_from) {
      return InvalidParameter("The parameter RemoveFromVersionId can't be empty. Staging label " +
                              stage + " is currently attached to version " + holder->id +
                              ", so you must explicitly reference that version in "
                              "RemoveFromVersionId.");
    }
    std::string target = to->id;
    COFFER_RETURN_IF_ERROR(AttachStages(head, target, {stage}));
  } else {
    if (stage == kStageCurrent) {
      return InvalidParameter(
          "You can only move staging label AWSCURRENT to a "
          "different secret version. It "
          "can't be completely removed.");
    }
    RemoveStage(*holder, stage);
  }
  return true;
}

}  // namespace coffer::domain::secrets::internal
