#include "server/http_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "util/check.h"
#include "util/log.h"

namespace coffer::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::string_view kConnections = "coffer_http_connections";
constexpr std::string_view kConnectionsTotal = "coffer_http_connections_total";
constexpr std::string_view kInFlight = "coffer_http_requests_in_flight";
constexpr std::string_view kRequestsTotal = "coffer_http_requests_total";
constexpr std::string_view kRequestSeconds = "coffer_http_request_duration_seconds";

// First read of a new request: big enough for a typical signed API call.
constexpr size_t kFirstReadBytes = 4096;
// After an error response we read and discard what the client still sends for
// at most this long, so that closing does not reset the connection before the
// client has read the response.
constexpr std::chrono::milliseconds kMaxLinger{2000};

std::string_view Sv(beast::string_view s) { return std::string_view(s.data(), s.size()); }

// A caller-controlled value for the access log, cut to a bound: the log must
// not grow by what an unauthenticated client chooses to send.
constexpr size_t kMaxLogField = 128;
std::string_view LogField(std::string_view value) { return value.substr(0, kMaxLogField); }

std::string ErrorBody(std::string_view type, std::string_view message) {
  std::string body = R"({"__type":")";
  util::AppendJsonEscaped(body, type);
  body += R"(","message":")";
  util::AppendJsonEscaped(body, message);
  body += "\"}";
  return body;
}

}  // namespace

class Session;

// One event loop and its thread. `sessions` is touched only on that thread.
struct Worker {
  // The Date header every response carries (RFC 9110 6.6.1; AWS SDKs correct
  // their clock skew from it), formatted once a second per worker thread.
  const std::string& DateHeader(util::SystemTime now) {
    int64_t second =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (second != date_second) {
      date_second = second;
      date_text = util::FormatHttpDate(now);
    }
    return date_text;
  }
  int64_t date_second = -1;
  std::string date_text;
  std::unordered_set<Session*> sessions;  // declared before ioc: outlives it
  asio::io_context ioc{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
};

struct HttpServer::Impl {
  Impl(const HttpServerOptions& opts, HttpHandler h, util::Metrics& m, util::IdGenerator& i,
       util::Clock& c)
      : options(opts), handler(std::move(h)), metrics(m), ids(i), clock(c) {}

  void Accept();
  void AddInFlight(int64_t delta) {
    int64_t now = in_flight.fetch_add(delta, std::memory_order_relaxed) + delta;
    metrics.Set(kInFlight, "", now);
  }
  void AddConnection(int64_t delta) {
    int64_t now = connections.fetch_add(delta, std::memory_order_relaxed) + delta;
    metrics.Set(kConnections, "", now);
    if (delta > 0) metrics.Increment(kConnectionsTotal, "");
  }

  HttpServerOptions options;
  HttpHandler handler;
  util::Metrics& metrics;
  util::IdGenerator& ids;
  util::Clock& clock;
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<tcp::acceptor> acceptor;  // runs on workers[0]
  std::optional<asio::steady_timer> accept_retry;
  uint16_t port = 0;
  size_t next_worker = 0;  // acceptor thread only
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<bool> stopping{false};
  bool started = false;
  bool shut_down = false;
};

// One connection. Lives on one worker; every method runs on that worker's
// thread, so nothing here is locked.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl& server, Worker& worker, tcp::socket socket)
      : server_(server), worker_(worker), stream_(std::move(socket)) {}

  ~Session() {
    if (in_request_) server_.AddInFlight(-1);
    worker_.sessions.erase(this);
    server_.AddConnection(-1);
  }

  void Start() {
    worker_.sessions.insert(this);
    server_.AddConnection(1);
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ip_ = endpoint.address().to_string();
    stream_.expires_after(server_.options.header_timeout);
    WaitForRequest();
  }

  // Shutdown: closes the connection if it is between requests.
  void CloseIfIdle() {
    if (idle_) Close();
  }

 private:
  const HttpServerOptions& options() const { return server_.options; }

  // Waits for the first byte of the next request (the keep-alive idle phase).
  void WaitForRequest() {
    if (server_.stopping.load(std::memory_order_acquire)) return Close();
    if (buffer_.size() > 0) return ReadHeader();  // pipelined request already here
    idle_ = true;
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->OnFirstBytes(ec, n);
                            });
  }

  void OnFirstBytes(beast::error_code ec, size_t n) {
    idle_ = false;
    if (ec) return Close();  // idle timeout, peer closed, or shutdown
    buffer_.commit(n);
    if (!first_) stream_.expires_after(options().header_timeout);
    ReadHeader();
  }

  void ReadHeader() {
    in_request_ = true;
    server_.AddInFlight(1);
    request_start_ = server_.clock.SteadyNow();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(options().max_header_bytes));
    parser_->body_limit(options().max_body_bytes);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return Handle();
    auto& msg = parser_->get();
    stream_.expires_after(options().body_timeout);
    if (beast::iequals(msg[http::field::expect], "100-continue")) {
      continue_.emplace(http::status::continue_, msg.version());
      http::async_write(stream_, *continue_,
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->Handle();
                     });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return Reject(413, "RequestEntityTooLarge",
                    "request body exceeds " + std::to_string(options().max_body_bytes) +
                        " bytes");
    }
    if (ec == http::error::header_limit) {
      return Reject(431, "RequestHeaderFieldsTooLarge",
                    "request header exceeds " + std::to_string(options().max_header_bytes) +
                        " bytes");
    }
    if (ec == beast::error::timeout || ec == http::error::end_of_stream ||
        ec == http::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return Close();  // slow, gone or shut down: nobody to answer
    }
    Reject(400, "BadRequest", "malformed HTTP request");
  }

  // Answers an unusable request with a JSON error and closes the connection.
  void Reject(int status, std::string_view type, const std::string& message) {
    response_ = {};
    response_.result(static_cast<unsigned>(status));
    response_.version(11);
    response_.set(http::field::content_type, "application/json");
    response_.body() = ErrorBody(type, message);
    response_.keep_alive(false);
    response_.prepare_payload();
    request_id_ = server_.ids.NewUuid();
    response_.set("x-amzn-RequestId", request_id_);
    method_.clear();
    op_.clear();
    if (parser_ && parser_->is_header_done()) {
      method_.assign(LogField(Sv(parser_->get().method_string())));
      op_.assign(LogField(Sv(parser_->get()["X-Amz-Target"])));
    }
    Write(/*linger=*/true);
  }

  void Handle() {
    auto& msg = parser_->get();
    api::HttpRequest request;
    request.method.assign(Sv(msg.method_string()));
    std::string_view target = Sv(msg.target());
    size_t q = target.find('?');
    request.path.assign(target.substr(0, q));
    if (q != std::string_view::npos) request.query.assign(target.substr(q + 1));
    request.headers.reserve(16);
    for (const auto& field : msg) {
      request.headers.emplace_back(Sv(field.name_string()), Sv(field.value()));
    }
    request.body = std::move(msg.body());
    request.remote_ip = remote_ip_;
    request.request_id = server_.ids.NewUuid();
    request_id_ = request.request_id;
    method_.assign(LogField(request.method));
    op_.assign(LogField(Sv(msg["X-Amz-Target"])));

    api::HttpResponse response;
    try {
      response = server_.handler(request);
    } catch (const std::exception&) {
      // The handler contract forbids throwing; answer rather than die.
      response = api::HttpResponse{};
      response.status = 500;
      response.SetHeader("Content-Type", "application/json");
      response.body = ErrorBody("InternalFailure", "internal error");
    }
    if (response.status < 100 || response.status > 599) response.status = 500;

    response_ = {};
    response_.result(static_cast<unsigned>(response.status));
    response_.version(msg.version());
    for (auto& [name, value] : response.headers) response_.insert(name, value);
    response_.body() = std::move(response.body);
    response_.keep_alive(msg.keep_alive() && !server_.stopping.load(std::memory_order_acquire));
    response_.prepare_payload();
    Write(/*linger=*/false);
  }

  void Write(bool linger) {
    response_.set(http::field::date, worker_.DateHeader(server_.clock.Now()));
    stream_.expires_after(options().write_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), linger](beast::error_code ec, size_t) {
                        self->OnWrite(ec, linger);
                      });
  }

  void OnWrite(beast::error_code ec, bool linger) {
    FinishRequest();
    if (ec) return Close();
    if (linger) return LingerClose();
    if (!response_.keep_alive()) return Close();
    first_ = false;
    stream_.expires_after(options().idle_timeout);
    WaitForRequest();
  }

  void FinishRequest() {
    if (!in_request_) return;
    in_request_ = false;
    server_.AddInFlight(-1);
    int status = static_cast<int>(response_.result_int());
    double seconds =
        std::chrono::duration<double>(server_.clock.SteadyNow() - request_start_).count();
    status_label_ = "code=\"";
    status_label_ += std::to_string(status);
    status_label_ += '"';
    server_.metrics.Increment(kRequestsTotal, status_label_);
    server_.metrics.Observe(kRequestSeconds, "", seconds);
    if (options().access_log && util::LogEnabled(util::LogLevel::kInfo)) {
      util::LogInfo("request", {{"request_id", request_id_},
                                {"method", method_},
                                {"op", op_},
                                {"status", status},
                                {"duration_ms", seconds * 1000.0},
                                {"remote_ip", remote_ip_}});
    }
  }

  void LingerClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::min<std::chrono::milliseconds>(options().header_timeout, kMaxLinger));
    buffer_.clear();
    Drain();
  }

  void Drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    idle_ = false;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();  // also cancels the stream's timer
  }

  HttpServer::Impl& server_;
  Worker& worker_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> response_;
  std::string remote_ip_;
  // For the access log and metrics of the current request (reused buffers).
  std::string request_id_;
  std::string method_;
  std::string op_;
  std::string status_label_;
  util::SteadyTime request_start_{};
  bool idle_ = false;        // waiting between requests: shutdown may close it
  bool first_ = true;        // no request finished yet on this connection
  bool in_request_ = false;  // counted in in_flight
};

void HttpServer::Impl::Accept() {
  Worker& worker = *workers[next_worker];
  next_worker = (next_worker + 1) % workers.size();
  acceptor->async_accept(worker.ioc, [this, &worker](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping.load(std::memory_order_acquire)) return;
    if (ec) {
      // Out of descriptors and the like: back off briefly instead of spinning.
      util::LogWarn("accept failed", {{"error", ec.message()}});
      accept_retry->expires_after(std::chrono::milliseconds(50));
      accept_retry->async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && !stopping.load(std::memory_order_acquire)) Accept();
      });
      return;
    }
    asio::post(worker.ioc, [this, &worker, s = std::move(socket)]() mutable {
      if (stopping.load(std::memory_order_acquire)) {
        beast::error_code ignored;
        s.close(ignored);
        return;
      }
      std::make_shared<Session>(*this, worker, std::move(s))->Start();
    });
    Accept();
  });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options,
                                                       HttpHandler handler,
                                                       util::Metrics& metrics,
                                                       util::IdGenerator& ids,
                                                       util::Clock& clock) {
  auto impl = std::make_unique<Impl>(options, std::move(handler), metrics, ids, clock);
  int threads = options.io_threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) impl->workers.push_back(std::make_unique<Worker>());

  beast::error_code ec;
  std::string host = options.host == "localhost" ? "127.0.0.1" : options.host;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return Fail(ErrorCode::kInvalidArgument,
                "listen host '" + options.host + "' is not an IP address", Reason::kValidation);
  }
  tcp::endpoint endpoint(address, options.port);
  auto& ioc = impl->workers[0]->ioc;
  impl->acceptor.emplace(ioc);
  impl->accept_retry.emplace(ioc);
  auto& acceptor = *impl->acceptor;
  std::string where = options.host + ":" + std::to_string(options.port);
  if (acceptor.open(endpoint.protocol(), ec); ec) {
    return Fail(ErrorCode::kUnavailable, "cannot open socket for " + where + ": " + ec.message());
  }
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (acceptor.bind(endpoint, ec); ec) {
    return Fail(ErrorCode::kUnavailable, "cannot bind " + where + ": " + ec.message());
  }
  if (acceptor.listen(asio::socket_base::max_listen_connections, ec); ec) {
    return Fail(ErrorCode::kUnavailable, "cannot listen on " + where + ": " + ec.message());
  }
  impl->port = acceptor.local_endpoint(ec).port();
  if (ec) return Fail(ErrorCode::kUnavailable, "cannot read bound port: " + ec.message());
  impl->options.host = options.host;

  metrics.Describe(kConnections, "gauge", "Open HTTP connections.");
  metrics.Describe(kConnectionsTotal, "counter", "HTTP connections accepted.");
  metrics.Describe(kInFlight, "gauge", "HTTP requests being read, handled or answered.");
  metrics.Describe(kRequestsTotal, "counter", "HTTP requests answered, by status code.");
  metrics.Describe(kRequestSeconds, "histogram", "Time from first request byte to response sent.");
  metrics.Set(kConnections, "", 0);
  metrics.Set(kInFlight, "", 0);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

const std::string& HttpServer::host() const { return impl_->options.host; }
uint16_t HttpServer::port() const { return impl_->port; }
int64_t HttpServer::InFlightForTest() const {
  return impl_->in_flight.load(std::memory_order_relaxed);
}

void HttpServer::Start() {
  COFFER_CHECK(!impl_->started);
  impl_->started = true;
  for (auto& worker : impl_->workers) {
    worker->work.emplace(worker->ioc.get_executor());
  }
  asio::post(impl_->workers[0]->ioc, [impl = impl_.get()] { impl->Accept(); });
  for (auto& worker : impl_->workers) {
    Worker* w = worker.get();
    w->thread = std::thread([w] {
      // Handlers do not throw (errors are values); a stray exception from a
      // handler body is a bug, and crashing loudly beats a silent dead thread.
      w->ioc.run();
    });
  }
}

void HttpServer::Shutdown() {
  if (!impl_ || impl_->shut_down) return;
  impl_->shut_down = true;
  if (!impl_->started) return;
  impl_->stopping.store(true, std::memory_order_release);
  Impl* impl = impl_.get();
  asio::post(impl->workers[0]->ioc, [impl] {
    beast::error_code ignored;
    impl->acceptor->close(ignored);
    impl->accept_retry->cancel();
  });
  for (auto& worker : impl->workers) {
    Worker* w = worker.get();
    asio::post(w->ioc, [w] {
      for (Session* session : w->sessions) session->CloseIfIdle();
    });
    w->work.reset();  // run() returns once the last connection is gone
  }
  for (auto& worker : impl->workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

}  // namespace coffer::server
