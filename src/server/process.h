// Process-level concerns of the server role: hardening against secrets
// leaking through core dumps, and the shutdown and reload signals.
#pragma once

#include <spawn.h>

#include "util/result.h"

namespace coffer::server {

// Makes the process non-dumpable (prctl PR_SET_DUMPABLE 0: no core file, no
// ptrace attach by other same-user processes, /proc/self/mem closed) and sets
// RLIMIT_CORE to 0, so key material cannot land in a core dump. The
// environment variable COFFER_ALLOW_CORE=1 skips both (debugging only).
// kInternal if the kernel refuses either call.
Status HardenProcess();

// Blocks SIGTERM, SIGINT, SIGHUP and SIGPIPE in the calling thread; threads
// started afterwards inherit the mask, so the signals are left for
// WaitForShutdownSignal() and a peer closing a socket never kills the process.
// Call before starting any thread.
void BlockShutdownSignals();

// Waits until SIGTERM, SIGINT or SIGHUP arrives (REQUIRES:
// BlockShutdownSignals() was called first in this thread). Returns the signal
// number; for SIGHUP (IsReloadSignal) the caller reloads what can be reloaded
// (the TLS certificate) and waits again.
int WaitForShutdownSignal();

// Whether `signal`, as returned by WaitForShutdownSignal(), asks for a reload
// (SIGHUP) rather than a shutdown.
bool IsReloadSignal(int signal);

// Sets `attr` so that a child spawned with it starts with no signal blocked
// and every handler at its default: the server blocks SIGTERM, SIGINT, SIGHUP
// and SIGPIPE in every thread (BlockShutdownSignals), and a child would inherit
// that. Returns the POSIX_SPAWN_* flags the caller must OR into the
// attribute's flags.
short ChildSignalDefaults(posix_spawnattr_t& attr);

}  // namespace coffer::server
