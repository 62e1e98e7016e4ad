#ifndef SIFT_SERVICES_INGEST_INTERNAL_PARALLEL_FOR_H_
#define SIFT_SERVICES_INGEST_INTERNAL_PARALLEL_FOR_H_

#include <cstddef>
#include <functional>

#include "common/server/executor.h"

namespace sift::ingest::internal {

// Calls fn(0), ..., fn(n - 1), each exactly once, on the calling thread and
// on up to `max_helpers` tasks queued on `executor` (nullptr: on the calling
// thread only), and returns when every call has returned. The calling
// thread works too and never waits for a helper that has not started, so
// this is safe on a thread of `executor` itself, even when its queue is
// full. `fn` must be safe to call concurrently for different indices.
void ParallelFor(Executor* executor, size_t max_helpers, size_t n,
                 const std::function<void(size_t)>& fn);

}  // namespace sift::ingest::internal

#endif  // SIFT_SERVICES_INGEST_INTERNAL_PARALLEL_FOR_H_
