#include "auth/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace coffer::auth {
namespace {

std::vector<NamedPolicy> Policies(std::initializer_list<std::string_view> docs) {
  std::vector<NamedPolicy> out;
  int i = 0;
  for (std::string_view d : docs) {
    auto p = ParsePolicy(d, true);
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message);
    out.push_back({"p" + std::to_string(i++), std::make_shared<Policy>(std::move(*p))});
  }
  return out;
}

RequestContext Request(std::string action, std::string resource) {
  RequestContext r;
  r.action = std::move(action);
  r.resource = std::move(resource);
  return r;
}

constexpr std::string_view kReadApp = R"({"Version":"2012-10-17","Statement":[
  {"Sid":"ReadApp","Effect":"Allow","Action":["ssm:GetParameter*"],
   "Resource":"arn:aws:ssm:us-east-1:000000000000:parameter/app/*"}]})";

// Nothing is allowed unless a statement allows it.
TEST(PolicyTest, NoPoliciesIsImplicitDeny) {
  auto d = Evaluate({}, Request("ssm:GetParameter", "arn:aws:ssm:us-east-1:0:parameter/x"));
  EXPECT_EQ(d.kind, Decision::Kind::kImplicitDeny);
}

// Action wildcards match case-insensitively; resources by glob.
TEST(PolicyTest, AllowMatchesActionWildcardAndResourceGlob) {
  auto ps = Policies({kReadApp});
  auto d = Evaluate(ps, Request("SSM:getparametersbypath",
                                "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/pw"));
  EXPECT_EQ(d.kind, Decision::Kind::kAllow);
  EXPECT_EQ(d.sid, "ReadApp");
  EXPECT_EQ(Evaluate(ps, Request("ssm:PutParameter",
                                 "arn:aws:ssm:us-east-1:000000000000:parameter/app/db"))
                .kind,
            Decision::Kind::kImplicitDeny);
  EXPECT_EQ(Evaluate(ps, Request("ssm:GetParameter",
                                 "arn:aws:ssm:us-east-1:000000000000:parameter/other/db"))
                .kind,
            Decision::Kind::kImplicitDeny);
}

// An explicit Deny wins over an Allow from any policy.
TEST(PolicyTest, ExplicitDenyWinsOverAllow) {
  auto ps = Policies({kReadApp, R"({"Statement":{"Sid":"NoProd","Effect":"Deny","Action":"ssm:*",
      "Resource":"arn:aws:ssm:*:*:parameter/app/prod/*"}})"});
  auto d = Evaluate(ps, Request("ssm:GetParameter",
                                "arn:aws:ssm:us-east-1:000000000000:parameter/app/prod/db"));
  EXPECT_EQ(d.kind, Decision::Kind::kExplicitDeny);
  EXPECT_EQ(d.policy_name, "p1");
  EXPECT_EQ(d.sid, "NoProd");
}

// NotAction allows everything but the listed actions.
TEST(PolicyTest, NotActionExcludesListedActions) {
  auto ps = Policies({R"({"Statement":[{"Effect":"Allow","NotAction":["ssm:Delete*"],"Resource":"*"}]})"});
  EXPECT_TRUE(Evaluate(ps, Request("ssm:PutParameter", "x")).allowed());
  EXPECT_FALSE(Evaluate(ps, Request("ssm:DeleteParameter", "x")).allowed());
}

// NotResource applies to everything except the listed resources.
TEST(PolicyTest, NotResourceExcludesListedResources) {
  auto ps = Policies({R"({"Statement":[{"Effect":"Allow","Action":"ssm:*","NotResource":"arn:*:parameter/secret*"}]})"});
  EXPECT_TRUE(Evaluate(ps, Request("ssm:GetParameter", "arn:x:parameter/app")).allowed());
  EXPECT_FALSE(Evaluate(ps, Request("ssm:GetParameter", "arn:x:parameter/secret/a")).allowed());
}

// ${aws:username} is replaced by the caller's name.
TEST(PolicyTest, PolicyVariableUsernameScopesResource) {
  auto ps = Policies({R"({"Statement":[{"Effect":"Allow","Action":"ssm:GetParameter",
      "Resource":"arn:aws:ssm:*:*:parameter/home/${aws:username}/*"}]})"});
  auto r = Request("ssm:GetParameter", "arn:aws:ssm:us-east-1:0:parameter/home/alice/key");
  r.Set("aws:username", "alice");
  EXPECT_TRUE(Evaluate(ps, r).allowed());
  r.Set("aws:username", "bob");
  EXPECT_FALSE(Evaluate(ps, r).allowed());
  r.keys.erase("aws:username");
  EXPECT_FALSE(Evaluate(ps, r).allowed());
}

// '?' matches exactly one character.
TEST(PolicyTest, QuestionMarkMatchesOneCharacter) {
  EXPECT_TRUE(WildcardMatch("a?c", "abc", false));
  EXPECT_FALSE(WildcardMatch("a?c", "ac", false));
  EXPECT_TRUE(WildcardMatch("*", "", false));
  EXPECT_TRUE(WildcardMatch("a*b*c", "axxbyyc", false));
  EXPECT_FALSE(WildcardMatch("a*b*c", "axxbyy", false));
  EXPECT_TRUE(WildcardMatch("SSM:*", "ssm:get", true));
}

// String conditions with StringLike, as GitHub OIDC trust policies use.
TEST(PolicyTest, StringLikeConditionOnSubClaim) {
  auto ps = Policies({R"({"Statement":[{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*",
      "Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/*:ref:refs/heads/main"},
                   "StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]})"});
  auto r = Request("ssm:GetParameter", "x");
  r.Set("token.actions.githubusercontent.com:sub", "repo:acme/api:ref:refs/heads/main");
  r.Set("token.actions.githubusercontent.com:aud", "sts.amazonaws.com");
  EXPECT_TRUE(Evaluate(ps, r).allowed());
  r.Set("token.actions.githubusercontent.com:sub", "repo:acme/api:ref:refs/heads/dev");
  EXPECT_FALSE(Evaluate(ps, r).allowed());
}

// Negated operators hold when the key is missing; positive ones do not.
TEST(PolicyTest, MissingKeyFailsPositiveAndPassesNegatedOperators) {
  auto pos = Policies({R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/env":"dev"}}}]})"});
  auto neg = Policies({R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestTag/env":"prod"}}}]})"});
  auto ife = Policies({R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:RequestTag/env":"dev"}}}]})"});
  auto r = Request("ssm:PutParameter", "x");
  EXPECT_FALSE(Evaluate(pos, r).allowed());
  EXPECT_TRUE(Evaluate(neg, r).allowed());
  EXPECT_TRUE(Evaluate(ife, r).allowed());
  r.Set("aws:RequestTag/env", "prod");
  EXPECT_FALSE(Evaluate(neg, r).allowed());
  EXPECT_FALSE(Evaluate(ife, r).allowed());
}

// Bool, Numeric, Date and IpAddress operators.
TEST(PolicyTest, TypedOperators) {
  auto ps = Policies({R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
      "Bool":{"aws:SecureTransport":"true"},
      "NumericLessThan":{"ssm:MaxResults":"11"},
      "DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"},
      "IpAddress":{"aws:SourceIp":["10.0.0.0/8","127.0.0.1/32"]}}}]})"});
  auto r = Request("ssm:GetParametersByPath", "x");
  r.Set("aws:SecureTransport", "true");
  r.Set("ssm:MaxResults", "10");
  r.Set("aws:CurrentTime", "2026-11-28T09:00:00Z");
  r.Set("aws:SourceIp", "127.0.0.1");
  EXPECT_TRUE(Evaluate(ps, r).allowed());
  r.Set("aws:SourceIp", "192.168.1.1");
  EXPECT_FALSE(Evaluate(ps, r).allowed());
  r.Set("aws:SourceIp", "10.2.3.4");
  r.Set("aws:CurrentTime", "2025-12-31T23:59:59Z");
  EXPECT_FALSE(Evaluate(ps, r).allowed());
  r.Set("aws:CurrentTime", "2026-11-28T09:00:00Z");
  r.Set("aws:SecureTransport", "false");
  EXPECT_FALSE(Evaluate(ps, r).allowed());
}

// ForAllValues is vacuously true on a missing key; ForAnyValue needs one match.
TEST(PolicyTest, SetQualifiers) {
  auto all = Policies({R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}}]})"});
  auto any = Policies({R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}}]})"});
  auto r = Request("ssm:AddTagsToResource", "x");
  EXPECT_TRUE(Evaluate(all, r).allowed());
  EXPECT_FALSE(Evaluate(any, r).allowed());
  r.Add("aws:TagKeys", "env");
  r.Add("aws:TagKeys", "owner");
  EXPECT_FALSE(Evaluate(all, r).allowed());
  EXPECT_TRUE(Evaluate(any, r).allowed());
}

// Trust policies match on Principal (AWS ARN or federated provider).
TEST(PolicyTest, TrustPolicyMatchesPrincipal) {
  auto p = ParsePolicy(R"({"Statement":[
      {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},"Action":"sts:AssumeRole"},
      {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com"},
       "Action":"sts:AssumeRoleWithWebIdentity"}]})",
                       false);
  ASSERT_TRUE(p.has_value());
  std::vector<NamedPolicy> ps{{"trust", std::make_shared<Policy>(*p)}};
  auto r = Request("sts:AssumeRole", "arn:aws:iam::000000000000:role/app");
  r.principal_arn = "arn:aws:iam::000000000000:user/alice";
  EXPECT_TRUE(EvaluateWithPrincipal(ps, r).allowed());
  r.principal_arn = "arn:aws:iam::000000000000:user/bob";
  EXPECT_FALSE(EvaluateWithPrincipal(ps, r).allowed());
  auto w = Request("sts:AssumeRoleWithWebIdentity", "arn:aws:iam::000000000000:role/ci");
  w.federated_provider = "token.actions.githubusercontent.com";
  EXPECT_TRUE(EvaluateWithPrincipal(ps, w).allowed());
}

// Malformed documents are rejected with kMalformedPolicy.
TEST(PolicyTest, MalformedDocumentsAreRejected) {
  for (std::string_view doc : {
           std::string_view("not json"), std::string_view("[]"), std::string_view("{}"),
           std::string_view(R"({"Statement":[{"Action":"ssm:*","Resource":"*"}]})"),
           std::string_view(R"({"Statement":[{"Effect":"Maybe","Action":"ssm:*","Resource":"*"}]})"),
           std::string_view(R"({"Statement":[{"Effect":"Allow","Action":"ssm:*","NotAction":"x:y","Resource":"*"}]})"),
           std::string_view(R"({"Statement":[{"Effect":"Allow","Action":"ssm:*"}]})"),
           std::string_view(R"({"Statement":[{"Effect":"Allow","Action":"ssm:*","Resource":"*","Condition":{"Bogus":{"a":"b"}}}]})"),
           std::string_view(R"({"Statement":[{"Effect":"Allow","Action":5,"Resource":"*"}]})"),
           std::string_view(R"({"Version":"2020-01-01","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})"),
       }) {
    auto p = ParsePolicy(doc, true);
    ASSERT_FALSE(p.has_value()) << doc;
    EXPECT_EQ(p.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(p.error().reason, Reason::kMalformedPolicy);
  }
}

}  // namespace
}  // namespace coffer::auth
