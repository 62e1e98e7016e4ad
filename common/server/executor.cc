#include "common/server/executor.h"

#include <utility>

namespace sift {

Executor::Executor(size_t num_threads, size_t max_queue)
    : max_queue_(max_queue) {
  if (num_threads == 0) num_threads = 1;
  threads_.reserve(num_threads);
  for (size_t i = 0; i < num_threads; ++i) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
}

Executor::~Executor() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    work_or_stop_.SignalAll();
  }
  for (std::thread& t : threads_) t.join();
}

bool Executor::TrySchedule(std::function<void()> task) {
  MutexLock lock(&mu_);
  if (stopping_ || queue_.size() >= max_queue_) return false;
  queue_.push_back(std::move(task));
  work_or_stop_.Signal();
  return true;
}

void Executor::Schedule(std::function<void()> task) {
  MutexLock lock(&mu_);
  queue_.push_back(std::move(task));
  work_or_stop_.Signal();
}

void Executor::WorkerLoop() {
  while (true) {
    std::function<void()> task;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && queue_.empty()) work_or_stop_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping_ and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace sift
