#include "bench/write_latency.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/storage_handler.h"

namespace sift::bench {
namespace {

using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// Searches

TEST(ParseSearchSpecTest, OneClauseIsTheQueryItself) {
  absl::StatusOr<v1::ShardSearchRequest> request =
      ParseSearchSpec("term:cocoa", 10);
  ASSERT_THAT(request.status(), IsOk());
  ASSERT_TRUE(request->query().has_term());
  EXPECT_EQ(request->query().term().term(), "cocoa");
  EXPECT_EQ(request->query().term().field(), v1::FIELD_UNSPECIFIED);
  EXPECT_EQ(request->limit(), 10u);
  EXPECT_EQ(request->facets_size(), 0);
  // No global statistics: the shard uses its own.
  EXPECT_EQ(request->stats().doc_count(), 0u);

  request = ParseSearchSpec("  all ", 3);
  ASSERT_THAT(request.status(), IsOk());
  EXPECT_TRUE(request->query().has_match_all());
  EXPECT_EQ(request->limit(), 3u);
}

TEST(ParseSearchSpecTest, SeveralClausesAreShouldClausesInOrder) {
  absl::StatusOr<v1::ShardSearchRequest> request =
      ParseSearchSpec("all prefix:comp fuzzy:govern fuzzy:wheat~1", 10);
  ASSERT_THAT(request.status(), IsOk());
  ASSERT_TRUE(request->query().has_boolean());
  const v1::BooleanQuery& boolean = request->query().boolean();
  EXPECT_EQ(boolean.must_size(), 0);
  EXPECT_EQ(boolean.must_not_size(), 0);
  ASSERT_EQ(boolean.should_size(), 4);
  EXPECT_TRUE(boolean.should(0).has_match_all());
  EXPECT_EQ(boolean.should(1).prefix().prefix(), "comp");
  EXPECT_EQ(boolean.should(2).fuzzy().term(), "govern");
  EXPECT_EQ(boolean.should(2).fuzzy().max_edits(), 2u);
  EXPECT_EQ(boolean.should(3).fuzzy().term(), "wheat");
  EXPECT_EQ(boolean.should(3).fuzzy().max_edits(), 1u);
}

TEST(ParseSearchSpecTest, FacetsAnywhereAreAddedInOrder) {
  absl::StatusOr<v1::ShardSearchRequest> request = ParseSearchSpec(
      "facet:source all facet:tags prefix:comp facet:month facet:year", 10);
  ASSERT_THAT(request.status(), IsOk());
  EXPECT_EQ(request->query().boolean().should_size(), 2);
  ASSERT_EQ(request->facets_size(), 4);
  EXPECT_EQ(request->facets(0).field(), v1::FACET_FIELD_SOURCE);
  EXPECT_EQ(request->facets(1).field(), v1::FACET_FIELD_TAGS);
  EXPECT_EQ(request->facets(2).field(), v1::FACET_FIELD_PUBLISHED_AT);
  EXPECT_EQ(request->facets(2).interval(), v1::DATE_INTERVAL_MONTH);
  EXPECT_EQ(request->facets(3).interval(), v1::DATE_INTERVAL_YEAR);
  // The storage service takes it as it is.
  EXPECT_THAT(storage::DecodeShardQuery(*request).status(), IsOk());
}

TEST(ParseSearchSpecTest, RejectsWhatItCannotBuildNamingTheWord) {
  EXPECT_THAT(ParseSearchSpec("   ", 10).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no query clause")));
  EXPECT_THAT(ParseSearchSpec("facet:source", 10).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no query clause")));
  EXPECT_THAT(ParseSearchSpec("term:a cocoa", 10).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("word 2 \"cocoa\"")));
  EXPECT_THAT(ParseSearchSpec("phrase:a", 10).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown kind \"phrase\"")));
  EXPECT_THAT(ParseSearchSpec("all facet:week", 10).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("word 2 \"facet:week\"")));
  EXPECT_THAT(ParseSearchSpec("term:", 10).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      ParseSearchSpec("fuzzy:wheat~3", 10).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 or 2")));
  EXPECT_THAT(ParseSearchSpec("fuzzy:~1", 10).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---------------------------------------------------------------------------
// Writes

class SampleCorpusLinesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "write-latency-XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/docs.jsonl";
    std::ofstream out(path_, std::ios::binary);
    for (int i = 0; i < 100; ++i) out << "line " << 1000 + i << "\n\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string path_;
};

TEST_F(SampleCorpusLinesTest, KeepsDistinctLinesInCorpusOrder) {
  absl::StatusOr<std::vector<std::string>> sample =
      SampleCorpusLines(path_, 10, 7);
  ASSERT_THAT(sample.status(), IsOk());
  ASSERT_EQ(sample->size(), 10u);
  EXPECT_TRUE(std::is_sorted(sample->begin(), sample->end()));
  EXPECT_EQ(std::set<std::string>(sample->begin(), sample->end()).size(), 10u);
  // Not merely the first lines.
  EXPECT_NE(sample->back(), "line 1009");

  absl::StatusOr<std::vector<std::string>> again =
      SampleCorpusLines(path_, 10, 7);
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_EQ(*again, *sample);
}

TEST_F(SampleCorpusLinesTest, ReturnsEveryLineOfASmallCorpus) {
  absl::StatusOr<std::vector<std::string>> sample =
      SampleCorpusLines(path_, 500, 7);
  ASSERT_THAT(sample.status(), IsOk());
  ASSERT_EQ(sample->size(), 100u);
  EXPECT_EQ(sample->front(), "line 1000");
  EXPECT_EQ(sample->back(), "line 1099");
}

TEST_F(SampleCorpusLinesTest, MissingFileIsNotFound) {
  EXPECT_THAT(SampleCorpusLines(dir_ + "/none.jsonl", 10, 7).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

std::vector<v1::AnalyzedDocument> Pool(int n) {
  std::vector<v1::AnalyzedDocument> pool;
  for (int i = 0; i < n; ++i) {
    v1::AnalyzedDocument document;
    document.mutable_document()->set_id(absl::StrCat("g", i));
    document.mutable_document()->set_title(absl::StrCat("title ", i));
    document.mutable_title()->add_vocabulary(absl::StrCat("t", i));
    document.mutable_title()->add_term_ids(0);
    pool.push_back(document);
  }
  return pool;
}

TEST(WriteBatchMakerTest, MixesNewIdsAndReplacementsInTheAskedShare) {
  WriteMix mix;
  mix.batch_documents = 10;
  mix.replace_fraction = 0.3;
  WriteBatchMaker maker(Pool(5), mix, "new-");
  std::set<std::string> new_ids;
  uint64_t replaced = 0;
  for (int batch = 0; batch < 7; ++batch) {
    const v1::WriteRequest request = maker.Next();
    ASSERT_EQ(request.ops_size(), 10);
    for (int i = 0; i < request.ops_size(); ++i) {
      ASSERT_TRUE(request.ops(i).has_upsert());
      const v1::AnalyzedDocument& upsert = request.ops(i).upsert();
      // The text goes round the pool.
      EXPECT_EQ(upsert.document().title(), absl::StrCat("title ", i % 5));
      const std::string& id = upsert.document().id();
      if (absl::StartsWith(id, "new-")) {
        EXPECT_TRUE(new_ids.insert(id).second) << id << " twice";
      } else {
        EXPECT_THAT(id, ::testing::MatchesRegex("g[0-4]"));
        ++replaced;
      }
    }
    // Every batch of 10 has 3 replacements, give or take the rounding.
    EXPECT_EQ(maker.replacements(), (batch + 1) * 3u);
  }
  EXPECT_EQ(replaced, 21u);
  EXPECT_EQ(new_ids.size(), 49u);
  EXPECT_EQ(maker.new_documents(), 49u);
  EXPECT_EQ(*new_ids.begin(), "new-000000000");
  // The request is one the storage service accepts.
  EXPECT_THAT(storage::ValidateWriteRequest(maker.Next()), IsOk());
}

TEST(WriteBatchMakerTest, FractionsAtTheEndsAndOutsideAreClamped) {
  WriteMix mix;
  mix.batch_documents = 4;
  mix.replace_fraction = 0;
  WriteBatchMaker none(Pool(3), mix, "n");
  none.Next();
  EXPECT_EQ(none.replacements(), 0u);
  EXPECT_EQ(none.new_documents(), 4u);

  mix.replace_fraction = 7;
  WriteBatchMaker all(Pool(3), mix, "n");
  all.Next();
  EXPECT_EQ(all.replacements(), 4u);
  EXPECT_EQ(all.new_documents(), 0u);

  mix.batch_documents = 0;  // taken as 1
  mix.replace_fraction = 0.5;
  WriteBatchMaker one(Pool(3), mix, "n");
  EXPECT_EQ(one.Next().ops_size(), 1);
}

// ---------------------------------------------------------------------------
// Phases

TEST(SummarizeMillisTest, NearestRankPercentiles) {
  std::vector<double> millis;
  for (int i = 100; i >= 1; --i) millis.push_back(i);
  const MillisSummary summary = SummarizeMillis(millis);
  EXPECT_EQ(summary.count, 100u);
  EXPECT_DOUBLE_EQ(summary.mean, 50.5);
  EXPECT_DOUBLE_EQ(summary.p50, 50);
  EXPECT_DOUBLE_EQ(summary.p90, 90);
  EXPECT_DOUBLE_EQ(summary.p99, 99);
  EXPECT_DOUBLE_EQ(summary.max, 100);
  EXPECT_EQ(SummarizeMillis({}).count, 0u);
}

// A clock that moves only when told to.
class FakeClock {
 public:
  std::chrono::steady_clock::time_point Now() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::milliseconds(millis_.load()));
  }
  void Advance(int64_t millis) { millis_ += millis; }
  SteadyNowFn Fn() const {
    return [this] { return Now(); };
  }

 private:
  std::atomic<int64_t> millis_{1000};
};

TEST(RunPhaseTest, TimesCommitsOnlyAndStopsAtTheDeadline) {
  FakeClock clock;
  int prepares = 0;
  PhaseSpec spec;
  spec.name = "idle";
  spec.duration = absl::Seconds(1);
  PhaseWriter writer;
  writer.prepare = [&] {
    ++prepares;
    clock.Advance(100);
    return absl::OkStatus();
  };
  writer.commit = [&] {
    clock.Advance(1);
    return absl::OkStatus();
  };
  const PhaseFigures figures = RunPhase(spec, writer, clock.Fn());
  // Commits start at 100, 201, ..., 908 ms; the one prepared at 1009 ms
  // would start after the deadline and is not made.
  EXPECT_EQ(figures.name, "idle");
  EXPECT_EQ(figures.commits.count, 9u);
  EXPECT_EQ(prepares, 10);
  EXPECT_DOUBLE_EQ(figures.commits.max, 1);
  EXPECT_DOUBLE_EQ(figures.commits.p99, 1);
  EXPECT_DOUBLE_EQ(figures.seconds, 1.009);
  EXPECT_EQ(figures.write_errors, 0u);
  EXPECT_EQ(figures.search_threads, 0);
  EXPECT_EQ(figures.searches.count, 0u);
}

TEST(RunPhaseTest, AFailedCommitEndsTheWriter) {
  FakeClock clock;
  int commits = 0;
  PhaseSpec spec;
  spec.duration = absl::Hours(1);
  PhaseWriter writer;
  writer.prepare = [] { return absl::OkStatus(); };
  writer.commit = [&]() -> absl::Status {
    clock.Advance(2);
    if (++commits == 3) return absl::UnavailableError("disk gone");
    return absl::OkStatus();
  };
  const PhaseFigures figures = RunPhase(spec, writer, clock.Fn());
  EXPECT_EQ(commits, 3);
  EXPECT_EQ(figures.commits.count, 2u);
  EXPECT_EQ(figures.write_errors, 1u);
  EXPECT_THAT(figures.first_write_error, HasSubstr("disk gone"));
}

TEST(RunPhaseTest, AFailedPrepareEndsTheWriter) {
  PhaseSpec spec;
  spec.duration = absl::Hours(1);
  PhaseWriter writer;
  writer.prepare = [] { return absl::InternalError("no batch"); };
  writer.commit = [] { return absl::OkStatus(); };
  const PhaseFigures figures = RunPhase(spec, writer);
  EXPECT_EQ(figures.commits.count, 0u);
  EXPECT_EQ(figures.write_errors, 1u);
  EXPECT_THAT(figures.first_write_error, HasSubstr("no batch"));
}

TEST(RunPhaseTest, EverySearchThreadRunsAndErrorsAreCountedApart) {
  constexpr int kThreads = 3;
  std::vector<std::atomic<int>> calls(kThreads);
  std::atomic<bool> bad_thread{false};
  PhaseSpec spec;
  spec.search_threads = kThreads;
  spec.duration = absl::Milliseconds(100);
  spec.search = [&](int thread) -> absl::StatusOr<uint64_t> {
    if (thread < 0 || thread >= kThreads) {
      bad_thread = true;
      return 0;
    }
    const int call = calls[static_cast<size_t>(thread)]++;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    if (thread == 1 && call % 2 == 1) {
      return absl::DeadlineExceededError("slow");
    }
    return 7;
  };
  PhaseWriter writer;
  writer.prepare = [] { return absl::OkStatus(); };
  writer.commit = [] {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    return absl::OkStatus();
  };
  const PhaseFigures figures = RunPhase(spec, writer);
  EXPECT_FALSE(bad_thread);
  EXPECT_EQ(figures.search_threads, kThreads);
  int total = 0;
  for (const std::atomic<int>& count : calls) {
    EXPECT_GT(count.load(), 0);
    total += count.load();
  }
  // Joined: no search runs after the phase.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(calls[0].load() + calls[1].load() + calls[2].load(), total);
  EXPECT_GT(figures.searches.count, 0u);
  EXPECT_GT(figures.search_errors, 0u);
  EXPECT_LE(figures.searches.count + figures.search_errors,
            static_cast<uint64_t>(total));
  EXPECT_THAT(figures.first_search_error, HasSubstr("slow"));
  EXPECT_DOUBLE_EQ(figures.mean_hits, 7);
  EXPECT_GT(figures.commits.count, 0u);
}

TEST(RunPhaseTest, WaitsForSearchesInFlightAndCountsThem) {
  constexpr int kThreads = 2;
  std::atomic<int> calls{0};
  PhaseSpec spec;
  spec.search_threads = kThreads;
  spec.duration = absl::Milliseconds(5);
  spec.search = [&](int) -> absl::StatusOr<uint64_t> {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return 1;
  };
  PhaseWriter writer;
  writer.prepare = [] { return absl::OkStatus(); };
  writer.commit = [] { return absl::OkStatus(); };
  const PhaseFigures figures = RunPhase(spec, writer);
  // Each thread's first search began before the writer and ended after
  // it; none began after it.
  EXPECT_EQ(calls.load(), kThreads);
  EXPECT_EQ(figures.searches.count, static_cast<size_t>(kThreads));
  EXPECT_GE(figures.searches.p50, 300);
  EXPECT_GT(figures.commits.count, 0u);
}

TEST(WriterP99RatioTest, LongOverShortOrNothing) {
  PhaseFigures short_searches;
  PhaseFigures long_searches;
  EXPECT_FALSE(WriterP99Ratio(long_searches, short_searches).has_value());
  short_searches.commits = SummarizeMillis({2, 4});
  long_searches.commits = SummarizeMillis({3, 6});
  ASSERT_TRUE(WriterP99Ratio(long_searches, short_searches).has_value());
  EXPECT_DOUBLE_EQ(*WriterP99Ratio(long_searches, short_searches), 1.5);
  short_searches.commits = SummarizeMillis({0});
  EXPECT_FALSE(WriterP99Ratio(long_searches, short_searches).has_value());
}

}  // namespace
}  // namespace sift::bench
