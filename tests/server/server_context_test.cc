#include "server/server_context.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "server/http_client.h"
#include "server/tls_client.h"
#include "support/matchers.h"
#include "support/temp_dir.h"
#include "util/log.h"

namespace coffer::server {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int Mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

class ServerContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    util::InitLogging(util::LogLevel::kOff);
    ASSERT_FALSE(root_.empty());
    options_.dev = true;
    options_.data_dir = root_ + "/data";
    options_.listen = "127.0.0.1:0";
    options_.http.io_threads = 1;
  }
  coffer::testing::ScopedTempDir temp_;
  const std::string& root_ = temp_.path();
  ServerOptions options_;
};

// HOST:PORT and [V6]:PORT parse; a missing or bad port is kInvalidArgument.
TEST_F(ServerContextTest, ParseListenAddressAcceptsHostPortAndRejectsBadPorts) {
  auto v4 = ParseListenAddress("127.0.0.1:8200");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 8200);
  auto v6 = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":80", "h:99999", "h:8x", "::1:80"}) {
    auto r = ParseListenAddress(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

// Loopback is 127.0.0.0/8, ::1 (also v4-mapped) and "localhost"; nothing else.
TEST_F(ServerContextTest, IsLoopbackHostKnowsLoopbackOnly) {
  for (const char* host : {"127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "localhost"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "::ffff:10.0.0.1",
                           "localhost.example.com", "example.com", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

// Plain HTTP beyond loopback is refused (naming both remedies) unless TLS is
// on or insecure_http is set; and Start() itself refuses it too.
TEST_F(ServerContextTest, PlainHttpBeyondLoopbackNeedsTlsOrInsecureHttp) {
  EXPECT_TRUE(CheckListenTransport(options_).has_value());
  options_.listen = "0.0.0.0:0";
  auto refused = CheckListenTransport(options_);
  ASSERT_TRUE(HasError(refused, ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_NE(refused.error().message.find("--tls-cert-file"), std::string::npos);
  EXPECT_NE(refused.error().message.find("--insecure-http"), std::string::npos);
  EXPECT_TRUE(HasError(Start(options_), ErrorCode::kInvalidArgument, Reason::kValidation));

  options_.insecure_http = true;
  EXPECT_TRUE(CheckListenTransport(options_).has_value());
  options_.insecure_http = false;
  options_.http.tls.cert_file = "server.pem";
  EXPECT_TRUE(CheckListenTransport(options_).has_value());
}

// With TLS the URL is https, and ReloadTls re-reads the files; without TLS
// ReloadTls is a no-op that succeeds (SIGHUP on a plain server).
TEST_F(ServerContextTest, TlsServerAnswersHttpsUrlAndReloads) {
  {
    auto plain = Start(options_);
    ASSERT_TRUE(plain.has_value()) << plain.error().message;
    EXPECT_TRUE(ReloadTls(**plain).has_value());
  }
  ASSERT_TRUE(testing::MakeCa(root_, "ca"));
  ASSERT_TRUE(testing::MakeLeaf(root_, "ca", "server", 0x3001));
  options_.http.tls.cert_file = root_ + "/server.pem";
  options_.http.tls.key_file = root_ + "/server.key";
  auto context = Start(options_);
  ASSERT_TRUE(context.has_value()) << context.error().message;
  EXPECT_TRUE((*context)->Url().starts_with("https://127.0.0.1:"));
  EXPECT_TRUE(ReloadTls(**context).has_value());
  testing::TlsClientOptions client;
  client.ca_file = root_ + "/ca.pem";
  testing::TlsConnection conn((*context)->http->port(), client);
  ASSERT_TRUE(conn.handshake_ok()) << conn.error();
  ASSERT_TRUE(conn.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto response = conn.ReadResponse();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
}

// Production mode (no --dev): the server starts sealed and uninitialized,
// keeps no root key on disk, answers /healthz 503 and the AWS APIs
// ServiceUnavailable; init then two of three shares unseal it. The share text
// and the answers never reach a failure message (only statuses are compared).
TEST_F(ServerContextTest, ProductionStartsSealedAndUnsealsWithShares) {
  options_.dev = false;
  auto context = Start(options_);
  ASSERT_TRUE(context.has_value()) << context.error().message;
  uint16_t port = (*context)->http->port();
  auto call = [&](std::string method, std::string path, std::string body,
                  std::string extra = "") -> testing::ParsedResponse {
    testing::RawConnection conn(port);
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: t\r\n" + extra +
                      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    EXPECT_TRUE(conn.Send(req));
    auto r = conn.ReadResponse();
    EXPECT_TRUE(r.has_value());
    return r.value_or(testing::ParsedResponse{});
  };
  EXPECT_EQ(call("GET", "/healthz", "").body, R"({"status":"sealed"})");
  auto ssm = call("POST", "/", "{}", "X-Amz-Target: AmazonSSM.GetParameter\r\n");
  EXPECT_EQ(ssm.status, 503);
  EXPECT_NE(ssm.body.find("ServiceUnavailable"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(options_.data_dir + "/root.key"));
  EXPECT_FALSE(std::filesystem::exists(options_.data_dir + "/credentials"));

  auto init = call("POST", "/v1/sys/init", R"({"shares":3,"threshold":2})");
  ASSERT_EQ(init.status, 200);
  std::vector<std::string> shares;
  for (size_t pos = init.body.find("\"shares\":[");
       (pos = init.body.find('"', pos + (shares.empty() ? 10 : 1))) != std::string::npos &&
       shares.size() < 3;) {
    size_t end = init.body.find('"', pos + 1);
    shares.push_back(init.body.substr(pos + 1, end - pos - 1));
    pos = end;
  }
  ASSERT_EQ(shares.size(), 3u);
  EXPECT_EQ(call("GET", "/healthz", "").status, 503);  // sealed after init
  EXPECT_EQ(call("POST", "/v1/sys/unseal", "{\"share\":\"" + shares[2] + "\"}").status, 200);
  EXPECT_EQ(call("GET", "/healthz", "").status, 503);
  EXPECT_EQ(call("POST", "/v1/sys/unseal", "{\"share\":\"" + shares[0] + "\"}").status, 200);
  EXPECT_EQ(call("GET", "/healthz", "").body, R"({"status":"ok"})");
  ssm = call("POST", "/", "{}", "X-Amz-Target: AmazonSSM.GetParameter\r\n");
  EXPECT_EQ(ssm.status, 403);  // now authentication refuses it (no signature)
  Stop(**context);
}

// A dev start creates the data dir (0700), the credentials (0600) and config
// files and serves /healthz; a restart on the same dir keeps the credentials.
TEST_F(ServerContextTest, DevStartWritesCredentialsAndRestartKeepsThem) {
  std::string credentials_path = options_.data_dir + "/credentials";
  std::string first_credentials;
  {
    auto context = Start(options_);
    ASSERT_TRUE(context.has_value()) << context.error().message;
    EXPECT_EQ(Mode(options_.data_dir), 0700);
    EXPECT_EQ(Mode(credentials_path), 0600);
    first_credentials = ReadFile(credentials_path);
    EXPECT_TRUE(first_credentials.starts_with("[default]\naws_access_key_id = "));
    EXPECT_NE(first_credentials.find("\naws_secret_access_key = "), std::string::npos);
    EXPECT_EQ(ReadFile(options_.data_dir + "/config"), "[default]\nregion = us-east-1\n");
    EXPECT_TRUE((*context)->Url().starts_with("http://127.0.0.1:"));

    testing::RawConnection conn((*context)->http->port());
    ASSERT_TRUE(conn.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto response = conn.ReadResponse();
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, R"({"status":"ok"})");
    Stop(**context);
  }
  auto again = Start(options_);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_TRUE(ReadFile(credentials_path) == first_credentials);  // not printed: holds a secret
}

// Every file of the data dir is the owner's alone, even when the server was
// started under a permissive umask (the database was 0644 before).
TEST_F(ServerContextTest, DevStartCreatesEveryDataFilePrivate) {
  ::umask(022);
  auto context = Start(options_);
  ASSERT_TRUE(context.has_value()) << context.error().message;
  testing::RawConnection conn((*context)->http->port());
  ASSERT_TRUE(conn.Send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(conn.ReadResponse().has_value());
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(options_.data_dir)) {
    names.push_back(entry.path().filename());
    EXPECT_EQ(Mode(entry.path()), entry.is_directory() ? 0700 : 0600) << entry.path();
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "coffer.db"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "root.key"), names.end());
  Stop(**context);
}

// A data dir inside a git work tree that git does not ignore is refused before
// it is created (here the .git entry is not even a repository git can read, so
// git cannot vouch for it either).
TEST_F(ServerContextTest, DataDirInsideUnignoredGitWorkTreeIsRefused) {
  ASSERT_TRUE(std::filesystem::create_directory(root_ + "/.git"));
  auto context = Start(options_);
  ASSERT_FALSE(context.has_value());
  EXPECT_EQ(context.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(context.error().message.find(".gitignore"), std::string::npos)
      << context.error().message;
  EXPECT_FALSE(std::filesystem::exists(options_.data_dir));
}

}  // namespace
}  // namespace coffer::server
