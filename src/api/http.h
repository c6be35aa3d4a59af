// Plain HTTP request/response structs: what server/ hands to api/ and gets
// back. Only server/ sees Boost.Beast; api/ sees these.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace coffer::api {

struct HttpRequest {
  std::string method;  // "POST"
  std::string path;    // "/" (raw, not decoded)
  std::string query;   // raw query string without '?', "" if none
  // Headers as received, in order, with the client's name casing.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_ip;
  std::string request_id;  // assigned by server/, echoed in x-amzn-RequestId
  bool secure = false;     // arrived over TLS

  // First header named `name` (case-insensitive); "" if absent.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void SetHeader(std::string name, std::string value);
};

}  // namespace coffer::api
