// A tiny blocking HTTP/1.1 client over POSIX sockets for the server tests:
// raw bytes in, parsed responses out, so tests can also send malformed or
// partial requests. Every read has a generous receive timeout purely as a
// guard against a hung test; no test relies on it for its result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coffer::server::testing {

struct ParsedResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
  // Value of header `name` (case-insensitive), "" if absent.
  std::string Header(std::string_view name) const;
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; fd() < 0 when the connection was refused.
  explicit RawConnection(uint16_t port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  int fd() const { return fd_; }
  bool connected() const { return fd_ >= 0; }
  bool Send(std::string_view bytes);
  // Reads one response (headers + Content-Length body); nullopt when the
  // server closed the connection first.
  std::optional<ParsedResponse> ReadResponse();
  // Reads exactly until "\r\n\r\n" (e.g. a 100 Continue); "" on close.
  std::string ReadHead();
  // Reads and discards until the server closes the connection; true when it
  // did (EOF or reset), false on the guard timeout.
  bool WaitForClose();

 private:
  bool Fill();  // one recv into buffer_; false on EOF/error
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace coffer::server::testing
