// agent/status: `coffer agent status` -- reads a running agent's /metrics and
// summarises it: per workload its syncs, failures, rollouts and coalesced
// changes, per target the time of its last good sync, and the feed revision.
#pragma once

#include <string>

#include "util/result.h"

namespace coffer::agent {

// The summary of the agent listening on `address` (HOST:PORT of its metrics
// endpoint). kUnavailable when it cannot be reached.
Result<std::string> ReadStatus(const std::string& address);

}  // namespace coffer::agent
