#include "cli/export_formats.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace coffer::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<ExportValue> Values(std::vector<std::pair<std::string, std::string>> kv) {
  std::vector<ExportValue> out;
  for (auto& [k, v] : kv) {
    out.push_back({k, SecretBytes(v), "arn:aws:ssm:us-east-1:123456789012:parameter/svc/" + k});
  }
  return out;
}

std::string Render(ExportFormat f, std::vector<std::pair<std::string, std::string>> kv) {
  ExportOptions o;
  o.k8s_name = "svc";
  o.heredoc_random = "0123456789abcdef0123456789abcdef";
  auto r = RenderExport(f, Values(std::move(kv)), o);
  if (!r) return "ERROR: " + r.error().message;
  return std::string(r->body.Reveal());
}

TEST(ExportFormatTest, ParsesEveryName) {
  for (const char* n : {"dotenv", "json", "yaml", "java-properties", "csv", "tsv", "tfvars",
                        "k8s-secret", "ecs", "github-env"}) {
    EXPECT_TRUE(ParseExportFormat(n)) << n;
  }
  EXPECT_FALSE(ParseExportFormat("xml"));
}

TEST(ExportFormatTest, EnvNameMapsLikeChamber) {
  EXPECT_EQ(EnvName("db-host.name"), "DB_HOST_NAME");
  EXPECT_EQ(EnvName("Api_Key"), "API_KEY");
  EXPECT_EQ(EnvName("1abc"), "");
  EXPECT_EQ(EnvName("a b"), "");
}

TEST(ExportFormatTest, Dotenv) {
  EXPECT_EQ(Render(ExportFormat::kDotenv,
                   {{"a", "x y$Z"}, {"b", "it's\n\"q\"\\x"}, {"c", ""}, {"d", "C:\\dir\\"}}),
            "A='x y$Z'\nB=\"it's\\n\\\"q\\\"\\\\x\"\nC=''\nD=C:\\dir\\\n");
  // python-dotenv reads a backslash before the closing quote as escaping it.
  EXPECT_THAT(Render(ExportFormat::kDotenv, {{"k", "two\nlines\\"}}),
              HasSubstr("ERROR: format dotenv cannot hold key k"));
}

TEST(ExportFormatTest, JsonAndYamlEscapeEverything) {
  EXPECT_EQ(Render(ExportFormat::kJson, {{"k", "a\"\n\\é"}}),
            "{\n  \"k\": \"a\\\"\\n\\\\é\"\n}\n");
  EXPECT_EQ(Render(ExportFormat::kYaml, {{"k", "a\"\n\\\x01"}}),
            "\"k\": \"a\\\"\\n\\\\\\x01\"\n");
}

TEST(ExportFormatTest, JavaProperties) {
  EXPECT_EQ(Render(ExportFormat::kJavaProperties, {{"a.b", " x=y:z\n#é😀"}}),
            "a.b=\\ x\\=y\\:z\\n\\#\\u00E9\\uD83D\\uDE00\n");
}

TEST(ExportFormatTest, CsvQuotesAndTsvRefuses) {
  EXPECT_EQ(Render(ExportFormat::kCsv, {{"k", "a,\"b\"\nc"}, {"p", "plain"}}),
            "k,\"a,\"\"b\"\"\nc\"\r\np,plain\r\n");
  EXPECT_EQ(Render(ExportFormat::kTsv, {{"k", "a b"}}), "k\ta b\n");
  std::string refused = Render(ExportFormat::kTsv, {{"k", "hidden\tvalue"}});
  EXPECT_THAT(refused, HasSubstr("ERROR: format tsv cannot hold key k"));
  EXPECT_THAT(refused, Not(HasSubstr("hidden")));
}

TEST(ExportFormatTest, TfvarsEscapesTemplates) {
  EXPECT_EQ(Render(ExportFormat::kTfvars, {{"k", "${x} %{y} $z\n\"\\"}}),
            "k = \"$${x} %%{y} $z\\n\\\"\\\\\"\n");
  EXPECT_THAT(Render(ExportFormat::kTfvars, {{"9k", "v"}}), HasSubstr("ERROR"));
}

TEST(ExportFormatTest, K8sSecretIsBase64) {
  EXPECT_EQ(Render(ExportFormat::kK8sSecret, {{"k", "v\n"}}),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: \"svc\"\ntype: Opaque\ndata:\n"
            "  \"k\": dgo=\n");
  EXPECT_THAT(Render(ExportFormat::kK8sSecret, {{"a/b", "v"}}), HasSubstr("ERROR"));
}

TEST(ExportFormatTest, EcsNamesArnsNotValues) {
  std::string out = Render(ExportFormat::kEcs, {{"db-pass", "topsecret"}});
  EXPECT_EQ(out,
            "[\n  {\"name\": \"DB_PASS\", \"valueFrom\": "
            "\"arn:aws:ssm:us-east-1:123456789012:parameter/svc/db-pass\"}\n]\n");
}

TEST(ExportFormatTest, GithubEnvMasksEveryLineFirst) {
  ExportOptions o;
  o.heredoc_random = "0123456789abcdef";
  auto r = RenderExport(ExportFormat::kGithubEnv,
                        Values({{"one", "simple"}, {"multi", "l1\n50%\n"}}), o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->mask_commands, "::add-mask::simple\n::add-mask::l1\n::add-mask::50%25\n");
  EXPECT_EQ(std::string(r->body.Reveal()),
            "ONE=simple\nMULTI<<ghadelimiter_0123456789abcdef\nl1\n50%\n\n"
            "ghadelimiter_0123456789abcdef\n");
}

TEST(ExportFormatTest, CollidingEnvNamesAreRefused) {
  EXPECT_THAT(Render(ExportFormat::kDotenv, {{"a-b", "1"}, {"a.b", "2"}}),
              HasSubstr("same name A_B"));
}

TEST(ExportFormatTest, InvalidUtf8IsRefusedByTextFormats) {
  EXPECT_THAT(Render(ExportFormat::kJson, {{"k", "\xff"}}), HasSubstr("not valid UTF-8"));
  EXPECT_THAT(Render(ExportFormat::kYaml, {{"k", "\xc3"}}), HasSubstr("not valid UTF-8"));
  EXPECT_THAT(Render(ExportFormat::kK8sSecret, {{"k", "\xff"}}), Not(HasSubstr("ERROR")));
}

TEST(ImportDocumentTest, JsonAndYaml) {
  auto j = ParseImportDocument("{\"a\": \"1\\n\", \"b\": \"\"}");
  ASSERT_TRUE(j) << j.error().message;
  ASSERT_EQ(j->size(), 2u);
  EXPECT_EQ((*j)[0].value.Reveal(), "1\n");
  auto y = ParseImportDocument("a: \"x\\ty\"\nb: plain\nc: |\n  two\n  lines\n");
  ASSERT_TRUE(y) << y.error().message;
  ASSERT_EQ(y->size(), 3u);
  EXPECT_EQ((*y)[0].value.Reveal(), "x\ty");
  EXPECT_EQ((*y)[2].value.Reveal(), "two\nlines\n");
  EXPECT_FALSE(ParseImportDocument("{\"a\": 1}"));
  EXPECT_FALSE(ParseImportDocument("- a\n- b\n"));
  auto bad = ParseImportDocument("{\"k\": {\"nested\": \"hiddenvalue\"}}");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, Not(HasSubstr("hiddenvalue")));
}

TEST(ShellQuoteTest, SingleQuotes) { EXPECT_EQ(ShellQuote("it's $x"), "'it'\\''s $x'"); }

}  // namespace
}  // namespace coffer::cli
