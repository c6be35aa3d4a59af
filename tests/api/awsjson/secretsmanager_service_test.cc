#include "api/awsjson/secretsmanager_service.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/awsjson/errors.h"
#include "auth/authorizer.h"
#include "support/json_api_fixture.h"
#include "util/encoding.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

using nlohmann::json;

constexpr char kTokenA[] = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
constexpr char kTokenB[] = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
constexpr char kCanary[] = "canary-7f3a9c-secret-value";

class SecretsManagerServiceTest : public testing::JsonApiTest {
 protected:
  SecretsManagerServiceTest() : JsonApiTest({.start = util::FromUnixMillis(1'800'000'000'500)}) {}

  void SetUp() override {
    JsonApiTest::SetUp();
    service_ = std::make_unique<SecretsManagerService>(*domain_.secrets, *domain_.keys);
  }

  Result<json> Call(std::string_view op, const json& body) {
    return CallService(*service_, op, body, caller_);
  }

  // The wire error code of a failed call ("" when it succeeded), checking that
  // its message never carries the canary value.
  std::string WireCode(const Result<json>& r) {
    if (r.has_value()) return "";
    EXPECT_EQ(r.error().message.find(kCanary), std::string::npos);
    return std::string(MapError("secretsmanager", r.error()).code);
  }

  util::SimulatedClock& clock_ = domain_.clock;
  std::unique_ptr<SecretsManagerService> service_;
  auth::Authenticated caller_;
};

// CreateSecret then GetSecretValue return botocore's member names and epoch timestamps.
TEST_F(SecretsManagerServiceTest, CreateAndGetShapes) {
  auto created = Call("CreateSecret", {{"Name", "app/db"},
                                       {"SecretString", kCanary},
                                       {"ClientRequestToken", kTokenA},
                                       {"Tags", json::array({{{"Key", "env"}, {"Value", "p"}}})}});
  ASSERT_TRUE(created.has_value());
  EXPECT_TRUE((*created)["ARN"].get<std::string>().starts_with(
      "arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-"));
  EXPECT_EQ((*created)["Name"], "app/db");
  EXPECT_EQ((*created)["VersionId"], kTokenA);
  auto got = Call("GetSecretValue", {{"SecretId", "app/db"}});
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE((*got)["SecretString"] == kCanary);
  EXPECT_FALSE(got->contains("SecretBinary"));
  EXPECT_EQ((*got)["VersionStages"], json::array({"AWSCURRENT"}));
  EXPECT_TRUE((*got)["CreatedDate"].is_number_float());
  EXPECT_DOUBLE_EQ((*got)["CreatedDate"].get<double>(), 1800000000.5);
}

// SecretBinary travels as base64 both ways.
TEST_F(SecretsManagerServiceTest, BinaryIsBase64) {
  std::string raw("\x00\xffhi", 4);
  ASSERT_TRUE(
      Call("CreateSecret", {{"Name", "b"}, {"SecretBinary", util::Base64Encode(raw)}}).has_value());
  auto got = Call("GetSecretValue", {{"SecretId", "b"}});
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ((*got)["SecretBinary"], util::Base64Encode(raw));
  EXPECT_FALSE(got->contains("SecretString"));
  EXPECT_EQ(WireCode(Call("CreateSecret", {{"Name", "c"}, {"SecretBinary", "%%%"}})),
            "SerializationException");
  EXPECT_EQ(WireCode(Call("CreateSecret",
                          {{"Name", "c"}, {"SecretBinary", "aGk="}, {"SecretString", "x"}})),
            "InvalidParameterException");
}

// The error codes clients match on, without the value in any message.
TEST_F(SecretsManagerServiceTest, ErrorCodes) {
  ASSERT_TRUE(Call("CreateSecret",
                   {{"Name", "s"}, {"SecretString", kCanary}, {"ClientRequestToken", kTokenA}})
                  .has_value());
  EXPECT_EQ(WireCode(Call("GetSecretValue", {{"SecretId", "missing"}})),
            "ResourceNotFoundException");
  auto missing = Call("GetSecretValue", {{"SecretId", "missing"}});
  EXPECT_EQ(missing.error().message, "Secrets Manager can't find the specified secret.");
  EXPECT_TRUE(MapError("secretsmanager", missing.error()).capital_message);
  EXPECT_EQ(MapError("secretsmanager", missing.error()).status, 400);
  EXPECT_EQ(WireCode(Call("CreateSecret", {{"Name", "s"}, {"SecretString", "x"}})),
            "ResourceExistsException");
  EXPECT_EQ(WireCode(Call(
                "PutSecretValue",
                {{"SecretId", "s"}, {"SecretString", "other"}, {"ClientRequestToken", kTokenA}})),
            "ResourceExistsException");
  EXPECT_EQ(WireCode(Call("PutSecretValue",
                          {{"SecretId", "s"}, {"SecretString", std::string(65537, 'x')}})),
            "ValidationException");
  EXPECT_EQ(WireCode(Call("PutSecretValue", {{"SecretId", "s"}})), "InvalidParameterException");
  EXPECT_EQ(WireCode(Call("DeleteSecret", {{"SecretId", "s"}, {"RecoveryWindowInDays", 3}})),
            "InvalidParameterException");
  EXPECT_EQ(WireCode(Call("RotateSecret", {{"SecretId", "s"}})), "InvalidRequestException");
  EXPECT_EQ(WireCode(Call("ListSecrets", {{"NextToken", "garbage"}})), "InvalidNextTokenException");
  EXPECT_EQ(WireCode(Call("ListSecrets", {{"SortOrder", "up"}})), "ValidationException");
  EXPECT_EQ(WireCode(Call("GetSecretValue", {{"SecretId", 5}})), "SerializationException");
  EXPECT_EQ(WireCode(Call("NoSuchOperation", json::object())), "UnknownOperationException");
}

// A pending-deletion secret: InvalidRequestException on reads, DeletedDate on Describe.
TEST_F(SecretsManagerServiceTest, DeletionAndRestore) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "s"}, {"SecretString", "v"}}).has_value());
  auto del = Call("DeleteSecret", {{"SecretId", "s"}, {"RecoveryWindowInDays", 7}});
  ASSERT_TRUE(del.has_value());
  EXPECT_DOUBLE_EQ((*del)["DeletionDate"].get<double>(), 1800000000.5 + 7 * 86400);
  EXPECT_EQ(WireCode(Call("GetSecretValue", {{"SecretId", "s"}})), "InvalidRequestException");
  auto d = Call("DescribeSecret", {{"SecretId", "s"}});
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->contains("DeletedDate"));
  auto list = Call("ListSecrets", json::object());
  ASSERT_TRUE(list.has_value());
  EXPECT_TRUE((*list)["SecretList"].empty());
  ASSERT_TRUE(Call("RestoreSecret", {{"SecretId", "s"}}).has_value());
  EXPECT_EQ(WireCode(Call("GetSecretValue", {{"SecretId", "s"}})), "");
}

// DescribeSecret uses VersionIdsToStages; ListSecrets entries use SecretVersionsToStages.
TEST_F(SecretsManagerServiceTest, DescribeAndListShapes) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "s"},
                                    {"Description", "d"},
                                    {"SecretString", "v"},
                                    {"ClientRequestToken", kTokenA}})
                  .has_value());
  auto d = Call("DescribeSecret", {{"SecretId", "s"}});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ((*d)["VersionIdsToStages"][kTokenA], json::array({"AWSCURRENT"}));
  EXPECT_EQ((*d)["Description"], "d");
  EXPECT_FALSE(d->contains("RotationEnabled"));  // never configured: absent, as on AWS
  EXPECT_TRUE((*d)["LastChangedDate"].is_number());
  EXPECT_TRUE((*d)["CreatedDate"].is_number());
  EXPECT_FALSE(d->contains("DeletedDate"));
  auto list =
      Call("ListSecrets", {{"Filters", json::array({{{"Key", "name"}, {"Values", {"s"}}}})}});
  ASSERT_TRUE(list.has_value());
  ASSERT_EQ((*list)["SecretList"].size(), 1u);
  const json& entry = (*list)["SecretList"][0];
  EXPECT_EQ(entry["SecretVersionsToStages"][kTokenA], json::array({"AWSCURRENT"}));
  EXPECT_FALSE(entry.contains("VersionIdsToStages"));
  auto versions = Call("ListSecretVersionIds", {{"SecretId", "s"}});
  ASSERT_TRUE(versions.has_value());
  EXPECT_EQ((*versions)["Versions"][0]["VersionId"], kTokenA);
  EXPECT_EQ((*versions)["Versions"][0]["KmsKeyIds"], json::array({"DEFAULT"}));
  EXPECT_EQ((*versions)["Name"], "s");
}

// The rotation calls of the AWS template, as JSON.
TEST_F(SecretsManagerServiceTest, RotationCalls) {
  ASSERT_TRUE(Call("CreateSecret",
                   {{"Name", "db"}, {"SecretString", "old"}, {"ClientRequestToken", kTokenA}})
                  .has_value());
  auto rot = Call("RotateSecret", {{"SecretId", "db"},
                                   {"ClientRequestToken", kTokenB},
                                   {"RotationLambdaARN", "/usr/local/bin/hook"},
                                   {"RotationRules", {{"ScheduleExpression", "rate(10 days)"}}}});
  ASSERT_TRUE(rot.has_value());
  EXPECT_EQ((*rot)["VersionId"], kTokenB);
  EXPECT_EQ(
      WireCode(Call("GetSecretValue",
                    {{"SecretId", "db"}, {"VersionId", kTokenB}, {"VersionStage", "AWSPENDING"}})),
      "ResourceNotFoundException");
  auto put = Call("PutSecretValue", {{"SecretId", "db"},
                                     {"ClientRequestToken", kTokenB},
                                     {"SecretString", "new"},
                                     {"VersionStages", {"AWSPENDING"}}});
  ASSERT_TRUE(put.has_value());
  EXPECT_EQ((*put)["VersionStages"], json::array({"AWSPENDING"}));
  EXPECT_EQ(WireCode(Call("UpdateSecretVersionStage", {{"SecretId", "db"},
                                                       {"VersionStage", "AWSCURRENT"},
                                                       {"MoveToVersionId", kTokenB}})),
            "InvalidParameterException");
  ASSERT_TRUE(Call("UpdateSecretVersionStage", {{"SecretId", "db"},
                                                {"VersionStage", "AWSCURRENT"},
                                                {"MoveToVersionId", kTokenB},
                                                {"RemoveFromVersionId", kTokenA}})
                  .has_value());
  auto d = Call("DescribeSecret", {{"SecretId", "db"}});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ((*d)["RotationEnabled"], true);
  EXPECT_EQ((*d)["RotationLambdaARN"], "/usr/local/bin/hook");
  EXPECT_EQ((*d)["RotationRules"]["ScheduleExpression"], "rate(10 days)");
  EXPECT_TRUE((*d)["NextRotationDate"].is_number());
  EXPECT_EQ((*d)["VersionIdsToStages"][kTokenA], json::array({"AWSPREVIOUS"}));
  auto cancel = Call("CancelRotateSecret", {{"SecretId", "db"}});
  ASSERT_TRUE(cancel.has_value());
  EXPECT_EQ((*cancel)["Name"], "db");
}

// BatchGetSecretValue reports per-secret errors in Errors, not as a failure.
TEST_F(SecretsManagerServiceTest, BatchGetErrorsList) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "a"}, {"SecretString", "va"}}).has_value());
  auto r = Call("BatchGetSecretValue", {{"SecretIdList", {"a", "zzz"}}});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ((*r)["SecretValues"].size(), 1u);
  EXPECT_EQ((*r)["SecretValues"][0]["Name"], "a");
  ASSERT_EQ((*r)["Errors"].size(), 1u);
  EXPECT_EQ((*r)["Errors"][0]["SecretId"], "zzz");
  EXPECT_EQ((*r)["Errors"][0]["ErrorCode"], "ResourceNotFoundException");
  EXPECT_EQ(WireCode(Call("BatchGetSecretValue", json::object())), "InvalidParameterException");
}

// Tags, untag and GetRandomPassword.
TEST_F(SecretsManagerServiceTest, TagsAndRandomPassword) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "t"}, {"SecretString", "v"}}).has_value());
  auto tagged = Call("TagResource",
                     {{"SecretId", "t"}, {"Tags", json::array({{{"Key", "k"}, {"Value", "v"}}})}});
  ASSERT_TRUE(tagged.has_value());
  EXPECT_EQ(*tagged, json::object());
  EXPECT_EQ(
      WireCode(Call("TagResource", {{"SecretId", "t"},
                                    {"Tags", json::array({{{"Key", "aws:x"}, {"Value", "v"}}})}})),
      "InvalidParameterException");
  ASSERT_TRUE(Call("UntagResource", {{"SecretId", "t"}, {"TagKeys", {"k"}}}).has_value());
  auto d = Call("DescribeSecret", {{"SecretId", "t"}});
  EXPECT_TRUE((*d)["Tags"].empty());
  auto pw = Call("GetRandomPassword", {{"PasswordLength", 20}, {"ExcludePunctuation", true}});
  ASSERT_TRUE(pw.has_value());
  EXPECT_EQ((*pw)["RandomPassword"].get<std::string>().size(), 20u);
  EXPECT_EQ(WireCode(Call("GetRandomPassword", {{"PasswordLength", 0}})), "ValidationException");
}

constexpr char kBobArn[] = "arn:aws:iam::000000000000:user/bob";

std::string PolicyFor(std::string_view effect, std::string_view principal) {
  return json{{"Version", "2012-10-17"},
              {"Statement", json::array({{{"Sid", "S"},
                                          {"Effect", effect},
                                          {"Principal", {{"AWS", principal}}},
                                          {"Action", "secretsmanager:GetSecretValue"},
                                          {"Resource", "*"}}})}}
      .dump();
}

// Put/Get/DeleteResourcePolicy answer botocore's shapes; the document comes
// back verbatim and is gone after the delete.
TEST_F(SecretsManagerServiceTest, ResourcePolicyShapes) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "rp"}, {"SecretString", kCanary}}).has_value());
  std::string doc = PolicyFor("Allow", kBobArn);
  auto put = Call("PutResourcePolicy", {{"SecretId", "rp"}, {"ResourcePolicy", doc}});
  ASSERT_TRUE(put.has_value());
  EXPECT_EQ(put->size(), 2u);
  EXPECT_EQ((*put)["Name"], "rp");
  EXPECT_TRUE((*put)["ARN"].get<std::string>().starts_with(
      "arn:aws:secretsmanager:us-east-1:000000000000:secret:rp-"));
  auto got = Call("GetResourcePolicy", {{"SecretId", (*put)["ARN"]}});
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ((*got)["ResourcePolicy"], doc);
  EXPECT_EQ((*got)["Name"], "rp");
  auto deleted = Call("DeleteResourcePolicy", {{"SecretId", "rp"}});
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(*deleted, *put);
  got = Call("GetResourcePolicy", {{"SecretId", "rp"}});
  ASSERT_TRUE(got.has_value());
  EXPECT_FALSE(got->contains("ResourcePolicy"));
  EXPECT_EQ(WireCode(Call("GetResourcePolicy", {{"SecretId", "missing"}})),
            "ResourceNotFoundException");
}

// Bad documents are refused before anything is stored.
TEST_F(SecretsManagerServiceTest, ResourcePolicyValidation) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "rv"}, {"SecretString", "v"}}).has_value());
  for (std::string_view doc :
       {std::string_view("{not json"),
        std::string_view(
            R"({"Statement":[{"Effect":"Allow","Action":"secretsmanager:*","Resource":"*"}]})"),
        std::string_view(
            R"({"Statement":[{"Effect":"Permit","Principal":"*","Action":"x:y"}]})")}) {
    EXPECT_EQ(WireCode(Call("PutResourcePolicy", {{"SecretId", "rv"}, {"ResourcePolicy", doc}})),
              "MalformedPolicyDocumentException")
        << doc;
  }
  EXPECT_EQ(WireCode(Call("PutResourcePolicy", {{"SecretId", "rv"}, {"ResourcePolicy", ""}})),
            "ValidationException");
  std::string open = PolicyFor("Allow", "*");
  EXPECT_EQ(
      WireCode(Call("PutResourcePolicy",
                    {{"SecretId", "rv"}, {"ResourcePolicy", open}, {"BlockPublicPolicy", true}})),
      "PublicPolicyException");
  EXPECT_FALSE(Call("GetResourcePolicy", {{"SecretId", "rv"}})->contains("ResourcePolicy"));
  EXPECT_TRUE(
      Call("PutResourcePolicy", {{"SecretId", "rv"}, {"ResourcePolicy", open}}).has_value());
  EXPECT_EQ(WireCode(Call("PutResourcePolicy", {{"SecretId", "missing"},
                                                {"ResourcePolicy", PolicyFor("Allow", kBobArn)}})),
            "ResourceNotFoundException");

  auto ok = Call("ValidateResourcePolicy", {{"ResourcePolicy", PolicyFor("Allow", kBobArn)}});
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(*ok, json({{"PolicyValidationPassed", true}, {"ValidationErrors", json::array()}}));
  auto broad = Call("ValidateResourcePolicy", {{"SecretId", "rv"}, {"ResourcePolicy", open}});
  ASSERT_TRUE(broad.has_value());
  EXPECT_EQ((*broad)["PolicyValidationPassed"], false);
  EXPECT_EQ((*broad)["ValidationErrors"][0]["CheckName"], "BROAD_ACCESS");
  EXPECT_EQ(WireCode(Call("ValidateResourcePolicy", {{"ResourcePolicy", "[]"}})),
            "MalformedPolicyDocumentException");
  EXPECT_EQ(
      WireCode(Call("ValidateResourcePolicy", {{"SecretId", "missing"}, {"ResourcePolicy", open}})),
      "ResourceNotFoundException");
}

class SecretsManagerAuthorizationTest : public SecretsManagerServiceTest {
 protected:
  SecretsManagerAuthorizationTest() {
    bob_.principal.arn = kBobArn;
    bob_.principal.user_name = "bob";
    bob_.principal.user_id = "AIDABOB";
    bob_.principal.account_id = "000000000000";
    bob_.principal.access_key_id = "AKIABOB";
    bob_.scope.region = "us-east-1";
  }

  // A call by bob with `identity` as his identity policies (none when empty).
  Result<json> CallAsBob(std::string_view op, const json& body, std::string identity = "") {
    std::vector<auth::PolicyText> texts;
    if (!identity.empty()) texts.push_back({"bob-inline", std::move(identity)});
    auth::RequestAuthorization authz(bob_.principal,
                                     identities_.Get("user/bob", ++generation_, texts), "127.0.0.1",
                                     false, clock_.Now());
    return CallService(*service_, op, body, bob_, &authz, "req-2");
  }

  auth::Authenticated bob_;
  auth::PolicyCache identities_;
  uint64_t generation_ = 0;
};

constexpr char kReadAll[] = R"({"Statement":[{"Effect":"Allow","Action":"secretsmanager:*",
    "Resource":"*"}]})";

// A resource policy alone lets a user without identity policies read the
// secret; deleting it takes effect on the next call.
TEST_F(SecretsManagerAuthorizationTest, ResourcePolicyGrantsAndItsDeletionRevokes) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "shared"}, {"SecretString", kCanary}}).has_value());
  EXPECT_EQ(WireCode(CallAsBob("GetSecretValue", {{"SecretId", "shared"}})),
            "AccessDeniedException");
  ASSERT_TRUE(Call("PutResourcePolicy",
                   {{"SecretId", "shared"}, {"ResourcePolicy", PolicyFor("Allow", kBobArn)}})
                  .has_value());
  auto got = CallAsBob("GetSecretValue", {{"SecretId", "shared"}});
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE((*got)["SecretString"] == kCanary);
  // Only the action the policy names.
  EXPECT_EQ(WireCode(CallAsBob("DescribeSecret", {{"SecretId", "shared"}})),
            "AccessDeniedException");
  ASSERT_TRUE(Call("DeleteResourcePolicy", {{"SecretId", "shared"}}).has_value());
  EXPECT_EQ(WireCode(CallAsBob("GetSecretValue", {{"SecretId", "shared"}})),
            "AccessDeniedException");
}

// An explicit Deny in the resource policy beats bob's identity Allow, also
// inside BatchGetSecretValue.
TEST_F(SecretsManagerAuthorizationTest, ResourcePolicyDenyBeatsIdentityAllow) {
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "locked"}, {"SecretString", kCanary}}).has_value());
  ASSERT_TRUE(Call("CreateSecret", {{"Name", "open"}, {"SecretString", "o"}}).has_value());
  ASSERT_TRUE(CallAsBob("GetSecretValue", {{"SecretId", "locked"}}, kReadAll).has_value());
  ASSERT_TRUE(Call("PutResourcePolicy",
                   {{"SecretId", "locked"}, {"ResourcePolicy", PolicyFor("Deny", kBobArn)}})
                  .has_value());
  auto denied = CallAsBob("GetSecretValue", {{"SecretId", "locked"}}, kReadAll);
  EXPECT_EQ(WireCode(denied), "AccessDeniedException");
  EXPECT_NE(denied.error().message.find("explicit deny in a resource-based policy"),
            std::string::npos);
  EXPECT_EQ(WireCode(CallAsBob("BatchGetSecretValue",
                               {{"SecretIdList", json::array({"open", "locked"})}}, kReadAll)),
            "AccessDeniedException");
  // By filters: the readable secret comes back, the other one is an error entry.
  auto batch =
      CallAsBob("BatchGetSecretValue",
                {{"Filters", json::array({{{"Key", "name"}, {"Values", {""}}}})}}, kReadAll);
  ASSERT_TRUE(batch.has_value()) << batch.error().message;
  ASSERT_EQ((*batch)["SecretValues"].size(), 1u);
  EXPECT_EQ((*batch)["SecretValues"][0]["Name"], "open");
  ASSERT_EQ((*batch)["Errors"].size(), 1u);
  EXPECT_EQ((*batch)["Errors"][0]["ErrorCode"], "AccessDeniedException");
  EXPECT_EQ(batch->dump().find(kCanary), std::string::npos);
  // The resource policy also guards the policy calls themselves.
  EXPECT_TRUE(CallAsBob("GetResourcePolicy", {{"SecretId", "locked"}}, kReadAll).has_value());
}

}  // namespace
}  // namespace coffer::api::awsjson
