// A fixture for API-level tests of the JSON services (SSM, Secrets Manager,
// KMS): the domain stores of DomainTest plus an admin caller, and ONE method,
// CallService(), through which every test calls a service. When the way a
// service is called changes, this is the one place to adapt.
// Header-only; link api/awsjson, auth and the domain modules.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string_view>
#include <utility>

#include "api/awsjson/json_service.h"
#include "auth/authorizer.h"
#include "support/domain_fixture.h"
#include "util/result.h"

namespace coffer::testing {

class JsonApiTest : public DomainTest {
 protected:
  explicit JsonApiTest(DomainOptions options = {}) : DomainTest(std::move(options)) {
    admin_.principal.arn = "arn:aws:iam::" + domain_.options.account_id + ":user/admin";
    admin_.principal.account_id = domain_.options.account_id;
    admin_.scope.region = domain_.options.region;
    user_.principal.arn = "arn:aws:iam::" + domain_.options.account_id + ":user/app";
    user_.principal.user_name = "app";
    user_.principal.account_id = domain_.options.account_id;
    user_.principal.access_key_id = "AKIAAPP";
    user_.scope.region = domain_.options.region;
  }

  // Runs `op` on `service` as `caller` (api::awsjson::Invoke: the declared
  // resources are resolved and authorized, then the handler runs), under
  // `authz` when given, else under an authorization that allows everything,
  // asked for by name (the service in isolation).
  static Result<nlohmann::json> CallService(api::awsjson::JsonService& service, std::string_view op,
                                            const nlohmann::json& body,
                                            const auth::Authenticated& caller,
                                            auth::RequestAuthorization* authz = nullptr,
                                            std::string_view request_id = "req-1") {
    if (authz != nullptr) return api::awsjson::Invoke(service, op, body, caller, *authz, request_id);
    auth::RequestAuthorization allow_all(auth::RequestAuthorization::AllowAllTag{},
                                         caller.principal, "127.0.0.1", true,
                                         std::chrono::system_clock::now());
    return api::awsjson::Invoke(service, op, body, caller, allow_all, request_id);
  }
  // As the admin, allowed everything.
  Result<nlohmann::json> CallService(api::awsjson::JsonService& service, std::string_view op,
                                     const nlohmann::json& body) {
    return CallService(service, op, body, admin_);
  }

  // The administrator "admin" and a plain user "app" (AKIAAPP) of the account.
  auth::Authenticated admin_;
  auth::Authenticated user_;
  // Compiles the identity policies of a test's calls; bump generation_ per call.
  auth::PolicyCache policies_;
  uint64_t generation_ = 0;
};

}  // namespace coffer::testing
