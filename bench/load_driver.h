#ifndef SIFT_BENCH_LOAD_DRIVER_H_
#define SIFT_BENCH_LOAD_DRIVER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench/latency_stats.h"
#include "bench/queries.h"

namespace sift::bench {

// Runs one query and returns its number of matches (total hits).
using QueryFn = std::function<absl::StatusOr<uint64_t>(const BenchQuery&)>;

// The protocol of the peers' harness: warm up with whole passes over the
// queries until at least `warmup_min` queries have run or `warmup_max` has
// passed (at least one pass, unless warmup_min is 0), then time `reps`
// passes, every query on its own.
struct PassOptions {
  uint64_t warmup_min = 2000;
  absl::Duration warmup_max = absl::Seconds(30);
  int reps = 3;
};

// Figures of one query class run on one thread.
struct PassFigures {
  // Distinct queries in the class.
  size_t queries = 0;
  uint64_t warmup_queries = 0;
  int warmup_passes = 0;
  // Every successful timed run (about queries x reps).
  LatencySummary latency;
  // Timed runs per second of wall time of the timed passes: one client's
  // throughput, not the capacity of the machine.
  double qps = 0;
  // Mean total hits, over the queries that succeeded in the first timed pass.
  double mean_hits = 0;
  // Queries that matched nothing in the first timed pass.
  uint64_t zero_result_queries = 0;
  // Queries that failed in at least one timed pass, and the first failure.
  uint64_t errors = 0;
  std::string first_error;
  // By query, in the order given: the median of its timed runs (0 when it
  // failed in every pass) and its hits in the first timed pass. Finding the
  // queries that make a class's tail starts here.
  std::vector<double> median_us;
  std::vector<uint64_t> hits;
};

// Times `run` over `queries` as PassOptions says, on the calling thread.
// `run` is called for every query of every pass, warm-up included.
PassFigures RunTimedPasses(const std::vector<BenchQuery>& queries,
                           const QueryFn& run, const PassOptions& options);

// Runs one query for one client; called only from that client's thread.
using ClientQueryFn = std::function<absl::Status(const BenchQuery&)>;

// A closed-loop load: `clients` threads issue queries back to back.
struct LoadOptions {
  int clients = 1;
  // How long each client keeps issuing queries, cycling through the list;
  // zero means exactly one pass each.
  absl::Duration duration = absl::Seconds(20);
};

struct LoadFigures {
  int clients = 0;
  // Successful queries and failed ones, over all clients.
  uint64_t completed = 0;
  uint64_t errors = 0;
  std::string first_error;
  // From the moment every client was released until the last one stopped.
  double seconds = 0;
  LatencySummary latency;
  // Successful queries per second of `seconds`.
  double qps = 0;
};

// Runs the load. `make_client(i)` is called once per client, before the
// clock starts, and returns that client's query function (so each can hold
// its own connection). Client i starts at query i * n / clients, so clients
// do not ask the same query at the same moment.
LoadFigures RunClosedLoop(
    const std::vector<BenchQuery>& queries, const LoadOptions& options,
    const std::function<ClientQueryFn(int client)>& make_client);

}  // namespace sift::bench

#endif  // SIFT_BENCH_LOAD_DRIVER_H_
