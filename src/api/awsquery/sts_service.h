// STS over the query protocol (Action=<Op>&Version=2011-06-15): who am I,
// and temporary credentials for roles.
//
//   GetCallerIdentity          signed; always allowed (as on AWS)
//   AssumeRole                 signed; the role's trust policy must allow the
//                              caller (sts:AssumeRole), and unless it names the
//                              caller's ARN itself, the caller's identity
//                              policies must allow sts:AssumeRole on the role
//   AssumeRoleWithWebIdentity  unsigned (as awscli sends it); the token is
//                              verified by auth::OidcVerifier against the
//                              registered OIDC provider for its issuer, then
//                              the role's trust policy decides with the
//                              claims as condition keys "<issuer-host>:<claim>"
//
// Sessions last DurationSeconds (900..43200, default 3600) capped by nothing:
// a duration above the role's MaxSessionDuration is refused, as on AWS.
// Session policies (Policy, PolicyArns) and session tags are not supported and
// are refused with ValidationError rather than ignored.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "api/awsquery/query_protocol.h"
#include "auth/oidc.h"
#include "domain/iam/identity_store.h"
#include "util/result.h"
#include "util/time.h"

namespace coffer::api::awsquery {

class StsService final : public QueryService {
 public:
  StsService(domain::iam::IdentityStore& identities, auth::OidcVerifier& oidc,
             util::Clock& clock);

  std::string_view signing_name() const override { return "sts"; }
  std::string_view version() const override { return "2011-06-15"; }
  std::string_view xml_namespace() const override {
    return "https://sts.amazonaws.com/doc/2011-06-15/";
  }
  // GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity (served
  // unsigned). Errors: kInvalidArgument (kValidation) for bad members and
  // durations; kPermissionDenied (kAccessDenied) when the role may not be
  // assumed (also for a role that does not exist, as on AWS); kUnauthenticated
  // with kInvalidIdentityToken / kExpiredIdentityToken /
  // kIdpCommunicationError for web identity tokens.
  const QueryOperation* Find(std::string_view action) const override;

 private:
  Result<std::string> GetCallerIdentity(CallContext& context);
  Result<std::string> AssumeRole(const QueryParams& params, CallContext& context);
  Result<std::string> AssumeRoleWithWebIdentity(const QueryParams& params,
                                                CallContext& context);

  domain::iam::IdentityStore& identities_;
  auth::OidcVerifier& oidc_;
  util::Clock& clock_;
  pipeline::HandlerTable<QueryOperation> operations_;
};

}  // namespace coffer::api::awsquery
