// Tests of the domain/ root vocabulary (record codec, page tokens, ARNs, tags).
// They live in this binary until tests/domain/ gets its own coffer_test.
#include "domain/record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "domain/arn.h"
#include "domain/page_token.h"
#include "domain/tags.h"

namespace coffer::domain {
namespace {

// Every field type round-trips in order.
TEST(RecordCodecTest, RoundTripsEveryFieldType) {
  RecordWriter w;
  w.PutVarint(0);
  w.PutVarint(300);
  w.PutVarint(UINT64_MAX);
  w.PutSignedVarint(-5);
  w.PutSignedVarint(INT64_MIN);
  w.PutU64(0x0102030405060708ull);
  w.PutBool(true);
  w.PutString(std::string("a\0b", 3));
  w.PutStringMap({{"k1", "v1"}, {"k2", ""}});
  RecordReader r(w.data());
  EXPECT_EQ(*r.Varint(), 0u);
  EXPECT_EQ(*r.Varint(), 300u);
  EXPECT_EQ(*r.Varint(), UINT64_MAX);
  EXPECT_EQ(*r.SignedVarint(), -5);
  EXPECT_EQ(*r.SignedVarint(), INT64_MIN);
  EXPECT_EQ(*r.U64(), 0x0102030405060708ull);
  EXPECT_TRUE(*r.Bool());
  EXPECT_EQ(*r.String(), std::string("a\0b", 3));
  auto m = r.StringMap();
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ(m->at("k1"), "v1");
  EXPECT_TRUE(r.AtEnd());
  EXPECT_TRUE(r.ExpectEnd().has_value());
}

// Every truncation of a record is kDataLoss, never a crash.
TEST(RecordCodecTest, TruncatedInputFailsWithDataLoss) {
  RecordWriter w;
  w.PutVarint(1u << 20);
  w.PutString("hello");
  w.PutU64(7);
  w.PutStringMap({{"a", "b"}});
  const std::string& full = w.data();
  for (size_t cut = 0; cut < full.size(); ++cut) {
    RecordReader r(std::string_view(full).substr(0, cut));
    bool failed = false;
    if (!r.Varint()) failed = true;
    if (!failed && !r.String()) failed = true;
    if (!failed && !r.U64()) failed = true;
    if (!failed) {
      auto m = r.StringMap();
      if (!m) {
        failed = true;
        EXPECT_EQ(m.error().code, ErrorCode::kDataLoss);
      }
    }
    EXPECT_TRUE(failed) << "cut at " << cut;
  }
  RecordReader bad_bool(std::string("\x02", 1));
  auto b = bad_bool.Bool();
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().code, ErrorCode::kDataLoss);
  RecordReader trailing(std::string("\x01\x01", 2));
  ASSERT_TRUE(trailing.Varint().has_value());
  EXPECT_EQ(trailing.ExpectEnd().error().code, ErrorCode::kDataLoss);
}

// A token decodes to its position only for its own kind.
TEST(PageTokenTest, RoundTripsAndRejectsOtherKindsAndGarbage) {
  std::string token = EncodePageToken("ssm.path", "/app/db/\xff");
  EXPECT_EQ(token.find_first_of("+/="), std::string::npos);
  auto pos = DecodePageToken("ssm.path", token);
  ASSERT_TRUE(pos.has_value());
  EXPECT_EQ(*pos, "/app/db/\xff");
  auto other = DecodePageToken("ssm.describe", token);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().reason, Reason::kInvalidNextToken);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  for (std::string bad : std::vector<std::string>{"", "a", "####", token.substr(0, token.size() - 2), token + "AA"}) {
    auto r = DecodePageToken("ssm.path", bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().reason, Reason::kInvalidNextToken);
  }
}

// Parameter ARNs drop the name's leading slash.
TEST(ArnTest, ParameterArnForHierarchicalAndPlainNames) {
  EXPECT_EQ(ParameterArn("us-east-1", "123456789012", "/app/db"),
            "arn:aws:ssm:us-east-1:123456789012:parameter/app/db");
  EXPECT_EQ(ParameterArn("eu-west-1", "1", "foo"), "arn:aws:ssm:eu-west-1:1:parameter/foo");
  auto parsed = ParseArn("arn:aws:ssm:r:a:parameter/x:y");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->service, "ssm");
  EXPECT_EQ(parsed->resource, "parameter/x:y");
  EXPECT_FALSE(ParseArn("arn:aws:ssm").has_value());
}

// IAM entity ARNs put the path between the type and the name.
TEST(ArnTest, IamArnJoinsTypePathAndName) {
  EXPECT_EQ(IamArn("123456789012", "user", "/", "alice"), "arn:aws:iam::123456789012:user/alice");
  EXPECT_EQ(IamArn("1", "role", "/ci/", "deploy"), "arn:aws:iam::1:role/ci/deploy");
  EXPECT_EQ(IamArn("1", "instance-profile", "/", "web"), "arn:aws:iam::1:instance-profile/web");
  EXPECT_EQ(IamArn("1", "policy", "/a/b/", "read"), "arn:aws:iam::1:policy/a/b/read");
  auto parsed = ParseArn(IamArn("1", "group", "/", "devs"));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(IsLocalArn(*parsed, "iam", "", "1"));
  EXPECT_EQ(parsed->resource, "group/devs");
}

// OIDC provider, assumed-role, KMS key and alias ARNs have AWS's exact forms.
TEST(ArnTest, OidcStsAndKmsArnsHaveAwsForms) {
  EXPECT_EQ(OidcProviderArn("000000000000", "token.actions.githubusercontent.com"),
            "arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com");
  EXPECT_EQ(StsAssumedRoleArn("1", "ci", "build-7"), "arn:aws:sts::1:assumed-role/ci/build-7");
  EXPECT_EQ(KmsKeyArn("us-east-1", "1", "1234abcd-12ab-34cd-56ef-1234567890ab"),
            "arn:aws:kms:us-east-1:1:key/1234abcd-12ab-34cd-56ef-1234567890ab");
  EXPECT_EQ(KmsAliasArn("eu-west-1", "1", "alias/app"), "arn:aws:kms:eu-west-1:1:alias/app");
  auto parsed = ParseArn(KmsKeyArn("us-east-1", "1", "k"));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_TRUE(IsLocalArn(*parsed, "kms", "us-east-1", "1"));
  EXPECT_EQ(parsed->resource, "key/k");
}

// Tag keys and values follow AWS's length and character rules.
TEST(TagsTest, ValidateTagAppliesAwsRules) {
  EXPECT_TRUE(ValidateTag({"env", "prod"}).has_value());
  EXPECT_TRUE(ValidateTag({"a b_.:/=+-@", ""}).has_value());
  EXPECT_EQ(ValidateTag({"", "v"}).error().reason, Reason::kValidation);
  EXPECT_EQ(ValidateTag({std::string(129, 'k'), "v"}).error().reason, Reason::kValidation);
  EXPECT_EQ(ValidateTag({"k", std::string(257, 'v')}).error().reason, Reason::kValidation);
  EXPECT_EQ(ValidateTag({"k#", "v"}).error().reason, Reason::kValidation);
  EXPECT_EQ(ValidateTag({"aws:x", "v"}).error().reason, Reason::kValidation);
}

}  // namespace
}  // namespace coffer::domain
