#include "files/formats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace coffer::files {
namespace {

Error Bad(std::string what) {
  return Error{ErrorCode::kInvalidArgument, Reason::kMalformedInput, std::move(what)};
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// ---- JSON ----

constexpr int kMaxJsonDepth = 200;

Result<Node> FromJson(const nlohmann::ordered_json& j, int depth) {
  if (depth > kMaxJsonDepth) return Fail(Bad("JSON nesting too deep"));
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Node{};
    case nlohmann::ordered_json::value_t::boolean:
      return Node::Bool(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Node::Int(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Node::Int(static_cast<int64_t>(u));
      }
      return Node::Float(static_cast<double>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Node::Float(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Node::String(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      Node n = Node::List();
      for (const auto& item : j) {
        COFFER_ASSIGN_OR_RETURN(Node v, FromJson(item, depth + 1));
        n.items.push_back(std::move(v));
      }
      return n;
    }
    case nlohmann::ordered_json::value_t::object: {
      Node n = Node::Map();
      for (const auto& [k, v] : j.items()) {
        COFFER_ASSIGN_OR_RETURN(Node value, FromJson(v, depth + 1));
        n.entries.push_back({k, std::move(value)});
      }
      return n;
    }
    default:
      return Fail(Bad("unsupported JSON value"));
  }
}

// Go's encoding/json string escaping (HTML-safe: <, >, & escaped).
std::string JsonString(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '<':
      case '>':
      case '&':
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                   (static_cast<unsigned char>(s[i + 2]) == 0xA8 ||
                    static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
          out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
          i += 2;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

void EmitJsonValue(const Node& n, std::string_view indent, int level, std::string* out) {
  auto pad = [&](int l) {
    for (int i = 0; i < l; ++i) *out += indent;
  };
  switch (n.kind) {
    case NodeKind::kNull:
      *out += "null";
      return;
    case NodeKind::kBool:
      *out += n.bool_value ? "true" : "false";
      return;
    case NodeKind::kInt:
      *out += std::to_string(n.int_value);
      return;
    case NodeKind::kFloat:
      *out += std::isfinite(n.float_value) ? FormatFloatJson(n.float_value) : "null";
      return;
    case NodeKind::kString:
    case NodeKind::kTime:
      *out += JsonString(n.text);
      return;
    case NodeKind::kComment:
      return;
    case NodeKind::kMap: {
      std::vector<const Entry*> entries;
      for (const Entry& e : n.entries) {
        if (e.value.kind != NodeKind::kComment) entries.push_back(&e);
      }
      if (entries.empty()) {
        *out += "{}";
        return;
      }
      *out += "{\n";
      for (size_t i = 0; i < entries.size(); ++i) {
        pad(level + 1);
        *out += JsonString(entries[i]->key) + ": ";
        EmitJsonValue(entries[i]->value, indent, level + 1, out);
        *out += i + 1 < entries.size() ? ",\n" : "\n";
      }
      pad(level);
      *out += "}";
      return;
    }
    case NodeKind::kList: {
      std::vector<const Node*> items;
      for (const Node& it : n.items) {
        if (it.kind != NodeKind::kComment) items.push_back(&it);
      }
      if (items.empty()) {
        *out += "[]";
        return;
      }
      *out += "[\n";
      for (size_t i = 0; i < items.size(); ++i) {
        pad(level + 1);
        EmitJsonValue(*items[i], indent, level + 1, out);
        *out += i + 1 < items.size() ? ",\n" : "\n";
      }
      pad(level);
      *out += "]";
      return;
    }
  }
}

// ---- INI ----

std::string TrimSpaces(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return std::string(s.substr(b, e - b));
}

std::string IniCommentText(std::string_view line) {
  // go-ini strips the comment character and the spaces after it.
  size_t i = 1;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return std::string(line.substr(i));
}

bool IniNeedsQuotes(const std::string& v) {
  return v.find_first_of("\n") != std::string::npos ||
         (!v.empty() && (v.front() == ' ' || v.back() == ' ')) ||
         v.find_first_of(";#") != std::string::npos || (!v.empty() && v[0] == '"') ||
         (!v.empty() && v[0] == '`');
}

}  // namespace

Format FormatFromPath(std::string_view path) {
  if (EndsWith(path, ".yaml") || EndsWith(path, ".yml")) return Format::kYaml;
  if (EndsWith(path, ".json")) return Format::kJson;
  if (EndsWith(path, ".env")) return Format::kDotenv;
  if (EndsWith(path, ".ini")) return Format::kIni;
  return Format::kBinary;
}

Result<Format> FormatFromName(std::string_view name) {
  if (name == "yaml") return Format::kYaml;
  if (name == "json") return Format::kJson;
  if (name == "dotenv") return Format::kDotenv;
  if (name == "ini") return Format::kIni;
  if (name == "binary") return Format::kBinary;
  return Fail(ErrorCode::kInvalidArgument,
              "unknown format (expected yaml, json, dotenv, ini or binary)", Reason::kValidation);
}

std::string_view FormatName(Format format) {
  switch (format) {
    case Format::kYaml:
      return "yaml";
    case Format::kJson:
      return "json";
    case Format::kDotenv:
      return "dotenv";
    case Format::kIni:
      return "ini";
    case Format::kBinary:
      return "binary";
  }
  return "binary";
}

Result<Document> ParseJson(std::string_view text) {
  nlohmann::ordered_json j =
      nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Fail(Bad("not valid JSON"));
  if (!j.is_object()) return Fail(Bad("the top level of a JSON file must be an object"));
  COFFER_ASSIGN_OR_RETURN(Node root, FromJson(j, 0));
  Document doc;
  doc.branches.push_back(std::move(root));
  return doc;
}

std::string EmitJson(const Node& root, std::string_view indent) {
  std::string out;
  EmitJsonValue(root, indent, 0, &out);
  return out + "\n";
}

Result<Document> ParseDotenv(std::string_view text) {
  Node root = Node::Map();
  size_t start = 0;
  int number = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      root.entries.push_back({"", Node::Comment(std::string(line.substr(1)))});
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Fail(Bad("dotenv line " + std::to_string(number) + ": expected KEY=VALUE"));
    }
    std::string value;
    std::string_view raw = line.substr(eq + 1);
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size() && raw[i + 1] == 'n') {
        value += '\n';
        ++i;
      } else {
        value += raw[i];
      }
    }
    root.entries.push_back({std::string(line.substr(0, eq)), Node::String(std::move(value))});
  }
  Document doc;
  doc.branches.push_back(std::move(root));
  return doc;
}

Result<std::string> EmitDotenv(const Node& root) {
  std::string out;
  for (const Entry& e : root.entries) {
    if (e.value.kind == NodeKind::kComment) {
      out += "#" + e.value.text + "\n";
      continue;
    }
    if (!e.value.IsScalar()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "cannot use complex value in dotenv file (key \"" + e.key + "\")",
                  Reason::kValidation);
    }
    std::string v = ScalarToString(e.value);
    std::string escaped;
    for (char c : v) {
      if (c == '\n') {
        escaped += "\\n";
      } else {
        escaped += c;
      }
    }
    out += e.key + "=" + escaped + "\n";
  }
  return out;
}

Result<Document> ParseIni(std::string_view text) {
  Node root = Node::Map();
  Node* section = nullptr;
  std::vector<Node> pending_comments;  // comments above the first section
  size_t start = 0;
  int number = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view raw =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++number;
    std::string line = TrimSpaces(raw);
    if (line.empty()) continue;
    if (line[0] == ';' || line[0] == '#') {
      Node c = Node::Comment(IniCommentText(line));
      if (section == nullptr) {
        pending_comments.push_back(std::move(c));
      } else {
        section->entries.push_back({"", std::move(c)});
      }
      continue;
    }
    if (line[0] == '[') {
      size_t close = line.find(']');
      if (close == std::string::npos) {
        return Fail(Bad("INI line " + std::to_string(number) + ": unterminated section name"));
      }
      root.entries.push_back({TrimSpaces(line.substr(1, close - 1)), Node::Map()});
      section = &root.entries.back().value;
      for (Node& c : pending_comments) section->entries.push_back({"", std::move(c)});
      pending_comments.clear();
      continue;
    }
    size_t eq = line.find_first_of("=:");
    if (eq == std::string::npos) {
      return Fail(Bad("INI line " + std::to_string(number) + ": expected key = value"));
    }
    if (section == nullptr) {
      root.entries.push_back({"DEFAULT", Node::Map()});
      section = &root.entries.back().value;
    }
    std::string key = TrimSpaces(line.substr(0, eq));
    std::string value = TrimSpaces(line.substr(eq + 1));
    if (value.rfind("\"\"\"", 0) == 0) {
      // go-ini multi-line value: up to the closing """.
      std::string body = value.substr(3);
      size_t close = body.find("\"\"\"");
      while (close == std::string::npos) {
        if (start >= text.size()) {
          return Fail(Bad("INI line " + std::to_string(number) + ": unterminated \"\"\" value"));
        }
        size_t nl2 = text.find('\n', start);
        std::string_view next = text.substr(
            start, nl2 == std::string_view::npos ? std::string_view::npos : nl2 - start);
        start = nl2 == std::string_view::npos ? text.size() : nl2 + 1;
        ++number;
        body += "\n" + std::string(next);
        close = body.find("\"\"\"");
      }
      value = body.substr(0, close);
    } else if (value.size() >= 2 && ((value.front() == '"' && value.back() == '"') ||
                                     (value.front() == '`' && value.back() == '`'))) {
      value = value.substr(1, value.size() - 2);
    } else {
      // go-ini: an inline comment starts at " ;" or " #".
      for (size_t i = 1; i < value.size(); ++i) {
        if ((value[i] == ';' || value[i] == '#') && (value[i - 1] == ' ' || value[i - 1] == '\t')) {
          value = TrimSpaces(value.substr(0, i));
          break;
        }
      }
    }
    section->entries.push_back({key, Node::String(value)});
  }
  Document doc;
  doc.branches.push_back(std::move(root));
  return doc;
}

Result<std::string> EmitIni(const Node& root) {
  std::string out;
  bool first = true;
  for (const Entry& s : root.entries) {
    if (s.value.kind == NodeKind::kComment) {
      out += "; " + s.value.text + "\n";
      continue;
    }
    if (s.value.kind != NodeKind::kMap) {
      return Fail(
          ErrorCode::kInvalidArgument,
          "an INI file holds sections of key = value pairs (\"" + s.key + "\" is not a section)",
          Reason::kValidation);
    }
    if (!first) out += "\n";
    first = false;
    // A section's leading comments go above its header, as go-ini writes them.
    size_t i = 0;
    for (; i < s.value.entries.size() && s.value.entries[i].value.kind == NodeKind::kComment; ++i) {
      out += "; " + s.value.entries[i].value.text + "\n";
    }
    if (s.key != "DEFAULT") out += "[" + s.key + "]\n";
    size_t width = 0;
    for (const Entry& e : s.value.entries) {
      if (e.value.kind != NodeKind::kComment) width = std::max(width, e.key.size());
    }
    for (; i < s.value.entries.size(); ++i) {
      const Entry& e = s.value.entries[i];
      if (e.value.kind == NodeKind::kComment) {
        out += "; " + e.value.text + "\n";
        continue;
      }
      if (!e.value.IsScalar()) {
        return Fail(ErrorCode::kInvalidArgument,
                    "INI values must be scalars (key \"" + e.key + "\")", Reason::kValidation);
      }
      std::string v = ScalarToString(e.value);
      if (IniNeedsQuotes(v)) {
        v = v.find('\n') != std::string::npos || v.find('"') != std::string::npos
                ? "\"\"\"" + v + "\"\"\""
                : "\"" + v + "\"";
      }
      out += e.key + std::string(width - e.key.size(), ' ') + " = " + v + "\n";
    }
  }
  return out;
}

Result<Document> Parse(Format format, std::string_view text) {
  switch (format) {
    case Format::kYaml:
      return ParseYaml(text);
    case Format::kJson:
      return ParseJson(text);
    case Format::kDotenv:
      return ParseDotenv(text);
    case Format::kIni:
      return ParseIni(text);
    case Format::kBinary: {
      Node root = Node::Map();
      root.entries.push_back({"data", Node::String(std::string(text))});
      Document doc;
      doc.branches.push_back(std::move(root));
      return doc;
    }
  }
  return Fail(Bad("unknown format"));
}

Result<std::string> Emit(Format format, const Document& doc) {
  if (doc.branches.empty()) return Fail(Bad("empty document"));
  switch (format) {
    case Format::kYaml:
      return EmitYaml(doc);
    case Format::kJson:
      return EmitJson(doc.branches[0]);
    case Format::kDotenv:
      return EmitDotenv(doc.branches[0]);
    case Format::kIni:
      return EmitIni(doc.branches[0]);
    case Format::kBinary: {
      const Node* data = doc.branches[0].Find("data");
      if (data == nullptr || data->kind != NodeKind::kString) {
        return Fail(Bad("a binary file's tree has no string \"data\""));
      }
      return data->text;
    }
  }
  return Fail(Bad("unknown format"));
}

}  // namespace coffer::files
