#include "api/s3/xml.h"

#include <cstdint>

namespace coffer::api::s3 {
namespace {

constexpr int kMaxDepth = 8;

std::unexpected<Error> Malformed() {
  return Fail(ErrorCode::kInvalidArgument,
              "The XML you provided was not well-formed or did not validate against our "
              "published schema",
              Reason::kMalformedXml);
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

Status DecodeText(std::string_view raw, std::string& out) {
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    out.append(raw.substr(0, amp));
    if (amp == std::string_view::npos) break;
    raw.remove_prefix(amp);
    size_t semi = raw.find(';');
    if (semi == std::string_view::npos || semi > 12) return Malformed();
    std::string_view entity = raw.substr(1, semi - 1);
    raw.remove_prefix(semi + 1);
    if (entity == "amp") {
      out.push_back('&');
    } else if (entity == "lt") {
      out.push_back('<');
    } else if (entity == "gt") {
      out.push_back('>');
    } else if (entity == "quot") {
      out.push_back('"');
    } else if (entity == "apos") {
      out.push_back('\'');
    } else if (entity.size() > 1 && entity[0] == '#') {
      bool hex = entity[1] == 'x';
      std::string_view digits = entity.substr(hex ? 2 : 1);
      if (digits.empty()) return Malformed();
      uint32_t cp = 0;
      for (char c : digits) {
        int v = (c >= '0' && c <= '9')           ? c - '0'
                : (hex && c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (hex && c >= 'A' && c <= 'F') ? c - 'A' + 10
                                                : -1;
        if (v < 0) return Malformed();
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
        if (cp > 0x10FFFF) return Malformed();
      }
      AppendUtf8(cp, out);
    } else {
      return Malformed();
    }
  }
  return Ok();
}

class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  Result<XmlElement> Document() {
    SkipMisc();
    COFFER_ASSIGN_OR_RETURN(XmlElement root, Element(0));
    SkipMisc();
    if (pos_ != in_.size()) return Malformed();
    return root;
  }

 private:
  void SkipSpace() {
    while (pos_ < in_.size() && IsSpace(in_[pos_])) ++pos_;
  }
  // Whitespace, the XML declaration, processing instructions and comments.
  void SkipMisc() {
    while (true) {
      SkipSpace();
      std::string_view rest = in_.substr(pos_);
      if (rest.starts_with("<?")) {
        size_t end = rest.find("?>");
        if (end == std::string_view::npos) return;
        pos_ += end + 2;
      } else if (rest.starts_with("<!--")) {
        size_t end = rest.find("-->");
        if (end == std::string_view::npos) return;
        pos_ += end + 3;
      } else {
        return;
      }
    }
  }

  Result<std::string> Name() {
    size_t start = pos_;
    while (pos_ < in_.size() && !IsSpace(in_[pos_]) && in_[pos_] != '>' && in_[pos_] != '/' &&
           in_[pos_] != '<' && in_[pos_] != '=') {
      ++pos_;
    }
    if (pos_ == start) return Malformed();
    std::string_view name = in_.substr(start, pos_ - start);
    if (size_t colon = name.find(':'); colon != std::string_view::npos) {
      name.remove_prefix(colon + 1);
    }
    return std::string(name);
  }

  Result<XmlElement> Element(int depth) {
    if (depth > kMaxDepth) return Malformed();
    if (pos_ >= in_.size() || in_[pos_] != '<') return Malformed();
    ++pos_;
    XmlElement element;
    COFFER_ASSIGN_OR_RETURN(element.name, Name());
    // Attributes: name="value" or name='value', read past.
    while (true) {
      SkipSpace();
      if (pos_ >= in_.size()) return Malformed();
      if (in_.substr(pos_).starts_with("/>")) {
        pos_ += 2;
        return element;
      }
      if (in_[pos_] == '>') {
        ++pos_;
        break;
      }
      COFFER_RETURN_IF_ERROR(Name());
      SkipSpace();
      if (pos_ >= in_.size() || in_[pos_] != '=') return Malformed();
      ++pos_;
      SkipSpace();
      if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\'')) return Malformed();
      char quote = in_[pos_++];
      size_t end = in_.find(quote, pos_);
      if (end == std::string_view::npos) return Malformed();
      pos_ = end + 1;
    }
    // Content.
    while (true) {
      size_t lt = in_.find('<', pos_);
      if (lt == std::string_view::npos) return Malformed();
      COFFER_RETURN_IF_ERROR(DecodeText(in_.substr(pos_, lt - pos_), element.text));
      pos_ = lt;
      std::string_view rest = in_.substr(pos_);
      if (rest.starts_with("</")) {
        pos_ += 2;
        COFFER_ASSIGN_OR_RETURN(std::string closing, Name());
        SkipSpace();
        if (closing != element.name || pos_ >= in_.size() || in_[pos_] != '>') {
          return Malformed();
        }
        ++pos_;
        // Text around child elements is only whitespace in S3's schemas.
        if (!element.children.empty()) element.text.clear();
        return element;
      }
      if (rest.starts_with("<!--")) {
        size_t end = rest.find("-->");
        if (end == std::string_view::npos) return Malformed();
        pos_ += end + 3;
        continue;
      }
      if (rest.starts_with("<![CDATA[")) {
        size_t end = rest.find("]]>");
        if (end == std::string_view::npos) return Malformed();
        element.text.append(rest.substr(9, end - 9));
        pos_ += end + 3;
        continue;
      }
      if (rest.starts_with("<!") || rest.starts_with("<?")) return Malformed();
      COFFER_ASSIGN_OR_RETURN(XmlElement child, Element(depth + 1));
      element.children.push_back(std::move(child));
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') {
          out += "&#" + std::to_string(static_cast<int>(c)) + ";";
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

Xml& Xml::Open(std::string_view name) {
  out_.push_back('<');
  out_.append(name).push_back('>');
  return *this;
}
Xml& Xml::Close(std::string_view name) {
  out_.append("</").append(name).push_back('>');
  return *this;
}
Xml& Xml::Element(std::string_view name, std::string_view text) {
  Open(name);
  out_ += XmlEscape(text);
  return Close(name);
}
Xml& Xml::Raw(std::string_view xml) {
  out_.append(xml);
  return *this;
}

const XmlElement* XmlElement::Child(std::string_view child) const {
  for (const XmlElement& c : children) {
    if (c.name == child) return &c;
  }
  return nullptr;
}

Result<XmlElement> ParseXml(std::string_view document) { return Parser(document).Document(); }

}  // namespace coffer::api::s3
