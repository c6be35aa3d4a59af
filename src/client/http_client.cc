#include "client/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace coffer::client {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct BodySink {
  std::string* body;
  size_t max;  // 0: no limit
  bool overflow = false;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  if (sink->max != 0 && size * n > sink->max - std::min(sink->max, sink->body->size())) {
    sink->overflow = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  sink->body->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  std::string_view line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    headers->emplace_back(std::move(name), std::string(value));
  }
  return size * n;
}

// One handle per thread, reset between calls: curl_easy_reset keeps the
// handle's connection cache (and TLS sessions), so consecutive calls to one
// endpoint reuse a connection instead of paying a new handshake each time.
class ThreadHandle {
 public:
  ThreadHandle() : curl_(curl_easy_init()) {}
  ~ThreadHandle() {
    if (curl_ != nullptr) curl_easy_cleanup(curl_);
  }
  ThreadHandle(const ThreadHandle&) = delete;
  ThreadHandle& operator=(const ThreadHandle&) = delete;
  CURL* Get() {
    if (curl_ != nullptr) curl_easy_reset(curl_);
    return curl_;
  }

 private:
  CURL* curl_;
};

}  // namespace

std::string_view HttpResult::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return {};
}

Result<UrlParts> ParseUrl(std::string_view url) {
  UrlParts parts;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "URL " + std::string(url) + " has no scheme");
  }
  parts.scheme = std::string(url.substr(0, scheme_end));
  if (parts.scheme != "http" && parts.scheme != "https") {
    return Fail(ErrorCode::kInvalidArgument, "URL scheme must be http or https");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  size_t slash = rest.find_first_of("/?");
  parts.host = std::string(rest.substr(0, slash));
  if (parts.host.empty()) return Fail(ErrorCode::kInvalidArgument, "URL has no host");
  std::string_view tail = slash == std::string_view::npos ? "" : rest.substr(slash);
  size_t q = tail.find('?');
  parts.path = std::string(tail.substr(0, q));
  if (parts.path.empty()) parts.path = "/";
  if (q != std::string_view::npos) parts.query = std::string(tail.substr(q + 1));
  return parts;
}

Result<HttpResult> Perform(const HttpCall& call) {
  GlobalInit();
  thread_local ThreadHandle handle;
  CURL* curl = handle.Get();
  if (curl == nullptr) return Fail(ErrorCode::kInternal, "curl_easy_init failed");
  HttpResult result;
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : call.headers) {
    std::string line = k + ": " + v;
    headers = curl_slist_append(headers, line.c_str());
  }
  // libcurl adds "Expect: 100-continue" for large POSTs and an Accept header; suppress both.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (call.method != "GET" || !call.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, call.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  BodySink sink{&result.body, call.max_body};
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(call.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  // libcurl's defaults, spelled out so that no build or version can change them.
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!call.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, call.ca_file.c_str());
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_slist_free_all(headers);
  // The handle keeps no pointer into this call's buffers past here.
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  if (sink.overflow) {
    result.body.clear();
    return Fail(ErrorCode::kResourceExhausted, "the answer from " + call.url + " is larger than " +
                                                   std::to_string(call.max_body) + " bytes");
  }
  if (rc != CURLE_OK) {
    return Fail(ErrorCode::kUnavailable,
                "request to " + call.url + " failed: " + curl_easy_strerror(rc));
  }
  return result;
}

}  // namespace coffer::client
