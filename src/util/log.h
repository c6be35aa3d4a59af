// Logging front: one JSON object per line, written through spdlog (which only
// this module includes). Fields are typed values; SecretBytes is not one of
// them, so a secret cannot be passed to the logger by accident (the overload
// is deleted), and strings are escaped, never interpreted.
//
// The logger is the one process-wide sink, configured once by main/ through
// InitLogging() before threads start; the Log* functions are thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "util/secret_bytes.h"

namespace coffer::util {

enum class LogLevel { kDebug, kInfo, kWarn, kError, kOff };

struct LogValue {
  LogValue(std::string_view v) : value(v) {}
  LogValue(const std::string& v) : value(std::string_view(v)) {}
  LogValue(const char* v) : value(std::string_view(v)) {}
  LogValue(int v) : value(static_cast<int64_t>(v)) {}
  LogValue(long v) : value(static_cast<int64_t>(v)) {}
  LogValue(long long v) : value(static_cast<int64_t>(v)) {}
  LogValue(unsigned v) : value(static_cast<int64_t>(v)) {}
  LogValue(unsigned long v) : value(static_cast<int64_t>(v)) {}
  LogValue(unsigned long long v) : value(static_cast<int64_t>(v)) {}
  LogValue(double v) : value(v) {}
  LogValue(bool v) : value(v) {}
  LogValue(const SecretBytes&) = delete;  // secrets are never logged

  std::variant<std::string_view, int64_t, double, bool> value;
};

struct LogField {
  std::string_view key;
  LogValue value;
};

// Configures the process-wide sink: stderr when `path` is empty, else the file
// (appended, created 0600). Messages below `level` are dropped. Info and debug
// lines are written in batches (at most ~20 ms later, one write(2) for many
// lines); warn and error lines are written at once, with what precedes them.
void InitLogging(LogLevel level, const std::string& path = "");
// Writes every buffered line now (before exit, or before a test reads the log).
void FlushLogging();
// Parses "debug" / "info" / "warn" / "error" / "off"; kInfo otherwise.
LogLevel ParseLogLevel(std::string_view name);
bool LogEnabled(LogLevel level);

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
inline void LogDebug(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kDebug, msg, f); }
inline void LogInfo(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kInfo, msg, f); }
inline void LogWarn(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kWarn, msg, f); }
inline void LogError(std::string_view msg, std::initializer_list<LogField> f = {}) { Log(LogLevel::kError, msg, f); }

// Renders one log line (without the newline) exactly as Log() writes it. For tests.
std::string FormatLogLine(LogLevel level, std::string_view msg,
                          std::initializer_list<LogField> fields);

// Appends `s` to `out` as JSON string content (without quotes).
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace coffer::util
