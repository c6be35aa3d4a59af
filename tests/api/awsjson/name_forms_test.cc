// One way to name a resource (issue 10 item 1): whatever form a request uses
// to name an SSM parameter (bare name, name:version, name:label, the ARN, the
// ARN with a selector) or a secret (name, full ARN, partial ARN), a Deny by
// resource ARN and a Deny by tag (ssm:/secretsmanager:ResourceTag and
// aws:ResourceTag) refuse it on every operation that takes the resource, and
// the list operations leave it out. Each case is written as the call a
// restricted user would make; the reported bypass was GetParameter by ARN
// under a tag Deny.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/awsjson/errors.h"
#include "api/awsjson/kms_service.h"
#include "api/awsjson/secretsmanager_service.h"
#include "api/awsjson/ssm_service.h"
#include "auth/authorizer.h"
#include "support/json_api_fixture.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

using nlohmann::json;

constexpr char kCanary[] = "canary-nameforms-7c2a-value";
constexpr char kAccount[] = "000000000000";
constexpr char kParamArn[] = "arn:aws:ssm:us-east-1:000000000000:parameter/prod/db";
constexpr char kPartialSecretArn[] = "arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/db";
constexpr char kTokenA[] = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";

std::string AllowAllDeny(std::string_view service, std::string_view deny_resource,
                         std::string_view condition) {
  std::string deny = R"({"Effect":"Deny","Action":")" + std::string(service) +
                     R"(:*","Resource":")" + std::string(deny_resource) + "\"";
  if (!condition.empty()) deny += R"(,"Condition":)" + std::string(condition);
  deny += "}";
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[")" +
         std::string(service) + R"(:*"],"Resource":"*"},)" + deny + "]}";
}

struct NamedPolicy {
  std::string label;
  std::string document;
};

std::vector<NamedPolicy> SsmDenies() {
  return {
      {"deny by ssm:ResourceTag",
       AllowAllDeny("ssm", "*", R"({"StringEquals":{"ssm:ResourceTag/env":"prod"}})")},
      {"deny by aws:ResourceTag",
       AllowAllDeny("ssm", "*", R"({"StringEquals":{"aws:ResourceTag/env":"prod"}})")},
      {"deny by resource",
       AllowAllDeny("ssm", "arn:aws:ssm:us-east-1:000000000000:parameter/prod/db*", "")},
  };
}

std::vector<NamedPolicy> SmDenies() {
  return {
      {"deny by secretsmanager:ResourceTag",
       AllowAllDeny("secretsmanager", "*",
                    R"({"StringEquals":{"secretsmanager:ResourceTag/env":"prod"}})")},
      {"deny by aws:ResourceTag",
       AllowAllDeny("secretsmanager", "*", R"({"StringEquals":{"aws:ResourceTag/env":"prod"}})")},
      {"deny by resource",
       AllowAllDeny("secretsmanager",
                    "arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/db*", "")},
  };
}

std::vector<NamedPolicy> KmsDenies(const std::string& key_arn) {
  return {
      {"deny by aws:ResourceTag",
       AllowAllDeny("kms", "*", R"({"StringEquals":{"aws:ResourceTag/env":"prod"}})")},
      {"deny by resource", AllowAllDeny("kms", key_arn, "")},
  };
}

class NameFormsTest : public testing::JsonApiTest {
 protected:
  void SetUp() override {
    JsonApiTest::SetUp();
    ssm_ = std::make_unique<SsmService>(*parameters_);
    sm_ = std::make_unique<SecretsManagerService>(*secrets_, *keys_);
    kms_ = std::make_unique<KmsService>(*keys_, *keyring_);
  }

  json Admin(JsonService& service, std::string_view op, const json& body) {
    auto r = CallService(service, op, body, admin_, nullptr, "req-admin");
    EXPECT_TRUE(r.has_value()) << op << ": " << (r ? "" : r.error().message);
    return r.value_or(json::object());
  }

  struct Outcome {
    Result<json> result;
    std::string decision;
    std::string resource;
  };

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

  // Refused with AccessDeniedException on the canonical ARN (the audit
  // record's resource), and nothing of the value in the answer.
  void ExpectDenied(JsonService& service, const Outcome& o, const std::string& canonical_arn,
                    const std::string& what) {
    ASSERT_FALSE(o.result.has_value()) << what << " was allowed: " << o.result->dump().size();
    EXPECT_EQ(WireCode(service, o), "AccessDeniedException") << what << ": "
                                                             << o.result.error().message;
    EXPECT_EQ(o.decision, "explicit-deny") << what;
    EXPECT_EQ(o.resource, canonical_arn) << what;
    EXPECT_EQ(o.result.error().message.find(kCanary), std::string::npos) << what;
  }

  // /prod/db (env=prod; versions 1 and 2, label "blue" on 1), /prod/app and
  // /dev/db untagged.
  void SetUpParameters() {
    Admin(*ssm_, "PutParameter",
          {{"Name", "/prod/db"}, {"Value", kCanary}, {"Type", "SecureString"},
           {"Tags", {{{"Key", "env"}, {"Value", "prod"}}}}});
    Admin(*ssm_, "PutParameter",
          {{"Name", "/prod/db"}, {"Value", kCanary}, {"Type", "SecureString"},
           {"Overwrite", true}});
    Admin(*ssm_, "LabelParameterVersion",
          {{"Name", "/prod/db"}, {"ParameterVersion", 1}, {"Labels", {"blue"}}});
    Admin(*ssm_, "PutParameter", {{"Name", "/prod/app"}, {"Value", "app"}, {"Type", "String"}});
    Admin(*ssm_, "PutParameter", {{"Name", "/dev/db"}, {"Value", "dev"}, {"Type", "String"}});
  }

  // The secret prod/db (env=prod) and dev/db; returns prod/db's full ARN.
  std::string SetUpSecrets() {
    std::string arn = Admin(*sm_, "CreateSecret",
                            {{"Name", "prod/db"}, {"SecretString", kCanary},
                             {"Tags", {{{"Key", "env"}, {"Value", "prod"}}}}})["ARN"];
    Admin(*sm_, "CreateSecret", {{"Name", "dev/db"}, {"SecretString", "dev"}});
    return arn;
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

// The reported bypass: GetParameter by ARN under a tag Deny returned the
// plaintext. Every read form, every read operation, every Deny: refused.
TEST_F(NameFormsTest, SsmReadsOfEveryNameFormAreRefused) {
  SetUpParameters();
  const std::string arn = kParamArn;
  const std::vector<std::string> forms = {"/prod/db",  "/prod/db:1", "/prod/db:blue",
                                          arn,         arn + ":2",   arn + ":blue"};
  for (const NamedPolicy& policy : SsmDenies()) {
    for (const std::string& form : forms) {
      std::string what = policy.label + " / " + form;
      ExpectDenied(*ssm_,
                   AsUser(*ssm_, "GetParameter", {{"Name", form}, {"WithDecryption", true}},
                          policy.document),
                   arn, "GetParameter " + what);
      ExpectDenied(*ssm_,
                   AsUser(*ssm_, "GetParameters",
                          {{"Names", {"/dev/db", form}}, {"WithDecryption", true}},
                          policy.document),
                   arn, "GetParameters " + what);
      ExpectDenied(*ssm_,
                   AsUser(*ssm_, "GetParameterHistory", {{"Name", form}, {"WithDecryption", true}},
                          policy.document),
                   arn, "GetParameterHistory " + what);
    }
    // The untagged neighbour stays readable through every form (the Deny is
    // not a blanket one).
    for (const std::string& form :
         {std::string("/dev/db"),
          std::string("arn:aws:ssm:us-east-1:000000000000:parameter/dev/db:1")}) {
      Outcome ok = AsUser(*ssm_, "GetParameter", {{"Name", form}}, policy.document);
      ASSERT_TRUE(ok.result.has_value()) << policy.label << " / " << form;
      EXPECT_EQ((*ok.result)["Parameter"]["Value"], "dev");
    }
  }
}

// By-path and DescribeParameters leave the denied parameter out.
TEST_F(NameFormsTest, SsmListsFilterTheDeniedParameter) {
  SetUpParameters();
  for (const NamedPolicy& policy : SsmDenies()) {
    Outcome path = AsUser(*ssm_, "GetParametersByPath",
                          {{"Path", "/prod"}, {"WithDecryption", true}}, policy.document);
    ASSERT_TRUE(path.result.has_value()) << policy.label;
    std::vector<std::string> names;
    for (const json& p : (*path.result)["Parameters"]) names.push_back(p["Name"]);
    EXPECT_EQ(names, std::vector<std::string>{"/prod/app"}) << policy.label;
    EXPECT_EQ(path.result->dump().find(kCanary), std::string::npos);
    Outcome recursive = AsUser(*ssm_, "GetParametersByPath",
                               {{"Path", "/"}, {"Recursive", true}, {"WithDecryption", true}},
                               policy.document);
    ASSERT_TRUE(recursive.result.has_value()) << policy.label;
    EXPECT_EQ(recursive.result->dump().find(kCanary), std::string::npos) << policy.label;
    Outcome described = AsUser(*ssm_, "DescribeParameters", json::object(), policy.document);
    ASSERT_TRUE(described.result.has_value()) << policy.label;
    names.clear();
    for (const json& p : (*described.result)["Parameters"]) names.push_back(p["Name"]);
    EXPECT_EQ(names, (std::vector<std::string>{"/dev/db", "/prod/app"})) << policy.label;
  }
}

// Every write and tag operation on /prod/db: refused under every Deny, and
// nothing changes. The forms these operations do not take (ARN, selector)
// name no parameter and are refused too.
TEST_F(NameFormsTest, SsmWritesOfEveryNameFormAreRefused) {
  SetUpParameters();
  const std::string arn = kParamArn;
  for (const NamedPolicy& policy : SsmDenies()) {
    for (const std::string& form : {std::string("/prod/db"), arn, std::string("/prod/db:1")}) {
      std::string what = policy.label + " / " + form;
      std::vector<std::pair<std::string, json>> calls = {
          {"PutParameter", {{"Name", form}, {"Value", "changed"}, {"Overwrite", true}}},
          {"DeleteParameter", {{"Name", form}}},
          {"DeleteParameters", {{"Names", {form}}}},
          {"LabelParameterVersion", {{"Name", form}, {"Labels", {"green"}}}},
          {"UnlabelParameterVersion",
           {{"Name", form}, {"ParameterVersion", 1}, {"Labels", {"blue"}}}},
          {"AddTagsToResource",
           {{"ResourceType", "Parameter"},
            {"ResourceId", form},
            {"Tags", {{{"Key", "env"}, {"Value", "dev"}}}}}},
          {"RemoveTagsFromResource",
           {{"ResourceType", "Parameter"}, {"ResourceId", form}, {"TagKeys", {"env"}}}},
          {"ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", form}}},
      };
      for (const auto& [op, body] : calls) {
        Outcome o = AsUser(*ssm_, op, body, policy.document);
        if (op == "DeleteParameters" && o.result.has_value()) {
          // A name that names nothing is listed as invalid, not deleted.
          EXPECT_TRUE((*o.result)["DeletedParameters"].empty()) << op << " " << what;
          continue;
        }
        ASSERT_FALSE(o.result.has_value()) << op << " " << what;
        if (form == "/prod/db") ExpectDenied(*ssm_, o, arn, op + " " + what);
      }
    }
  }
  // Nothing changed: both versions, the label and the tag are as set up.
  json history = Admin(*ssm_, "GetParameterHistory", {{"Name", "/prod/db"}});
  ASSERT_EQ(history["Parameters"].size(), 2u);
  EXPECT_EQ(history["Parameters"][0]["Labels"], json({"blue"}));
  json tags = Admin(*ssm_, "ListTagsForResource",
                    {{"ResourceType", "Parameter"}, {"ResourceId", "/prod/db"}});
  EXPECT_EQ(tags["TagList"], json({{{"Key", "env"}, {"Value", "prod"}}}));
}

// An ARN of another partition, account or region is not the local
// parameter: ParameterNotFound (or listed invalid), never its value.
TEST_F(NameFormsTest, SsmForeignArnsNameNothing) {
  SetUpParameters();
  const std::string allow_all =
      R"({"Version":"2012-10-17","Statement":[)"
      R"({"Effect":"Allow","Action":"ssm:*","Resource":"*"}]})";
  for (const char* foreign : {"arn:aws-cn:ssm:us-east-1:000000000000:parameter/prod/db",
                              "arn:aws:ssm:us-east-1:111111111111:parameter/prod/db",
                              "arn:aws:ssm:eu-west-1:000000000000:parameter/prod/db:1"}) {
    for (const std::string& policy : {allow_all, SsmDenies()[2].document}) {
      Outcome get = AsUser(*ssm_, "GetParameter", {{"Name", foreign}, {"WithDecryption", true}},
                           policy);
      ASSERT_FALSE(get.result.has_value()) << foreign;
      EXPECT_EQ(WireCode(*ssm_, get), "ParameterNotFound") << foreign;
      Outcome batch = AsUser(*ssm_, "GetParameters",
                             {{"Names", {foreign}}, {"WithDecryption", true}}, policy);
      ASSERT_TRUE(batch.result.has_value()) << foreign;
      EXPECT_TRUE((*batch.result)["Parameters"].empty());
      EXPECT_EQ((*batch.result)["InvalidParameters"], json({foreign}));
      Outcome history = AsUser(*ssm_, "GetParameterHistory", {{"Name", foreign}}, policy);
      ASSERT_FALSE(history.result.has_value()) << foreign;
    }
  }
}

// Secrets: name, full ARN and partial ARN, on every operation that takes a
// secret, under every Deny: refused on the secret's canonical ARN.
TEST_F(NameFormsTest, SecretsOfEveryNameFormAreRefused) {
  std::string full = SetUpSecrets();
  const std::string doc =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
      R"("Principal":{"AWS":"arn:aws:iam::000000000000:root"},)"
      R"("Action":"secretsmanager:GetSecretValue","Resource":"*"}]})";
  for (const NamedPolicy& policy : SmDenies()) {
    for (const std::string& form : {std::string("prod/db"), full, std::string(kPartialSecretArn)}) {
      std::string what = policy.label + " / " + form;
      std::vector<std::pair<std::string, json>> calls = {
          {"GetSecretValue", {{"SecretId", form}}},
          {"BatchGetSecretValue", {{"SecretIdList", {"dev/db", form}}}},
          {"DescribeSecret", {{"SecretId", form}}},
          {"PutSecretValue", {{"SecretId", form}, {"SecretString", "changed"}}},
          {"UpdateSecret", {{"SecretId", form}, {"Description", "changed"}}},
          {"UpdateSecretVersionStage",
           {{"SecretId", form}, {"VersionStage", "blue"}, {"MoveToVersionId", kTokenA}}},
          {"DeleteSecret", {{"SecretId", form}, {"ForceDeleteWithoutRecovery", true}}},
          {"RestoreSecret", {{"SecretId", form}}},
          {"TagResource", {{"SecretId", form}, {"Tags", {{{"Key", "env"}, {"Value", "dev"}}}}}},
          {"UntagResource", {{"SecretId", form}, {"TagKeys", {"env"}}}},
          {"ListSecretVersionIds", {{"SecretId", form}}},
          {"GetResourcePolicy", {{"SecretId", form}}},
          {"PutResourcePolicy", {{"SecretId", form}, {"ResourcePolicy", doc}}},
          {"DeleteResourcePolicy", {{"SecretId", form}}},
          {"RotateSecret",
           {{"SecretId", form},
            {"RotationLambdaARN", "arn:aws:lambda:us-east-1:000000000000:function:rot"}}},
          {"CancelRotateSecret", {{"SecretId", form}}},
          {"ValidateResourcePolicy", {{"SecretId", form}, {"ResourcePolicy", doc}}},
      };
      for (const auto& [op, body] : calls) {
        ExpectDenied(*sm_, AsUser(*sm_, op, body, policy.document), full, op + " " + what);
      }
    }
    // The untagged neighbour stays readable.
    Outcome ok = AsUser(*sm_, "GetSecretValue", {{"SecretId", "dev/db"}}, policy.document);
    ASSERT_TRUE(ok.result.has_value()) << policy.label;
  }
  // Nothing changed.
  json value = Admin(*sm_, "GetSecretValue", {{"SecretId", "prod/db"}});
  EXPECT_EQ(value["SecretString"], kCanary);
  json described = Admin(*sm_, "DescribeSecret", {{"SecretId", "prod/db"}});
  EXPECT_EQ(described["Tags"], json({{{"Key", "env"}, {"Value", "prod"}}}));
  EXPECT_FALSE(described.contains("Description"));
  EXPECT_FALSE(described.contains("DeletedDate"));
}

// BatchGetSecretValue by filters and ListSecrets leave the denied secret out.
TEST_F(NameFormsTest, SecretListsFilterTheDeniedSecret) {
  std::string full = SetUpSecrets();
  for (const NamedPolicy& policy : SmDenies()) {
    Outcome batch = AsUser(*sm_, "BatchGetSecretValue",
                           {{"Filters", {{{"Key", "name"}, {"Values", {"prod", "dev"}}}}}},
                           policy.document);
    ASSERT_TRUE(batch.result.has_value()) << policy.label;
    EXPECT_EQ(batch.result->dump().find(kCanary), std::string::npos) << policy.label;
    ASSERT_EQ((*batch.result)["SecretValues"].size(), 1u) << policy.label;
    EXPECT_EQ((*batch.result)["SecretValues"][0]["Name"], "dev/db");
    Outcome list = AsUser(*sm_, "ListSecrets", json::object(), policy.document);
    ASSERT_TRUE(list.result.has_value()) << policy.label;
    std::vector<std::string> names;
    for (const json& s : (*list.result)["SecretList"]) names.push_back(s["Name"]);
    EXPECT_EQ(names, std::vector<std::string>{"dev/db"}) << policy.label;
  }
}

// A secret ARN of another partition, account or region is not the local
// secret, whatever the policy: ResourceNotFoundException, never its value.
TEST_F(NameFormsTest, SecretForeignArnsNameNothing) {
  SetUpSecrets();
  const std::string allow_all =
      R"({"Version":"2012-10-17","Statement":[)"
      R"({"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]})";
  for (const char* foreign : {"arn:aws-cn:secretsmanager:us-east-1:000000000000:secret:prod/db",
                              "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db",
                              "arn:aws:secretsmanager:eu-west-1:000000000000:secret:prod/db"}) {
    Outcome get = AsUser(*sm_, "GetSecretValue", {{"SecretId", foreign}}, allow_all);
    ASSERT_FALSE(get.result.has_value()) << foreign;
    EXPECT_EQ(WireCode(*sm_, get), "ResourceNotFoundException") << foreign;
  }
}

// KMS keys: a key id, the key ARN, an alias name and the alias ARN all name
// the one key. Under a Deny by the key's ARN or by its tag
// (aws:ResourceTag/env), every operation that takes a key is refused on the
// key's ARN (what the audit record shows), whatever form named it -- also the
// operations that take a key id or ARN only, for which an alias is refused
// either way -- and nothing changes.
TEST_F(NameFormsTest, KmsKeysOfEveryNameFormAreRefused) {
  json created = Admin(*kms_, "CreateKey", {{"Tags", {{{"TagKey", "env"}, {"TagValue", "prod"}}}}});
  std::string key_id = created["KeyMetadata"]["KeyId"];
  std::string key_arn = created["KeyMetadata"]["Arn"];
  Admin(*kms_, "CreateAlias", {{"AliasName", "alias/prod"}, {"TargetKeyId", key_id}});
  std::string blob =
      Admin(*kms_, "Encrypt", {{"KeyId", key_id}, {"Plaintext", "aGVsbG8="}})["CiphertextBlob"];
  std::string other_id = Admin(*kms_, "CreateKey", json::object())["KeyMetadata"]["KeyId"];
  const std::vector<std::string> forms = {key_id, key_arn, "alias/prod",
                                          "arn:aws:kms:us-east-1:000000000000:alias/prod"};
  std::vector<std::pair<std::string, std::function<json(const std::string&)>>> ops = {
      {"DescribeKey", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"Encrypt", [](const std::string& k) { return json{{"KeyId", k}, {"Plaintext", "aGk="}}; }},
      {"GenerateDataKey",
       [](const std::string& k) { return json{{"KeyId", k}, {"KeySpec", "AES_256"}}; }},
      {"GenerateDataKeyWithoutPlaintext",
       [](const std::string& k) { return json{{"KeyId", k}, {"NumberOfBytes", 16}}; }},
      {"Decrypt", [&](const std::string& k) { return json{{"CiphertextBlob", blob}, {"KeyId", k}}; }},
      {"EnableKey", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"DisableKey", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"EnableKeyRotation", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"DisableKeyRotation", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"GetKeyRotationStatus", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"RotateKeyOnDemand", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"ScheduleKeyDeletion", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"CancelKeyDeletion", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"TagResource",
       [](const std::string& k) {
         return json{{"KeyId", k}, {"Tags", {{{"TagKey", "env"}, {"TagValue", "dev"}}}}};
       }},
      {"UntagResource",
       [](const std::string& k) { return json{{"KeyId", k}, {"TagKeys", {"env"}}}; }},
      {"ListResourceTags", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"GetKeyPolicy", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"PutKeyPolicy",
       [](const std::string& k) {
         return json{{"KeyId", k},
                     {"Policy", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                                R"("Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]})"}};
       }},
      {"ListKeyPolicies", [](const std::string& k) { return json{{"KeyId", k}}; }},
      {"CreateAlias",
       [](const std::string& k) { return json{{"AliasName", "alias/new"}, {"TargetKeyId", k}}; }},
      {"UpdateAlias",
       [](const std::string& k) { return json{{"AliasName", "alias/prod"}, {"TargetKeyId", k}}; }},
  };
  for (const NamedPolicy& deny : KmsDenies(key_arn)) {
    for (const auto& [op, body] : ops) {
      for (const std::string& form : forms) {
        std::string what = deny.label + " / " + op + " / " + form;
        Outcome o = AsUser(*kms_, op, body(form), deny.document);
        ASSERT_FALSE(o.result.has_value()) << what << " was allowed";
        EXPECT_EQ(WireCode(*kms_, o), "AccessDeniedException") << what << ": "
                                                               << o.result.error().message;
        EXPECT_EQ(o.decision, "explicit-deny") << what;
        EXPECT_EQ(o.resource, key_arn) << what;
      }
    }
    // ReEncrypt to the denied key from another one: refused on the key.
    std::string other_blob =
        Admin(*kms_, "Encrypt", {{"KeyId", other_id}, {"Plaintext", "aGk="}})["CiphertextBlob"];
    for (const std::string& form : forms) {
      Outcome o = AsUser(*kms_, "ReEncrypt",
                         {{"CiphertextBlob", other_blob}, {"DestinationKeyId", form}},
                         deny.document);
      ASSERT_FALSE(o.result.has_value()) << deny.label << " / ReEncrypt / " << form;
      EXPECT_EQ(o.resource, key_arn);
    }
  }
  // Nothing changed: enabled, tagged env=prod, no rotation, alias on the key.
  json described = Admin(*kms_, "DescribeKey", {{"KeyId", key_id}});
  EXPECT_EQ(described["KeyMetadata"]["KeyState"], "Enabled");
  json tags = Admin(*kms_, "ListResourceTags", {{"KeyId", key_id}});
  ASSERT_EQ(tags["Tags"].size(), 1u);
  EXPECT_EQ(tags["Tags"][0]["TagValue"], "prod");
  EXPECT_EQ(Admin(*kms_, "GetKeyRotationStatus", {{"KeyId", key_id}})["KeyRotationEnabled"], false);
  EXPECT_EQ(Admin(*kms_, "DescribeKey", {{"KeyId", "alias/prod"}})["KeyMetadata"]["KeyId"], key_id);
  EXPECT_FALSE(CallService(*kms_, "DescribeKey", json{{"KeyId", "alias/new"}}).has_value());
}

// The same policies leave another key alone (the Deny is about this key).
TEST_F(NameFormsTest, KmsDenyOfOneKeyLeavesOthersAllowed) {
  json created = Admin(*kms_, "CreateKey", {{"Tags", {{{"TagKey", "env"}, {"TagValue", "prod"}}}}});
  std::string key_arn = created["KeyMetadata"]["Arn"];
  std::string other = Admin(*kms_, "CreateKey", json::object())["KeyMetadata"]["KeyId"];
  for (const NamedPolicy& deny : KmsDenies(key_arn)) {
    Outcome o = AsUser(*kms_, "Encrypt", {{"KeyId", other}, {"Plaintext", "aGk="}}, deny.document);
    EXPECT_TRUE(o.result.has_value()) << deny.label << ": "
                                      << (o.result ? "" : o.result.error().message);
  }
}

}  // namespace
}  // namespace coffer::api::awsjson
