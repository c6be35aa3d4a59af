// client: how coffer's command-line roles (cli/, login, agent/, files/) talk
// to a server: a small blocking HTTP client over libcurl (the only includer of
// <curl/...>), SigV4 signing over sigv4/, and AWS configuration/credential
// resolution. It reaches any AWS-compatible endpoint, Coffer or AWS.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace coffer::client {

struct HttpResult {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;

  std::string_view Header(std::string_view lower_name) const;
};

struct HttpCall {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
  // PEM bundle of CAs to trust for https instead of the system's ("": system).
  // The server's certificate and host name are always verified; there is no
  // switch to turn that off.
  std::string ca_file;
  // Largest answer body accepted (0: no limit). A larger one aborts the
  // transfer: Perform fails with kResourceExhausted and keeps nothing of it.
  size_t max_body = 0;
};

// Performs one request (https: TLS 1.2 or newer, certificate and host name
// verified). kResourceExhausted when the body exceeds call.max_body.
// kUnavailable when the server cannot be reached or the
// transfer fails (the message names the URL and curl's reason); any HTTP status
// is a successful transfer. Thread-safe (one reused curl handle per thread, so
// calls to the same endpoint from one thread share a kept-alive connection).
Result<HttpResult> Perform(const HttpCall& call);

// "http://127.0.0.1:8080/path?q" -> host header value "127.0.0.1:8080", path "/path", query "q".
struct UrlParts {
  std::string scheme;
  std::string host;  // with port if given
  std::string path;  // "/" when empty
  std::string query;
};
Result<UrlParts> ParseUrl(std::string_view url);

}  // namespace coffer::client
