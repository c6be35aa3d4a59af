// agent/target: where rendered values go (docs/agent.md#targets). A Target
// turns a workload's values into files; WriteFiles puts them in place
// atomically (a temporary file beside the target, fsync, rename, fsync of the
// directory, mode and owner set before the rename), so a reader sees the old
// content or the new, never a partial or empty file. Rendering fails as a
// whole: on any error nothing is written and the last good content stays.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config.h"
#include "agent/template.h"
#include "util/result.h"
#include "util/secret_bytes.h"

namespace coffer::agent {

struct RenderedFile {
  std::string path;
  SecretBytes content;
  int mode = 0600;
  std::optional<int> uid;
  std::optional<int> gid;
};

struct Rendering {
  std::vector<RenderedFile> files;
  std::vector<std::string> remove;  // files of keys that are gone (directory targets)
};

// One configured target. Render is a pure function of the values and of what
// the target wrote before (a directory target's index of keys). Thread-safe
// (no mutable state).
class Target {
 public:
  virtual ~Target() = default;
  // The files for `values`. kInvalidArgument (kValidation) when a key cannot
  // be written in this format (a Kubernetes key outside [-._a-zA-Z0-9], a
  // newline in an ECS env value, a template error); the message names the
  // key, never a value.
  virtual Result<Rendering> Render(const Values& values) const = 0;
  // "dotenv", "directory", ... (a metrics label, from a closed set).
  virtual std::string_view kind() const = 0;
  // The path it writes (a metrics label; configuration, not secret).
  virtual const std::string& path() const = 0;
};

std::unique_ptr<Target> MakeTarget(const TargetConfig& config);

// Writes every file whose content differs from what is on disk, atomically,
// and removes `rendering.remove`. Returns whether anything changed. On an
// error the files already replaced keep their new content and the others
// their old one (each file is whole either way); kUnavailable naming the path.
Result<bool> WriteFiles(const Rendering& rendering);

// The key as a Kubernetes Secret data key allows ([-._a-zA-Z0-9]+).
bool IsValidSecretKey(std::string_view key);

}  // namespace coffer::agent
