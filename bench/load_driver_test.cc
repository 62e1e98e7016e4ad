#include "bench/load_driver.h"

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/sync/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::bench {
namespace {

std::vector<BenchQuery> Queries(int n) {
  std::vector<BenchQuery> queries;
  for (int i = 0; i < n; ++i) {
    queries.push_back({absl::StrCat("q", i), absl::StrCat("text ", i)});
  }
  return queries;
}

TEST(RunTimedPassesTest, WarmsUpInWholePassesUntilTheMinimumThenTimesReps) {
  std::map<std::string, int> calls;
  PassOptions options;
  options.warmup_min = 7;
  options.reps = 2;
  const PassFigures figures = RunTimedPasses(
      Queries(3),
      [&calls](const BenchQuery& query) -> absl::StatusOr<uint64_t> {
        ++calls[query.qid];
        return 1;
      },
      options);
  // Three warm-up passes (9 >= 7 queries), then two timed passes.
  EXPECT_EQ(figures.warmup_passes, 3);
  EXPECT_EQ(figures.warmup_queries, 9u);
  EXPECT_EQ(calls["q0"], 5);
  EXPECT_EQ(calls["q2"], 5);
  EXPECT_EQ(figures.queries, 3u);
  EXPECT_EQ(figures.latency.count, 6u);
  EXPECT_GT(figures.qps, 0);
}

TEST(RunTimedPassesTest, CountsErrorsAndZeroResultsOncePerQuery) {
  PassOptions options;
  options.warmup_min = 0;
  options.reps = 3;
  const PassFigures figures = RunTimedPasses(
      Queries(3),
      [](const BenchQuery& query) -> absl::StatusOr<uint64_t> {
        if (query.qid == "q1") return absl::InvalidArgumentError("bad query");
        if (query.qid == "q2") return 0;
        return 10;
      },
      options);
  EXPECT_EQ(figures.warmup_queries, 0u);
  EXPECT_EQ(figures.errors, 1u);
  EXPECT_THAT(figures.first_error, ::testing::HasSubstr("q1"));
  EXPECT_EQ(figures.zero_result_queries, 1u);
  EXPECT_DOUBLE_EQ(figures.mean_hits, 5);
  // Failed runs are not latencies.
  EXPECT_EQ(figures.latency.count, 6u);
  // By query, in the order given: hits, and no time for the one that failed.
  EXPECT_THAT(figures.hits, ::testing::ElementsAre(10, 0, 0));
  ASSERT_EQ(figures.median_us.size(), 3u);
  EXPECT_GT(figures.median_us[0], 0);
  EXPECT_EQ(figures.median_us[1], 0);
}

TEST(RunTimedPassesTest, EachQueryGetsTheMedianOfItsRuns) {
  PassOptions options;
  options.warmup_min = 0;
  options.reps = 3;
  // q1's second run is far slower than its others: the median ignores it.
  int q1_runs = 0;
  const PassFigures figures = RunTimedPasses(
      Queries(2),
      [&q1_runs](const BenchQuery& query) -> absl::StatusOr<uint64_t> {
        if (query.qid == "q1" && ++q1_runs == 2) {
          absl::SleepFor(absl::Milliseconds(200));
        }
        return 1;
      },
      options);
  ASSERT_EQ(figures.median_us.size(), 2u);
  EXPECT_LT(figures.median_us[1], 100000);
  EXPECT_GE(figures.latency.max_us, 200000);
}

TEST(RunClosedLoopTest, OnePassPerClientStartingAtDifferentQueries) {
  const std::vector<BenchQuery> queries = Queries(6);
  Mutex mu;
  std::map<int, std::vector<std::string>> asked;
  LoadOptions options;
  options.clients = 3;
  options.duration = absl::ZeroDuration();
  const LoadFigures figures =
      RunClosedLoop(queries, options, [&](int client) -> ClientQueryFn {
        return [&, client](const BenchQuery& query) {
          MutexLock lock(&mu);
          asked[client].push_back(query.qid);
          return query.qid == "q5" ? absl::UnavailableError("down")
                                   : absl::OkStatus();
        };
      });
  EXPECT_EQ(figures.clients, 3);
  EXPECT_EQ(figures.completed, 15u);
  EXPECT_EQ(figures.errors, 3u);
  EXPECT_EQ(figures.latency.count, 15u);
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_EQ(asked[0].front(), "q0");
  EXPECT_EQ(asked[1].front(), "q2");
  EXPECT_EQ(asked[2].front(), "q4");
  for (const auto& [client, qids] : asked) EXPECT_EQ(qids.size(), 6u);
}

TEST(RunClosedLoopTest, KeepsAskingForTheDuration) {
  std::atomic<int> calls{0};
  LoadOptions options;
  options.clients = 2;
  options.duration = absl::Milliseconds(60);
  const LoadFigures figures =
      RunClosedLoop(Queries(2), options, [&](int) -> ClientQueryFn {
        return [&](const BenchQuery&) {
          ++calls;
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          return absl::OkStatus();
        };
      });
  EXPECT_GE(figures.seconds, 0.06);
  EXPECT_GT(figures.completed, 2u);  // more than one pass
  EXPECT_EQ(figures.completed, static_cast<uint64_t>(calls.load()));
  EXPECT_GE(figures.latency.min_us, 2000);
  EXPECT_NEAR(figures.qps, figures.completed / figures.seconds, 1e-6);
}

}  // namespace
}  // namespace sift::bench
