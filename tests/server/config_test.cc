#include "server/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/matchers.h"
#include "support/temp_dir.h"

namespace coffer::server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The message of a failed parse (empty when it succeeded, which the caller also asserts).
std::string MessageOf(const Result<std::vector<ConfigEntry>>& r) {
  return r.has_value() ? "" : r.error().message;
}

// Scalars, booleans and both list spellings come back as (key, values, line) in file order.
TEST(ConfigTest, ParsesScalarsAndListsWithTheirLines) {
  auto r = ParseConfig(
      "# a comment\n"
      "data-dir: data/coffer\n"
      "dev: true\n"
      "oidc-jwks: [a=1, b=2]\n"
      "\n"
      "listen: '127.0.0.1:8200'\n"
      "io-threads: 4\n"
      "rotation-workers:\n"
      "  - 3\n",
      "c.yaml");
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->size(), 6u);
  const auto& e = *r;
  EXPECT_EQ(e[0].key, "data-dir");
  EXPECT_THAT(e[0].values, ElementsAre("data/coffer"));
  EXPECT_FALSE(e[0].is_list);
  EXPECT_EQ(e[0].line, 2);
  EXPECT_EQ(e[1].key, "dev");
  EXPECT_THAT(e[1].values, ElementsAre("true"));
  EXPECT_EQ(e[2].key, "oidc-jwks");
  EXPECT_TRUE(e[2].is_list);
  EXPECT_THAT(e[2].values, ElementsAre("a=1", "b=2"));
  EXPECT_EQ(e[2].line, 4);
  EXPECT_EQ(e[3].key, "listen");
  EXPECT_THAT(e[3].values, ElementsAre("127.0.0.1:8200"));
  EXPECT_EQ(e[3].line, 6);
  EXPECT_EQ(e[4].key, "io-threads");
  EXPECT_THAT(e[4].values, ElementsAre("4"));
  EXPECT_EQ(e[5].key, "rotation-workers");
  EXPECT_TRUE(e[5].is_list);
  EXPECT_THAT(e[5].values, ElementsAre("3"));
  EXPECT_EQ(e[5].line, 8);
}

// A file of comments only, or an empty one, sets nothing.
TEST(ConfigTest, EmptyOrCommentOnlyFileHasNoEntries) {
  auto empty = ParseConfig("", "c.yaml");
  ASSERT_TRUE(IsOk(empty));
  EXPECT_THAT(*empty, IsEmpty());
  auto comments = ParseConfig("# listen: 127.0.0.1:8200\n# nothing else\n", "c.yaml");
  ASSERT_TRUE(IsOk(comments));
  EXPECT_THAT(*comments, IsEmpty());
}

// An empty list is a list with no values (it sets nothing, but is not an error).
TEST(ConfigTest, EmptyListIsAListWithoutValues) {
  auto r = ParseConfig("oidc-jwks: []\n", "c.yaml");
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE((*r)[0].is_list);
  EXPECT_THAT((*r)[0].values, IsEmpty());
}

// A YAML syntax error names the file and the line it is on.
TEST(ConfigTest, SyntaxErrorNamesFileAndLine) {
  auto r = ParseConfig("listen: 127.0.0.1:8200\ndata-dir: [unclosed\nregion: x\n", "/etc/c.yaml");
  EXPECT_TRUE(HasError(r, ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_THAT(MessageOf(r), HasSubstr("/etc/c.yaml:"));
  EXPECT_THAT(MessageOf(r), HasSubstr("not valid YAML"));
}

// A document that is a list or a bare word is refused: the file is key: value lines.
TEST(ConfigTest, NonMappingDocumentIsRefused) {
  auto list = ParseConfig("- listen\n- data-dir\n", "c.yaml");
  EXPECT_TRUE(HasError(list, ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_THAT(MessageOf(list), HasSubstr("c.yaml:1: the config file must be a mapping"));
  auto word = ParseConfig("listen\n", "c.yaml");
  EXPECT_TRUE(HasError(word, ErrorCode::kInvalidArgument, Reason::kMalformedInput));
}

// A key given twice is an error at the second one (which of the two wins would be a guess).
TEST(ConfigTest, DuplicateKeyIsRefusedAtItsSecondLine) {
  auto r = ParseConfig("listen: a\nregion: b\nlisten: c\n", "c.yaml");
  EXPECT_TRUE(HasError(r, ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_EQ(MessageOf(r), "c.yaml:3: key 'listen' is given twice");
}

// `key:` with nothing after it is refused rather than read as an empty string.
TEST(ConfigTest, KeyWithoutValueIsRefused) {
  auto r = ParseConfig("region: us-east-1\nlisten:\n", "c.yaml");
  EXPECT_TRUE(HasError(r, ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_EQ(MessageOf(r), "c.yaml:2: key 'listen' has no value");
}

// Nested mappings, and lists of anything but scalars, have no option to go to.
TEST(ConfigTest, NestedValuesAreRefusedWithTheirLine) {
  auto map = ParseConfig("region: x\ntls:\n  cert: a\n", "c.yaml");
  EXPECT_TRUE(HasError(map, ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_EQ(MessageOf(map), "c.yaml:2: key 'tls' wants a value or a list, not a mapping");
  auto nested = ParseConfig("oidc-jwks:\n  - a=1\n  - [b, c]\n", "c.yaml");
  EXPECT_TRUE(HasError(nested, ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_EQ(MessageOf(nested), "c.yaml:3: the list of key 'oidc-jwks' may hold plain values only");
}

// A key that is itself a list or a mapping is refused.
TEST(ConfigTest, NonScalarKeyIsRefused) {
  auto r = ParseConfig("? [a, b]\n: c\n", "c.yaml");
  EXPECT_TRUE(HasError(r, ErrorCode::kInvalidArgument, Reason::kMalformedInput));
  EXPECT_THAT(MessageOf(r), HasSubstr("a key must be a plain name"));
}

// Error messages name keys and lines, never a value (one might be a misplaced secret).
TEST(ConfigTest, ErrorMessagesDoNotQuoteValues) {
  const std::string canary = "canary-5f1c0e7a";
  for (const std::string& text :
       {"a: " + canary + "\na: " + canary + "\n", "tls:\n  key: " + canary + "\n",
        "l:\n  - " + canary + "\n  - {x: " + canary + "}\n"}) {
    auto r = ParseConfig(text, "c.yaml");
    ASSERT_FALSE(r.has_value()) << text.size();
    EXPECT_THAT(r.error().message, ::testing::Not(HasSubstr(canary)));
  }
}

// ReadConfigFile reads a file; a missing one is kNotFound naming the path.
TEST(ConfigTest, ReadConfigFileReadsAFileAndReportsAMissingOne) {
  testing::ScopedTempDir dir;
  std::string path = dir.File("config.yaml");
  {
    std::ofstream out(path);
    out << "listen: 127.0.0.1:0\nlistn: x\n";
  }
  auto r = ReadConfigFile(path);
  ASSERT_TRUE(IsOk(r));
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].key, "listn");
  EXPECT_EQ((*r)[1].line, 2);
  auto missing = ReadConfigFile(dir.File("absent.yaml"));
  EXPECT_TRUE(HasError(missing, ErrorCode::kNotFound));
  EXPECT_THAT(MessageOf(missing), HasSubstr("absent.yaml"));
}

}  // namespace
}  // namespace coffer::server
