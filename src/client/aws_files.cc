#include "client/aws_files.h"

#include <fstream>
#include <sstream>

namespace coffer::client {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

const IniSection& IniFile::Section(const std::string& name) const {
  static const IniSection kEmpty;
  auto it = sections.find(name);
  return it == sections.end() ? kEmpty : it->second;
}

IniFile ParseAwsIni(std::string_view text) {
  IniFile file;
  IniSection* section = nullptr;
  std::string parent;  // key with an empty value that indented lines belong to
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    bool indented = raw.front() == ' ' || raw.front() == '\t';
    if (!indented && line.front() == '[' && line.back() == ']') {
      section = &file.sections[std::string(Trim(line.substr(1, line.size() - 2)))];
      parent.clear();
      continue;
    }
    if (section == nullptr) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(Trim(line.substr(0, eq)));
    std::string value(Trim(line.substr(eq + 1)));
    if (indented && !parent.empty()) {
      (*section)[parent + "." + key] = value;
      continue;
    }
    parent = value.empty() ? key : "";
    (*section)[key] = value;
  }
  return file;
}

IniFile ReadAwsIni(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseAwsIni(buffer.str());
}

}  // namespace coffer::client
