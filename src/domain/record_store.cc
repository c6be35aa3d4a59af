#include "domain/record_store.h"

namespace coffer::domain {

std::unexpected<Error> ConcurrentUpdates(std::string_view what) {
  return Fail(ErrorCode::kAborted,
              "There are concurrent updates to " + std::string(what) + ". Please try again.",
              Reason::kTooManyUpdates);
}

Result<std::optional<storage::Entry>> GetOptional(storage::Backend& backend, std::string_view key) {
  auto entry = backend.Get(key);
  if (!entry) {
    if (entry.error().code == ErrorCode::kNotFound) return std::optional<storage::Entry>();
    return Fail(std::move(entry).error());
  }
  return std::optional<storage::Entry>(std::move(*entry));
}

Result<bool> ScanPrefix(storage::Backend& backend, std::string_view prefix,
                        std::string_view start_after, size_t batch,
                        const std::function<Result<bool>(const storage::Entry&)>& visit) {
  std::string start(prefix);
  if (!start_after.empty() && start_after >= prefix) {
    start = std::string(start_after);
    start.push_back('\0');  // the smallest key after `start_after`
  }
  const std::string end = storage::PrefixEnd(prefix);
  while (true) {
    COFFER_ASSIGN_OR_RETURN(storage::RangeResult range, backend.Range(start, end, batch));
    for (size_t i = 0; i < range.entries.size(); ++i) {
      COFFER_ASSIGN_OR_RETURN(bool more_wanted, visit(range.entries[i]));
      if (!more_wanted) return i + 1 < range.entries.size() || range.more;
    }
    if (!range.more || range.entries.empty()) return false;
    start = range.entries.back().key;
    start.push_back('\0');
  }
}

Result<std::vector<storage::Entry>> ScanAll(storage::Backend& backend, std::string_view prefix) {
  COFFER_ASSIGN_OR_RETURN(storage::RangeResult range,
                          backend.Range(prefix, storage::PrefixEnd(prefix), 0));
  return std::move(range.entries);
}

Result<std::optional<storage::Revision>> CommitWithRetry(storage::Backend& backend,
                                                         std::string_view what,
                                                         const CasAttempt& attempt) {
  for (int i = 0; i < kMaxCasAttempts; ++i) {
    COFFER_ASSIGN_OR_RETURN(std::optional<storage::Txn> txn, attempt());
    if (!txn || txn->writes.empty()) return std::optional<storage::Revision>();
    auto committed = backend.Commit(*txn);
    if (committed) return std::optional<storage::Revision>(*committed);
    if (committed.error().code != ErrorCode::kAborted) return Fail(std::move(committed).error());
  }
  return ConcurrentUpdates(what);
}

RevisionCache::RevisionCache(storage::Backend& backend, KeyOf key_of, size_t max_entries)
    : backend_(backend),
      key_of_(std::move(key_of)),
      max_entries_(std::max<size_t>(max_entries, 1)) {
  watch_id_ =
      backend_.Watch([this](const std::vector<storage::Event>& events) { OnEvents(events); });
}

RevisionCache::~RevisionCache() { backend_.Unwatch(watch_id_); }

std::shared_ptr<const void> RevisionCache::Find(std::string_view key) const {
  util::ReaderLock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  return it->second.value;
}

std::pair<std::shared_ptr<const void>, storage::Revision> RevisionCache::FindWithRevision(
    std::string_view key) const {
  util::ReaderLock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return {nullptr, 0};
  return {it->second.value, it->second.as_of};
}

storage::Revision RevisionCache::SeenLocked(std::string_view key) const {
  auto it = last_change_.find(key);
  return it == last_change_.end() ? floor_ : std::max(floor_, it->second);
}

storage::Revision RevisionCache::Seen(std::string_view key) const {
  util::ReaderLock lock(mu_);
  return SeenLocked(key);
}

void RevisionCache::Put(std::string_view key, std::shared_ptr<const void> value,
                        storage::Revision as_of) {
  util::WriterLock lock(mu_);
  if (SeenLocked(key) > as_of) return;  // a newer change went by: the value is stale
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (it->second.as_of <= as_of) it->second = Entry{std::move(value), as_of};
    return;
  }
  if (entries_.size() >= max_entries_) entries_.clear();
  entries_.emplace(std::string(key), Entry{std::move(value), as_of});
}

void RevisionCache::Changed(std::string_view key, storage::Revision revision) {
  util::WriterLock lock(mu_);
  auto seen = last_change_.find(key);
  if (seen == last_change_.end()) {
    if (last_change_.size() >= max_entries_) {
      // Forget per-key history but keep its newest revision as a floor, so
      // nothing read before it can be cached afterwards.
      for (const auto& [k, rev] : last_change_) floor_ = std::max(floor_, rev);
      last_change_.clear();
    }
    last_change_.emplace(std::string(key), revision);
  } else if (seen->second < revision) {
    seen->second = revision;
  }
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.as_of < revision) entries_.erase(it);
}

size_t RevisionCache::size() const {
  util::ReaderLock lock(mu_);
  return entries_.size();
}

void RevisionCache::OnEvents(const std::vector<storage::Event>& events) {
  for (const storage::Event& e : events) {
    std::string key = key_of_(e.key);
    if (!key.empty()) Changed(key, e.revision);
  }
}

}  // namespace coffer::domain
