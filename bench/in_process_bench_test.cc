#include "bench/in_process_bench.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::bench {
namespace {

using ::sift::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class InProcessBenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "in-process-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    options_.docs_path = dir_ + "/docs.jsonl";
    options_.queries_path = dir_ + "/queries.tsv";
    std::ofstream docs(options_.docs_path);
    const char* titles[] = {"Solar power plant", "Solar eclipse",
                            "Power grid failure", "Wind power"};
    for (int i = 0; i < 4; ++i) {
      docs << "{\"id\": \"d" << i << "\", \"title\": \"" << titles[i]
           << "\", \"body\": \"Reported on Monday.\"}\n";
    }
    docs << "not json\n";
    std::ofstream(options_.queries_path)
        << "q1\tsolar power\nq2\tgrid\nq3\t\"solar eclipse\"\n";
    options_.dir = dir_ + "/index";
    options_.indexing.threads = 2;
    options_.passes.warmup_min = 4;
    options_.passes.reps = 2;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  InProcessOptions options_;
};

TEST_F(InProcessBenchTest, IndexesReopensAndTimesEveryClass) {
  options_.run_path = dir_ + "/run.trec";
  SIFT_ASSERT_OK_AND_ASSIGN(InProcessReport report, RunInProcess(options_));
  EXPECT_EQ(report.indexing.accepted, 4u);
  EXPECT_EQ(report.indexing.rejected, 1u);
  EXPECT_EQ(report.live_documents, 4u);
  EXPECT_GT(report.index_bytes, 0u);
  EXPECT_GT(report.index_peak_rss_bytes, 0u);
  EXPECT_TRUE(report.dir_kept);  // a --dir of the caller's is left alone
  EXPECT_TRUE(std::filesystem::exists(options_.dir));

  const PassFigures& or_class =
      report.classes[static_cast<size_t>(QueryClass::kOr)];
  EXPECT_EQ(or_class.queries, 2u);
  EXPECT_EQ(or_class.latency.count, 4u);  // 2 queries x 2 reps
  EXPECT_EQ(or_class.errors, 0u);
  EXPECT_DOUBLE_EQ(or_class.mean_hits, (4 + 1) / 2.0);
  const PassFigures& and_class =
      report.classes[static_cast<size_t>(QueryClass::kAnd)];
  EXPECT_EQ(and_class.queries, 1u);
  EXPECT_DOUBLE_EQ(and_class.mean_hits, 1);
  const PassFigures& phrase_class =
      report.classes[static_cast<size_t>(QueryClass::kPhrase)];
  EXPECT_EQ(phrase_class.queries, 1u);
  EXPECT_DOUBLE_EQ(phrase_class.mean_hits, 1);

  std::ifstream run(options_.run_path);
  std::stringstream lines;
  lines << run.rdbuf();
  EXPECT_THAT(lines.str(), StartsWith("q1 Q0 d0 1 "));
  EXPECT_THAT(lines.str(), HasSubstr("\nq2 Q0 d2 1 "));

  const std::string json = InProcessReportJson(report);
  EXPECT_THAT(json, StartsWith("{\n  \"mode\": \"in_process\",\n"));
  EXPECT_THAT(json, HasSubstr("\"docs\": 4,"));
  EXPECT_THAT(json, HasSubstr("\"phrase\": {"));
}

TEST_F(InProcessBenchTest, RemovesItsTemporaryDirectoryUnlessKept) {
  options_.dir.clear();
  options_.passes.warmup_min = 0;
  options_.passes.reps = 1;
  SIFT_ASSERT_OK_AND_ASSIGN(InProcessReport report, RunInProcess(options_));
  EXPECT_FALSE(report.dir_kept);
  EXPECT_FALSE(std::filesystem::exists(report.dir));

  options_.keep = true;
  SIFT_ASSERT_OK_AND_ASSIGN(InProcessReport kept, RunInProcess(options_));
  EXPECT_TRUE(std::filesystem::exists(kept.dir));
  std::filesystem::remove_all(kept.dir);
}

TEST_F(InProcessBenchTest, RefusesANonEmptyDirectory) {
  std::filesystem::create_directories(options_.dir);
  std::ofstream(options_.dir + "/something") << "x";
  EXPECT_THAT(
      RunInProcess(options_).status(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not empty")));
}

}  // namespace
}  // namespace sift::bench
