#include "domain/secrets/schedule.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace coffer::domain::secrets {
namespace {

constexpr int kFirstYear = 1970;
constexpr int kLastYear = 2199;
// How far NextRotationAfter looks for a matching cron day.
constexpr int kMaxCronSearchDays = 366 * 5;

std::unexpected<Error> InvalidParameter(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, std::move(message), Reason::kSecretInvalidParameter);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> Split(std::string_view s, char sep, bool skip_empty) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = s.substr(start, end - start);
    if (!(skip_empty && part.empty())) out.push_back(part);
    start = end + 1;
  }
  return out;
}

struct FieldSpec {
  const char* name;
  int min;
  int max;
  std::vector<std::string_view> names;  // names[i] = value min + i
};

std::optional<int> FieldValue(std::string_view text, const FieldSpec& spec) {
  for (size_t i = 0; i < spec.names.size(); ++i) {
    std::string upper(text);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper == spec.names[i]) return spec.min + static_cast<int>(i);
  }
  auto v = ParseInt(text);
  if (!v || *v < spec.min || *v > spec.max) return std::nullopt;
  return static_cast<int>(*v);
}

// Fills `bits` (indexed by value - offset) from one cron field.
template <size_t N>
Status ParseField(std::string_view text, const FieldSpec& spec, int offset, std::bitset<N>& bits,
                  bool* any) {
  if (any) *any = false;
  if (text == "?") {
    if (!any)
      return InvalidParameter(std::string("'?' is not allowed in the ") + spec.name +
                              " field of the cron expression.");
    *any = true;
    for (int v = spec.min; v <= spec.max; ++v) bits.set(static_cast<size_t>(v - offset));
    return Ok();
  }
  for (std::string_view part : Split(text, ',', false)) {
    std::string_view range = part;
    int step = 1;
    size_t slash = part.find('/');
    if (slash != std::string_view::npos) {
      auto s = ParseInt(part.substr(slash + 1));
      if (!s || *s < 1 || *s > spec.max) {
        return InvalidParameter(std::string("Invalid step in the ") + spec.name +
                                " field of the cron expression.");
      }
      step = static_cast<int>(*s);
      range = part.substr(0, slash);
    }
    int lo = spec.min;
    int hi = spec.max;
    if (range == "*") {
      if (any && slash == std::string_view::npos) *any = true;
    } else {
      size_t dash = range.find('-');
      auto first = FieldValue(range.substr(0, dash), spec);
      if (!first) {
        return InvalidParameter(std::string("Invalid value in the ") + spec.name +
                                " field of the cron expression.");
      }
      lo = *first;
      hi = slash == std::string_view::npos ? lo : spec.max;
      if (dash != std::string_view::npos) {
        auto last = FieldValue(range.substr(dash + 1), spec);
        if (!last || *last < lo) {
          return InvalidParameter(std::string("Invalid range in the ") + spec.name +
                                  " field of the cron expression.");
        }
        hi = *last;
      }
    }
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<size_t>(v - offset));
  }
  return Ok();
}

Result<CronSpec> ParseCron(std::string_view body) {
  std::vector<std::string_view> fields = Split(Trim(body), ' ', true);
  if (fields.size() != 6) {
    return InvalidParameter(
        "A cron expression needs six fields: minutes hours day-of-month "
        "month day-of-week year.");
  }
  for (std::string_view f : fields) {
    if (f.find_first_of("LW#") != std::string_view::npos) {
      return InvalidParameter("The cron expression uses L, W or #, which are not supported.");
    }
  }
  static const FieldSpec kMinutes{"minutes", 0, 59, {}};
  static const FieldSpec kHours{"hours", 0, 23, {}};
  static const FieldSpec kDom{"day-of-month", 1, 31, {}};
  static const FieldSpec kMonth{
      "month",
      1,
      12,
      {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}};
  static const FieldSpec kDow{
      "day-of-week", 1, 7, {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}};
  static const FieldSpec kYear{"year", kFirstYear, kLastYear, {}};
  CronSpec spec;
  COFFER_RETURN_IF_ERROR(ParseField(fields[0], kMinutes, 0, spec.minutes, nullptr));
  COFFER_RETURN_IF_ERROR(ParseField(fields[1], kHours, 0, spec.hours, nullptr));
  COFFER_RETURN_IF_ERROR(
      ParseField(fields[2], kDom, 0, spec.days_of_month, &spec.any_day_of_month));
  COFFER_RETURN_IF_ERROR(ParseField(fields[3], kMonth, 0, spec.months, nullptr));
  COFFER_RETURN_IF_ERROR(ParseField(fields[4], kDow, 0, spec.days_of_week, &spec.any_day_of_week));
  COFFER_RETURN_IF_ERROR(ParseField(fields[5], kYear, kFirstYear, spec.years, nullptr));
  if (fields[2] != "?" && fields[4] != "?") {
    return InvalidParameter(
        "A cron expression must use '?' in either the day-of-month or the day-of-week field.");
  }
  return spec;
}

}  // namespace

Result<RotationSchedule> ScheduleAfterDays(int64_t days) {
  if (days < 1 || days > 1000) {
    return InvalidParameter("AutomaticallyAfterDays must be between 1 and 1000.");
  }
  RotationSchedule s;
  s.interval = std::chrono::hours(24 * days);
  return s;
}

Result<RotationSchedule> ParseScheduleExpression(std::string_view expression) {
  std::string_view e = Trim(expression);
  if (e.starts_with("rate(") && e.ends_with(")")) {
    std::vector<std::string_view> words = Split(e.substr(5, e.size() - 6), ' ', true);
    if (words.size() == 2) {
      auto n = ParseInt(words[0]);
      if (n && (words[1] == "day" || words[1] == "days")) return ScheduleAfterDays(*n);
      if (n && (words[1] == "hour" || words[1] == "hours")) {
        if (*n < 4 || *n > 24000) {
          return InvalidParameter("A rate() schedule in hours must be between 4 and 24000 hours.");
        }
        RotationSchedule s;
        s.interval = std::chrono::hours(*n);
        return s;
      }
    }
    return InvalidParameter("Invalid rate() expression: use rate(N days) or rate(N hours).");
  }
  if (e.starts_with("cron(") && e.ends_with(")")) {
    COFFER_ASSIGN_OR_RETURN(CronSpec cron, ParseCron(e.substr(5, e.size() - 6)));
    RotationSchedule s;
    s.cron = cron;
    return s;
  }
  return InvalidParameter("ScheduleExpression must be a rate() or cron() expression.");
}

Status ValidateRotationDuration(std::string_view duration) {
  if (duration.size() >= 2 && duration.back() == 'h') {
    auto n = ParseInt(duration.substr(0, duration.size() - 1));
    if (n && *n >= 1 && *n <= 24) return Ok();
  }
  return InvalidParameter("Duration must be between 1h and 24h, written like 3h.");
}

std::optional<util::SystemTime> NextRotationAfter(const RotationSchedule& schedule,
                                                  util::SystemTime from) {
  using namespace std::chrono;
  if (schedule.interval) return from + duration_cast<system_clock::duration>(*schedule.interval);
  if (!schedule.cron) return std::nullopt;
  const CronSpec& c = *schedule.cron;
  sys_days day = floor<days>(from);
  for (int i = 0; i < kMaxCronSearchDays; ++i, day += days(1)) {
    year_month_day ymd(day);
    int y = static_cast<int>(ymd.year());
    if (y > kLastYear) return std::nullopt;
    if (y < kFirstYear || !c.years.test(static_cast<size_t>(y - kFirstYear))) continue;
    if (!c.months.test(static_cast<unsigned>(ymd.month()))) continue;
    bool dom_ok = c.any_day_of_month || c.days_of_month.test(static_cast<unsigned>(ymd.day()));
    unsigned dow = weekday(day).c_encoding() + 1;  // 1 = Sunday
    bool dow_ok = c.any_day_of_week || c.days_of_week.test(dow);
    if (!dom_ok || !dow_ok) continue;
    for (int h = 0; h < 24; ++h) {
      if (!c.hours.test(static_cast<size_t>(h))) continue;
      for (int m = 0; m < 60; ++m) {
        if (!c.minutes.test(static_cast<size_t>(m))) continue;
        auto t = day + hours(h) + minutes(m);
        if (t > from) {
          return util::SystemTime(duration_cast<system_clock::duration>(t.time_since_epoch()));
        }
      }
    }
  }
  return std::nullopt;
}

}  // namespace coffer::domain::secrets
