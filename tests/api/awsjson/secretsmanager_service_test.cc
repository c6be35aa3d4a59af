#include "api/awsjson/secretsmanager_service.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "api/awsjson/errors.h"
#include "domain/kms/key_directory.h"
#include "domain/secrets/secret_store.h"
#include "keyring/keyring.h"
#include "storage/memory/memory_backend.h"
#include "util/encoding.h"
#include "util/id_generator.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

using nlohmann::json;

constexpr char kTokenA[] = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
constexpr char kTokenB[] = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
constexpr char kCanary[] = "canary-7f3a9c-secret-value";

class SecretsManagerServiceTest : public ::testing::Test {
 protected:
  SecretsManagerServiceTest() : clock_(util::FromUnixMillis(1'800'000'000'500)) {}

  void SetUp() override {
    auto k = keyring::Keyring::Open(
        backend_, keyring::RootKey::FromMaterial(SecretBytes(std::string(32, '\x07'))), clock_);
    ASSERT_TRUE(k.has_value());
    keyring_ = std::move(*k);
    keys_ = std::make_unique<domain::kms::KeyDirectory>(backend_, *keyring_, clock_, ids_,
                                                        "us-east-1", "000000000000");
    store_ = std::make_unique<domain::secrets::SecretStore>(backend_, *keyring_, *keys_, clock_,
                                                            ids_, "us-east-1", "000000000000");
    service_ = std::make_unique<SecretsManagerService>(*store_);
  }

  Result<json> Call(std::string_view op, const json& body) {
    CallContext ctx{caller_, "req-1", "127.0.0.1"};
    return service_->Call(op, body, ctx);
  }

  // The wire error code of a failed call ("" when it succeeded), checking that
  // its message never carries the canary value.
  std::string WireCode(const Result<json>& r) {
    if (r.has_value()) return "";
    EXPECT_EQ(r.error().message.find(kCanary), std::string::npos);
    return std::string(MapError("secretsmanager", r.error()).code);
  }

  storage::memory::MemoryBackend backend_;
  util::SimulatedClock clock_;
  util::SequentialIdGenerator ids_;
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<domain::kms::KeyDirectory> keys_;
  std::unique_ptr<domain::secrets::SecretStore> store_;
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
  EXPECT_EQ((*d)["RotationEnabled"], false);
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

}  // namespace
}  // namespace coffer::api::awsjson
