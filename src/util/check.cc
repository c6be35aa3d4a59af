#include "util/check.h"

#include <cstdio>
#include <cstdlib>

namespace coffer::util {

void CheckFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "COFFER_CHECK failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace coffer::util
