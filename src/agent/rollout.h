// agent/rollout: what happens when a workload's rendered content changed
// (docs/agent.md#rollouts): run a command, signal a process (a pid or a pid
// file), `kubectl rollout restart deployment/NAME`, or write a Deployment
// patch whose pod-template annotation is the content hash (Reloader's way, for
// GitOps). Each configured action runs once per rendering that changed
// something. Commands run without a shell unless the configuration names one,
// with COFFER_WORKLOAD set; never with a value in their arguments or
// environment.
#pragma once

#include <string>

#include "agent/config.h"
#include "util/result.h"

namespace coffer::agent {

// Runs every action of `rollout` for `workload`. `content_hash` is the hex
// sha256 of the workload's rendered files. Errors: kUnavailable naming the
// action (a command that exits non-zero or cannot start, a pid that cannot be
// signalled, a patch file that cannot be written); the other actions still
// run.
Status RunRollout(const std::string& workload, const RolloutConfig& rollout,
                  const std::string& content_hash);

// True when `rollout` has any action.
bool HasRollout(const RolloutConfig& rollout);

}  // namespace coffer::agent
