#include "util/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "util/time.h"

namespace coffer::util {
namespace {

// The sink behind every log line: lines are appended to a buffer, and a
// writer thread writes the buffer with one write(2) every kFlushInterval, so
// that a request's access-log line costs a copy, not a system call. A warn or
// error line, a full buffer, Flush and the destructor write at once; a clean
// shutdown loses nothing (FlushLogging, or the logger's destruction at exit).
// A crash may lose the last kFlushInterval of info/debug lines.
class BatchingFdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  static constexpr auto kFlushInterval = std::chrono::milliseconds(20);
  static constexpr size_t kMaxBuffered = 1 << 20;

  BatchingFdSink(int fd, bool owns_fd) : fd_(fd), owns_fd_(owns_fd) {
    writer_ = std::thread([this] { Run(); });
  }
  ~BatchingFdSink() override {
    {
      std::lock_guard<std::mutex> lock(this->mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    writer_.join();
    WriteOut(buffer_);
    if (owns_fd_) ::close(fd_);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    buffer_.append(msg.payload.data(), msg.payload.size());
    buffer_.push_back('\n');
    if (buffer_.size() >= kMaxBuffered) FlushLocked();
  }
  void flush_() override { FlushLocked(); }

 private:
  // REQUIRES: mutex_ held. Writes under the lock, so lines keep their order.
  void FlushLocked() {
    WriteOut(buffer_);
    buffer_.clear();
  }

  void WriteOut(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // nowhere left to report a failing log
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  void Run() {
    std::unique_lock<std::mutex> lock(this->mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, kFlushInterval);
      if (!buffer_.empty()) FlushLocked();
    }
  }

  int fd_;
  bool owns_fd_;
  std::string buffer_;  // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::condition_variable wake_;
  std::thread writer_;
};

std::shared_ptr<spdlog::logger>& Sink() {
  static std::shared_ptr<spdlog::logger> logger;
  return logger;
}
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
    case LogLevel::kOff: return "off";
  }
  return "info";
}

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t run = 0;  // start of the current run of characters that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;
    out.append(s, run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s, run, s.size() - run);
}

std::string FormatLogLine(LogLevel level, std::string_view msg,
                          std::initializer_list<LogField> fields) {
  std::string line;
  line.reserve(128);
  line += "{\"ts\":\"";
  line += FormatIso8601Millis(std::chrono::system_clock::now());
  line += "\",\"level\":\"";
  line += LevelName(level);
  line += "\",\"msg\":\"";
  AppendJsonEscaped(line, msg);
  line += '"';
  for (const LogField& f : fields) {
    line += ",\"";
    AppendJsonEscaped(line, f.key);
    line += "\":";
    std::visit(
        [&line](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, std::string_view>) {
            line += '"';
            AppendJsonEscaped(line, v);
            line += '"';
          } else if constexpr (std::is_same_v<V, bool>) {
            line += v ? "true" : "false";
          } else if constexpr (std::is_same_v<V, double>) {
            if (!std::isfinite(v)) {  // NaN and infinities are not JSON numbers
              line += "null";
              return;
            }
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.6g", v);
            line += buf;
          } else {
            line += std::to_string(v);
          }
        },
        f.value.value);
  }
  line += '}';
  return line;
}

void InitLogging(LogLevel level, const std::string& path) {
  g_level.store(static_cast<int>(level));
  Sink().reset();  // the old sink writes what it holds
  int fd = STDERR_FILENO;
  bool owns_fd = false;
  if (!path.empty()) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
      std::fprintf(stderr, "cannot open log file %s: %s; logging to stderr\n", path.c_str(),
                   std::strerror(errno));
      fd = STDERR_FILENO;
    } else {
      owns_fd = true;
    }
  }
  auto logger =
      std::make_shared<spdlog::logger>("coffer", std::make_shared<BatchingFdSink>(fd, owns_fd));
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::warn);
  Sink() = std::move(logger);
}

void FlushLogging() {
  if (auto& sink = Sink()) sink->flush();
}

LogLevel ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  if (name == "off") return LogLevel::kOff;
  return LogLevel::kInfo;
}

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed) &&
         level != LogLevel::kOff;
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  std::string line = FormatLogLine(level, msg, fields);
  auto& sink = Sink();
  if (sink) {
    sink->log(level == LogLevel::kDebug  ? spdlog::level::debug
              : level == LogLevel::kInfo ? spdlog::level::info
              : level == LogLevel::kWarn ? spdlog::level::warn
                                         : spdlog::level::err,
              line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

}  // namespace coffer::util
