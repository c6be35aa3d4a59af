#include "agent/rollout.h"

#include <gtest/gtest.h>

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

// A command runs once with COFFER_WORKLOAD naming the workload.
TEST(RolloutTest, CommandRunsWithTheWorkloadName) {
  coffer::testing::ScopedTempDir dir;
  RolloutConfig r;
  r.command = {"/bin/sh", "-c", "echo $COFFER_WORKLOAD >> " + dir.File("ran")};
  EXPECT_TRUE(IsOk(RunRollout("web", r, "abc")));
  EXPECT_EQ(Slurp(dir.File("ran")), "web\n");
}

// A failing command is reported (kUnavailable), naming the command only.
TEST(RolloutTest, FailingCommandIsReported) {
  RolloutConfig r;
  r.command = {"/bin/false"};
  EXPECT_TRUE(HasError(RunRollout("web", r, "abc"), ErrorCode::kUnavailable));
}

// The annotation action writes Reloader's pod-template annotation as a patch.
TEST(RolloutTest, AnnotationWritesTheHashPatch) {
  coffer::testing::ScopedTempDir dir;
  RolloutConfig r;
  r.annotation_patch_file = dir.File("patch.yaml");
  r.annotation_deployment = "web";
  EXPECT_TRUE(IsOk(RunRollout("web", r, "deadbeef")));
  EXPECT_EQ(Slurp(dir.File("patch.yaml")),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n"
            "    metadata:\n      annotations:\n        coffer.dev/secret-hash: \"deadbeef\"\n");
}

// A pid file without a pid is an error, not a signal to pid 0 (the process group).
TEST(RolloutTest, EmptyPidFileIsRefused) {
  coffer::testing::ScopedTempDir dir;
  { std::ofstream(dir.File("pid")) << ""; }
  RolloutConfig r;
  r.pid_file = dir.File("pid");
  EXPECT_TRUE(HasError(RunRollout("web", r, "abc"), ErrorCode::kUnavailable));
}

}  // namespace
}  // namespace coffer::agent
