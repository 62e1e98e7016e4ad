#include "services/storage/scoring.h"

#include <cmath>

#include "gtest/gtest.h"

namespace sift::storage {
namespace {

TEST(Bm25fTest, IdfIsTheLuceneFormula) {
  const Bm25f bm25(Bm25fParams(), 1000, 5000, 100000);
  EXPECT_DOUBLE_EQ(bm25.Idf(10), std::log(1.0 + (1000 - 10 + 0.5) / 10.5));
  // Never negative, even for a term in every document.
  EXPECT_GT(bm25.Idf(1000), 0.0);
}

TEST(Bm25fTest, UnsetFieldNormalisationFollowsB) {
  v1::ScoringParams proto;
  proto.set_b(0.3);
  Bm25fParams params = Bm25fParams::FromProto(proto);
  EXPECT_EQ(params.title_b, 0.3);
  EXPECT_EQ(params.body_b, 0.3);
  // Zero is a value here, not "the default".
  proto.set_title_b(0);
  proto.set_body_b(1);
  params = Bm25fParams::FromProto(proto);
  EXPECT_EQ(params.title_b, 0.0);
  EXPECT_EQ(params.body_b, 1.0);
  EXPECT_EQ(params.b, 0.3);
}

TEST(Bm25fTest, EachFieldIsNormalisedByItsOwnB) {
  Bm25fParams params;
  params.title_weight = 1;
  params.body_weight = 1;
  params.title_b = 0;  // title length ignored
  params.body_b = 1;   // body tf divided by length / average
  // 10 documents, average title 5 terms, average body 100.
  const Bm25f bm25(params, 10, 50, 1000);
  EXPECT_DOUBLE_EQ(bm25.WeightedTf(TextFields::kTitle, 1, 0, 50, 100), 1.0);
  EXPECT_DOUBLE_EQ(bm25.WeightedTf(TextFields::kTitle, 1, 0, 1, 100), 1.0);
  EXPECT_DOUBLE_EQ(bm25.WeightedTf(TextFields::kBody, 0, 2, 5, 200), 1.0);
  EXPECT_DOUBLE_EQ(bm25.WeightedTf(TextFields::kBody, 0, 2, 5, 50), 4.0);
  EXPECT_DOUBLE_EQ(bm25.WeightedTf(TextFields::kTitleAndBody, 1, 2, 1, 50),
                   5.0);
}

TEST(Bm25fTest, ScoreSaturatesWithK1) {
  Bm25fParams params;
  params.k1 = 1.2;
  const Bm25f bm25(params, 10, 50, 1000);
  const double idf = 2.0;
  EXPECT_EQ(bm25.Score(idf, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(bm25.Score(idf, 1.0), idf * 2.2 / 2.2);
  // Never more than idf * (k1 + 1), however frequent the term.
  EXPECT_LT(bm25.Score(idf, 1e9), idf * 2.2);
  EXPECT_GT(bm25.Score(idf, 3.0), bm25.Score(idf, 2.0));
}

}  // namespace
}  // namespace sift::storage
