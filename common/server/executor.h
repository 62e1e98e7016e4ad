#ifndef SIFT_COMMON_SERVER_EXECUTOR_H_
#define SIFT_COMMON_SERVER_EXECUTOR_H_

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/sync/mutex.h"

namespace sift {

// A fixed pool of worker threads running queued tasks in FIFO order. gRPC
// reactions hand their heavy work to it so that they do not hold a gRPC
// thread (but see InlineSlots). Thread-safe. The destructor runs every queued
// task, then joins.
class Executor {
 public:
  // `max_queue` bounds the tasks waiting for a thread; TrySchedule refuses
  // beyond it so that an overloaded server answers RESOURCE_EXHAUSTED
  // instead of queueing without limit.
  Executor(size_t num_threads, size_t max_queue);
  ~Executor();

  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`; false (and `task` is dropped) when the queue is full.
  [[nodiscard]] bool TrySchedule(std::function<void()> task);

  // Queues `task` regardless of the bound.
  void Schedule(std::function<void()> task);

  size_t num_threads() const { return threads_.size(); }

 private:
  void WorkerLoop();

  const size_t max_queue_;
  Mutex mu_;
  // Signalled when a task is queued or stopping_ is set.
  CondVar work_or_stop_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// Lets a few calls run on the gRPC thread that received them instead of on
// an Executor. Handing a call to a worker costs two thread wake-ups, which
// on a small virtual machine cost as much as a short search; but gRPC's
// callback threads also poll the connections (two of them on a 2-core
// machine), so only `max` calls at a time may hold one, and only calls that
// never wait for another gRPC callback. Thread-safe.
class InlineSlots {
 public:
  explicit InlineSlots(int max) : max_(max) {}

  // True when the caller may run its call here; it must Release after.
  bool TryAcquire() {
    if (used_.fetch_add(1, std::memory_order_acquire) < max_) return true;
    used_.fetch_sub(1, std::memory_order_release);
    return false;
  }
  void Release() { used_.fetch_sub(1, std::memory_order_release); }

 private:
  const int max_;
  std::atomic<int> used_{0};
};

}  // namespace sift

#endif  // SIFT_COMMON_SERVER_EXECUTOR_H_
