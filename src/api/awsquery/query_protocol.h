// The AWS query protocol front (STS, IAM): form-encoded POST bodies with
// Action= and Version=, XML responses, and the <ErrorResponse> error envelope.
// Routes by the SigV4 credential scope's service, or, for the unsigned
// AssumeRoleWithWebIdentity, by Version.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "audit/audit.h"
#include "util/time.h"
#include "auth/authenticator.h"
#include "util/metrics.h"
#include "util/result.h"

namespace coffer::api::awsquery {

// Decoded form parameters ("Tags.member.1.Key" style names kept flat).
class QueryParams {
 public:
  // Parses an application/x-www-form-urlencoded body. kInvalidArgument on a bad escape.
  static Result<QueryParams> Parse(std::string_view body);

  // The value of `name`, or nullptr.
  const std::string* Find(std::string_view name) const;
  // Required string: kInvalidArgument (kValidation) naming the missing member.
  Result<std::string> Required(std::string_view name) const;
  std::string Optional(std::string_view name, std::string_view fallback = "") const;
  // "<prefix>.member.1", "<prefix>.member.2", ... until the first gap.
  std::vector<std::string> List(std::string_view prefix) const;
  // Tags.member.N.Key / .Value pairs.
  std::vector<std::pair<std::string, std::string>> KeyValueList(std::string_view prefix,
                                                               std::string_view key_name,
                                                               std::string_view value_name) const;
  const std::map<std::string, std::string, std::less<>>& all() const { return values_; }

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

// Minimal XML writer: elements with escaped text.
class Xml {
 public:
  Xml& Open(std::string_view name);
  Xml& Close(std::string_view name);
  Xml& Element(std::string_view name, std::string_view text);
  Xml& Raw(std::string_view xml);
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};
std::string XmlEscape(std::string_view text);

// What a service tells the audit record about its authorization decision.
struct AuditNote {
  std::string resource;    // the ARN the decision was about
  std::string decision;    // "allow" | "explicit-deny" | "implicit-deny"
  std::string decided_by;  // "<policy>#<statement>", "" for an implicit deny

  // Keeps the first deny, else the latest allow (as the JSON front does).
  void Record(std::string_view resource_arn, std::string_view kind, std::string by);
};

struct QueryContext {
  // Null for an unsigned call (AssumeRoleWithWebIdentity).
  const auth::Authenticated* caller;
  std::string_view request_id;
  std::string_view source_ip;
  bool secure;
  // Where the service notes its authorization decision for the audit record;
  // null when nothing is audited.
  AuditNote* audit = nullptr;
};

// One query-protocol service. Thread-safe.
class QueryService {
 public:
  virtual ~QueryService() = default;
  virtual std::string_view signing_name() const = 0;  // "sts" | "iam"
  virtual std::string_view version() const = 0;       // "2011-06-15" | "2010-05-08"
  virtual std::string_view xml_namespace() const = 0;
  // Actions that are served without a signature.
  virtual bool IsUnsigned(std::string_view action) const = 0;
  // Whether `action` is one of the service's own (a closed set): only these
  // name metric series and audit records; any other is counted as "unknown".
  virtual bool HasAction(std::string_view action) const = 0;
  // Runs `action`, returning the inner XML of <ActionResult> ("" for none).
  // kInvalidArgument with Reason::kUnknownOperation for an unknown action.
  virtual Result<std::string> Call(std::string_view action, const QueryParams& params,
                                   const QueryContext& context) = 0;
};

class QueryProtocol {
 public:
  QueryProtocol(auth::Authenticator& authenticator, util::Metrics& metrics);
  void AddService(std::unique_ptr<QueryService> service);
  // Writes one audit record per request and refuses requests while the sink
  // is unhealthy (fail closed). REQUIRES: before Handle.
  void EnableAudit(audit::Sink& sink, util::Clock& clock);

  // True for a form-encoded POST without X-Amz-Target.
  static bool Matches(const HttpRequest& request);
  HttpResponse Handle(const HttpRequest& request);

 private:
  auth::Authenticator& authenticator_;
  util::Metrics& metrics_;
  audit::Sink* audit_ = nullptr;
  util::Clock* clock_ = nullptr;
  std::vector<std::unique_ptr<QueryService>> services_;
};

// The error envelope for `service`'s namespace; the code/status come from errors.cc.
HttpResponse QueryErrorResponse(const QueryService* service, const Error& error,
                                std::string_view request_id);

}  // namespace coffer::api::awsquery
