// IAM over the query protocol (Action=<Op>&Version=2010-05-08, XML results as
// botocore parses them): users, access keys, groups, roles, managed and inline
// policies, attachments and OIDC providers, over domain::iam::IdentityStore.
// docs/iam.md lists the operations and the differences from AWS.
//
// Input is validated here (names, paths, durations, thumbprints, and policy
// documents with auth::ParsePolicy -> MalformedPolicyDocument); documents are
// returned URL-encoded (RFC 3986), as AWS does and botocore expects.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "api/awsquery/query_protocol.h"
#include "domain/iam/identity_store.h"
#include "util/result.h"

namespace coffer::api::awsquery {

class IamService final : public QueryService {
 public:
  // Decides whether the caller may run `action` ("iam:CreateUser") on
  // `resource` (the IAM ARN the action addresses, "*" for List* actions).
  // Returns kPermissionDenied (Reason::kAccessDenied) to refuse.
  using Authorizer = std::function<Status(const QueryContext& context, std::string_view action,
                                          std::string_view resource)>;

  IamService(domain::iam::IdentityStore& identities, std::string account_id);

  std::string_view signing_name() const override { return "iam"; }
  std::string_view version() const override { return "2010-05-08"; }
  std::string_view xml_namespace() const override {
    return "https://iam.amazonaws.com/doc/2010-05-08/";
  }
  bool IsUnsigned(std::string_view) const override { return false; }
  bool HasAction(std::string_view action) const override;
  // Errors: kInvalidArgument (kUnknownOperation) for an unknown action;
  // kInvalidArgument (kValidation) for a field failing its constraint;
  // kInvalidArgument (kMalformedPolicy) for a bad policy document; the
  // IdentityStore's errors otherwise; the authorizer's refusal.
  Result<std::string> Call(std::string_view action, const QueryParams& params,
                           const QueryContext& context) override;

  // Authorization hook: without one, every authenticated caller may call IAM.
  // Set once before serving (not thread-safe against concurrent Call).
  void SetAuthorizer(Authorizer authorizer) { authorizer_ = std::move(authorizer); }

 private:
  domain::iam::IdentityStore& identities_;
  std::string account_id_;
  Authorizer authorizer_;
};

}  // namespace coffer::api::awsquery
