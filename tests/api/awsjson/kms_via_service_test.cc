// KMS permissions behind SSM and Secrets Manager (AuthorizeKeyUse): reading a
// SecureString or a secret value under a customer managed key needs
// kms:Decrypt on it, writing one kms:Encrypt / kms:GenerateDataKey, with
// kms:ViaService, the encryption context and the key's tags as condition
// keys; the AWS managed keys need only the service's permission. Also KMS's
// own tag operations and aws:ResourceTag on direct KMS calls. Each attack is
// written as the call a restricted user would make.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/awsjson/errors.h"
#include "api/awsjson/kms_service.h"
#include "api/awsjson/secretsmanager_service.h"
#include "api/awsjson/ssm_service.h"
#include "auth/authorizer.h"
#include "support/json_api_fixture.h"
#include "util/encoding.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

using nlohmann::json;

constexpr char kCanary[] = "canary-kmsvia-5d1e-value";
constexpr char kAccount[] = "000000000000";
constexpr char kUserArn[] = "arn:aws:iam::000000000000:user/app";
constexpr char kTokenA[] = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

class KmsViaServiceTest : public testing::JsonApiTest {
 protected:
  void SetUp() override {
    JsonApiTest::SetUp();
    ssm_ = std::make_unique<SsmService>(*parameters_);
    sm_ = std::make_unique<SecretsManagerService>(*secrets_, *keys_);
    kms_ = std::make_unique<KmsService>(*keys_, *keyring_);
  }

  // A call without authorization (the set-up an administrator makes).
  json Admin(JsonService& service, std::string_view op, const json& body) {
    auto r = CallService(service, op, body, admin_, nullptr, "req-admin");
    EXPECT_TRUE(r.has_value()) << op << ": " << (r ? "" : r.error().message);
    return r.value_or(json::object());
  }

  struct Outcome {
    Result<json> result;
    std::string decision;  // the audit record's decision
    std::string resource;  // and the resource it was made on
  };

  // A call by the user "app" whose only identity policy is `policy`.
  Outcome AsUser(JsonService& service, std::string_view op, const json& body,
                 const std::string& policy) {
    auto compiled = policies_.Get("user/app", ++generation_, {{"app-inline", policy}});
    auth::RequestAuthorization authz(user_.principal, compiled, "127.0.0.1", true, clock_.Now());
    Outcome out{CallService(service, op, body, user_, &authz, "req-user"), authz.decision(),
                authz.resource()};
    return out;
  }

  static std::string WireCode(JsonService& service, const Outcome& o) {
    if (o.result.has_value()) return "";
    return std::string(MapError(service.signing_name(), o.result.error()).code);
  }

  // The refusal is AccessDeniedException naming `action` on `key_arn`, and
  // nothing of the value leaks into it.
  void ExpectKmsDenied(JsonService& service, const Outcome& o, std::string_view action,
                       const std::string& key_arn) {
    ASSERT_FALSE(o.result.has_value());
    EXPECT_EQ(WireCode(service, o), "AccessDeniedException");
    const std::string& message = o.result.error().message;
    EXPECT_NE(message.find(std::string(action)), std::string::npos) << message;
    EXPECT_NE(message.find(key_arn), std::string::npos) << message;
    EXPECT_NE(message.find(kUserArn), std::string::npos) << message;
    EXPECT_EQ(message.find(kCanary), std::string::npos);
    EXPECT_EQ(o.decision, "explicit-deny");
    EXPECT_EQ(o.resource, key_arn);
  }

  // A customer managed key; returns its ARN.
  std::string NewKey(const json& tags = json::array()) {
    json body = json::object();
    if (!tags.empty()) body["Tags"] = tags;
    return Admin(*kms_, "CreateKey", body)["KeyMetadata"]["Arn"].get<std::string>();
  }

  void PutSecure(const std::string& name, const std::string& key_id, bool overwrite = false) {
    json body = {{"Name", name}, {"Value", kCanary}, {"Type", "SecureString"}};
    if (!key_id.empty()) body["KeyId"] = key_id;
    if (overwrite) body["Overwrite"] = true;
    Admin(*ssm_, "PutParameter", body);
  }

  std::string CreateSecret(const std::string& name, const std::string& key_id) {
    json body = {{"Name", name}, {"SecretString", kCanary}};
    if (!key_id.empty()) body["KmsKeyId"] = key_id;
    return Admin(*sm_, "CreateSecret", body)["ARN"].get<std::string>();
  }

  util::SimulatedClock& clock_ = domain_.clock;
  std::unique_ptr<keyring::Keyring>& keyring_ = domain_.keyring;
  std::unique_ptr<domain::kms::KeyDirectory>& keys_ = domain_.keys;
  std::unique_ptr<domain::parameters::ParameterStore>& parameters_ = domain_.parameters;
  std::unique_ptr<domain::secrets::SecretStore>& secrets_ = domain_.secrets;
  std::unique_ptr<SsmService> ssm_;
  std::unique_ptr<SecretsManagerService> sm_;
  std::unique_ptr<KmsService> kms_;
};

// ssm:Get* and secretsmanager:GetSecretValue allowed, every kms: action denied.
constexpr char kServiceOnlyDenyKms[] = R"({"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["ssm:GetParameter*","secretsmanager:GetSecretValue",
    "secretsmanager:BatchGetSecretValue","ssm:PutParameter","secretsmanager:PutSecretValue",
    "secretsmanager:CreateSecret","secretsmanager:UpdateSecret"],"Resource":"*"},
  {"Effect":"Deny","Action":"kms:*","Resource":"*"}]})";

// The attack of issue 9: with kms:* denied, a SecureString under a customer
// managed key does not come back in plaintext, through any read.
TEST_F(KmsViaServiceTest, SsmReadsUnderCustomerKeyNeedKmsDecrypt) {
  std::string key = NewKey();
  PutSecure("/app/db", key);
  PutSecure("/app/other", key);
  Outcome get = AsUser(*ssm_, "GetParameter", {{"Name", "/app/db"}, {"WithDecryption", true}},
                       kServiceOnlyDenyKms);
  ExpectKmsDenied(*ssm_, get, "kms:Decrypt", key);
  ExpectKmsDenied(*ssm_,
                  AsUser(*ssm_, "GetParameters",
                         {{"Names", {"/app/db", "/app/other"}}, {"WithDecryption", true}},
                         kServiceOnlyDenyKms),
                  "kms:Decrypt", key);
  ExpectKmsDenied(
      *ssm_,
      AsUser(*ssm_, "GetParametersByPath", {{"Path", "/app"}, {"WithDecryption", true}},
             kServiceOnlyDenyKms),
      "kms:Decrypt", key);
  ExpectKmsDenied(*ssm_,
                  AsUser(*ssm_, "GetParameterHistory",
                         {{"Name", "/app/db"}, {"WithDecryption", true}}, kServiceOnlyDenyKms),
                  "kms:Decrypt", key);
  // Without decryption no KMS call is made: the ciphertext is readable.
  Outcome sealed = AsUser(*ssm_, "GetParameter", {{"Name", "/app/db"}}, kServiceOnlyDenyKms);
  ASSERT_TRUE(sealed.result.has_value());
  EXPECT_NE((*sealed.result)["Parameter"]["Value"], kCanary);
}

// Under the AWS managed key alias/aws/ssm the service's permission suffices.
TEST_F(KmsViaServiceTest, SsmReadsUnderAwsManagedKeyNeedOnlySsm) {
  PutSecure("/app/default", "");
  PutSecure("/app/named", "alias/aws/ssm");
  for (const char* name : {"/app/default", "/app/named"}) {
    Outcome get = AsUser(*ssm_, "GetParameter", {{"Name", name}, {"WithDecryption", true}},
                         kServiceOnlyDenyKms);
    ASSERT_TRUE(get.result.has_value()) << get.result.error().message;
    EXPECT_EQ((*get.result)["Parameter"]["Value"], kCanary);
  }
  Outcome path = AsUser(*ssm_, "GetParametersByPath", {{"Path", "/app"}, {"WithDecryption", true}},
                        kServiceOnlyDenyKms);
  ASSERT_TRUE(path.result.has_value());
  EXPECT_EQ((*path.result)["Parameters"].size(), 2u);
}

// kms:Decrypt allowed only through SSM and only for one parameter's context:
// that parameter reads, another under the same key does not, and the same
// policy does not let the caller decrypt directly through KMS.
TEST_F(KmsViaServiceTest, SsmViaServiceAndEncryptionContextConditions) {
  std::string key = NewKey();
  PutSecure("/app/db", key);
  PutSecure("/app/other", key);
  std::string policy = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"},
    {"Effect":"Allow","Action":"kms:Decrypt","Resource":")" +
                       key + R"(","Condition":{"StringEquals":{
      "kms:ViaService":"ssm.us-east-1.amazonaws.com",
      "kms:EncryptionContext:PARAMETER_ARN":"arn:aws:ssm:us-east-1:000000000000:parameter/app/db",
      "kms:CallerAccount":"000000000000"}}}]})";
  Outcome ok =
      AsUser(*ssm_, "GetParameter", {{"Name", "/app/db"}, {"WithDecryption", true}}, policy);
  ASSERT_TRUE(ok.result.has_value()) << ok.result.error().message;
  EXPECT_EQ((*ok.result)["Parameter"]["Value"], kCanary);
  EXPECT_EQ(ok.decision, "allow");
  EXPECT_EQ(ok.resource, "arn:aws:ssm:us-east-1:000000000000:parameter/app/db");
  Outcome other =
      AsUser(*ssm_, "GetParameter", {{"Name", "/app/other"}, {"WithDecryption", true}}, policy);
  ASSERT_FALSE(other.result.has_value());
  EXPECT_EQ(WireCode(*ssm_, other), "AccessDeniedException");
  EXPECT_EQ(other.decision, "implicit-deny");

  // Directly through KMS, with the same context, the ViaService condition fails.
  json blob = Admin(*kms_, "Encrypt",
                    {{"KeyId", key},
                     {"Plaintext", util::Base64Encode("x")},
                     {"EncryptionContext",
                      {{"PARAMETER_ARN", "arn:aws:ssm:us-east-1:000000000000:parameter/app/db"}}}});
  Outcome direct = AsUser(*kms_, "Decrypt",
                          {{"CiphertextBlob", blob["CiphertextBlob"]},
                           {"EncryptionContext",
                            {{"PARAMETER_ARN",
                              "arn:aws:ssm:us-east-1:000000000000:parameter/app/db"}}}},
                          policy);
  ASSERT_FALSE(direct.result.has_value());
  EXPECT_EQ(WireCode(*kms_, direct), "AccessDeniedException");
}

// A Deny on kms:Decrypt by the key's tag (aws:ResourceTag/env) holds through
// SSM, Secrets Manager and direct KMS calls; once the tag is gone it no
// longer applies.
TEST_F(KmsViaServiceTest, TagBasedDenyOnKeyHoldsEverywhere) {
  std::string key = NewKey({{{"TagKey", "env"}, {"TagValue", "prod"}}});
  PutSecure("/app/db", key);
  CreateSecret("db", key);
  json blob = Admin(*kms_, "Encrypt", {{"KeyId", key}, {"Plaintext", util::Base64Encode("x")}});
  constexpr char kPolicy[] = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":["ssm:*","secretsmanager:*","kms:*"],"Resource":"*"},
    {"Effect":"Deny","Action":"kms:Decrypt","Resource":"*",
     "Condition":{"StringEquals":{"aws:ResourceTag/env":"prod"}}}]})";
  ExpectKmsDenied(*ssm_,
                  AsUser(*ssm_, "GetParameter", {{"Name", "/app/db"}, {"WithDecryption", true}},
                         kPolicy),
                  "kms:Decrypt", key);
  ExpectKmsDenied(*sm_, AsUser(*sm_, "GetSecretValue", {{"SecretId", "db"}}, kPolicy),
                  "kms:Decrypt", key);
  ExpectKmsDenied(*kms_, AsUser(*kms_, "Decrypt", {{"CiphertextBlob", blob["CiphertextBlob"]}},
                                kPolicy),
                  "kms:Decrypt", key);
  // Other uses of the key are not denied by that statement.
  EXPECT_TRUE(AsUser(*kms_, "DescribeKey", {{"KeyId", key}}, kPolicy).result.has_value());

  Admin(*kms_, "UntagResource", {{"KeyId", key}, {"TagKeys", {"env"}}});
  Outcome get =
      AsUser(*ssm_, "GetParameter", {{"Name", "/app/db"}, {"WithDecryption", true}}, kPolicy);
  ASSERT_TRUE(get.result.has_value());
  EXPECT_EQ((*get.result)["Parameter"]["Value"], kCanary);
  EXPECT_TRUE(AsUser(*kms_, "Decrypt", {{"CiphertextBlob", blob["CiphertextBlob"]}}, kPolicy)
                  .result.has_value());
}

// Writing a SecureString under a customer managed key needs kms:Encrypt on it
// (also on an overwrite that keeps the previous version's key); a refused
// write changes nothing. Other types and the managed key need no KMS right.
TEST_F(KmsViaServiceTest, SsmWritesUnderCustomerKeyNeedKmsEncrypt) {
  std::string key = NewKey();
  Outcome put = AsUser(
      *ssm_, "PutParameter",
      {{"Name", "/w/new"}, {"Value", kCanary}, {"Type", "SecureString"}, {"KeyId", key}},
      kServiceOnlyDenyKms);
  ExpectKmsDenied(*ssm_, put, "kms:Encrypt", key);
  auto absent = CallService(*ssm_, "GetParameter", {{"Name", "/w/new"}}, admin_, nullptr, "r");
  ASSERT_FALSE(absent.has_value());
  EXPECT_EQ(MapError("ssm", absent.error()).code, "ParameterNotFound");

  PutSecure("/w/existing", key);
  Outcome overwrite = AsUser(
      *ssm_, "PutParameter",
      {{"Name", "/w/existing"}, {"Value", "other"}, {"Type", "SecureString"}, {"Overwrite", true}},
      kServiceOnlyDenyKms);
  ExpectKmsDenied(*ssm_, overwrite, "kms:Encrypt", key);
  auto still = CallService(*ssm_, "GetParameter", {{"Name", "/w/existing"}}, admin_, nullptr, "r");
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ((*still)["Parameter"]["Version"], 1);

  EXPECT_TRUE(AsUser(*ssm_, "PutParameter",
                     {{"Name", "/w/managed"}, {"Value", "v"}, {"Type", "SecureString"}},
                     kServiceOnlyDenyKms)
                  .result.has_value());
  EXPECT_TRUE(AsUser(*ssm_, "PutParameter", {{"Name", "/w/plain"}, {"Value", "v"}, {"Type", "String"}},
                     kServiceOnlyDenyKms)
                  .result.has_value());
  // With kms:Encrypt through SSM for that parameter's context, it writes.
  std::string policy = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"ssm:PutParameter","Resource":"*"},
    {"Effect":"Allow","Action":"kms:Encrypt","Resource":")" +
                       key + R"(","Condition":{"StringEquals":{
      "kms:ViaService":"ssm.us-east-1.amazonaws.com",
      "kms:EncryptionContext:PARAMETER_ARN":"arn:aws:ssm:us-east-1:000000000000:parameter/w/new"}}}]})";
  Outcome allowed = AsUser(
      *ssm_, "PutParameter",
      {{"Name", "/w/new"}, {"Value", kCanary}, {"Type", "SecureString"}, {"KeyId", key}}, policy);
  EXPECT_TRUE(allowed.result.has_value()) << allowed.result.error().message;
}

// The attack of issue 9 through Secrets Manager: GetSecretValue and
// BatchGetSecretValue of a secret under a customer managed key with kms:*
// denied are refused ("Access to KMS is not allowed"); under
// aws/secretsmanager they are not.
TEST_F(KmsViaServiceTest, SecretReadsUnderCustomerKeyNeedKmsDecrypt) {
  std::string key = NewKey();
  std::string arn = CreateSecret("cmk-secret", key);
  CreateSecret("default-secret", "");
  Outcome get = AsUser(*sm_, "GetSecretValue", {{"SecretId", "cmk-secret"}}, kServiceOnlyDenyKms);
  ExpectKmsDenied(*sm_, get, "kms:Decrypt", key);
  EXPECT_TRUE(get.result.error().message.starts_with("Access to KMS is not allowed"));
  Outcome batch = AsUser(*sm_, "BatchGetSecretValue",
                         {{"SecretIdList", {"cmk-secret", "default-secret"}}}, kServiceOnlyDenyKms);
  ASSERT_TRUE(batch.result.has_value()) << batch.result.error().message;
  ASSERT_EQ((*batch.result)["SecretValues"].size(), 1u);
  EXPECT_EQ((*batch.result)["SecretValues"][0]["Name"], "default-secret");
  ASSERT_EQ((*batch.result)["Errors"].size(), 1u);
  EXPECT_EQ((*batch.result)["Errors"][0]["ErrorCode"], "AccessDeniedException");
  Outcome plain =
      AsUser(*sm_, "GetSecretValue", {{"SecretId", "default-secret"}}, kServiceOnlyDenyKms);
  ASSERT_TRUE(plain.result.has_value());
  EXPECT_EQ((*plain.result)["SecretString"], kCanary);

  // kms:Decrypt via Secrets Manager for this secret's ARN: allowed.
  std::string policy = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"},
    {"Effect":"Allow","Action":"kms:Decrypt","Resource":")" +
                       key + R"(","Condition":{"StringEquals":{
      "kms:ViaService":"secretsmanager.us-east-1.amazonaws.com",
      "kms:EncryptionContext:SecretARN":")" +
                       arn + R"("}}}]})";
  Outcome ok = AsUser(*sm_, "GetSecretValue", {{"SecretId", "cmk-secret"}}, policy);
  ASSERT_TRUE(ok.result.has_value()) << ok.result.error().message;
  EXPECT_EQ((*ok.result)["SecretString"], kCanary);
}

// Writing a secret value under a customer managed key needs
// kms:GenerateDataKey; changing the key to one needs it too. Refusals change
// nothing.
TEST_F(KmsViaServiceTest, SecretWritesUnderCustomerKeyNeedGenerateDataKey) {
  std::string key = NewKey();
  CreateSecret("cmk-secret", key);
  CreateSecret("default-secret", "");
  Outcome put = AsUser(*sm_, "PutSecretValue",
                       {{"SecretId", "cmk-secret"}, {"SecretString", "new"},
                        {"ClientRequestToken", kTokenA}},
                       kServiceOnlyDenyKms);
  ExpectKmsDenied(*sm_, put, "kms:GenerateDataKey", key);
  auto versions =
      CallService(*sm_, "ListSecretVersionIds", {{"SecretId", "cmk-secret"}}, admin_, nullptr, "r");
  ASSERT_TRUE(versions.has_value());
  EXPECT_EQ((*versions)["Versions"].size(), 1u);

  ExpectKmsDenied(*sm_,
                  AsUser(*sm_, "CreateSecret",
                         {{"Name", "new-cmk"}, {"SecretString", "v"}, {"KmsKeyId", key}},
                         kServiceOnlyDenyKms),
                  "kms:GenerateDataKey", key);
  EXPECT_FALSE(CallService(*sm_, "DescribeSecret", {{"SecretId", "new-cmk"}}, admin_, nullptr, "r")
                   .has_value());
  ExpectKmsDenied(*sm_,
                  AsUser(*sm_, "UpdateSecret", {{"SecretId", "default-secret"}, {"KmsKeyId", key}},
                         kServiceOnlyDenyKms),
                  "kms:GenerateDataKey", key);
  auto described =
      CallService(*sm_, "DescribeSecret", {{"SecretId", "default-secret"}}, admin_, nullptr, "r");
  ASSERT_TRUE(described.has_value());
  EXPECT_FALSE(described->contains("KmsKeyId"));

  // Under the managed key the service's permission suffices.
  EXPECT_TRUE(AsUser(*sm_, "PutSecretValue",
                     {{"SecretId", "default-secret"}, {"SecretString", "new"}},
                     kServiceOnlyDenyKms)
                  .result.has_value());
  // With kms:GenerateDataKey through Secrets Manager, the write goes through.
  std::string policy = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"secretsmanager:PutSecretValue","Resource":"*"},
    {"Effect":"Allow","Action":"kms:GenerateDataKey","Resource":")" +
                       key + R"(","Condition":{"StringEquals":{
      "kms:ViaService":"secretsmanager.us-east-1.amazonaws.com",
      "kms:EncryptionContext:SecretVersionId":")" +
                       std::string(kTokenA) + R"("}}}]})";
  Outcome ok = AsUser(*sm_, "PutSecretValue",
                      {{"SecretId", "cmk-secret"}, {"SecretString", "new"},
                       {"ClientRequestToken", kTokenA}},
                      policy);
  EXPECT_TRUE(ok.result.has_value()) << ok.result.error().message;
}

// KMS TagResource / UntagResource / ListResourceTags on the wire, their
// errors, and aws:RequestTag / aws:TagKeys in their authorization.
TEST_F(KmsViaServiceTest, KmsTagOperations) {
  std::string key = NewKey({{{"TagKey", "team"}, {"TagValue", "a"}}});
  Admin(*kms_, "TagResource",
        {{"KeyId", key},
         {"Tags", {{{"TagKey", "env"}, {"TagValue", "dev"}}, {{"TagKey", "cost"}, {"TagValue", "1"}}}}});
  json page = Admin(*kms_, "ListResourceTags", {{"KeyId", key}, {"Limit", 2}});
  ASSERT_EQ(page["Tags"].size(), 2u);
  EXPECT_EQ(page["Tags"][0]["TagKey"], "cost");
  EXPECT_EQ(page["Truncated"], true);
  json rest =
      Admin(*kms_, "ListResourceTags", {{"KeyId", key}, {"Marker", page["NextMarker"]}});
  ASSERT_EQ(rest["Tags"].size(), 1u);
  EXPECT_EQ(rest["Tags"][0]["TagKey"], "team");
  EXPECT_EQ(rest["Truncated"], false);

  auto bad = CallService(*kms_, "TagResource",
                         {{"KeyId", key}, {"Tags", {{{"TagKey", "aws:x"}, {"TagValue", "y"}}}}},
                         admin_, nullptr, "r");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(MapError("kms", bad.error()).code, "TagException");
  json many = json::array();
  for (int i = 0; i < 50; ++i) {
    many.push_back({{"TagKey", "k" + std::to_string(i)}, {"TagValue", "v"}});
  }
  auto over =
      CallService(*kms_, "TagResource", {{"KeyId", key}, {"Tags", many}}, admin_, nullptr, "r");
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(MapError("kms", over.error()).code, "LimitExceededException");

  constexpr char kNoProdTags[] = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Action":"kms:*","Resource":"*"},
    {"Effect":"Deny","Action":["kms:TagResource","kms:UntagResource"],"Resource":"*",
     "Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}}]})";
  Outcome tag = AsUser(*kms_, "TagResource",
                       {{"KeyId", key}, {"Tags", {{{"TagKey", "env"}, {"TagValue", "prod"}}}}},
                       kNoProdTags);
  ASSERT_FALSE(tag.result.has_value());
  EXPECT_EQ(WireCode(*kms_, tag), "AccessDeniedException");
  EXPECT_EQ(tag.resource, key);
  Outcome untag =
      AsUser(*kms_, "UntagResource", {{"KeyId", key}, {"TagKeys", {"env"}}}, kNoProdTags);
  EXPECT_EQ(WireCode(*kms_, untag), "AccessDeniedException");
  EXPECT_TRUE(AsUser(*kms_, "TagResource",
                     {{"KeyId", key}, {"Tags", {{{"TagKey", "owner"}, {"TagValue", "x"}}}}},
                     kNoProdTags)
                  .result.has_value());
  json now = Admin(*kms_, "ListResourceTags", {{"KeyId", key}});
  EXPECT_EQ(now["Tags"].size(), 4u);  // cost, env=dev, owner, team
}

}  // namespace
}  // namespace coffer::api::awsjson
