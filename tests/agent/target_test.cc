#include "agent/target.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "support/matchers.h"
#include "support/temp_dir.h"

namespace coffer::agent {
namespace {


std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Values Sample() {
  Values v;
  v["DB_PASSWORD"] = SecretBytes("p\"a$s\nw");
  v["API_KEY"] = SecretBytes("k1");
  return v;
}

class TargetTest : public ::testing::Test {
 protected:
  TargetConfig Config(TargetKind kind, std::string name) {
    TargetConfig c;
    c.kind = kind;
    c.path = dir_.File(name);
    c.mode = 0640;
    return c;
  }
  std::string WriteAndRead(const TargetConfig& c, const Values& values) {
    auto t = MakeTarget(c);
    auto r = t->Render(values);
    EXPECT_TRUE(IsOk(r));
    if (!r) return "";
    EXPECT_TRUE(IsOk(WriteFiles(*r)));
    return Slurp(t->path());
  }
  coffer::testing::ScopedTempDir dir_;
};

// dotenv quotes and escapes; the file gets the configured mode.
TEST_F(TargetTest, DotenvEscapesAndSetsTheMode) {
  TargetConfig c = Config(TargetKind::kDotenv, "app.env");
  EXPECT_EQ(WriteAndRead(c, Sample()), "API_KEY=\"k1\"\nDB_PASSWORD=\"p\\\"a\\$s\\nw\"\n");
  struct stat st {};
  ASSERT_EQ(::stat(c.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

// An ECS environment file cannot hold a line break: the rendering fails and
// the last good file stays as it was.
TEST_F(TargetTest, EcsEnvRefusesLineBreaksAndKeepsTheLastGoodFile) {
  TargetConfig c = Config(TargetKind::kEcsEnv, "task.env");
  Values good;
  good["A"] = SecretBytes("1");
  EXPECT_EQ(WriteAndRead(c, good), "A=1\n");
  auto r = MakeTarget(c)->Render(Sample());
  ASSERT_TRUE(HasError(r, ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_EQ(r.error().message.find("p\"a"), std::string::npos);
  EXPECT_EQ(Slurp(c.path), "A=1\n");
}

// The manifest is laid out as `kubectl create secret generic web
// --from-literal=API_KEY=k1 --dry-run=client -o yaml -n prod` prints it.
TEST_F(TargetTest, KubernetesSecretMatchesKubectlsLayout) {
  TargetConfig c = Config(TargetKind::kKubernetesSecret, "manifests");
  c.secret_name = "web";
  c.namespace_ = "prod";
  Values v;
  v["API_KEY"] = SecretBytes("k1");
  EXPECT_EQ(WriteAndRead(c, v),
            "apiVersion: v1\ndata:\n  API_KEY: azE=\nkind: Secret\nmetadata:\n"
            "  creationTimestamp: null\n  name: web\n  namespace: prod\n");
}

// A key Kubernetes does not allow fails the rendering (nothing written).
TEST_F(TargetTest, KubernetesSecretRefusesAnInvalidKey) {
  TargetConfig c = Config(TargetKind::kKubernetesSecret, "manifests");
  c.secret_name = "web";
  Values v;
  v["bad key"] = SecretBytes("x");
  EXPECT_TRUE(HasError(MakeTarget(c)->Render(v), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

// A directory target writes one file per key and removes the file of a key
// that is gone.
TEST_F(TargetTest, DirectoryWritesOneFilePerKeyAndRemovesGoneKeys) {
  TargetConfig c = Config(TargetKind::kDirectory, "secrets");
  WriteAndRead(c, Sample());
  EXPECT_EQ(Slurp(c.path + "/API_KEY"), "k1");
  Values fewer;
  fewer["API_KEY"] = SecretBytes("k2");
  WriteAndRead(c, fewer);
  EXPECT_EQ(Slurp(c.path + "/API_KEY"), "k2");
  struct stat st {};
  EXPECT_NE(::stat((c.path + "/DB_PASSWORD").c_str(), &st), 0);
}

// Writing identical content changes nothing (no rollout follows).
TEST_F(TargetTest, UnchangedContentIsNotRewritten) {
  TargetConfig c = Config(TargetKind::kDotenv, "same.env");
  auto t = MakeTarget(c);
  auto r = t->Render(Sample());
  ASSERT_TRUE(IsOk(r));
  EXPECT_THAT(WriteFiles(*r), IsOkAndHolds(true));
  EXPECT_THAT(WriteFiles(*r), IsOkAndHolds(false));
}

// A template target renders ESO's template syntax into one file.
TEST_F(TargetTest, TemplateRendersOneFile) {
  TargetConfig c = Config(TargetKind::kTemplate, "config.ini");
  c.template_text = "[api]\nkey = {{ .API_KEY }}\n";
  EXPECT_EQ(WriteAndRead(c, Sample()), "[api]\nkey = k1\n");
}

}  // namespace
}  // namespace coffer::agent
