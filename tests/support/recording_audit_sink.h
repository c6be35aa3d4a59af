// An audit sink for tests of the API fronts: keeps the records it is given and
// fails, as a full disk would, while `failing` is set (then reports itself
// unhealthy until a write succeeds again, as audit::FileSink does).
#pragma once

#include <vector>

#include "audit/audit.h"

namespace coffer::testing {

class RecordingAuditSink final : public audit::Sink {
 public:
  Status Write(const audit::Record& record) override {
    if (failing) {
      healthy_ = false;
      return Fail(ErrorCode::kUnavailable, "disk full");
    }
    healthy_ = true;
    records.push_back(record);
    return Ok();
  }
  bool Healthy() const override { return healthy_; }

  bool failing = false;
  std::vector<audit::Record> records;

 private:
  bool healthy_ = true;
};

}  // namespace coffer::testing
