#include "bench/shard_bench.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/index_factory.h"

namespace sift::bench {
namespace {

using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::string Doc(const std::string& id, const std::string& title,
                const std::string& body) {
  return "{\"id\": \"" + id + "\", \"title\": \"" + title + "\", \"body\": \"" +
         body +
         "\", \"date\": \"2021-03-04\", \"source\": \"wire\", \"tags\": "
         "[\"energy\"]}\n";
}

class ShardBenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "shard-bench-XXXXXX")
            .string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    SIFT_ASSERT_OK_AND_ASSIGN(
        index_, storage::OpenIndex(dir_ + "/index", storage::IndexOptions{}));
  }
  void TearDown() override {
    if (index_ != nullptr) {
      EXPECT_THAT(index_->Close(), testing::IsOk());
    }
    index_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string WriteCorpus(const std::string& text) {
    const std::string path = dir_ + "/docs.jsonl";
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // The ids of the hits of `text`.
  std::vector<std::string> Ids(absl::string_view text,
                               query::DefaultOperator op) {
    const ShardSearcher searcher(*index_, analyzer_, 10);
    absl::StatusOr<ShardQueryResult> result = searcher.Search(text, op);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? result->ids : std::vector<std::string>{};
  }

  std::string dir_;
  analysis::Analyzer analyzer_;
  std::unique_ptr<storage::Index> index_;
};

TEST_F(ShardBenchTest, IndexesAcceptedLinesAndCountsRejectedOnes) {
  const std::string corpus =
      Doc("a", "Solar power plant", "The plant opened.") +
      "this is not json\n" + Doc("b", "Solar eclipse", "Seen from Chile.") +
      "\n" + "{\"title\": \"no id\"}\n" +
      Doc("c", "Power grid", "The grid held.") +
      Doc("d", "Wind farm", "Turbines turned.") +
      Doc("e", "Tidal energy", "Waves and tides.");
  const std::string path = WriteCorpus(corpus);
  IndexingOptions options;
  options.batch_documents = 2;
  options.threads = 3;
  SIFT_ASSERT_OK_AND_ASSIGN(IndexingFigures figures,
                            IndexCorpus(path, *index_, analyzer_, options));
  EXPECT_EQ(figures.documents, 7u);
  EXPECT_EQ(figures.accepted, 5u);
  EXPECT_EQ(figures.rejected, 2u);
  ASSERT_EQ(figures.sample_rejections.size(), 2u);
  EXPECT_THAT(figures.sample_rejections[0], HasSubstr("json"));
  EXPECT_EQ(figures.input_bytes, corpus.size());
  EXPECT_GE(figures.write_requests, 3u);
  EXPECT_GT(figures.seconds, 0);
  EXPECT_EQ(index_->DocCount(), 5u);
}

TEST_F(ShardBenchTest, AppliesBatchesInCorpusOrderSoTheLastVersionWins) {
  std::string corpus = Doc("x", "alpha", "first version");
  for (int i = 0; i < 20; ++i) {
    corpus += Doc("filler-" + std::to_string(i), "filler", "nothing here");
  }
  corpus += Doc("x", "omega", "second version");
  IndexingOptions options;
  options.batch_documents = 3;
  options.threads = 4;
  SIFT_ASSERT_OK_AND_ASSIGN(
      IndexingFigures figures,
      IndexCorpus(WriteCorpus(corpus), *index_, analyzer_, options));
  EXPECT_EQ(figures.accepted, 22u);
  EXPECT_EQ(index_->DocCount(), 21u);
  EXPECT_THAT(Ids("alpha", query::DefaultOperator::kOr), ElementsAre());
  EXPECT_THAT(Ids("omega", query::DefaultOperator::kOr), ElementsAre("x"));
}

TEST_F(ShardBenchTest, MissingCorpusIsNotFound) {
  EXPECT_THAT(IndexCorpus(dir_ + "/missing.jsonl", *index_, analyzer_,
                          IndexingOptions{})
                  .status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ShardBenchTest, SearchesLikeTheCoordinatorWithEachOperator) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      IndexingFigures figures,
      IndexCorpus(WriteCorpus(Doc("a", "Solar power plant", "It opened.") +
                              Doc("b", "Solar eclipse", "Seen from Chile.") +
                              Doc("c", "Power grid", "The grid held.")),
                  *index_, analyzer_, IndexingOptions{}));
  ASSERT_EQ(figures.accepted, 3u);

  EXPECT_THAT(Ids("solar power", query::DefaultOperator::kOr),
              UnorderedElementsAre("a", "b", "c"));
  // The document with both terms ranks first.
  EXPECT_EQ(Ids("solar power", query::DefaultOperator::kOr).front(), "a");
  EXPECT_THAT(Ids("solar power", query::DefaultOperator::kAnd),
              ElementsAre("a"));
  EXPECT_THAT(Ids("\"solar eclipse\"", query::DefaultOperator::kOr),
              ElementsAre("b"));
  EXPECT_THAT(Ids("\"eclipse solar\"", query::DefaultOperator::kOr),
              ElementsAre());

  const ShardSearcher top_one(*index_, analyzer_, 1);
  SIFT_ASSERT_OK_AND_ASSIGN(
      ShardQueryResult result,
      top_one.Search("solar power", query::DefaultOperator::kOr));
  EXPECT_EQ(result.total_hits, 3u);
  EXPECT_THAT(result.ids, ElementsAre("a"));
  ASSERT_EQ(result.scores.size(), 1u);
  EXPECT_GT(result.scores[0], 0);

  // Punctuation analyzes to nothing and matches nothing, without an error.
  SIFT_ASSERT_OK_AND_ASSIGN(
      ShardQueryResult nothing,
      top_one.Search(",,, ...", query::DefaultOperator::kOr));
  EXPECT_EQ(nothing.total_hits, 0u);
  EXPECT_THAT(top_one.Search("(solar", query::DefaultOperator::kOr).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(AppendTrecRunTest, WritesOneLinePerHitWithRankFromOne) {
  ShardQueryResult result;
  result.ids = {"doc-7", "doc-2"};
  result.scores = {3.25, 1.5};
  std::string out;
  AppendTrecRun("q4", result, "sift", &out);
  EXPECT_EQ(out,
            "q4 Q0 doc-7 1 3.250000 sift\n"
            "q4 Q0 doc-2 2 1.500000 sift\n");
}

}  // namespace
}  // namespace sift::bench
