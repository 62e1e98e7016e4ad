#include "bench/latency_stats.h"

#include <vector>

#include "gtest/gtest.h"

namespace sift::bench {
namespace {

TEST(LatencyStatsTest, NearestRankTakesTheValueAtRankCeilPn) {
  std::vector<double> hundred;
  for (int i = 1; i <= 100; ++i) hundred.push_back(i);
  EXPECT_EQ(NearestRank(hundred, 50), 50);
  EXPECT_EQ(NearestRank(hundred, 95), 95);
  EXPECT_EQ(NearestRank(hundred, 99), 99);
  EXPECT_EQ(NearestRank(hundred, 100), 100);

  const std::vector<double> ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(NearestRank(ten, 50), 5);   // rank 5
  EXPECT_EQ(NearestRank(ten, 95), 10);  // rank ceil(9.5) = 10
  EXPECT_EQ(NearestRank(ten, 0), 1);    // never below rank 1
  EXPECT_EQ(NearestRank({}, 50), 0);
}

TEST(LatencyStatsTest, SummarizesUnsortedLatencies) {
  const LatencySummary summary = SummarizeLatencies({30, 10, 20, 40});
  EXPECT_EQ(summary.count, 4u);
  EXPECT_DOUBLE_EQ(summary.mean_us, 25);
  EXPECT_EQ(summary.p50_us, 20);
  EXPECT_EQ(summary.p95_us, 40);
  EXPECT_EQ(summary.p99_us, 40);
  EXPECT_EQ(summary.min_us, 10);
  EXPECT_EQ(summary.max_us, 40);
}

TEST(LatencyStatsTest, EmptyInputGivesZeros) {
  const LatencySummary summary = SummarizeLatencies({});
  EXPECT_EQ(summary.count, 0u);
  EXPECT_EQ(summary.mean_us, 0);
  EXPECT_EQ(summary.max_us, 0);
}

}  // namespace
}  // namespace sift::bench
