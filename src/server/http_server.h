// The HTTP/1.1 listener: accepts connections, reads requests within limits and
// timeouts, hands each one as a plain api::HttpRequest to a handler and writes
// the api::HttpResponse back, with keep-alive. Boost.Beast/Asio stay inside
// http_server.cc (this header does not include them).
//
// Threading: `io_threads` threads, each running its own event loop; an
// accepted connection lives on one of them for its whole life (round robin),
// so per-connection state needs no locks. The handler is called on the io
// threads (and, for offloaded requests, on the blocking pool) concurrently and
// must be thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http.h"
#include "util/id_generator.h"
#include "util/metrics.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::server {

// Who must present a client certificate during the TLS handshake.
enum class ClientAuth {
  kNone,     // none is asked for
  kRequest,  // asked for; a client without one is served, one with a bad one is refused
  kRequire,  // a client without a certificate signed by the client CA is refused
};

// TLS on the listener. Off (plain HTTP) while cert_file is empty.
struct TlsOptions {
  std::string cert_file;  // PEM: the server certificate, then its chain
  std::string key_file;   // PEM: its private key (not encrypted)
  // PEM CA bundle that client certificates must chain to; required for
  // kRequest and kRequire, refused with kNone (it would silently do nothing).
  std::string client_ca_file;
  ClientAuth client_auth = ClientAuth::kNone;

  bool enabled() const { return !cert_file.empty(); }
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = an ephemeral port; see HttpServer::port()
  int io_threads = 0;  // 0 = one per hardware thread
  size_t max_header_bytes = 16 * 1024;   // larger -> 431, then close
  size_t max_body_bytes = 1024 * 1024;   // larger -> 413, then close
  // A new connection must finish its TLS handshake (if TLS is on) and deliver a
  // complete request header within this time.
  std::chrono::milliseconds header_timeout{10'000};
  // Once the header is in, the body must arrive within this time.
  std::chrono::milliseconds body_timeout{30'000};
  // A keep-alive connection may sit idle between requests this long; once the
  // first byte of the next request arrives, header_timeout applies again.
  std::chrono::milliseconds idle_timeout{60'000};
  // Writing one response must finish within this time.
  std::chrono::milliseconds write_timeout{30'000};
  // Log one JSON line per request (util/log.h, info level).
  bool access_log = true;
  // Requests for which `offload` returns true (those whose handler waits on a
  // durable commit) run on a pool of `blocking_threads` threads instead of the
  // io thread, so that many writers wait on one group commit together while the
  // io threads go on serving reads. Without `offload`, every request runs on
  // its io thread.
  std::function<bool(const api::HttpRequest&)> offload;
  int blocking_threads = 64;
  // A larger body limit for some requests (the S3 API's object uploads):
  // called with the request's method, target and headers (no body) only when
  // its declared body is larger than max_body_bytes (or chunked); returns the
  // limit for that request (at most that many bytes, else 413), or 0 to keep
  // max_body_bytes. Must be thread-safe.
  std::function<size_t(const api::HttpRequest& head)> large_body_limit;
  TlsOptions tls;
};

// Called once per request, on an io thread. The request is the handler's to
// modify or move from. Must be thread-safe and must not throw.
using HttpHandler = std::function<api::HttpResponse(api::HttpRequest&)>;

// Owns the listening socket, the io threads and every connection.
// Start/Shutdown/Wait are called from one controlling thread.
class HttpServer {
 public:
  // Binds and listens on options.host:options.port (not yet accepting).
  // kInvalidArgument (kValidation) if the host is not an IP address, or, with
  // TLS, if a certificate, key or client CA file cannot be read or parsed, the
  // key does not match the certificate, or the client-auth settings disagree
  // (the message names the file, never key bytes);
  // kUnavailable if the address cannot be bound (in use, not permitted).
  // `metrics`, `ids` and `clock` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                    HttpHandler handler, util::Metrics& metrics,
                                                    util::IdGenerator& ids, util::Clock& clock);
  ~HttpServer();  // Shuts down (as Shutdown()) if still running.

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address: host as given, port as the kernel chose when 0 was asked.
  const std::string& host() const;
  uint16_t port() const;
  // Whether the listener speaks TLS (options.tls.enabled()).
  bool tls() const;

  // Starts the io threads and begins accepting. REQUIRES: called once.
  void Start();

  // Graceful shutdown: stops accepting, closes idle keep-alive connections,
  // lets in-flight requests finish (each still bounded by its timeouts) and
  // closes their connections after the response, then joins the io threads.
  // Returns when every connection is closed. Idempotent.
  void Shutdown();

  // Re-reads the TLS certificate chain, key and client CA files named in the
  // options into a new TLS context, which connections accepted from then on
  // use; open connections keep the context they were accepted with. On any
  // error (as Create(): kInvalidArgument naming the file) the old context stays
  // in use. kFailedPrecondition when TLS is off. Logs the outcome. Thread-safe.
  Status ReloadTls();

  // Number of requests being handled or read right now (for tests and metrics).
  int64_t InFlightForTest() const;

 private:
  template <class Stream>
  friend class Session;  // the per-connection state in http_server.cc
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace coffer::server
