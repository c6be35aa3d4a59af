#include "util/time.h"

#include <gtest/gtest.h>

namespace coffer::util {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

// 2026-11-28T09:10:57.123Z
const SystemTime kT = FromUnixMillis(1795857057123);

template <class R>
void ExpectMalformed(const R& r, std::string_view input) {
  ASSERT_FALSE(r.has_value()) << input;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << input;
  EXPECT_EQ(r.error().reason, Reason::kMalformedInput) << input;
}

// Unix millis and epoch seconds convert both ways.
TEST(TimeTest, EpochConversionsAgree) {
  EXPECT_EQ(ToUnixMillis(kT), 1795857057123);
  EXPECT_DOUBLE_EQ(ToEpochSeconds(kT), 1795857057.123);
  EXPECT_DOUBLE_EQ(ToEpochSeconds(FromUnixMillis(0)), 0.0);
  EXPECT_EQ(ToUnixMillis(FromUnixMillis(-1500)), -1500);
}

// ISO 8601 formats with seconds and with milliseconds, in UTC.
TEST(TimeTest, FormatIso8601WritesUtc) {
  EXPECT_EQ(FormatIso8601(kT), "2026-11-28T09:10:57Z");
  EXPECT_EQ(FormatIso8601Millis(kT), "2026-11-28T09:10:57.123Z");
  EXPECT_EQ(FormatIso8601(FromUnixMillis(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIso8601Millis(FromUnixMillis(5)), "1970-01-01T00:00:00.005Z");
  // Before the epoch the fields floor, not truncate.
  EXPECT_EQ(FormatIso8601Millis(FromUnixMillis(-1)), "1969-12-31T23:59:59.999Z");
}

// Parsing accepts Z, fractions of any length and +/-HH:MM offsets.
TEST(TimeTest, ParseIso8601AcceptsZFractionsAndOffsets) {
  EXPECT_EQ(ParseIso8601("2026-11-28T09:10:57.123Z").value(), kT);
  EXPECT_EQ(ParseIso8601("2026-11-28T09:10:57Z").value(), kT - milliseconds(123));
  EXPECT_EQ(ParseIso8601("2026-11-28T09:10:57.1Z").value(), kT - milliseconds(23));
  EXPECT_EQ(ParseIso8601("2026-11-28T09:10:57.123456Z").value(), kT);
  EXPECT_EQ(ParseIso8601("2026-11-28T09:10:57.123+00:00").value(), kT);
  EXPECT_EQ(ParseIso8601("2026-11-28T11:40:57.123+02:30").value(), kT);
  EXPECT_EQ(ParseIso8601("2026-11-28T04:10:57.123-05:00").value(), kT);
  EXPECT_EQ(ParseIso8601(FormatIso8601Millis(kT)).value(), kT);
}

// Anything else fails with kMalformedInput.
TEST(TimeTest, ParseIso8601RejectsMalformedInput) {
  for (std::string_view bad :
       {"", "2026-11-28", "2026-11-28T09:10:57", "2026-11-28T09:10:57.Z", "2026-13-28T09:10:57Z",
        "2026-02-30T09:10:57Z", "2026-11-28T24:00:00Z", "2026-11-28T09:60:00Z",
        "2026-11-28T09:10:57+0200", "2026-11-28T09:10:57+02:00x", "2026/11/28T09:10:57Z",
        "2026-11-28T09:10:57+25:00", "2026-11-28T09:10:57+02:60", "20261128T091057Z"}) {
    ExpectMalformed(ParseIso8601(bad), bad);
  }
}

// The HTTP Date header's IMF-fixdate, with the weekday and month names.
TEST(TimeTest, HttpDateIsImfFixdate) {
  EXPECT_EQ(FormatHttpDate(kT), "Sat, 28 Nov 2026 09:10:57 GMT");
  EXPECT_EQ(FormatHttpDate(ParseIso8601("2015-08-30T12:36:00Z").value()),
            "Sun, 30 Aug 2015 12:36:00 GMT");
}

// SigV4's basic format round trips at second precision.
TEST(TimeTest, AmzDateRoundTrips) {
  EXPECT_EQ(FormatAmzDate(kT), "20261128T091057Z");
  EXPECT_EQ(ParseAmzDate("20261128T091057Z").value(), kT - milliseconds(123));
  EXPECT_EQ(ParseAmzDate("20150830T123600Z").value(), ParseIso8601("2015-08-30T12:36:00Z").value());
}

// Malformed X-Amz-Date values fail with kMalformedInput.
TEST(TimeTest, ParseAmzDateRejectsMalformedInput) {
  for (std::string_view bad :
       {"", "20261128T091057", "20261128091057Z", "2026-11-28T09:10:57Z", "20261128T091057z",
        "20261328T091057Z", "20261128T091057ZZ", "2026112xT091057Z"}) {
    ExpectMalformed(ParseAmzDate(bad), bad);
  }
}

// SimulatedClock moves only when told to, and both clocks move together.
TEST(TimeTest, SimulatedClockAdvancesOnlyWhenTold) {
  SimulatedClock clock(kT);
  EXPECT_EQ(clock.Now(), kT);
  SteadyTime s0 = clock.SteadyNow();
  clock.Advance(seconds(90));
  EXPECT_EQ(clock.Now(), kT + seconds(90));
  EXPECT_EQ(clock.SteadyNow() - s0, seconds(90));
  clock.Set(kT + hours(1));
  EXPECT_EQ(clock.Now(), kT + hours(1));
  EXPECT_EQ(clock.SteadyNow() - s0, hours(1));
  // Setting wall time backwards does not move steady time backwards.
  clock.Set(kT);
  EXPECT_EQ(clock.SteadyNow() - s0, hours(1));
}

}  // namespace
}  // namespace coffer::util
