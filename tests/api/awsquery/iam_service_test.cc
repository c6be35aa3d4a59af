// IamService behind QueryProtocol: signed form-encoded requests in, the XML
// that botocore parses out, over real auth, keyring and in-memory storage.
#include "api/awsquery/iam_service.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/awsquery/query_protocol.h"
#include "api/pipeline/pipeline.h"
#include "auth/authorizer.h"
#include "audit/audit.h"
#include "support/recording_audit_sink.h"
#include "auth/authenticator.h"
#include "domain/iam/identity_store.h"
#include "keyring/keyring.h"
#include "sigv4/sigv4.h"
#include "storage/memory/memory_backend.h"
#include "util/encoding.h"
#include "util/id_generator.h"
#include "util/metrics.h"
#include "util/time.h"

namespace coffer::api::awsquery {
namespace {

constexpr char kAccessKey[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kNs[] = "https://iam.amazonaws.com/doc/2010-05-08/";
constexpr char kDoc[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"}]})";
constexpr char kTrust[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity"}]})";
constexpr char kThumb[] = "6938fd4d98bab03faadb97b34396831e3780aea1";

using Params = std::vector<std::pair<std::string, std::string>>;

// The text of the first <name> element in `xml` ("" if none).
std::string Text(const std::string& xml, const std::string& name, size_t from = 0) {
  size_t open = xml.find("<" + name + ">", from);
  if (open == std::string::npos) return "";
  open += name.size() + 2;
  size_t close = xml.find("</" + name + ">", open);
  return close == std::string::npos ? "" : xml.substr(open, close - open);
}

size_t Count(const std::string& xml, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = xml.find(needle); pos != std::string::npos; pos = xml.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

class IamServiceTest : public ::testing::Test {
 protected:
  IamServiceTest() : clock_(*util::ParseAmzDate("20261128T090727Z")) {}

  void SetUp() override {
    auto kr = keyring::Keyring::Open(
        backend_, keyring::RootKey::FromMaterial(SecretBytes(std::string(32, '\x07'))), clock_);
    ASSERT_TRUE(kr.has_value());
    keyring_ = std::move(*kr);
    identities_ = std::make_unique<domain::iam::IdentityStore>(backend_, *keyring_, clock_, ids_,
                                                               "000000000000");
    ASSERT_TRUE(identities_->CreateUser("admin", true).has_value());
    ASSERT_TRUE(identities_->ImportAccessKey("admin", kAccessKey, SecretBytes(kSecret)));
    // A server in eu-west-1: its clients sign IAM for their configured region.
    authenticator_ = std::make_unique<auth::Authenticator>(*identities_, clock_, "eu-west-1");
    protocol_ = std::make_unique<QueryProtocol>();
    authorizer_ = std::make_unique<auth::Authorizer>(
        auth::Authorizer::IamPolicies(*identities_, policy_cache_), clock_);
    pipeline_ = std::make_unique<pipeline::Pipeline>(*authenticator_, *authorizer_, sink_,
                                                     metrics_, clock_);
    auto service = std::make_unique<IamService>(*identities_, "000000000000");
    service_ = service.get();
    protocol_->AddService(std::move(service));
  }

  HttpResponse Raw(const std::string& action, const Params& params, bool sign = true,
                   const std::string& access_key = kAccessKey,
                   const std::string& secret = kSecret) {
    HttpRequest r;
    r.method = "POST";
    r.path = "/";
    r.headers = {{"Host", "127.0.0.1:18777"},
                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    r.body = "Action=" + action + "&Version=2010-05-08";
    for (const auto& [k, v] : params) r.body += "&" + k + "=" + util::UriEncode(v);
    r.request_id = "req-" + std::to_string(++request_counter_);
    r.remote_ip = "127.0.0.1";
    if (sign) {
      SecretBytes secret_bytes(secret);
      std::vector<sigv4::HeaderView> views;
      for (const auto& [n, v] : r.headers) views.emplace_back(n, v);
      sigv4::SigningParams sp;
      sp.access_key_id = access_key;
      sp.secret_access_key = &secret_bytes;
      sp.region = "eu-west-1";  // awscli signs IAM with its configured region (the server's)
      sp.service = "iam";
      sp.time = clock_.Now();
      sp.body = r.body;
      auto s = sigv4::Sign(sigv4::RequestParts{r.method, r.path, r.query, views}, sp);
      EXPECT_TRUE(s.has_value());
      if (s) {
        for (auto& [n, v] : s->headers_to_add) r.headers.emplace_back(n, v);
      }
    }
    return pipeline_->Handle(*protocol_, r);
  }

  // Calls `action` expecting success; returns the body.
  std::string Ok(const std::string& action, const Params& params = {}) {
    HttpResponse resp = Raw(action, params);
    EXPECT_EQ(resp.status, 200) << action << ": " << resp.body;
    EXPECT_TRUE(resp.body.starts_with("<" + action + "Response xmlns=\"" + kNs + "\">"))
        << resp.body;
    EXPECT_NE(resp.body.find("<ResponseMetadata><RequestId>req-"), std::string::npos);
    return resp.body;
  }

  // Calls `action` expecting the IAM error envelope with `code` and `status`.
  std::string Err(const std::string& action, const Params& params, int status,
                  const std::string& code) {
    HttpResponse resp = Raw(action, params);
    EXPECT_EQ(resp.status, status) << action << ": " << resp.body;
    EXPECT_TRUE(resp.body.starts_with(std::string("<ErrorResponse xmlns=\"") + kNs + "\">"))
        << resp.body;
    EXPECT_EQ(Text(resp.body, "Code"), code) << resp.body;
    EXPECT_EQ(Text(resp.body, "Type"), status >= 500 ? "Receiver" : "Sender");
    EXPECT_FALSE(Text(resp.body, "Message").empty());
    EXPECT_FALSE(Text(resp.body, "RequestId").empty());
    return resp.body;
  }

  storage::memory::MemoryBackend backend_;
  util::SimulatedClock clock_;
  util::SequentialIdGenerator ids_;
  util::Metrics metrics_;
  std::unique_ptr<keyring::Keyring> keyring_;
  std::unique_ptr<domain::iam::IdentityStore> identities_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<QueryProtocol> protocol_;
  coffer::testing::RecordingAuditSink sink_;
  auth::PolicyCache policy_cache_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  IamService* service_ = nullptr;
  int request_counter_ = 0;
};

// ---------------------------------------------------------------- users

// CreateUser answers the User shape that botocore parses, with tags.
TEST_F(IamServiceTest, CreateUserReturnsUserXml) {
  std::string body =
      Ok("CreateUser",
         {{"UserName", "alice"}, {"Tags.member.1.Key", "team"}, {"Tags.member.1.Value", "core"}});
  EXPECT_NE(body.find("<CreateUserResult><User><Path>/</Path><UserName>alice</UserName><UserId>"
                      "AIDA"),
            std::string::npos)
      << body;
  EXPECT_EQ(Text(body, "Arn"), "arn:aws:iam::000000000000:user/alice");
  EXPECT_EQ(Text(body, "CreateDate"), "2026-11-28T09:07:27Z");
  EXPECT_NE(body.find("<Tags><member><Key>team</Key><Value>core</Value></member></Tags>"),
            std::string::npos);
  EXPECT_EQ(Text(body, "UserId").size(), 20u);
}

// GetUser without UserName describes the caller.
TEST_F(IamServiceTest, GetUserWithoutNameReturnsCaller) {
  std::string body = Ok("GetUser");
  EXPECT_EQ(Text(body, "UserName"), "admin");
  EXPECT_EQ(Text(body, "Arn"), "arn:aws:iam::000000000000:user/admin");
}

// Unknown users are 404 NoSuchEntity in the IAM error envelope.
TEST_F(IamServiceTest, GetUnknownUserIsNoSuchEntity) {
  std::string body = Err("GetUser", {{"UserName", "bob"}}, 404, "NoSuchEntity");
  EXPECT_NE(Text(body, "Message").find("bob"), std::string::npos);
}

// A second CreateUser with the same name is 409 EntityAlreadyExists.
TEST_F(IamServiceTest, CreateUserTwiceIsEntityAlreadyExists) {
  Ok("CreateUser", {{"UserName", "alice"}});
  Err("CreateUser", {{"UserName", "alice"}}, 409, "EntityAlreadyExists");
}

// Names and paths that fail the model's constraints are ValidationError.
TEST_F(IamServiceTest, BadNameOrPathIsValidationError) {
  Err("CreateUser", {{"UserName", "a b"}}, 400, "ValidationError");
  Err("CreateUser", {{"UserName", std::string(65, 'a')}}, 400, "ValidationError");
  Err("CreateUser", {{"UserName", "alice"}, {"Path", "nopath"}}, 400, "ValidationError");
  Err("CreateUser", {}, 400, "ValidationError");
  Err("DeleteUser", {}, 400, "ValidationError");
}

// ListUsers pages with MaxItems/Marker and reports IsTruncated.
TEST_F(IamServiceTest, ListUsersPaginates) {
  Ok("CreateUser", {{"UserName", "b"}});
  Ok("CreateUser", {{"UserName", "c"}, {"Path", "/ci/"}});
  std::string first = Ok("ListUsers", {{"MaxItems", "2"}});
  EXPECT_EQ(Count(first, "<member>"), 2u);
  EXPECT_EQ(Text(first, "IsTruncated"), "true");
  std::string marker = Text(first, "Marker");
  ASSERT_FALSE(marker.empty());
  std::string second = Ok("ListUsers", {{"MaxItems", "2"}, {"Marker", marker}});
  EXPECT_EQ(Count(second, "<member>"), 1u);
  EXPECT_EQ(Text(second, "UserName"), "c");
  EXPECT_EQ(Text(second, "IsTruncated"), "false");
  EXPECT_EQ(second.find("<Marker>"), std::string::npos);
  std::string ci = Ok("ListUsers", {{"PathPrefix", "/ci/"}});
  EXPECT_EQ(Count(ci, "<member>"), 1u);
  Err("ListUsers", {{"MaxItems", "0"}}, 400, "ValidationError");
}

// DeleteUser answers the empty result, and refuses while keys exist.
TEST_F(IamServiceTest, DeleteUserWithKeysIsDeleteConflict) {
  Ok("CreateUser", {{"UserName", "alice"}});
  std::string key = Ok("CreateAccessKey", {{"UserName", "alice"}});
  Err("DeleteUser", {{"UserName", "alice"}}, 409, "DeleteConflict");
  Ok("DeleteAccessKey", {{"UserName", "alice"}, {"AccessKeyId", Text(key, "AccessKeyId")}});
  std::string body = Ok("DeleteUser", {{"UserName", "alice"}});
  EXPECT_EQ(body.find("Result>"), std::string::npos);
}

// ---------------------------------------------------------------- tags

// Tags after creation, for users, roles, instance profiles, policies and OIDC
// providers: Tag* adds or replaces, Untag* removes, List*Tags and Get* show
// them; more than 50 is LimitExceeded; an unknown entity is NoSuchEntity.
TEST_F(IamServiceTest, EntityTagsCanBeChangedAfterCreation) {
  Ok("CreateRole", {{"RoleName", "app"},
                    {"AssumeRolePolicyDocument",
                     R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":)"
                     R"({"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]})"},
                    {"Tags.member.1.Key", "env"},
                    {"Tags.member.1.Value", "prod"}});
  Ok("TagRole", {{"RoleName", "app"},
                 {"Tags.member.1.Key", "env"},
                 {"Tags.member.1.Value", "dev"},
                 {"Tags.member.2.Key", "team"},
                 {"Tags.member.2.Value", "ops"}});
  std::string listed = Ok("ListRoleTags", {{"RoleName", "app"}});
  EXPECT_NE(listed.find("<member><Key>env</Key><Value>dev</Value></member>"), std::string::npos)
      << listed;
  EXPECT_NE(listed.find("<member><Key>team</Key><Value>ops</Value></member>"), std::string::npos);
  Ok("UntagRole", {{"RoleName", "app"}, {"TagKeys.member.1", "env"}});
  std::string role = Ok("GetRole", {{"RoleName", "app"}});
  EXPECT_EQ(role.find("<Key>env</Key>"), std::string::npos) << role;
  EXPECT_NE(role.find("<Key>team</Key>"), std::string::npos) << role;

  Ok("CreateUser", {{"UserName", "alice"}});
  Ok("TagUser", {{"UserName", "alice"}, {"Tags.member.1.Key", "k"}, {"Tags.member.1.Value", "v"}});
  EXPECT_NE(Ok("ListUserTags", {{"UserName", "alice"}}).find("<Key>k</Key>"), std::string::npos);
  std::string policy = Ok("CreatePolicy", {{"PolicyName", "p"},
                                           {"PolicyDocument",
                                            R"({"Version":"2012-10-17","Statement":[{"Effect":)"
                                            R"("Allow","Action":"ssm:Get*","Resource":"*"}]})"}});
  std::string arn = Text(policy, "Arn");
  Ok("TagPolicy", {{"PolicyArn", arn}, {"Tags.member.1.Key", "k"}, {"Tags.member.1.Value", "v"}});
  EXPECT_NE(Ok("ListPolicyTags", {{"PolicyArn", arn}}).find("<Key>k</Key>"), std::string::npos);
  Ok("UntagPolicy", {{"PolicyArn", arn}, {"TagKeys.member.1", "k"}});
  EXPECT_EQ(Ok("ListPolicyTags", {{"PolicyArn", arn}}).find("<Key>k</Key>"), std::string::npos);

  Params many = {{"UserName", "alice"}};
  for (int i = 1; i <= 50; ++i) {
    many.emplace_back("Tags.member." + std::to_string(i) + ".Key", "t" + std::to_string(i));
    many.emplace_back("Tags.member." + std::to_string(i) + ".Value", "v");
  }
  Err("TagUser", many, 409, "LimitExceeded");  // 50 new + the one it has
  Err("TagUser", {{"UserName", "nobody"}, {"Tags.member.1.Key", "k"}, {"Tags.member.1.Value", "v"}},
      404, "NoSuchEntity");
  Err("ListRoleTags", {{"RoleName", "nobody"}}, 404, "NoSuchEntity");
}

// ---------------------------------------------------------------- access keys

// A created key signs requests until it is made inactive; a third is refused.
TEST_F(IamServiceTest, AccessKeyLifecycle) {
  Ok("CreateUser", {{"UserName", "alice"}});
  std::string created = Ok("CreateAccessKey", {{"UserName", "alice"}});
  EXPECT_NE(created.find("<CreateAccessKeyResult><AccessKey><UserName>alice</UserName>"),
            std::string::npos)
      << created;
  std::string id = Text(created, "AccessKeyId");
  std::string secret = Text(created, "SecretAccessKey");
  EXPECT_TRUE(id.starts_with("AKIA"));
  EXPECT_EQ(secret.size(), 40u);
  EXPECT_EQ(Text(created, "Status"), "Active");

  // The new key authenticates: GetUser without a name is alice (who may read
  // herself).
  Ok("PutUserPolicy",
     {{"UserName", "alice"},
      {"PolicyName", "self"},
      {"PolicyDocument",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser",)"
       R"("Resource":"arn:aws:iam::000000000000:user/alice"}]})"}});
  HttpResponse as_alice = Raw("GetUser", {}, true, id, secret);
  EXPECT_EQ(as_alice.status, 200) << as_alice.body;
  EXPECT_EQ(Text(as_alice.body, "UserName"), "alice");

  Ok("CreateAccessKey", {{"UserName", "alice"}});
  Err("CreateAccessKey", {{"UserName", "alice"}}, 409, "LimitExceeded");

  Ok("UpdateAccessKey", {{"UserName", "alice"}, {"AccessKeyId", id}, {"Status", "Inactive"}});
  std::string list = Ok("ListAccessKeys", {{"UserName", "alice"}});
  EXPECT_EQ(Count(list, "<member>"), 2u);
  EXPECT_NE(list.find("<AccessKeyId>" + id + "</AccessKeyId><Status>Inactive</Status>"),
            std::string::npos)
      << list;
  EXPECT_EQ(list.find("SecretAccessKey"), std::string::npos);
  HttpResponse inactive = Raw("GetUser", {}, true, id, secret);
  EXPECT_EQ(inactive.status, 403);
  EXPECT_EQ(Text(inactive.body, "Code"), "InvalidClientTokenId");

  Err("UpdateAccessKey", {{"UserName", "alice"}, {"AccessKeyId", id}, {"Status", "Maybe"}}, 400,
      "ValidationError");
  Err("DeleteAccessKey", {{"UserName", "admin"}, {"AccessKeyId", id}}, 404, "NoSuchEntity");
}

// Without UserName the key operations act on the caller.
TEST_F(IamServiceTest, AccessKeyOperationsDefaultToCaller) {
  std::string list = Ok("ListAccessKeys");
  EXPECT_EQ(Text(list, "AccessKeyId"), kAccessKey);
  EXPECT_EQ(Text(list, "UserName"), "admin");
  std::string created = Ok("CreateAccessKey");
  EXPECT_EQ(Text(created, "UserName"), "admin");
  std::string last = Ok("GetAccessKeyLastUsed", {{"AccessKeyId", kAccessKey}});
  EXPECT_EQ(Text(last, "UserName"), "admin");
  EXPECT_EQ(Text(last, "ServiceName"), "N/A");
}

// ---------------------------------------------------------------- groups

// Group membership is visible through GetGroup and ListGroupsForUser.
TEST_F(IamServiceTest, GroupOperations) {
  Ok("CreateUser", {{"UserName", "alice"}});
  std::string group = Ok("CreateGroup", {{"GroupName", "dev"}, {"Path", "/teams/"}});
  EXPECT_NE(group.find("<Group><Path>/teams/</Path><GroupName>dev</GroupName><GroupId>AGPA"),
            std::string::npos)
      << group;
  EXPECT_EQ(Text(group, "Arn"), "arn:aws:iam::000000000000:group/teams/dev");
  Ok("AddUserToGroup", {{"GroupName", "dev"}, {"UserName", "alice"}});
  std::string got = Ok("GetGroup", {{"GroupName", "dev"}});
  EXPECT_NE(got.find("<Users><member><Path>/</Path><UserName>alice</UserName>"), std::string::npos)
      << got;
  EXPECT_EQ(Text(got, "IsTruncated"), "false");
  std::string groups = Ok("ListGroupsForUser", {{"UserName", "alice"}});
  EXPECT_NE(groups.find("<Groups><member><Path>/teams/</Path><GroupName>dev</GroupName>"),
            std::string::npos);
  EXPECT_EQ(Count(Ok("ListGroups"), "<member>"), 1u);
  Err("DeleteGroup", {{"GroupName", "dev"}}, 409, "DeleteConflict");
  Ok("RemoveUserFromGroup", {{"GroupName", "dev"}, {"UserName", "alice"}});
  Ok("DeleteGroup", {{"GroupName", "dev"}});
  Err("GetGroup", {{"GroupName", "dev"}}, 404, "NoSuchEntity");
}

// ---------------------------------------------------------------- roles

// CreateRole returns the trust policy URL-encoded and the session limit.
TEST_F(IamServiceTest, CreateRoleReturnsEncodedTrustPolicy) {
  std::string body = Ok("CreateRole", {{"RoleName", "ci"},
                                       {"AssumeRolePolicyDocument", kTrust},
                                       {"Description", "CI <role>"},
                                       {"MaxSessionDuration", "7200"}});
  EXPECT_NE(body.find("<CreateRoleResult><Role><Path>/</Path><RoleName>ci</RoleName><RoleId>AROA"),
            std::string::npos)
      << body;
  EXPECT_EQ(Text(body, "Arn"), "arn:aws:iam::000000000000:role/ci");
  EXPECT_EQ(Text(body, "AssumeRolePolicyDocument"), util::UriEncode(kTrust));
  EXPECT_EQ(Text(body, "Description"), "CI &lt;role&gt;");
  EXPECT_EQ(Text(body, "MaxSessionDuration"), "7200");
  std::string got = Ok("GetRole", {{"RoleName", "ci"}});
  EXPECT_EQ(Text(got, "AssumeRolePolicyDocument"), util::UriEncode(kTrust));
  std::string list = Ok("ListRoles");
  EXPECT_EQ(Text(list, "RoleName"), "ci");
  EXPECT_EQ(Text(list, "IsTruncated"), "false");
  Ok("UpdateAssumeRolePolicy", {{"RoleName", "ci"}, {"PolicyDocument", kTrust}});
  Ok("DeleteRole", {{"RoleName", "ci"}});
  Err("GetRole", {{"RoleName", "ci"}}, 404, "NoSuchEntity");
}

// Bad trust policies and session limits are refused with the AWS codes.
TEST_F(IamServiceTest, CreateRoleWithBadInputIsRefused) {
  Err("CreateRole", {{"RoleName", "r"}, {"AssumeRolePolicyDocument", "{not json"}}, 400,
      "MalformedPolicyDocument");
  Err("CreateRole",
      {{"RoleName", "r"},
       {"AssumeRolePolicyDocument",
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]})"}},
      400, "MalformedPolicyDocument");
  Err("CreateRole",
      {{"RoleName", "r"}, {"AssumeRolePolicyDocument", kTrust}, {"MaxSessionDuration", "60"}}, 400,
      "ValidationError");
  Err("CreateRole",
      {{"RoleName", "r"},
       {"AssumeRolePolicyDocument", kTrust},
       {"PermissionsBoundary", "arn:aws:iam::000000000000:policy/b"}},
      400, "InvalidInput");
  Err("GetRole", {{"RoleName", "r"}}, 404, "NoSuchEntity");
}

// Inline role policies: the body awscli sends, and the encoded document back.
TEST_F(IamServiceTest, InlineRolePolicies) {
  Ok("CreateRole", {{"RoleName", "ci"}, {"AssumeRolePolicyDocument", kTrust}});
  Ok("PutRolePolicy", {{"RoleName", "ci"}, {"PolicyName", "read"}, {"PolicyDocument", kDoc}});
  std::string got = Ok("GetRolePolicy", {{"RoleName", "ci"}, {"PolicyName", "read"}});
  EXPECT_NE(got.find("<GetRolePolicyResult><RoleName>ci</RoleName><PolicyName>read</PolicyName>"
                     "<PolicyDocument>" +
                     util::UriEncode(kDoc) + "</PolicyDocument></GetRolePolicyResult>"),
            std::string::npos)
      << got;
  std::string list = Ok("ListRolePolicies", {{"RoleName", "ci"}});
  EXPECT_NE(list.find("<PolicyNames><member>read</member></PolicyNames>"), std::string::npos);
  Err("DeleteRole", {{"RoleName", "ci"}}, 409, "DeleteConflict");
  Err("PutRolePolicy",
      {{"RoleName", "ci"},
       {"PolicyName", "bad"},
       {"PolicyDocument",
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:*"}]})"}},
      400, "MalformedPolicyDocument");
  Ok("DeleteRolePolicy", {{"RoleName", "ci"}, {"PolicyName", "read"}});
  Err("GetRolePolicy", {{"RoleName", "ci"}, {"PolicyName", "read"}}, 404, "NoSuchEntity");
}

// Inline user and group policies follow the same shapes.
TEST_F(IamServiceTest, InlineUserAndGroupPolicies) {
  Ok("CreateUser", {{"UserName", "alice"}});
  Ok("CreateGroup", {{"GroupName", "dev"}});
  Ok("PutUserPolicy", {{"UserName", "alice"}, {"PolicyName", "p"}, {"PolicyDocument", kDoc}});
  Ok("PutGroupPolicy", {{"GroupName", "dev"}, {"PolicyName", "p"}, {"PolicyDocument", kDoc}});
  std::string user = Ok("GetUserPolicy", {{"UserName", "alice"}, {"PolicyName", "p"}});
  EXPECT_EQ(Text(user, "UserName"), "alice");
  EXPECT_EQ(Text(user, "PolicyDocument"), util::UriEncode(kDoc));
  std::string group = Ok("GetGroupPolicy", {{"GroupName", "dev"}, {"PolicyName", "p"}});
  EXPECT_EQ(Text(group, "GroupName"), "dev");
  EXPECT_EQ(Text(Ok("ListUserPolicies", {{"UserName", "alice"}}), "member"), "p");
  EXPECT_EQ(Text(Ok("ListGroupPolicies", {{"GroupName", "dev"}}), "member"), "p");
  Ok("DeleteUserPolicy", {{"UserName", "alice"}, {"PolicyName", "p"}});
  Ok("DeleteGroupPolicy", {{"GroupName", "dev"}, {"PolicyName", "p"}});
}

// ---------------------------------------------------------------- managed policies

// Create, version, attach, list, and the conflicts on delete.
TEST_F(IamServiceTest, ManagedPolicyLifecycle) {
  std::string created =
      Ok("CreatePolicy", {{"PolicyName", "read"}, {"PolicyDocument", kDoc}, {"Path", "/app/"}});
  std::string arn = Text(created, "Arn");
  EXPECT_EQ(arn, "arn:aws:iam::000000000000:policy/app/read");
  EXPECT_NE(created.find("<CreatePolicyResult><Policy><PolicyName>read</PolicyName><PolicyId>ANPA"),
            std::string::npos)
      << created;
  EXPECT_EQ(Text(created, "DefaultVersionId"), "v1");
  EXPECT_EQ(Text(created, "AttachmentCount"), "0");
  EXPECT_EQ(Text(created, "IsAttachable"), "true");

  std::string v2 = Ok("CreatePolicyVersion",
                      {{"PolicyArn", arn}, {"PolicyDocument", kDoc}, {"SetAsDefault", "true"}});
  EXPECT_EQ(Text(v2, "VersionId"), "v2");
  EXPECT_EQ(Text(v2, "IsDefaultVersion"), "true");
  std::string v1 = Ok("GetPolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v1"}});
  EXPECT_NE(v1.find("<PolicyVersion><Document>" + util::UriEncode(kDoc) +
                    "</Document><VersionId>v1</VersionId><IsDefaultVersion>false"),
            std::string::npos)
      << v1;
  EXPECT_EQ(Count(Ok("ListPolicyVersions", {{"PolicyArn", arn}}), "<member>"), 2u);
  for (int i = 0; i < 3; ++i) {
    Ok("CreatePolicyVersion", {{"PolicyArn", arn}, {"PolicyDocument", kDoc}});
  }
  Err("CreatePolicyVersion", {{"PolicyArn", arn}, {"PolicyDocument", kDoc}}, 409, "LimitExceeded");
  Ok("DeletePolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v1"}});
  Err("DeletePolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v2"}}, 409, "DeleteConflict");

  Ok("CreateRole", {{"RoleName", "ci"}, {"AssumeRolePolicyDocument", kTrust}});
  Ok("AttachRolePolicy", {{"RoleName", "ci"}, {"PolicyArn", arn}});
  std::string attached = Ok("ListAttachedRolePolicies", {{"RoleName", "ci"}});
  EXPECT_NE(attached.find("<AttachedPolicies><member><PolicyName>read</PolicyName><PolicyArn>" +
                          arn + "</PolicyArn></member></AttachedPolicies>"),
            std::string::npos)
      << attached;
  EXPECT_EQ(Text(Ok("GetPolicy", {{"PolicyArn", arn}}), "AttachmentCount"), "1");
  EXPECT_EQ(Count(Ok("ListPolicies", {{"OnlyAttached", "true"}}), "<member>"), 1u);
  EXPECT_EQ(Count(Ok("ListPolicies", {{"Scope", "AWS"}}), "<member>"), 0u);
  Err("DeletePolicy", {{"PolicyArn", arn}}, 409, "DeleteConflict");
  Ok("DetachRolePolicy", {{"RoleName", "ci"}, {"PolicyArn", arn}});
  Err("DetachRolePolicy", {{"RoleName", "ci"}, {"PolicyArn", arn}}, 404, "NoSuchEntity");
  Ok("DeletePolicy", {{"PolicyArn", arn}});
  Err("GetPolicy", {{"PolicyArn", arn}}, 404, "NoSuchEntity");
}

// User and group attachments list the same way.
TEST_F(IamServiceTest, UserAndGroupAttachments) {
  std::string arn =
      Text(Ok("CreatePolicy", {{"PolicyName", "p"}, {"PolicyDocument", kDoc}}), "Arn");
  Ok("CreateUser", {{"UserName", "alice"}});
  Ok("CreateGroup", {{"GroupName", "dev"}});
  Ok("AttachUserPolicy", {{"UserName", "alice"}, {"PolicyArn", arn}});
  Ok("AttachGroupPolicy", {{"GroupName", "dev"}, {"PolicyArn", arn}});
  EXPECT_EQ(Text(Ok("ListAttachedUserPolicies", {{"UserName", "alice"}}), "PolicyArn"), arn);
  EXPECT_EQ(Text(Ok("ListAttachedGroupPolicies", {{"GroupName", "dev"}}), "PolicyArn"), arn);
  Ok("DetachUserPolicy", {{"UserName", "alice"}, {"PolicyArn", arn}});
  Ok("DetachGroupPolicy", {{"GroupName", "dev"}, {"PolicyArn", arn}});
  Err("AttachUserPolicy",
      {{"UserName", "alice"}, {"PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"}}, 404,
      "NoSuchEntity");
}

// An identity policy naming a Principal is malformed.
TEST_F(IamServiceTest, IdentityPolicyWithPrincipalIsMalformed) {
  Err("CreatePolicy",
      {{"PolicyName", "p"},
       {"PolicyDocument",
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]})"}},
      400, "MalformedPolicyDocument");
}

// ---------------------------------------------------------------- OIDC

// The provider GitHub Actions uses, as awscli creates it.
TEST_F(IamServiceTest, OpenIDConnectProviderLifecycle) {
  std::string created =
      Ok("CreateOpenIDConnectProvider", {{"Url", "https://token.actions.githubusercontent.com"},
                                         {"ClientIDList.member.1", "sts.amazonaws.com"},
                                         {"ThumbprintList.member.1", kThumb}});
  std::string arn = Text(created, "OpenIDConnectProviderArn");
  EXPECT_EQ(arn, "arn:aws:iam::000000000000:oidc-provider/token.actions.githubusercontent.com");
  std::string got = Ok("GetOpenIDConnectProvider", {{"OpenIDConnectProviderArn", arn}});
  EXPECT_EQ(Text(got, "Url"), "token.actions.githubusercontent.com");
  EXPECT_NE(got.find("<ClientIDList><member>sts.amazonaws.com</member></ClientIDList>"),
            std::string::npos);
  EXPECT_NE(got.find(std::string("<ThumbprintList><member>") + kThumb + "</member>"),
            std::string::npos);
  EXPECT_EQ(Text(got, "CreateDate"), "2026-11-28T09:07:27Z");
  std::string list = Ok("ListOpenIDConnectProviders");
  EXPECT_NE(list.find("<OpenIDConnectProviderList><member><Arn>" + arn + "</Arn></member>"),
            std::string::npos);
  Err("CreateOpenIDConnectProvider",
      {{"Url", "https://token.actions.githubusercontent.com"}, {"ThumbprintList.member.1", kThumb}},
      409, "EntityAlreadyExists");
  Ok("DeleteOpenIDConnectProvider", {{"OpenIDConnectProviderArn", arn}});
  Err("GetOpenIDConnectProvider", {{"OpenIDConnectProviderArn", arn}}, 404, "NoSuchEntity");
}

// Thumbprints must be 40 hex digits; URLs must be https.
TEST_F(IamServiceTest, OpenIDConnectProviderBadInputIsRefused) {
  Err("CreateOpenIDConnectProvider",
      {{"Url", "https://issuer.example"}, {"ThumbprintList.member.1", "xyz"}}, 400,
      "ValidationError");
  Err("CreateOpenIDConnectProvider",
      {{"Url", "http://issuer.example"}, {"ThumbprintList.member.1", kThumb}}, 400, "InvalidInput");
}

// ---------------------------------------------------------------- protocol

// An unknown action is InvalidAction.
TEST_F(IamServiceTest, UnknownActionIsInvalidAction) {
  Err("CreateLoginProfile", {{"UserName", "admin"}}, 400, "InvalidAction");
}

// An unsigned IAM request is refused.
TEST_F(IamServiceTest, UnsignedRequestIsRefused) {
  HttpResponse resp = Raw("ListUsers", {}, /*sign=*/false);
  EXPECT_EQ(resp.status, 403) << resp.body;
  EXPECT_EQ(Text(resp.body, "Code"), "MissingAuthenticationToken");
}

// Each action is authorized on the entity its handler-table entry declares:
// a Deny on one user's ARN refuses DeleteUser on it and nothing else, and the
// audit record names that ARN (with its path), the decision and the statement;
// a listing is checked on "*"; a call refused before any policy was read
// (unsigned) is audited as unauthenticated.
TEST_F(IamServiceTest, DeclaredResourcesAreAuthorizedAndAudited) {
  Ok("CreateUser", {{"UserName", "alice"}, {"Path", "/ci/"}});
  Ok("CreateUser", {{"UserName", "bob"}});
  Ok("PutUserPolicy",
     {{"UserName", "bob"},
      {"PolicyName", "p"},
      {"PolicyDocument",
       R"({"Version":"2012-10-17","Statement":[{"Sid":"Allow","Effect":"Allow","Action":"iam:*",)"
       R"("Resource":"*"},{"Sid":"NoDeletes","Effect":"Deny","Action":"iam:DeleteUser",)"
       R"("Resource":"arn:aws:iam::000000000000:user/ci/alice"}]})"}});
  std::string body = Ok("CreateAccessKey", {{"UserName", "bob"}});
  std::string bob_key = Text(body, "AccessKeyId");
  std::string bob_secret = Text(body, "SecretAccessKey");
  sink_.records.clear();
  EXPECT_EQ(Raw("GetUser", {{"UserName", "alice"}}, true, bob_key, bob_secret).status, 200);
  HttpResponse refused = Raw("DeleteUser", {{"UserName", "alice"}}, true, bob_key, bob_secret);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Text(refused.body, "Code"), "AccessDenied");
  EXPECT_EQ(Raw("ListUsers", {}, true, bob_key, bob_secret).status, 200);
  Raw("CreateUser", {{"UserName", "carol"}}, /*sign=*/false);
  ASSERT_EQ(sink_.records.size(), 4u);
  const audit::Record& read = sink_.records[0];
  EXPECT_EQ(read.operation, "GetUser");
  EXPECT_EQ(read.resource, "arn:aws:iam::000000000000:user/ci/alice");
  EXPECT_EQ(read.decision, "allow");
  const audit::Record& denied = sink_.records[1];
  EXPECT_EQ(denied.resource, "arn:aws:iam::000000000000:user/ci/alice");
  EXPECT_EQ(denied.decision, "explicit-deny");
  EXPECT_EQ(denied.decided_by.find("#NoDeletes") != std::string::npos, true) << denied.decided_by;
  EXPECT_EQ(denied.error_code, "AccessDenied");
  EXPECT_EQ(sink_.records[2].resource, "*");
  EXPECT_EQ(sink_.records[3].status, 403);
  EXPECT_EQ(sink_.records[3].decision, "unauthenticated");
  EXPECT_TRUE(identities_->GetUser("alice").has_value());
  EXPECT_FALSE(identities_->GetUser("carol").has_value());
}

// The IAM row of the Deny matrix: under a Deny by tag (aws:ResourceTag and
// iam:ResourceTag) or by resource, every action on the user, role or policy is
// refused, whatever the entity; untagged neighbours are not.
TEST_F(IamServiceTest, DenyByTagOrResourceCoversEveryActionOnTheEntity) {
  const std::string trust =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":)"
      R"({"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]})";
  Ok("CreateUser", {{"UserName", "alice"}, {"Tags.member.1.Key", "env"},
                    {"Tags.member.1.Value", "prod"}});
  Ok("CreateUser", {{"UserName", "carol"}});
  Ok("CreateRole", {{"RoleName", "prod-app"}, {"AssumeRolePolicyDocument", trust},
                    {"Tags.member.1.Key", "env"}, {"Tags.member.1.Value", "prod"}});
  std::string policy_arn =
      Text(Ok("CreatePolicy", {{"PolicyName", "prod-read"},
                               {"PolicyDocument",
                                R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                                R"("Action":"ssm:Get*","Resource":"*"}]})"},
                               {"Tags.member.1.Key", "env"},
                               {"Tags.member.1.Value", "prod"}}),
           "Arn");
  const std::vector<std::pair<std::string, std::string>> denies = {
      {"aws tag", R"({"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":)"
                  R"({"StringEquals":{"aws:ResourceTag/env":"prod"}}})"},
      {"iam tag", R"({"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":)"
                  R"({"StringEquals":{"iam:ResourceTag/env":"prod"}}})"},
      {"resource", R"({"Effect":"Deny","Action":"iam:*","Resource":[)"
                   R"("arn:aws:iam::000000000000:user/alice",)"
                   R"("arn:aws:iam::000000000000:role/prod-app",)"
                   R"("arn:aws:iam::000000000000:policy/prod-read"]})"},
  };
  int n = 0;
  for (const auto& [label, deny] : denies) {
    std::string user = "bob" + std::to_string(++n);
    Ok("CreateUser", {{"UserName", user}});
    Ok("PutUserPolicy",
       {{"UserName", user},
        {"PolicyName", "p"},
        {"PolicyDocument", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                           R"("Action":"iam:*","Resource":"*"},)" +
                               deny + "]}"}});
    std::string body = Ok("CreateAccessKey", {{"UserName", user}});
    std::string key = Text(body, "AccessKeyId"), secret = Text(body, "SecretAccessKey");
    const std::vector<std::pair<std::string, Params>> calls = {
        {"GetUser", {{"UserName", "alice"}}},
        {"DeleteUser", {{"UserName", "alice"}}},
        {"TagUser", {{"UserName", "alice"}, {"Tags.member.1.Key", "env"},
                     {"Tags.member.1.Value", "dev"}}},
        {"UntagUser", {{"UserName", "alice"}, {"TagKeys.member.1", "env"}}},
        {"ListUserTags", {{"UserName", "alice"}}},
        {"CreateAccessKey", {{"UserName", "alice"}}},
        {"PutUserPolicy", {{"UserName", "alice"}, {"PolicyName", "x"},
                           {"PolicyDocument", R"({"Version":"2012-10-17","Statement":[]})"}}},
        {"AttachUserPolicy", {{"UserName", "alice"}, {"PolicyArn", policy_arn}}},
        {"GetRole", {{"RoleName", "prod-app"}}},
        {"UpdateAssumeRolePolicy", {{"RoleName", "prod-app"}, {"PolicyDocument", trust}}},
        {"DeleteRole", {{"RoleName", "prod-app"}}},
        {"UntagRole", {{"RoleName", "prod-app"}, {"TagKeys.member.1", "env"}}},
        {"GetPolicy", {{"PolicyArn", policy_arn}}},
        {"DeletePolicy", {{"PolicyArn", policy_arn}}},
        {"UntagPolicy", {{"PolicyArn", policy_arn}, {"TagKeys.member.1", "env"}}},
    };
    for (const auto& [action, params] : calls) {
      HttpResponse r = Raw(action, params, true, key, secret);
      EXPECT_EQ(r.status, 403) << label << ": " << action << " " << r.body;
      EXPECT_EQ(Text(r.body, "Code"), "AccessDenied") << label << ": " << action;
    }
    EXPECT_EQ(Raw("GetUser", {{"UserName", "carol"}}, true, key, secret).status, 200) << label;
  }
  // Nothing changed.
  std::string alice = Ok("GetUser", {{"UserName", "alice"}});
  EXPECT_NE(alice.find("<Value>prod</Value>"), std::string::npos) << alice;
  Ok("GetRole", {{"RoleName", "prod-app"}});
  EXPECT_NE(Ok("ListPolicyTags", {{"PolicyArn", policy_arn}}).find("<Value>prod</Value>"),
            std::string::npos);
}

// Attaching a policy is an action on the user, group or role (AWS's resource
// type for Attach*Policy), with the policy as iam:PolicyARN: a Deny on the
// user refuses it whatever the policy.
TEST_F(IamServiceTest, AttachingIsAuthorizedOnTheEntity) {
  Ok("CreateUser", {{"UserName", "alice"}});
  Ok("CreateUser", {{"UserName", "bob"}});
  std::string created = Ok("CreatePolicy", {{"PolicyName", "read"},
                                            {"PolicyDocument",
                                             R"({"Version":"2012-10-17","Statement":[{"Effect":)"
                                             R"("Allow","Action":"ssm:Get*","Resource":"*"}]})"}});
  std::string arn = Text(created, "Arn");
  Ok("PutUserPolicy",
     {{"UserName", "bob"},
      {"PolicyName", "p"},
      {"PolicyDocument",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*",)"
       R"("Resource":"*"},{"Effect":"Deny","Action":"iam:AttachUserPolicy",)"
       R"("Resource":"arn:aws:iam::000000000000:user/alice"}]})"}});
  std::string body = Ok("CreateAccessKey", {{"UserName", "bob"}});
  std::string key = Text(body, "AccessKeyId"), secret = Text(body, "SecretAccessKey");
  HttpResponse refused =
      Raw("AttachUserPolicy", {{"UserName", "alice"}, {"PolicyArn", arn}}, true, key, secret);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Raw("AttachUserPolicy", {{"UserName", "bob"}, {"PolicyArn", arn}}, true, key, secret)
                .status,
            200);
}

// Fail closed: once a record cannot be written, calls are refused before they
// run until a record can be written again.
TEST_F(IamServiceTest, UnauditableCallsAreRefused) {
  auto& sink = sink_;
  sink.failing = true;
  Err("CreateUser", {{"UserName", "carol"}}, 503, "ServiceUnavailable");  // ran, answer withheld
  Err("CreateUser", {{"UserName", "dave"}}, 503, "ServiceUnavailable");   // refused before running
  EXPECT_TRUE(identities_->GetUser("carol").has_value());
  EXPECT_FALSE(identities_->GetUser("dave").has_value());
  sink.failing = false;
  Err("CreateUser", {{"UserName", "dave"}}, 503, "ServiceUnavailable");  // audited: healthy again
  Ok("CreateUser", {{"UserName", "dave"}});
  EXPECT_TRUE(identities_->GetUser("dave").has_value());
}

}  // namespace
}  // namespace coffer::api::awsquery
