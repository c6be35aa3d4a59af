// A YAML reader and writer for what sops files hold: block mappings and
// sequences, plain/quoted/block scalars, simple flow collections, anchors and
// aliases (expanded), comments kept as entries. yaml-cpp drops comments, so
// this is a small parser of its own over lines.
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "files/formats.h"

namespace coffer::files {
namespace {

constexpr int kMaxDepth = 200;

struct Line {
  int indent = 0;       // column of the first non-space character
  std::string content;  // from that column, right-trimmed of '\r'
  int number = 0;       // 1-based
  bool blank = false;
  bool comment = false;  // content starts with '#'
};

Error Bad(int line, std::string what) {
  return Error{ErrorCode::kInvalidArgument, Reason::kMalformedInput,
               "YAML line " + std::to_string(line) + ": " + std::move(what)};
}

bool IsNullText(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool LooksInt(std::string_view s) {
  std::string_view t = s;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) t.remove_prefix(1);
  return AllDigits(t);
}

bool LooksFloat(std::string_view s) {
  std::string_view t = s;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) t.remove_prefix(1);
  if (t == ".inf" || t == ".Inf" || t == ".INF") return true;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return true;
  size_t i = 0;
  size_t int_digits = 0, frac_digits = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i, ++int_digits;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!AllDigits(t.substr(i))) return false;
    return true;
  }
  return i == t.size();
}

// YAML timestamps (yaml.v3 formats) normalised to Go's RFC 3339 (nano) text.
bool ParseTimestamp(std::string_view s, std::string* out) {
  auto digits = [&](size_t pos, size_t n) {
    if (pos + n > s.size()) return false;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[pos + i]))) return false;
    }
    return true;
  };
  if (!digits(0, 4) || s.size() < 10 || s[4] != '-' || !digits(5, 2) || s[7] != '-' ||
      !digits(8, 2)) {
    return false;
  }
  std::string date(s.substr(0, 10));
  if (s.size() == 10) {
    *out = date + "T00:00:00Z";
    return true;
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
  if (!digits(11, 2) || s.size() < 19 || s[13] != ':' || !digits(14, 2) || s[16] != ':' ||
      !digits(17, 2)) {
    return false;
  }
  std::string time(s.substr(11, 8));
  size_t i = 19;
  std::string frac;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) frac += s[i++];
    if (frac.empty()) return false;
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
  }
  while (i < s.size() && s[i] == ' ') ++i;
  std::string zone;
  if (i == s.size() || s.substr(i) == "Z" || s.substr(i) == "z") {
    zone = "Z";
  } else if ((s[i] == '+' || s[i] == '-') && digits(i + 1, 2)) {
    std::string_view rest = s.substr(i + 3);
    if (rest.empty()) {
      zone = std::string(s.substr(i, 3)) + ":00";
    } else if (rest.size() == 3 && rest[0] == ':' && digits(i + 4, 2)) {
      zone = std::string(s.substr(i, 6));
    } else {
      return false;
    }
    if (zone == "+00:00") zone = "Z";
  } else {
    return false;
  }
  *out = date + "T" + time + (frac.empty() ? "" : "." + frac) + zone;
  return true;
}

// Resolves a plain scalar as yaml.v3 does into interface{}.
Node ResolvePlain(std::string_view s) {
  if (IsNullText(s)) return Node{};
  if (s == "true" || s == "True" || s == "TRUE") return Node::Bool(true);
  if (s == "false" || s == "False" || s == "FALSE") return Node::Bool(false);
  if (LooksInt(s)) {
    int64_t v = 0;
    std::string_view t = s;
    if (!t.empty() && t[0] == '+') t.remove_prefix(1);
    auto res = std::from_chars(t.data(), t.data() + t.size(), v);
    if (res.ec == std::errc() && res.ptr == t.data() + t.size()) return Node::Int(v);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    int64_t v = 0;
    auto res = std::from_chars(s.data() + 2, s.data() + s.size(), v, s[1] == 'x' ? 16 : 8);
    if (res.ec == std::errc() && res.ptr == s.data() + s.size()) return Node::Int(v);
  }
  if (LooksFloat(s)) {
    std::string t(s);
    if (t.find("inf") != std::string::npos || t.find("Inf") != std::string::npos ||
        t.find("INF") != std::string::npos) {
      return Node::Float(t[0] == '-' ? -HUGE_VAL : HUGE_VAL);
    }
    if (t.find("nan") != std::string::npos || t.find("NaN") != std::string::npos ||
        t.find("NAN") != std::string::npos) {
      return Node::Float(std::nan(""));
    }
    if (t[0] == '+') t.erase(0, 1);
    double v = 0;
    if (ParseDouble(t, &v)) return Node::Float(v);
  }
  std::string ts;
  if (ParseTimestamp(s, &ts)) {
    Node n;
    n.kind = NodeKind::kTime;
    n.text = ts;
    return n;
  }
  return Node::String(std::string(s));
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(std::vector<Line> lines) : lines_(std::move(lines)) {}

  Result<Node> ParseDocument() {
    Node root = Node::Map();
    SkipBlank();
    if (pos_ >= lines_.size()) return root;
    // Leading comments at any column belong to the root.
    int indent = NextContentIndent();
    if (indent < 0) {
      while (pos_ < lines_.size()) {
        if (lines_[pos_].comment) root.entries.push_back({"", Comment(lines_[pos_].content)});
        ++pos_;
      }
      return root;
    }
    COFFER_ASSIGN_OR_RETURN(root, ParseBlock(indent, 0));
    if (root.kind != NodeKind::kMap) {
      return Fail(Bad(lines_.empty() ? 0 : lines_[0].number,
                      "the top level of a document must be a mapping"));
    }
    // Trailing comments.
    while (pos_ < lines_.size()) {
      SkipBlank();
      if (pos_ >= lines_.size()) break;
      if (lines_[pos_].comment) {
        root.entries.push_back({"", Comment(lines_[pos_].content)});
        ++pos_;
        continue;
      }
      return Fail(Bad(lines_[pos_].number, "unexpected content (bad indentation?)"));
    }
    return root;
  }

 private:
  static Node Comment(std::string_view content) {
    return Node::Comment(std::string(content.substr(1)));
  }

  void SkipBlank() {
    while (pos_ < lines_.size() && lines_[pos_].blank) ++pos_;
  }

  // Indent of the next non-blank, non-comment line from pos_, or -1.
  int NextContentIndent() const {
    for (size_t i = pos_; i < lines_.size(); ++i) {
      if (!lines_[i].blank && !lines_[i].comment) return lines_[i].indent;
    }
    return -1;
  }

  static bool IsSeqItem(const std::string& c) {
    return c[0] == '-' && (c.size() == 1 || c[1] == ' ' || c[1] == '\t');
  }

  // A block node starting at the current line, whose lines have `indent`.
  Result<Node> ParseBlock(int indent, int depth) {
    if (depth > kMaxDepth) return Fail(Bad(lines_[pos_].number, "nesting too deep"));
    SkipBlank();
    const Line* first = NextContentLine();
    if (first == nullptr) return Node::Map();
    if (IsSeqItem(first->content)) return ParseSeq(indent, depth);
    size_t colon = 0;
    if (FindKeyColon(first->content, &colon)) return ParseMap(indent, depth);
    while (lines_[pos_].comment || lines_[pos_].blank) ++pos_;
    const Line& l = lines_[pos_];
    // A multi-line plain or quoted scalar as a whole node.
    std::string text = l.content;
    int number = l.number;
    ++pos_;
    while (pos_ < lines_.size() && !lines_[pos_].comment &&
           (lines_[pos_].blank || lines_[pos_].indent >= indent)) {
      if (!lines_[pos_].blank) text += " " + lines_[pos_].content;
      ++pos_;
    }
    std::vector<Node> trailing;
    return ParseValueAfterIndicator(text, number, indent, depth, /*in_seq=*/false, &trailing);
  }

  // Comments at the current position belong to the container at `indent` when
  // they are indented at least as much or the next content stays inside it.
  bool TakeComments(Node* container, int indent) {
    bool took = false;
    while (pos_ < lines_.size() && (lines_[pos_].blank || lines_[pos_].comment)) {
      if (lines_[pos_].blank) {
        ++pos_;
        continue;
      }
      int next = NextContentIndent();
      if (lines_[pos_].indent >= indent || next >= indent) {
        Node c = Comment(lines_[pos_].content);
        if (container->kind == NodeKind::kMap) {
          container->entries.push_back({"", std::move(c)});
        } else {
          container->items.push_back(std::move(c));
        }
        took = true;
        ++pos_;
      } else {
        break;
      }
    }
    return took;
  }

  Result<Node> ParseMap(int indent, int depth) {
    Node map = Node::Map();
    std::unordered_set<std::string> seen;  // duplicate keys, without a quadratic scan
    while (true) {
      TakeComments(&map, indent);
      if (pos_ >= lines_.size()) break;
      Line& l = lines_[pos_];
      if (l.indent < indent) break;
      if (l.indent > indent) return Fail(Bad(l.number, "bad indentation of a mapping entry"));
      if (IsSeqItem(l.content)) {
        return Fail(Bad(l.number, "a sequence item where a mapping entry was expected"));
      }
      size_t colon = 0;
      if (!FindKeyColon(l.content, &colon)) {
        return Fail(Bad(l.number, "expected 'key: value'"));
      }
      COFFER_ASSIGN_OR_RETURN(std::string key, ParseKey(l.content.substr(0, colon), l.number));
      if (!seen.insert(key).second) return Fail(Bad(l.number, "duplicate key \"" + key + "\""));
      std::string rest = Trim(l.content.substr(colon + 1));
      int number = l.number;
      ++pos_;
      std::vector<Node> trailing;
      COFFER_ASSIGN_OR_RETURN(Node value, ParseValueAfterIndicator(rest, number, indent, depth,
                                                                   /*in_seq=*/false, &trailing));
      if (key == "<<" && value.kind == NodeKind::kMap) {  // merge key: copy entries
        for (Entry& e : value.entries) {
          if (e.value.kind != NodeKind::kComment && map.Find(e.key) == nullptr) {
            map.entries.push_back(std::move(e));
          }
        }
      } else {
        map.entries.push_back({std::move(key), std::move(value)});
      }
      for (Node& c : trailing) map.entries.push_back({"", std::move(c)});
    }
    return map;
  }

  Result<Node> ParseSeq(int indent, int depth) {
    Node seq = Node::List();
    while (true) {
      TakeComments(&seq, indent);
      if (pos_ >= lines_.size()) break;
      Line& l = lines_[pos_];
      if (l.indent < indent) break;
      if (l.indent > indent || !IsSeqItem(l.content)) {
        if (l.indent == indent) break;  // a mapping key after a same-indent sequence
        return Fail(Bad(l.number, "bad indentation of a sequence item"));
      }
      std::string rest = l.content.size() > 1 ? l.content.substr(2) : "";
      size_t extra = 0;
      while (extra < rest.size() && (rest[extra] == ' ' || rest[extra] == '\t')) ++extra;
      rest = rest.substr(extra);
      int item_indent = indent + 2 + static_cast<int>(extra);
      size_t colon = 0;
      if (!rest.empty() && (IsSeqItem(rest) || FindKeyColon(rest, &colon))) {
        // A nested block that starts on this line: re-read the line at the item's column.
        l.indent = item_indent;
        l.content = rest;
        COFFER_ASSIGN_OR_RETURN(Node item, ParseBlock(item_indent, depth + 1));
        seq.items.push_back(std::move(item));
        continue;
      }
      int number = l.number;
      ++pos_;
      std::vector<Node> trailing;
      COFFER_ASSIGN_OR_RETURN(Node item, ParseValueAfterIndicator(Trim(rest), number, indent, depth,
                                                                  /*in_seq=*/true, &trailing));
      seq.items.push_back(std::move(item));
      for (Node& c : trailing) seq.items.push_back(std::move(c));
    }
    return seq;
  }

  // True when a quoted scalar at the start of `s` is followed by ':' (a quoted key).
  static bool QuotedKeyColon(const std::string& s) {
    char q = s[0];
    size_t i = 1;
    while (i < s.size()) {
      if (q == '"' && s[i] == '\\') {
        i += 2;
        continue;
      }
      if (s[i] == q) {
        if (q == '\'' && i + 1 < s.size() && s[i + 1] == '\'') {
          i += 2;
          continue;
        }
        break;
      }
      ++i;
    }
    ++i;
    return i < s.size() && s[i] == ':' && (i + 1 == s.size() || s[i + 1] == ' ');
  }

  // Finds the ':' that ends a mapping key on a line.
  static bool FindKeyColon(const std::string& s, size_t* colon) {
    if (s.empty() || s[0] == '#') return false;
    if (s[0] == '"' || s[0] == '\'') {
      if (!QuotedKeyColon(s)) return false;
      char q = s[0];
      size_t i = 1;
      while (i < s.size()) {
        if (q == '"' && s[i] == '\\') {
          i += 2;
          continue;
        }
        if (s[i] == q) {
          if (q == '\'' && i + 1 < s.size() && s[i + 1] == '\'') {
            i += 2;
            continue;
          }
          break;
        }
        ++i;
      }
      *colon = i + 1;
      return true;
    }
    if (s[0] == '[' || s[0] == '{' || s[0] == '|' || s[0] == '>') return false;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '#' && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t')) return false;
      if (s[i] == ':' && (i + 1 == s.size() || s[i + 1] == ' ' || s[i + 1] == '\t')) {
        *colon = i;
        return true;
      }
    }
    return false;
  }

  static std::string Trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
    while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
    return std::string(s.substr(b, e - b));
  }

  Result<std::string> ParseKey(std::string_view raw, int number) {
    std::string k = Trim(raw);
    if (!k.empty() && (k[0] == '"' || k[0] == '\'')) {
      size_t end = 0;
      COFFER_ASSIGN_OR_RETURN(std::string v, ParseQuoted(k, 0, &end, number));
      return v;
    }
    if (k.empty()) return Fail(Bad(number, "empty mapping key"));
    if (k[0] == '&' || k[0] == '!' || k[0] == '*' || k[0] == '?') {
      return Fail(Bad(number, "anchors, tags and complex keys are not supported as keys"));
    }
    return k;
  }

  // Parses a quoted scalar starting at s[start]; *end is one past the closing quote.
  Result<std::string> ParseQuoted(const std::string& s, size_t start, size_t* end, int number) {
    char q = s[start];
    std::string out;
    size_t i = start + 1;
    while (i < s.size()) {
      char c = s[i];
      if (q == '\'' && c == '\'') {
        if (i + 1 < s.size() && s[i + 1] == '\'') {
          out += '\'';
          i += 2;
          continue;
        }
        *end = i + 1;
        return out;
      }
      if (q == '"' && c == '"') {
        *end = i + 1;
        return out;
      }
      if (q == '"' && c == '\\') {
        if (i + 1 >= s.size()) return Fail(Bad(number, "bad escape in a quoted scalar"));
        char e = s[i + 1];
        i += 2;
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
          case '\t':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case '0':
            out += '\0';
            break;
          case 'a':
            out += '\a';
            break;
          case 'b':
            out += '\b';
            break;
          case 'e':
            out += '\x1b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'v':
            out += '\v';
            break;
          case '"':
            out += '"';
            break;
          case '/':
            out += '/';
            break;
          case '\\':
            out += '\\';
            break;
          case ' ':
            out += ' ';
            break;
          case 'N':
            AppendUtf8(&out, 0x85);
            break;
          case '_':
            AppendUtf8(&out, 0xA0);
            break;
          case 'L':
            AppendUtf8(&out, 0x2028);
            break;
          case 'P':
            AppendUtf8(&out, 0x2029);
            break;
          case 'x':
          case 'u':
          case 'U': {
            size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (i + n > s.size()) return Fail(Bad(number, "bad escape in a quoted scalar"));
            uint32_t cp = 0;
            auto res = std::from_chars(s.data() + i, s.data() + i + n, cp, 16);
            if (res.ec != std::errc() || res.ptr != s.data() + i + n) {
              return Fail(Bad(number, "bad escape in a quoted scalar"));
            }
            AppendUtf8(&out, cp);
            i += n;
            break;
          }
          case '\n':  // escaped line break (joined lines): nothing
            break;
          default:
            return Fail(Bad(number, "bad escape in a quoted scalar"));
        }
        continue;
      }
      out += c;
      ++i;
    }
    return Fail(Bad(number, "unterminated quoted scalar"));
  }

  // Strips a trailing " # comment" from a plain value into *comment.
  static std::string StripComment(const std::string& s, std::string* comment) {
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
        *comment = s.substr(i + 1);
        return Trim(s.substr(0, i));
      }
    }
    return s;
  }

  // The value after "key:" or "- " (`rest`, trimmed), reading more lines if it is
  // a block scalar, a nested block, or a multi-line quoted/flow scalar.
  Result<Node> ParseValueAfterIndicator(std::string rest, int number, int indent, int depth,
                                        bool in_seq, std::vector<Node>* trailing) {
    std::string anchor;
    // Tags are dropped; an anchor names the value for later aliases.
    while (!rest.empty() && (rest[0] == '!' || rest[0] == '&')) {
      size_t sp = rest.find_first_of(" \t");
      std::string word = rest.substr(0, sp);
      if (rest[0] == '&') anchor = word.substr(1);
      rest = sp == std::string::npos ? "" : Trim(rest.substr(sp));
    }
    Result<Node> value = ParseValueBody(rest, number, indent, depth, in_seq, trailing);
    if (value.has_value() && !anchor.empty()) anchors_[anchor] = *value;
    return value;
  }

  Result<Node> ParseValueBody(std::string rest, int number, int indent, int depth, bool in_seq,
                              std::vector<Node>* trailing) {
    if (rest.empty() || rest[0] == '#') {
      if (!rest.empty()) trailing->push_back(Node::Comment(rest.substr(1)));
      // A nested block on the following lines (or nothing: null).
      int next = NextContentIndent();
      if (next > indent ||
          (!in_seq && next == indent && next >= 0 && IsSeqItem(NextContentLine()->content))) {
        return ParseNested(next, depth);
      }
      return Node{};
    }
    if (rest[0] == '*') {
      std::string comment;
      std::string name = StripComment(rest, &comment).substr(1);
      if (!comment.empty()) trailing->push_back(Node::Comment(comment));
      auto it = anchors_.find(name);
      if (it == anchors_.end()) return Fail(Bad(number, "unknown alias *" + name));
      return it->second;
    }
    if (rest[0] == '|' || rest[0] == '>') return ParseBlockScalar(rest, number, indent);
    if (rest[0] == '"' || rest[0] == '\'') {
      // Join continuation lines until the closing quote.
      std::string text = rest;
      while (true) {
        size_t end = 0;
        Result<std::string> v = ParseQuoted(text, 0, &end, number);
        if (v.has_value()) {
          std::string tail = Trim(text.substr(end));
          if (!tail.empty()) {
            if (tail[0] != '#') return Fail(Bad(number, "unexpected text after a quoted scalar"));
            trailing->push_back(Node::Comment(tail.substr(1)));
          }
          return Node::String(std::move(*v));
        }
        if (pos_ >= lines_.size()) return Fail(v.error());
        // Line folding: a line break becomes a space, an empty line a newline.
        const Line& next = lines_[pos_++];
        if (next.blank) {
          text += "\n";
        } else {
          if (text.back() == '\\' && rest[0] == '"') {
            text.pop_back();
          } else if (text.back() != '\n') {
            text += ' ';
          }
          text += next.content;
        }
      }
    }
    if (rest[0] == '[' || rest[0] == '{') {
      std::string text = rest;
      while (!FlowBalanced(text) && pos_ < lines_.size()) text += " " + lines_[pos_++].content;
      size_t i = 0;
      COFFER_ASSIGN_OR_RETURN(Node n, ParseFlow(text, &i, number, depth));
      std::string tail = Trim(text.substr(i));
      if (!tail.empty()) {
        if (tail[0] != '#') return Fail(Bad(number, "unexpected text after a flow collection"));
        trailing->push_back(Node::Comment(tail.substr(1)));
      }
      return n;
    }
    std::string comment;
    std::string plain = StripComment(rest, &comment);
    // Multi-line plain scalar: more-indented continuation lines.
    while (pos_ < lines_.size() && !lines_[pos_].blank && !lines_[pos_].comment &&
           lines_[pos_].indent > indent && comment.empty()) {
      size_t colon = 0;
      if (FindKeyColon(lines_[pos_].content, &colon) || IsSeqItem(lines_[pos_].content)) break;
      plain += " " + StripComment(lines_[pos_].content, &comment);
      ++pos_;
    }
    if (!comment.empty()) trailing->push_back(Node::Comment(comment));
    return ResolvePlain(plain);
  }

  const Line* NextContentLine() const {
    for (size_t i = pos_; i < lines_.size(); ++i) {
      if (!lines_[i].blank && !lines_[i].comment) return &lines_[i];
    }
    return nullptr;
  }

  Result<Node> ParseNested(int indent, int depth) {
    // Comments between the key and its block belong to the block.
    std::vector<Node> leading;
    while (pos_ < lines_.size() && (lines_[pos_].blank || lines_[pos_].comment)) {
      if (lines_[pos_].comment) leading.push_back(Comment(lines_[pos_].content));
      ++pos_;
    }
    COFFER_ASSIGN_OR_RETURN(Node n, ParseBlock(indent, depth + 1));
    if (n.kind == NodeKind::kMap) {
      std::vector<Entry> entries;
      for (Node& c : leading) entries.push_back({"", std::move(c)});
      for (Entry& e : n.entries) entries.push_back(std::move(e));
      n.entries = std::move(entries);
    } else if (n.kind == NodeKind::kList) {
      n.items.insert(n.items.begin(), leading.begin(), leading.end());
    }
    return n;
  }

  Result<Node> ParseBlockScalar(const std::string& header, int number, int indent) {
    bool literal = header[0] == '|';
    char chomp = 'c';
    int explicit_indent = 0;
    for (size_t i = 1; i < header.size(); ++i) {
      char c = header[i];
      if (c == '-' || c == '+') {
        chomp = c;
      } else if (c >= '1' && c <= '9') {
        explicit_indent = c - '0';
      } else if (c == ' ' || c == '\t') {
        break;
      } else {
        return Fail(Bad(number, "bad block scalar header"));
      }
    }
    int block_indent = explicit_indent > 0 ? indent + explicit_indent : -1;
    std::vector<std::string> body;
    while (pos_ < lines_.size()) {
      const Line& l = lines_[pos_];
      if (l.blank) {
        body.push_back(l.content.size() > 0 && block_indent >= 0 &&
                               static_cast<int>(l.content.size()) > block_indent
                           ? l.content.substr(block_indent)
                           : "");
        ++pos_;
        continue;
      }
      if (block_indent < 0) {
        if (l.indent <= indent) break;
        block_indent = l.indent;
      }
      if (l.indent < block_indent) break;
      body.push_back(std::string(l.indent - block_indent, ' ') + l.content);
      ++pos_;
    }
    // Trailing blank lines are subject to chomping.
    size_t trailing_blank = 0;
    while (!body.empty() && body.back().empty()) {
      body.pop_back();
      ++trailing_blank;
    }
    std::string out;
    if (literal) {
      for (size_t i = 0; i < body.size(); ++i) out += body[i] + "\n";
    } else {
      bool prev_more = false;
      for (size_t i = 0; i < body.size(); ++i) {
        const std::string& b = body[i];
        bool more = !b.empty() && (b[0] == ' ' || b[0] == '\t');
        if (i > 0) {
          if (b.empty() || more || prev_more) {
            out += '\n';
          } else if (!body[i - 1].empty()) {
            out += ' ';
          }
        }
        out += b;
        prev_more = more;
      }
      if (!body.empty()) out += '\n';
    }
    if (body.empty()) out.clear();
    if (chomp == '-') {
      if (!out.empty() && out.back() == '\n') out.pop_back();
    } else if (chomp == '+') {
      out.append(trailing_blank, '\n');
    }
    return Node::String(std::move(out));
  }

  static bool FlowBalanced(const std::string& s) {
    int depth = 0;
    char q = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if (q != 0) {
        if (q == '"' && c == '\\') {
          ++i;
        } else if (c == q) {
          q = 0;
        }
        continue;
      }
      if (c == '"' || c == '\'') q = c;
      if (c == '[' || c == '{') ++depth;
      if (c == ']' || c == '}') --depth;
      if (depth == 0 && i > 0) return true;
    }
    return depth == 0;
  }

  Result<Node> ParseFlow(const std::string& s, size_t* i, int number, int depth) {
    if (depth > kMaxDepth) return Fail(Bad(number, "nesting too deep"));
    auto skip = [&] {
      while (*i < s.size() && (s[*i] == ' ' || s[*i] == '\t')) ++*i;
    };
    auto scalar = [&](bool is_key) -> Result<Node> {
      skip();
      if (*i < s.size() && (s[*i] == '[' || s[*i] == '{'))
        return ParseFlow(s, i, number, depth + 1);
      if (*i < s.size() && (s[*i] == '"' || s[*i] == '\'')) {
        size_t end = 0;
        COFFER_ASSIGN_OR_RETURN(std::string v, ParseQuoted(s, *i, &end, number));
        *i = end;
        return Node::String(std::move(v));
      }
      size_t b = *i;
      while (*i < s.size() && s[*i] != ',' && s[*i] != ']' && s[*i] != '}' &&
             !(s[*i] == ':' && (*i + 1 == s.size() || s[*i + 1] == ' ') && is_key)) {
        ++*i;
      }
      return ResolvePlain(Trim(s.substr(b, *i - b)));
    };
    char open = s[*i];
    ++*i;
    Node n = open == '[' ? Node::List() : Node::Map();
    char close = open == '[' ? ']' : '}';
    while (true) {
      skip();
      if (*i >= s.size()) return Fail(Bad(number, "unterminated flow collection"));
      if (s[*i] == close) {
        ++*i;
        return n;
      }
      if (open == '[') {
        COFFER_ASSIGN_OR_RETURN(Node item, scalar(false));
        n.items.push_back(std::move(item));
      } else {
        COFFER_ASSIGN_OR_RETURN(Node key, scalar(true));
        skip();
        Node value;
        if (*i < s.size() && s[*i] == ':') {
          ++*i;
          COFFER_ASSIGN_OR_RETURN(value, scalar(false));
        }
        if (!key.IsScalar()) return Fail(Bad(number, "only scalar keys are supported"));
        n.entries.push_back({ScalarToString(key), std::move(value)});
      }
      skip();
      if (*i < s.size() && s[*i] == ',') ++*i;
    }
  }

  std::vector<Line> lines_;
  size_t pos_ = 0;
  std::map<std::string, Node> anchors_;
};

// ---- emitter ----

bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  Node resolved = ResolvePlain(s);
  if (resolved.kind != NodeKind::kString) return true;
  static const std::string kIndicators = "-?:,[]{}#&*!|>'\"%@`";
  if (kIndicators.find(s[0]) != std::string::npos) {
    if (!((s[0] == '-' || s[0] == '?' || s[0] == ':') && s.size() > 1 && s[1] != ' ')) return true;
  }
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':' || s.front() == '\t') return true;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return true;
  if (s == "---" || s == "...") return true;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  if (s == "y" || s == "Y" || s == "yes" || s == "Yes" || s == "YES" || s == "n" || s == "N" ||
      s == "no" || s == "No" || s == "NO" || s == "on" || s == "On" || s == "ON" || s == "off" ||
      s == "Off" || s == "OFF") {
    return true;
  }
  return false;
}

std::string DoubleQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
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
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\0':
        out += "\\0";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char kHex[] = "0123456789ABCDEF";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string EmitKey(const std::string& k) { return NeedsQuotes(k) ? DoubleQuote(k) : k; }

// Whether a multi-line string can be written as a literal block scalar.
bool LiteralOk(const std::string& s) {
  if (s.find('\n') == std::string::npos) return false;
  size_t start = 0;
  bool first = true;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty() && (line.back() == ' ' || line.back() == '\t')) return false;
    if (first && !line.empty() && (line[0] == ' ' || line[0] == '\t')) return false;
    for (unsigned char c : line) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    first = false;
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return true;
}

std::string EmitScalar(const Node& n) {
  switch (n.kind) {
    case NodeKind::kNull:
      return "null";
    case NodeKind::kBool:
      return n.bool_value ? "true" : "false";
    case NodeKind::kInt:
      return std::to_string(n.int_value);
    case NodeKind::kFloat: {
      std::string s = FormatFloatG(n.float_value);
      if (s == "+Inf") return ".inf";
      if (s == "-Inf") return "-.inf";
      if (s == "NaN") return ".nan";
      // Keep the type on a round trip (yaml.v3 would write 2.0 as "2").
      if (s.find_first_of(".e") == std::string::npos) s += ".0";
      return s;
    }
    case NodeKind::kTime:
      return n.text;
    case NodeKind::kString:
      return NeedsQuotes(n.text) ? DoubleQuote(n.text) : n.text;
    default:
      return "";
  }
}

void EmitBlockLiteral(const std::string& s, int indent, std::string* out) {
  size_t trailing = 0;
  while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
  *out += trailing == 0 ? "|-" : trailing == 1 ? "|" : "|+";
  *out += "\n";
  std::string body = s.substr(0, s.size() - trailing);
  std::string pad(indent, ' ');
  size_t start = 0;
  while (true) {
    size_t nl = body.find('\n', start);
    std::string line = body.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    *out += line.empty() ? "\n" : pad + line + "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  for (size_t i = 1; i < trailing; ++i) *out += "\n";
}

void EmitMap(const Node& map, int indent, std::string* out);
void EmitList(const Node& list, int indent, std::string* out);

// Writes a value after "key:" or "- " (the indicator is already written, no space).
void EmitValueAfter(const Node& v, int indent, std::string* out) {
  if (v.kind == NodeKind::kMap) {
    if (v.entries.empty()) {
      *out += " {}\n";
      return;
    }
    *out += "\n";
    EmitMap(v, indent + 4, out);
  } else if (v.kind == NodeKind::kList) {
    if (v.items.empty()) {
      *out += " []\n";
      return;
    }
    *out += "\n";
    EmitList(v, indent + 4, out);
  } else if (v.kind == NodeKind::kString && LiteralOk(v.text)) {
    *out += " ";
    EmitBlockLiteral(v.text, indent + 4, out);
  } else {
    *out += " " + EmitScalar(v) + "\n";
  }
}

void EmitMap(const Node& map, int indent, std::string* out) {
  std::string pad(indent, ' ');
  for (const Entry& e : map.entries) {
    if (e.value.kind == NodeKind::kComment) {
      *out += pad + "#" + e.value.text + "\n";
      continue;
    }
    *out += pad + EmitKey(e.key) + ":";
    EmitValueAfter(e.value, indent, out);
  }
}

void EmitList(const Node& list, int indent, std::string* out) {
  std::string pad(indent, ' ');
  for (const Node& item : list.items) {
    if (item.kind == NodeKind::kComment) {
      *out += pad + "#" + item.text + "\n";
      continue;
    }
    if (item.kind == NodeKind::kMap && !item.entries.empty()) {
      std::string sub;
      EmitMap(item, indent + 2, &sub);
      *out += pad + "- " + sub.substr(indent + 2);
      continue;
    }
    if (item.kind == NodeKind::kList && !item.items.empty()) {
      std::string sub;
      EmitList(item, indent + 2, &sub);
      *out += pad + "- " + sub.substr(indent + 2);
      continue;
    }
    *out += pad + "-";
    if (item.kind == NodeKind::kString && LiteralOk(item.text)) {
      *out += " ";
      EmitBlockLiteral(item.text, indent + 2, out);
    } else if (item.kind == NodeKind::kMap) {
      *out += " {}\n";
    } else if (item.kind == NodeKind::kList) {
      *out += " []\n";
    } else {
      *out += " " + EmitScalar(item) + "\n";
    }
  }
}

}  // namespace

Result<Document> ParseYaml(std::string_view text) {
  Document doc;
  std::vector<Line> lines;
  int number = 0;
  bool any_content = false;
  bool explicit_start = false;
  auto finish = [&]() -> Status {
    if (!any_content && !explicit_start && lines.empty()) return Ok();
    Parser parser(std::move(lines));
    COFFER_ASSIGN_OR_RETURN(Node root, parser.ParseDocument());
    doc.branches.push_back(std::move(root));
    lines.clear();
    any_content = false;
    return Ok();
  };
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view raw =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++number;
    std::string s(raw);
    if (!s.empty() && s.back() == '\r') s.pop_back();
    if (s == "---" || s.rfind("--- ", 0) == 0) {
      if (any_content || !lines.empty() || explicit_start) COFFER_RETURN_IF_ERROR(finish());
      explicit_start = true;
      std::string rest = s.size() > 4 ? s.substr(4) : "";
      if (rest.find_first_not_of(' ') != std::string::npos &&
          rest[rest.find_first_not_of(' ')] != '#') {
        return Fail(Bad(number, "content after '---' is not supported"));
      }
      continue;
    }
    if (s == "...") {
      COFFER_RETURN_IF_ERROR(finish());
      explicit_start = false;
      continue;
    }
    if (!s.empty() && s[0] == '%') continue;  // directives
    Line l;
    l.number = number;
    size_t ind = 0;
    while (ind < s.size() && s[ind] == ' ') ++ind;
    if (ind < s.size() && s[ind] == '\t' && s.find_first_not_of(" \t") != std::string::npos &&
        s[s.find_first_not_of(" \t")] != '#') {
      return Fail(Bad(number, "tabs are not allowed for indentation"));
    }
    l.indent = static_cast<int>(ind);
    l.content = s.substr(ind);
    size_t nonspace = s.find_first_not_of(" \t");
    l.blank = nonspace == std::string::npos;
    if (l.blank) l.content = s;  // block scalars may need the spaces
    l.comment = !l.blank && s[nonspace] == '#';
    if (l.comment) {
      l.indent = static_cast<int>(nonspace);
      l.content = s.substr(nonspace);
    }
    if (!l.blank) any_content = true;
    lines.push_back(std::move(l));
  }
  if (any_content || explicit_start) COFFER_RETURN_IF_ERROR(finish());
  if (doc.branches.empty()) doc.branches.push_back(Node::Map());
  return doc;
}

std::string EmitYaml(const Document& doc) {
  std::string out;
  for (size_t i = 0; i < doc.branches.size(); ++i) {
    if (i > 0) out += "---\n";
    const Node& b = doc.branches[i];
    if (b.entries.empty()) {
      out += "{}\n";
      continue;
    }
    EmitMap(b, 0, &out);
  }
  return out;
}

}  // namespace coffer::files
