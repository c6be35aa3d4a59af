// Private files: small files (keys, credentials, configuration) written whole,
// atomically, and readable by their owner alone.
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace coffer::util {

// What WritePrivateFile does when `path` already exists.
enum class IfExists {
  kReplace,  // the new content replaces it (rename)
  kKeep,     // it is kept and the write fails with kAlreadyExists (link)
};

// Writes `content` to `path`, mode 0600 whatever the umask: a temporary file
// beside it (O_EXCL, O_NOFOLLOW), fsync, then renamed (kReplace) or linked
// (kKeep) into place, then fsync of the directory. A crash leaves the old file
// or the new one, never a partial one; no copy of `content` is made.
// Errors: kAlreadyExists (kKeep, `path` exists); kUnavailable when a step fails
// (the message names the path and the system error, never the content).
Status WritePrivateFile(const std::string& path, std::string_view content,
                        IfExists if_exists = IfExists::kReplace);

// Opens `path` (a file, or a directory with O_DIRECTORY in `flags`) and
// fsyncs it. kUnavailable naming the path and the system error.
Status FsyncPath(const std::string& path, int flags);

}  // namespace coffer::util
