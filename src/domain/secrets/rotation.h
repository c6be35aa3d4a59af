// The rotation engine: runs Secrets Manager rotations the way AWS drives a
// rotation Lambda, with a "rotation hook" in place of the Lambda. For each
// rotation it calls the hook for the four steps createSecret, setSecret,
// testSecret and finishSecret with (SecretId, ClientRequestToken, Step), where
// the token is the id of the AWSPENDING version. The hook does the work
// through the Secrets Manager API, as AWS's rotation templates do; the engine
// decides when to rotate, in which order steps run, and checks the result.
//
// Guarantees (docs/rotation-hooks.md):
//  * finishSecret is only called after testSecret succeeded for the same token
//    in this process; after a restart a rotation in progress starts again at
//    createSecret (steps must be idempotent, as Lambda's are).
//  * AWSCURRENT never stays on an untested version: if AWSCURRENT moves during
//    createSecret, setSecret or testSecret, the engine moves it (and
//    AWSPREVIOUS) back and records the step as failed.
//  * A rotation counts as done only when AWSCURRENT is on the token's version
//    after finishSecret; then LastRotatedDate/NextRotationDate are updated.
//  * A failed step is retried from that step with exponential backoff
//    (retry_min, doubling, at most retry_max), indefinitely, until it succeeds
//    or the rotation is cancelled (CancelRotateSecret) or replaced.
//
// How the hook is run (a process, an HTTP call) and with which credentials is
// the RotationInvoker's business (server/ implements it).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "domain/secrets/secret_store.h"
#include "storage/backend.h"
#include "util/id_generator.h"
#include "util/metrics.h"
#include "util/result.h"
#include "util/mutex.h"
#include "util/time.h"

namespace coffer::domain::secrets {

// The four steps, in the order they run. Persisted nowhere; the wire names are
// RotationStepName's.
enum class RotationStep { kCreateSecret = 0, kSetSecret = 1, kTestSecret = 2, kFinishSecret = 3 };

// "createSecret", "setSecret", "testSecret", "finishSecret" (Lambda's Step values).
std::string_view RotationStepName(RotationStep step);

// One invocation of a rotation hook: what Lambda's rotation event carries,
// plus what the invoker needs to run it.
struct RotationStepCall {
  std::string hook;        // RotationLambdaARN as stored on the secret
  std::string secret_arn;  // passed to the hook as SecretId
  std::string secret_name;
  std::string token;  // ClientRequestToken: the AWSPENDING version id
  RotationStep step = RotationStep::kCreateSecret;
  std::chrono::seconds timeout{60};
};

// Runs one step of a rotation hook. Returns Ok when the hook reported success,
// otherwise an error whose message says what happened (exit status, HTTP
// status, timeout, the hook's own one-line reason) and never holds a secret
// value: kFailedPrecondition when the hook cannot be run at all (not an
// executable, a Lambda ARN), kUnavailable when it could not be reached, timed
// out or was stopped, kAborted when it ran and reported failure.
// Implementations must return within about `call.timeout` and be thread-safe: the engine calls Invoke from several
// worker threads at once, but never twice at the same time for one secret.
class RotationInvoker {
 public:
  virtual ~RotationInvoker() = default;
  virtual Status Invoke(const RotationStepCall& call) = 0;
};

struct RotationOptions {
  // Passed to the invoker for each step.
  std::chrono::seconds step_timeout{60};
  // Backoff after a failed step: retry_min, then doubling, capped at retry_max.
  std::chrono::seconds retry_min{30};
  std::chrono::seconds retry_max{3600};
  // How often the engine rescans every secret even when nothing woke it (it is
  // woken by every change to a secret in this process's storage and sleeps
  // until the next NextRotationDate it knows of; the rescan catches changes
  // made by other servers sharing the storage).
  std::chrono::seconds check_interval{60};
  // Rotations of different secrets that may run at the same time.
  int workers = 2;
};

// What the engine knows of one secret's rotation (in memory; a restart forgets
// it). For tests, logs and metrics.
struct RotationStatus {
  std::string arn;
  std::string token;                       // the rotation being attempted
  RotationStep next_step = RotationStep::kCreateSecret;  // where the next attempt starts
  int consecutive_failures = 0;
  std::optional<RotationStep> failed_step;  // of the last failure (none: before the steps)
  std::string last_error;                   // never a secret value
  std::optional<util::SystemTime> retry_at;  // no attempt before this
};

// Metrics (util::Metrics, rendered by /metrics):
//   coffer_rotations_started_total{trigger="schedule"|"pending"}   counter
//   coffer_rotations_total{outcome="succeeded"|"failed"|"cancelled"} counter, per attempt
//   coffer_rotation_step_failures_total{step="<step>"}             counter
//   coffer_rotation_step_seconds{step="<step>"}                    histogram
//   coffer_rotations_failing                                       gauge: secrets whose
//                                                                  last attempt failed
//   coffer_rotation_consecutive_failures{secret="<ARN>"}           gauge, 0 after success
//
// Thread-safe. Start() runs a scheduler thread and `workers` worker threads;
// without Start(), RunDue() does the same work synchronously (tests). The
// referenced objects must outlive the engine.
class RotationEngine {
 public:
  RotationEngine(SecretStore& store, storage::Backend& backend, RotationInvoker& invoker,
                 util::Clock& clock, util::IdGenerator& ids, util::Metrics& metrics,
                 RotationOptions options);
  ~RotationEngine();  // Stop()
  RotationEngine(const RotationEngine&) = delete;
  RotationEngine& operator=(const RotationEngine&) = delete;

  // Starts the background threads and watches storage for secret changes, so
  // that RotateSecret (RotateImmediately) is acted on at once.
  void Start();
  // Stops the threads. Returns after running hook calls end: callers make the
  // invoker stop them first (the server kills running hooks). Idempotent.
  void Stop();
  // Asks for a scan now (background mode).
  void Wake();

  // One synchronous pass in the calling thread: starts every rotation whose
  // NextRotationDate is <= now (creating the AWSPENDING placeholder through
  // SecretStore::RotateSecret) and drives every rotation in progress whose
  // backoff has expired, each through its remaining steps. Returns how many
  // rotations it attempted. Errors: those of SecretStore::ListRotationsDue.
  // REQUIRES: Start() was not called.
  Result<int> RunDue();

  // The engine's state for a secret (by ARN), if it has attempted a rotation
  // that has not succeeded yet.
  std::optional<RotationStatus> StatusOf(std::string_view arn) const;

 private:
  struct Plan {
    std::vector<RotationInfo> due;
    std::optional<util::SystemTime> next_wake;
  };
  Result<Plan> Collect(util::SystemTime now, bool skip_in_flight);
  // Runs one rotation attempt (start and/or remaining steps).
  void RotateOne(const RotationInfo& info);
  void RecordFailure(const RotationInfo& info, const std::string& token,
                     std::optional<RotationStep> step, RotationStep resume_at,
                     const std::string& message);
  void RecordSuccess(const RotationInfo& info);
  // Drops the engine's state for a secret (its failure gauge back to 0).
  void Forget(const std::string& arn);
  void UpdateFailingGauge() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SchedulerLoop();
  void WorkerLoop();

  SecretStore& store_;
  storage::Backend& backend_;
  RotationInvoker& invoker_;
  util::Clock& clock_;
  util::IdGenerator& ids_;
  util::Metrics& metrics_;
  const RotationOptions options_;

  mutable util::Mutex mu_;
  util::CondVar scheduler_cv_;
  util::CondVar worker_cv_;
  std::map<std::string, RotationStatus, std::less<>> status_ COFFER_GUARDED_BY(mu_);
  std::set<std::string, std::less<>> in_flight_ COFFER_GUARDED_BY(mu_);  // ARNs
  std::deque<RotationInfo> queue_ COFFER_GUARDED_BY(mu_);
  bool wake_ COFFER_GUARDED_BY(mu_) = false;
  bool stopping_ COFFER_GUARDED_BY(mu_) = false;
  bool started_ = false;
  uint64_t watch_id_ = 0;
  std::thread scheduler_;
  std::vector<std::thread> workers_;
};

}  // namespace coffer::domain::secrets
