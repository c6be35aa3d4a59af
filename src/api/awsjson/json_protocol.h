// The AWS JSON 1.1 protocol front for every JSON service on the one port:
// routes by X-Amz-Target, authenticates with SigV4 (hashing the raw body before
// any parsing), parses the body, calls the service, and renders the result
// ({} for no output) or the error ({"__type": Code, "message": ...} with the
// status from errors.cc, plus x-amzn-RequestId and x-amzn-ErrorType).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/awsjson/json_service.h"
#include "api/http.h"
#include "auth/authenticator.h"
#include "util/metrics.h"

namespace coffer::api::awsjson {

// Thread-safe after all services are added.
class JsonProtocol {
 public:
  JsonProtocol(auth::Authenticator& authenticator, util::Metrics& metrics);

  // REQUIRES: called before Handle; one service per target prefix.
  void AddService(std::unique_ptr<JsonService> service);

  // True when the request carries X-Amz-Target (a JSON protocol call).
  static bool Matches(const HttpRequest& request);

  // Always answers: errors are rendered in the protocol's shape, never thrown.
  HttpResponse Handle(const HttpRequest& request);

 private:
  auth::Authenticator& authenticator_;
  util::Metrics& metrics_;
  std::map<std::string, std::unique_ptr<JsonService>, std::less<>> services_;
};

}  // namespace coffer::api::awsjson
