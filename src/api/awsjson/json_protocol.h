// The AWS JSON 1.1 protocol front for every JSON service on the one port:
// routes by X-Amz-Target, authenticates with SigV4 (hashing the raw body before
// any parsing), parses the body, calls the service, and renders the result
// ({} for no output) or the error ({"__type": Code, "message": ...} with the
// status from errors.cc, plus x-amzn-RequestId and x-amzn-ErrorType).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/awsjson/json_service.h"
#include "api/http.h"
#include "audit/audit.h"
#include "auth/authenticator.h"
#include "auth/authorizer.h"
#include "util/metrics.h"
#include "util/time.h"

namespace coffer::api::awsjson {

// Thread-safe after all services are added.
class JsonProtocol {
 public:
  JsonProtocol(auth::Authenticator& authenticator, util::Metrics& metrics);

  // REQUIRES: called before Handle; one service per target prefix.
  void AddService(std::unique_ptr<JsonService> service);

  // The caller's compiled policies (null: deny everything but admin).
  using PolicyProvider =
      std::function<std::shared_ptr<const auth::CompiledPolicies>(const auth::Principal&)>;
  // Turns on policy evaluation for every call. REQUIRES: before Handle.
  void EnableAuthorization(PolicyProvider provider, util::Clock& clock);
  // Writes one audit record per request; refuses requests while the sink is
  // unhealthy (fail closed). REQUIRES: before Handle.
  void EnableAudit(audit::Sink& sink);

  // True when the request carries X-Amz-Target (a JSON protocol call).
  static bool Matches(const HttpRequest& request);

  // Always answers: errors are rendered in the protocol's shape, never thrown.
  HttpResponse Handle(const HttpRequest& request);

 private:
  auth::Authenticator& authenticator_;
  util::Metrics& metrics_;
  PolicyProvider policies_;
  util::Clock* clock_ = nullptr;
  audit::Sink* audit_ = nullptr;
  std::map<std::string, std::unique_ptr<JsonService>, std::less<>> services_;
};

}  // namespace coffer::api::awsjson
