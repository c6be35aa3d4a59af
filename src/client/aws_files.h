// The AWS CLI's shared files (~/.aws/config, ~/.aws/credentials) parsed the way
// botocore parses them: INI sections, `#`/`;` comment lines, and indented
// sub-keys under a key with an empty value (`s3 =\n  endpoint_url = ...`),
// stored as "parent.child".
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace coffer::client {

using IniSection = std::map<std::string, std::string>;

struct IniFile {
  // Section name as written between the brackets, trimmed ("default",
  // "profile dev", "services local").
  std::map<std::string, IniSection> sections;

  // The section or an empty one.
  const IniSection& Section(const std::string& name) const;
};

// Never fails: lines that are not `[section]` or `key = value` are ignored, as
// botocore ignores them.
IniFile ParseAwsIni(std::string_view text);

// ParseAwsIni of the file's contents; an empty IniFile when it cannot be read.
IniFile ReadAwsIni(const std::string& path);

}  // namespace coffer::client
