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
#include <map>
#include <string>
#include <string_view>

#include "api/awsquery/query_protocol.h"
#include "domain/iam/identity_store.h"
#include "util/result.h"

namespace coffer::api::awsquery {

class IamService final : public QueryService {
 public:
  IamService(domain::iam::IdentityStore& identities, std::string account_id);

  std::string_view signing_name() const override { return "iam"; }
  std::string_view version() const override { return "2010-05-08"; }
  std::string_view xml_namespace() const override {
    return "https://iam.amazonaws.com/doc/2010-05-08/";
  }
  // Every action is iam:<Action> on the entity its table entry declares (the
  // user, group, role, instance profile, policy or OIDC provider ARN, with
  // the entity's path; "*" for listings). Errors: kInvalidArgument
  // (kValidation) for a field failing its constraint; kInvalidArgument
  // (kMalformedPolicy) for a bad policy document; the IdentityStore's errors
  // otherwise.
  const QueryOperation* Find(std::string_view action) const override;

 private:
  domain::iam::IdentityStore& identities_;
  std::string account_id_;
  pipeline::HandlerTable<QueryOperation> operations_;
};

}  // namespace coffer::api::awsquery
