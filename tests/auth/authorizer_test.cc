#include "auth/authorizer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/matchers.h"
#include "util/time.h"

namespace coffer::auth {
namespace {

constexpr std::string_view kSecretArn =
    "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-AbCdEf";

Principal User(std::string name) {
  Principal p;
  p.arn = "arn:aws:iam::000000000000:user/" + name;
  p.user_id = "AIDA" + name;
  p.account_id = "000000000000";
  p.access_key_id = "AKIA" + name;
  p.user_name = std::move(name);
  return p;
}

class AuthorizerTest : public ::testing::Test {
 protected:
  std::shared_ptr<const CompiledPolicies> Identity(const std::string& key,
                                                   std::vector<PolicyText> texts) {
    return identity_cache_.Get(key, 1, texts);
  }
  std::shared_ptr<const CompiledPolicies> Resource(std::string document) {
    // A new revision for each document, as the secret store reports.
    return resource_cache_.Get(std::string(kSecretArn), ++revision_,
                               {{"secret/app/db/resource-policy", std::move(document)}});
  }
  RequestAuthorization Authz(const Principal& p, std::shared_ptr<const CompiledPolicies> c) {
    return RequestAuthorization(p, std::move(c), "10.0.0.1", false, util::FromUnixMillis(0));
  }

  PolicyCache identity_cache_;
  PolicyCache resource_cache_{PolicyKind::kResource};
  uint64_t revision_ = 0;
};

constexpr std::string_view kAllowRead = R"({"Statement":[{"Sid":"Read","Effect":"Allow",
    "Action":"secretsmanager:GetSecretValue","Resource":"*"}]})";

// A user without identity policies reads a secret whose resource policy names them.
TEST_F(AuthorizerTest, ResourcePolicyAloneAllowsNamedUser) {
  Principal alice = User("alice");
  auto rp = Resource(R"({"Statement":[{"Sid":"Alice","Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},
      "Action":"secretsmanager:GetSecretValue","Resource":"*"}]})");
  auto authz = Authz(alice, Identity("user/alice", {}));
  EXPECT_TRUE(authz.Check("secretsmanager:GetSecretValue", kSecretArn, {}, rp.get()).has_value());
  EXPECT_EQ(authz.decision(), "allow");
  EXPECT_EQ(authz.decided_by(), "secret/app/db/resource-policy#Alice");
  // Without the resource policy the same call is an implicit deny.
  EXPECT_TRUE(HasError(authz.Check("secretsmanager:GetSecretValue", kSecretArn),
                       ErrorCode::kPermissionDenied, Reason::kAccessDenied));
}

// An explicit Deny in the resource policy wins over an identity Allow, and the
// message says where the deny came from.
TEST_F(AuthorizerTest, ResourcePolicyDenyBeatsIdentityAllow) {
  Principal bob = User("bob");
  auto rp = Resource(R"({"Statement":[{"Sid":"NoBob","Effect":"Deny",
      "Principal":{"AWS":"arn:aws:iam::000000000000:user/bob"},
      "Action":"secretsmanager:*","Resource":"*"}]})");
  auto authz = Authz(bob, Identity("user/bob", {{"read", std::string(kAllowRead)}}));
  auto r = authz.Check("secretsmanager:GetSecretValue", kSecretArn, {}, rp.get());
  ASSERT_TRUE(HasError(r, ErrorCode::kPermissionDenied, Reason::kAccessDenied));
  EXPECT_EQ(r.error().message,
            "User: arn:aws:iam::000000000000:user/bob is not authorized to perform: "
            "secretsmanager:GetSecretValue on resource: " +
                std::string(kSecretArn) + " with an explicit deny in a resource-based policy");
  EXPECT_EQ(authz.decision(), "explicit-deny");
  EXPECT_EQ(authz.decided_by(), "secret/app/db/resource-policy#NoBob");
}

// An explicit Deny in an identity policy wins over a resource policy Allow.
TEST_F(AuthorizerTest, IdentityDenyBeatsResourcePolicyAllow) {
  Principal carol = User("carol");
  auto rp = Resource(R"({"Statement":[{"Effect":"Allow","Principal":"*",
      "Action":"secretsmanager:GetSecretValue"}]})");
  auto authz = Authz(carol, Identity("user/carol", {{"deny", R"({"Statement":[{"Effect":"Deny",
      "Action":"secretsmanager:*","Resource":"*"}]})"}}));
  auto r = authz.Check("secretsmanager:GetSecretValue", kSecretArn, {}, rp.get());
  ASSERT_TRUE(HasError(r, ErrorCode::kPermissionDenied, Reason::kAccessDenied));
  EXPECT_NE(r.error().message.find("with an explicit deny in an identity-based policy"),
            std::string::npos);
}

// A resource policy that does not name the caller neither allows nor denies.
TEST_F(AuthorizerTest, ResourcePolicyForOthersLeavesIdentityDecision) {
  Principal dave = User("dave");
  auto rp = Resource(R"({"Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::000000000000:user/erin"},"Action":"secretsmanager:*"}]})");
  auto none = Authz(dave, Identity("user/dave", {}));
  auto r = none.Check("secretsmanager:GetSecretValue", kSecretArn, {}, rp.get());
  ASSERT_TRUE(HasError(r, ErrorCode::kPermissionDenied, Reason::kAccessDenied));
  EXPECT_NE(r.error().message.find("because no identity-based policy allows"), std::string::npos);
  auto reader = Authz(dave, Identity("user/dave+read", {{"read", std::string(kAllowRead)}}));
  EXPECT_TRUE(reader.Check("secretsmanager:GetSecretValue", kSecretArn, {}, rp.get()).has_value());
  EXPECT_EQ(reader.decided_by(), "read#Read");
}

// The administrator is not subject to policies, resource policies included.
TEST_F(AuthorizerTest, AdminBypassesResourcePolicy) {
  Principal admin = User("admin");
  admin.is_admin = true;
  auto rp = Resource(R"({"Statement":[{"Effect":"Deny","Principal":"*","Action":"*"}]})");
  auto authz = Authz(admin, nullptr);
  EXPECT_TRUE(authz.Check("secretsmanager:GetSecretValue", kSecretArn, {}, rp.get()).has_value());
}

// A role session: the resource policy may name the role (path "/" assumed from
// role_name when role_arn is unset), and aws:PrincipalArn is the role's ARN.
TEST_F(AuthorizerTest, RoleSessionMatchesRoleArnAndPrincipalArnKey) {
  Principal session;
  session.arn = "arn:aws:sts::000000000000:assumed-role/app/run-1";
  session.user_id = "AROAAPP:run-1";
  session.account_id = "000000000000";
  session.access_key_id = "ASIAAPP";
  session.role_name = "app";
  session.session_name = "run-1";
  auto rp = Resource(R"({"Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::000000000000:role/app"},
      "Action":"secretsmanager:GetSecretValue"}]})");
  auto authz = Authz(session, Identity("role/app", {}));
  EXPECT_TRUE(authz.Check("secretsmanager:GetSecretValue", kSecretArn, {}, rp.get()).has_value());

  session.role_arn = "arn:aws:iam::000000000000:role/team/app";
  auto by_path = Resource(R"({"Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::000000000000:role/team/app"},
      "Action":"secretsmanager:GetSecretValue"}]})");
  auto keyed = Authz(session, Identity("role/app+key", {{"k", R"({"Statement":[{"Effect":"Allow",
      "Action":"ssm:GetParameter","Resource":"*",
      "Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::000000000000:role/team/app"}}}]})"}}));
  EXPECT_TRUE(
      keyed.Check("secretsmanager:GetSecretValue", kSecretArn, {}, by_path.get()).has_value());
  EXPECT_TRUE(keyed.Check("ssm:GetParameter", "arn:aws:ssm:us-east-1:000000000000:parameter/x")
                  .has_value());
}

// Per-call condition keys apply to their own check only.
TEST_F(AuthorizerTest, PerCallKeysDoNotLeakIntoLaterChecks) {
  Principal frank = User("frank");
  auto authz = Authz(frank, Identity("user/frank", {{"tag", R"({"Statement":[{"Effect":"Allow",
      "Action":"secretsmanager:GetSecretValue","Resource":"*",
      "Condition":{"StringEquals":{"secretsmanager:ResourceTag/team":"pay"}}}]})"}}));
  EXPECT_TRUE(authz.NeedsResourceTags());
  EXPECT_TRUE(authz.Allowed("secretsmanager:GetSecretValue", kSecretArn,
                            {{"secretsmanager:ResourceTag/team", {"pay"}}}));
  EXPECT_FALSE(authz.Allowed("secretsmanager:GetSecretValue", kSecretArn));
  EXPECT_FALSE(authz.Allowed("secretsmanager:GetSecretValue", kSecretArn,
                             {{"secretsmanager:ResourceTag/team", {"web"}}}));
  // Key names are case-insensitive.
  EXPECT_TRUE(authz.Allowed("secretsmanager:GetSecretValue", kSecretArn,
                            {{"secretsmanager:ResourceTag/TEAM", {"pay"}}}));
  EXPECT_FALSE(authz.Allowed("secretsmanager:GetSecretValue", kSecretArn));

  // A per-call key that shares a name with a request key adds to it, then goes.
  auto by_name = Authz(frank, Identity("user/frank+name", {{"n", R"({"Statement":[{
      "Effect":"Allow","Action":"ssm:GetParameter","Resource":"*",
      "Condition":{"ForAnyValue:StringEquals":{"aws:username":"ghost"}}}]})"}}));
  EXPECT_TRUE(by_name.Allowed("ssm:GetParameter", "x", {{"aws:username", {"ghost"}}}));
  EXPECT_FALSE(by_name.Allowed("ssm:GetParameter", "x"));
}

// The lock-down example of docs/policies.md behaves as documented.
TEST_F(AuthorizerTest, DocumentedLockDownExample) {
  auto rp = Resource(R"({"Version":"2012-10-17","Statement":[
    {"Sid":"OnlyDeployReads","Effect":"Deny","Principal":"*",
     "Action":"secretsmanager:GetSecretValue","Resource":"*",
     "Condition":{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::000000000000:role/deploy"}}},
    {"Sid":"DeployReads","Effect":"Allow",
     "Principal":{"AWS":"arn:aws:iam::000000000000:role/deploy"},
     "Action":"secretsmanager:GetSecretValue","Resource":"*"},
    {"Sid":"Guard","Effect":"Deny","Principal":"*",
     "Action":["secretsmanager:PutResourcePolicy","secretsmanager:DeleteResourcePolicy",
               "secretsmanager:DeleteSecret"],"Resource":"*",
     "Condition":{"StringNotLike":{"aws:PrincipalArn":"arn:aws:iam::000000000000:user/security-*"}}}]})");
  Principal deploy;
  deploy.arn = "arn:aws:sts::000000000000:assumed-role/deploy/ci-42";
  deploy.account_id = "000000000000";
  deploy.role_name = "deploy";
  deploy.role_arn = "arn:aws:iam::000000000000:role/deploy";
  auto as_deploy = Authz(deploy, Identity("role/deploy", {}));
  EXPECT_TRUE(as_deploy.Allowed("secretsmanager:GetSecretValue", kSecretArn, {}, rp.get()));
  EXPECT_FALSE(as_deploy.Allowed("secretsmanager:DeleteSecret", kSecretArn, {}, rp.get()));

  std::vector<PolicyText> everything = {
      {"all", R"({"Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]})"}};
  Principal dev = User("dev");
  auto as_dev = Authz(dev, Identity("user/dev", everything));
  EXPECT_FALSE(as_dev.Allowed("secretsmanager:GetSecretValue", kSecretArn, {}, rp.get()));
  EXPECT_FALSE(as_dev.Allowed("secretsmanager:DeleteResourcePolicy", kSecretArn, {}, rp.get()));
  EXPECT_TRUE(as_dev.Allowed("secretsmanager:DescribeSecret", kSecretArn, {}, rp.get()));
  Principal security = User("security-ann");
  auto as_security = Authz(security, Identity("user/security-ann", everything));
  EXPECT_TRUE(as_security.Allowed("secretsmanager:DeleteResourcePolicy", kSecretArn, {}, rp.get()));
  EXPECT_FALSE(as_security.Allowed("secretsmanager:GetSecretValue", kSecretArn, {}, rp.get()));
}

// The cache compiles once per (key, generation); Find sees only that generation.
TEST_F(AuthorizerTest, PolicyCacheFindsOnlyTheCachedGeneration) {
  EXPECT_EQ(identity_cache_.Find("user/x", 1), nullptr);
  auto compiled = identity_cache_.Get("user/x", 1, {{"read", std::string(kAllowRead)}});
  ASSERT_NE(compiled, nullptr);
  EXPECT_EQ(compiled->policies.size(), 1u);
  EXPECT_EQ(identity_cache_.Find("user/x", 1), compiled);
  EXPECT_EQ(identity_cache_.Find("user/x", 2), nullptr);
  EXPECT_EQ(identity_cache_.Get("user/x", 1, {}), compiled);
}

// Fail closed: a stored document that does not parse as its kind (here: each
// kind of cache given the other kind) is not skipped, which could drop a Deny,
// but denies everything, and the audit names it.
TEST_F(AuthorizerTest, UnreadablePolicyDeniesEverything) {
  std::string resource_doc =
      R"({"Statement":[{"Effect":"Allow","Principal":"*","Action":"secretsmanager:*"}]})";
  auto identity = identity_cache_.Get(
      "a", 1, {{"read", std::string(kAllowRead)}, {"broken", resource_doc}});
  ASSERT_EQ(identity->policies.size(), 2u);
  auto authz = Authz(User("a"), identity);
  EXPECT_FALSE(authz.Check("secretsmanager:GetSecretValue", kSecretArn).has_value());
  EXPECT_EQ(authz.decision(), "explicit-deny");
  EXPECT_EQ(authz.decided_by(), "broken#Unreadable");

  EXPECT_EQ(resource_cache_.Get("a", 1, {{"rp", resource_doc}})->policies.size(), 1u);
  auto resource = resource_cache_.Get("b", 1, {{"id", std::string(kAllowRead)}});
  auto as_b = Authz(User("b"), Identity("user/b", {{"read", std::string(kAllowRead)}}));
  EXPECT_FALSE(as_b.Check("secretsmanager:GetSecretValue", kSecretArn, {}, resource.get())
                   .has_value());
  EXPECT_EQ(as_b.decision(), "explicit-deny");
}

}  // namespace
}  // namespace coffer::auth
