// Lock-discipline annotations. They compile to nothing on GCC and are checked
// by clang's -Wthread-safety (tests/tools/check_thread_safety.py runs it over
// every source). Locks that the analysis understands are util::Mutex and
// util::SharedMutex with their scoped lockers (util/mutex.h).
#pragma once

#if defined(__clang__)
#define COFFER_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define COFFER_THREAD_ANNOTATION(x)
#endif

// On data members: which lock must be held to read (shared) or write (exclusive) them.
#define COFFER_GUARDED_BY(x) COFFER_THREAD_ANNOTATION(guarded_by(x))
#define COFFER_PT_GUARDED_BY(x) COFFER_THREAD_ANNOTATION(pt_guarded_by(x))
// On functions: the caller must hold the lock (exclusively / at least shared), or must not.
#define COFFER_EXCLUSIVE_LOCKS_REQUIRED(...) \
  COFFER_THREAD_ANNOTATION(exclusive_locks_required(__VA_ARGS__))
#define COFFER_SHARED_LOCKS_REQUIRED(...) \
  COFFER_THREAD_ANNOTATION(shared_locks_required(__VA_ARGS__))
#define COFFER_LOCKS_EXCLUDED(...) COFFER_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

// For lock types (util/mutex.h); other code should not need these.
#define COFFER_CAPABILITY(x) COFFER_THREAD_ANNOTATION(capability(x))
#define COFFER_SCOPED_CAPABILITY COFFER_THREAD_ANNOTATION(scoped_lockable)
#define COFFER_ACQUIRE(...) COFFER_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define COFFER_ACQUIRE_SHARED(...) COFFER_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define COFFER_RELEASE(...) COFFER_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define COFFER_RELEASE_SHARED(...) COFFER_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define COFFER_RELEASE_GENERIC(...) \
  COFFER_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define COFFER_NO_THREAD_SAFETY_ANALYSIS COFFER_THREAD_ANNOTATION(no_thread_safety_analysis)
