// agent/coalescer: when a workload is rendered after a burst of changes
// (docs/agent.md#coalescing). With wait {min, max} and a rate limit:
//
//   due = min(last change + min, first change of the burst + max),
//         but not before the last rollout + rate limit
//
// so a burst of N changes is rendered once, with its final values: after
// `min` of quiet, or at `max` if the burst does not stop. Pure logic over
// times passed in (tests drive it with a simulated clock). Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "agent/config.h"
#include "util/time.h"

namespace coffer::agent {

class Coalescer {
 public:
  Coalescer(WaitWindow window, Duration rate_limit) : window_(window), rate_limit_(rate_limit) {}

  // A change arrived at `now`.
  void Note(util::SteadyTime now);
  // Asks for a rendering at `at` with no wait (start-up, resync, refresh).
  void Force(util::SteadyTime at);
  bool pending() const { return first_.has_value(); }
  // When the pending burst is due. REQUIRES: pending().
  util::SteadyTime due() const;
  // The burst was rendered; returns how many changes it gathered.
  int64_t Rendered();
  // A rollout happened at `now` (starts the rate limit).
  void RolledOut(util::SteadyTime now) { last_rollout_ = now; }
  // The first change of the pending burst (for the propagation metric).
  std::optional<util::SteadyTime> first_change() const { return first_; }

 private:
  WaitWindow window_;
  Duration rate_limit_;
  std::optional<util::SteadyTime> first_;
  util::SteadyTime last_{};
  std::optional<util::SteadyTime> forced_;
  std::optional<util::SteadyTime> last_rollout_;
  int64_t changes_ = 0;
};

}  // namespace coffer::agent
