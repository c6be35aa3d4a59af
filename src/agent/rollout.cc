#include "agent/rollout.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "util/private_file.h"

extern char** environ;

namespace coffer::agent {
namespace {

Error Unavailable(std::string message) {
  return Error{ErrorCode::kUnavailable, Reason::kNone, std::move(message)};
}

Status RunCommand(const std::string& workload, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "COFFER_WORKLOAD=", 16) != 0) env_strings.emplace_back(*e);
  }
  env_strings.push_back("COFFER_WORKLOAD=" + workload);
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  // The agent blocks its shutdown signals in every thread; a child gets an
  // empty mask and default dispositions.
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigfillset(&defaults);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &defaults);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], nullptr, &attr, args.data(), env.data());
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Fail(Unavailable("rollout command " + argv[0] + " cannot start: " +
                            std::strerror(rc)));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return Fail(Unavailable("rollout command: waitpid failed"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Fail(Unavailable("rollout command " + argv[0] + " failed (status " +
                            std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")"));
  }
  return Ok();
}

Status Signal(const RolloutConfig& r) {
  int pid = r.pid;
  if (!r.pid_file.empty()) {
    std::ifstream in(r.pid_file);
    if (!(in >> pid) || pid <= 0) {
      return Fail(Unavailable("rollout: no pid in " + r.pid_file));
    }
  }
  if (::kill(pid, r.signal) != 0) {
    return Fail(Unavailable("rollout: cannot signal pid " + std::to_string(pid) + ": " +
                            std::strerror(errno)));
  }
  return Ok();
}

}  // namespace

bool HasRollout(const RolloutConfig& r) {
  return !r.command.empty() || !r.pid_file.empty() || r.pid > 0 ||
         !r.kubectl_deployment.empty() || !r.annotation_patch_file.empty();
}

Status RunRollout(const std::string& workload, const RolloutConfig& r,
                  const std::string& content_hash) {
  Status result = Ok();
  auto keep = [&](Status s) {
    if (!s && result) result = std::move(s);
  };
  if (!r.annotation_patch_file.empty()) {
    // A strategic-merge patch of the Deployment's pod template, as Reloader
    // annotates it: `kubectl patch deployment NAME --patch-file FILE`, or a
    // kustomize patch in a GitOps repository.
    std::ostringstream patch;
    patch << "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: "
          << r.annotation_deployment << "\nspec:\n  template:\n    metadata:\n"
          << "      annotations:\n        coffer.dev/secret-hash: \"" << content_hash << "\"\n";
    keep(util::WritePrivateFile(r.annotation_patch_file, patch.str()));
  }
  if (!r.command.empty()) keep(RunCommand(workload, r.command));
  if (!r.pid_file.empty() || r.pid > 0) keep(Signal(r));
  if (!r.kubectl_deployment.empty()) {
    std::vector<std::string> argv = {"kubectl", "rollout", "restart",
                                     "deployment/" + r.kubectl_deployment};
    if (!r.kubectl_namespace.empty()) {
      argv.push_back("--namespace");
      argv.push_back(r.kubectl_namespace);
    }
    keep(RunCommand(workload, argv));
  }
  return result;
}

}  // namespace coffer::agent
