#include "agent/template.h"

#include <cctype>
#include <charconv>
#include <utility>
#include <vector>

#include "util/encoding.h"

namespace coffer::agent {
namespace {

Error Invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, Reason::kValidation, "template: " + message};
}

// A working string that is wiped when it goes away (it may hold a value).
struct Scratch {
  std::string s;
  Scratch() = default;
  explicit Scratch(std::string v) : s(std::move(v)) {}
  Scratch(Scratch&& o) noexcept : s(std::move(o.s)) {}
  Scratch& operator=(Scratch&& o) noexcept {
    util::SecureClear(s);
    s = std::move(o.s);
    return *this;
  }
  ~Scratch() { util::SecureClear(s); }
};

void SkipSpace(std::string_view& s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
}

std::string_view Word(std::string_view& s) {
  SkipSpace(s);
  size_t n = 0;
  while (n < s.size() && !std::isspace(static_cast<unsigned char>(s[n])) && s[n] != '|') ++n;
  std::string_view w = s.substr(0, n);
  s.remove_prefix(n);
  return w;
}

Result<std::string> Quoted(std::string_view& s) {
  SkipSpace(s);
  if (s.empty() || s.front() != '"') return Fail(Invalid("expected a quoted string"));
  std::string out;
  size_t i = 1;
  for (; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out.push_back(s[i]);
  }
  if (i >= s.size()) return Fail(Invalid("unterminated string"));
  s.remove_prefix(i + 1);
  return out;
}

Result<Scratch> Lookup(const Values& values, std::string_view key) {
  auto it = values.find(key);
  if (it == values.end()) {
    return Fail(Invalid("no value for key '" + std::string(key) + "'"));
  }
  return Scratch(std::string(it->second.Reveal()));
}

std::string Indent(std::string_view text, int n) {
  std::string pad(static_cast<size_t>(n), ' ');
  std::string out = pad;
  for (char c : text) {
    out.push_back(c);
    if (c == '\n') out += pad;
  }
  return out;
}

Status ApplyFunction(std::string_view fn, std::string_view& rest, Scratch& v) {
  if (fn == "b64enc") {
    v = Scratch(util::Base64Encode(v.s));
  } else if (fn == "b64dec") {
    auto d = util::Base64Decode(v.s);
    if (!d) return Fail(Invalid("b64dec: the value is not base64"));
    v = Scratch(std::move(*d));
  } else if (fn == "upper" || fn == "lower") {
    for (char& c : v.s) {
      c = static_cast<char>(fn == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                          : std::tolower(static_cast<unsigned char>(c)));
    }
  } else if (fn == "trim") {
    size_t a = v.s.find_first_not_of(" \t\r\n");
    size_t b = v.s.find_last_not_of(" \t\r\n");
    v = Scratch(a == std::string::npos ? std::string() : v.s.substr(a, b - a + 1));
  } else if (fn == "quote" || fn == "squote") {
    char q = fn == "quote" ? '"' : '\'';
    std::string out(1, q);
    for (char c : v.s) {
      if (q == '"' && (c == '"' || c == '\\')) out.push_back('\\');
      out.push_back(c);
    }
    out.push_back(q);
    v = Scratch(std::move(out));
  } else if (fn == "toString") {
    // values are strings already
  } else if (fn == "indent" || fn == "nindent") {
    std::string_view n = Word(rest);
    int count = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), count);
    if (ec != std::errc() || end != n.data() + n.size() || count < 0 || count > 64) {
      return Fail(Invalid(std::string(fn) + " wants a number of spaces"));
    }
    std::string out = Indent(v.s, count);
    if (fn == "nindent") out.insert(out.begin(), '\n');
    v = Scratch(std::move(out));
  } else {
    return Fail(Invalid("unsupported function '" + std::string(fn) + "'"));
  }
  return Ok();
}

// One {{ ... }} action's body.
Result<Scratch> Evaluate(std::string_view action, const Values& values) {
  Scratch v;
  std::string_view s = action;
  SkipSpace(s);
  if (s.starts_with("\"")) {
    COFFER_ASSIGN_OR_RETURN(std::string lit, Quoted(s));
    v = Scratch(std::move(lit));
  } else if (s.starts_with(".")) {
    std::string_view w = Word(s);
    std::string_view key = w.substr(1);
    if (key.empty()) return Fail(Invalid("'.' alone is not a value"));
    COFFER_ASSIGN_OR_RETURN(v, Lookup(values, key));
  } else {
    std::string_view fn = Word(s);
    if (fn != "index") return Fail(Invalid("unsupported action '" + std::string(fn) + "'"));
    if (Word(s) != ".") return Fail(Invalid("index wants '.' and a quoted key"));
    COFFER_ASSIGN_OR_RETURN(std::string key, Quoted(s));
    COFFER_ASSIGN_OR_RETURN(v, Lookup(values, key));
  }
  for (;;) {
    SkipSpace(s);
    if (s.empty()) break;
    if (s.front() != '|') return Fail(Invalid("expected '|' between functions"));
    s.remove_prefix(1);
    std::string_view fn = Word(s);
    if (fn.empty()) return Fail(Invalid("a function name is missing after '|'"));
    COFFER_RETURN_IF_ERROR(ApplyFunction(fn, s, v));
  }
  return v;
}

}  // namespace

Result<SecretBytes> RenderTemplate(std::string_view text, const Values& values) {
  Scratch out;
  while (!text.empty()) {
    size_t open = text.find("{{");
    if (open == std::string_view::npos) {
      out.s.append(text);
      break;
    }
    std::string_view literal = text.substr(0, open);
    text.remove_prefix(open + 2);
    bool trim_left = text.starts_with("-");
    if (trim_left) {
      text.remove_prefix(1);
      while (!literal.empty() && std::isspace(static_cast<unsigned char>(literal.back()))) {
        literal.remove_suffix(1);
      }
    }
    out.s.append(literal);
    size_t close = text.find("}}");
    if (close == std::string_view::npos) return Fail(Invalid("'{{' without '}}'"));
    std::string_view action = text.substr(0, close);
    text.remove_prefix(close + 2);
    bool trim_right = action.ends_with("-") && (action.size() == 1 || action[action.size() - 2] == ' ');
    if (trim_right) action.remove_suffix(1);
    COFFER_ASSIGN_OR_RETURN(Scratch v, Evaluate(action, values));
    out.s += v.s;
    if (trim_right) {
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
      }
    }
  }
  return SecretBytes(out.s);
}

}  // namespace coffer::agent
