#include "agent/agent.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <utility>

#include "agent/rollout.h"
#include "client/changes.h"
#include "crypto/crypto.h"
#include "util/log.h"
#include "util/private_file.h"

namespace coffer::agent {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

std::string Label(std::string_view key, std::string_view value) {
  std::string out(key);
  out += "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c == '\n' ? ' ' : c);
  }
  out += "\"";
  return out;
}

int64_t UnixSeconds(util::SystemTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Backoff after `failures` failures in a row: 1 s doubling to 30 s.
milliseconds Backoff(int failures) {
  int64_t ms = 1000LL << std::min(failures, 5);
  return milliseconds(std::min<int64_t>(ms, 30000));
}

}  // namespace

Agent::Agent(AgentConfig config, client::AwsConfig aws, util::Clock& clock)
    : config_(std::move(config)), aws_(std::move(aws)), clock_(clock),
      source_(aws_, metrics_, clock_), sops_(aws_.endpoint, clock_) {
  metrics_.Describe("coffer_agent_syncs_total", "counter", "Workload syncs by result");
  metrics_.Describe("coffer_agent_sync_failures_total", "counter",
                    "Failed syncs (the last good content was kept)");
  metrics_.Describe("coffer_agent_last_sync_timestamp_seconds", "gauge",
                    "Unix time of the last successful sync of each target");
  metrics_.Describe("coffer_agent_propagation_seconds", "histogram",
                    "From the change reaching the agent to the target written");
  metrics_.Describe("coffer_agent_rollouts_total", "counter", "Rollouts by workload and result");
  metrics_.Describe("coffer_agent_changes_total", "counter", "Changes seen per workload");
  metrics_.Describe("coffer_agent_changes_coalesced_total", "counter",
                    "Changes folded into another change's rendering");
  metrics_.Describe("coffer_agent_feed_revision", "gauge", "Last revision read from the feed");
  metrics_.Describe("coffer_agent_feed_errors_total", "counter", "Failed change feed reads");
  metrics_.Describe("coffer_agent_resyncs_total", "counter", "Full resyncs (feed answered 410)");
  for (const WorkloadConfig& wc : config_.workloads) {
    auto w = std::make_unique<Workload>(Workload{
        &wc, {}, Coalescer(wc.wait.value_or(config_.wait), wc.rollout.rate_limit), {}, 0, {}});
    for (const TargetConfig& tc : wc.targets) w->targets.push_back(MakeTarget(tc));
    workloads_.push_back(std::move(w));
  }
}

Agent::~Agent() {
  Stop();
  if (follower_.joinable()) follower_.join();
}

Status Agent::Start() {
  if (config_.metrics_listen.empty()) return Ok();
  COFFER_ASSIGN_OR_RETURN(metrics_server_,
                          MetricsServer::Start(config_.metrics_listen,
                                               [this] { return metrics_.Render(); }));
  return Ok();
}

std::string Agent::metrics_address() const {
  return metrics_server_ ? metrics_server_->address() : "";
}

void Agent::Stop() {
  {
    util::MutexLock lock(mu_);
    stopping_ = true;
  }
  wake_.NotifyAll();
}

void Agent::LoadState() {
  if (config_.state_file.empty()) return;
  std::ifstream in(config_.state_file);
  if (!in) return;
  std::stringstream buffer;
  buffer << in.rdbuf();
  json state = json::parse(buffer.str(), nullptr, /*allow_exceptions=*/false);
  if (state.is_object() && state.contains("revision") && state["revision"].is_number_integer() &&
      state.value("endpoint", "") == aws_.endpoint) {
    util::MutexLock lock(mu_);
    followed_ = state["revision"].get<int64_t>();
    saved_ = followed_;
    util::LogInfo("agent: resuming from the saved revision", {{"revision", followed_}});
  } else {
    util::LogWarn("agent: the state file is unreadable or for another endpoint; full resync",
                  {{"file", config_.state_file}});
  }
}

void Agent::SaveState(int64_t revision) {
  if (config_.state_file.empty() || revision == saved_) return;
  json state = {{"revision", revision}, {"endpoint", aws_.endpoint}};
  if (Status s = util::WritePrivateFile(config_.state_file, state.dump() + "\n"); !s) {
    util::LogWarn("agent: cannot write the state file", {{"error", s.error().message}});
    return;
  }
  saved_ = revision;
}

bool Agent::Matches(const WorkloadConfig& w, std::string_view type,
                    std::string_view name) const {
  for (const KeySpec& k : w.keys) {
    switch (k.kind) {
      case KeySpec::Kind::kParameterPath:
        if (type == "parameter" &&
            (name == k.name || (name.starts_with(k.name) &&
                                (k.name == "/" || name.substr(k.name.size()).starts_with("/"))))) {
          return true;
        }
        break;
      case KeySpec::Kind::kParameter:
        if (type == "parameter" && name == k.name) return true;
        break;
      case KeySpec::Kind::kSecret:
        if (type == "secret" && (name == k.name || k.name.ends_with(":secret:" +
                                                                    std::string(name)))) {
          return true;
        }
        // An ARN names the secret with a 6-character suffix.
        if (type == "secret" && k.name.starts_with("arn:") &&
            k.name.find(":secret:" + std::string(name) + "-") != std::string::npos) {
          return true;
        }
        break;
      case KeySpec::Kind::kSopsFile:
        break;  // watched by modification time, not through the feed
    }
  }
  return false;
}

void Agent::Follow() {
  client::FeedQuery query;
  query.wait_seconds = config_.server.feed_wait_seconds;
  int failures = 0;
  for (;;) {
    {
      util::MutexLock lock(mu_);
      if (stopping_) return;
      query.since = followed_ < 0 ? INT64_MAX : followed_;  // INT64_MAX: learn the current one
    }
    auto page = client::ReadChanges(aws_, query, clock_);
    if (!page) {
      metrics_.Increment("coffer_agent_feed_errors_total", "");
      util::LogWarn("agent: change feed read failed; retrying",
                    {{"error", page.error().message}, {"failures", failures + 1}});
      util::MutexLock lock(mu_);
      // 0.5 s doubling to 5 s: a server back from a restart is found quickly.
      milliseconds wait(std::min<int64_t>(500LL << std::min(failures++, 4), 5000));
      wake_.WaitFor(lock, wait,
                    [&]() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; });
      continue;
    }
    failures = 0;
    util::SteadyTime now = clock_.SteadyNow();
    {
      util::MutexLock lock(mu_);
      if (page->resync) {
        if (followed_ >= 0) {
          metrics_.Increment("coffer_agent_resyncs_total", "");
          util::LogWarn("agent: the feed no longer holds our revision; full resync",
                        {{"revision", followed_}, {"current", page->revision}});
        }
        for (auto& w : workloads_) w->coalescer.Force(now);
      } else {
        for (const client::FeedChange& c : page->changes) {
          for (auto& w : workloads_) {
            if (!Matches(*w->config, c.type, c.name)) continue;
            w->coalescer.Note(now);
            metrics_.Increment("coffer_agent_changes_total", Label("workload", w->config->name));
          }
        }
      }
      followed_ = page->revision;
      metrics_.Set("coffer_agent_feed_revision", "", followed_);
    }
    wake_.NotifyAll();
  }
}

bool Agent::Sync(Workload& w, std::optional<util::SteadyTime> first_change) {
  const WorkloadConfig& wc = *w.config;
  std::string wl = Label("workload", wc.name);
  auto failed = [&](const Error& e) {
    metrics_.Increment("coffer_agent_syncs_total", wl + ",result=\"error\"");
    metrics_.Increment("coffer_agent_sync_failures_total", wl);
    util::LogWarn("agent: sync failed; the targets keep their last good content",
                  {{"workload", wc.name}, {"error", e.message}});
    return false;
  };
  if (wc.creation_policy == "None") return true;
  std::vector<KeySpec> remote;
  std::vector<const KeySpec*> files;
  for (const KeySpec& k : wc.keys) {
    if (k.kind == KeySpec::Kind::kSopsFile) {
      files.push_back(&k);
    } else {
      remote.push_back(k);
    }
  }
  Result<Fetched> fetched = Fetched{};
  if (!remote.empty()) fetched = source_.Fetch(remote);
  if (!fetched) return failed(fetched.error());
  for (const KeySpec* k : files) {
    auto values = sops_.Read(k->name);
    if (!values) return failed(values.error());
    for (auto& [key, value] : *values) fetched->values[key] = std::move(value);
  }
  if (!fetched->missing.empty() && wc.deletion_policy != "Delete") {
    std::string names;
    for (const std::string& n : fetched->missing) names += (names.empty() ? "" : ", ") + n;
    return failed(Error{ErrorCode::kNotFound, Reason::kNone, "not found: " + names});
  }
  // Render every target before writing any: a rendering error writes nothing.
  std::vector<Rendering> renderings;
  std::string hash_input;
  for (const auto& t : w.targets) {
    auto r = t->Render(fetched->values);
    if (!r) return failed(r.error());
    for (const RenderedFile& f : r->files) {
      hash_input += crypto::Sha256Hex(f.content.Reveal());
    }
    renderings.push_back(std::move(*r));
  }
  bool changed = false;
  for (size_t i = 0; i < renderings.size(); ++i) {
    auto wrote = WriteFiles(renderings[i]);
    if (!wrote) return failed(wrote.error());
    changed = changed || *wrote;
    metrics_.Set("coffer_agent_last_sync_timestamp_seconds",
                 wl + "," + Label("target", w.targets[i]->path()), UnixSeconds(clock_.Now()));
  }
  metrics_.Increment("coffer_agent_syncs_total", wl + ",result=\"ok\"");
  if (first_change) {
    double seconds = std::chrono::duration<double>(clock_.SteadyNow() - *first_change).count();
    metrics_.Observe("coffer_agent_propagation_seconds", wl, seconds);
  }
  if (changed) {
    util::LogInfo("agent: targets updated", {{"workload", wc.name}});
    if (HasRollout(wc.rollout)) {
      Status s = RunRollout(wc.name, wc.rollout, crypto::Sha256Hex(hash_input));
      w.coalescer.RolledOut(clock_.SteadyNow());
      metrics_.Increment("coffer_agent_rollouts_total",
                         wl + (s ? ",result=\"ok\"" : ",result=\"error\""));
      if (!s) {
        util::LogWarn("agent: rollout failed", {{"workload", wc.name},
                                                {"error", s.error().message}});
      }
    }
  }
  return true;
}

void Agent::Run() {
  LoadState();
  util::SteadyTime start = clock_.SteadyNow();
  {
    util::MutexLock lock(mu_);
    // Following the feed without a saved revision, the first sync waits for
    // the follower to learn the current revision (its first answer forces
    // it): a sync before that could miss a change made in between.
    bool sync_now = config_.server.kind != SourceKind::kCoffer || followed_ >= 0;
    for (auto& w : workloads_) {
      if (sync_now) w->coalescer.Force(start);
      Duration refresh = config_.server.kind == SourceKind::kPoll ? config_.server.interval
                                                                   : w->config->refresh_interval;
      if (refresh.count() > 0) w->next_refresh = start + refresh;
    }
  }
  if (config_.server.kind == SourceKind::kCoffer) follower_ = std::thread([this] { Follow(); });
  for (;;) {
    std::vector<std::pair<Workload*, std::optional<util::SteadyTime>>> due;
    {
      util::MutexLock lock(mu_);
      for (;;) {
        if (stopping_) return;
        util::SteadyTime now = clock_.SteadyNow();
        util::SteadyTime next = util::SteadyTime::max();
        for (auto& w : workloads_) {
          Duration refresh = config_.server.kind == SourceKind::kPoll
                                 ? config_.server.interval
                                 : w->config->refresh_interval;
          if (refresh.count() > 0 && w->next_refresh <= now) {
            w->coalescer.Force(now);
            w->next_refresh = now + refresh;
          }
          if (refresh.count() > 0) next = std::min(next, w->next_refresh);
          // SOPS files: re-rendered when their modification time moves (checked
          // every second; a stat is cheap).
          bool has_files = false;
          for (const KeySpec& k : w->config->keys) {
            if (k.kind != KeySpec::Kind::kSopsFile) continue;
            has_files = true;
            int64_t mtime = ModificationTime(k.name);
            auto [it, inserted] = w->sops_mtimes.emplace(k.name, mtime);
            if (!inserted && it->second != mtime) {
              it->second = mtime;
              w->coalescer.Note(now);
            }
          }
          if (has_files) next = std::min(next, now + std::chrono::seconds(1));
          if (!w->coalescer.pending()) continue;
          util::SteadyTime d = w->coalescer.due();
          if (d <= now) {
            auto first = w->coalescer.first_change();
            int64_t n = w->coalescer.Rendered();
            if (n > 1) {
              metrics_.Increment("coffer_agent_changes_coalesced_total",
                                 Label("workload", w->config->name), n - 1);
            }
            due.emplace_back(w.get(), n > 0 ? first : std::nullopt);
          } else {
            next = std::min(next, d);
          }
        }
        if (!due.empty()) break;
        bool any_pending = false;
        for (auto& w : workloads_) any_pending = any_pending || w->coalescer.pending();
        if (!any_pending && followed_ >= 0 && followed_ != saved_) {
          int64_t f = followed_;
          lock.Unlock();
          SaveState(f);
          lock.Lock();
          continue;
        }
        wake_.WaitUntil(lock, next);
      }
    }
    for (auto& [w, first] : due) {
      bool ok = Sync(*w, first);
      util::MutexLock lock(mu_);
      if (ok) {
        w->failures = 0;
      } else {
        w->coalescer.Force(clock_.SteadyNow() + Backoff(w->failures++));
      }
    }
  }
}

}  // namespace coffer::agent
