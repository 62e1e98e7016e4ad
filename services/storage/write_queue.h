#ifndef SIFT_SERVICES_STORAGE_WRITE_QUEUE_H_
#define SIFT_SERVICES_STORAGE_WRITE_QUEUE_H_

#include <algorithm>
#include <cstddef>
#include <deque>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "common/sync/mutex.h"

namespace sift::storage {

// Lets concurrent writers share one commit, as LevelDB's writer queue does:
// the writer at the head of the queue becomes the leader, takes the writes
// queued behind it (up to `max_group`), commits them together on its own
// thread, and wakes the others, who return the results it left in their
// items. One group commits at a time, in arrival order; a writer that
// arrives while a group commits waits for the next one, so under load every
// commit (and its fsync) carries many writes. Thread-safe.
template <typename Item>
class WriteQueue {
 public:
  explicit WriteQueue(size_t max_group)
      : max_group_(std::max<size_t>(1, max_group)) {}

  // Commits `item` with whatever is queued with it by calling `commit` with
  // the group, in arrival order, on one of the submitting threads; returns
  // once that call has returned. `commit` must leave every item's result in
  // it.
  void Submit(Item* item,
              absl::FunctionRef<void(absl::Span<Item* const>)> commit) {
    Waiter self(item);
    mu_.Lock();
    queue_.push_back(&self);
    while (!self.done && queue_.front() != &self) self.cv.Wait(&mu_);
    if (self.done) {
      mu_.Unlock();
      return;
    }
    const size_t n = std::min(queue_.size(), max_group_);
    std::vector<Waiter*> group(queue_.begin(), queue_.begin() + n);
    std::vector<Item*> items;
    items.reserve(n);
    for (Waiter* w : group) items.push_back(w->item);
    mu_.Unlock();
    commit(items);
    mu_.Lock();
    for (Waiter* w : group) {
      queue_.pop_front();
      if (w == &self) continue;
      w->done = true;
      w->cv.Signal();
    }
    if (!queue_.empty()) queue_.front()->cv.Signal();
    mu_.Unlock();
  }

  // Writes queued, the committing group included.
  size_t QueuedForTesting() {
    MutexLock lock(&mu_);
    return queue_.size();
  }

 private:
  struct Waiter {
    explicit Waiter(Item* item) : item(item) {}
    Item* item;
    bool done = false;
    CondVar cv;
  };

  const size_t max_group_;
  Mutex mu_;
  std::deque<Waiter*> queue_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_WRITE_QUEUE_H_
