// The one request pipeline every API front runs (the AWS JSON 1.1 front, the
// query front, and the REST fronts to come). Its stages, in order, written
// once here:
//
//   1. route         the front finds the service and operation the request
//                    names (closed sets: anything else is "unknown")
//   2. authenticate  SigV4 over the raw bytes (auth::Authenticator), unless
//                    the operation is one AWS serves unsigned and the request
//                    carries no signature
//   3. audit gate    nothing runs while requests cannot be audited
//   4. decode        the front parses the input (JSON body, form parameters)
//   5. resolve       the operation's handler-table entry says which resources
//                    it acts on and how they are found; the domain's resolvers
//                    turn what the request names into resolved resources
//   6. authorize     each declared Permission is checked (auth::Authorizer is
//                    required: there is no front without authorization)
//   7. handle        the operation runs on the resolved resources
//   8. audit record  one record per request, before the answer leaves (or the
//                    answer is withheld and the request refused)
//   9. metrics       counters and latency, labelled from closed sets only
//
// Errors are rendered by the front through its protocol's one error table;
// an error the table does not map is counted
// (coffer_unmapped_errors_total) and logged.
//
// A front implements Front (one per protocol) and Exchange (one per request);
// a service implements its handler table (see api/awsjson/json_service.h,
// api/awsquery/query_protocol.h). docs/architecture.md walks through adding
// an operation.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "audit/audit.h"
#include "auth/authenticator.h"
#include "auth/authorizer.h"
#include "domain/resource.h"
#include "util/metrics.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::api::pipeline {

// One resource an operation acts on, as its handler table declares it: the
// resolved resource (canonical ARN and name, tags, whether it exists) and the
// permission the request needs on it. A resource that does not exist still
// carries the ARN it would have, so that a refusal reveals nothing.
struct Access {
  std::string input;  // what the request named it by, as sent
  domain::ResolvedResource resource;
  // The permission the request needs on it; none when the input names nothing
  // here (an ARN of another account in a batch: the operation reports it).
  std::optional<auth::Permission> permission;
};
using Accesses = std::vector<Access>;

// What an operation's handler gets besides its input. Every request has an
// authorization (never null): handlers use it for what can only be decided
// while the operation runs (filtering a listing, a KMS key found in a stored
// value).
struct CallContext {
  // Null only for an operation served unsigned (AssumeRoleWithWebIdentity).
  const auth::Authenticated* caller;
  std::string_view request_id;
  std::string_view source_ip;
  bool secure;
  auth::RequestAuthorization& authz;
  // The resolved resources, in the order the handler table declared them;
  // each was authorized before the handler runs.
  const Accesses& resources;

  // The caller's ARN ("" for an unsigned call).
  std::string_view principal_arn() const {
    return caller != nullptr ? std::string_view(caller->principal.arn) : std::string_view();
  }
};

// An error as a front renders it.
struct RenderedError {
  HttpResponse response;
  std::string_view code;  // the wire error code ("ParameterNotFound"), from the table
  bool mapped = true;     // false: the table has no entry for the error
};

// What a handler table's resource lookup gets: the operation's action and
// the request's authorization (for whether resource tags are needed at all).
struct LookupContext {
  std::string_view action;  // the operation's IAM action, "ssm:GetParameter"
  const auth::Authenticated* caller;  // null only for an unsigned operation
  auth::RequestAuthorization& authz;

  // A permission for this operation's action on `resource`.
  auth::Permission On(std::string_view resource, auth::KeyMap keys = {}) const {
    return auth::Permission{std::string(action), std::string(resource), std::move(keys), nullptr,
                            auth::Permission::PolicyRole::kNone};
  }
};

// An operation that needs no permission, declared as such in its handler
// table (sts:GetCallerIdentity, as on AWS), or whose permission is decided
// by a policy only its handler can evaluate (sts:AssumeRole's trust policy):
// the table must say so; a missing lookup refuses the request.
inline Result<Accesses> NoDeclaredResource() { return Accesses{}; }

// A service's handler table: operation name -> its entry (an operation type
// with `action`, `resources` and `handler`: JsonOperation, QueryOperation).
template <class Entry>
using HandlerTable = std::map<std::string, Entry, std::less<>>;

// The entry of `name`; null when the table has none.
template <class Entry>
const Entry* FindEntry(const HandlerTable<Entry>& table, std::string_view name) {
  auto it = table.find(name);
  return it == table.end() ? nullptr : &it->second;
}

// Stage 5 for one entry: runs its declared resource lookup on `input`. An
// entry without one is refused (fail closed), never served.
template <class Entry, class Input>
Result<Accesses> LookUp(const Entry& entry, const Input& input,
                        const auth::Authenticated* caller, auth::RequestAuthorization& authz) {
  if (!entry.resources) {
    return Fail(ErrorCode::kInternal, "The operation declares no resource lookup.");
  }
  return entry.resources(input, LookupContext{entry.action, caller, authz});
}

// One request in one protocol: what the pipeline asks of the front for it.
class Exchange {
 public:
  virtual ~Exchange() = default;

  // Stage 1. The api ("ssm", "iam", ... or "unknown") and operation
  // ("GetParameter" or "unknown"), from closed sets only: they label metrics
  // and the audit record. Valid after Route, whatever it returned.
  virtual std::string_view api() const = 0;
  virtual std::string_view operation() const = 0;
  // A request the front cannot route (no such service, ambiguous target) is
  // refused before authentication.
  virtual Status Route() = 0;
  // Stage 2. The service name the signature must be scoped to.
  virtual std::string_view signing_name() const = 0;
  // How the payload may be covered by the signature (S3 accepts unsigned and
  // streaming payloads and presigned URLs; every other API signs the body).
  virtual auth::PayloadSigning payload_signing() const {
    return auth::PayloadSigning::kSignedOnly;
  }
  // Whether this request is served without a signature: the operation is
  // one AWS serves unsigned and the request carries no Authorization header.
  virtual bool Unsigned() const = 0;
  // Stage 4. Parses the input; an unknown operation is refused here.
  virtual Status Decode() = 0;
  // Stage 5. The resources the handler table declares for the operation,
  // resolved. `authz` tells whether resource tags are needed.
  virtual Result<Accesses> Resolve(const auth::Authenticated* caller,
                                   auth::RequestAuthorization& authz) = 0;
  // Stage 7. Runs the operation; the answer is kept for Render.
  virtual Status Handle(CallContext& context) = 0;
  // The stored values the answer carries or the write created
  // ("<ARN>#<version>"), for the audit record.
  virtual std::vector<std::string> ValueIds() const { return {}; }
  // The successful answer.
  virtual HttpResponse Render() = 0;
  // An error in the protocol's shape, through its one error table.
  virtual RenderedError RenderError(const Error& error) = 0;
};

// One wire protocol.
class Front {
 public:
  virtual ~Front() = default;
  // Whether `request` is this protocol's.
  virtual bool Matches(const HttpRequest& request) const = 0;
  virtual std::unique_ptr<Exchange> Open(const HttpRequest& request) = 0;
};

// Runs the stages for every front. Thread-safe (one request per call).
class Pipeline {
 public:
  // All are required and must outlive the pipeline.
  Pipeline(auth::Authenticator& authenticator, const auth::Authorizer& authorizer,
           audit::Sink& audit, util::Metrics& metrics, util::Clock& clock);

  // Always answers: every error is rendered in the front's shape.
  HttpResponse Handle(Front& front, const HttpRequest& request);

 private:
  auth::Authenticator& authenticator_;
  const auth::Authorizer& authorizer_;
  audit::Sink& audit_;
  util::Metrics& metrics_;
  util::Clock& clock_;
};

// Checks every declared permission, in order; the first refusal is returned.
Status AuthorizeAll(auth::RequestAuthorization& authz, const Accesses& accesses);

}  // namespace coffer::api::pipeline
