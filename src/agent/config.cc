#include "agent/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <csignal>
#include <fstream>
#include <sstream>
#include <utility>

namespace coffer::agent {
namespace {

Error Invalid(std::string message) {
  return Error{ErrorCode::kInvalidArgument, Reason::kValidation, std::move(message)};
}

// Everything below may throw YAML::Exception; ParseAgentConfig catches it.

// node[key] without yaml-cpp's throw on a key of a missing node: a null node
// when `node` is not a map or has no `key`.
YAML::Node Child(const YAML::Node& node, const char* key) {
  if (!node || !node.IsMap()) return YAML::Node();
  YAML::Node v = node[key];
  return v ? v : YAML::Node();
}

std::string Str(const YAML::Node& node, const char* key, std::string fallback = "") {
  YAML::Node v = node[key];
  if (!v || v.IsNull()) return fallback;
  if (!v.IsScalar()) throw YAML::Exception(v.Mark(), std::string(key) + " must be a string");
  return v.as<std::string>();
}

Result<Duration> DurationField(const YAML::Node& node, const char* key, Duration fallback,
                               const std::string& where) {
  YAML::Node v = node[key];
  if (!v || v.IsNull()) return fallback;
  auto d = ParseDuration(v.as<std::string>());
  if (!d) return Fail(Invalid(where + "." + key + ": " + d.error().message));
  return *d;
}

Result<WaitWindow> WaitField(const YAML::Node& node, WaitWindow fallback,
                             const std::string& where) {
  YAML::Node w = node["wait"];
  if (!w || w.IsNull()) return fallback;
  if (!w.IsMap()) return Fail(Invalid(where + ".wait must be {min, max}"));
  WaitWindow out;
  COFFER_ASSIGN_OR_RETURN(out.min, DurationField(w, "min", fallback.min, where + ".wait"));
  COFFER_ASSIGN_OR_RETURN(out.max, DurationField(w, "max", fallback.max, where + ".wait"));
  if (out.max < out.min) return Fail(Invalid(where + ".wait: max must not be less than min"));
  return out;
}

int SignalNumber(const std::string& name) {
  static const std::map<std::string, int> kSignals = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"TERM", SIGTERM},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"KILL", SIGKILL}};
  std::string n = name;
  if (n.starts_with("SIG")) n = n.substr(3);
  auto it = kSignals.find(n);
  return it == kSignals.end() ? 0 : it->second;
}

Result<TargetConfig> ParseTarget(const YAML::Node& t, const std::string& where) {
  TargetConfig out;
  std::string type = Str(t, "type");
  static const std::map<std::string, TargetKind> kKinds = {
      {"directory", TargetKind::kDirectory},
      {"template", TargetKind::kTemplate},
      {"dotenv", TargetKind::kDotenv},
      {"ecs-env", TargetKind::kEcsEnv},
      {"kubernetes-secret", TargetKind::kKubernetesSecret}};
  auto kind = kKinds.find(type);
  if (kind == kKinds.end()) {
    return Fail(Invalid(where + ".type: '" + type +
                        "' is not one of directory, template, dotenv, ecs-env, "
                        "kubernetes-secret"));
  }
  out.kind = kind->second;
  out.path = Str(t, "path");
  if (out.path.empty()) return Fail(Invalid(where + ".path is required"));
  std::string mode = Str(t, "mode", "0600");
  unsigned m = 0;
  auto [end, ec] = std::from_chars(mode.data(), mode.data() + mode.size(), m, 8);
  if (ec != std::errc() || end != mode.data() + mode.size() || m > 0777) {
    return Fail(Invalid(where + ".mode: '" + mode + "' is not an octal file mode"));
  }
  out.mode = static_cast<int>(m);
  if (t["uid"]) out.uid = t["uid"].as<int>();
  if (t["gid"]) out.gid = t["gid"].as<int>();
  out.template_text = Str(t, "template");
  if (out.kind == TargetKind::kTemplate && out.template_text.empty()) {
    return Fail(Invalid(where + ".template is required for a template target"));
  }
  out.secret_name = Str(t, "name");
  out.namespace_ = Str(t, "namespace");
  out.secret_type = Str(t, "secretType");
  if (out.kind == TargetKind::kKubernetesSecret && out.secret_name.empty()) {
    return Fail(Invalid(where + ".name (the Secret's name) is required"));
  }
  return out;
}

Result<RolloutConfig> ParseRollout(const YAML::Node& r, const std::string& where) {
  RolloutConfig out;
  if (!r || r.IsNull()) return out;
  if (YAML::Node c = r["command"]) {
    if (c.IsScalar()) {
      out.command = {"/bin/sh", "-c", c.as<std::string>()};
    } else {
      for (const auto& a : c) out.command.push_back(a.as<std::string>());
    }
  }
  if (YAML::Node s = r["signal"]) {
    out.pid_file = Str(s, "pidFile");
    if (s["pid"]) out.pid = s["pid"].as<int>();
    std::string name = Str(s, "signal", "HUP");
    out.signal = SignalNumber(name);
    if (out.signal == 0) return Fail(Invalid(where + ".signal.signal: unknown signal " + name));
    if (out.pid_file.empty() && out.pid <= 0) {
      return Fail(Invalid(where + ".signal needs pidFile or pid"));
    }
  }
  if (YAML::Node k = r["kubectl"]) {
    out.kubectl_deployment = Str(k, "deployment");
    out.kubectl_namespace = Str(k, "namespace");
    if (out.kubectl_deployment.empty()) {
      return Fail(Invalid(where + ".kubectl.deployment is required"));
    }
  }
  if (YAML::Node a = r["annotation"]) {
    out.annotation_patch_file = Str(a, "patchFile");
    out.annotation_deployment = Str(a, "deployment");
    if (out.annotation_patch_file.empty() || out.annotation_deployment.empty()) {
      return Fail(Invalid(where + ".annotation needs patchFile and deployment"));
    }
  }
  COFFER_ASSIGN_OR_RETURN(out.rate_limit, DurationField(r, "rateLimit", Duration{0}, where));
  return out;
}

Result<std::vector<KeySpec>> ParseKeys(const YAML::Node& w, const std::string& where) {
  std::vector<KeySpec> out;
  for (const auto& p : w["parameters"]) {
    KeySpec k;
    if (p["path"]) {
      k.kind = KeySpec::Kind::kParameterPath;
      k.name = Str(p, "path");
      while (k.name.size() > 1 && k.name.back() == '/') k.name.pop_back();
    } else {
      k.kind = KeySpec::Kind::kParameter;
      k.name = Str(p, "name");
      k.key = Str(p, "key");
    }
    if (k.name.empty()) return Fail(Invalid(where + ".parameters[]: path or name is required"));
    out.push_back(std::move(k));
  }
  for (const auto& s : w["secrets"]) {
    KeySpec k;
    k.kind = KeySpec::Kind::kSecret;
    k.name = Str(s, "name");
    k.key = Str(s, "key");
    k.property = Str(s, "property");
    k.extract = s["extract"] && s["extract"].as<bool>();
    if (k.name.empty()) return Fail(Invalid(where + ".secrets[].name is required"));
    out.push_back(std::move(k));
  }
  for (const auto& f : w["sops"]) {
    KeySpec k;
    k.kind = KeySpec::Kind::kSopsFile;
    k.name = Str(f, "file");
    if (k.name.empty()) return Fail(Invalid(where + ".sops[].file is required"));
    out.push_back(std::move(k));
  }
  return out;
}

Status ParseAgentDocument(const YAML::Node& doc, AgentConfig& config) {
  if (YAML::Node s = doc["server"]) {
    std::string kind = Str(s, "source", "coffer");
    if (kind == "coffer") {
      config.server.kind = SourceKind::kCoffer;
    } else if (kind == "poll") {
      config.server.kind = SourceKind::kPoll;
    } else {
      return Fail(Invalid("server.source: '" + kind + "' is not coffer or poll"));
    }
    config.server.endpoint = Str(s, "endpoint");
    config.server.region = Str(s, "region");
    config.server.profile = Str(s, "profile");
    config.server.ca_bundle = Str(s, "caBundle");
    COFFER_ASSIGN_OR_RETURN(config.server.interval,
                            DurationField(s, "interval", config.server.interval, "server"));
    if (s["feedWait"]) {
      COFFER_ASSIGN_OR_RETURN(Duration d, DurationField(s, "feedWait", Duration{20000}, "server"));
      config.server.feed_wait_seconds =
          static_cast<int>(std::clamp<int64_t>(d.count() / 1000, 0, 60));
    }
  }
  config.state_file = Str(doc, "stateFile", config.state_file);
  config.metrics_listen = Str(doc, "metrics", config.metrics_listen);
  COFFER_ASSIGN_OR_RETURN(config.wait, WaitField(doc, config.wait, "Agent"));
  for (const auto& w : doc["workloads"]) {
    WorkloadConfig wl;
    wl.name = Str(w, "name");
    std::string where = "workloads[" + wl.name + "]";
    if (wl.name.empty()) return Fail(Invalid("workloads[]: name is required"));
    COFFER_ASSIGN_OR_RETURN(wl.keys, ParseKeys(w, where));
    for (const auto& t : w["targets"]) {
      COFFER_ASSIGN_OR_RETURN(TargetConfig target, ParseTarget(t, where + ".targets[]"));
      wl.targets.push_back(std::move(target));
    }
    if (wl.targets.empty()) return Fail(Invalid(where + ": at least one target is required"));
    COFFER_ASSIGN_OR_RETURN(wl.rollout, ParseRollout(w["rollout"], where + ".rollout"));
    if (w["wait"]) {
      COFFER_ASSIGN_OR_RETURN(WaitWindow ww, WaitField(w, config.wait, where));
      wl.wait = ww;
    }
    COFFER_ASSIGN_OR_RETURN(wl.refresh_interval,
                            DurationField(w, "refreshInterval", Duration{0}, where));
    config.workloads.push_back(std::move(wl));
  }
  return Ok();
}

// --- External Secrets Operator documents (docs/migrating-from-eso.md) ---------

struct EsoStore {
  KeySpec::Kind kind = KeySpec::Kind::kSecret;  // SecretsManager; kParameter for ParameterStore
  std::string region;
};

Status ParseEsoStore(const YAML::Node& doc, std::map<std::string, EsoStore>& stores) {
  std::string name = Str(doc["metadata"], "name");
  std::string where = Str(doc, "kind") + "/" + name;
  YAML::Node aws = Child(Child(Child(doc, "spec"), "provider"), "aws");
  if (!aws.IsMap()) {
    return Fail(Invalid(where + ": only the aws provider (ParameterStore, SecretsManager) is "
                        "accepted"));
  }
  EsoStore store;
  std::string service = Str(aws, "service");
  if (service == "ParameterStore") {
    store.kind = KeySpec::Kind::kParameter;
  } else if (service == "SecretsManager") {
    store.kind = KeySpec::Kind::kSecret;
  } else {
    return Fail(Invalid(where + ".spec.provider.aws.service: '" + service +
                        "' is not ParameterStore or SecretsManager"));
  }
  store.region = Str(aws, "region");
  // role and auth (secretRef, jwt) name Kubernetes objects the agent does not
  // read: the agent's own AWS credential chain is used (docs/migrating-from-eso.md).
  stores[Str(doc, "kind") + "/" + name] = store;
  return Ok();
}

Status ParseExternalSecret(const YAML::Node& doc, const std::map<std::string, EsoStore>& stores,
                           AgentConfig& config) {
  YAML::Node spec = doc["spec"];
  std::string name = Str(doc["metadata"], "name");
  std::string ns = Str(doc["metadata"], "namespace");
  std::string where = "ExternalSecret/" + name;
  YAML::Node ref = spec["secretStoreRef"];
  std::string store_kind = Str(ref, "kind", "SecretStore");
  auto store = stores.find(store_kind + "/" + Str(ref, "name"));
  if (store == stores.end()) {
    return Fail(Invalid(where + ".spec.secretStoreRef: no " + store_kind + " named '" +
                        Str(ref, "name") + "' in the configuration"));
  }
  KeySpec::Kind kind = store->second.kind;
  WorkloadConfig wl;
  wl.name = name;
  COFFER_ASSIGN_OR_RETURN(wl.refresh_interval,
                          DurationField(spec, "refreshInterval", Duration{3600000}, where));
  for (const auto& d : spec["data"]) {
    KeySpec k;
    k.kind = kind;
    k.key = Str(d, "secretKey");
    YAML::Node remote = d["remoteRef"];
    if (Str(remote, "metadataPolicy", "None") != "None") {
      return Fail(Invalid(where + ".spec.data[].remoteRef.metadataPolicy: only None (values, "
                          "not tags) is accepted"));
    }
    k.name = Str(remote, "key");
    k.property = Str(remote, "property");
    k.version = Str(remote, "version");
    if (k.key.empty() || k.name.empty()) {
      return Fail(Invalid(where + ".spec.data[]: secretKey and remoteRef.key are required"));
    }
    wl.keys.push_back(std::move(k));
  }
  for (const auto& d : spec["dataFrom"]) {
    if (YAML::Node extract = d["extract"]) {
      KeySpec k;
      k.kind = kind;
      k.name = Str(extract, "key");
      k.property = Str(extract, "property");
      k.version = Str(extract, "version");
      k.extract = true;
      wl.keys.push_back(std::move(k));
    } else if (YAML::Node find = d["find"]) {
      if (kind != KeySpec::Kind::kParameter || !find["path"]) {
        return Fail(Invalid(where + ".spec.dataFrom[].find: only find.path on a ParameterStore "
                            "store is accepted (name.regexp narrows it)"));
      }
      KeySpec k;
      k.kind = KeySpec::Kind::kParameterPath;
      k.name = Str(find, "path");
      while (k.name.size() > 1 && k.name.back() == '/') k.name.pop_back();
      if (YAML::Node n = find["name"]) k.property = Str(n, "regexp");  // regexp filter
      wl.keys.push_back(std::move(k));
    } else {
      return Fail(Invalid(where + ".spec.dataFrom[]: extract or find is required"));
    }
  }
  YAML::Node target = spec["target"];
  wl.creation_policy = Str(target, "creationPolicy", "Owner");
  wl.deletion_policy = Str(target, "deletionPolicy", "Retain");
  if (wl.creation_policy != "Owner" && wl.creation_policy != "Orphan" &&
      wl.creation_policy != "Merge" && wl.creation_policy != "None") {
    return Fail(Invalid(where + ".spec.target.creationPolicy: '" + wl.creation_policy + "'"));
  }
  if (wl.deletion_policy != "Retain" && wl.deletion_policy != "Delete" &&
      wl.deletion_policy != "Merge") {
    return Fail(Invalid(where + ".spec.target.deletionPolicy: '" + wl.deletion_policy + "'"));
  }
  TargetConfig t;
  t.kind = TargetKind::kKubernetesSecret;
  t.secret_name = Str(target, "name", name);
  t.namespace_ = ns;
  YAML::Node coffer = Child(Child(doc["metadata"], "annotations"), "coffer.dev/manifest-dir");
  t.path = coffer.IsScalar() ? coffer.as<std::string>() : config.eso_manifest_dir;
  if (t.path.empty()) {
    return Fail(Invalid(where + ": no manifest directory (set esoManifestDir in the Agent "
                        "document)"));
  }
  if (YAML::Node tpl = target["template"]) {
    t.secret_type = Str(tpl, "type");
    std::string engine = Str(tpl, "engineVersion", "v2");
    if (engine != "v2") return Fail(Invalid(where + ": only template engineVersion v2"));
    for (const auto& kv : tpl["data"]) {
      t.template_data[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
    for (const auto& kv : Child(Child(tpl, "metadata"), "labels")) {
      t.labels[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
    for (const auto& kv : Child(Child(tpl, "metadata"), "annotations")) {
      t.annotations[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
  }
  wl.targets.push_back(std::move(t));
  config.workloads.push_back(std::move(wl));
  return Ok();
}

Result<AgentConfig> ParseDocuments(std::string_view text) {
  std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
  AgentConfig config;
  std::map<std::string, EsoStore> stores;
  bool have_agent = false;
  for (const YAML::Node& doc : docs) {
    if (!doc || doc.IsNull()) continue;
    if (!doc.IsMap()) return Fail(Invalid("every document must be a mapping"));
    std::string kind = Str(doc, "kind");
    if (kind == "Agent") {
      if (have_agent) return Fail(Invalid("more than one Agent document"));
      have_agent = true;
      COFFER_RETURN_IF_ERROR(ParseAgentDocument(doc, config));
      config.eso_manifest_dir = Str(doc, "esoManifestDir");
    } else if (kind == "SecretStore" || kind == "ClusterSecretStore") {
      COFFER_RETURN_IF_ERROR(ParseEsoStore(doc, stores));
    } else if (kind != "ExternalSecret") {
      return Fail(Invalid("unknown document kind '" + kind +
                          "' (Agent, ExternalSecret, SecretStore, ClusterSecretStore)"));
    }
  }
  // ExternalSecrets after every store and the Agent document, whatever the order.
  for (const YAML::Node& doc : docs) {
    if (doc && doc.IsMap() && Str(doc, "kind") == "ExternalSecret") {
      COFFER_RETURN_IF_ERROR(ParseExternalSecret(doc, stores, config));
    }
  }
  std::map<std::string, int> seen;
  for (const WorkloadConfig& w : config.workloads) {
    if (++seen[w.name] > 1) return Fail(Invalid("workload '" + w.name + "' is defined twice"));
  }
  return config;
}

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return Fail(Invalid("'" + std::string(text) + "' is not a duration (1500ms, 2s, 1m, 1h)"));
  };
  if (text.empty()) return bad();
  int64_t plain = 0;
  auto [pend, pec] = std::from_chars(text.data(), text.data() + text.size(), plain);
  if (pec == std::errc() && pend == text.data() + text.size()) {
    if (plain < 0) return bad();
    return Duration{plain * 1000};
  }
  int64_t total = 0;
  while (!text.empty()) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || n < 0) return bad();
    text.remove_prefix(end - text.data());
    int64_t unit = 0;
    if (text.starts_with("ms")) {
      unit = 1;
      text.remove_prefix(2);
    } else if (text.starts_with("s")) {
      unit = 1000;
      text.remove_prefix(1);
    } else if (text.starts_with("m")) {
      unit = 60000;
      text.remove_prefix(1);
    } else if (text.starts_with("h")) {
      unit = 3600000;
      text.remove_prefix(1);
    } else {
      return bad();
    }
    total += n * unit;
  }
  return Duration{total};
}

Result<AgentConfig> ParseAgentConfig(std::string_view text) {
  try {
    return ParseDocuments(text);
  } catch (const YAML::Exception& e) {
    return Fail(Invalid("configuration: line " + std::to_string(e.mark.line + 1) + ": " + e.msg));
  }
}

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Fail(ErrorCode::kInvalidArgument, "cannot read the configuration file " + path,
                Reason::kValidation);
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto config = ParseAgentConfig(buffer.str());
  if (!config) {
    Error e = config.error();
    e.message = path + ": " + e.message;
    return Fail(std::move(e));
  }
  return config;
}

}  // namespace coffer::agent
