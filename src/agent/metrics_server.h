// agent/metrics_server: the agent's /metrics endpoint (Prometheus text), a
// minimal HTTP/1.1 responder on a loopback address (the agent has no other
// HTTP to serve; Beast stays in server/). GET /metrics answers the rendering;
// anything else 404. One connection at a time, each closed after its answer.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "util/result.h"

namespace coffer::agent {

class MetricsServer {
 public:
  // Listens on `listen` (HOST:PORT; port 0 picks one; the host must be a
  // loopback address: kInvalidArgument otherwise) and serves `render()` on a
  // thread of its own until destroyed.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                      std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "127.0.0.1:PORT" with the bound port.
  const std::string& address() const { return address_; }

 private:
  MetricsServer(int fd, std::string address, std::function<std::string()> render);
  void Serve();

  int fd_;
  std::string address_;
  std::function<std::string()> render_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace coffer::agent
