// A tiny blocking TLS client for the listener's TLS tests, over OpenSSL on a
// RawConnection's socket: the tests choose the protocol versions, the cipher
// list and the client certificate, and read back what was negotiated and the
// server's certificate serial. Also makes test certificates with the openssl
// command-line tool (nothing is committed).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/http_client.h"

namespace coffer::server::testing {

enum class TlsVersion { k1_0, k1_1, k1_2, k1_3 };

struct TlsClientOptions {
  std::string ca_file;  // the server's certificate must chain to it ("": not verified)
  TlsVersion min_version = TlsVersion::k1_2;
  TlsVersion max_version = TlsVersion::k1_3;
  std::string ciphers;  // TLS 1.2 and older cipher list ("" = OpenSSL's default)
  std::string cert_file;  // client certificate and key ("" = none)
  std::string key_file;
};

class TlsConnection {
 public:
  // Connects to 127.0.0.1:port and runs the handshake; handshake_ok() tells
  // whether it succeeded, error() why not.
  TlsConnection(uint16_t port, const TlsClientOptions& options);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  bool handshake_ok() const { return ok_; }
  const std::string& error() const { return error_; }
  // "TLSv1.2", "TLSv1.3".
  std::string Version() const;
  // The server certificate's serial in upper-case hex ("" if none).
  std::string PeerSerial() const;

  bool Send(std::string_view bytes);
  // One response (headers + Content-Length body); nullopt when the server
  // closed the connection or the TLS session failed first.
  std::optional<ParsedResponse> ReadResponse();

 private:
  bool Fill();
  RawConnection raw_;
  struct Ssl;
  std::unique_ptr<Ssl> ssl_;
  bool ok_ = false;
  std::string error_;
  std::string buffer_;
};

// Runs `command` with /bin/sh; true when it exits 0.
bool RunShell(const std::string& command);

// Test PKI in `dir`, made with the openssl CLI (EC P-256 keys):
//   MakeCa(dir, "ca")  -> ca.pem, ca.key (a self-signed CA)
//   MakeLeaf(dir, "ca", "server1", 0x1001) -> server1.pem, server1.key signed by
//     the CA, serial 0x1001, subjectAltName IP:127.0.0.1 and DNS:localhost.
bool MakeCa(const std::string& dir, const std::string& name);
bool MakeLeaf(const std::string& dir, const std::string& ca, const std::string& name,
              unsigned serial);

}  // namespace coffer::server::testing
