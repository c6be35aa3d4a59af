#include "agent/coalescer.h"

#include <algorithm>

namespace coffer::agent {

void Coalescer::Note(util::SteadyTime now) {
  if (!first_) first_ = now;
  last_ = now;
  ++changes_;
}

void Coalescer::Force(util::SteadyTime at) {
  if (!first_) {
    first_ = at;
    last_ = at;
  }
  forced_ = forced_ ? std::min(*forced_, at) : at;
}

util::SteadyTime Coalescer::due() const {
  util::SteadyTime due = std::min(last_ + window_.min, *first_ + window_.max);
  if (forced_) due = std::min(due, *forced_);
  if (last_rollout_ && rate_limit_.count() > 0) due = std::max(due, *last_rollout_ + rate_limit_);
  return due;
}

int64_t Coalescer::Rendered() {
  int64_t n = changes_;
  first_.reset();
  forced_.reset();
  changes_ = 0;
  return n;
}

}  // namespace coffer::agent
