#include "services/storage/segment/search_helpers.h"

#include <utility>

namespace sift::storage::segment {

SearchHelpers::SearchHelpers(const Options& options) : options_(options) {
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { HelperLoop(); });
  }
}

SearchHelpers::~SearchHelpers() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  work_or_stop_.SignalAll();
  for (std::thread& thread : threads_) thread.join();
}

void SearchHelpers::Part::Join() {
  if (Claim()) {
    task_();
    return;
  }
  done_.WaitForNotification();
}

std::shared_ptr<SearchHelpers::Part> SearchHelpers::TryHand(
    std::function<void()> task) {
  if (running_.load(std::memory_order_relaxed) >= options_.processors) {
    return nullptr;
  }
  auto part = std::make_shared<Part>(std::move(task));
  {
    MutexLock lock(&mu_);
    if (stopping_ || idle_ <= static_cast<int>(queue_.size())) return nullptr;
    queue_.push_back(part);
  }
  parts_handed_.fetch_add(1, std::memory_order_relaxed);
  work_or_stop_.Signal();
  return part;
}

void SearchHelpers::HelperLoop() {
  while (true) {
    std::shared_ptr<Part> part;
    {
      MutexLock lock(&mu_);
      ++idle_;
      while (queue_.empty() && !stopping_) work_or_stop_.Wait(&mu_);
      --idle_;
      if (queue_.empty()) return;  // stopping
      part = std::move(queue_.front());
      queue_.pop_front();
    }
    // The search may have run the part itself meanwhile.
    if (part->Claim()) {
      part->task_();
      part->done_.Notify();
    }
  }
}

}  // namespace sift::storage::segment
