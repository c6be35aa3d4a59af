#include "agent/config.h"

#include <gtest/gtest.h>

#include "support/matchers.h"

namespace coffer::agent {
namespace {

using std::chrono::milliseconds;

// Go/ESO durations and plain seconds.
TEST(ConfigTest, ParsesDurations) {
  EXPECT_EQ(*ParseDuration("1500ms"), milliseconds(1500));
  EXPECT_EQ(*ParseDuration("2s"), milliseconds(2000));
  EXPECT_EQ(*ParseDuration("1h30m"), milliseconds(5400000));
  EXPECT_EQ(*ParseDuration("15"), milliseconds(15000));
  EXPECT_TRUE(HasError(ParseDuration("soon"), ErrorCode::kInvalidArgument, Reason::kValidation));
}

constexpr const char* kAgent = R"(
kind: Agent
server: {endpoint: "http://127.0.0.1:1", feedWait: 5s}
stateFile: /tmp/state.json
metrics: 127.0.0.1:0
wait: {min: 1s, max: 20s}
workloads:
  - name: web
    parameters:
      - path: /app/web/
      - name: /shared/db/url
        key: DATABASE_URL
    secrets:
      - name: prod/api
        key: API
    targets:
      - {type: dotenv, path: /tmp/web.env, mode: "0640"}
      - {type: kubernetes-secret, path: /tmp/manifests, name: web, namespace: prod}
    rollout:
      command: ["sh", "-c", "echo rolled >> /tmp/rollouts"]
      rateLimit: 30s
    wait: {min: 0s, max: 5s}
)";

// Coffer's own Agent document: server, state, window, workloads.
TEST(ConfigTest, ParsesTheAgentDocument) {
  auto c = ParseAgentConfig(kAgent);
  ASSERT_TRUE(IsOk(c));
  EXPECT_EQ(c->server.endpoint, "http://127.0.0.1:1");
  EXPECT_EQ(c->server.feed_wait_seconds, 5);
  EXPECT_EQ(c->wait.min, milliseconds(1000));
  ASSERT_EQ(c->workloads.size(), 1u);
  const WorkloadConfig& w = c->workloads[0];
  ASSERT_EQ(w.keys.size(), 3u);
  EXPECT_EQ(w.keys[0].kind, KeySpec::Kind::kParameterPath);
  EXPECT_EQ(w.keys[0].name, "/app/web");
  EXPECT_EQ(w.keys[1].key, "DATABASE_URL");
  EXPECT_EQ(w.keys[2].kind, KeySpec::Kind::kSecret);
  ASSERT_EQ(w.targets.size(), 2u);
  EXPECT_EQ(w.targets[0].mode, 0640);
  EXPECT_EQ(w.targets[1].secret_name, "web");
  EXPECT_EQ(w.rollout.command.size(), 3u);
  EXPECT_EQ(w.rollout.rate_limit, milliseconds(30000));
  ASSERT_TRUE(w.wait.has_value());
  EXPECT_EQ(w.wait->max, milliseconds(5000));
}

// Configuration errors name the field; nothing half-parsed is returned.
TEST(ConfigTest, RefusesBadDocuments) {
  EXPECT_TRUE(HasError(ParseAgentConfig("kind: Agent\nworkloads:\n  - name: a\n"),
                       ErrorCode::kInvalidArgument, Reason::kValidation));  // no target
  EXPECT_TRUE(HasError(
      ParseAgentConfig("kind: Agent\nworkloads:\n  - name: a\n    targets: [{type: xml, path: /x}]\n"),
      ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(ParseAgentConfig("kind: Agent\nwait: {min: 9s, max: 1s}\n"),
                       ErrorCode::kInvalidArgument, Reason::kValidation));
  EXPECT_TRUE(HasError(ParseAgentConfig("kind: Deployment\n"), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
  EXPECT_TRUE(HasError(ParseAgentConfig("kind: [\n"), ErrorCode::kInvalidArgument,
                       Reason::kValidation));
}

// ESO documents (tests/data/eso/README.md): a SecretStore and an ExternalSecret
// become one workload with a Kubernetes Secret target.
TEST(ConfigTest, AcceptsExternalSecretAndSecretStore) {
  constexpr const char* kEso = R"(
kind: Agent
esoManifestDir: /tmp/eso
---
apiVersion: external-secrets.io/v1beta1
kind: SecretStore
metadata: {name: ps}
spec:
  provider:
    aws: {service: ParameterStore, region: us-east-1}
---
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: {name: app, namespace: prod}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: ps, kind: SecretStore}
  target: {name: app-secret, creationPolicy: Owner, deletionPolicy: Retain}
  data:
    - secretKey: password
      remoteRef: {key: /app/db, property: password}
  dataFrom:
    - find: {path: /app/flags, name: {regexp: "^/app/flags/on"}}
)";
  auto c = ParseAgentConfig(kEso);
  ASSERT_TRUE(IsOk(c));
  ASSERT_EQ(c->workloads.size(), 1u);
  const WorkloadConfig& w = c->workloads[0];
  EXPECT_EQ(w.name, "app");
  EXPECT_EQ(w.refresh_interval, milliseconds(3600000));
  ASSERT_EQ(w.keys.size(), 2u);
  EXPECT_EQ(w.keys[0].kind, KeySpec::Kind::kParameter);
  EXPECT_EQ(w.keys[0].key, "password");
  EXPECT_EQ(w.keys[0].property, "password");
  EXPECT_EQ(w.keys[1].kind, KeySpec::Kind::kParameterPath);
  ASSERT_EQ(w.targets.size(), 1u);
  EXPECT_EQ(w.targets[0].kind, TargetKind::kKubernetesSecret);
  EXPECT_EQ(w.targets[0].secret_name, "app-secret");
  EXPECT_EQ(w.targets[0].namespace_, "prod");
  EXPECT_EQ(w.targets[0].path, "/tmp/eso");
}

// An ExternalSecret naming a store the configuration does not hold is refused.
TEST(ConfigTest, ExternalSecretWithUnknownStoreIsRefused) {
  EXPECT_TRUE(HasError(ParseAgentConfig(R"(
kind: Agent
esoManifestDir: /tmp/eso
---
kind: ExternalSecret
metadata: {name: app}
spec:
  secretStoreRef: {name: missing}
  data: [{secretKey: a, remoteRef: {key: b}}]
)"),
                       ErrorCode::kInvalidArgument, Reason::kValidation));
}

}  // namespace
}  // namespace coffer::agent
