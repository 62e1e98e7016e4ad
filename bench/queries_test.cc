#include "bench/queries.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::bench {
namespace {

using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class QueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "queries-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& text) {
    const std::string path = dir_ + "/queries.tsv";
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  std::string dir_;
};

TEST_F(QueriesTest, ReadsQidTabTextLines) {
  const std::string path =
      Write("q1\tsolar power\r\n\nq2\t\"human rights\" china\nq3\ta\tb\n");
  SIFT_ASSERT_OK_AND_ASSIGN(std::vector<BenchQuery> queries, ReadQueries(path));
  EXPECT_THAT(queries, ElementsAre(BenchQuery{"q1", "solar power"},
                                   BenchQuery{"q2", "\"human rights\" china"},
                                   BenchQuery{"q3", "a\tb"}));
}

TEST_F(QueriesTest, RejectsLinesARunFileCouldNotCarry) {
  EXPECT_THAT(ReadQueries(Write("q1\tok\nno tab here\n")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(":2:")));
  EXPECT_THAT(ReadQueries(Write("\tno qid\n")).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      ReadQueries(Write("q 1\ttext\n")).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("white space")));
  EXPECT_THAT(ReadQueries(dir_ + "/missing.tsv").status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(QueriesTest, ClassifiesByQuotesAndAnalyzedTermCount) {
  const analysis::Analyzer analyzer;
  const std::vector<BenchQuery> queries = {
      {"q1", "solar power"},          // OR and AND
      {"q2", "eclipse"},              // OR only: one term
      {"q3", "\"solar eclipse\""},    // phrase
      {"q4", "grid ,,, ..."},         // OR only: punctuation adds no term
      {"q5", "\"power grid\" solar"}  // phrase
  };
  const ClassifiedQueries classes = ClassifyQueries(queries, analyzer);
  auto qids = [](const std::vector<BenchQuery>& list) {
    std::vector<std::string> out;
    for (const BenchQuery& query : list) out.push_back(query.qid);
    return out;
  };
  EXPECT_THAT(qids(classes.of(QueryClass::kOr)), ElementsAre("q1", "q2", "q4"));
  EXPECT_THAT(qids(classes.of(QueryClass::kAnd)), ElementsAre("q1"));
  EXPECT_THAT(qids(classes.of(QueryClass::kPhrase)), ElementsAre("q3", "q5"));
}

TEST_F(QueriesTest, WritesEachClassToItsOwnFile) {
  const analysis::Analyzer analyzer;
  const ClassifiedQueries classes = ClassifyQueries(
      {{"q1", "solar power"}, {"q2", "\"solar eclipse\""}}, analyzer);
  ASSERT_THAT(WriteClassifiedQueries(dir_ + "/classes", classes),
              ::sift::testing::IsOk());
  SIFT_ASSERT_OK_AND_ASSIGN(std::vector<BenchQuery> and_queries,
                            ReadQueries(dir_ + "/classes/and.tsv"));
  EXPECT_THAT(and_queries, ElementsAre(BenchQuery{"q1", "solar power"}));
  SIFT_ASSERT_OK_AND_ASSIGN(std::vector<BenchQuery> phrase_queries,
                            ReadQueries(dir_ + "/classes/phrase.tsv"));
  EXPECT_THAT(phrase_queries,
              ElementsAre(BenchQuery{"q2", "\"solar eclipse\""}));
}

}  // namespace
}  // namespace sift::bench
