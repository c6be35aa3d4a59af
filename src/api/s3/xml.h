// The little XML the S3 front needs: a writer for answers, and a strict
// parser for the request bodies S3 takes as XML (CompleteMultipartUpload,
// Delete): elements, text and the five predefined entities and numeric
// character references; declarations and comments are skipped; attributes are
// read past (namespaces are not checked); DTDs and anything else are refused.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace coffer::api::s3 {

std::string XmlEscape(std::string_view text);

class Xml {
 public:
  Xml& Open(std::string_view name);
  Xml& Close(std::string_view name);
  Xml& Element(std::string_view name, std::string_view text);
  Xml& Raw(std::string_view xml);
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

struct XmlElement {
  std::string name;  // without a namespace prefix
  std::string text;  // the text directly inside it, entities decoded
  std::vector<XmlElement> children;

  // The first child named `name`, or null.
  const XmlElement* Child(std::string_view name) const;
};

// The document's root element. kInvalidArgument (kMalformedXml) when it is
// not well-formed, nests deeper than 8 levels or holds a DTD.
Result<XmlElement> ParseXml(std::string_view document);

}  // namespace coffer::api::s3
