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

}  // namespace coffer::domain
