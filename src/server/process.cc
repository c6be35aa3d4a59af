#include "server/process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace coffer::server {

Status HardenProcess() {
  const char* allow = std::getenv("COFFER_ALLOW_CORE");
  if (allow != nullptr && std::string_view(allow) == "1") return Ok();
  rlimit no_core{0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return Fail(ErrorCode::kInternal, std::string("setrlimit(RLIMIT_CORE): ") + strerror(errno));
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return Fail(ErrorCode::kInternal, std::string("prctl(PR_SET_DUMPABLE): ") + strerror(errno));
  }
  return Ok();
}

namespace {
sigset_t WaitedSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);  // reload (TLS certificate), not a shutdown
  return set;
}
}  // namespace

void BlockShutdownSignals() {
  sigset_t set = WaitedSignals();
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set = WaitedSignals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  return signal;
}

bool IsReloadSignal(int signal) { return signal == SIGHUP; }

short ChildSignalDefaults(posix_spawnattr_t& attr) {
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  return POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
}

}  // namespace coffer::server
