#include "util/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

namespace coffer::util {
namespace {

std::string SystemError(std::string_view what, const std::string& path, int err) {
  return std::string(what) + " " + path + ": " + std::strerror(err);
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// The directory holding `path` ("." for a bare name).
std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// A temporary name beside `path`, unique among this process's writes; one left
// by a dead process with the same pid is stale and may be removed.
std::string TempName(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
}

}  // namespace

Status WritePrivateFile(const std::string& path, std::string_view content, IfExists if_exists) {
  std::string tmp = TempName(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 && errno == EEXIST) {
    ::unlink(tmp.c_str());
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  }
  if (fd < 0) return Fail(ErrorCode::kUnavailable, SystemError("cannot create", tmp, errno));
  // 0600 even under an unusual umask (open's mode is masked by it).
  bool ok = ::fchmod(fd, 0600) == 0 && WriteAll(fd, content) && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return Fail(ErrorCode::kUnavailable, SystemError("cannot write", tmp, err));
  }
  if (if_exists == IfExists::kReplace) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      err = errno;
      ::unlink(tmp.c_str());
      return Fail(ErrorCode::kUnavailable, SystemError("cannot rename to", path, err));
    }
  } else {
    int rc = ::link(tmp.c_str(), path.c_str());
    err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0 && err == EEXIST) {
      return Fail(ErrorCode::kAlreadyExists, path + " already exists");
    }
    if (rc != 0) return Fail(ErrorCode::kUnavailable, SystemError("cannot create", path, err));
  }
  std::string dir = ParentDir(path);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    return Fail(ErrorCode::kUnavailable, SystemError("cannot open directory", dir, errno));
  }
  int rc = ::fsync(dfd);
  err = errno;
  ::close(dfd);
  if (rc != 0) return Fail(ErrorCode::kUnavailable, SystemError("cannot sync directory", dir, err));
  return Ok();
}

Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    return Fail(ErrorCode::kUnavailable, "cannot open " + path + ": " + std::strerror(errno));
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return Fail(ErrorCode::kUnavailable, "cannot fsync " + path + ": " + std::strerror(err));
  }
  return Ok();
}

}  // namespace coffer::util
