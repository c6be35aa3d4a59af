#include "auth/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/matchers.h"

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

// A plain recursive glob: the reference WildcardMatch's fast paths must agree with.
bool ReferenceGlob(std::string_view p, std::string_view t, bool ignore_case) {
  if (p.empty()) return t.empty();
  if (p[0] == '*') {
    for (size_t i = 0; i <= t.size(); ++i) {
      if (ReferenceGlob(p.substr(1), t.substr(i), ignore_case)) return true;
    }
    return false;
  }
  if (t.empty()) return false;
  auto fold = [&](char c) {
    return ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
  };
  if (p[0] != '?' && fold(p[0]) != fold(t[0])) return false;
  return ReferenceGlob(p.substr(1), t.substr(1), ignore_case);
}

// WildcardMatch agrees with the plain glob on many small patterns and texts,
// literal '*' in the text, case folding and ARN-shaped backtracking included.
TEST(PolicyTest, WildcardMatchAgreesWithReferenceGlob) {
  EXPECT_TRUE(WildcardMatch("a*", "a*b", false));
  EXPECT_TRUE(WildcardMatch("arn:aws:ssm:*:*:parameter/home/bob/*",
                            "arn:aws:ssm:us-east-1:000000000000:parameter/home/bob/x", false));
  EXPECT_FALSE(WildcardMatch("arn:aws:ssm:*:*:parameter/home/bob/*",
                             "arn:aws:ssm:us-east-1:000000000000:parameter/bench/app/x", false));
  EXPECT_TRUE(WildcardMatch("ARN:*:X", "arn:a:b:x", true));
  unsigned state = 12345;
  auto next = [&] { return state = state * 1103515245u + 12345u, (state >> 16) & 0x7fff; };
  const char alphabet[] = "ab:A*?";
  for (int i = 0; i < 20000; ++i) {
    std::string pattern, text;
    for (unsigned n = next() % 7; n > 0; --n) pattern.push_back(alphabet[next() % 6]);
    for (unsigned n = next() % 9; n > 0; --n)
      text.push_back(alphabet[next() % 4 + (next() % 8 == 0 ? 2 : 0)]);
    for (bool ignore_case : {false, true}) {
      ASSERT_EQ(WildcardMatch(pattern, text, ignore_case),
                ReferenceGlob(pattern, text, ignore_case))
          << "pattern '" << pattern << "' text '" << text << "' ignore_case " << ignore_case;
    }
  }
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

// CIDR ranges of any prefix length, IPv4 and IPv6; a bare address is a /32 (/128).
TEST(PolicyTest, IpAddressPrefixes) {
  auto allowed = [](std::string_view cidr, std::string ip) {
    auto ps = Policies({std::string(R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*",
        "Condition":{"IpAddress":{"aws:SourceIp":")") +
                        std::string(cidr) + R"("}}}]})"});
    auto r = Request("ssm:GetParameter", "x");
    r.Set("aws:SourceIp", std::move(ip));
    return Evaluate(ps, r).allowed();
  };
  EXPECT_TRUE(allowed("10.1.2.0/23", "10.1.3.255"));
  EXPECT_FALSE(allowed("10.1.2.0/23", "10.1.4.0"));
  EXPECT_TRUE(allowed("0.0.0.0/0", "203.0.113.9"));
  EXPECT_TRUE(allowed("192.0.2.7", "192.0.2.7"));
  EXPECT_FALSE(allowed("192.0.2.7", "192.0.2.8"));
  EXPECT_TRUE(allowed("192.0.2.0/31", "192.0.2.1"));
  EXPECT_FALSE(allowed("192.0.2.0/31", "192.0.2.2"));
  EXPECT_TRUE(allowed("2001:db8::/33", "2001:db8:7fff::1"));
  EXPECT_FALSE(allowed("2001:db8::/33", "2001:db8:8000::1"));
  EXPECT_FALSE(allowed("2001:db8::/32", "10.0.0.1"));
  EXPECT_FALSE(allowed("10.0.0.0/8", "not-an-ip"));
  for (std::string_view bad : {"10.0.0", "10.0.0.1.", "10.0.0.256", "10.0.0.01", "10..0.1",
                               "10.0.0.1x", "+10.0.0.1", "10.0.0.1000", ""}) {
    EXPECT_FALSE(allowed("0.0.0.0/0", std::string(bad))) << bad;
  }
  EXPECT_TRUE(allowed("0.0.0.0/0", "0.0.0.0"));
  EXPECT_TRUE(allowed("255.255.255.255", "255.255.255.255"));
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

std::vector<NamedPolicy> ResourcePolicy(std::string_view doc) {
  auto p = ParseResourcePolicy(doc);
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message);
  return {{"rp", std::make_shared<Policy>(std::move(*p))}};
}

RequestContext Caller(std::string arn) {
  RequestContext r = Request("secretsmanager:GetSecretValue",
                             "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf");
  r.principal_arn = std::move(arn);
  r.principal_account = "000000000000";
  return r;
}

// A resource policy statement applies to the callers its Principal names: the
// exact ARN or "*"; other callers are not affected.
TEST(PolicyTest, ResourcePolicyAllowsNamedPrincipalOrWildcard) {
  auto alice = ResourcePolicy(R"({"Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},
      "Action":"secretsmanager:GetSecretValue","Resource":"*"}]})");
  EXPECT_TRUE(
      EvaluateResourcePolicy(alice, Caller("arn:aws:iam::000000000000:user/alice")).allowed());
  EXPECT_EQ(EvaluateResourcePolicy(alice, Caller("arn:aws:iam::000000000000:user/bob")).kind,
            Decision::Kind::kImplicitDeny);
  auto anyone = ResourcePolicy(R"({"Statement":[{"Effect":"Allow","Principal":"*",
      "Action":"secretsmanager:*"}]})");
  EXPECT_TRUE(
      EvaluateResourcePolicy(anyone, Caller("arn:aws:iam::000000000000:user/bob")).allowed());
  auto anyone_aws = ResourcePolicy(R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},
      "Action":"secretsmanager:*","Resource":"*"}]})");
  EXPECT_TRUE(
      EvaluateResourcePolicy(anyone_aws, Caller("arn:aws:iam::000000000000:user/bob")).allowed());
}

// An account principal in an Allow is a delegation to the account's identity
// policies (it allows nobody by itself); in a Deny it covers every caller of
// the account, in both spellings.
TEST(PolicyTest, ResourcePolicyAccountPrincipalDelegatesAllowButDenies) {
  auto allow_root = ResourcePolicy(R"({"Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::000000000000:root"},
      "Action":"secretsmanager:GetSecretValue","Resource":"*"}]})");
  EXPECT_EQ(EvaluateResourcePolicy(allow_root, Caller("arn:aws:iam::000000000000:user/bob")).kind,
            Decision::Kind::kImplicitDeny);
  for (std::string_view principal : {"arn:aws:iam::000000000000:root", "000000000000"}) {
    auto deny = ResourcePolicy(std::string(R"({"Statement":[{"Sid":"NoOne","Effect":"Deny",
        "Principal":{"AWS":")") +
                               std::string(principal) +
                               R"("},"Action":"secretsmanager:*","Resource":"*"}]})");
    auto d = EvaluateResourcePolicy(deny, Caller("arn:aws:iam::000000000000:user/bob"));
    EXPECT_EQ(d.kind, Decision::Kind::kExplicitDeny) << principal;
    EXPECT_EQ(d.sid, "NoOne");
    // Another account's root names nobody here.
    auto other = ResourcePolicy(R"({"Statement":[{"Effect":"Deny",
        "Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"*","Resource":"*"}]})");
    EXPECT_EQ(EvaluateResourcePolicy(other, Caller("arn:aws:iam::000000000000:user/bob")).kind,
              Decision::Kind::kImplicitDeny);
  }
  // The trust-policy evaluation keeps treating the account as a match.
  EXPECT_TRUE(
      EvaluateWithPrincipal(allow_root, Caller("arn:aws:iam::000000000000:user/bob")).allowed());
}

// A role session is named by its session ARN and by its role's ARN.
TEST(PolicyTest, ResourcePolicyMatchesRoleSessionByRoleOrSessionArn) {
  auto by_role = ResourcePolicy(R"({"Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::000000000000:role/app"},
      "Action":"secretsmanager:GetSecretValue","Resource":"*"}]})");
  auto by_session = ResourcePolicy(R"({"Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:sts::000000000000:assumed-role/app/run-1"},
      "Action":"secretsmanager:GetSecretValue","Resource":"*"}]})");
  auto r = Caller("arn:aws:sts::000000000000:assumed-role/app/run-1");
  r.role_arn = "arn:aws:iam::000000000000:role/app";
  EXPECT_TRUE(EvaluateResourcePolicy(by_role, r).allowed());
  EXPECT_TRUE(EvaluateResourcePolicy(by_session, r).allowed());
  auto other = Caller("arn:aws:sts::000000000000:assumed-role/app/run-2");
  other.role_arn = "arn:aws:iam::000000000000:role/other";
  EXPECT_FALSE(EvaluateResourcePolicy(by_role, other).allowed());
  EXPECT_FALSE(EvaluateResourcePolicy(by_session, other).allowed());
}

// Deny with NotPrincipal refuses everyone except the listed principals.
TEST(PolicyTest, ResourcePolicyDenyNotPrincipalExemptsListed) {
  auto ps = ResourcePolicy(R"({"Statement":[{"Effect":"Deny",
      "NotPrincipal":{"AWS":"arn:aws:iam::000000000000:user/ops"},
      "Action":"secretsmanager:*","Resource":"*"}]})");
  EXPECT_EQ(EvaluateResourcePolicy(ps, Caller("arn:aws:iam::000000000000:user/ops")).kind,
            Decision::Kind::kImplicitDeny);
  EXPECT_EQ(EvaluateResourcePolicy(ps, Caller("arn:aws:iam::000000000000:user/dev")).kind,
            Decision::Kind::kExplicitDeny);
}

// Resource policies need a Principal in each statement; Resource is optional.
TEST(PolicyTest, ResourcePolicyNeedsPrincipal) {
  auto missing = ParseResourcePolicy(
      R"({"Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]})");
  EXPECT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().reason, Reason::kMalformedPolicy);
  EXPECT_FALSE(ParseResourcePolicy("{not json").has_value());
  EXPECT_TRUE(ParseResourcePolicy(
                  R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"secretsmanager:*"}})")
                  .has_value());
}

// Broad access: a wildcard principal in an Allow that no condition narrows.
TEST(PolicyTest, GrantsPublicAccessDetectsWildcardAllows) {
  auto check = [](std::string_view doc) {
    auto p = ParseResourcePolicy(doc);
    EXPECT_TRUE(p.has_value()) << doc;
    return p.has_value() && GrantsPublicAccess(*p);
  };
  EXPECT_TRUE(check(R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"}]})"));
  EXPECT_TRUE(check(
      R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::000000000000:user/a","*"]},"Action":"*"}]})"));
  EXPECT_TRUE(check(
      R"({"Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::000000000000:user/a"},"Action":"*"}]})"));
  EXPECT_TRUE(check(R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"*",
      "Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111111111111"}}}]})"));
  EXPECT_FALSE(check(R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"*",
      "Condition":{"StringEquals":{"aws:PrincipalAccount":"000000000000"}}}]})"));
  EXPECT_FALSE(check(R"({"Statement":[{"Effect":"Deny","Principal":"*","Action":"*"}]})"));
  EXPECT_FALSE(check(
      R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/a"},"Action":"*"}]})"));
}

// A condition value its operator cannot evaluate is refused at parse time,
// naming the operator and the value: stored, it would make a Deny never match
// (IpAddress) or a negated operator match everything (NumericNotEquals).
TEST(PolicyTest, InvalidConditionValuesAreRefusedNamingTheProblem) {
  auto parse = [](std::string_view op, std::string_view value_json) {
    return ParsePolicy(std::string(R"({"Statement":[{"Effect":"Deny","Action":"*","Resource":"*",
        "Condition":{")") + std::string(op) + R"(":{"aws:SomeKey":)" + std::string(value_json) +
                           "}}}]}",
                       true);
  };
  struct Case {
    std::string_view op, value;
    std::string_view shown;
  };
  const Case bad[] = {
      {"IpAddress", R"("999.1.1.1/99")", "999.1.1.1/99"},
      {"IpAddress", R"("10.0.0.0/33")", "10.0.0.0/33"},
      {"IpAddress", R"("10.0.0.0/x")", "10.0.0.0/x"},
      {"IpAddress", R"("10.0.0.0/")", "10.0.0.0/"},
      {"IpAddress", R"("10.0.0.0/-1")", "10.0.0.0/-1"},
      {"NotIpAddress", R"(["10.0.0.0/8","not-an-ip"])", "not-an-ip"},
      {"IpAddressIfExists", R"("2001:db8::/129")", "2001:db8::/129"},
      {"IpAddress", R"("10.0.0.01/8")", "10.0.0.01/8"},
      {"IpAddress", R"("")", ""},
      {"NumericNotEquals", R"("ten")", "ten"},
      {"NumericLessThan", R"(" 5")", " 5"},
      {"NumericEquals", R"("0x10")", "0x10"},
      {"NumericEquals", R"("nan")", "nan"},
      {"NumericEquals", R"("inf")", "inf"},
      {"NumericEquals", R"(true)", "true"},
      {"ForAnyValue:NumericGreaterThan", R"(["1","2x"])", "2x"},
      {"DateNotEquals", R"("yesterday")", "yesterday"},
      {"DateLessThan", R"("2026-13-01T00:00:00Z")", "2026-13-01T00:00:00Z"},
      {"DateGreaterThanIfExists", R"("2026-01-01T25:00:00Z")", "2026-01-01T25:00:00Z"},
      {"Bool", R"("yes")", "yes"},
      {"Bool", R"(1)", "1"},
      {"Null", R"("maybe")", "maybe"},
      {"BinaryEquals", R"("not base64!")", "not base64!"},
  };
  for (const Case& c : bad) {
    auto p = parse(c.op, c.value);
    ASSERT_TRUE(HasError(p, ErrorCode::kInvalidArgument, Reason::kMalformedPolicy))
        << c.op << " " << c.value;
    EXPECT_EQ(p.error().message,
              "Invalid Condition value for " + std::string(c.op) + ": " + std::string(c.shown));
  }
  // What AWS accepts still parses.
  const Case good[] = {
      {"IpAddress", R"("10.0.0.0/8")", ""},
      {"IpAddress", R"("192.0.2.7")", ""},
      {"IpAddress", R"("0.0.0.0/0")", ""},
      {"NotIpAddress", R"(["2001:db8::/32","::1"])", ""},
      {"NumericLessThan", R"("11")", ""},
      {"NumericLessThan", R"(11)", ""},
      {"NumericGreaterThanEquals", R"("-2.5")", ""},
      {"NumericEquals", R"("1e3")", ""},
      {"DateGreaterThan", R"("2026-01-01T00:00:00Z")", ""},
      {"DateLessThan", R"("2026-01-01T00:00:00.123+02:00")", ""},
      {"DateEquals", R"("2026-01-01")", ""},
      {"DateNotEquals", R"("1767225600")", ""},
      {"Bool", R"("true")", ""},
      {"Bool", R"(false)", ""},
      {"Null", R"("TRUE")", ""},
      {"BinaryEquals", R"("QmluYXJ5")", ""},
      {"StringLike", R"("anything ${aws:username} *")", ""},
      {"ArnLike", R"("arn:aws:iam::*:role/*")", ""},
  };
  for (const Case& c : good) {
    auto p = parse(c.op, c.value);
    EXPECT_TRUE(p.has_value()) << c.op << " " << c.value << ": " << p.error().message;
  }
}

// Operators are refused unless known, with ForAnyValue:/ForAllValues: at the
// front and IfExists at the end taken off exactly once; Null has no IfExists.
TEST(PolicyTest, UnknownConditionOperatorsAreRefused) {
  auto parse = [](std::string_view op) {
    return ParsePolicy(std::string(R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*",
        "Condition":{")") + std::string(op) + R"(":{"aws:SomeKey":"true"}}}]})",
                       true);
  };
  for (std::string_view op : {"StringEqual", "stringequals", "IfExists", "NullIfExists",
                              "StringLikeIfExistsIfExists", "ForAnyValue:ForAllValues:StringLike",
                              "ForSomeValues:StringLike", "ForAnyValue:", "StringLike:"}) {
    auto p = parse(op);
    ASSERT_TRUE(HasError(p, ErrorCode::kInvalidArgument, Reason::kMalformedPolicy)) << op;
    EXPECT_EQ(p.error().message, "Unknown condition operator " + std::string(op));
  }
  for (std::string_view op : {"StringLikeIfExists", "ForAnyValue:StringLike",
                              "ForAllValues:StringEqualsIfExists", "Null", "BoolIfExists"}) {
    EXPECT_TRUE(parse(op).has_value()) << op;
  }
}

// A key repeated in any object of the document is refused and named: nlohmann
// would keep the last ("Effect":"Deny","Effect":"Allow" would allow).
TEST(PolicyTest, DuplicateKeysAtAnyLevelAreRefused) {
  struct Case {
    std::string_view doc, key;
  };
  const Case cases[] = {
      {R"({"Statement":[{"Effect":"Deny","Effect":"Allow","Action":"*","Resource":"*"}]})",
       "Effect"},
      {R"({"Version":"2012-10-17","Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})",
       "Version"},
      {R"({"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}],"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})",
       "Statement"},
      {R"({"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:username":"a","aws:username":"b"}}}]})",
       "aws:username"},
      {R"({"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"},"Bool":{"aws:SecureTransport":"true"}}}]})",
       "Bool"},
      {R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":{"AWS":"a","AWS":"*"}}]})",
       "AWS"},
      // The same key spelled with an escape is the same key.
      {R"({"Statement":[{"Effect":"Deny","\u0045ffect":"Allow","Action":"*","Resource":"*"}]})",
       "Effect"},
  };
  for (const Case& c : cases) {
    auto p = ParsePolicy(c.doc, /*require_resource=*/false);
    ASSERT_TRUE(HasError(p, ErrorCode::kInvalidArgument, Reason::kMalformedPolicy)) << c.doc;
    EXPECT_EQ(p.error().message, "Duplicate key '" + std::string(c.key) + "' in the policy document");
    EXPECT_TRUE(HasError(ParseResourcePolicy(c.doc), ErrorCode::kInvalidArgument,
                         Reason::kMalformedPolicy));
  }
  // The same key in two different objects is not a duplicate.
  EXPECT_TRUE(ParsePolicy(R"({"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"},
      {"Effect":"Allow","Action":"*","Resource":"*"}]})",
                          true)
                  .has_value());
}

// An element the parser does not read would be silently ignored (a misspelled
// "effect" or "Conditions" that was meant to narrow an Allow): refused.
TEST(PolicyTest, UnknownElementsAreRefused) {
  for (std::string_view doc : {
           R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Conditions":{}}]})",
           R"({"Statement":[{"Effect":"Allow","effect":"Deny","Action":"*","Resource":"*"}]})",
           R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}],"statement":[]})",
           R"({"Id":5,"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})",
       }) {
    EXPECT_TRUE(HasError(ParsePolicy(doc, true), ErrorCode::kInvalidArgument,
                         Reason::kMalformedPolicy))
        << doc;
  }
  EXPECT_TRUE(ParsePolicy(R"({"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"s",
      "Effect":"Allow","Action":"*","Resource":"*","Condition":{}}]})",
                          true)
                  .has_value());
}

}  // namespace
}  // namespace coffer::auth
