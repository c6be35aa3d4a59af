// The server's config file: a YAML mapping of keys to values, read into a plain
// list of (key, values, line) entries. This module knows the file's shape only;
// which keys exist and what their values mean is decided by the command line
// (main/ maps every key onto the `coffer server` option of the same long name,
// so that a new flag gets its key without a change here).
//
//   data-dir: /var/lib/coffer      # a scalar
//   dev: false                     # a boolean is a scalar too ("true" / "false")
//   oidc-jwks:                     # a list of scalars, for a repeatable option
//     - https://issuer=/etc/coffer/issuer.jwks
//
// yaml-cpp is used here alone among the server's files; its exceptions never
// leave this module.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace coffer::server {

// One key of a config file.
struct ConfigEntry {
  std::string key;
  // True when the value was a YAML sequence (`[a, b]` or `- a` lines), even an
  // empty one; false for a single scalar, which is then values[0].
  bool is_list = false;
  std::vector<std::string> values;
  int line = 0;  // 1-based line of the key in the file
};

// Parses `text`, the content of a config file; `source` names it in error
// messages, which read "SOURCE:LINE: what is wrong". An empty document (or one
// of comments only) has no entries. Entries come in file order.
// Errors (all kInvalidArgument, Reason::kMalformedInput): YAML syntax errors; a
// document that is not a mapping; a key that is not a plain string; a key given
// twice; a value that is empty (null), a mapping, or a list holding anything
// but scalars. Messages name keys and lines, never values (a value may be a
// secret someone put in the wrong place).
Result<std::vector<ConfigEntry>> ParseConfig(std::string_view text, std::string_view source);

// Reads the file at `path` and parses it as ParseConfig does, with `path` as
// the source. kNotFound when the file cannot be opened or read.
Result<std::vector<ConfigEntry>> ReadConfigFile(const std::string& path);

}  // namespace coffer::server
