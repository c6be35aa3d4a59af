// COFFER_CHECK: aborts with file:line when an invariant is broken. Stays in
// release builds. Never use it on input (requests, files, storage contents):
// those are validated and returned as Error.
#pragma once

namespace coffer::util {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line);
}  // namespace coffer::util

#define COFFER_CHECK(cond) \
  ((cond) ? (void)0 : ::coffer::util::CheckFailed(#cond, __FILE__, __LINE__))
