#ifndef SIFT_TOOLS_SIFTCTL_INGEST_RUNNER_H_
#define SIFT_TOOLS_SIFTCTL_INGEST_RUNNER_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sift/v1/ingest.grpc.pb.h"
#include "tools/siftctl/input_files.h"
#include "tools/siftctl/output_format.h"

namespace sift::siftctl {

// How a call that failed with UNAVAILABLE or RESOURCE_EXHAUSTED (the
// server's "back off and retry") is tried again: up to `max_attempts` calls
// in all, waiting `initial_backoff`, then twice as long each time, at most
// `max_backoff`.
struct RetryPolicy {
  int max_attempts = 5;
  absl::Duration initial_backoff = absl::Milliseconds(500);
  absl::Duration max_backoff = absl::Seconds(8);
};

struct IngestRunOptions {
  size_t max_batch_documents = 500;
  size_t max_batch_bytes = 16 << 20;
  // IndexRequests outstanding at once (one sending thread each).
  int max_in_flight = 4;
  // Deadline of each call.
  absl::Duration timeout = absl::Seconds(60);
  RetryPolicy retry;
  // The ingest service's address, for messages.
  std::string address;
  // When set, called with the running totals every `progress_interval`
  // from a thread of its own while the ingest runs.
  std::function<void(const IngestCounts& counts, absl::Duration elapsed)>
      on_progress;
  absl::Duration progress_interval = absl::Milliseconds(100);
};

struct IngestOutcome {
  IngestCounts counts;
  // Every document that was not accepted and every input that could not be
  // read, in no particular order (FormatIngestSummary sorts them).
  std::vector<Rejection> rejections;
  absl::Duration elapsed;
  // Not OK when a whole batch failed even after retries, or not one of its
  // documents could be stored (each still UNAVAILABLE or DEADLINE_EXCEEDED
  // after retries): the code and reason of that failure. Sending stopped
  // there, documents read but not yet sent are rejected, and the rest of
  // the inputs were not read.
  absl::Status stopped;

  bool all_accepted() const {
    return counts.rejected == 0 && counts.read_errors == 0 && stopped.ok();
  }
};

// Reads every document of `source` and indexes it through `stub` in
// IndexRequest batches, `max_in_flight` at a time. Per-document results
// come from IndexResponse.results; documents reported UNAVAILABLE or
// DEADLINE_EXCEEDED are sent again under `retry`. Blocks until done.
// `stub` must be usable from several threads (generated stubs are).
IngestOutcome RunIngest(v1::IngestService::StubInterface& stub,
                        DocumentSource& source,
                        const IngestRunOptions& options);

}  // namespace sift::siftctl

#endif  // SIFT_TOOLS_SIFTCTL_INGEST_RUNNER_H_
