// One AWS JSON 1.1 service (SSM, Secrets Manager, KMS) behind JsonFront.
// The front and the request pipeline (api/pipeline) do everything common to
// all of them: target routing, authentication, body parsing, resolving and
// authorizing the declared resources, response and error rendering, the audit
// record and metrics. A service is its handler table: for each operation,
// its IAM action, how the resources it acts on are found, and the handler.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "api/awsjson/fields.h"
#include "api/pipeline/pipeline.h"
#include "auth/authenticator.h"
#include "auth/authorizer.h"
#include "util/result.h"

namespace coffer::api::awsjson {

using pipeline::Access;
using pipeline::Accesses;
using pipeline::CallContext;

using pipeline::LookupContext;

// One operation, as the service's handler table declares it.
struct JsonOperation {
  // How the resources the operation acts on are found from its input, through
  // the domain's resolvers, each with the permission the request needs on it.
  using Resources = std::function<Result<Accesses>(const Fields& input, const LookupContext&)>;
  using Handler = std::function<Result<nlohmann::json>(const Fields& input, CallContext&)>;

  std::string action;  // "ssm:GetParameter"
  Resources resources;
  Handler handler;
};

// A lookup for operations on the account as a whole (CreateKey, ListKeys,
// DescribeParameters, ...): the action on "*", with `keys` from the input
// (aws:RequestTag/* of a create).
JsonOperation::Resources OnAccount(
    std::function<Result<auth::KeyMap>(const Fields& input)> keys = nullptr);

// Implementations are thread-safe (called from every io thread at once).
class JsonService {
 public:
  virtual ~JsonService() = default;
  // The X-Amz-Target prefix: "AmazonSSM", "secretsmanager", "TrentService".
  virtual std::string_view target_prefix() const = 0;
  // The SigV4 signing name, also the key into the error table: "ssm", ...
  virtual std::string_view signing_name() const = 0;
  // The handler-table entry of `operation` (e.g. "GetParameter"); null for
  // an operation the service does not have.
  virtual const JsonOperation* Find(std::string_view operation) const = 0;

  // Whether `operation` is one of the service's own (a closed set): only these
  // name metric series and audit records.
  bool HasOperation(std::string_view operation) const { return Find(operation) != nullptr; }
};

// A handler table, by operation name.
using OperationTable = pipeline::HandlerTable<JsonOperation>;

// Runs `operation` on `body` as the pipeline does after authentication:
// resolve the declared resources, authorize each, handle. For tests of a
// service on its own and for in-process callers; the wire goes through
// JsonFront. An unknown operation is kInvalidArgument (kUnknownOperation).
Result<nlohmann::json> Invoke(const JsonService& service, std::string_view operation,
                              const nlohmann::json& body, const auth::Authenticated& caller,
                              auth::RequestAuthorization& authz,
                              std::string_view request_id = "req-local");

}  // namespace coffer::api::awsjson
