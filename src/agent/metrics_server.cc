#include "agent/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

namespace coffer::agent {

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& listen,
                                                           std::function<std::string()> render) {
  auto bad = [&](std::string why) {
    return Fail(ErrorCode::kInvalidArgument, "metrics address '" + listen + "': " + why,
                Reason::kValidation);
  };
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return bad("not HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  unsigned port = 0;
  std::string_view port_text = std::string_view(listen).substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return bad("bad port");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      (ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
    return bad("the metrics endpoint listens on a 127.x.x.x address only");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Fail(ErrorCode::kUnavailable, "metrics: socket failed");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return Fail(ErrorCode::kUnavailable, "metrics: cannot listen on " + listen + ": " + why);
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string address = host + ":" + std::to_string(ntohs(addr.sin_port));
  return std::unique_ptr<MetricsServer>(new MetricsServer(fd, address, std::move(render)));
}

MetricsServer::MetricsServer(int fd, std::string address, std::function<std::string()> render)
    : fd_(fd), address_(std::move(address)), render_(std::move(render)) {
  thread_ = std::thread([this] { Serve(); });
}

MetricsServer::~MetricsServer() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

void MetricsServer::Serve() {
  while (!stopping_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    timeval tv{2, 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
      ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    bool metrics = request.starts_with("GET /metrics ") || request.starts_with("GET /metrics?");
    std::string body = metrics ? render_() : "not found\n";
    std::string response = std::string("HTTP/1.1 ") + (metrics ? "200 OK" : "404 Not Found") +
                           "\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    std::string_view out = response;
    while (!out.empty()) {
      ssize_t n = ::send(client, out.data(), out.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      out.remove_prefix(static_cast<size_t>(n));
    }
    ::close(client);
  }
}

}  // namespace coffer::agent
