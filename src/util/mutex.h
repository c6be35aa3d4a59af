// Mutexes that clang's -Wthread-safety understands. std::mutex and
// std::shared_mutex carry no capability annotations in libstdc++ (and
// std::unique_lock / std::shared_lock carry none in libc++ either), so a
// COFFER_GUARDED_BY naming a std:: mutex is checked by nothing. These thin
// wrappers cost nothing at run time (every method is an inline call on the std
// type) and make the lock discipline a compile-time check:
//
//   util::Mutex mu_;
//   int count_ COFFER_GUARDED_BY(mu_);
//   void Add() { util::MutexLock lock(mu_); ++count_; }
//
// Waiting on a condition: util::CondVar::Wait(lock) with the caller writing the
// predicate as a loop, so that the analysis sees it evaluated under the lock.
// All types are thread-safe in the sense of their std counterparts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "util/thread_annotations.h"

namespace coffer::util {

// An exclusive lock (std::mutex).
class COFFER_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() COFFER_ACQUIRE() { mu_.lock(); }
  void Unlock() COFFER_RELEASE() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// An exclusive lock that its holder may take again (std::recursive_mutex). The
// analysis does not model re-entry: a function that takes it must not be
// annotated as requiring it.
class COFFER_CAPABILITY("mutex") RecursiveMutex {
 public:
  RecursiveMutex() = default;
  RecursiveMutex(const RecursiveMutex&) = delete;
  RecursiveMutex& operator=(const RecursiveMutex&) = delete;

  void Lock() COFFER_ACQUIRE() { mu_.lock(); }
  void Unlock() COFFER_RELEASE() { mu_.unlock(); }

 private:
  std::recursive_mutex mu_;
};

// A reader-writer lock (std::shared_mutex).
class COFFER_CAPABILITY("mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void Lock() COFFER_ACQUIRE() { mu_.lock(); }
  void Unlock() COFFER_RELEASE() { mu_.unlock(); }
  void LockShared() COFFER_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() COFFER_RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

// Holds `mu` exclusively for its scope. Unlock()/Lock() release and retake it
// within the scope (for work that must run without the lock).
class COFFER_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) COFFER_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() COFFER_RELEASE() {
    if (held_) mu_.Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() COFFER_RELEASE() {
    mu_.Unlock();
    held_ = false;
  }
  void Lock() COFFER_ACQUIRE() {
    mu_.Lock();
    held_ = true;
  }

 private:
  friend class CondVar;
  Mutex& mu_;
  bool held_ = true;
};

// Holds a RecursiveMutex for its scope.
class COFFER_SCOPED_CAPABILITY RecursiveMutexLock {
 public:
  explicit RecursiveMutexLock(RecursiveMutex& mu) COFFER_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~RecursiveMutexLock() COFFER_RELEASE() { mu_.Unlock(); }
  RecursiveMutexLock(const RecursiveMutexLock&) = delete;
  RecursiveMutexLock& operator=(const RecursiveMutexLock&) = delete;

 private:
  RecursiveMutex& mu_;
};

// Holds `mu` exclusively (as a writer) for its scope.
class COFFER_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) COFFER_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~WriterLock() COFFER_RELEASE() { mu_.Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

// Holds `mu` shared (as a reader) for its scope.
class COFFER_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) COFFER_ACQUIRE_SHARED(mu) : mu_(mu) { mu_.LockShared(); }
  ~ReaderLock() COFFER_RELEASE() { mu_.UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

// A condition variable used with a MutexLock (std::condition_variable).
class CondVar {
 public:
  // Atomically releases the lock, waits for a notification (or a spurious
  // wake-up), and retakes the lock before returning. Callers loop on their
  // condition.
  void Wait(MutexLock& lock) { WaitUntil(lock, std::chrono::steady_clock::time_point::max()); }
  // As Wait, but returns by `deadline` at the latest; false if it timed out.
  template <class Clock, class Duration>
  bool WaitUntil(MutexLock& lock, std::chrono::time_point<Clock, Duration> deadline) {
    std::unique_lock<std::mutex> native(lock.mu_.mu_, std::adopt_lock);
    bool notified = true;
    if (deadline == std::chrono::time_point<Clock, Duration>::max()) {
      cv_.wait(native);
    } else {
      notified = cv_.wait_until(native, deadline) == std::cv_status::no_timeout;
    }
    native.release();  // ownership stays with `lock`
    return notified;
  }
  template <class Rep, class Period>
  bool WaitFor(MutexLock& lock, std::chrono::duration<Rep, Period> timeout) {
    return WaitUntil(lock, std::chrono::steady_clock::now() + timeout);
  }
  // Wait / WaitUntil / WaitFor until `pred` holds; the timed forms return
  // pred() at the end. Write `pred` as a lambda annotated
  // COFFER_EXCLUSIVE_LOCKS_REQUIRED(mu) so that its reads are checked.
  template <class Pred>
  void Wait(MutexLock& lock, Pred pred) COFFER_NO_THREAD_SAFETY_ANALYSIS {
    while (!pred()) Wait(lock);
  }
  template <class Clock, class Duration, class Pred>
  bool WaitUntil(MutexLock& lock, std::chrono::time_point<Clock, Duration> deadline,
                 Pred pred) COFFER_NO_THREAD_SAFETY_ANALYSIS {
    while (!pred()) {
      if (!WaitUntil(lock, deadline)) return pred();
    }
    return true;
  }
  template <class Rep, class Period, class Pred>
  bool WaitFor(MutexLock& lock, std::chrono::duration<Rep, Period> timeout, Pred pred) {
    return WaitUntil(lock, std::chrono::steady_clock::now() + timeout, std::move(pred));
  }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace coffer::util
