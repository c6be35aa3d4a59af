#include "agent/template.h"

#include <gtest/gtest.h>

#include "support/matchers.h"

namespace coffer::agent {
namespace {


Values Sample() {
  Values v;
  v["password"] = SecretBytes("s3cr3t");
  v["user"] = SecretBytes("app");
  v["my-key"] = SecretBytes("dashed");
  v["b64"] = SecretBytes("aGVsbG8=");
  return v;
}

std::string Render(std::string_view text) {
  auto r = RenderTemplate(text, Sample());
  EXPECT_TRUE(IsOk(r));
  return r ? std::string(r->Reveal()) : "";
}

// ESO's documented forms: {{ .key }}, index, pipes, trim markers.
TEST(TemplateTest, RendersKeysIndexAndPipes) {
  EXPECT_EQ(Render("postgres://{{ .user }}:{{ .password }}@db"), "postgres://app:s3cr3t@db");
  EXPECT_EQ(Render("{{ index . \"my-key\" }}"), "dashed");
  EXPECT_EQ(Render("{{ .user | upper }}"), "APP");
  EXPECT_EQ(Render("{{ .password | b64enc }}"), "czNjcjN0");
  EXPECT_EQ(Render("{{ .b64 | b64dec }}"), "hello");
  EXPECT_EQ(Render("{{ .user | quote }}"), "\"app\"");
  EXPECT_EQ(Render("a  {{- .user -}}  b"), "aappb");
  EXPECT_EQ(Render("x:{{ .user | nindent 2 }}"), "x:\n  app");
}

// A key without a value is an error naming the key, never a value.
TEST(TemplateTest, UnknownKeyFailsNamingTheKey) {
  auto r = RenderTemplate("{{ .nope }}", Sample());
  ASSERT_TRUE(HasError(r, ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_NE(r.error().message.find("nope"), std::string::npos);
  EXPECT_EQ(r.error().message.find("s3cr3t"), std::string::npos);
}

// Go template constructs outside the subset are refused, not half-rendered.
TEST(TemplateTest, UnsupportedConstructsAreRefused) {
  EXPECT_TRUE(HasError(RenderTemplate("{{ range . }}x{{ end }}", Sample()),
                       ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(RenderTemplate("{{ .user | sha256sum }}", Sample()),
                       ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(RenderTemplate("{{ .user ", Sample()), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

// b64dec of a value that is not base64 fails without printing the value.
TEST(TemplateTest, B64decOfNonBase64FailsWithoutTheValue) {
  auto r = RenderTemplate("{{ .password | b64dec }}", Sample());
  ASSERT_TRUE(HasError(r, ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_EQ(r.error().message.find("s3cr3t"), std::string::npos);
}

}  // namespace
}  // namespace coffer::agent
