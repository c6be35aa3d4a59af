// Test matchers shared by every test binary (header-only; tests/ is on each
// test's include path). Assert one specific error, as Abseil's matchers do.
#pragma once

#include <gtest/gtest.h>

#include "util/result.h"

namespace coffer {

// Succeeds when `r` failed with exactly `code` and `reason`; otherwise says
// what happened instead. Error messages never hold secret values, so printing
// them is safe.
template <class R>
::testing::AssertionResult HasError(const R& r, ErrorCode code, Reason reason = Reason::kNone) {
  if (r.has_value()) {
    return ::testing::AssertionFailure()
           << "expected " << util::ErrorCodeName(code) << ", but it succeeded";
  }
  if (r.error().code != code || r.error().reason != reason) {
    return ::testing::AssertionFailure()
           << "expected " << util::ErrorCodeName(code) << " reason " << static_cast<int>(reason)
           << ", got " << util::ErrorCodeName(r.error().code) << " reason "
           << static_cast<int>(r.error().reason) << ": " << r.error().message;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace coffer
