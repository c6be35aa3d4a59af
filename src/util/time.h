// Time: the Clock seam (system and steady time, injected everywhere that reads
// time: SigV4 skew, rotation, TTLs, deletion windows, coalescing) and the wire
// formats coffer speaks (epoch float seconds, ISO 8601, SigV4's basic format).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.h"
#include "util/mutex.h"

namespace coffer::util {

using SystemTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;

// Source of time. Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (UTC).
  virtual SystemTime Now() = 0;
  // Monotonic time, for timeouts and intervals.
  virtual SteadyTime SteadyNow() = 0;
};

// The real clocks.
class SystemClock final : public Clock {
 public:
  SystemTime Now() override { return std::chrono::system_clock::now(); }
  SteadyTime SteadyNow() override { return std::chrono::steady_clock::now(); }
};

// A clock that moves only when told to. Thread-safe.
class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(SystemTime start) : now_(start), steady_(SteadyTime{}) {}
  SystemTime Now() override;
  SteadyTime SteadyNow() override;
  void Advance(std::chrono::nanoseconds d);
  void Set(SystemTime t);

 private:
  util::Mutex mu_;
  SystemTime now_ COFFER_GUARDED_BY(mu_);
  SteadyTime steady_ COFFER_GUARDED_BY(mu_);
};

// Milliseconds since the Unix epoch.
int64_t ToUnixMillis(SystemTime t);
SystemTime FromUnixMillis(int64_t ms);

// Epoch seconds with millisecond fraction, as AWS JSON protocols send timestamps.
double ToEpochSeconds(SystemTime t);

// "2026-11-28T09:00:00Z" (seconds precision, UTC), as the query protocols send.
std::string FormatIso8601(SystemTime t);
// "2026-11-28T09:00:00.123Z".
std::string FormatIso8601Millis(SystemTime t);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" and "+00:00"-style offsets.
// kInvalidArgument (kMalformedInput) when it does not match.
Result<SystemTime> ParseIso8601(std::string_view text);

// RFC 9110's IMF-fixdate, the HTTP Date header: "Sat, 28 Nov 2026 09:10:57 GMT".
std::string FormatHttpDate(SystemTime t);

// SigV4's basic format "20261128T091057Z".
std::string FormatAmzDate(SystemTime t);
Result<SystemTime> ParseAmzDate(std::string_view text);

}  // namespace coffer::util
