#include "server/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/http_client.h"
#include "sigv4/sigv4.h"
#include "util/log.h"

namespace coffer::server {
namespace {

using testing::RawConnection;

constexpr char kGet[] = "GET /echo?a=1&b=2 HTTP/1.1\r\nHost: test\r\nX-Custom-Header: v\r\n\r\n";

class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { util::InitLogging(util::LogLevel::kOff); }

  // Starts a server on 127.0.0.1:0 with `handler`, or with an echo handler.
  void StartServer(HttpServerOptions options = {}, HttpHandler handler = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    if (options.io_threads == 0) options.io_threads = 2;
    if (!handler) {
      handler = [this](api::HttpRequest& request) {
        {
          std::lock_guard lock(mu_);
          seen_.push_back(request);
        }
        api::HttpResponse response;
        response.SetHeader("Content-Type", "text/plain");
        response.body = request.method + " " + request.path + " " + request.body;
        return response;
      };
    }
    auto server = HttpServer::Create(options, std::move(handler), metrics_, ids_, clock_);
    ASSERT_TRUE(server.has_value()) << server.error().message;
    server_ = std::move(*server);
    server_->Start();
  }

  std::vector<api::HttpRequest> Seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  util::Metrics metrics_;
  util::SequentialIdGenerator ids_;
  util::SystemClock clock_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mu_;
  std::vector<api::HttpRequest> seen_;
};

// Port 0 binds an ephemeral port and reports the real one.
TEST_F(HttpServerTest, PortZeroReportsTheBoundPort) {
  StartServer();
  EXPECT_NE(server_->port(), 0);
  EXPECT_EQ(server_->host(), "127.0.0.1");
}

// Two requests on one connection are both answered (keep-alive), and the
// handler sees the request split into its parts with a fresh request id each.
TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer();
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.Send(kGet));
  auto first = conn.ReadResponse();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "GET /echo ");
  ASSERT_TRUE(conn.Send("POST /two HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello"));
  auto second = conn.ReadResponse();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "POST /two hello");

  auto seen = Seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path, "/echo");
  EXPECT_EQ(seen[0].query, "a=1&b=2");
  EXPECT_EQ(seen[0].remote_ip, "127.0.0.1");
  EXPECT_EQ(seen[0].Header("x-custom-header"), "v");
  EXPECT_EQ(seen[0].headers[1].first, "X-Custom-Header");  // client's casing kept
  EXPECT_FALSE(seen[0].request_id.empty());
  EXPECT_NE(seen[0].request_id, seen[1].request_id);
  EXPECT_EQ(seen[1].query, "");
  server_->Shutdown();  // metrics are recorded after the write; joining makes them visible
  EXPECT_EQ(metrics_.Value("coffer_http_requests_total", "code=\"200\""), 2);
}

// Every response carries an RFC 9110 Date header (IMF-fixdate, the server's
// clock): answers from the handler and the server's own refusals alike, so an
// AWS SDK can correct its clock skew from any of them.
TEST_F(HttpServerTest, EveryResponseCarriesADateHeader) {
  StartServer();
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send(kGet));
  auto ok = conn.ReadResponse();
  ASSERT_TRUE(ok.has_value());
  std::string date = ok->Header("Date");
  ASSERT_EQ(date.size(), 29u) << date;
  EXPECT_EQ(date.substr(25), " GMT");
  auto parsed = sigv4::ParseHttpDate(date);
  ASSERT_TRUE(parsed.has_value()) << date;
  EXPECT_LT(std::chrono::abs(*parsed - clock_.Now()), std::chrono::seconds(60));

  RawConnection bad(server_->port());
  ASSERT_TRUE(bad.Send("NOT A REQUEST\r\n\r\n"));
  auto refused = bad.ReadResponse();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(refused->Header("Date").size(), 29u);
}

// Two pipelined requests in one write are answered in order.
TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send(std::string("GET /a HTTP/1.1\r\nHost: t\r\n\r\n") +
                        "GET /b HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto a = conn.ReadResponse();
  auto b = conn.ReadResponse();
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->body, "GET /a ");
  EXPECT_EQ(b->body, "GET /b ");
}

// A body over the limit is refused with 413 and a JSON error, and the
// connection is closed; the handler never runs.
TEST_F(HttpServerTest, OversizedBodyIsRejectedWith413AndConnectionClosed) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n"));
  auto response = conn.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(response->Header("Content-Type"), "application/json");
  EXPECT_NE(response->body.find("\"__type\":\"RequestEntityTooLarge\""), std::string::npos);
  EXPECT_TRUE(conn.WaitForClose());
  EXPECT_TRUE(Seen().empty());
}

// A chunked body that grows over the limit is refused with 413 as well.
TEST_F(HttpServerTest, OversizedChunkedBodyIsRejectedWith413) {
  HttpServerOptions options;
  options.max_body_bytes = 16;
  StartServer(options);
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "20\r\n0123456789abcdef0123456789abcdef\r\n0\r\n\r\n"));
  auto response = conn.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(conn.WaitForClose());
}

// A header block over the limit is refused with 431 and the connection closed.
TEST_F(HttpServerTest, OversizedHeaderIsRejectedWith431) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  StartServer(options);
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(2048, 'x') +
                        "\r\n\r\n"));
  auto response = conn.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 431);
  EXPECT_TRUE(conn.WaitForClose());
}

// A client that starts a request but never finishes its header is
// disconnected by the server once the header timeout passes.
TEST_F(HttpServerTest, HeaderTimeoutClosesSlowClient) {
  HttpServerOptions options;
  options.header_timeout = std::chrono::milliseconds(50);
  StartServer(options);
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send("GET / HTTP/1.1\r\nHost: t\r\n"));  // no blank line: never complete
  EXPECT_TRUE(conn.WaitForClose());
  EXPECT_TRUE(Seen().empty());
}

// A connection that never sends anything is closed by the header timeout too.
TEST_F(HttpServerTest, SilentConnectionIsClosedByHeaderTimeout) {
  HttpServerOptions options;
  options.header_timeout = std::chrono::milliseconds(50);
  StartServer(options);
  RawConnection conn(server_->port());
  EXPECT_TRUE(conn.WaitForClose());
}

// An idle keep-alive connection is closed after the idle timeout.
TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  HttpServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(50);
  StartServer(options);
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send(kGet));
  ASSERT_TRUE(conn.ReadResponse().has_value());
  EXPECT_TRUE(conn.WaitForClose());
}

// A malformed request gets 400 and its connection closed; the server keeps
// serving other connections.
TEST_F(HttpServerTest, MalformedRequestGets400AndServerKeepsServing) {
  StartServer();
  {
    RawConnection bad(server_->port());
    ASSERT_TRUE(bad.Send("THIS IS NOT HTTP\r\n\r\n"));
    auto response = bad.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 400);
    EXPECT_TRUE(bad.WaitForClose());
  }
  RawConnection good(server_->port());
  ASSERT_TRUE(good.Send(kGet));
  auto response = good.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

// "Expect: 100-continue" gets the interim response before the body is sent.
TEST_F(HttpServerTest, ExpectContinueGetsInterimResponse) {
  StartServer();
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send(
      "POST /c HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
  std::string interim = conn.ReadHead();
  EXPECT_EQ(interim.substr(0, 12), "HTTP/1.1 100");
  ASSERT_TRUE(conn.Send("abc"));
  auto response = conn.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "POST /c abc");
}

// A handler that throws (a bug) yields a 500, not a dead server.
TEST_F(HttpServerTest, ThrowingHandlerYields500) {
  StartServer({}, [](api::HttpRequest&) -> api::HttpResponse {
    throw std::runtime_error("bug");
  });
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.Send(kGet));
  auto response = conn.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 500);
}

// Shutdown lets an in-flight request finish and answers it, closes idle
// keep-alive connections, stops accepting, and only then returns.
TEST_F(HttpServerTest, GracefulShutdownFinishesInFlightRequest) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  StartServer({}, [&entered, released](api::HttpRequest& request) {
    api::HttpResponse response;
    if (request.path == "/slow") {
      entered.set_value();
      released.wait();
      response.body = "finished";
    }
    return response;
  });
  uint16_t port = server_->port();

  RawConnection idle(port);
  ASSERT_TRUE(idle.Send(kGet));
  ASSERT_TRUE(idle.ReadResponse().has_value());  // now idle in keep-alive

  RawConnection busy(port);
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  entered.get_future().wait();

  std::atomic<bool> shutdown_done{false};
  std::thread stopper([&] {
    server_->Shutdown();
    shutdown_done = true;
  });
  EXPECT_TRUE(idle.WaitForClose());  // the idle connection goes first
  EXPECT_FALSE(shutdown_done.load());
  release.set_value();

  auto response = busy.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "finished");
  EXPECT_TRUE(busy.WaitForClose());
  stopper.join();
  EXPECT_TRUE(shutdown_done.load());
  EXPECT_EQ(server_->InFlightForTest(), 0);

  RawConnection after(port);
  EXPECT_FALSE(after.connected());
}

// Offloaded requests (HttpServerOptions::offload) run on the blocking pool:
// with one io thread, 20 requests that each block until all 20 have arrived
// complete (they wait together, as writers waiting on one group commit do),
// and an inline request is answered while they wait.
TEST_F(HttpServerTest, OffloadedRequestsWaitTogetherWithoutBlockingTheIoThread) {
  constexpr int kBlocking = 20;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  HttpServerOptions options;
  options.io_threads = 1;
  options.blocking_threads = kBlocking;
  options.offload = [](const api::HttpRequest& r) { return r.path == "/write"; };
  StartServer(options, [&](api::HttpRequest& request) {
    api::HttpResponse response;
    if (request.path == "/write") {
      std::unique_lock lock(mu);
      ++arrived;
      cv.notify_all();
      bool all = cv.wait_for(lock, std::chrono::seconds(20), [&] { return arrived >= kBlocking; });
      response.body = all ? "together" : "alone";
    } else {
      response.body = "inline";
    }
    return response;
  });
  std::vector<std::unique_ptr<RawConnection>> writers;
  for (int i = 0; i < kBlocking - 1; ++i) {
    writers.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(writers.back()->Send("POST /write HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
  }
  // 19 handlers are blocked; the io thread still answers an inline request.
  RawConnection reader(server_->port());
  ASSERT_TRUE(reader.Send(kGet));
  auto inline_response = reader.ReadResponse();
  ASSERT_TRUE(inline_response.has_value());
  EXPECT_EQ(inline_response->body, "inline");
  writers.push_back(std::make_unique<RawConnection>(server_->port()));
  ASSERT_TRUE(writers.back()->Send("POST /write HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"));
  for (auto& w : writers) {
    auto response = w->ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "together");
  }
}

// Shutdown waits for an offloaded request in flight and sends its answer.
TEST_F(HttpServerTest, ShutdownAnswersAnOffloadedRequestInFlight) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  HttpServerOptions options;
  options.offload = [](const api::HttpRequest&) { return true; };
  StartServer(options, [&entered, released](api::HttpRequest&) {
    entered.set_value();
    released.wait();
    api::HttpResponse response;
    response.body = "finished";
    return response;
  });
  RawConnection busy(server_->port());
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n"));
  entered.get_future().wait();
  std::thread stopper([&] { server_->Shutdown(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  release.set_value();
  auto response = busy.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->body, "finished");
  stopper.join();
  EXPECT_EQ(server_->InFlightForTest(), 0);
}

// Binding an address that is not an IP fails with kInvalidArgument.
TEST_F(HttpServerTest, CreateWithBadHostFailsWithInvalidArgument) {
  HttpServerOptions options;
  options.host = "not-an-ip";
  auto server = HttpServer::Create(
      options, [](api::HttpRequest&) { return api::HttpResponse{}; }, metrics_, ids_, clock_);
  ASSERT_FALSE(server.has_value());
  EXPECT_EQ(server.error().code, ErrorCode::kInvalidArgument);
}

// Binding a port that is taken fails with kUnavailable.
TEST_F(HttpServerTest, CreateOnTakenPortFailsWithUnavailable) {
  StartServer();
  HttpServerOptions options;
  options.port = server_->port();
  auto second = HttpServer::Create(
      options, [](api::HttpRequest&) { return api::HttpResponse{}; }, metrics_, ids_, clock_);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace coffer::server
