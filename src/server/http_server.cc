#include "server/http_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
// Asio's TLS stream is OpenSSL underneath; the context options Coffer sets
// (protocol floor, cipher list, renegotiation) have no Asio spelling. This
// file is the one place outside crypto/ allowed to include OpenSSL
// (tests/tools/check_layering.py).
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "util/check.h"
#include "util/log.h"
#include "util/mutex.h"
#include "util/secret_bytes.h"

namespace coffer::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::string_view kConnections = "coffer_http_connections";
constexpr std::string_view kConnectionsTotal = "coffer_http_connections_total";
constexpr std::string_view kInFlight = "coffer_http_requests_in_flight";
constexpr std::string_view kRequestsTotal = "coffer_http_requests_total";
constexpr std::string_view kRequestSeconds = "coffer_http_request_duration_seconds";
constexpr std::string_view kTlsHandshakeFailures = "coffer_tls_handshake_failures_total";

// TLS 1.2 suites: forward-secret key exchange (ECDHE) and AEAD ciphers only
// (Mozilla's "intermediate" list without finite-field DHE). TLS 1.3 suites are
// all AEAD; the three standard ones are named to pin them.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr char kTls13Suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr char kGroups[] = "X25519:P-256:P-384";
// Session resumption with client certificates needs a session id context.
constexpr unsigned char kSessionIdContext[] = "coffer";
// Certificate, chain and CA files are small; a bound keeps a wrong path (a
// device, a huge file) from eating memory.
constexpr size_t kMaxPemBytes = 1024 * 1024;

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

// Reads a PEM file whole. kInvalidArgument naming `what` and the path.
Result<std::string> ReadPemFile(std::string_view what, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(ErrorCode::kInvalidArgument, "cannot read the TLS " + std::string(what) +
                                                 " file " + path + ": " + std::strerror(errno),
                Reason::kValidation);
  }
  std::string text;
  char chunk[8192];
  while (in.read(chunk, sizeof(chunk)) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxPemBytes) {
      util::SecureClear(text);
      return Fail(ErrorCode::kInvalidArgument,
                  "the TLS " + std::string(what) + " file " + path + " is larger than 1 MiB",
                  Reason::kValidation);
    }
  }
  return text;
}

// `holds` says what the file should hold. OpenSSL's reason strings ("no start
// line", "key values mismatch") name what is wrong, never the bytes.
Error TlsFileError(std::string_view what, const std::string& path, std::string_view holds,
                   const beast::error_code& ec) {
  return Error{ErrorCode::kInvalidArgument, Reason::kValidation,
               "the TLS " + std::string(what) + " file " + path + " does not hold " +
                   std::string(holds) + " (" + ec.message() + ")"};
}

// What the log says about a loaded certificate (all public facts).
struct CertificateSummary {
  std::string serial;
  std::string subject;
  std::string not_after;
};

CertificateSummary Summarize(SSL_CTX* native) {
  CertificateSummary out;
  X509* cert = SSL_CTX_get0_certificate(native);
  if (cert == nullptr) return out;
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr); bn != nullptr) {
    if (char* hex = BN_bn2hex(bn); hex != nullptr) {
      out.serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  if (char* subject = X509_NAME_oneline(X509_get_subject_name(cert), nullptr, 0)) {
    out.subject = subject;
    OPENSSL_free(subject);
  }
  if (const ASN1_TIME* not_after = X509_get0_notAfter(cert); not_after != nullptr) {
    out.not_after.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(not_after)),
                         static_cast<size_t>(ASN1_STRING_length(not_after)));
  }
  return out;
}

// A server TLS context from the files in `tls`, with Coffer's policy: TLS 1.2
// and 1.3 only, the cipher lists above, no compression, no renegotiation,
// session tickets on. Errors as HttpServer::Create() describes.
Result<std::shared_ptr<ssl::context>> BuildTlsContext(const TlsOptions& tls) {
  if (tls.key_file.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "a TLS certificate file needs its key file",
                Reason::kValidation);
  }
  if (tls.client_auth == ClientAuth::kNone && !tls.client_ca_file.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "a TLS client CA file is given but client authentication is off "
                "(set it to request or require)",
                Reason::kValidation);
  }
  if (tls.client_auth != ClientAuth::kNone && tls.client_ca_file.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "TLS client authentication needs a client CA file", Reason::kValidation);
  }
  std::shared_ptr<ssl::context> context;
  try {
    context = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {  // SSL_CTX_new failed (out of memory)
    return Fail(ErrorCode::kInternal, std::string("cannot create a TLS context: ") + e.what());
  }
  SSL_CTX* native = context->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(native, kTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(native, kGroups) != 1 ||
      SSL_CTX_set_session_id_context(native, kSessionIdContext,
                                     sizeof(kSessionIdContext) - 1) != 1) {
    return Fail(ErrorCode::kInternal, "the TLS library refused Coffer's TLS settings");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An encrypted key must fail to load, not prompt on the terminal.
  beast::error_code ec;
  context->set_password_callback(
      [](size_t, ssl::context::password_purpose) { return std::string(); }, ec);
  COFFER_ASSIGN_OR_RETURN(std::string chain, ReadPemFile("certificate", tls.cert_file));
  context->use_certificate_chain(asio::buffer(chain), ec);
  if (ec) {
    return Fail(TlsFileError("certificate", tls.cert_file, "a usable PEM certificate chain", ec));
  }
  {
    COFFER_ASSIGN_OR_RETURN(std::string key_pem, ReadPemFile("key", tls.key_file));
    SecretBytes key(key_pem);
    util::SecureClear(key_pem);
    context->use_private_key(asio::buffer(key.Reveal()), ssl::context::pem, ec);
    if (ec) {
      return Fail(TlsFileError("key", tls.key_file,
                               "a usable unencrypted PEM private key of the certificate", ec));
    }
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Fail(ErrorCode::kInvalidArgument,
                "the TLS key file " + tls.key_file + " does not match the certificate in " +
                    tls.cert_file,
                Reason::kValidation);
  }
  if (tls.client_auth != ClientAuth::kNone) {
    COFFER_ASSIGN_OR_RETURN(std::string cas, ReadPemFile("client CA", tls.client_ca_file));
    context->add_certificate_authority(asio::buffer(cas), ec);
    if (ec) {
      return Fail(TlsFileError("client CA", tls.client_ca_file, "usable PEM CA certificates", ec));
    }
    // The CA names sent in the CertificateRequest, so that clients pick the right certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names == nullptr) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the TLS client CA file " + tls.client_ca_file + " holds no certificate",
                  Reason::kValidation);
    }
    SSL_CTX_set_client_CA_list(native, names);  // takes ownership
    ssl::verify_mode mode = ssl::verify_peer;
    if (tls.client_auth == ClientAuth::kRequire) mode |= ssl::verify_fail_if_no_peer_cert;
    context->set_verify_mode(mode, ec);
    if (ec) return Fail(ErrorCode::kInternal, "cannot set the TLS verify mode: " + ec.message());
  }
  return context;
}

}  // namespace

// The controlling thread's handle on a connection, whatever its stream type.
class Connection {
 public:
  virtual ~Connection() = default;
  // Shutdown: closes the connection if it is between requests.
  virtual void CloseIfIdle() = 0;
};

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
  std::unordered_set<Connection*> sessions;  // declared before ioc: outlives it
  asio::io_context ioc{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
};

struct HttpServer::Impl {
  Impl(const HttpServerOptions& opts, HttpHandler h, util::Metrics& m, util::IdGenerator& i,
       util::Clock& c)
      : options(opts), handler(std::move(h)), metrics(m), ids(i), clock(c) {}

  void Accept();
  void StartSession(Worker& worker, tcp::socket socket);
  std::shared_ptr<ssl::context> CurrentTlsContext() {
    util::MutexLock lock(tls_mu);
    return tls_context;
  }
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
  // Runs offloaded requests (HttpServerOptions::offload); absent without it.
  std::optional<asio::thread_pool> blocking_pool;
  std::optional<tcp::acceptor> acceptor;  // runs on workers[0]
  std::optional<asio::steady_timer> accept_retry;
  uint16_t port = 0;
  size_t next_worker = 0;  // acceptor thread only
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<bool> stopping{false};
  // The TLS context new connections get (null: plain HTTP). ReloadTls swaps
  // it; each TLS session holds the one it was accepted with.
  util::Mutex tls_mu;
  std::shared_ptr<ssl::context> tls_context COFFER_GUARDED_BY(tls_mu);
  bool started = false;
  bool shut_down = false;
};

// One connection over `Stream` (PlainStream or TlsStream). Lives on one
// worker; every method runs on that worker's thread, so nothing here is locked.
template <class Stream>
class Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(HttpServer::Impl& server, Worker& worker, tcp::socket socket)
    requires(!kTls)
      : server_(server), worker_(worker), stream_(std::move(socket)) {}
  Session(HttpServer::Impl& server, Worker& worker, tcp::socket socket,
          std::shared_ptr<ssl::context> tls_context)
    requires(kTls)
      : server_(server),
        worker_(worker),
        tls_context_(std::move(tls_context)),
        stream_(std::move(socket), *tls_context_) {}

  ~Session() {
    if (in_request_) server_.AddInFlight(-1);
    worker_.sessions.erase(this);
    server_.AddConnection(-1);
  }

  void Start() {
    worker_.sessions.insert(this);
    server_.AddConnection(1);
    beast::error_code ec;
    Tcp().socket().set_option(tcp::no_delay(true), ec);
    auto endpoint = Tcp().socket().remote_endpoint(ec);
    if (!ec) remote_ip_ = endpoint.address().to_string();
    // The handshake and the first request header share header_timeout.
    Tcp().expires_after(server_.options.header_timeout);
    if constexpr (kTls) {
      idle_ = true;  // nothing in flight yet: shutdown may close it
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                self->OnHandshake(ec);
                              });
    } else {
      WaitForRequest();
    }
  }

  void CloseIfIdle() override {
    if (idle_) Close();
  }

 private:
  const HttpServerOptions& options() const { return server_.options; }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void OnHandshake(beast::error_code ec) {
    idle_ = false;
    if (ec) {
      // Old protocol versions, no shared cipher, a refused client
      // certificate, plain HTTP on the TLS port, or a timeout: nothing to
      // answer in HTTP.
      server_.metrics.Increment(kTlsHandshakeFailures, "");
      if (util::LogEnabled(util::LogLevel::kDebug)) {
        util::LogDebug("TLS handshake failed",
                       {{"remote_ip", remote_ip_}, {"error", LogField(ec.message())}});
      }
      return Close();
    }
    WaitForRequest();
  }

  // Waits for the first byte of the next request (the keep-alive idle phase).
  void WaitForRequest() {
    if (server_.stopping.load(std::memory_order_acquire)) return Close();
    if (buffer_.size() > 0) return ReadHeader();  // pipelined request already here
    idle_ = true;
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->OnFirstBytes(ec, n);
                            });
  }

  void OnFirstBytes(beast::error_code ec, size_t n) {
    idle_ = false;
    if (ec) return Close();  // idle timeout, peer closed, or shutdown
    buffer_.commit(n);
    if (!first_) Tcp().expires_after(options().header_timeout);
    ReadHeader();
  }

  void ReadHeader() {
    in_request_ = true;
    server_.AddInFlight(1);
    request_start_ = server_.clock.SteadyNow();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(options().max_header_bytes));
    body_limit_ = options().max_body_bytes;
    // With a large-body hook, the limit is set once the header is in
    // (OnHeader): Beast would refuse a large Content-Length at the header.
    // (Not boost::none: Beast compares a Content-Length with it, and every
    // length is greater than none.)
    if (options().large_body_limit) {
      parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    } else {
      parser_->body_limit(options().max_body_bytes);
    }
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return Handle();
    auto& msg = parser_->get();
    Tcp().expires_after(options().body_timeout);
    body_limit_ = options().max_body_bytes;
    auto declared = parser_->content_length();
    if (options().large_body_limit &&
        (parser_->chunked() || (declared && *declared > options().max_body_bytes))) {
      api::HttpRequest head;
      head.method.assign(Sv(msg.method_string()));
      std::string_view target = Sv(msg.target());
      size_t q = target.find('?');
      head.path.assign(target.substr(0, q));
      if (q != std::string_view::npos) head.query.assign(target.substr(q + 1));
      for (const auto& field : msg) {
        head.headers.emplace_back(Sv(field.name_string()), Sv(field.value()));
      }
      if (size_t larger = options().large_body_limit(head); larger > body_limit_) {
        body_limit_ = larger;
      }
    }
    if (options().large_body_limit) {
      if (declared && *declared > body_limit_) return OnReadError(http::error::body_limit);
      parser_->body_limit(body_limit_);
    }
    if (beast::iequals(msg[http::field::expect], "100-continue")) {
      continue_.emplace(http::status::continue_, msg.version());
      http::async_write(stream_, *continue_,
                        [self = this->shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->Handle();
                     });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return Reject(413, "RequestEntityTooLarge",
                    "request body exceeds " + std::to_string(body_limit_) + " bytes");
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
    if (ec.category() == asio::error::get_ssl_category() ||
        ec.category() == ssl::error::get_stream_category()) {
      return Close();  // a broken TLS record or a truncated TLS stream: no HTTP to answer in
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
    head_request_ = request.method == "HEAD";
    op_.assign(LogField(Sv(msg["X-Amz-Target"])));
    unsigned version = msg.version();
    bool keep_alive = msg.keep_alive();

    if (server_.blocking_pool && options().offload(request)) {
      // The io thread goes back to its loop; the answer is posted back to it.
      // The work guard keeps the loop running (even through Shutdown) until then.
      auto guard = asio::make_work_guard(worker_.ioc);
      asio::post(*server_.blocking_pool, [self = this->shared_from_this(),
                                          request = std::move(request), version, keep_alive,
                                          guard = std::move(guard)]() mutable {
        api::HttpResponse response = self->CallHandler(request);
        asio::post(self->worker_.ioc, [self, response = std::move(response), version,
                                       keep_alive, guard = std::move(guard)]() mutable {
          self->Respond(std::move(response), version, keep_alive);
        });
      });
      return;
    }
    Respond(CallHandler(request), version, keep_alive);
  }

  api::HttpResponse CallHandler(api::HttpRequest& request) {
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
    return response;
  }

  void Respond(api::HttpResponse response, unsigned version, bool keep_alive) {
    response_ = {};
    response_.result(static_cast<unsigned>(response.status));
    response_.version(version);
    for (auto& [name, value] : response.headers) response_.insert(name, value);
    response_.body() = std::move(response.body);
    response_.keep_alive(keep_alive && !server_.stopping.load(std::memory_order_acquire));
    // A HEAD answer may state the Content-Length of what a GET would send
    // (S3's HeadObject); it has no body either way.
    if (!(head_request_ && response_.body().empty() &&
          response_.find(http::field::content_length) != response_.end())) {
      response_.prepare_payload();
    }
    Write(/*linger=*/false);
  }

  void Write(bool linger) {
    response_.set(http::field::date, worker_.DateHeader(server_.clock.Now()));
    Tcp().expires_after(options().write_timeout);
    http::async_write(stream_, response_,
                      [self = this->shared_from_this(), linger](beast::error_code ec, size_t) {
                        self->OnWrite(ec, linger);
                      });
  }

  void OnWrite(beast::error_code ec, bool linger) {
    FinishRequest();
    if (ec) return Close();
    if (linger) return LingerClose();
    if (!response_.keep_alive()) return Close();
    first_ = false;
    Tcp().expires_after(options().idle_timeout);
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
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    Tcp().expires_after(std::min<std::chrono::milliseconds>(options().header_timeout, kMaxLinger));
    buffer_.clear();
    Drain();
  }

  // Discards what the client still sends; with TLS the records are dropped
  // undecrypted (read below the TLS layer).
  void Drain() {
    buffer_.clear();
    Tcp().async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  // With TLS no close_notify is sent: every response carries its length
  // (Content-Length), so a truncation cannot pass for a complete answer.
  void Close() {
    idle_ = false;
    beast::error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    Tcp().close();  // also cancels the stream's timer
  }

  HttpServer::Impl& server_;
  Worker& worker_;
  // Declared before stream_, which refers to it: the context this connection
  // was accepted with, kept while it lives even if ReloadTls swaps in another.
  std::shared_ptr<ssl::context> tls_context_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> response_;
  std::string remote_ip_;
  // For the access log and metrics of the current request (reused buffers).
  std::string request_id_;
  std::string method_;
  bool head_request_ = false;  // the request being answered is a HEAD
  size_t body_limit_ = 0;      // the body limit of the request being read
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
      StartSession(worker, std::move(s));
    });
    Accept();
  });
}

void HttpServer::Impl::StartSession(Worker& worker, tcp::socket socket) {
  if (std::shared_ptr<ssl::context> context = CurrentTlsContext()) {
    std::make_shared<Session<TlsStream>>(*this, worker, std::move(socket), std::move(context))
        ->Start();
  } else {
    std::make_shared<Session<PlainStream>>(*this, worker, std::move(socket))->Start();
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Shutdown(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options,
                                                       HttpHandler handler,
                                                       util::Metrics& metrics,
                                                       util::IdGenerator& ids,
                                                       util::Clock& clock) {
  auto impl = std::make_unique<Impl>(options, std::move(handler), metrics, ids, clock);
  if (options.tls.enabled()) {
    COFFER_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> context, BuildTlsContext(options.tls));
    CertificateSummary cert = Summarize(context->native_handle());
    util::LogInfo("TLS certificate loaded", {{"serial", cert.serial},
                                             {"subject", cert.subject},
                                             {"not_after", cert.not_after}});
    util::MutexLock lock(impl->tls_mu);
    impl->tls_context = std::move(context);
  } else if (!options.tls.key_file.empty() || !options.tls.client_ca_file.empty() ||
             options.tls.client_auth != ClientAuth::kNone) {
    return Fail(ErrorCode::kInvalidArgument,
                "TLS settings are given without a TLS certificate file", Reason::kValidation);
  }
  int threads = options.io_threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) impl->workers.push_back(std::make_unique<Worker>());
  if (options.offload) {
    impl->blocking_pool.emplace(static_cast<size_t>(std::max(1, options.blocking_threads)));
  }

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
  if (options.tls.enabled()) {
    metrics.Describe(kTlsHandshakeFailures, "counter", "TLS handshakes that failed.");
    metrics.Set(kTlsHandshakeFailures, "", 0);
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

bool HttpServer::tls() const { return impl_->options.tls.enabled(); }

Status HttpServer::ReloadTls() {
  if (!tls()) {
    return Fail(ErrorCode::kFailedPrecondition, "TLS is not enabled on this listener");
  }
  auto context = BuildTlsContext(impl_->options.tls);
  if (!context) {
    util::LogError("TLS reload failed; the previous certificate stays in use",
                   {{"error", context.error().message}});
    return Fail(context.error());
  }
  CertificateSummary cert = Summarize((*context)->native_handle());
  {
    util::MutexLock lock(impl_->tls_mu);
    impl_->tls_context = std::move(*context);
  }
  util::LogInfo("TLS certificate reloaded; new connections use it",
                {{"serial", cert.serial}, {"subject", cert.subject}, {"not_after", cert.not_after}});
  return Ok();
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
      for (Connection* session : w->sessions) session->CloseIfIdle();
    });
    w->work.reset();  // run() returns once the last connection is gone
  }
  for (auto& worker : impl->workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  // Every offloaded request has been answered (its work guard kept its loop
  // running), so the pool is idle.
  if (impl->blocking_pool) impl->blocking_pool->join();
}

}  // namespace coffer::server
