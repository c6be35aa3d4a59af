#include "util/time.h"

#include <cstdio>
#include <ctime>

namespace coffer::util {
namespace {

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

std::tm ToTm(SystemTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::seconds>(t));
  if (t < std::chrono::system_clock::from_time_t(secs)) --secs;  // floor for negatives
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

Result<SystemTime> FromFields(int y, int mo, int d, int h, int mi, int s, int ms) {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return Fail(ErrorCode::kInvalidArgument, "timestamp field out of range",
                Reason::kMalformedInput);
  }
  std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                  std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) {
    return Fail(ErrorCode::kInvalidArgument, "invalid calendar date", Reason::kMalformedInput);
  }
  auto days = std::chrono::sys_days(ymd);
  return SystemTime(days) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(s) + std::chrono::milliseconds(ms);
}

}  // namespace

SystemTime SimulatedClock::Now() {
  util::MutexLock lock(mu_);
  return now_;
}
SteadyTime SimulatedClock::SteadyNow() {
  util::MutexLock lock(mu_);
  return steady_;
}
void SimulatedClock::Advance(std::chrono::nanoseconds d) {
  util::MutexLock lock(mu_);
  now_ += std::chrono::duration_cast<SystemTime::duration>(d);
  steady_ += std::chrono::duration_cast<SteadyTime::duration>(d);
}
void SimulatedClock::Set(SystemTime t) {
  util::MutexLock lock(mu_);
  if (t > now_) steady_ += std::chrono::duration_cast<SteadyTime::duration>(t - now_);
  now_ = t;
}

int64_t ToUnixMillis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
SystemTime FromUnixMillis(int64_t ms) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

double ToEpochSeconds(SystemTime t) { return static_cast<double>(ToUnixMillis(t)) / 1000.0; }

std::string FormatIso8601(SystemTime t) {
  std::tm tm = ToTm(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string FormatIso8601Millis(SystemTime t) {
  std::tm tm = ToTm(t);
  int64_t ms = ToUnixMillis(t) % 1000;
  if (ms < 0) ms += 1000;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

Result<SystemTime> ParseIso8601(std::string_view s) {
  int y, mo, d, h, mi, sec, ms = 0;
  if (!ParseDigits(s, 0, 4, &y) || s.size() < 19 || s[4] != '-' || !ParseDigits(s, 5, 2, &mo) ||
      s[7] != '-' || !ParseDigits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !ParseDigits(s, 11, 2, &h) || s[13] != ':' || !ParseDigits(s, 14, 2, &mi) || s[16] != ':' ||
      !ParseDigits(s, 17, 2, &sec)) {
    return Fail(ErrorCode::kInvalidArgument, "timestamp is not ISO 8601", Reason::kMalformedInput);
  }
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) ms = ms * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) {
      return Fail(ErrorCode::kInvalidArgument, "timestamp is not ISO 8601",
                  Reason::kMalformedInput);
    }
    for (int i = digits; i < 3; ++i) ms *= 10;
  }
  int offset_minutes = 0;
  std::string_view rest = s.substr(pos);
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int oh, om;
    if (!ParseDigits(rest, 1, 2, &oh) || !ParseDigits(rest, 4, 2, &om) || oh > 23 || om > 59) {
      return Fail(ErrorCode::kInvalidArgument, "timestamp is not ISO 8601",
                  Reason::kMalformedInput);
    }
    offset_minutes = (oh * 60 + om) * (rest[0] == '-' ? -1 : 1);
  } else {
    return Fail(ErrorCode::kInvalidArgument, "timestamp is not ISO 8601", Reason::kMalformedInput);
  }
  COFFER_ASSIGN_OR_RETURN(SystemTime t, FromFields(y, mo, d, h, mi, sec, ms));
  return t - std::chrono::minutes(offset_minutes);
}

std::string FormatHttpDate(SystemTime t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = ToTm(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7],
                tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string FormatAmzDate(SystemTime t) {
  std::tm tm = ToTm(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

Result<SystemTime> ParseAmzDate(std::string_view s) {
  int y, mo, d, h, mi, sec;
  if (s.size() != 16 || !ParseDigits(s, 0, 4, &y) || !ParseDigits(s, 4, 2, &mo) ||
      !ParseDigits(s, 6, 2, &d) || s[8] != 'T' || !ParseDigits(s, 9, 2, &h) ||
      !ParseDigits(s, 11, 2, &mi) || !ParseDigits(s, 13, 2, &sec) || s[15] != 'Z') {
    return Fail(ErrorCode::kInvalidArgument, "X-Amz-Date is not in YYYYMMDD'T'HHMMSS'Z' form",
                Reason::kMalformedInput);
  }
  return FromFields(y, mo, d, h, mi, sec, 0);
}

}  // namespace coffer::util
