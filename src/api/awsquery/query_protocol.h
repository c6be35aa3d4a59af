// The AWS query protocol front (STS, IAM): form-encoded POST bodies with
// Action= and Version=, XML responses, and the <ErrorResponse> error envelope.
// Routes by the SigV4 credential scope's service, or, for the unsigned
// AssumeRoleWithWebIdentity, by Version.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "api/pipeline/pipeline.h"
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

using pipeline::Access;
using pipeline::Accesses;
using pipeline::CallContext;
using pipeline::LookupContext;

// One action of a query service, as its handler table declares it.
struct QueryOperation {
  // How the resources the action acts on are found from its parameters, each
  // with the permission the request needs on it.
  using Resources =
      std::function<Result<Accesses>(const QueryParams& params, const LookupContext&)>;
  // Returns the inner XML of <ActionResult> ("" for none).
  using Handler = std::function<Result<std::string>(const QueryParams& params, CallContext&)>;

  std::string action;          // "iam:CreateUser"
  Resources resources;
  Handler handler;
  bool served_unsigned = false;  // AWS serves it without a signature
};

// One query-protocol service: its handler table. Thread-safe.
class QueryService {
 public:
  virtual ~QueryService() = default;
  virtual std::string_view signing_name() const = 0;  // "sts" | "iam"
  virtual std::string_view version() const = 0;       // "2011-06-15" | "2010-05-08"
  virtual std::string_view xml_namespace() const = 0;
  // The handler-table entry of `action` ("CreateUser"); null for an action
  // the service does not have.
  virtual const QueryOperation* Find(std::string_view action) const = 0;

  bool HasAction(std::string_view action) const { return Find(action) != nullptr; }
};

// The query front: routes by the SigV4 credential scope's service, or, for an
// unsigned call, by Version; renders <ActionResponse> and <ErrorResponse>.
class QueryProtocol final : public pipeline::Front {
 public:
  void AddService(std::unique_ptr<QueryService> service);

  // True for a form-encoded POST without X-Amz-Target.
  bool Matches(const HttpRequest& request) const override;
  std::unique_ptr<pipeline::Exchange> Open(const HttpRequest& request) override;

 private:
  std::vector<std::unique_ptr<QueryService>> services_;
};

// The error envelope for `service`'s namespace; the code/status come from the
// protocol's one error table.
pipeline::RenderedError QueryErrorResponse(const QueryService* service, const Error& error,
                                           std::string_view request_id);

}  // namespace coffer::api::awsquery
