#include "domain/secrets/rotation.h"

#include <algorithm>
#include <utility>

#include "domain/secrets/internal/records.h"
#include "util/log.h"

namespace coffer::domain::secrets {
namespace {

constexpr RotationStep kSteps[] = {RotationStep::kCreateSecret, RotationStep::kSetSecret,
                                   RotationStep::kTestSecret, RotationStep::kFinishSecret};

// Watch-triggered scans run at most this often (hooks' own writes wake the
// engine too).
constexpr std::chrono::milliseconds kMinScanGap{200};

constexpr std::string_view kStartedTotal = "coffer_rotations_started_total";
constexpr std::string_view kRotationsTotal = "coffer_rotations_total";
constexpr std::string_view kStepFailures = "coffer_rotation_step_failures_total";
constexpr std::string_view kStepSeconds = "coffer_rotation_step_seconds";
constexpr std::string_view kFailing = "coffer_rotations_failing";
constexpr std::string_view kConsecutive = "coffer_rotation_consecutive_failures";

std::string Label(std::string_view key, std::string_view value) {
  std::string out(key);
  out += "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
  return out;
}

// The version holding `stage`, if any.
std::optional<std::string> Holder(const SecretDescription& d, std::string_view stage) {
  for (const auto& [id, stages] : d.version_ids_to_stages) {
    if (std::find(stages.begin(), stages.end(), stage) != stages.end()) return id;
  }
  return std::nullopt;
}

}  // namespace

std::string_view RotationStepName(RotationStep step) {
  switch (step) {
    case RotationStep::kCreateSecret:
      return "createSecret";
    case RotationStep::kSetSecret:
      return "setSecret";
    case RotationStep::kTestSecret:
      return "testSecret";
    case RotationStep::kFinishSecret:
      return "finishSecret";
  }
  return "unknown";
}

RotationEngine::RotationEngine(SecretStore& store, storage::Backend& backend,
                               RotationInvoker& invoker, util::Clock& clock,
                               util::IdGenerator& ids, util::Metrics& metrics,
                               RotationOptions options)
    : store_(store),
      backend_(backend),
      invoker_(invoker),
      clock_(clock),
      ids_(ids),
      metrics_(metrics),
      options_(std::move(options)) {
  metrics_.Describe(kStartedTotal, "counter",
                    "Secret rotations started, by trigger (schedule: NextRotationDate passed; "
                    "pending: an AWSPENDING version from RotateSecret or an earlier attempt).");
  metrics_.Describe(kRotationsTotal, "counter",
                    "Secret rotation attempts by outcome (succeeded, failed, cancelled).");
  metrics_.Describe(kStepFailures, "counter", "Failed rotation hook steps, by step.");
  metrics_.Describe(kStepSeconds, "histogram", "Duration of rotation hook steps, by step.");
  metrics_.Describe(kFailing, "gauge", "Secrets whose last rotation attempt failed.");
  metrics_.Describe(kConsecutive, "gauge",
                    "Consecutive failed rotation attempts of a secret (0 after a success).");
  metrics_.Set(kFailing, "", 0);
}

RotationEngine::~RotationEngine() { Stop(); }

void RotationEngine::Start() {
  if (started_) return;
  started_ = true;
  std::string head_prefix(internal::kHeadPrefix);
  watch_id_ = backend_.Watch([this, head_prefix](const std::vector<storage::Event>& events) {
    for (const storage::Event& e : events) {
      if (e.key.starts_with(head_prefix)) {
        Wake();
        return;
      }
    }
  });
  scheduler_ = std::thread([this] { SchedulerLoop(); });
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
}

void RotationEngine::Stop() {
  if (!started_) return;
  backend_.Unwatch(watch_id_);
  {
    util::MutexLock lock(mu_);
    stopping_ = true;
  }
  scheduler_cv_.NotifyAll();
  worker_cv_.NotifyAll();
  if (scheduler_.joinable()) scheduler_.join();
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  started_ = false;
}

void RotationEngine::Wake() {
  {
    util::MutexLock lock(mu_);
    wake_ = true;
  }
  scheduler_cv_.NotifyAll();
}

std::optional<RotationStatus> RotationEngine::StatusOf(std::string_view arn) const {
  util::MutexLock lock(mu_);
  auto it = status_.find(arn);
  if (it == status_.end()) return std::nullopt;
  return it->second;
}

Result<RotationEngine::Plan> RotationEngine::Collect(util::SystemTime now, bool skip_in_flight) {
  // Secrets due now, plus those due within one check interval (their dates set
  // the next wake-up, so a scheduled rotation starts on time).
  COFFER_ASSIGN_OR_RETURN(std::vector<RotationInfo> list,
                          store_.ListRotationsDue(now + options_.check_interval));
  Plan plan;
  auto wake_at = [&](util::SystemTime t) {
    if (!plan.next_wake || t < *plan.next_wake) plan.next_wake = t;
  };
  std::set<std::string, std::less<>> seen;
  std::vector<std::string> forgotten;  // names whose failure gauge goes back to 0
  util::MutexLock lock(mu_);
  for (RotationInfo& info : list) {
    seen.insert(info.arn);
    if (skip_in_flight && in_flight_.contains(info.arn)) continue;
    bool pending = info.pending_version_id.has_value();
    auto st = status_.find(info.arn);
    if (st != status_.end() && st->second.retry_at && *st->second.retry_at > now) {
      // The backoff holds for the same rotation (or a start that failed).
      bool same = pending ? st->second.token == *info.pending_version_id : st->second.token.empty();
      if (same) {
        wake_at(*st->second.retry_at);
        continue;
      }
    }
    if (pending || (info.next_rotation && *info.next_rotation <= now)) {
      plan.due.push_back(std::move(info));
    } else if (info.next_rotation) {
      wake_at(*info.next_rotation);
    }
  }
  // Secrets no longer rotating (cancelled, deleted, disabled): drop their state.
  for (auto it = status_.begin(); it != status_.end();) {
    if (!seen.contains(it->first) && !in_flight_.contains(it->first)) {
      metrics_.Set(kConsecutive, Label("secret", it->second.arn), 0);
      it = status_.erase(it);
    } else {
      ++it;
    }
  }
  UpdateFailingGauge();
  return plan;
}

Result<int> RotationEngine::RunDue() {
  COFFER_ASSIGN_OR_RETURN(Plan plan, Collect(clock_.Now(), /*skip_in_flight=*/false));
  for (const RotationInfo& info : plan.due) RotateOne(info);
  return static_cast<int>(plan.due.size());
}

void RotationEngine::RotateOne(const RotationInfo& info) {
  std::string token;
  std::string_view trigger = "pending";
  if (info.pending_version_id) {
    token = *info.pending_version_id;
  } else {
    // A scheduled rotation: create the AWSPENDING placeholder as RotateSecret
    // does (it also moves NextRotationDate on by one period).
    RotateSecretRequest request;
    request.secret_id = info.arn;
    request.client_request_token = ids_.NewUuid();
    request.rotate_immediately = true;
    auto started = store_.RotateSecret(request);
    if (!started) {
      if (started.error().reason == Reason::kRotationInProgress) return;  // next scan resumes it
      if (started.error().code == ErrorCode::kNotFound) {
        Forget(info.arn);
        return;
      }
      RecordFailure(info, "", std::nullopt, RotationStep::kCreateSecret,
                    "could not start the scheduled rotation: " + started.error().message);
      return;
    }
    token = started->version_id.value_or("");
    trigger = "schedule";
  }
  metrics_.Increment(kStartedTotal, Label("trigger", trigger));

  RotationStep start = RotationStep::kCreateSecret;
  {
    util::MutexLock lock(mu_);
    auto it = status_.find(info.arn);
    if (it != status_.end() && it->second.token == token) start = it->second.next_step;
  }

  // The labels before any step runs: AWSCURRENT must still be here until
  // testSecret has passed.
  auto before = store_.DescribeSecret(info.arn);
  if (!before) {
    RecordFailure(info, token, std::nullopt, start,
                  "cannot read the secret: " + before.error().message);
    return;
  }
  std::optional<std::string> current0 = Holder(*before, kStageCurrent);
  std::optional<std::string> previous0 = Holder(*before, kStagePrevious);

  for (RotationStep step : kSteps) {
    if (static_cast<int>(step) < static_cast<int>(start)) continue;
    auto now_info = store_.GetRotation(info.arn);
    if (!now_info) {
      if (now_info.error().code == ErrorCode::kNotFound) {
        metrics_.Increment(kRotationsTotal, Label("outcome", "cancelled"));
        Forget(info.arn);
        return;
      }
      RecordFailure(info, token, step, step,
                    "cannot read the rotation state: " + now_info.error().message);
      return;
    }
    if (!now_info->rotation_enabled || now_info->pending_version_id != token) {
      // CancelRotateSecret, a newer RotateSecret, or someone finished it.
      util::LogInfo("secret rotation stopped: no longer pending",
                    {{"secret", info.arn}, {"version_id", token},
                     {"step", RotationStepName(step)}});
      metrics_.Increment(kRotationsTotal, Label("outcome", "cancelled"));
      Forget(info.arn);
      return;
    }
    RotationStepCall call;
    call.hook = now_info->hook;
    call.secret_arn = info.arn;
    call.secret_name = info.name;
    call.token = token;
    call.step = step;
    call.timeout = options_.step_timeout;
    util::SteadyTime t0 = clock_.SteadyNow();
    Status done = invoker_.Invoke(call);
    metrics_.Observe(kStepSeconds, Label("step", RotationStepName(step)),
                     std::chrono::duration<double>(clock_.SteadyNow() - t0).count());
    if (!done) {
      RecordFailure(info, token, step, step, done.error().message);
      return;
    }
    if (step == RotationStep::kFinishSecret) break;

    // Never promote before testSecret: put AWSCURRENT (and AWSPREVIOUS) back
    // if the hook moved it.
    auto after = store_.DescribeSecret(info.arn);
    if (!after) {
      RecordFailure(info, token, step, step,
                    "cannot read the secret after the step: " + after.error().message);
      return;
    }
    std::optional<std::string> current = Holder(*after, kStageCurrent);
    if (current != current0) {
      std::string message = "the hook moved AWSCURRENT during " +
                            std::string(RotationStepName(step)) +
                            ", before testSecret passed";
      bool restored = false;
      if (current0 && current) {
        UpdateStageRequest back;
        back.secret_id = info.arn;
        back.version_stage = std::string(kStageCurrent);
        back.remove_from_version_id = *current;
        back.move_to_version_id = *current0;
        restored = store_.UpdateSecretVersionStage(back).has_value();
        if (restored) {
          auto now_desc = store_.DescribeSecret(info.arn);
          std::optional<std::string> previous =
              now_desc ? Holder(*now_desc, kStagePrevious) : std::nullopt;
          if (now_desc && previous != previous0) {
            UpdateStageRequest prev;
            prev.secret_id = info.arn;
            prev.version_stage = std::string(kStagePrevious);
            prev.remove_from_version_id = previous;
            prev.move_to_version_id = previous0;
            auto moved = store_.UpdateSecretVersionStage(prev);
            if (!moved.has_value()) {
              util::LogWarn("AWSPREVIOUS could not be moved back after a failed rotation",
                            {{"secret", info.arn}, {"error", moved.error().message}});
            }
          }
        }
      }
      message += restored ? "; it was moved back" : "; it could not be moved back";
      RecordFailure(info, token, step, RotationStep::kCreateSecret, message);
      return;
    }
  }

  auto final_state = store_.GetRotation(info.arn);
  if (!final_state || final_state->current_version_id != token) {
    RecordFailure(info, token, RotationStep::kFinishSecret, RotationStep::kFinishSecret,
                  "finishSecret reported success but AWSCURRENT is not on version " + token);
    return;
  }
  if (Status marked = store_.MarkRotated(info.arn, clock_.Now()); !marked) {
    util::LogWarn("secret rotated but LastRotatedDate not recorded",
                  {{"secret", info.arn}, {"error", marked.error().message}});
  }
  util::LogInfo("secret rotated", {{"secret", info.arn}, {"version_id", token},
                                   {"trigger", trigger}});
  RecordSuccess(info);
}

void RotationEngine::RecordFailure(const RotationInfo& info, const std::string& token,
                                   std::optional<RotationStep> step, RotationStep resume_at,
                                   const std::string& message) {
  util::SystemTime now = clock_.Now();
  int failures = 0;
  std::chrono::seconds backoff = options_.retry_min;
  {
    util::MutexLock lock(mu_);
    RotationStatus& st = status_[info.arn];
    if (st.arn.empty() || st.token != token) {
      st = RotationStatus{};
      st.arn = info.arn;
      st.token = token;
    }
    failures = ++st.consecutive_failures;
    st.failed_step = step;
    st.next_step = resume_at;
    st.last_error = message;
    for (int i = 1; i < failures && backoff < options_.retry_max; ++i) backoff *= 2;
    backoff = std::min(backoff, options_.retry_max);
    st.retry_at = now + backoff;
    UpdateFailingGauge();
  }
  metrics_.Set(kConsecutive, Label("secret", info.arn), failures);
  metrics_.Increment(kRotationsTotal, Label("outcome", "failed"));
  if (step) metrics_.Increment(kStepFailures, Label("step", RotationStepName(*step)));
  util::LogWarn("secret rotation failed",
                {{"secret", info.arn},
                 {"version_id", token},
                 {"step", step ? RotationStepName(*step) : std::string_view("start")},
                 {"attempt", failures},
                 {"retry_in_seconds", static_cast<int64_t>(backoff.count())},
                 {"error", message}});
}

void RotationEngine::RecordSuccess(const RotationInfo& info) {
  Forget(info.arn);
  metrics_.Increment(kRotationsTotal, Label("outcome", "succeeded"));
}

void RotationEngine::Forget(const std::string& arn) {
  bool had_failures = false;
  {
    util::MutexLock lock(mu_);
    auto it = status_.find(arn);
    if (it != status_.end()) {
      had_failures = it->second.consecutive_failures > 0;
      status_.erase(it);
    }
    UpdateFailingGauge();
  }
  if (had_failures) metrics_.Set(kConsecutive, Label("secret", arn), 0);
}

void RotationEngine::UpdateFailingGauge() {
  int64_t failing = 0;
  for (const auto& [arn, st] : status_) failing += st.consecutive_failures > 0 ? 1 : 0;
  metrics_.Set(kFailing, "", failing);
}

void RotationEngine::SchedulerLoop() {
  util::MutexLock lock(mu_);
  while (!stopping_) {
    wake_ = false;
    lock.Unlock();
    util::SystemTime now = clock_.Now();
    std::chrono::milliseconds sleep = options_.check_interval;
    auto plan = Collect(now, /*skip_in_flight=*/true);
    if (!plan) {
      util::LogWarn("listing due secret rotations failed", {{"error", plan.error().message}});
    }
    lock.Lock();
    if (plan) {
      for (RotationInfo& info : plan->due) {
        if (in_flight_.insert(info.arn).second) queue_.push_back(std::move(info));
      }
      if (!queue_.empty()) worker_cv_.NotifyAll();
      if (plan->next_wake) {
        auto until = std::chrono::ceil<std::chrono::milliseconds>(*plan->next_wake - now);
        sleep = std::clamp(until, std::chrono::milliseconds(1), sleep);
      }
    }
    // TODO(rotation): a wake-up from the storage watch rescans every secret
    // (ListRotationsDue); look only at the secrets the events name (#3).
    auto scanned = std::chrono::steady_clock::now();
    scheduler_cv_.WaitFor(lock, sleep,
                          [this]() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || wake_; });
    // Coalesce bursts of writes into one scan.
    if (!stopping_ && wake_) {
      scheduler_cv_.WaitUntil(lock, scanned + kMinScanGap,
                              [this]() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; });
    }
  }
}

void RotationEngine::WorkerLoop() {
  util::MutexLock lock(mu_);
  for (;;) {
    worker_cv_.Wait(lock, [this]() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || !queue_.empty();
    });
    if (stopping_) return;
    RotationInfo info = std::move(queue_.front());
    queue_.pop_front();
    lock.Unlock();
    RotateOne(info);
    lock.Lock();
    in_flight_.erase(info.arn);
    wake_ = true;
    scheduler_cv_.NotifyAll();
  }
}

}  // namespace coffer::domain::secrets
