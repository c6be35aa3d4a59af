// Lock-discipline annotations. They compile to nothing on GCC and are checked
// by clang's -Wthread-safety.
#pragma once

#if defined(__clang__)
#define COFFER_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define COFFER_THREAD_ANNOTATION(x)
#endif

#define COFFER_GUARDED_BY(x) COFFER_THREAD_ANNOTATION(guarded_by(x))
#define COFFER_PT_GUARDED_BY(x) COFFER_THREAD_ANNOTATION(pt_guarded_by(x))
#define COFFER_EXCLUSIVE_LOCKS_REQUIRED(...) \
  COFFER_THREAD_ANNOTATION(exclusive_locks_required(__VA_ARGS__))
#define COFFER_LOCKS_EXCLUDED(...) COFFER_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
