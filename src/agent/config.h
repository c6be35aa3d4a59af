// agent/config: the agent's YAML configuration (docs/agent.md#configuration).
// One file, one or more YAML documents:
//
//   kind: Agent          (one; Coffer's own document: server, state, metrics,
//                         default wait window, workloads with their keys,
//                         targets and rollouts)
//   kind: ExternalSecret / SecretStore / ClusterSecretStore   (External Secrets
//                         Operator's documents, see agent/eso.h; each
//                         ExternalSecret becomes one workload)
//
// Parsing validates everything it can (durations, modes, target kinds, key
// names); errors are kInvalidArgument naming the document and field, never a
// value. yaml-cpp is used here and in eso.cc only.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace coffer::agent {

using Duration = std::chrono::milliseconds;

// The coalescing window (docs/agent.md#coalescing): a workload is rendered
// after `min` without a new change, and never later than `max` after the
// first change of the burst.
struct WaitWindow {
  Duration min{2000};
  Duration max{30000};
};

// Where values come from.
enum class SourceKind {
  kCoffer,  // a Coffer server: pushed through the change feed (GET /v1/changes)
  kPoll,    // any SSM / Secrets Manager endpoint, AWS included: polled at `interval`
};

struct ServerConfig {
  SourceKind kind = SourceKind::kCoffer;
  std::string endpoint;  // "" = the AWS chain's (AWS_ENDPOINT_URL, profile, AWS itself)
  std::string region;    // "" = the AWS chain's
  std::string profile;   // "" = AWS_PROFILE / default
  std::string ca_bundle;
  Duration interval{60000};   // kPoll: how often every workload is fetched
  int feed_wait_seconds = 20;  // kCoffer: long-poll length
};

// One selection of values.
struct KeySpec {
  enum class Kind { kParameterPath, kParameter, kSecret, kSopsFile };
  Kind kind = Kind::kParameter;
  std::string name;  // path ("/app/web"), parameter name, secret id or sops file path
  // The key in the rendered output. For a path: empty (each parameter's name
  // relative to the path, with '/' turned into '_'). Otherwise defaults to the
  // last '/'-separated segment of the name.
  std::string key;
  // ESO: a JSON property of the value to take ("" = the whole value), and a
  // version ("" = the current one).
  std::string property;
  std::string version;
  // ESO dataFrom.extract: the value is a JSON object whose members become keys.
  bool extract = false;
};

enum class TargetKind {
  kDirectory,         // one file per key in `path`
  kTemplate,          // one file rendered from `template`
  kDotenv,            // KEY="value" lines (docker compose, dotenv libraries)
  kEcsEnv,            // KEY=value lines as ECS environment files take them
  kKubernetesSecret,  // a v1 Secret manifest, written as `path`/<name>.yaml
};

struct TargetConfig {
  TargetKind kind = TargetKind::kDotenv;
  std::string path;  // file, or directory (kDirectory, kKubernetesSecret)
  int mode = 0600;
  std::optional<int> uid;
  std::optional<int> gid;
  std::string template_text;  // kTemplate (and ESO target.template)
  // kKubernetesSecret
  std::string secret_name;
  std::string namespace_;
  std::string secret_type;  // "" = none written (kubectl create secret generic's output)
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // ESO target.template.data: key -> template (rendered per key).
  std::map<std::string, std::string> template_data;
};

struct RolloutConfig {
  std::vector<std::string> command;  // run, no shell; env COFFER_WORKLOAD
  std::string pid_file;              // signal the pid it holds
  int pid = 0;                       // or this pid
  int signal = 1;                    // SIGHUP by default
  std::string kubectl_deployment;    // `kubectl rollout restart deployment/<name>`
  std::string kubectl_namespace;
  // Reloader's way, for GitOps: write a Deployment patch (strategic merge)
  // whose pod-template annotation coffer.dev/secret-hash is the sha256 of
  // every target's content, into this file.
  std::string annotation_patch_file;
  std::string annotation_deployment;
  Duration rate_limit{0};  // at most one rollout per this interval
};

struct WorkloadConfig {
  std::string name;
  std::vector<KeySpec> keys;
  std::vector<TargetConfig> targets;
  RolloutConfig rollout;
  std::optional<WaitWindow> wait;
  // ESO: refreshInterval (0 = only on changes / at start), creationPolicy
  // (Owner, Orphan, Merge, None: None renders nothing), deletionPolicy
  // (Retain, Delete: a key whose source is gone is dropped; Retain keeps the
  // last good content).
  Duration refresh_interval{0};
  std::string creation_policy = "Owner";
  std::string deletion_policy = "Retain";
};

struct AgentConfig {
  ServerConfig server;
  std::string state_file;                   // "" = no resume (full sync at each start)
  std::string metrics_listen = "127.0.0.1:9464";  // "" = no metrics endpoint
  WaitWindow wait;
  // Where ExternalSecrets' Secret manifests are written (an ExternalSecret's
  // annotation coffer.dev/manifest-dir overrides it).
  std::string eso_manifest_dir;
  std::vector<WorkloadConfig> workloads;
};

// "1500ms", "2s", "1m", "1h", "1h30m" (Go/ESO durations) or a plain number of
// seconds. kInvalidArgument otherwise.
Result<Duration> ParseDuration(std::string_view text);

// Parses the agent's configuration text (every document in it).
Result<AgentConfig> ParseAgentConfig(std::string_view text);

// Reads and parses `path`.
Result<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace coffer::agent
