#include "api/s3/xml.h"

#include <gtest/gtest.h>

#include "support/matchers.h"

namespace coffer::api::s3 {
namespace {

// What botocore sends for CompleteMultipartUpload parses into its parts.
TEST(XmlTest, ParsesACompleteMultipartUploadBody) {
  auto root = ParseXml(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUpload "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><ETag>&quot;abc&quot;</ETag>"
      "<PartNumber>1</PartNumber></Part></CompleteMultipartUpload>");
  ASSERT_TRUE(IsOk(root));
  EXPECT_EQ(root->name, "CompleteMultipartUpload");
  ASSERT_EQ(root->children.size(), 1u);
  EXPECT_EQ(root->children[0].Child("ETag")->text, "\"abc\"");
  EXPECT_EQ(root->children[0].Child("PartNumber")->text, "1");
}

// Entities and character references decode; keys keep their bytes.
TEST(XmlTest, DecodesEntities) {
  auto root = ParseXml("<Delete><Object><Key>a&amp;b&#x20;&lt;c&gt;&#233;</Key></Object></Delete>");
  ASSERT_TRUE(IsOk(root));
  EXPECT_EQ(root->children[0].Child("Key")->text, "a&b <c>\xc3\xa9");
}

// DTDs (entity expansion), mismatched tags, unknown entities, depth bombs
// and trailing garbage are refused.
TEST(XmlTest, RefusesWhatIsNotPlainWellFormedXml) {
  for (const char* bad : {"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>", "<a><b></a></b>",
                          "<a>&nope;</a>", "<a><b><c><d><e><f><g><h><i><j>x</j></i></h></g></f>"
                          "</e></d></c></b></a>", "<a></a>junk", "<a>", ""}) {
    EXPECT_TRUE(HasError(ParseXml(bad), ErrorCode::kInvalidArgument, Reason::kMalformedXml))
        << bad;
  }
}

TEST(XmlTest, WriterEscapes) {
  Xml xml;
  xml.Element("Key", "a<b>&\"'");
  EXPECT_EQ(xml.str(), "<Key>a&lt;b&gt;&amp;&quot;&apos;</Key>");
}

}  // namespace
}  // namespace coffer::api::s3
