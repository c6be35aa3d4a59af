// agent/: `coffer agent` -- keeps files, env files and Kubernetes Secret
// manifests in step with a Coffer server (pushed through the change feed) or
// any SSM / Secrets Manager endpoint (polled), and rolls workloads out once
// per burst of changes (docs/agent.md).
//
// Threads: Run() is the syncer (coalescing, fetch, render, write, rollout);
// a follower thread long-polls GET /v1/changes (Coffer source); the metrics
// listener has its own. The syncer alone fetches values and writes targets.
//
// Durability: the state file holds the feed revision up to which every change
// is in the targets; it is written only when no workload is pending or
// failing, so a restart resumes from it and loses no change. A 410 from the
// feed (history compacted, or another store) forces a full resync.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/coalescer.h"
#include "agent/config.h"
#include "agent/metrics_server.h"
#include "agent/source.h"
#include "agent/sops_source.h"
#include "agent/target.h"
#include "client/aws_client.h"
#include "util/metrics.h"
#include "util/mutex.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::agent {

class Agent {
 public:
  // `clock` must outlive the agent.
  Agent(AgentConfig config, client::AwsConfig aws, util::Clock& clock);
  ~Agent();  // Stop(), then joins
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Starts the metrics listener (when configured). kInvalidArgument /
  // kUnavailable when it cannot listen.
  Status Start();
  // The metrics listener's address ("" without one).
  std::string metrics_address() const;

  // Syncs until Stop() is called. Every error is logged, counted and retried;
  // targets keep their last good content.
  void Run();
  // Asks Run() and the follower to return. Thread-safe; may be called from a
  // signal-waiting thread.
  void Stop();

  util::Metrics& metrics() { return metrics_; }

 private:
  struct Workload {
    const WorkloadConfig* config;
    std::vector<std::unique_ptr<Target>> targets;
    Coalescer coalescer;
    util::SteadyTime next_refresh{};
    int failures = 0;
    std::map<std::string, int64_t> sops_mtimes;  // sops file -> last seen mtime
  };

  void Follow();
  bool Matches(const WorkloadConfig& w, std::string_view type, std::string_view name) const;
  // Fetch, render, write, roll out. Returns whether it succeeded.
  bool Sync(Workload& w, std::optional<util::SteadyTime> first_change);
  void LoadState();
  void SaveState(int64_t revision);

  AgentConfig config_;
  client::AwsConfig aws_;
  util::Clock& clock_;
  util::Metrics metrics_;
  AwsSource source_;
  SopsSource sops_;
  std::vector<std::unique_ptr<Workload>> workloads_;
  std::unique_ptr<MetricsServer> metrics_server_;

  util::Mutex mu_;
  util::CondVar wake_;
  bool stopping_ COFFER_GUARDED_BY(mu_) = false;
  // Revision of the feed: every change up to it has been noted in a coalescer.
  int64_t followed_ COFFER_GUARDED_BY(mu_) = -1;
  int64_t saved_ = -1;  // syncer only
  std::thread follower_;
};

}  // namespace coffer::agent
