#ifndef SIFT_COMMON_SERVER_EXECUTOR_H_
#define SIFT_COMMON_SERVER_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/sync/mutex.h"

namespace sift {

// A fixed pool of worker threads running queued tasks in FIFO order. gRPC
// reactions hand their heavy work to it so that they never block a gRPC
// thread. Thread-safe. The destructor runs every queued task, then joins.
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

}  // namespace sift

#endif  // SIFT_COMMON_SERVER_EXECUTOR_H_
