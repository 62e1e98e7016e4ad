#ifndef SIFT_COMMON_SYNC_MUTEX_H_
#define SIFT_COMMON_SYNC_MUTEX_H_

// Mutexes, condition variables and one-shot notifications for Sift's code,
// in place of absl::Mutex, absl::CondVar and absl::Notification.
//
// They exist because the Abseil we build against is the distribution's
// (Debian's libabsl), which is not compiled with ThreadSanitizer: absl::Mutex
// synchronises through atomics and futexes inside that uninstrumented library,
// so TSan sees none of its happens-before edges and reports every access it
// guards as a data race. These classes are built on pthreads (a
// pthread_rwlock_t and std::condition_variable_any), which TSan intercepts, so
// a `-DSIFT_SANITIZE=thread` build checks our locking instead of drowning in
// false reports. They carry Abseil's thread-safety annotations, so
// ABSL_GUARDED_BY(mu_) on a member keeps its meaning for clang's
// -Wthread-safety.
//
// The semantics follow Abseil's: Mutex is a non-reentrant reader/writer lock
// that prefers waiting writers over new readers; CondVar waits may wake
// spuriously, so wait in a loop over the condition; Notification is notified
// at most once.

#include <pthread.h>

#include <atomic>
#include <condition_variable>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace sift {

// A reader/writer lock. Lock/Unlock for exclusive (writer) access,
// ReaderLock/ReaderUnlock for shared (reader) access. Not reentrant: a thread
// must not lock a Mutex it already holds in either mode. Prefer the scoped
// MutexLock and ReaderMutexLock to the explicit calls.
class ABSL_LOCKABLE Mutex {
 public:
  Mutex();
  ~Mutex();

  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION();
  void Unlock() ABSL_UNLOCK_FUNCTION();
  // Takes the lock in exclusive mode if that does not block; true if taken.
  [[nodiscard]] bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true);

  void ReaderLock() ABSL_SHARED_LOCK_FUNCTION();
  void ReaderUnlock() ABSL_UNLOCK_FUNCTION();
  // Takes the lock in shared mode if that does not block; true if taken.
  [[nodiscard]] bool ReaderTryLock() ABSL_SHARED_TRYLOCK_FUNCTION(true);

 private:
  pthread_rwlock_t rwlock_;
};

// Holds `mu` exclusively for the scope of the object.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// Holds `mu` in shared mode for the scope of the object.
class ABSL_SCOPED_LOCKABLE ReaderMutexLock {
 public:
  explicit ReaderMutexLock(Mutex* mu) ABSL_SHARED_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->ReaderLock();
  }
  ~ReaderMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->ReaderUnlock(); }

  ReaderMutexLock(const ReaderMutexLock&) = delete;
  ReaderMutexLock& operator=(const ReaderMutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable used with a Mutex held exclusively. Every wait
// releases `mu` while blocked and holds it again on return; it may return
// without a Signal (spuriously), so wait in a loop that checks the condition,
// and call Signal or SignalAll after changing what the condition reads.
// Signal and SignalAll may be called with or without the Mutex held.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Waits at most `timeout`. True when the time ran out, false when woken
  // (by a signal or spuriously) before it did.
  bool WaitWithTimeout(Mutex* mu, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // Waits until `deadline` at the latest. True when the deadline passed,
  // false when woken before it.
  bool WaitWithDeadline(Mutex* mu, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Wakes at least one waiting thread, if any.
  void Signal();
  // Wakes every waiting thread.
  void SignalAll();

 private:
  std::condition_variable_any cv_;
};

// An event that happens once: any number of threads wait for it, one thread
// calls Notify. A Notification must not be destroyed while a thread is still
// inside one of its methods.
class Notification {
 public:
  Notification() = default;
  // Already notified when `prenotify` is true.
  explicit Notification(bool prenotify) : notified_(prenotify) {}
  ~Notification();

  Notification(const Notification&) = delete;
  Notification& operator=(const Notification&) = delete;

  // Marks the event as happened and wakes every waiter. Call it at most once.
  void Notify();
  bool HasBeenNotified() const {
    return notified_.load(std::memory_order_acquire);
  }
  void WaitForNotification() const;
  // True when notified within `timeout`, false when the time ran out first.
  bool WaitForNotificationWithTimeout(absl::Duration timeout) const;
  // True when notified by `deadline`, false when the deadline passed first.
  bool WaitForNotificationWithDeadline(absl::Time deadline) const;

 private:
  mutable Mutex mu_;
  mutable CondVar cv_;
  std::atomic<bool> notified_{false};
};

}  // namespace sift

#endif  // SIFT_COMMON_SYNC_MUTEX_H_
