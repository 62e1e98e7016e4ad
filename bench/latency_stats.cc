#include "bench/latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sift::bench {

double NearestRank(const std::vector<double>& sorted, double percentile) {
  if (sorted.empty()) return 0;
  const double n = static_cast<double>(sorted.size());
  // The peers' formula, as written there: for p = 50, 95 and 99 it gives the
  // exact rank for every n up to at least 100,000.
  size_t rank = static_cast<size_t>(std::ceil(percentile / 100.0 * n));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary SummarizeLatencies(std::vector<double> micros) {
  LatencySummary summary;
  if (micros.empty()) return summary;
  std::sort(micros.begin(), micros.end());
  summary.count = micros.size();
  summary.mean_us = std::accumulate(micros.begin(), micros.end(), 0.0) /
                    static_cast<double>(micros.size());
  summary.p50_us = NearestRank(micros, 50);
  summary.p95_us = NearestRank(micros, 95);
  summary.p99_us = NearestRank(micros, 99);
  summary.min_us = micros.front();
  summary.max_us = micros.back();
  return summary;
}

}  // namespace sift::bench
