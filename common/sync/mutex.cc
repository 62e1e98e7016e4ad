#include "common/sync/mutex.h"

#include <errno.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/time/clock.h"

namespace sift {
namespace {

// A failed pthread call on a valid lock is a bug (EDEADLK: relocking a
// Mutex the thread holds; EPERM: unlocking one it does not): stop at once,
// as absl::Mutex does.
void CheckPthread(int rc, const char* what) {
  if (rc != 0) {
    std::fprintf(stderr, "sift::Mutex: %s failed: %s\n", what,
                 std::strerror(rc));
    std::abort();
  }
}

// What std::condition_variable_any needs to release and retake a Mutex
// held exclusively around a wait.
class ExclusiveRelocker {
 public:
  explicit ExclusiveRelocker(Mutex* mu) : mu_(mu) {}
  void lock() ABSL_NO_THREAD_SAFETY_ANALYSIS { mu_->Lock(); }
  void unlock() ABSL_NO_THREAD_SAFETY_ANALYSIS { mu_->Unlock(); }

 private:
  Mutex* const mu_;
};

// The longest single wait: a longer one (up to an infinite duration) wakes
// after this long as if spuriously, which keeps the chrono arithmetic far
// from overflowing.
constexpr absl::Duration kMaxWaitSlice = absl::Hours(24);

}  // namespace

Mutex::Mutex() {
  pthread_rwlockattr_t attr;
  CheckPthread(pthread_rwlockattr_init(&attr), "pthread_rwlockattr_init");
#if defined(__GLIBC__)
  // glibc's default lets a stream of readers starve a writer; absl::Mutex
  // lets a waiting writer in first.
  CheckPthread(pthread_rwlockattr_setkind_np(
                   &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP),
               "pthread_rwlockattr_setkind_np");
#endif
  CheckPthread(pthread_rwlock_init(&rwlock_, &attr), "pthread_rwlock_init");
  pthread_rwlockattr_destroy(&attr);
}

Mutex::~Mutex() { pthread_rwlock_destroy(&rwlock_); }

void Mutex::Lock() {
  CheckPthread(pthread_rwlock_wrlock(&rwlock_), "pthread_rwlock_wrlock");
}

void Mutex::Unlock() {
  CheckPthread(pthread_rwlock_unlock(&rwlock_), "pthread_rwlock_unlock");
}

bool Mutex::TryLock() {
  const int rc = pthread_rwlock_trywrlock(&rwlock_);
  if (rc == EBUSY) return false;
  CheckPthread(rc, "pthread_rwlock_trywrlock");
  return true;
}

void Mutex::ReaderLock() {
  CheckPthread(pthread_rwlock_rdlock(&rwlock_), "pthread_rwlock_rdlock");
}

void Mutex::ReaderUnlock() {
  CheckPthread(pthread_rwlock_unlock(&rwlock_), "pthread_rwlock_unlock");
}

bool Mutex::ReaderTryLock() {
  const int rc = pthread_rwlock_tryrdlock(&rwlock_);
  if (rc == EBUSY || rc == EAGAIN) return false;
  CheckPthread(rc, "pthread_rwlock_tryrdlock");
  return true;
}

void CondVar::Wait(Mutex* mu) {
  ExclusiveRelocker relocker(mu);
  cv_.wait(relocker);
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return true;
  const bool sliced = timeout > kMaxWaitSlice;
  if (sliced) timeout = kMaxWaitSlice;
  ExclusiveRelocker relocker(mu);
  const std::cv_status status =
      cv_.wait_for(relocker, absl::ToChronoNanoseconds(timeout));
  return status == std::cv_status::timeout && !sliced;
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  // Waiting on the steady clock for the time left, as absl::CondVar does
  // for a deadline in the near future.
  return WaitWithTimeout(mu, deadline - absl::Now());
}

void CondVar::Signal() { cv_.notify_one(); }

void CondVar::SignalAll() { cv_.notify_all(); }

Notification::~Notification() {
  // Wait for a Notify still inside SignalAll to leave.
  MutexLock lock(&mu_);
}

void Notification::Notify() {
  MutexLock lock(&mu_);
  notified_.store(true, std::memory_order_release);
  cv_.SignalAll();
}

void Notification::WaitForNotification() const {
  if (HasBeenNotified()) return;
  MutexLock lock(&mu_);
  while (!notified_.load(std::memory_order_acquire)) cv_.Wait(&mu_);
}

bool Notification::WaitForNotificationWithTimeout(
    absl::Duration timeout) const {
  return WaitForNotificationWithDeadline(absl::Now() + timeout);
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  if (HasBeenNotified()) return true;
  MutexLock lock(&mu_);
  while (!notified_.load(std::memory_order_acquire)) {
    if (cv_.WaitWithDeadline(&mu_, deadline)) {
      return notified_.load(std::memory_order_acquire);
    }
  }
  return true;
}

}  // namespace sift
