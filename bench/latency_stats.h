#ifndef SIFT_BENCH_LATENCY_STATS_H_
#define SIFT_BENCH_LATENCY_STATS_H_

#include <cstddef>
#include <vector>

namespace sift::bench {

// Summary of a set of latencies, in microseconds. All zero when empty.
struct LatencySummary {
  size_t count = 0;
  double mean_us = 0;
  double p50_us = 0;
  double p95_us = 0;
  double p99_us = 0;
  double min_us = 0;
  double max_us = 0;
};

// The nearest-rank percentile of ascending `sorted`: the value at 1-based
// rank ceil(percentile / 100 * n), at least rank 1. 0 when empty. The peers'
// harness uses the same definition, so the figures compare.
double NearestRank(const std::vector<double>& sorted, double percentile);

// Summarises `micros` (any order).
LatencySummary SummarizeLatencies(std::vector<double> micros);

}  // namespace sift::bench

#endif  // SIFT_BENCH_LATENCY_STATS_H_
