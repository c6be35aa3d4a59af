#include "server/tls_client.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace coffer::server::testing {
namespace {

int ToOpenSsl(TlsVersion v) {
  switch (v) {
    case TlsVersion::k1_0: return TLS1_VERSION;
    case TlsVersion::k1_1: return TLS1_1_VERSION;
    case TlsVersion::k1_2: return TLS1_2_VERSION;
    case TlsVersion::k1_3: return TLS1_3_VERSION;
  }
  return 0;
}

std::string LastError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown TLS error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

}  // namespace

struct TlsConnection::Ssl {
  ~Ssl() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
};

TlsConnection::TlsConnection(uint16_t port, const TlsClientOptions& options)
    : raw_(port), ssl_(std::make_unique<Ssl>()) {
  ERR_clear_error();
  if (!raw_.connected()) {
    error_ = "connect failed";
    return;
  }
  ssl_->ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX* ctx = ssl_->ctx;
  SSL_CTX_set_min_proto_version(ctx, ToOpenSsl(options.min_version));
  SSL_CTX_set_max_proto_version(ctx, ToOpenSsl(options.max_version));
  if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1) {
    error_ = "bad cipher list: " + LastError();
    return;
  }
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
      error_ = "cannot load CA: " + LastError();
      return;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      error_ = "cannot load client certificate: " + LastError();
      return;
    }
  }
  ssl_->ssl = SSL_new(ctx);
  SSL_set_fd(ssl_->ssl, raw_.fd());
  SSL_set_tlsext_host_name(ssl_->ssl, "localhost");
  if (SSL_connect(ssl_->ssl) != 1) {
    error_ = "handshake failed: " + LastError();
    return;
  }
  ok_ = true;
}

TlsConnection::~TlsConnection() = default;

std::string TlsConnection::Version() const {
  return ok_ ? SSL_get_version(ssl_->ssl) : "";
}

std::string TlsConnection::PeerSerial() const {
  if (!ok_) return "";
  X509* cert = SSL_get1_peer_certificate(ssl_->ssl);
  if (cert == nullptr) return "";
  std::string out;
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      out = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  X509_free(cert);
  return out;
}

bool TlsConnection::Send(std::string_view bytes) {
  if (!ok_) return false;
  while (!bytes.empty()) {
    int n = SSL_write(ssl_->ssl, bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool TlsConnection::Fill() {
  char buf[8192];
  int n = SSL_read(ssl_->ssl, buf, sizeof(buf));
  if (n <= 0) {
    error_ = "read failed: " + LastError();
    return false;
  }
  buffer_.append(buf, static_cast<size_t>(n));
  return true;
}

std::optional<ParsedResponse> TlsConnection::ReadResponse() {
  if (!ok_) return std::nullopt;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill()) return std::nullopt;
  }
  ParsedResponse response;
  response.head = buffer_.substr(0, end + 2);
  buffer_.erase(0, end + 4);
  if (response.head.size() > 12) response.status = std::atoi(response.head.substr(9, 3).c_str());
  size_t length = static_cast<size_t>(std::atol(response.Header("Content-Length").c_str()));
  while (buffer_.size() < length) {
    if (!Fill()) return std::nullopt;
  }
  response.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  return response;
}

bool RunShell(const std::string& command) { return std::system(command.c_str()) == 0; }

bool MakeCa(const std::string& dir, const std::string& name) {
  return RunShell("cd '" + dir + "' && openssl req -x509 -newkey ec -pkeyopt "
                  "ec_paramgen_curve:P-256 -nodes -keyout " + name + ".key -out " + name +
                  ".pem -days 2 -subj '/CN=Coffer test CA " + name + "' >/dev/null 2>&1");
}

bool MakeLeaf(const std::string& dir, const std::string& ca, const std::string& name,
              unsigned serial) {
  {
    std::ofstream ext(dir + "/" + name + ".ext");
    ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        << "extendedKeyUsage=serverAuth,clientAuth\n";
  }
  char serial_hex[32];
  std::snprintf(serial_hex, sizeof(serial_hex), "0x%X", serial);
  return RunShell("cd '" + dir + "' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                  "-nodes -keyout " + name + ".key -out " + name + ".csr -subj '/CN=" + name +
                  "' >/dev/null 2>&1 && openssl x509 -req -in " + name + ".csr -CA " + ca +
                  ".pem -CAkey " + ca + ".key -set_serial " + serial_hex + " -days 2 -extfile " +
                  name + ".ext -out " + name + ".pem >/dev/null 2>&1");
}

}  // namespace coffer::server::testing
