// TLS on the listener (HttpServerOptions::tls): protocol floor, cipher policy,
// certificate checks at Create(), reload, client certificates. Certificates are
// made at test time with the openssl command-line tool in a temporary folder.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "server/http_client.h"
#include "server/http_server.h"
#include "server/tls_client.h"
#include "support/matchers.h"
#include "support/temp_dir.h"
#include "util/log.h"

namespace coffer::server {
namespace {

using testing::MakeCa;
using testing::MakeLeaf;
using testing::RawConnection;
using testing::TlsClientOptions;
using testing::TlsConnection;
using testing::TlsVersion;

constexpr char kGet[] = "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class HttpServerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { util::InitLogging(util::LogLevel::kOff); }

  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    ASSERT_TRUE(MakeCa(dir_.path(), "ca"));
    ASSERT_TRUE(MakeLeaf(dir_.path(), "ca", "server1", 0x1001));
    ASSERT_TRUE(MakeLeaf(dir_.path(), "ca", "server2", 0x1002));
    // The files the server is configured with; tests replace them to reload.
    Copy("server1", "live");
  }

  void Copy(const std::string& from, const std::string& to) {
    namespace fs = std::filesystem;
    for (const char* ext : {".pem", ".key"}) {
      fs::copy_file(dir_.File(from + ext), dir_.File(to + ext),
                    fs::copy_options::overwrite_existing);
    }
  }

  TlsOptions LiveTls() {
    TlsOptions tls;
    tls.cert_file = dir_.File("live.pem");
    tls.key_file = dir_.File("live.key");
    return tls;
  }

  Result<std::unique_ptr<HttpServer>> Create(HttpServerOptions options) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 1;
    return HttpServer::Create(
        options,
        [](api::HttpRequest& request) {
          api::HttpResponse response;
          response.body = "hello " + request.path;
          return response;
        },
        metrics_, ids_, clock_);
  }

  void StartServer(TlsOptions tls) {
    HttpServerOptions options;
    options.tls = std::move(tls);
    auto server = Create(options);
    ASSERT_TRUE(server.has_value()) << server.error().message;
    server_ = std::move(*server);
    server_->Start();
  }

  TlsClientOptions Client() {
    TlsClientOptions client;
    client.ca_file = dir_.File("ca.pem");
    return client;
  }

  // One GET over `conn`; true when it was answered 200.
  static bool Get(TlsConnection& conn) {
    if (!conn.Send(kGet)) return false;
    auto response = conn.ReadResponse();
    return response.has_value() && response->status == 200 && response->body == "hello /hello";
  }

  coffer::testing::ScopedTempDir dir_;
  util::Metrics metrics_;
  util::SequentialIdGenerator ids_;
  util::SystemClock clock_;
  std::unique_ptr<HttpServer> server_;
};

// TLS 1.2 with a forward-secret AEAD suite: the handshake verifies against the
// CA and a request is answered.
TEST_F(HttpServerTlsTest, Tls12HandshakeVerifiesAndServes) {
  StartServer(LiveTls());
  TlsClientOptions client = Client();
  client.max_version = TlsVersion::k1_2;
  TlsConnection conn(server_->port(), client);
  ASSERT_TRUE(conn.handshake_ok()) << conn.error();
  EXPECT_EQ(conn.Version(), "TLSv1.2");
  EXPECT_EQ(conn.PeerSerial(), "1001");
  EXPECT_TRUE(Get(conn));
  EXPECT_TRUE(server_->tls());
}

// TLS 1.3: the handshake verifies and a keep-alive connection serves twice.
TEST_F(HttpServerTlsTest, Tls13HandshakeVerifiesAndServesKeepAlive) {
  StartServer(LiveTls());
  TlsClientOptions client = Client();
  client.min_version = TlsVersion::k1_3;
  TlsConnection conn(server_->port(), client);
  ASSERT_TRUE(conn.handshake_ok()) << conn.error();
  EXPECT_EQ(conn.Version(), "TLSv1.3");
  EXPECT_TRUE(Get(conn));
  EXPECT_TRUE(Get(conn));
}

// TLS 1.0 and 1.1 are refused even when the client lowers its own security
// level to offer them.
TEST_F(HttpServerTlsTest, Tls10AndTls11AreRefused) {
  StartServer(LiveTls());
  for (TlsVersion old : {TlsVersion::k1_0, TlsVersion::k1_1}) {
    TlsClientOptions client = Client();
    client.min_version = old;
    client.max_version = old;
    client.ciphers = "DEFAULT@SECLEVEL=0";
    TlsConnection conn(server_->port(), client);
    EXPECT_FALSE(conn.handshake_ok()) << "TLS version " << static_cast<int>(old);
  }
}

// A TLS 1.2 client offering only a CBC suite (allowed by OpenSSL's defaults)
// finds no shared cipher: only ECDHE with AES-GCM or ChaCha20 is served.
TEST_F(HttpServerTlsTest, Tls12CbcSuiteIsRefused) {
  StartServer(LiveTls());
  TlsClientOptions client = Client();
  client.max_version = TlsVersion::k1_2;
  client.ciphers = "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384";
  TlsConnection conn(server_->port(), client);
  EXPECT_FALSE(conn.handshake_ok());
}

// Plain HTTP sent to the TLS port gets no HTTP answer: the connection closes.
TEST_F(HttpServerTlsTest, PlainHttpOnTlsPortIsClosed) {
  StartServer(LiveTls());
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.Send(kGet));
  EXPECT_FALSE(conn.ReadResponse().has_value());
}

// A client that connects and never starts the handshake is closed when
// header_timeout runs out: the handshake counts against it.
TEST_F(HttpServerTlsTest, SilentClientIsClosedAtHeaderTimeout) {
  HttpServerOptions options;
  options.tls = LiveTls();
  options.header_timeout = std::chrono::milliseconds(50);
  auto server = Create(options);
  ASSERT_TRUE(server.has_value()) << server.error().message;
  server_ = std::move(*server);
  server_->Start();
  RawConnection conn(server_->port());
  ASSERT_TRUE(conn.connected());
  EXPECT_TRUE(conn.WaitForClose());
}

// A key that belongs to another certificate is refused at Create() with a
// message naming the files, and no key bytes.
TEST_F(HttpServerTlsTest, CreateRefusesKeyOfAnotherCertificate) {
  HttpServerOptions options;
  options.tls.cert_file = dir_.File("server1.pem");
  options.tls.key_file = dir_.File("server2.key");
  auto server = Create(options);
  ASSERT_TRUE(HasError(server, ErrorCode::kInvalidArgument, Reason::kValidation));
  const std::string& message = server.error().message;
  EXPECT_NE(message.find("server2.key"), std::string::npos) << message;
  std::string key = ReadFile(dir_.File("server2.key"));
  std::istringstream lines(key);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("-----") || line.size() < 16) continue;
    EXPECT_EQ(message.find(line.substr(0, 16)), std::string::npos) << "key bytes in the error";
  }
}

// Missing or unparsable files are refused at Create() with kInvalidArgument.
TEST_F(HttpServerTlsTest, CreateRefusesMissingAndBadFiles) {
  HttpServerOptions options;
  options.tls.cert_file = dir_.File("absent.pem");
  options.tls.key_file = dir_.File("server1.key");
  auto missing = Create(options);
  ASSERT_TRUE(HasError(missing, ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_NE(missing.error().message.find("absent.pem"), std::string::npos);

  { std::ofstream(dir_.File("junk.pem")) << "not a certificate\n"; }
  options.tls.cert_file = dir_.File("junk.pem");
  EXPECT_TRUE(HasError(Create(options), ErrorCode::kInvalidArgument, Reason::kValidation));

  options.tls.cert_file = dir_.File("server1.pem");
  options.tls.key_file = "";
  EXPECT_TRUE(HasError(Create(options), ErrorCode::kInvalidArgument, Reason::kValidation));
}

// Client authentication needs a client CA, and a client CA needs client
// authentication: either alone is refused rather than silently ignored.
TEST_F(HttpServerTlsTest, CreateRefusesInconsistentClientAuth) {
  HttpServerOptions options;
  options.tls = LiveTls();
  options.tls.client_auth = ClientAuth::kRequire;
  EXPECT_TRUE(HasError(Create(options), ErrorCode::kInvalidArgument, Reason::kValidation));
  options.tls.client_auth = ClientAuth::kNone;
  options.tls.client_ca_file = dir_.File("ca.pem");
  EXPECT_TRUE(HasError(Create(options), ErrorCode::kInvalidArgument, Reason::kValidation));
}

// ReloadTls: new connections get the certificate now on disk, while a
// keep-alive connection opened before the reload keeps working on the old one.
TEST_F(HttpServerTlsTest, ReloadServesNewCertificateAndOpenConnectionKeepsWorking) {
  StartServer(LiveTls());
  TlsConnection before(server_->port(), Client());
  ASSERT_TRUE(before.handshake_ok()) << before.error();
  ASSERT_TRUE(Get(before));
  EXPECT_EQ(before.PeerSerial(), "1001");

  Copy("server2", "live");
  ASSERT_TRUE(server_->ReloadTls().has_value());

  TlsConnection after(server_->port(), Client());
  ASSERT_TRUE(after.handshake_ok()) << after.error();
  EXPECT_EQ(after.PeerSerial(), "1002");
  EXPECT_TRUE(Get(after));
  EXPECT_TRUE(Get(before));  // the open connection still serves
  EXPECT_EQ(before.PeerSerial(), "1001");
}

// A reload with a broken certificate (or a key that no longer matches) fails
// and changes nothing: new connections still get the old certificate.
TEST_F(HttpServerTlsTest, ReloadWithBadFilesKeepsTheOldCertificate) {
  StartServer(LiveTls());
  { std::ofstream(dir_.File("live.pem"), std::ios::trunc) << "-----BEGIN CERTIFICATE-----\n"; }
  EXPECT_TRUE(HasError(server_->ReloadTls(), ErrorCode::kInvalidArgument, Reason::kValidation));
  std::filesystem::copy_file(dir_.File("server2.pem"), dir_.File("live.pem"),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_TRUE(HasError(server_->ReloadTls(), ErrorCode::kInvalidArgument, Reason::kValidation));

  TlsConnection conn(server_->port(), Client());
  ASSERT_TRUE(conn.handshake_ok()) << conn.error();
  EXPECT_EQ(conn.PeerSerial(), "1001");
  EXPECT_TRUE(Get(conn));
}

// Without TLS there is nothing to reload.
TEST_F(HttpServerTlsTest, ReloadWithoutTlsFailsWithFailedPrecondition) {
  StartServer(TlsOptions{});
  EXPECT_FALSE(server_->tls());
  EXPECT_TRUE(HasError(server_->ReloadTls(), ErrorCode::kFailedPrecondition));
}

// client_auth = require: a client without a certificate, or with one from
// another CA, gets no answer; one signed by the client CA is served.
TEST_F(HttpServerTlsTest, RequiredClientCertificateMustChainToClientCa) {
  ASSERT_TRUE(MakeCa(dir_.path(), "clientca"));
  ASSERT_TRUE(MakeLeaf(dir_.path(), "clientca", "alice", 0x2001));
  ASSERT_TRUE(MakeLeaf(dir_.path(), "ca", "mallory", 0x2002));  // the server CA, not the client CA
  TlsOptions tls = LiveTls();
  tls.client_ca_file = dir_.File("clientca.pem");
  tls.client_auth = ClientAuth::kRequire;
  StartServer(tls);

  TlsConnection anonymous(server_->port(), Client());
  EXPECT_FALSE(anonymous.handshake_ok() && Get(anonymous));

  TlsClientOptions wrong = Client();
  wrong.cert_file = dir_.File("mallory.pem");
  wrong.key_file = dir_.File("mallory.key");
  TlsConnection impostor(server_->port(), wrong);
  EXPECT_FALSE(impostor.handshake_ok() && Get(impostor));

  TlsClientOptions good = Client();
  good.cert_file = dir_.File("alice.pem");
  good.key_file = dir_.File("alice.key");
  TlsConnection alice(server_->port(), good);
  ASSERT_TRUE(alice.handshake_ok()) << alice.error();
  EXPECT_TRUE(Get(alice));
}

// client_auth = request: a client without a certificate is served, one with a
// certificate from another CA is refused.
TEST_F(HttpServerTlsTest, RequestedClientCertificateIsOptionalButChecked) {
  ASSERT_TRUE(MakeCa(dir_.path(), "clientca"));
  ASSERT_TRUE(MakeLeaf(dir_.path(), "ca", "mallory", 0x2002));
  TlsOptions tls = LiveTls();
  tls.client_ca_file = dir_.File("clientca.pem");
  tls.client_auth = ClientAuth::kRequest;
  StartServer(tls);

  TlsConnection anonymous(server_->port(), Client());
  ASSERT_TRUE(anonymous.handshake_ok()) << anonymous.error();
  EXPECT_TRUE(Get(anonymous));

  TlsClientOptions wrong = Client();
  wrong.cert_file = dir_.File("mallory.pem");
  wrong.key_file = dir_.File("mallory.key");
  TlsConnection impostor(server_->port(), wrong);
  EXPECT_FALSE(impostor.handshake_ok() && Get(impostor));
}

}  // namespace
}  // namespace coffer::server
