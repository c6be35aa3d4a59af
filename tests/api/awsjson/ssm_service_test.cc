// SsmService at the API level: botocore's member names in and out for every
// operation, errors through the SSM rows of the error table, and no error
// message carrying a parameter's value. Over the real ParameterStore,
// KeyDirectory, Keyring and MemoryBackend (support/json_api_fixture.h); every
// call goes through the fixture's one CallService().
#include "api/awsjson/ssm_service.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "api/awsjson/errors.h"
#include "support/json_api_fixture.h"
#include "util/time.h"

namespace coffer::api::awsjson {
namespace {

using nlohmann::json;

constexpr char kCanary[] = "canary-ssm-api-4b1e-value";
constexpr char kArnPrefix[] = "arn:aws:ssm:us-east-1:000000000000:parameter";

class SsmServiceTest : public testing::JsonApiTest {
 protected:
  SsmServiceTest() : JsonApiTest({.start = util::FromUnixMillis(1'800'000'000'000)}) {}

  void SetUp() override {
    JsonApiTest::SetUp();
    service_ = std::make_unique<SsmService>(*domain_.parameters);
  }

  Result<json> Call(std::string_view op, const json& body) {
    return CallService(*service_, op, body);
  }

  json Ok(std::string_view op, const json& body) {
    auto r = Call(op, body);
    EXPECT_TRUE(r.has_value()) << op << ": " << (r.has_value() ? "" : r.error().message);
    return r.value_or(json::object());
  }

  // The wire error code the call's failure maps to ("" on success), checking
  // that its message never carries the canary value.
  std::string WireCode(std::string_view op, const json& body) {
    auto r = Call(op, body);
    if (r.has_value()) return "";
    EXPECT_EQ(r.error().message.find(kCanary), std::string::npos) << op;
    return std::string(MapError("ssm", r.error()).code);
  }

  void Put(const std::string& name, const std::string& value, const std::string& type = "String",
           json extra = json::object()) {
    json body = {{"Name", name}, {"Value", value}, {"Type", type}};
    for (auto& [k, v] : extra.items()) body[k] = v;
    Ok("PutParameter", body);
  }

  static std::set<std::string> Names(const json& list) {
    std::set<std::string> out;
    for (const json& p : list) out.insert(p["Name"].get<std::string>());
    return out;
  }

  std::unique_ptr<SsmService> service_;
};

// PutParameter answers Version and Tier; a second put without Overwrite is
// ParameterAlreadyExists, with it the version goes up.
TEST_F(SsmServiceTest, PutParameterShapesAndOverwrite) {
  json first = Ok("PutParameter", {{"Name", "/app/db"}, {"Value", kCanary}, {"Type", "String"}});
  EXPECT_EQ(first["Version"], 1);
  EXPECT_EQ(first["Tier"], "Standard");
  EXPECT_EQ(first.size(), 2u);
  EXPECT_EQ(WireCode("PutParameter", {{"Name", "/app/db"}, {"Value", kCanary}, {"Type", "String"}}),
            "ParameterAlreadyExists");
  json second =
      Ok("PutParameter",
         {{"Name", "/app/db"}, {"Value", std::string(kCanary) + "-2"}, {"Overwrite", true}});
  EXPECT_EQ(second["Version"], 2);
}

// Field errors are ValidationException; the message names the member, never the value.
TEST_F(SsmServiceTest, PutParameterValidation) {
  EXPECT_EQ(WireCode("PutParameter", {{"Value", kCanary}, {"Type", "String"}}),
            "ValidationException");
  EXPECT_EQ(WireCode("PutParameter", {{"Name", "/v"}, {"Value", kCanary}, {"Type", "Secret"}}),
            "ValidationException");
  EXPECT_EQ(WireCode("PutParameter",
                     {{"Name", "/v"}, {"Value", kCanary}, {"Type", "String"}, {"Tier", "Huge"}}),
            "ValidationException");
  EXPECT_EQ(WireCode("PutParameter",
                     {{"Name", "/v"}, {"Value", kCanary}, {"Type", "String"}, {"Policies", "[]"}}),
            "ValidationException");
  EXPECT_EQ(WireCode("PutParameter", {{"Name", "/v"}, {"Value", kCanary}, {"Type", 7}}),
            "SerializationException");
  // A value that breaks AllowedPattern is refused without echoing it.
  EXPECT_EQ(
      WireCode(
          "PutParameter",
          {{"Name", "/v"}, {"Value", kCanary}, {"Type", "String"}, {"AllowedPattern", "^[0-9]+$"}}),
      "ParameterPatternMismatchException");
  EXPECT_EQ(WireCode("GetParameter", {{"Name", "/v"}}), "ParameterNotFound");
}

// GetParameter returns the full Parameter shape; SecureString values are
// ciphertext unless WithDecryption; selectors by version and label.
TEST_F(SsmServiceTest, GetParameterShapesAndSelectors) {
  Put("/app/plain", kCanary);
  json got = Ok("GetParameter", {{"Name", "/app/plain"}});
  const json& p = got["Parameter"];
  EXPECT_EQ(p["Name"], "/app/plain");
  EXPECT_EQ(p["Type"], "String");
  EXPECT_EQ(p["Value"], kCanary);
  EXPECT_EQ(p["Version"], 1);
  EXPECT_EQ(p["ARN"], std::string(kArnPrefix) + "/app/plain");
  EXPECT_EQ(p["DataType"], "text");
  EXPECT_TRUE(p["LastModifiedDate"].is_number());
  EXPECT_FALSE(p.contains("Selector"));

  Put("/app/secure", kCanary, "SecureString");
  json sealed = Ok("GetParameter", {{"Name", "/app/secure"}});
  EXPECT_NE(sealed["Parameter"]["Value"], kCanary);
  json opened = Ok("GetParameter", {{"Name", "/app/secure"}, {"WithDecryption", true}});
  EXPECT_EQ(opened["Parameter"]["Value"], kCanary);
  EXPECT_EQ(opened["Parameter"]["Type"], "SecureString");

  Ok("PutParameter", {{"Name", "/app/plain"}, {"Value", "v2"}, {"Overwrite", true}});
  json v1 = Ok("GetParameter", {{"Name", "/app/plain:1"}});
  EXPECT_EQ(v1["Parameter"]["Value"], kCanary);
  EXPECT_EQ(v1["Parameter"]["Selector"], ":1");
  EXPECT_EQ(v1["Parameter"]["Name"], "/app/plain");
  json by_arn = Ok("GetParameter", {{"Name", std::string(kArnPrefix) + "/app/plain"}});
  EXPECT_EQ(by_arn["Parameter"]["Version"], 2);
  EXPECT_EQ(WireCode("GetParameter", {{"Name", "/app/plain:9"}}), "ParameterVersionNotFound");
  EXPECT_EQ(WireCode("GetParameter", {{"Name", "/app/absent"}}), "ParameterNotFound");
  EXPECT_EQ(WireCode("GetParameter", {{"Name", ""}}), "ValidationException");
}

// GetParameters: found ones in Parameters, the rest in InvalidParameters as sent.
TEST_F(SsmServiceTest, GetParametersSplitsFoundAndInvalid) {
  Put("/g/a", kCanary);
  Put("/g/b", "b");
  json got = Ok("GetParameters", {{"Names", {"/g/a", "/g/b", "/g/missing"}}});
  EXPECT_EQ(Names(got["Parameters"]), (std::set<std::string>{"/g/a", "/g/b"}));
  EXPECT_EQ(got["InvalidParameters"], json({"/g/missing"}));
  EXPECT_EQ(WireCode("GetParameters", {{"Names", json::array()}}), "ValidationException");
  std::vector<std::string> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back("/g/" + std::to_string(i));
  EXPECT_EQ(WireCode("GetParameters", {{"Names", eleven}}), "ValidationException");
}

// GetParametersByPath: one level or recursive, ParameterFilters, paging.
TEST_F(SsmServiceTest, GetParametersByPathLevelsFiltersAndPaging) {
  Put("/p/a", "1");
  Put("/p/b", "2", "StringList");
  Put("/p/deep/c", kCanary);
  Put("/other/d", "4");
  json one = Ok("GetParametersByPath", {{"Path", "/p"}});
  EXPECT_EQ(Names(one["Parameters"]), (std::set<std::string>{"/p/a", "/p/b"}));
  json all = Ok("GetParametersByPath", {{"Path", "/p"}, {"Recursive", true}});
  EXPECT_EQ(Names(all["Parameters"]), (std::set<std::string>{"/p/a", "/p/b", "/p/deep/c"}));
  json typed = Ok("GetParametersByPath",
                  {{"Path", "/p"},
                   {"Recursive", true},
                   {"ParameterFilters", {{{"Key", "Type"}, {"Values", {"StringList"}}}}}});
  EXPECT_EQ(Names(typed["Parameters"]), (std::set<std::string>{"/p/b"}));

  json page = Ok("GetParametersByPath", {{"Path", "/p"}, {"Recursive", true}, {"MaxResults", 2}});
  ASSERT_EQ(page["Parameters"].size(), 2u);
  ASSERT_TRUE(page.contains("NextToken"));
  json rest = Ok(
      "GetParametersByPath",
      {{"Path", "/p"}, {"Recursive", true}, {"MaxResults", 2}, {"NextToken", page["NextToken"]}});
  std::set<std::string> seen = Names(page["Parameters"]);
  for (const std::string& n : Names(rest["Parameters"])) seen.insert(n);
  EXPECT_EQ(seen, (std::set<std::string>{"/p/a", "/p/b", "/p/deep/c"}));

  EXPECT_EQ(WireCode("GetParametersByPath", {{"Path", "/p"}, {"MaxResults", 11}}),
            "ValidationException");
  EXPECT_EQ(WireCode("GetParametersByPath", {{"Path", "/p"}, {"NextToken", "garbage"}}),
            "InvalidNextToken");
}

// DeleteParameter removes one; a second delete is ParameterNotFound.
TEST_F(SsmServiceTest, DeleteParameter) {
  Put("/d/a", kCanary);
  json out = Ok("DeleteParameter", {{"Name", "/d/a"}});
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(WireCode("GetParameter", {{"Name", "/d/a"}}), "ParameterNotFound");
  EXPECT_EQ(WireCode("DeleteParameter", {{"Name", "/d/a"}}), "ParameterNotFound");
}

// DeleteParameters reports DeletedParameters and InvalidParameters.
TEST_F(SsmServiceTest, DeleteParameters) {
  Put("/d/a", "1");
  Put("/d/b", "2");
  json out = Ok("DeleteParameters", {{"Names", {"/d/a", "/d/b", "/d/none"}}});
  std::set<std::string> deleted(out["DeletedParameters"].begin(), out["DeletedParameters"].end());
  EXPECT_EQ(deleted, (std::set<std::string>{"/d/a", "/d/b"}));
  EXPECT_EQ(out["InvalidParameters"], json({"/d/none"}));
  EXPECT_EQ(WireCode("DeleteParameters", {{"Names", json::array()}}), "ValidationException");
}

// GetParameterHistory lists every version with its labels; the ARN is not a member.
TEST_F(SsmServiceTest, GetParameterHistory) {
  Put("/h/a", kCanary, "String", {{"Description", "first"}});
  Ok("PutParameter", {{"Name", "/h/a"}, {"Value", "second"}, {"Overwrite", true}});
  Ok("LabelParameterVersion", {{"Name", "/h/a"}, {"ParameterVersion", 1}, {"Labels", {"old"}}});
  json history = Ok("GetParameterHistory", {{"Name", "/h/a"}});
  ASSERT_EQ(history["Parameters"].size(), 2u);
  const json& v1 = history["Parameters"][0];
  EXPECT_EQ(v1["Name"], "/h/a");
  EXPECT_EQ(v1["Version"], 1);
  EXPECT_EQ(v1["Value"], kCanary);
  EXPECT_EQ(v1["Labels"], json({"old"}));
  EXPECT_EQ(v1["Description"], "first");
  EXPECT_FALSE(v1.contains("ARN"));
  EXPECT_EQ(history["Parameters"][1]["Version"], 2);
  EXPECT_EQ(history["Parameters"][1]["Labels"], json::array());
  EXPECT_EQ(WireCode("GetParameterHistory", {{"Name", "/h/none"}}), "ParameterNotFound");
  EXPECT_EQ(WireCode("GetParameterHistory", {{"Name", "/h/a"}, {"MaxResults", 51}}),
            "ValidationException");
}

// DescribeParameters returns metadata (never a value), filtered by
// ParameterFilters and the legacy Filters.
TEST_F(SsmServiceTest, DescribeParametersWithFilters) {
  Put("/x/a", kCanary, "String", {{"Description", "alpha"}});
  Put("/x/b", kCanary, "SecureString");
  Put("/y/c", kCanary, "StringList", {{"Tags", {{{"Key", "env"}, {"Value", "prod"}}}}});
  json all = Ok("DescribeParameters", json::object());
  ASSERT_EQ(all["Parameters"].size(), 3u);
  for (const json& m : all["Parameters"]) {
    EXPECT_FALSE(m.contains("Value")) << m["Name"];
    EXPECT_TRUE(m.contains("ARN"));
    EXPECT_TRUE(m.contains("Tier"));
    EXPECT_TRUE(m.contains("Policies"));
    EXPECT_TRUE(m.contains("Description"));
    EXPECT_EQ(m.dump().find(kCanary), std::string::npos);
  }
  auto names = [&](const json& body) {
    return Names(Ok("DescribeParameters", body)["Parameters"]);
  };
  EXPECT_EQ(names({{"ParameterFilters",
                    {{{"Key", "Name"}, {"Option", "BeginsWith"}, {"Values", {"/x"}}}}}}),
            (std::set<std::string>{"/x/a", "/x/b"}));
  EXPECT_EQ(names({{"ParameterFilters", {{{"Key", "Type"}, {"Values", {"SecureString"}}}}}}),
            (std::set<std::string>{"/x/b"}));
  EXPECT_EQ(names({{"ParameterFilters",
                    {{{"Key", "Path"}, {"Option", "Recursive"}, {"Values", {"/y"}}}}}}),
            (std::set<std::string>{"/y/c"}));
  EXPECT_EQ(names({{"ParameterFilters", {{{"Key", "tag:env"}, {"Values", {"prod"}}}}}}),
            (std::set<std::string>{"/y/c"}));
  EXPECT_EQ(names({{"Filters", {{{"Key", "Type"}, {"Values", {"String"}}}}}}),
            (std::set<std::string>{"/x/a"}));
  EXPECT_EQ(WireCode("DescribeParameters",
                     {{"ParameterFilters", {{{"Key", "Colour"}, {"Values", {"red"}}}}}}),
            "InvalidFilterKey");
  EXPECT_EQ(
      WireCode("DescribeParameters",
               {{"ParameterFilters", {{{"Key", "Name"}, {"Option", "Near"}, {"Values", {"/x"}}}}}}),
      "InvalidFilterOption");
  EXPECT_EQ(
      WireCode("DescribeParameters", {{"Filters", {{{"Key", "Tier"}, {"Values", {"Standard"}}}}}}),
      "ValidationException");
  json page = Ok("DescribeParameters", {{"MaxResults", 2}});
  EXPECT_EQ(page["Parameters"].size(), 2u);
  EXPECT_TRUE(page.contains("NextToken"));
}

// LabelParameterVersion / UnlabelParameterVersion: shapes, a label on a
// missing version, a label in GetParameter's selector.
TEST_F(SsmServiceTest, LabelAndUnlabelParameterVersion) {
  Put("/l/a", kCanary);
  Ok("PutParameter", {{"Name", "/l/a"}, {"Value", "v2"}, {"Overwrite", true}});
  json labelled = Ok("LabelParameterVersion",
                     {{"Name", "/l/a"}, {"ParameterVersion", 1}, {"Labels", {"prod"}}});
  EXPECT_EQ(labelled["ParameterVersion"], 1);
  EXPECT_EQ(labelled["InvalidLabels"], json::array());
  json by_label = Ok("GetParameter", {{"Name", "/l/a:prod"}});
  EXPECT_EQ(by_label["Parameter"]["Version"], 1);
  EXPECT_EQ(by_label["Parameter"]["Selector"], ":prod");
  // Without ParameterVersion the label goes on the latest version.
  json latest = Ok("LabelParameterVersion", {{"Name", "/l/a"}, {"Labels", {"next"}}});
  EXPECT_EQ(latest["ParameterVersion"], 2);
  // A label AWS refuses (begins with "aws") comes back in InvalidLabels.
  json invalid = Ok("LabelParameterVersion",
                    {{"Name", "/l/a"}, {"ParameterVersion", 2}, {"Labels", {"awsx"}}});
  EXPECT_EQ(invalid["InvalidLabels"], json({"awsx"}));
  EXPECT_EQ(WireCode("LabelParameterVersion",
                     {{"Name", "/l/a"}, {"ParameterVersion", 9}, {"Labels", {"x"}}}),
            "ParameterVersionNotFound");
  EXPECT_EQ(WireCode("LabelParameterVersion", {{"Name", "/l/none"}, {"Labels", {"x"}}}),
            "ParameterNotFound");
  EXPECT_EQ(WireCode("LabelParameterVersion", {{"Name", "/l/a"}, {"Labels", json::array()}}),
            "ValidationException");

  json removed = Ok("UnlabelParameterVersion",
                    {{"Name", "/l/a"}, {"ParameterVersion", 1}, {"Labels", {"prod", "absent"}}});
  EXPECT_EQ(removed["RemovedLabels"], json({"prod"}));
  EXPECT_EQ(removed["InvalidLabels"], json({"absent"}));
  // The label no longer selects anything: an unknown label is ParameterNotFound.
  EXPECT_EQ(WireCode("GetParameter", {{"Name", "/l/a:prod"}}), "ParameterNotFound");
  EXPECT_EQ(WireCode("UnlabelParameterVersion", {{"Name", "/l/a"}, {"Labels", {"next"}}}),
            "ValidationException");  // ParameterVersion is required
}

// Tags: add, list, remove; ResourceType must be Parameter; a missing
// parameter is InvalidResourceId.
TEST_F(SsmServiceTest, TagOperations) {
  Put("/t/a", kCanary);
  json added =
      Ok("AddTagsToResource",
         {{"ResourceType", "Parameter"},
          {"ResourceId", "/t/a"},
          {"Tags", {{{"Key", "env"}, {"Value", "prod"}}, {{"Key", "team"}, {"Value", "core"}}}}});
  EXPECT_TRUE(added.empty());
  json listed = Ok("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/t/a"}});
  EXPECT_EQ(listed["TagList"],
            json({{{"Key", "env"}, {"Value", "prod"}}, {{"Key", "team"}, {"Value", "core"}}}));
  Ok("RemoveTagsFromResource",
     {{"ResourceType", "Parameter"}, {"ResourceId", "/t/a"}, {"TagKeys", {"team"}}});
  listed = Ok("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/t/a"}});
  EXPECT_EQ(listed["TagList"], json({{{"Key", "env"}, {"Value", "prod"}}}));

  EXPECT_EQ(WireCode("ListTagsForResource", {{"ResourceType", "Document"}, {"ResourceId", "/t/a"}}),
            "InvalidResourceType");
  EXPECT_EQ(WireCode("ListTagsForResource", {{"ResourceType", "Bucket"}, {"ResourceId", "/t/a"}}),
            "ValidationException");
  EXPECT_EQ(
      WireCode("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/t/none"}}),
      "InvalidResourceId");
  EXPECT_EQ(WireCode("AddTagsToResource", {{"ResourceType", "Parameter"},
                                           {"ResourceId", "/t/none"},
                                           {"Tags", {{{"Key", "k"}, {"Value", "v"}}}}}),
            "InvalidResourceId");
  EXPECT_EQ(
      WireCode("AddTagsToResource",
               {{"ResourceType", "Parameter"}, {"ResourceId", "/t/a"}, {"Tags", json::array()}}),
      "ValidationException");
}

// An unknown operation, and a body member of the wrong JSON type.
TEST_F(SsmServiceTest, UnknownOperationAndWrongTypes) {
  EXPECT_FALSE(service_->HasOperation("SendCommand"));
  EXPECT_TRUE(service_->HasOperation("GetParameterHistory"));
  auto r = Call("SendCommand", json::object());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().reason, Reason::kUnknownOperation);
  EXPECT_EQ(WireCode("GetParameter", {{"Name", 5}}), "SerializationException");
  EXPECT_EQ(WireCode("GetParameters", {{"Names", "/not/a/list"}}), "SerializationException");
}

// No failure of any operation carries the value, whether the value was sent
// in the failing request or is stored under the name it names.
TEST_F(SsmServiceTest, NoErrorMessageCarriesTheValue) {
  Put("/s/a", kCanary, "SecureString");
  const std::vector<std::pair<std::string, json>> failing = {
      {"PutParameter", {{"Name", "/s/a"}, {"Value", kCanary}, {"Type", "SecureString"}}},
      {"PutParameter",
       {{"Name", "/s/b"}, {"Value", kCanary}, {"Type", "String"}, {"AllowedPattern", "^x$"}}},
      {"PutParameter",
       {{"Name", "/s/c"}, {"Value", kCanary}, {"Type", "SecureString"}, {"KeyId", "alias/none"}}},
      {"GetParameter", {{"Name", "/s/a:7"}, {"WithDecryption", true}}},
      {"GetParameterHistory", {{"Name", "/s/a"}, {"NextToken", "bad"}}},
      {"LabelParameterVersion", {{"Name", "/s/a"}, {"ParameterVersion", 3}, {"Labels", {"l"}}}},
      {"DescribeParameters",
       {{"ParameterFilters", {{{"Key", "Name"}, {"Values", json::array()}}}}}},
  };
  for (const auto& [op, body] : failing) {
    auto r = Call(op, body);
    ASSERT_FALSE(r.has_value()) << op << " " << body.dump().size();
    EXPECT_EQ(r.error().message.find(kCanary), std::string::npos) << op;
    EXPECT_NE(MapError("ssm", r.error()).code, "InternalServerError") << op;
  }
}

}  // namespace
}  // namespace coffer::api::awsjson
