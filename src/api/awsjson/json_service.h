// One AWS JSON 1.1 service (SSM, Secrets Manager, KMS) behind JsonProtocol.
// JsonProtocol does the framing common to all of them: target routing,
// authentication, body parsing, response and error rendering, metrics. A
// service maps a parsed request to the domain and back.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>
#include <string_view>

#include "auth/authenticator.h"
#include "auth/authorizer.h"
#include "util/result.h"

namespace coffer::api::awsjson {

struct CallContext {
  CallContext(const auth::Authenticated& caller, std::string_view request_id,
              std::string_view source_ip, auth::RequestAuthorization* authz = nullptr)
      : caller(caller), request_id(request_id), source_ip(source_ip), authz(authz) {}

  const auth::Authenticated& caller;
  std::string_view request_id;
  std::string_view source_ip;
  // The request's policy checks; null means "no authorization" (unit tests of a
  // service in isolation). Services call Authorize() below for each resource.
  auth::RequestAuthorization* authz;
};

// Checks `action` on `resource` for the caller (allowed when context.authz is
// null), with the resource's own policy when it has one (`resource_policy`).
// kPermissionDenied (kAccessDenied) with AWS's message otherwise.
inline Status Authorize(const CallContext& context, std::string_view action,
                        std::string_view resource,
                        const std::map<std::string, std::vector<std::string>>& keys = {},
                        const auth::CompiledPolicies* resource_policy = nullptr) {
  if (context.authz == nullptr) return Ok();
  return context.authz->Check(action, resource, keys, resource_policy);
}

// Same decision, for filtering list results (not recorded as the request's decision).
inline bool IsAllowed(const CallContext& context, std::string_view action,
                      std::string_view resource,
                      const std::map<std::string, std::vector<std::string>>& keys = {},
                      const auth::CompiledPolicies* resource_policy = nullptr) {
  return context.authz == nullptr ||
         context.authz->Allowed(action, resource, keys, resource_policy);
}

// Implementations are thread-safe (called from every io thread at once).
class JsonService {
 public:
  virtual ~JsonService() = default;
  // The X-Amz-Target prefix: "AmazonSSM", "secretsmanager", "TrentService".
  virtual std::string_view target_prefix() const = 0;
  // The SigV4 signing name, also the key into the error table: "ssm", ...
  virtual std::string_view signing_name() const = 0;
  // Whether `operation` is one of the service's own (a closed set): only these
  // name metric series and audit records; any other is counted as "unknown".
  virtual bool HasOperation(std::string_view operation) const = 0;
  // Runs `operation` (e.g. "GetParameter") on a parsed JSON object body.
  // Returns the JSON result object, or an Error that errors.cc maps to the
  // wire. An unknown operation returns kInvalidArgument with
  // Reason::kUnknownOperation.
  virtual Result<nlohmann::json> Call(std::string_view operation, const nlohmann::json& body,
                                      const CallContext& context) = 0;
};

}  // namespace coffer::api::awsjson
