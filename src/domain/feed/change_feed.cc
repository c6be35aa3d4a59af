#include "domain/feed/change_feed.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "util/encoding.h"

namespace coffer::domain::feed {
namespace {

constexpr std::string_view kParameterHead = "ssm/p/";
constexpr std::string_view kParameterVersion = "ssm/v/";
constexpr std::string_view kSecretHead = "sm/s/";
constexpr std::string_view kSecretVersion = "sm/v/";
constexpr size_t kVersionDigits = 10;

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "ssm/v/<name>/<10 digits>" -> (name, version without leading zeros).
bool ParseParameterVersion(std::string_view key, std::string& name, std::string& version) {
  std::string_view rest = key.substr(kParameterVersion.size());
  if (rest.size() < kVersionDigits + 2) return false;
  std::string_view digits = rest.substr(rest.size() - kVersionDigits);
  if (rest[rest.size() - kVersionDigits - 1] != '/' || !AllDigits(digits)) return false;
  name = std::string(rest.substr(0, rest.size() - kVersionDigits - 1));
  size_t first = digits.find_first_not_of('0');
  version = first == std::string_view::npos ? "0" : std::string(digits.substr(first));
  return !name.empty();
}

}  // namespace

std::string_view ChangeTypeName(ChangeType type) {
  return type == ChangeType::kParameter ? "parameter" : "secret";
}

std::vector<Change> Translate(const std::vector<storage::Event>& events) {
  std::vector<Change> out;
  for (const storage::Event& e : events) {
    std::string_view key = e.key;
    if (key.starts_with(kParameterVersion) && e.kind == storage::WriteKind::kPut) {
      Change c{e.revision, ChangeType::kParameter, {}, {}, false};
      if (ParseParameterVersion(key, c.name, c.version)) out.push_back(std::move(c));
    } else if (key.starts_with(kParameterHead) && e.kind == storage::WriteKind::kDelete) {
      std::string name(key.substr(kParameterHead.size()));
      if (!name.empty()) out.push_back(Change{e.revision, ChangeType::kParameter, name, "", true});
    } else if (key.starts_with(kSecretHead)) {
      std::string name(key.substr(kSecretHead.size()));
      if (name.empty()) continue;
      Change c{e.revision, ChangeType::kSecret, name, "", e.kind == storage::WriteKind::kDelete};
      if (!c.deleted) {
        // The version this commit wrote, if it wrote one: sm/v/<name>/<hex id>.
        std::string prefix = std::string(kSecretVersion) + name + "/";
        for (const storage::Event& v : events) {
          if (v.revision != e.revision || v.kind != storage::WriteKind::kPut) continue;
          std::string_view vk = v.key;
          if (!vk.starts_with(prefix)) continue;
          std::string_view hex = vk.substr(prefix.size());
          if (hex.find('/') != std::string_view::npos) continue;
          if (auto id = util::HexDecode(hex)) c.version = std::move(*id);
        }
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

ChangeFeed::ChangeFeed(storage::Backend& backend) : backend_(backend) {
  watch_id_ = backend_.Watch([this](const std::vector<storage::Event>& events) {
    if (events.empty()) return;
    {
      util::MutexLock lock(mu_);
      seen_ = std::max(seen_, events.back().revision);
    }
    changed_.NotifyAll();
  });
}

ChangeFeed::~ChangeFeed() {
  Shutdown();
  backend_.Unwatch(watch_id_);
}

void ChangeFeed::Shutdown() {
  {
    util::MutexLock lock(mu_);
    stopping_ = true;
  }
  changed_.NotifyAll();
}

Result<ChangePage> ChangeFeed::Read(storage::Revision since, size_t max_events) {
  max_events = std::max<size_t>(max_events, 1);
  COFFER_ASSIGN_OR_RETURN(storage::Revision current, backend_.CurrentRevision());
  if (since > current) {
    return Fail(ErrorCode::kFailedPrecondition,
                "revision " + std::to_string(since) + " is newer than this store's revision " +
                    std::to_string(current) + "; resync",
                Reason::kRevisionCompacted);
  }
  // One more than asked, to know whether the last commit was cut.
  COFFER_ASSIGN_OR_RETURN(std::vector<storage::Event> events,
                          backend_.Changes(since, max_events + 1));
  ChangePage page;
  page.revision = std::max(since, current);
  if (events.size() > max_events) {
    // The last revision may be incomplete: drop it, unless it is the only one
    // (then read that whole commit).
    storage::Revision last = events.back().revision;
    if (events.front().revision == last) {
      COFFER_ASSIGN_OR_RETURN(events, backend_.Changes(since, 0));
      std::erase_if(events, [last](const storage::Event& e) { return e.revision != last; });
    } else {
      std::erase_if(events, [last](const storage::Event& e) { return e.revision == last; });
    }
    page.revision = events.back().revision;
  } else if (!events.empty()) {
    page.revision = std::max(page.revision, events.back().revision);
  }
  // Translate commit by commit (a secret's version id comes from its commit).
  size_t i = 0;
  while (i < events.size()) {
    size_t j = i;
    while (j < events.size() && events[j].revision == events[i].revision) ++j;
    std::vector<storage::Event> commit(events.begin() + i, events.begin() + j);
    for (Change& c : Translate(commit)) page.changes.push_back(std::move(c));
    i = j;
  }
  return page;
}

Result<storage::Revision> ChangeFeed::WaitPast(storage::Revision since,
                                               util::SteadyTime deadline) {
  {
    util::MutexLock lock(mu_);
    if (seen_ <= since && !stopping_) {
      // A commit may have happened before the watch saw it: ask the store once.
      lock.Unlock();
      COFFER_ASSIGN_OR_RETURN(storage::Revision current, backend_.CurrentRevision());
      if (current > since) return current;
      lock.Lock();
      changed_.WaitUntil(lock, deadline, [&]() COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return seen_ > since || stopping_;
      });
    }
  }
  return backend_.CurrentRevision();
}

}  // namespace coffer::domain::feed
