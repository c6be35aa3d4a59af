#include "domain/arn.h"

namespace coffer::domain {

std::string ParameterArn(std::string_view region, std::string_view account,
                         std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  std::string out = "arn:aws:ssm:";
  out.append(region).append(":").append(account).append(":parameter/").append(name);
  return out;
}

std::string SecretArn(std::string_view region, std::string_view account, std::string_view name,
                      std::string_view suffix) {
  std::string out = "arn:aws:secretsmanager:";
  out.append(region).append(":").append(account).append(":secret:").append(name);
  if (!suffix.empty()) out.append("-").append(suffix);
  return out;
}

std::string IamArn(std::string_view account, std::string_view type, std::string_view path,
                   std::string_view name) {
  std::string out = "arn:aws:iam::";
  out.append(account).append(":").append(type).append(path).append(name);
  return out;
}

std::string OidcProviderArn(std::string_view account, std::string_view host) {
  std::string out = "arn:aws:iam::";
  out.append(account).append(":oidc-provider/").append(host);
  return out;
}

std::string StsAssumedRoleArn(std::string_view account, std::string_view role,
                              std::string_view session) {
  std::string out = "arn:aws:sts::";
  out.append(account).append(":assumed-role/").append(role).append("/").append(session);
  return out;
}

std::string KmsKeyArn(std::string_view region, std::string_view account, std::string_view key_id) {
  std::string out = "arn:aws:kms:";
  out.append(region).append(":").append(account).append(":key/").append(key_id);
  return out;
}

std::string S3BucketArn(std::string_view bucket) {
  std::string out = "arn:aws:s3:::";
  out.append(bucket);
  return out;
}

std::string S3ObjectArn(std::string_view bucket, std::string_view key) {
  std::string out = S3BucketArn(bucket);
  out.append("/").append(key);
  return out;
}

std::string CofferSealArn(std::string_view region, std::string_view account) {
  std::string out = "arn:aws:coffer:";
  out.append(region).append(":").append(account).append(":seal");
  return out;
}

std::string CofferChangesArn(std::string_view region, std::string_view account) {
  std::string out = "arn:aws:coffer:";
  out.append(region).append(":").append(account).append(":changes");
  return out;
}

std::string KmsAliasArn(std::string_view region, std::string_view account,
                        std::string_view alias_name) {
  std::string out = "arn:aws:kms:";
  out.append(region).append(":").append(account).append(":").append(alias_name);
  return out;
}

std::optional<ParsedArn> ParseArn(std::string_view text) {
  if (!text.starts_with("arn:")) return std::nullopt;
  std::string_view parts[5];
  size_t pos = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = text.find(':', pos);
    if (colon == std::string_view::npos) return std::nullopt;
    parts[i] = text.substr(pos, colon - pos);
    pos = colon + 1;
  }
  ParsedArn arn;
  arn.partition = std::string(parts[1]);
  arn.service = std::string(parts[2]);
  arn.region = std::string(parts[3]);
  arn.account = std::string(parts[4]);
  arn.resource = std::string(text.substr(pos));
  return arn;
}

bool IsLocalArn(const ParsedArn& arn, std::string_view service, std::string_view region,
                std::string_view account) {
  return arn.partition == "aws" && arn.service == service && arn.region == region &&
         arn.account == account;
}

}  // namespace coffer::domain
