#ifndef SIFT_BENCH_IN_PROCESS_BENCH_H_
#define SIFT_BENCH_IN_PROCESS_BENCH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bench/load_driver.h"
#include "bench/process_stats.h"
#include "bench/queries.h"
#include "bench/shard_bench.h"
#include "services/storage/index.h"
#include "sift/v1/storage.pb.h"

namespace sift::bench {

struct InProcessOptions {
  std::string docs_path;
  std::string queries_path;
  // Where the shard index goes: empty for a fresh temporary directory
  // (removed at the end unless `keep`); otherwise a directory that is
  // missing or empty, which is left in place.
  std::string dir;
  bool keep = false;
  // Search the index already in `dir` (kept by an earlier run with the
  // same corpus) instead of building one: for profiling the query phase.
  // The report's indexing figures are then zero.
  bool search_only = false;
  // After the last write the index is force-merged down to this many
  // segments (0: not at all), as Lucene's benchmark force-merges to one.
  uint32_t max_segments = 1;
  // RocksDB block cache of the index (sift-storage --block_cache_mb).
  size_t block_cache_bytes = storage::IndexOptions().block_cache_bytes;
  // Threads that take half of a large segment's search (sift-storage
  // --search_helpers): -1 one fewer than the processors, 0 none.
  int search_helpers = storage::IndexOptions().search_helpers;
  uint32_t k = 10;
  // The query classes timed, by QueryClass; a class left out reports no
  // queries (for profiling one class alone).
  std::array<bool, std::size(kAllQueryClasses)> timed_classes = {true, true,
                                                                 true};
  IndexingOptions indexing;
  PassOptions passes;
  // BM25F parameters; zero values mean the index's defaults.
  v1::ScoringParams scoring;
  // Query planning (stop words), as the query service's flags set it.
  query::PlanOptions plan;
  // When set, a TREC run of the OR queries, `run_k` deep, is written here
  // after the timed passes.
  std::string run_path;
  // When set, every timed query as a line class<TAB>qid<TAB>median
  // us<TAB>hits<TAB>text, slowest first.
  std::string per_query_path;
  uint32_t run_k = 10;
  // Progress lines for a person watching; may be empty.
  std::function<void(absl::string_view)> log;
};

// The figures of one in-process run.
struct InProcessReport {
  InProcessOptions options;
  std::string dir;
  bool dir_kept = false;
  IndexingFigures indexing;
  // Index::Close after the last write: background flushes and merges
  // settling.
  double close_seconds = 0;
  // Regular files under the shard directory once the index was closed.
  uint64_t index_bytes = 0;
  double reopen_seconds = 0;
  // Live documents of the reopened index.
  uint64_t live_documents = 0;
  // VmHWM at the end of indexing (after Close), and at the end of the query
  // phase; the latter counts from the reopen when `rss_reset` (the peak
  // was reset after indexing), otherwise from process start.
  uint64_t index_peak_rss_bytes = 0;
  uint64_t query_peak_rss_bytes = 0;
  bool rss_reset = false;
  // Indexed by QueryClass.
  std::array<PassFigures, 3> classes;
  MachineInfo machine;
};

// Indexes the corpus into a fresh shard index in process, closes it,
// measures it, reopens it and times the query classes (see bench/README.md).
// Errors: FAILED_PRECONDITION for a non-empty `dir`; those of the corpus,
// the query file and the index. The temporary directory is removed on
// errors too.
absl::StatusOr<InProcessReport> RunInProcess(const InProcessOptions& options);

// The report as pretty-printed JSON with a fixed key order.
std::string InProcessReportJson(const InProcessReport& report);

}  // namespace sift::bench

#endif  // SIFT_BENCH_IN_PROCESS_BENCH_H_
