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

// arn:aws:iam::<account>:<type><path><name>, the form of IAM entities: `type`
// is "user", "group", "role", "policy" or "instance-profile", `path` "/" or
// "/a/b/" ("user", "/dev/", "alice" -> "...:user/dev/alice").
std::string IamArn(std::string_view account, std::string_view type, std::string_view path,
                   std::string_view name);

// arn:aws:iam::<account>:oidc-provider/<host>, where `host` is the provider's
// URL without "https://" ("token.actions.githubusercontent.com").
std::string OidcProviderArn(std::string_view account, std::string_view host);

// arn:aws:sts::<account>:assumed-role/<role name>/<session name>: the caller
// ARN of a role session.
std::string StsAssumedRoleArn(std::string_view account, std::string_view role,
                              std::string_view session);

// arn:aws:kms:<region>:<account>:key/<key id>.
std::string KmsKeyArn(std::string_view region, std::string_view account, std::string_view key_id);

// arn:aws:kms:<region>:<account>:<alias name>, where the alias name includes
// its "alias/" prefix ("alias/app" -> "...:alias/app").
std::string KmsAliasArn(std::string_view region, std::string_view account,
                        std::string_view alias_name);

// arn:aws:s3:::<bucket> and arn:aws:s3:::<bucket>/<key>: S3's ARNs name no
// region or account.
std::string S3BucketArn(std::string_view bucket);
std::string S3ObjectArn(std::string_view bucket, std::string_view key);

// arn:aws:coffer:<region>:<account>:seal: the resource of the operator calls
// (coffer:Seal, coffer:Rekey, coffer:RotateRoot).
std::string CofferSealArn(std::string_view region, std::string_view account);

// arn:aws:coffer:<region>:<account>:changes: the resource of the change feed
// (coffer:ReadChanges, GET /v1/changes).
std::string CofferChangesArn(std::string_view region, std::string_view account);

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
