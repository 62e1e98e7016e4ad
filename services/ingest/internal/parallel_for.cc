#include "services/ingest/internal/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "common/sync/mutex.h"

namespace sift::ingest::internal {
namespace {

// Shared with the helper tasks, which may start after ParallelFor returned
// (then they find no index left and touch nothing else).
struct Work {
  Work(size_t n, const std::function<void(size_t)>* fn) : n(n), fn(fn) {}

  // Claims indices until none is left.
  void Run() {
    size_t finished = 0;
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      (*fn)(i);
      ++finished;
    }
    if (finished == 0) return;
    MutexLock lock(&mu);
    done += finished;
    if (done == n) all_done.SignalAll();
  }

  const size_t n;
  const std::function<void(size_t)>* const fn;
  std::atomic<size_t> next{0};
  Mutex mu;
  // Signalled when done reaches n.
  CondVar all_done;
  size_t done ABSL_GUARDED_BY(mu) = 0;
};

}  // namespace

void ParallelFor(Executor* executor, size_t max_helpers, size_t n,
                 const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  auto work = std::make_shared<Work>(n, &fn);
  if (executor != nullptr) {
    const size_t helpers = std::min(max_helpers, n - 1);
    for (size_t h = 0; h < helpers; ++h) {
      // A full queue only means fewer helpers.
      if (!executor->TrySchedule([work] { work->Run(); })) break;
    }
  }
  work->Run();
  MutexLock lock(&work->mu);
  while (work->done != work->n) work->all_done.Wait(&work->mu);
}

}  // namespace sift::ingest::internal
