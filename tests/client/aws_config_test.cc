#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <string>

#include "client/aws_client.h"
#include "client/aws_files.h"
#include "support/temp_dir.h"

namespace coffer::client {
namespace {

ClientOptions WithProfile(std::string v) {
  ClientOptions o;
  o.profile = std::move(v);
  return o;
}
ClientOptions WithRegion(std::string v) {
  ClientOptions o;
  o.region = std::move(v);
  return o;
}
ClientOptions WithEndpoint(std::string v) {
  ClientOptions o;
  o.endpoint = std::move(v);
  return o;
}

// Resolution against a fake environment and files in a temporary directory.
// The network cases (AssumeRole, web identity) are in tests/e2e/e2e_cli_credentials.py.
class ResolveTest : public ::testing::Test {
 protected:
  ResolveTest() {
    env_["HOME"] = temp_.path();
    env_["AWS_CONFIG_FILE"] = temp_.File("config");
    env_["AWS_SHARED_CREDENTIALS_FILE"] = temp_.File("credentials");
    env_["AWS_EC2_METADATA_DISABLED"] = "true";  // no 1 s probe of 169.254.169.254
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(temp_.File(name)) << text;
  }

  Result<AwsConfig> Resolve(ClientOptions options = {}) {
    options.env = [this](std::string_view name) {
      auto it = env_.find(std::string(name));
      return it == env_.end() ? std::string() : it->second;
    };
    return ResolveClientConfig(options, clock_);
  }

  testing::ScopedTempDir temp_;
  std::map<std::string, std::string> env_;
  util::SystemClock clock_;
};

TEST(AwsIniTest, ParsesSectionsCommentsAndNestedKeys) {
  IniFile f = ParseAwsIni(
      "# comment\n[default]\nregion = eu-west-1\n; other\n[profile dev]\n"
      "services = local\n[services local]\nssm =\n  endpoint_url = http://ssm.local\n"
      "kms =\n  endpoint_url = http://kms.local\nregion=x\n");
  EXPECT_EQ(f.Section("default").at("region"), "eu-west-1");
  EXPECT_EQ(f.Section("profile dev").at("services"), "local");
  EXPECT_EQ(f.Section("services local").at("ssm.endpoint_url"), "http://ssm.local");
  EXPECT_EQ(f.Section("services local").at("kms.endpoint_url"), "http://kms.local");
  EXPECT_EQ(f.Section("services local").at("region"), "x");
  EXPECT_TRUE(f.Section("missing").empty());
}

TEST_F(ResolveTest, EnvironmentCredentialsWinOverTheFile) {
  Write("credentials", "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = s\n");
  env_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  env_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  env_["AWS_SESSION_TOKEN"] = "tok";
  auto c = Resolve();
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_TRUE(c->credentials);
  EXPECT_EQ(c->credentials->access_key_id, "ENVKEY");
  EXPECT_EQ(c->credentials->session_token, "tok");
}

TEST_F(ResolveTest, ExplicitProfileIgnoresEnvironmentCredentials) {
  Write("credentials", "[dev]\naws_access_key_id = DEVKEY\naws_secret_access_key = s\n");
  env_["AWS_ACCESS_KEY_ID"] = "ENVKEY";
  env_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  auto c = Resolve(WithProfile("dev"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->credentials->access_key_id, "DEVKEY");
}

TEST_F(ResolveTest, AwsProfileVariableSelectsTheProfile) {
  Write("credentials", "[default]\naws_access_key_id = D\naws_secret_access_key = s\n"
                       "[ci]\naws_access_key_id = CI\naws_secret_access_key = s\n");
  Write("config", "[profile ci]\nregion = ap-south-1\n");
  env_["AWS_PROFILE"] = "ci";
  auto c = Resolve();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->credentials->access_key_id, "CI");
  EXPECT_EQ(c->region, "ap-south-1");
  EXPECT_EQ(c->profile, "ci");
}

TEST_F(ResolveTest, UnknownProfileIsAnError) {
  auto c = Resolve(WithProfile("nope"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message.find("nope"), std::string::npos);
}

TEST_F(ResolveTest, KeysInTheConfigFileCount) {
  Write("config", "[profile cfg]\naws_access_key_id = CFG\naws_secret_access_key = s\n");
  auto c = Resolve(WithProfile("cfg"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->credentials->access_key_id, "CFG");
}

TEST_F(ResolveTest, RegionPrecedence) {
  Write("config", "[default]\nregion = from-config\n");
  EXPECT_EQ(Resolve()->region, "from-config");
  env_["AWS_DEFAULT_REGION"] = "from-default";
  EXPECT_EQ(Resolve()->region, "from-default");
  env_["AWS_REGION"] = "from-region";
  EXPECT_EQ(Resolve()->region, "from-region");
  EXPECT_EQ(Resolve(WithRegion("from-flag"))->region, "from-flag");
}

TEST_F(ResolveTest, EndpointPrecedence) {
  Write("config",
        "[default]\nendpoint_url = http://profile\nservices = s\n"
        "[services s]\nssm =\n  endpoint_url = http://profile-ssm\n"
        "secrets_manager =\n  endpoint_url = http://profile-sm\n");
  auto c = Resolve();
  ASSERT_TRUE(c);
  EXPECT_EQ(EndpointFor(*c, "ssm"), "http://profile-ssm");
  EXPECT_EQ(EndpointFor(*c, "secretsmanager"), "http://profile-sm");
  EXPECT_EQ(EndpointFor(*c, "kms"), "http://profile");
  // The global variable beats the profile's per-service settings.
  env_["AWS_ENDPOINT_URL"] = "http://env/";
  c = Resolve();
  EXPECT_EQ(EndpointFor(*c, "ssm"), "http://env");
  // A per-service variable beats the global one.
  env_["AWS_ENDPOINT_URL_SSM"] = "http://env-ssm";
  env_["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = "http://env-sm";
  env_["AWS_ENDPOINT_URL_KMS"] = "http://env-kms";
  env_["AWS_ENDPOINT_URL_STS"] = "http://env-sts";
  c = Resolve();
  EXPECT_EQ(EndpointFor(*c, "ssm"), "http://env-ssm");
  EXPECT_EQ(EndpointFor(*c, "secretsmanager"), "http://env-sm");
  EXPECT_EQ(EndpointFor(*c, "kms"), "http://env-kms");
  EXPECT_EQ(EndpointFor(*c, "sts"), "http://env-sts");
  EXPECT_EQ(EndpointFor(*c, "iam"), "http://env");
  // --endpoint-url beats everything.
  c = Resolve(WithEndpoint("http://flag"));
  EXPECT_EQ(EndpointFor(*c, "ssm"), "http://flag");
  EXPECT_EQ(EndpointFor(*c, "sts"), "http://flag");
  // Ignoring configured endpoints leaves AWS's own.
  env_["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
  env_["AWS_REGION"] = "eu-north-1";
  c = Resolve();
  EXPECT_EQ(EndpointFor(*c, "ssm"), "https://ssm.eu-north-1.amazonaws.com");
}

TEST_F(ResolveTest, CredentialProcessOutputIsUsed) {
  Write("proc.sh",
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"PROCKEY\", "
        "\"SecretAccessKey\": \"procsecret\", \"SessionToken\": \"proctoken\"}'\n");
  Write("config", "[profile p]\ncredential_process = sh " + temp_.File("proc.sh") + "\n");
  auto c = Resolve(WithProfile("p"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->credentials->access_key_id, "PROCKEY");
  EXPECT_EQ(c->credentials->secret_access_key.Reveal(), "procsecret");
  EXPECT_EQ(c->credentials->session_token, "proctoken");
}

TEST_F(ResolveTest, FailingCredentialProcessIsAnErrorWithoutItsOutput) {
  Write("config", "[profile p]\ncredential_process = sh -c 'echo leakedsecret; exit 3'\n");
  auto c = Resolve(WithProfile("p"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(c.error().message.find("status 3"), std::string::npos);
  EXPECT_EQ(c.error().message.find("leakedsecret"), std::string::npos);
}

TEST_F(ResolveTest, CredentialProcessWithoutVersionIsRefused) {
  Write("config", "[profile p]\ncredential_process = echo '{\"AccessKeyId\": \"A\", "
                  "\"SecretAccessKey\": \"hiddenvalue\"}'\n");
  auto c = Resolve(WithProfile("p"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message.find("hiddenvalue"), std::string::npos);
}

TEST_F(ResolveTest, RoleProfileWithoutSourceIsAnError) {
  Write("config", "[profile r]\nrole_arn = arn:aws:iam::123456789012:role/x\n");
  auto c = Resolve(WithProfile("r"));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ResolveTest, SourceProfileLoopIsAnError) {
  Write("config",
        "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/a\nsource_profile = b\n"
        "[profile b]\nrole_arn = arn:aws:iam::123456789012:role/b\nsource_profile = a\n");
  auto c = Resolve(WithProfile("a"));
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("loops"), std::string::npos);
}

TEST_F(ResolveTest, ContainerFullUriMustBeLocalOrHttps) {
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://203.0.113.7/creds";
  auto c = Resolve();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ResolveTest, MaxAttempts) {
  EXPECT_EQ(Resolve()->max_attempts, 3);
  Write("config", "[default]\nmax_attempts = 5\n");
  EXPECT_EQ(Resolve()->max_attempts, 5);
  env_["AWS_MAX_ATTEMPTS"] = "1";
  EXPECT_EQ(Resolve()->max_attempts, 1);
  env_["AWS_MAX_ATTEMPTS"] = "zero";
  EXPECT_FALSE(Resolve());
}

TEST_F(ResolveTest, NoCredentialsIsNotAnError) {
  auto c = Resolve();
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->credentials);
}

}  // namespace
}  // namespace coffer::client
