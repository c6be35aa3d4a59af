#include "files/tree.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "util/secret_bytes.h"

namespace coffer::files {
namespace {

Error Malformed(std::string message) {
  return Error{ErrorCode::kInvalidArgument, Reason::kMalformedInput, std::move(message)};
}

// Shortest round-trip digits and decimal exponent: v = 0.d1d2... * 10^dp.
struct Digits {
  bool negative = false;
  std::string digits;  // no leading zeros, at least one digit
  int dp = 0;          // position of the decimal point relative to digits
};

Digits ShortestDigits(double v) {
  Digits out;
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  size_t i = 0;
  if (s[i] == '-') {
    out.negative = true;
    ++i;
  }
  size_t e = s.find('e');
  std::string mant = s.substr(i, e - i);
  int exp = std::atoi(s.c_str() + e + 1);
  for (char c : mant) {
    if (c != '.') out.digits.push_back(c);
  }
  while (out.digits.size() > 1 && out.digits.back() == '0') out.digits.pop_back();
  out.dp = exp + 1;
  if (out.digits == "0") out.dp = 1;
  return out;
}

std::string FixedFromDigits(const Digits& d) {
  std::string out = d.negative ? "-" : "";
  if (d.dp <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-d.dp), '0');
    out += d.digits;
  } else if (static_cast<size_t>(d.dp) >= d.digits.size()) {
    out += d.digits;
    out.append(static_cast<size_t>(d.dp) - d.digits.size(), '0');
  } else {
    out += d.digits.substr(0, static_cast<size_t>(d.dp));
    out += '.';
    out += d.digits.substr(static_cast<size_t>(d.dp));
  }
  return out;
}

// Go %e with shortest digits; `min_exp_digits` is 2 for strconv ('e+09').
std::string ExpFromDigits(const Digits& d, int min_exp_digits) {
  std::string out = d.negative ? "-" : "";
  out += d.digits[0];
  if (d.digits.size() > 1) {
    out += '.';
    out += d.digits.substr(1);
  }
  int exp = d.dp - 1;
  out += 'e';
  out += exp < 0 ? '-' : '+';
  std::string e = std::to_string(std::abs(exp));
  while (static_cast<int>(e.size()) < min_exp_digits) e.insert(e.begin(), '0');
  return out + e;
}

std::string SpecialFloat(double v, bool* special) {
  *special = true;
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  *special = false;
  return "";
}

}  // namespace

Node::~Node() { util::SecureClear(text); }

const Node* Node::Find(std::string_view key) const {
  for (const Entry& e : entries) {
    if (e.value.kind != NodeKind::kComment && e.key == key) return &e.value;
  }
  return nullptr;
}
Node* Node::Find(std::string_view key) {
  for (Entry& e : entries) {
    if (e.value.kind != NodeKind::kComment && e.key == key) return &e.value;
  }
  return nullptr;
}

Node Node::String(std::string s) {
  Node n;
  n.kind = NodeKind::kString;
  n.text = std::move(s);
  return n;
}
Node Node::Comment(std::string s) {
  Node n;
  n.kind = NodeKind::kComment;
  n.text = std::move(s);
  return n;
}
Node Node::Int(int64_t v) {
  Node n;
  n.kind = NodeKind::kInt;
  n.int_value = v;
  return n;
}
Node Node::Float(double v) {
  Node n;
  n.kind = NodeKind::kFloat;
  n.float_value = v;
  return n;
}
Node Node::Bool(bool v) {
  Node n;
  n.kind = NodeKind::kBool;
  n.bool_value = v;
  return n;
}
Node Node::Map() {
  Node n;
  n.kind = NodeKind::kMap;
  return n;
}
Node Node::List() {
  Node n;
  n.kind = NodeKind::kList;
  return n;
}

bool ParseDouble(std::string_view text, double* out) {
  if (text.empty() || text.size() > 512 || std::isspace(static_cast<unsigned char>(text[0]))) {
    return false;
  }
  std::string copy(text);
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || errno == ERANGE) return false;
  *out = v;
  return true;
}

std::string FormatFloatFixed(double v) {
  bool special = false;
  std::string s = SpecialFloat(v, &special);
  if (special) return s;
  return FixedFromDigits(ShortestDigits(v));
}

std::string FormatFloatG(double v) {
  bool special = false;
  std::string s = SpecialFloat(v, &special);
  if (special) return s;
  Digits d = ShortestDigits(v);
  int exp = d.dp - 1;
  // Go: with the shortest precision, %e once the exponent is < -4 or >= 6.
  if (exp < -4 || exp >= 6) return ExpFromDigits(d, 2);
  return FixedFromDigits(d);
}

std::string FormatFloatJson(double v) {
  bool special = false;
  std::string s = SpecialFloat(v, &special);
  if (special) return s;
  double a = std::fabs(v);
  Digits d = ShortestDigits(v);
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    return ExpFromDigits(d, 1);  // Go cleans e-09 up to e-9
  }
  return FixedFromDigits(d);
}

std::string ScalarPlaintext(const Node& node) {
  switch (node.kind) {
    case NodeKind::kString:
    case NodeKind::kComment:
    case NodeKind::kTime:
      return node.text;
    case NodeKind::kInt:
      return std::to_string(node.int_value);
    case NodeKind::kFloat:
      return FormatFloatFixed(node.float_value);
    case NodeKind::kBool:
      return node.bool_value ? "True" : "False";
    default:
      return "";
  }
}

std::string_view TypeName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kInt:
      return "int";
    case NodeKind::kFloat:
      return "float";
    case NodeKind::kBool:
      return "bool";
    case NodeKind::kTime:
      return "time";
    case NodeKind::kComment:
      return "comment";
    default:
      return "str";
  }
}

Result<Node> ScalarFromPlaintext(std::string_view type, std::string plaintext) {
  if (type == "str" || type == "bytes") return Node::String(std::move(plaintext));
  if (type == "comment") return Node::Comment(std::move(plaintext));
  if (type == "time") {
    Node n;
    n.kind = NodeKind::kTime;
    n.text = std::move(plaintext);
    return n;
  }
  if (type == "int") {
    int64_t v = 0;
    auto res = std::from_chars(plaintext.data(), plaintext.data() + plaintext.size(), v);
    if (res.ec != std::errc() || res.ptr != plaintext.data() + plaintext.size()) {
      return Fail(Malformed("an encrypted value of type int does not hold an integer"));
    }
    return Node::Int(v);
  }
  if (type == "float") {
    double v = 0;
    if (!ParseDouble(plaintext, &v)) {
      return Fail(Malformed("an encrypted value of type float does not hold a number"));
    }
    return Node::Float(v);
  }
  if (type == "bool") {
    // Go's strconv.ParseBool.
    static constexpr std::string_view kTrue[] = {"1", "t", "T", "TRUE", "true", "True"};
    static constexpr std::string_view kFalse[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (auto t : kTrue) {
      if (plaintext == t) return Node::Bool(true);
    }
    for (auto f : kFalse) {
      if (plaintext == f) return Node::Bool(false);
    }
    return Fail(Malformed("an encrypted value of type bool does not hold a boolean"));
  }
  return Fail(Malformed("unknown type in an encrypted value: " + std::string(type.substr(0, 16))));
}

std::string ScalarToString(const Node& node) {
  switch (node.kind) {
    case NodeKind::kBool:
      return node.bool_value ? "true" : "false";
    case NodeKind::kNull:
      return "";
    default:
      return ScalarPlaintext(node);
  }
}

}  // namespace coffer::files
