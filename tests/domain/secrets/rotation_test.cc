#include "domain/secrets/rotation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "domain/kms/key_directory.h"
#include "keyring/keyring.h"
#include "storage/memory/memory_backend.h"
#include "util/id_generator.h"
#include "util/metrics.h"
#include "util/time.h"
#include "support/domain_fixture.h"
#include "support/matchers.h"

namespace coffer::domain::secrets {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr char kTokenA[] = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
constexpr char kTokenB[] = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
constexpr char kTokenC[] = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
constexpr char kHook[] = "/usr/local/bin/rotate-hook";

using Stages = std::vector<std::string>;

struct Call {
  std::string secret_arn;
  std::string token;
  RotationStep step;
  bool operator==(const Call&) const = default;
};

// A stand-in for the hook process only: it does what AWS's rotation template
// does, through the real SecretStore (createSecret puts a new AWSPENDING value,
// finishSecret moves AWSCURRENT), and can be told to fail or misbehave.
class ScriptedHook final : public RotationInvoker {
 public:
  explicit ScriptedHook(SecretStore& store) : store_(store) {}

  Status Invoke(const RotationStepCall& call) override {
    {
      std::lock_guard lock(mu_);
      calls_.push_back({call.secret_arn, call.token, call.step});
      last_hook_ = call.hook;
    }
    Status result = Run(call);
    {
      std::lock_guard lock(mu_);
      if (call.step == RotationStep::kFinishSecret && result) ++finished_;
    }
    cv_.notify_all();
    return result;
  }

  std::vector<Call> TakeCalls() {
    std::lock_guard lock(mu_);
    return std::exchange(calls_, {});
  }
  std::string last_hook() {
    std::lock_guard lock(mu_);
    return last_hook_;
  }
  // Waits until `n` finishSecret calls succeeded (bounded, so a broken engine
  // fails the test instead of hanging it).
  bool WaitFinished(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, seconds(60), [&] { return finished_ >= n; });
  }

  int fail_test_times = 0;          // testSecret fails this many times
  bool fail_test_always = false;
  bool move_current_in_set = false;  // a buggy hook: promotes during setSecret
  bool finish_is_noop = false;       // a buggy hook: reports success, moves nothing

 private:
  Status Run(const RotationStepCall& call) {
    switch (call.step) {
      case RotationStep::kCreateSecret: {
        if (store_.GetSecretValue(call.secret_arn, call.token, "AWSPENDING")) return Ok();
        PutSecretValueRequest put;
        put.secret_id = call.secret_arn;
        put.client_request_token = call.token;
        put.value = SecretValue{false, SecretBytes("value-" + call.token)};
        put.version_stages = Stages{"AWSPENDING"};
        COFFER_RETURN_IF_ERROR(store_.PutSecretValue(put));
        return Ok();
      }
      case RotationStep::kSetSecret:
        if (move_current_in_set) {
          auto d = store_.DescribeSecret(call.secret_arn);
          std::string current;
          for (const auto& [id, stages] : d->version_ids_to_stages) {
            if (std::find(stages.begin(), stages.end(), "AWSCURRENT") != stages.end()) current = id;
          }
          COFFER_RETURN_IF_ERROR(store_.UpdateSecretVersionStage(
              {call.secret_arn, "AWSCURRENT", current, call.token}));
        }
        return Ok();
      case RotationStep::kTestSecret:
        if (fail_test_always || fail_test_times > 0) {
          if (fail_test_times > 0) --fail_test_times;
          return Fail(ErrorCode::kAborted, "hook exited with status 1: test login refused");
        }
        return Ok();
      case RotationStep::kFinishSecret: {
        if (finish_is_noop) return Ok();
        auto info = store_.GetRotation(call.secret_arn);
        if (!info) return Fail(info.error());
        if (info->current_version_id == call.token) return Ok();
        COFFER_RETURN_IF_ERROR(store_.UpdateSecretVersionStage(
            {call.secret_arn, "AWSCURRENT", info->current_version_id, call.token}));
        return Ok();
      }
    }
    return Ok();
  }

  SecretStore& store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
  std::string last_hook_;
  int finished_ = 0;
};

class RotationEngineTest : public testing::DomainTest {
 protected:
  void SetUp() override {
    DomainTest::SetUp();
    if (HasFatalFailure()) return;
    hook_ = std::make_unique<ScriptedHook>(*store_);
    options_.retry_min = seconds(30);
    options_.retry_max = seconds(300);
    options_.check_interval = seconds(60);
    engine_ = MakeEngine();
  }

  std::unique_ptr<RotationEngine> MakeEngine() {
    return std::make_unique<RotationEngine>(*store_, backend_, *hook_, clock_, ids_, metrics_,
                                            options_);
  }

  // A secret with value "v0" under AWSCURRENT (version kTokenA); returns its ARN.
  std::string CreateSecret(const std::string& name) {
    CreateSecretRequest req;
    req.name = name;
    req.client_request_token = kTokenA;
    req.value = SecretValue{false, SecretBytes("v0")};
    auto ref = store_->CreateSecret(req);
    EXPECT_TRUE(ref.has_value());
    return ref ? ref->arn : "";
  }

  Result<SecretRef> Rotate(const std::string& id, std::optional<std::string> token,
                           std::optional<RotationRules> rules, bool immediately = true) {
    RotateSecretRequest req;
    req.secret_id = id;
    req.client_request_token = std::move(token);
    req.rotation_hook = kHook;
    req.rules = std::move(rules);
    req.rotate_immediately = immediately;
    return store_->RotateSecret(req);
  }

  static RotationRules Days(int64_t n) {
    RotationRules r;
    r.automatically_after_days = n;
    return r;
  }

  std::optional<std::string> HolderOf(const std::string& id, std::string_view stage) {
    auto d = store_->DescribeSecret(id);
    if (!d) return std::nullopt;
    for (const auto& [version, stages] : d->version_ids_to_stages) {
      if (std::find(stages.begin(), stages.end(), stage) != stages.end()) return version;
    }
    return std::nullopt;
  }

  static std::vector<Call> Steps(const std::string& arn, const std::string& token,
                                 std::vector<RotationStep> steps) {
    std::vector<Call> out;
    for (RotationStep s : steps) out.push_back({arn, token, s});
    return out;
  }

  int RunDue() {
    auto n = engine_->RunDue();
    EXPECT_TRUE(n.has_value());
    return n.value_or(-1);
  }

  storage::memory::MemoryBackend& backend_ = domain_.memory;
  util::SimulatedClock& clock_ = domain_.clock;
  util::SequentialIdGenerator& ids_ = domain_.ids;
  util::Metrics metrics_;
  std::unique_ptr<SecretStore>& store_ = domain_.secrets;
  std::unique_ptr<ScriptedHook> hook_;
  RotationOptions options_;
  std::unique_ptr<RotationEngine> engine_;
};

constexpr RotationStep kCreate = RotationStep::kCreateSecret;
constexpr RotationStep kSet = RotationStep::kSetSecret;
constexpr RotationStep kTest = RotationStep::kTestSecret;
constexpr RotationStep kFinish = RotationStep::kFinishSecret;

// Lambda's step names are what hooks receive.
TEST(RotationStepNameTest, NamesAreLambdasStepValues) {
  EXPECT_EQ(RotationStepName(kCreate), "createSecret");
  EXPECT_EQ(RotationStepName(kSet), "setSecret");
  EXPECT_EQ(RotationStepName(kTest), "testSecret");
  EXPECT_EQ(RotationStepName(kFinish), "finishSecret");
}

// RotateSecret (RotateImmediately) leads to the four steps in order with the
// pending version's id, then AWSCURRENT on the new version and the dates set.
TEST_F(RotationEngineTest, PendingRotationRunsFourStepsInOrderAndPromotes) {
  std::string arn = CreateSecret("db");
  ASSERT_TRUE(Rotate("db", kTokenB, Days(7)).has_value());
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(hook_->TakeCalls(), Steps(arn, kTokenB, {kCreate, kSet, kTest, kFinish}));
  EXPECT_EQ(hook_->last_hook(), kHook);
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenB);
  EXPECT_EQ(HolderOf("db", "AWSPREVIOUS"), kTokenA);
  auto d = store_->DescribeSecret("db");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->last_rotated, clock_.Now());
  EXPECT_EQ(d->next_rotation, clock_.Now() + hours(24 * 7));
  EXPECT_FALSE(engine_->StatusOf(arn).has_value());
  EXPECT_EQ(metrics_.Value("coffer_rotations_total", "outcome=\"succeeded\""), 1);
  EXPECT_EQ(metrics_.Value("coffer_rotations_started_total", "trigger=\"pending\""), 1);
  // Nothing is due any more.
  EXPECT_EQ(RunDue(), 0);
  EXPECT_TRUE(hook_->TakeCalls().empty());
}

// A failing testSecret never reaches finishSecret and leaves AWSCURRENT where
// it was; the failure is recorded (status, metrics) and retried later from
// testSecret with a doubling backoff, then the rotation completes.
TEST_F(RotationEngineTest, FailedTestSecretKeepsCurrentAndRetriesFromThatStepWithBackoff) {
  std::string arn = CreateSecret("db");
  hook_->fail_test_times = 2;
  ASSERT_TRUE(Rotate("db", kTokenB, Days(7)).has_value());
  util::SystemTime t0 = clock_.Now();

  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(hook_->TakeCalls(), Steps(arn, kTokenB, {kCreate, kSet, kTest}));
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenA);
  EXPECT_EQ(HolderOf("db", "AWSPENDING"), kTokenB);
  auto st = engine_->StatusOf(arn);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->token, kTokenB);
  EXPECT_EQ(st->failed_step, kTest);
  EXPECT_EQ(st->next_step, kTest);
  EXPECT_EQ(st->consecutive_failures, 1);
  EXPECT_EQ(st->retry_at, t0 + seconds(30));
  EXPECT_EQ(st->last_error, "hook exited with status 1: test login refused");
  EXPECT_EQ(metrics_.Value("coffer_rotation_step_failures_total", "step=\"testSecret\""), 1);
  EXPECT_EQ(metrics_.Value("coffer_rotations_failing", ""), 1);
  EXPECT_EQ(metrics_.Value("coffer_rotation_consecutive_failures", "secret=\"" + arn + "\""), 1);
  EXPECT_FALSE(store_->DescribeSecret("db")->last_rotated.has_value());

  // Still backing off: nothing runs.
  clock_.Advance(seconds(29));
  EXPECT_EQ(RunDue(), 0);
  EXPECT_TRUE(hook_->TakeCalls().empty());

  // The retry starts at testSecret; it fails again and the backoff doubles.
  clock_.Advance(seconds(1));
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(hook_->TakeCalls(), Steps(arn, kTokenB, {kTest}));
  st = engine_->StatusOf(arn);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->consecutive_failures, 2);
  EXPECT_EQ(st->retry_at, clock_.Now() + seconds(60));
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenA);

  clock_.Advance(seconds(60));
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(hook_->TakeCalls(), Steps(arn, kTokenB, {kTest, kFinish}));
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenB);
  EXPECT_FALSE(engine_->StatusOf(arn).has_value());
  EXPECT_EQ(metrics_.Value("coffer_rotations_failing", ""), 0);
  EXPECT_EQ(metrics_.Value("coffer_rotation_consecutive_failures", "secret=\"" + arn + "\""), 0);
  EXPECT_EQ(metrics_.Value("coffer_rotations_total", "outcome=\"failed\""), 2);
  EXPECT_EQ(metrics_.Value("coffer_rotations_total", "outcome=\"succeeded\""), 1);
}

// The backoff doubles from retry_min and stops growing at retry_max.
TEST_F(RotationEngineTest, BackoffIsCappedAtRetryMax) {
  std::string arn = CreateSecret("db");
  hook_->fail_test_always = true;
  ASSERT_TRUE(Rotate("db", kTokenB, Days(7)).has_value());
  std::vector<seconds> waits;
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(RunDue(), 1);
    auto st = engine_->StatusOf(arn);
    ASSERT_TRUE(st.has_value());
    ASSERT_TRUE(st->retry_at.has_value());
    waits.push_back(std::chrono::duration_cast<seconds>(*st->retry_at - clock_.Now()));
    clock_.Set(*st->retry_at);
  }
  EXPECT_EQ(waits, (std::vector<seconds>{seconds(30), seconds(60), seconds(120), seconds(240),
                                          seconds(300), seconds(300)}));
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenA);
  for (const Call& c : hook_->TakeCalls()) EXPECT_NE(c.step, kFinish);
}

// A scheduled rotation starts by itself once NextRotationDate has passed: the
// engine creates a new AWSPENDING version and runs the steps with its id.
TEST_F(RotationEngineTest, ScheduledRotationStartsWhenNextRotationDatePasses) {
  std::string arn = CreateSecret("db");
  ASSERT_TRUE(Rotate("db", kTokenB, Days(7)).has_value());
  ASSERT_EQ(RunDue(), 1);
  hook_->TakeCalls();
  util::SystemTime first = clock_.Now();

  clock_.Advance(hours(24 * 7) - minutes(1));
  EXPECT_EQ(RunDue(), 0);
  EXPECT_TRUE(hook_->TakeCalls().empty());

  clock_.Advance(minutes(2));
  EXPECT_EQ(RunDue(), 1);
  auto calls = hook_->TakeCalls();
  ASSERT_EQ(calls.size(), 4u);
  std::string token = calls[0].token;
  EXPECT_NE(token, kTokenB);
  EXPECT_EQ(calls, Steps(arn, token, {kCreate, kSet, kTest, kFinish}));
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), token);
  EXPECT_EQ(HolderOf("db", "AWSPREVIOUS"), kTokenB);
  auto d = store_->DescribeSecret("db");
  EXPECT_EQ(d->last_rotated, clock_.Now());
  EXPECT_EQ(d->next_rotation, clock_.Now() + hours(24 * 7));
  EXPECT_GT(*d->last_rotated, first);
  EXPECT_EQ(metrics_.Value("coffer_rotations_started_total", "trigger=\"schedule\""), 1);
}

// A cron() schedule rotates at the matching minutes.
TEST_F(RotationEngineTest, CronScheduleRotatesAtMatchingTimes) {
  std::string arn = CreateSecret("db");
  RotationRules rules;
  rules.schedule_expression = "cron(0 4 * * ? *)";  // 04:00 UTC every day
  ASSERT_TRUE(Rotate("db", std::nullopt, rules, /*immediately=*/false).has_value());
  auto next = store_->DescribeSecret("db")->next_rotation;
  ASSERT_TRUE(next.has_value());
  clock_.Set(*next - seconds(1));
  EXPECT_EQ(RunDue(), 0);
  clock_.Set(*next);
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(hook_->TakeCalls().size(), 4u);
  EXPECT_EQ(store_->DescribeSecret("db")->next_rotation, *next + hours(24));
}

// A hook that moves AWSCURRENT before testSecret has passed is undone:
// AWSCURRENT and AWSPREVIOUS go back, finishSecret is not called, and the
// attempt counts as failed.
TEST_F(RotationEngineTest, HookMovingCurrentBeforeTestIsUndone) {
  std::string arn = CreateSecret("db");
  // Give the secret an AWSPREVIOUS first.
  ASSERT_TRUE(Rotate("db", kTokenB, Days(7)).has_value());
  ASSERT_EQ(RunDue(), 1);
  hook_->TakeCalls();
  ASSERT_EQ(HolderOf("db", "AWSPREVIOUS"), kTokenA);

  hook_->move_current_in_set = true;
  ASSERT_TRUE(Rotate("db", kTokenC, std::nullopt).has_value());
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(hook_->TakeCalls(), Steps(arn, kTokenC, {kCreate, kSet}));
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenB);
  EXPECT_EQ(HolderOf("db", "AWSPREVIOUS"), kTokenA);
  auto st = engine_->StatusOf(arn);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->failed_step, kSet);
  EXPECT_EQ(st->last_error,
            "the hook moved AWSCURRENT during setSecret, before testSecret passed; it was moved "
            "back");
}

// finishSecret that reports success without moving AWSCURRENT is a failure;
// LastRotatedDate stays unset and the retry runs finishSecret again.
TEST_F(RotationEngineTest, FinishWithoutPromotionIsAFailureAndRetriesFinish) {
  std::string arn = CreateSecret("db");
  hook_->finish_is_noop = true;
  ASSERT_TRUE(Rotate("db", kTokenB, Days(7)).has_value());
  EXPECT_EQ(RunDue(), 1);
  hook_->TakeCalls();
  auto st = engine_->StatusOf(arn);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->failed_step, kFinish);
  EXPECT_FALSE(store_->DescribeSecret("db")->last_rotated.has_value());

  hook_->finish_is_noop = false;
  clock_.Advance(seconds(30));
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(hook_->TakeCalls(), Steps(arn, kTokenB, {kFinish}));
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenB);
}

// After a restart (a new engine, no memory of progress) a rotation in progress
// starts again at createSecret, so testSecret runs again before finishSecret.
TEST_F(RotationEngineTest, NewEngineRestartsPendingRotationAtCreateSecret) {
  std::string arn = CreateSecret("db");
  hook_->fail_test_times = 1;
  ASSERT_TRUE(Rotate("db", kTokenB, Days(7)).has_value());
  EXPECT_EQ(RunDue(), 1);
  hook_->TakeCalls();

  engine_ = MakeEngine();
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(hook_->TakeCalls(), Steps(arn, kTokenB, {kCreate, kSet, kTest, kFinish}));
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenB);
}

// CancelRotateSecret stops the retries and the engine forgets the failure.
TEST_F(RotationEngineTest, CancelRotateStopsRetries) {
  std::string arn = CreateSecret("db");
  hook_->fail_test_always = true;
  ASSERT_TRUE(Rotate("db", kTokenB, Days(7)).has_value());
  EXPECT_EQ(RunDue(), 1);
  hook_->TakeCalls();
  ASSERT_TRUE(store_->CancelRotateSecret("db").has_value());
  clock_.Advance(hours(1));
  EXPECT_EQ(RunDue(), 0);
  EXPECT_TRUE(hook_->TakeCalls().empty());
  EXPECT_FALSE(engine_->StatusOf(arn).has_value());
  EXPECT_EQ(metrics_.Value("coffer_rotations_failing", ""), 0);
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenA);
}

// An invoker that cannot run the hook at all (e.g. a Lambda ARN) leaves the
// rotation pending and the failure visible.
TEST_F(RotationEngineTest, UnrunnableHookIsAVisibleFailure) {
  class Refusing final : public RotationInvoker {
   public:
    Status Invoke(const RotationStepCall&) override {
      return Fail(ErrorCode::kFailedPrecondition, "Lambda ARNs cannot be invoked by Coffer");
    }
  } refusing;
  RotationEngine engine(*store_, backend_, refusing, clock_, ids_, metrics_, options_);
  std::string arn = CreateSecret("db");
  ASSERT_TRUE(Rotate("db", kTokenB, Days(7)).has_value());
  ASSERT_TRUE(engine.RunDue().has_value());
  auto st = engine.StatusOf(arn);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->failed_step, kCreate);
  EXPECT_EQ(st->last_error, "Lambda ARNs cannot be invoked by Coffer");
  EXPECT_EQ(HolderOf("db", "AWSPENDING"), kTokenB);
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenA);
}

// In background mode a RotateSecret is picked up without a RunDue call: the
// engine watches storage and wakes up.
TEST_F(RotationEngineTest, BackgroundEngineActsOnRotateSecret) {
  std::string arn = CreateSecret("db");
  engine_->Start();
  ASSERT_TRUE(Rotate("db", kTokenB, Days(7)).has_value());
  ASSERT_TRUE(hook_->WaitFinished(1));
  engine_->Stop();
  EXPECT_EQ(HolderOf("db", "AWSCURRENT"), kTokenB);
  EXPECT_EQ(hook_->TakeCalls(), Steps(arn, kTokenB, {kCreate, kSet, kTest, kFinish}));
}

}  // namespace
}  // namespace coffer::domain::secrets
