// KMS key policies (issue 11): GetKeyPolicy / PutKeyPolicy / ListKeyPolicies,
// the default key policy, and their evaluation with the caller's IAM policies
// as AWS KMS does it (AuthorizeKeyUse): the key policy must allow a request
// directly or delegate it to the account, whose IAM policies then decide; a
// Deny in either wins. Also the lockout safety check and AWS managed keys.
// Each refusal is written as the call the restricted caller would make.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/awsjson/errors.h"
#include "api/awsjson/kms_authorization.h"
#include "api/awsjson/kms_service.h"
#include "api/awsjson/ssm_service.h"
#include "auth/authorizer.h"
#include "support/json_api_fixture.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

using nlohmann::json;

constexpr char kAccount[] = "000000000000";
constexpr char kAdminArn[] = "arn:aws:iam::000000000000:user/admin";
constexpr char kUserArn[] = "arn:aws:iam::000000000000:user/app";
constexpr char kRoleArn[] = "arn:aws:iam::000000000000:role/deployer";
constexpr char kCanary[] = "canary-keypolicy-7c2a-value";

constexpr char kDefaultPolicy[] =
    R"({"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User )"
    R"(Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},)"
    R"("Action":"kms:*","Resource":"*"}]})";

// IAM: every kms: action and SSM reads.
constexpr char kIamAllowKms[] = R"({"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["kms:*","ssm:GetParameter*"],"Resource":"*"}]})";

// A key policy that names the admin and the role, and does not delegate to the account.
constexpr char kNoDelegation[] = R"({"Version":"2012-10-17","Statement":[
  {"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/admin"},
   "Action":"kms:*","Resource":"*"},
  {"Sid":"Deployer","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/deployer"},
   "Action":["kms:Decrypt","kms:Encrypt","kms:DescribeKey"],"Resource":"*"}]})";

// The default delegation plus a Deny of kms:Decrypt to the user app.
constexpr char kDelegationDenyApp[] = R"({"Version":"2012-10-17","Statement":[
  {"Sid":"Enable IAM User Permissions","Effect":"Allow",
   "Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kms:*","Resource":"*"},
  {"Sid":"NoApp","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:user/app"},
   "Action":"kms:Decrypt","Resource":"*"}]})";

class KmsKeyPolicyTest : public testing::JsonApiTest {
 protected:
  KmsKeyPolicyTest() {
    admin_.principal.is_admin = true;
    role_.principal.arn = "arn:aws:sts::000000000000:assumed-role/deployer/s1";
    role_.principal.role_name = "deployer";
    role_.principal.role_arn = kRoleArn;
    role_.principal.session_name = "s1";
    role_.principal.account_id = kAccount;
    role_.principal.access_key_id = "ASIADEPLOYER";
    role_.scope.region = "us-east-1";
  }

  void SetUp() override {
    JsonApiTest::SetUp();
    ssm_ = std::make_unique<SsmService>(*parameters_);
    kms_ = std::make_unique<KmsService>(*keys_, *keyring_);
  }

  // A call by `who` with `policy` as its only identity policy ("" = none;
  // ignored for the admin). Authorization is on.
  Result<json> As(const auth::Authenticated& who, JsonService& service, std::string_view op,
                  const json& body, const std::string& policy = "") {
    std::shared_ptr<const auth::CompiledPolicies> compiled;
    if (!policy.empty()) {
      compiled = policies_.Get(who.principal.arn, ++generation_, {{"inline", policy}});
    }
    auth::RequestAuthorization authz(who.principal, compiled, "127.0.0.1", true, clock_.Now());
    return CallService(service, op, body, who, &authz, "req");
  }
  json Admin(JsonService& service, std::string_view op, const json& body) {
    auto r = As(admin_, service, op, body);
    EXPECT_TRUE(r.has_value()) << op << ": " << (r ? "" : r.error().message);
    return r.value_or(json::object());
  }
  std::string WireCode(JsonService& service, const Result<json>& r) {
    if (r.has_value()) return "";
    return std::string(MapError(service.signing_name(), r.error()).code);
  }

  // A key created by the admin (with `policy` when given); returns its ARN.
  std::string NewKey(const std::string& policy = "") {
    json body = json::object();
    if (!policy.empty()) body["Policy"] = policy;
    return Admin(*kms_, "CreateKey", body)["KeyMetadata"]["Arn"].get<std::string>();
  }
  std::string Encrypt(const std::string& key) {
    return Admin(*kms_, "Encrypt", {{"KeyId", key}, {"Plaintext", "Y2FuYXJ5"}})["CiphertextBlob"]
        .get<std::string>();
  }

  util::SimulatedClock& clock_ = domain_.clock;
  std::unique_ptr<keyring::Keyring>& keyring_ = domain_.keyring;
  std::unique_ptr<domain::kms::KeyDirectory>& keys_ = domain_.keys;
  std::unique_ptr<domain::parameters::ParameterStore>& parameters_ = domain_.parameters;
  std::unique_ptr<SsmService> ssm_;
  std::unique_ptr<KmsService> kms_;
  auth::Authenticated role_;
};

// A key created without a policy has AWS's default key policy, named "default".
TEST_F(KmsKeyPolicyTest, KeyWithoutPolicyHasTheDefaultKeyPolicy) {
  std::string key = NewKey();
  json got = Admin(*kms_, "GetKeyPolicy", {{"KeyId", key}, {"PolicyName", "default"}});
  EXPECT_EQ(got["Policy"], kDefaultPolicy);
  EXPECT_EQ(got["PolicyName"], "default");
  json listed = Admin(*kms_, "ListKeyPolicies", {{"KeyId", key}});
  EXPECT_EQ(listed["PolicyNames"], json::array({"default"}));
  EXPECT_EQ(listed["Truncated"], false);
  EXPECT_EQ(DefaultKeyPolicy(kAccount), kDefaultPolicy);
}

// Only the policy name "default" exists; an alias is not a KeyId GetKeyPolicy takes.
TEST_F(KmsKeyPolicyTest, GetKeyPolicyOfAnotherNameOrByAliasFailsWithNotFound) {
  std::string key = NewKey();
  auto other = As(admin_, *kms_, "GetKeyPolicy", {{"KeyId", key}, {"PolicyName", "other"}});
  EXPECT_EQ(WireCode(*kms_, other), "NotFoundException");
  Admin(*kms_, "CreateAlias", {{"AliasName", "alias/p"}, {"TargetKeyId", key}});
  auto alias = As(admin_, *kms_, "GetKeyPolicy", {{"KeyId", "alias/p"}});
  EXPECT_EQ(WireCode(*kms_, alias), "NotFoundException");
}

// CreateKey's Policy and PutKeyPolicy are stored and returned as given.
TEST_F(KmsKeyPolicyTest, CreateKeyPolicyAndPutKeyPolicyAreReturnedByGetKeyPolicy) {
  std::string key = NewKey(kNoDelegation);
  EXPECT_EQ(Admin(*kms_, "GetKeyPolicy", {{"KeyId", key}})["Policy"], kNoDelegation);
  Admin(*kms_, "PutKeyPolicy",
        {{"KeyId", key}, {"Policy", kDefaultPolicy}, {"PolicyName", "default"}});
  EXPECT_EQ(Admin(*kms_, "GetKeyPolicy", {{"KeyId", key}})["Policy"], kDefaultPolicy);
}

// Malformed, principal-less and oversized key policies are refused and change nothing.
TEST_F(KmsKeyPolicyTest, MalformedKeyPolicyFailsWithMalformedPolicyDocument) {
  std::string key = NewKey();
  for (const std::string& bad :
       {std::string("{not json"),
        std::string(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                    R"("Action":"kms:*","Resource":"*"}]})")}) {
    auto put = As(admin_, *kms_, "PutKeyPolicy", {{"KeyId", key}, {"Policy", bad}});
    EXPECT_EQ(WireCode(*kms_, put), "MalformedPolicyDocumentException") << bad;
    auto create = As(admin_, *kms_, "CreateKey", {{"Policy", bad}});
    EXPECT_EQ(WireCode(*kms_, create), "MalformedPolicyDocumentException") << bad;
  }
  auto big =
      As(admin_, *kms_, "PutKeyPolicy", {{"KeyId", key}, {"Policy", std::string(32769, ' ')}});
  EXPECT_EQ(WireCode(*kms_, big), "ValidationException");
  EXPECT_EQ(Admin(*kms_, "GetKeyPolicy", {{"KeyId", key}})["Policy"], kDefaultPolicy);
}

// Matrix 1: a key whose policy does not delegate to the account refuses an IAM
// user whose IAM policy allows kms:Decrypt (and through SSM too).
TEST_F(KmsKeyPolicyTest, KeyPolicyWithoutDelegationRefusesIamAllowedUser) {
  std::string key = NewKey(kNoDelegation);
  std::string blob = Encrypt(key);
  auto r = As(user_, *kms_, "Decrypt", {{"CiphertextBlob", blob}}, kIamAllowKms);
  ASSERT_EQ(WireCode(*kms_, r), "AccessDeniedException");
  EXPECT_NE(r.error().message.find("kms:Decrypt"), std::string::npos);
  EXPECT_NE(r.error().message.find(key), std::string::npos);
  EXPECT_NE(r.error().message.find("no resource-based policy allows"), std::string::npos)
      << r.error().message;
  Admin(*ssm_, "PutParameter",
        {{"Name", "/kp/db"}, {"Value", kCanary}, {"Type", "SecureString"}, {"KeyId", key}});
  auto get = As(user_, *ssm_, "GetParameter", {{"Name", "/kp/db"}, {"WithDecryption", true}},
                kIamAllowKms);
  ASSERT_EQ(WireCode(*ssm_, get), "AccessDeniedException");
  EXPECT_EQ(get.error().message.find(kCanary), std::string::npos);
  // The same user may decrypt under a key with the default (delegating) policy.
  std::string open_key = NewKey();
  auto ok = As(user_, *kms_, "Decrypt", {{"CiphertextBlob", Encrypt(open_key)}}, kIamAllowKms);
  EXPECT_TRUE(ok.has_value()) << ok.error().message;
}

// Matrix 2: a Deny in the key policy beats an IAM Allow.
TEST_F(KmsKeyPolicyTest, KeyPolicyDenyBeatsIamAllow) {
  std::string key = NewKey(kDelegationDenyApp);
  std::string blob = Encrypt(key);
  auto r = As(user_, *kms_, "Decrypt", {{"CiphertextBlob", blob}}, kIamAllowKms);
  ASSERT_EQ(WireCode(*kms_, r), "AccessDeniedException");
  EXPECT_NE(r.error().message.find("explicit deny in a resource-based policy"), std::string::npos)
      << r.error().message;
  // What the Deny does not name is still delegated to IAM.
  auto describe = As(user_, *kms_, "DescribeKey", {{"KeyId", key}}, kIamAllowKms);
  EXPECT_TRUE(describe.has_value()) << describe.error().message;
}

// Matrix 3: a key policy that names a role allows that role with no IAM policy;
// a role not named (and with no IAM policy) is refused.
TEST_F(KmsKeyPolicyTest, KeyPolicyNamingRoleAllowsItWithoutIamPolicy) {
  std::string key = NewKey(kNoDelegation);
  std::string blob = Encrypt(key);
  auto r = As(role_, *kms_, "Decrypt", {{"CiphertextBlob", blob}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)["KeyId"], key);
  // Not named for ScheduleKeyDeletion, and no IAM policy: refused.
  auto del = As(role_, *kms_, "ScheduleKeyDeletion", {{"KeyId", key}});
  EXPECT_EQ(WireCode(*kms_, del), "AccessDeniedException");
  // Under the default policy the same role, without IAM policies, is refused.
  auto other = As(role_, *kms_, "Decrypt", {{"CiphertextBlob", Encrypt(NewKey())}});
  EXPECT_EQ(WireCode(*kms_, other), "AccessDeniedException");
}

// An IAM Deny still beats a key policy that names the caller.
TEST_F(KmsKeyPolicyTest, IamDenyBeatsKeyPolicyAllow) {
  std::string key = NewKey(kNoDelegation);
  std::string blob = Encrypt(key);
  auto r = As(role_, *kms_, "Decrypt", {{"CiphertextBlob", blob}},
              R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt",)"
              R"("Resource":"*"}]})");
  ASSERT_EQ(WireCode(*kms_, r), "AccessDeniedException");
  EXPECT_NE(r.error().message.find("explicit deny in an identity-based policy"), std::string::npos);
}

// Matrix 4: the lockout check refuses a policy that would lock the caller out,
// changes nothing, and BypassPolicyLockoutSafetyCheck skips it.
TEST_F(KmsKeyPolicyTest, PutKeyPolicyThatLocksCallerOutFailsUnlessBypassed) {
  std::string key = NewKey();
  // Only the role may do anything: the user app (allowed by IAM today) would
  // lose kms:PutKeyPolicy.
  constexpr char kRoleOnly[] = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                               R"("Principal":{"AWS":"arn:aws:iam::000000000000:role/deployer"},)"
                               R"("Action":"kms:*","Resource":"*"}]})";
  auto r = As(user_, *kms_, "PutKeyPolicy", {{"KeyId", key}, {"Policy", kRoleOnly}}, kIamAllowKms);
  ASSERT_EQ(WireCode(*kms_, r), "MalformedPolicyDocumentException");
  EXPECT_EQ(r.error().message,
            "The new key policy will not allow you to update the key policy in the future.");
  EXPECT_EQ(Admin(*kms_, "GetKeyPolicy", {{"KeyId", key}})["Policy"], kDefaultPolicy);
  // The admin (the account root) is locked out by it too.
  auto admin = As(admin_, *kms_, "PutKeyPolicy", {{"KeyId", key}, {"Policy", kRoleOnly}});
  EXPECT_EQ(WireCode(*kms_, admin), "MalformedPolicyDocumentException");
  // CreateKey with such a policy as well.
  auto create = As(user_, *kms_, "CreateKey", {{"Policy", kRoleOnly}}, kIamAllowKms);
  EXPECT_EQ(WireCode(*kms_, create), "MalformedPolicyDocumentException");
  // Bypassed: stored, and from then on the user cannot change it back.
  auto bypass =
      As(user_, *kms_, "PutKeyPolicy",
         {{"KeyId", key}, {"Policy", kRoleOnly}, {"BypassPolicyLockoutSafetyCheck", true}},
         kIamAllowKms);
  ASSERT_TRUE(bypass.has_value()) << bypass.error().message;
  auto again =
      As(user_, *kms_, "PutKeyPolicy", {{"KeyId", key}, {"Policy", kDefaultPolicy}}, kIamAllowKms);
  EXPECT_EQ(WireCode(*kms_, again), "AccessDeniedException");
  // A policy that keeps the caller in (delegation to the account) passes.
  std::string key2 = NewKey();
  auto keep = As(user_, *kms_, "PutKeyPolicy", {{"KeyId", key2}, {"Policy", kDelegationDenyApp}},
                 kIamAllowKms);
  EXPECT_TRUE(keep.has_value()) << keep.error().message;
}

// The key policy operations are authorized as kms:GetKeyPolicy / kms:PutKeyPolicy /
// kms:ListKeyPolicies on the key ARN.
TEST_F(KmsKeyPolicyTest, KeyPolicyOperationsNeedTheirOwnPermission) {
  std::string key = NewKey();
  constexpr char kDescribeOnly[] = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                                   R"("Action":"kms:DescribeKey","Resource":"*"}]})";
  for (const char* op : {"GetKeyPolicy", "ListKeyPolicies"}) {
    auto r = As(user_, *kms_, op, {{"KeyId", key}}, kDescribeOnly);
    ASSERT_EQ(WireCode(*kms_, r), "AccessDeniedException") << op;
    EXPECT_NE(r.error().message.find("kms:" + std::string(op)), std::string::npos);
  }
  auto put =
      As(user_, *kms_, "PutKeyPolicy", {{"KeyId", key}, {"Policy", kDefaultPolicy}}, kDescribeOnly);
  EXPECT_EQ(WireCode(*kms_, put), "AccessDeniedException");
}

// AWS managed keys: usable through their service, readable (DescribeKey,
// GetKeyPolicy) directly, but a direct Encrypt/Decrypt is refused even with
// IAM kms:*, and their policy cannot be replaced.
TEST_F(KmsKeyPolicyTest, AwsManagedKeyRefusesDirectUseAndPolicyChange) {
  Admin(*ssm_, "PutParameter", {{"Name", "/kp/m"}, {"Value", kCanary}, {"Type", "SecureString"}});
  auto get =
      As(user_, *ssm_, "GetParameter", {{"Name", "/kp/m"}, {"WithDecryption", true}}, kIamAllowKms);
  ASSERT_TRUE(get.has_value()) << get.error().message;
  EXPECT_EQ((*get)["Parameter"]["Value"], kCanary);
  std::string managed =
      Admin(*kms_, "DescribeKey", {{"KeyId", "alias/aws/ssm"}})["KeyMetadata"]["Arn"];
  auto enc = As(user_, *kms_, "Encrypt", {{"KeyId", "alias/aws/ssm"}, {"Plaintext", "eA=="}},
                kIamAllowKms);
  EXPECT_EQ(WireCode(*kms_, enc), "AccessDeniedException");
  auto admin_enc = As(admin_, *kms_, "Encrypt", {{"KeyId", managed}, {"Plaintext", "eA=="}});
  EXPECT_EQ(WireCode(*kms_, admin_enc), "AccessDeniedException");
  auto describe = As(user_, *kms_, "DescribeKey", {{"KeyId", managed}}, kIamAllowKms);
  EXPECT_TRUE(describe.has_value());
  auto policy = As(user_, *kms_, "GetKeyPolicy", {{"KeyId", managed}}, kIamAllowKms);
  ASSERT_TRUE(policy.has_value());
  std::string text = (*policy)["Policy"];
  EXPECT_NE(text.find("ssm.*.amazonaws.com"), std::string::npos) << text;
  EXPECT_NE(text.find("kms:CallerAccount"), std::string::npos) << text;
  // Operations KMS refuses on managed keys answer UnsupportedOperationException.
  auto put = As(admin_, *kms_, "PutKeyPolicy", {{"KeyId", managed}, {"Policy", kDefaultPolicy}});
  EXPECT_EQ(WireCode(*kms_, put), "UnsupportedOperationException");
  auto disable = As(user_, *kms_, "DisableKey", {{"KeyId", managed}}, kIamAllowKms);
  EXPECT_EQ(WireCode(*kms_, disable), "UnsupportedOperationException");
  EXPECT_TRUE(Admin(*kms_, "DescribeKey", {{"KeyId", managed}})["KeyMetadata"]["Enabled"]);
}

}  // namespace
}  // namespace coffer::api::awsjson
