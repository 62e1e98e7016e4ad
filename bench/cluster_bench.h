#ifndef SIFT_BENCH_CLUSTER_BENCH_H_
#define SIFT_BENCH_CLUSTER_BENCH_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "bench/load_driver.h"
#include "bench/process_stats.h"

namespace sift::bench {

struct EndToEndOptions {
  // host:port of the query service; empty skips the search part.
  std::string target;
  // host:port of the ingest service; empty skips the ingest part.
  std::string ingest;
  std::string docs_path;
  std::string queries_path;
  uint32_t k = 10;
  // Whether searches ask for snippets (SearchRequest.highlight).
  bool highlight = false;
  // Documents per IndexRequest (the service takes at most 1,000) and
  // requests outstanding at once.
  size_t batch_documents = 512;
  int in_flight = 4;
  // Every time this many more documents are acknowledged, the ingest notes
  // how long it took: whether a shard slows down as it grows shows in the
  // rate of the last span against the first. Zero: no milestones.
  uint64_t milestone_documents = 1000000;
  // One search run per client count.
  std::vector<int> clients = {1, 8, 32};
  // How long each run lasts; zero: one pass over the queries per client.
  absl::Duration duration = absl::Seconds(20);
  // Warm-up before the first run, by one client: whole passes until this
  // many queries ran or `warmup_max` passed.
  uint64_t warmup_min = 2000;
  absl::Duration warmup_max = absl::Seconds(30);
  // Deadline of every call.
  absl::Duration timeout = absl::Seconds(60);
  // Progress lines for a person watching; may be empty.
  std::function<void(absl::string_view)> log;
};

struct EndToEndIngest {
  // Documents of the corpus and its uncompressed size.
  uint64_t documents = 0;
  uint64_t input_bytes = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  // The first few rejections, "origin: reason".
  std::vector<std::string> sample_rejections;
  // From the first document read until the last batch was acknowledged.
  double seconds = 0;
  // When the acknowledged count first reached each multiple of
  // EndToEndOptions::milestone_documents (seen every 100 ms, so `documents`
  // is the count at that moment, a little past the multiple), and the end.
  struct Milestone {
    uint64_t documents = 0;
    double seconds = 0;
  };
  std::vector<Milestone> milestones;
};

struct EndToEndReport {
  EndToEndOptions options;
  bool ingested = false;
  EndToEndIngest ingest;
  bool searched = false;
  size_t queries = 0;
  uint64_t warmup_queries = 0;
  // One per entry of options.clients, in that order.
  std::vector<LoadFigures> search;
  MachineInfo machine;
};

// Loads the corpus through IngestService.Index (the same pipelined batches
// as `siftctl ingest`), then runs the queries through QueryService.Search
// (highlighting off, page size k, the text as written with the OR default
// operator) at each client count; each client has its own connection.
// Errors: UNAVAILABLE when a service cannot be reached; those of the corpus
// and the query file; the ingest's when a whole batch failed.
absl::StatusOr<EndToEndReport> RunEndToEnd(const EndToEndOptions& options);

// The report as pretty-printed JSON with a fixed key order.
std::string EndToEndReportJson(const EndToEndReport& report);

}  // namespace sift::bench

#endif  // SIFT_BENCH_CLUSTER_BENCH_H_
