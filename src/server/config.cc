#include "server/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>

namespace coffer::server {
namespace {

// yaml-cpp counts lines from 0; a node without a position (a null mark) gets line 1.
int LineOf(const YAML::Mark& mark) { return mark.is_null() ? 1 : mark.line + 1; }

std::unexpected<Error> Malformed(std::string_view source, int line, const std::string& what) {
  return Fail(ErrorCode::kInvalidArgument,
              std::string(source) + ":" + std::to_string(line) + ": " + what,
              Reason::kMalformedInput);
}

// Everything that touches yaml-cpp nodes; may throw YAML::Exception (caught by ParseConfig).
Result<std::vector<ConfigEntry>> ParseDocument(const YAML::Node& root, std::string_view source) {
  std::vector<ConfigEntry> entries;
  if (!root.IsDefined() || root.IsNull()) return entries;  // empty file or comments only
  if (!root.IsMap()) {
    return Malformed(source, LineOf(root.Mark()),
                     "the config file must be a mapping of keys to values (key: value lines)");
  }
  std::set<std::string> seen;
  for (auto it = root.begin(); it != root.end(); ++it) {
    // Copies: a Node is a handle, and the iterator's pair is a temporary.
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    int line = LineOf(key.Mark());
    if (!key.IsScalar() || key.Scalar().empty()) {
      return Malformed(source, line, "a key must be a plain name such as 'data-dir'");
    }
    ConfigEntry entry;
    entry.key = key.Scalar();
    entry.line = line;
    if (!seen.insert(entry.key).second) {
      return Malformed(source, line, "key '" + entry.key + "' is given twice");
    }
    if (!value.IsDefined() || value.IsNull()) {
      return Malformed(source, line, "key '" + entry.key + "' has no value");
    }
    if (value.IsMap()) {
      return Malformed(source, line,
                       "key '" + entry.key + "' wants a value or a list, not a mapping");
    }
    if (value.IsSequence()) {
      entry.is_list = true;
      for (auto item_it = value.begin(); item_it != value.end(); ++item_it) {
        const YAML::Node item = *item_it;
        if (!item.IsScalar()) {
          return Malformed(source, LineOf(item.Mark()),
                           "the list of key '" + entry.key + "' may hold plain values only");
        }
        entry.values.push_back(item.Scalar());
      }
    } else {
      entry.values.push_back(value.Scalar());
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

}  // namespace

Result<std::vector<ConfigEntry>> ParseConfig(std::string_view text, std::string_view source) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    return ParseDocument(root, source);
  } catch (const YAML::Exception& e) {
    // e.msg says what the parser expected; it does not quote the document.
    return Malformed(source, LineOf(e.mark), "not valid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return Malformed(source, 1, std::string("not valid YAML: ") + e.what());
  }
}

Result<std::vector<ConfigEntry>> ReadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Fail(ErrorCode::kNotFound, "cannot open config file " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Fail(ErrorCode::kNotFound, "cannot read config file " + path);
  }
  return ParseConfig(text.str(), path);
}

}  // namespace coffer::server
