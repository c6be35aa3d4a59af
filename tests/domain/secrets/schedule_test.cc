#include "domain/secrets/schedule.h"

#include <gtest/gtest.h>

namespace coffer::domain::secrets {
namespace {

using namespace std::chrono;

util::SystemTime At(int y, unsigned m, unsigned d, int h, int min) {
  return sys_days(year(y) / month(m) / day(d)) + hours(h) + minutes(min);
}

// rate() in days and hours is a fixed interval.
TEST(ScheduleTest, RateIsAnInterval) {
  auto s = ParseScheduleExpression("rate(10 days)");
  ASSERT_TRUE(s.has_value());
  util::SystemTime t = At(2027, 1, 1, 12, 0);
  EXPECT_EQ(NextRotationAfter(*s, t), t + hours(240));
  s = ParseScheduleExpression("rate(4 hours)");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(NextRotationAfter(*s, t), t + hours(4));
}

// cron() picks the next matching minute strictly after the start.
TEST(ScheduleTest, CronFindsNextMatch) {
  auto s = ParseScheduleExpression("cron(0 16 1,15 * ? *)");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(NextRotationAfter(*s, At(2027, 1, 1, 12, 0)), At(2027, 1, 1, 16, 0));
  EXPECT_EQ(NextRotationAfter(*s, At(2027, 1, 1, 16, 0)), At(2027, 1, 15, 16, 0));
  s = ParseScheduleExpression("cron(30 2 ? * MON *)");  // 2027-01-04 is a Monday
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(NextRotationAfter(*s, At(2027, 1, 1, 0, 0)), At(2027, 1, 4, 2, 30));
  s = ParseScheduleExpression("cron(0 0 1 1 ? 2020)");
  ASSERT_TRUE(s.has_value());
  EXPECT_FALSE(NextRotationAfter(*s, At(2027, 1, 1, 0, 0)).has_value());
}

// Malformed expressions and durations fail with kSecretInvalidParameter.
TEST(ScheduleTest, InvalidExpressionsFail) {
  for (const char* bad :
       {"rate(0 days)", "rate(1001 days)", "rate(3 hours)", "rate(5 weeks)", "cron(0 16 1 * * *)",
        "cron(0 16 L * ? *)", "cron(0 16 1 *)", "every day", "cron(61 0 ? * * *)"}) {
    auto r = ParseScheduleExpression(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().reason, Reason::kSecretInvalidParameter) << bad;
  }
  EXPECT_TRUE(ValidateRotationDuration("3h").has_value());
  EXPECT_FALSE(ValidateRotationDuration("25h").has_value());
  EXPECT_FALSE(ValidateRotationDuration("3").has_value());
}

}  // namespace
}  // namespace coffer::domain::secrets
