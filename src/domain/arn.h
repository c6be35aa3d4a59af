// ARNs of domain resources, in AWS's exact forms.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace coffer::domain {

// arn:aws:ssm:<region>:<account>:parameter/<name without its leading '/'>
// ("/app/db" -> "...:parameter/app/db", "foo" -> "...:parameter/foo").
std::string ParameterArn(std::string_view region, std::string_view account,
                         std::string_view name);

// arn:aws:secretsmanager:<region>:<account>:secret:<name>[-<suffix>]: with
// `suffix` (the 6 random characters) a secret's full ARN, without it the
// partial ARN a policy matches for a secret that does not exist yet.
std::string SecretArn(std::string_view region, std::string_view account, std::string_view name,
                      std::string_view suffix = "");

// arn:aws:kms:<region>:<account>: -- followed by "key/<id>" or "alias/<name>".
std::string KmsArnPrefix(std::string_view region, std::string_view account);

// arn:aws:iam::<account>:<type><path><name>, e.g. ("user", "/ci/", "deploy")
// -> "arn:aws:iam::<account>:user/ci/deploy"; an OIDC provider is
// ("oidc-provider", "/", "<host>").
std::string IamArn(std::string_view account, std::string_view type, std::string_view path,
                   std::string_view name);

struct ParsedArn {
  std::string partition;
  std::string service;
  std::string region;
  std::string account;
  std::string resource;  // everything after the fifth ':'
};

// Splits "arn:<partition>:<service>:<region>:<account>:<resource>"; nullopt when
// `text` does not have that form (fewer than six parts or not starting "arn:").
std::optional<ParsedArn> ParseArn(std::string_view text);

// Whether `arn` names a resource of `service` in this server's partition
// ("aws"), `region` and `account`: the only ARNs a name resolver may map to a
// local resource (any other names nothing here).
bool IsLocalArn(const ParsedArn& arn, std::string_view service, std::string_view region,
                std::string_view account);

}  // namespace coffer::domain
