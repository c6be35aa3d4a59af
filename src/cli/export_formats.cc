#include "cli/export_formats.h"

#include <cstdint>
#include <cstdio>
#include <map>
#include <set>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "util/encoding.h"

namespace coffer::cli {
namespace {

constexpr std::pair<std::string_view, ExportFormat> kFormats[] = {
    {"dotenv", ExportFormat::kDotenv},
    {"json", ExportFormat::kJson},
    {"yaml", ExportFormat::kYaml},
    {"java-properties", ExportFormat::kJavaProperties},
    {"csv", ExportFormat::kCsv},
    {"tsv", ExportFormat::kTsv},
    {"tfvars", ExportFormat::kTfvars},
    {"k8s-secret", ExportFormat::kK8sSecret},
    {"ecs", ExportFormat::kEcs},
    {"github-env", ExportFormat::kGithubEnv},
};

std::unexpected<Error> Refuse(std::string_view format, std::string_view key,
                              std::string_view why) {
  return Fail(ErrorCode::kInvalidArgument, "format " + std::string(format) + " cannot hold key " +
                                               std::string(key) + ": " + std::string(why));
}

// Decodes UTF-8 into code points; false on an invalid sequence.
bool DecodeUtf8(std::string_view s, std::vector<uint32_t>& out) {
  out.clear();
  for (size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    int extra;
    if (b < 0x80) { cp = b; extra = 0; }
    else if ((b & 0xE0) == 0xC0) { cp = b & 0x1F; extra = 1; }
    else if ((b & 0xF0) == 0xE0) { cp = b & 0x0F; extra = 2; }
    else if ((b & 0xF8) == 0xF0) { cp = b & 0x07; extra = 3; }
    else return false;
    if (i + static_cast<size_t>(extra) >= s.size() && extra > 0) return false;
    for (int k = 1; k <= extra; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    out.push_back(cp);
    i += static_cast<size_t>(extra) + 1;
  }
  return true;
}

bool IsUtf8(std::string_view s) {
  std::vector<uint32_t> cps;
  return DecodeUtf8(s, cps);
}

std::string Hex4(uint32_t v) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%04X", static_cast<unsigned>(v));
  return buf;
}

// A YAML double-quoted scalar holding `s` exactly (s is valid UTF-8).
std::string YamlQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\x";
          out += util::HexEncode(std::string(1, ch));
        } else {
          out.push_back(ch);
        }
    }
  }
  // YAML 1.1 readers (PyYAML) fold U+0085, U+2028 and U+2029 as line breaks,
  // and BOMs are stripped: \u escapes are exact in every reader.
  std::string fixed;
  for (size_t i = 0; i < out.size(); ++i) {
    std::string_view rest(out.data() + i, out.size() - i);
    if (rest.starts_with("\xC2\x85")) { fixed += "\\u0085"; ++i; continue; }
    if (rest.starts_with("\xE2\x80\xA8")) { fixed += "\\u2028"; i += 2; continue; }
    if (rest.starts_with("\xE2\x80\xA9")) { fixed += "\\u2029"; i += 2; continue; }
    if (rest.starts_with("\xEF\xBB\xBF")) { fixed += "\\uFEFF"; i += 2; continue; }
    fixed.push_back(out[i]);
  }
  return fixed + "\"";
}

std::string JsonQuote(std::string_view s) {
  return nlohmann::json(std::string(s)).dump(-1, ' ', false,
                                              nlohmann::json::error_handler_t::strict);
}

// java.util.Properties escaping (ISO-8859-1 file: everything outside
// printable ASCII as \uXXXX, with surrogate pairs above the BMP).
std::string PropertiesEscape(std::string_view s, bool is_key) {
  std::vector<uint32_t> cps;
  DecodeUtf8(s, cps);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i) {
    uint32_t c = cps[i];
    switch (c) {
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\f': out += "\\f"; continue;
      case '=': out += "\\="; continue;
      case ':': out += "\\:"; continue;
      case '#': out += "\\#"; continue;
      case '!': out += "\\!"; continue;
      case ' ':
        out += (is_key || i == 0) ? "\\ " : " ";
        continue;
      default: break;
    }
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x10000) {
      out += "\\u" + Hex4(c);
    } else {
      uint32_t v = c - 0x10000;
      out += "\\u" + Hex4(0xD800 + (v >> 10)) + "\\u" + Hex4(0xDC00 + (v & 0x3FF));
    }
  }
  return out;
}

std::string CsvField(std::string_view s, char separator) {
  if (s.find_first_of(std::string("\"\r\n") + separator) == std::string_view::npos) {
    return std::string(s);
  }
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out.push_back(c);
  }
  return out + "\"";
}

// An HCL (Terraform) quoted template string: escapes, and "${"/"%{" doubled so
// they stay literal.
std::string HclQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if ((c == '$' || c == '%') && i + 1 < s.size() && s[i + 1] == '{') {
      out.push_back(static_cast<char>(c));
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (c < 0x20 || c == 0x7F) {
      out += "\\u" + Hex4(c);
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  return out + "\"";
}

bool IsHclIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

bool IsK8sKey(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

// GitHub workflow command data escaping.
std::string GithubEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else out.push_back(c);
  }
  return out;
}

void AppendSecret(std::string& out, std::string_view piece) { out.append(piece); }

// How a dotenv value is written, for python-dotenv's grammar (the reference
// reader; docs/cli.md#export-formats): single quotes are literal but cannot
// hold ' or \; a bare value is literal to the end of the line but loses
// surrounding blanks and anything after " #"; double quotes decode
// \\ \" \n \r, but a backslash just before the closing quote is taken as
// escaping it, so a value ending in a backslash cannot be double-quoted.
enum class DotenvStyle { kSingle, kBare, kDouble, kNone };

DotenvStyle DotenvStyleOf(std::string_view v) {
  bool has_break = v.find_first_of("\r\n") != std::string_view::npos;
  if (!has_break && v.find_first_of("'\\") == std::string_view::npos) return DotenvStyle::kSingle;
  // Bare: printable ASCII at both ends (no blank python's str.strip would
  // take), no quote first, no '#' anywhere.
  auto solid = [](char c) { return c > 0x20 && c < 0x7F; };
  bool bare_ok = !has_break && !v.empty() && solid(v.front()) && solid(v.back()) &&
                 v.front() != '\'' && v.front() != '"' && v.find('#') == std::string_view::npos;
  if (bare_ok) return DotenvStyle::kBare;
  if (v.ends_with('\\')) return DotenvStyle::kNone;
  return DotenvStyle::kDouble;
}

}  // namespace

Result<ExportFormat> ParseExportFormat(std::string_view name) {
  for (const auto& [n, f] : kFormats) {
    if (n == name) return f;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "unknown format " + std::string(name) + " (one of: " + ExportFormatNames() + ")");
}

std::string ExportFormatNames() {
  std::string out;
  for (const auto& [n, f] : kFormats) {
    if (!out.empty()) out += ' ';
    out += n;
  }
  return out;
}

std::string EnvName(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '-' || c == '.') c = '_';
    out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) return "";
  for (char c : out) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return "";
  }
  return out;
}

std::string ShellQuote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

Result<Rendered> RenderExport(ExportFormat format, const std::vector<ExportValue>& values,
                              const ExportOptions& options) {
  std::string_view name;
  for (const auto& [n, f] : kFormats) {
    if (f == format) name = n;
  }
  const bool env_names = format == ExportFormat::kDotenv || format == ExportFormat::kGithubEnv ||
                         format == ExportFormat::kEcs;
  const bool needs_utf8 = format != ExportFormat::kCsv && format != ExportFormat::kTsv &&
                          format != ExportFormat::kK8sSecret && format != ExportFormat::kEcs &&
                          format != ExportFormat::kDotenv && format != ExportFormat::kGithubEnv;
  // Check everything before rendering anything.
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const ExportValue& v : values) {
    std::string out_name = v.key;
    if (env_names) {
      out_name = EnvName(v.key);
      if (out_name.empty()) return Refuse(name, v.key, "not a valid environment variable name");
    }
    if (!seen.insert(out_name).second) {
      return Refuse(name, v.key, "another key maps to the same name " + out_name);
    }
    std::string_view value = v.value.Reveal();
    if (needs_utf8 && (!IsUtf8(value) || !IsUtf8(v.key))) {
      return Refuse(name, v.key, "the value or key is not valid UTF-8");
    }
    switch (format) {
      case ExportFormat::kTsv:
        if (value.find_first_of("\t\r\n") != std::string_view::npos ||
            v.key.find_first_of("\t\r\n") != std::string::npos) {
          return Refuse(name, v.key, "TSV fields cannot contain tabs or line breaks");
        }
        break;
      case ExportFormat::kTfvars:
        if (!IsHclIdentifier(v.key)) {
          return Refuse(name, v.key, "not a Terraform variable name ([A-Za-z_][A-Za-z0-9_-]*)");
        }
        break;
      case ExportFormat::kK8sSecret:
        if (!IsK8sKey(v.key)) {
          return Refuse(name, v.key, "not a Kubernetes Secret key ([-._a-zA-Z0-9]+)");
        }
        break;
      case ExportFormat::kDotenv:
        if (value.find('\0') != std::string_view::npos) {
          return Refuse(name, v.key, "environment values cannot contain NUL");
        }
        if (DotenvStyleOf(value) == DotenvStyle::kNone) {
          return Refuse(name, v.key,
                        "a value ending in a backslash that also has a line break, a blank or "
                        "non-ASCII character at either end, a leading quote or a '#' has no "
                        "exact dotenv form");
        }
        break;
      case ExportFormat::kGithubEnv:
        if (value.find('\0') != std::string_view::npos || value.find('\r') != std::string::npos) {
          return Refuse(name, v.key, "GitHub environment files cannot hold NUL or CR");
        }
        break;
      case ExportFormat::kEcs:
        if (v.arn.empty()) return Refuse(name, v.key, "no parameter ARN is known");
        break;
      default:
        break;
    }
    names.push_back(std::move(out_name));
  }
  if (format == ExportFormat::kK8sSecret && options.k8s_name.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "format k8s-secret needs a name (--name)");
  }

  Rendered r;
  std::string out;
  try {
    switch (format) {
      case ExportFormat::kDotenv:
        for (size_t i = 0; i < values.size(); ++i) {
          std::string_view v = values[i].value.Reveal();
          out += names[i] + "=";
          switch (DotenvStyleOf(v)) {
            case DotenvStyle::kSingle:
              out += "'";
              AppendSecret(out, v);
              out += "'\n";
              break;
            case DotenvStyle::kBare:
              AppendSecret(out, v);
              out += "\n";
              break;
            case DotenvStyle::kDouble:
              out += '"';
              for (char c : v) {
                if (c == '\\') out += "\\\\";
                else if (c == '"') out += "\\\"";
                else if (c == '\n') out += "\\n";
                else if (c == '\r') out += "\\r";
                else out.push_back(c);
              }
              out += "\"\n";
              break;
            case DotenvStyle::kNone:
              break;  // refused above
          }
        }
        break;
      case ExportFormat::kJson: {
        out += "{";
        for (size_t i = 0; i < values.size(); ++i) {
          out += i == 0 ? "\n  " : ",\n  ";
          out += JsonQuote(values[i].key) + ": " + JsonQuote(values[i].value.Reveal());
        }
        out += values.empty() ? "}\n" : "\n}\n";
        break;
      }
      case ExportFormat::kYaml:
        if (values.empty()) out = "{}\n";
        for (const ExportValue& v : values) {
          out += YamlQuote(v.key) + ": " + YamlQuote(v.value.Reveal()) + "\n";
        }
        break;
      case ExportFormat::kJavaProperties:
        for (const ExportValue& v : values) {
          out += PropertiesEscape(v.key, true) + "=" + PropertiesEscape(v.value.Reveal(), false) +
                 "\n";
        }
        break;
      case ExportFormat::kCsv:
      case ExportFormat::kTsv: {
        char sep = format == ExportFormat::kCsv ? ',' : '\t';
        for (const ExportValue& v : values) {
          if (sep == ',') {
            out += CsvField(v.key, sep) + sep + CsvField(v.value.Reveal(), sep) + "\r\n";
          } else {
            out += v.key + sep + std::string(v.value.Reveal()) + "\n";
          }
        }
        break;
      }
      case ExportFormat::kTfvars:
        for (const ExportValue& v : values) {
          out += v.key + " = " + HclQuote(v.value.Reveal()) + "\n";
        }
        break;
      case ExportFormat::kK8sSecret:
        out += "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + YamlQuote(options.k8s_name) +
               "\n";
        if (!options.k8s_namespace.empty()) {
          out += "  namespace: " + YamlQuote(options.k8s_namespace) + "\n";
        }
        out += "type: Opaque\ndata:";
        out += values.empty() ? " {}\n" : "\n";
        for (const ExportValue& v : values) {
          out += "  " + YamlQuote(v.key) + ": " + util::Base64Encode(v.value.Reveal()) + "\n";
        }
        break;
      case ExportFormat::kEcs: {
        out += "[";
        for (size_t i = 0; i < values.size(); ++i) {
          out += i == 0 ? "\n  " : ",\n  ";
          out += "{\"name\": " + JsonQuote(names[i]) + ", \"valueFrom\": " +
                 JsonQuote(values[i].arn) + "}";
        }
        out += values.empty() ? "]\n" : "\n]\n";
        break;
      }
      case ExportFormat::kGithubEnv: {
        if (options.heredoc_random.size() < 16) {
          return Fail(ErrorCode::kInternal, "github-env needs a random heredoc delimiter");
        }
        for (size_t i = 0; i < values.size(); ++i) {
          std::string_view v = values[i].value.Reveal();
          for (size_t start = 0; start <= v.size();) {
            size_t nl = v.find('\n', start);
            std::string_view line =
                v.substr(start, nl == std::string_view::npos ? std::string_view::npos
                                                             : nl - start);
            if (!line.empty()) r.mask_commands += "::add-mask::" + GithubEscape(line) + "\n";
            if (nl == std::string_view::npos) break;
            start = nl + 1;
          }
          if (v.find('\n') == std::string_view::npos) {
            out += names[i] + "=";
            AppendSecret(out, v);
            out += "\n";
            continue;
          }
          std::string delimiter = "ghadelimiter_" + options.heredoc_random;
          if (v.find(delimiter) != std::string_view::npos) {
            return Refuse(name, values[i].key, "the value contains the heredoc delimiter");
          }
          out += names[i] + "<<" + delimiter + "\n";
          AppendSecret(out, v);
          out += "\n" + delimiter + "\n";
        }
        break;
      }
    }
  } catch (const nlohmann::json::exception&) {
    util::SecureClear(out);
    return Fail(ErrorCode::kInvalidArgument, "format " + std::string(name) +
                                                 ": a key or value is not valid UTF-8");
  }
  r.body = SecretBytes(out);
  util::SecureClear(out);
  return r;
}

Result<std::vector<ImportValue>> ParseImportDocument(std::string_view text) {
  std::vector<ImportValue> out;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() && text[first] == '{') {
      return Fail(ErrorCode::kInvalidArgument, "the import file is not valid JSON");
    }
    if (!doc.is_discarded()) {
      if (!doc.is_object()) {
        return Fail(ErrorCode::kInvalidArgument,
                    "the import file must hold one JSON object of key: \"value\"");
      }
      for (auto& [key, value] : doc.items()) {
        if (!value.is_string()) {
          return Fail(ErrorCode::kInvalidArgument,
                      "the import file's key " + key + " does not have a string value");
        }
        std::string& s = value.get_ref<std::string&>();
        out.push_back({key, SecretBytes(s)});
        util::SecureClear(s);
      }
      return out;
    }
  }
  try {
    YAML::Node doc = YAML::Load(std::string(text));
    if (doc.IsNull()) return out;
    if (!doc.IsMap()) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the import file must hold one mapping of key: value (JSON or YAML)");
    }
    for (const auto& item : doc) {
      if (!item.first.IsScalar()) {
        return Fail(ErrorCode::kInvalidArgument, "the import file has a key that is not a string");
      }
      std::string key = item.first.Scalar();
      if (!item.second.IsScalar()) {
        return Fail(ErrorCode::kInvalidArgument,
                    "the import file's key " + key + " does not have a string value");
      }
      if (!IsUtf8(item.second.Scalar()) || !IsUtf8(key)) {
        return Fail(ErrorCode::kInvalidArgument,
                    "the import file's key " + key + " has a value that is not valid UTF-8");
      }
      out.push_back({key, SecretBytes(item.second.Scalar())});
    }
  } catch (const YAML::Exception& e) {
    return Fail(ErrorCode::kInvalidArgument,
                "the import file is neither a JSON object nor a YAML mapping (YAML error at line " +
                    std::to_string(e.mark.line + 1) + ")");
  }
  return out;
}

}  // namespace coffer::cli
