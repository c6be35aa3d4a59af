// Rotation schedules: Secrets Manager's RotationRules (AutomaticallyAfterDays,
// ScheduleExpression "rate(N days|hours)" / "cron(...)", Duration "Nh") parsed
// into a form that computes the next rotation time. Used by SecretStore for
// NextRotationDate and by the rotation engine.
#pragma once

#include <bitset>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/time.h"

namespace coffer::domain::secrets {

// AWS's cron: cron(minutes hours day-of-month month day-of-week year), all in
// UTC; day-of-week 1-7 = SUN-SAT; one of the two day fields is "?".
// Supported per field: *, ?, N, N-M, lists, and /step; month and weekday names.
struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // 1..31
  std::bitset<13> months;         // 1..12
  std::bitset<8> days_of_week;    // 1..7, 1 = Sunday
  bool any_day_of_month = true;
  bool any_day_of_week = true;
  std::bitset<230> years;  // 1970..2199
};

struct RotationSchedule {
  // Either a fixed interval (AutomaticallyAfterDays, rate()) or a cron spec.
  std::optional<std::chrono::seconds> interval;
  std::optional<CronSpec> cron;
};

// Parses "rate(N day|days)" (N 1..1000), "rate(N hour|hours)" (N 4..24000) or
// "cron(...)". kInvalidArgument (kSecretInvalidParameter) naming what is wrong.
Result<RotationSchedule> ParseScheduleExpression(std::string_view expression);

// AutomaticallyAfterDays N: an interval of N days. kInvalidArgument
// (kSecretInvalidParameter) unless 1 <= N <= 1000.
Result<RotationSchedule> ScheduleAfterDays(int64_t days);

// "Nh" with N 1..24. kInvalidArgument (kSecretInvalidParameter) otherwise.
Status ValidateRotationDuration(std::string_view duration);

// The first rotation time strictly after `from`; nullopt when a cron spec never
// matches again (e.g. its years are past).
std::optional<util::SystemTime> NextRotationAfter(const RotationSchedule& schedule,
                                                  util::SystemTime from);

}  // namespace coffer::domain::secrets
