#include "services/storage/scoring.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace sift::storage {
namespace {

TEST(Bm25fTest, IdfIsTheLuceneFormula) {
  const Bm25f bm25(Bm25fParams(), 1000, 5000, 100000);
  EXPECT_DOUBLE_EQ(bm25.Idf(10), std::log(1.0 + (1000 - 10 + 0.5) / 10.5));
  // Never negative, even for a term in every document.
  EXPECT_GT(bm25.Idf(1000), 0.0);
  // Nor for one counted in deleted documents not yet merged away: it
  // weighs as a term in every live document.
  EXPECT_EQ(bm25.Idf(1500), bm25.Idf(1000));
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

// Full length normalisation (b = 1) of a field that is empty in a
// document that matches in the other field: the score stays a number.
TEST(Bm25fTest, EmptyFieldWithFullNormalisationAddsNothing) {
  Bm25fParams params;
  params.title_b = 1;
  params.body_b = 1;
  const Bm25f bm25(params, 10, 50, 1000);
  const double body_only =
      bm25.WeightedTf(TextFields::kTitleAndBody, 0, 2, 0, 100);
  EXPECT_DOUBLE_EQ(body_only, 2.0);
  const double title_only =
      bm25.WeightedTf(TextFields::kTitleAndBody, 1, 0, 5, 0);
  EXPECT_DOUBLE_EQ(title_only, params.title_weight);
  EXPECT_FALSE(std::isnan(bm25.Score(bm25.Idf(3), title_only)));
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

TEST(Bm25fTest, ProximityRewardsDifferentTermsCloseTogether) {
  Bm25fParams params;
  params.title_weight = 1;
  params.body_weight = 1;
  params.proximity_weight = 1;
  const Bm25f bm25(params, 10, 50, 1000);
  const std::vector<double> idfs = {3.0, 3.0};
  const std::vector<std::vector<uint32_t>> none(2);
  auto body = [&](std::vector<uint32_t> a, std::vector<uint32_t> b) {
    return bm25.Proximity(idfs, none, {std::move(a), std::move(b)}, 5, 100);
  };
  const double adjacent = body({10}, {11});
  const double three_apart = body({10}, {13});
  EXPECT_GT(adjacent, three_apart);
  EXPECT_GT(three_apart, 0.0);
  // Order does not matter; distance does.
  EXPECT_DOUBLE_EQ(body({11}, {10}), adjacent);
  // Farther than kProximityDistance: nothing.
  EXPECT_EQ(body({10}, {10 + kProximityDistance + 1}), 0.0);
  EXPECT_GT(body({10}, {10 + kProximityDistance}), 0.0);
  // One term repeated next to itself is not proximity.
  EXPECT_EQ(body({10, 11, 12}, {}), 0.0);
  // More near pairs, more bonus, but saturating: each term's share stays
  // under min(1, idf) * (k1 + 1).
  const double many = body({10, 20, 30, 40}, {11, 21, 31, 41});
  EXPECT_GT(many, adjacent);
  EXPECT_LT(body({10, 20, 30, 40, 50, 60, 70, 80, 90},
                 {11, 21, 31, 41, 51, 61, 71, 81, 91}),
            2 * (params.k1 + 1));
}

TEST(Bm25fTest, ProximityIsWeightedLikeTheFields) {
  Bm25fParams params;
  params.title_weight = 3;
  params.body_weight = 1;
  params.proximity_weight = 0.5;
  params.b = params.title_b = params.body_b = 0;  // lengths do not matter
  const Bm25f bm25(params, 10, 50, 1000);
  const std::vector<double> idfs = {3.0, 0.5};
  const std::vector<std::vector<uint32_t>> near = {{1}, {2}};
  const std::vector<std::vector<uint32_t>> none(2);
  const double in_title = bm25.Proximity(idfs, near, none, 5, 100);
  const double in_body = bm25.Proximity(idfs, none, near, 5, 100);
  EXPECT_DOUBLE_EQ(in_title, 3 * in_body);
  // Each term: min(1, idf) * pf * (k1 + 1) / (k1 + pf), pf = 1.
  const double k1 = params.k1;
  EXPECT_DOUBLE_EQ(in_body, 0.5 * (1.0 + 0.5) * (k1 + 1) / (k1 + 1));
  params.proximity_weight = 0;
  EXPECT_EQ(Bm25f(params, 10, 50, 1000).Proximity(idfs, near, near, 5, 100),
            0.0);
}

TEST(Bm25fTest, ProximityDefaultsAndOverrides) {
  v1::ScoringParams proto;
  Bm25fParams params = Bm25fParams::FromProto(proto);
  EXPECT_EQ(params.proximity_weight, Bm25fParams().proximity_weight);
  EXPECT_GT(params.proximity_weight, 0.0);
  proto.set_proximity_weight(0);  // a value: off
  params = Bm25fParams::FromProto(proto);
  EXPECT_EQ(params.proximity_weight, 0.0);
}

// The bound that lets a search skip reading positions must hold for every
// document: random fields of a few query terms among other words, one word
// per position, each term's bound from its own and the others' frequencies
// summed over the terms, never below the bonus the positions give.
TEST(Bm25fTest, ProximityBoundHoldsForRandomDocuments) {
  std::mt19937 rng(5);
  for (int round = 0; round < 2000; ++round) {
    Bm25fParams params;
    params.k1 = std::uniform_real_distribution<double>(0.1, 3.0)(rng);
    params.title_b = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    params.body_b = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    params.title_weight = std::uniform_real_distribution<double>(0.5, 4)(rng);
    params.proximity_weight =
        std::uniform_real_distribution<double>(0.05, 2.0)(rng);
    const Bm25f bm25(params, 1000, 8000, 300000);
    const size_t terms = 2 + rng() % 4;
    std::vector<double> idfs;
    for (size_t t = 0; t < terms; ++t) {
      idfs.push_back(std::uniform_real_distribution<double>(0.1, 8.0)(rng));
    }
    // A field: each position holds one query term (dense, the worst case
    // for the bound) or another word.
    auto field = [&](uint32_t length, double density) {
      std::vector<std::vector<uint32_t>> positions(terms);
      for (uint32_t p = 0; p < length; ++p) {
        if (std::uniform_real_distribution<double>(0, 1)(rng) < density) {
          positions[rng() % terms].push_back(p);
        }
      }
      return positions;
    };
    const uint32_t title_length = 1 + rng() % 12;
    const uint32_t body_length = 1 + rng() % 400;
    const double density = std::uniform_real_distribution<double>(0, 1)(rng);
    const auto title = field(title_length, density);
    const auto body = field(body_length, density);
    uint32_t all_title = 0, all_body = 0;
    for (size_t t = 0; t < terms; ++t) {
      all_title += static_cast<uint32_t>(title[t].size());
      all_body += static_cast<uint32_t>(body[t].size());
    }
    double bound = 0.0, loose = 0.0;
    for (size_t t = 0; t < terms; ++t) {
      const auto tf_title = static_cast<uint32_t>(title[t].size());
      const auto tf_body = static_cast<uint32_t>(body[t].size());
      bound +=
          bm25.ProximityBound(idfs[t], tf_title, tf_body, all_title - tf_title,
                              all_body - tf_body, title_length, body_length);
      // Knowing nothing of the other terms is looser still.
      loose += bm25.ProximityBound(
          idfs[t], tf_title, tf_body, Bm25f::kAnyOccurrences,
          Bm25f::kAnyOccurrences, title_length, body_length);
    }
    const double bonus =
        bm25.Proximity(idfs, title, body, title_length, body_length);
    ASSERT_LE(bonus, bound * (1 + 1e-12)) << "round " << round;
    ASSERT_LE(bound, loose * (1 + 1e-12)) << "round " << round;
  }
}

TEST(Bm25fTest, ProximityBoundIsZeroWithoutAnotherTerm) {
  const Bm25f bm25(Bm25fParams(), 1000, 8000, 300000);
  EXPECT_EQ(bm25.ProximityBound(2.0, 3, 5, 0, 0, 8, 300), 0.0);
  EXPECT_GT(bm25.ProximityBound(2.0, 3, 5, 0, 1, 8, 300), 0.0);
  Bm25fParams off;
  off.proximity_weight = 0;
  EXPECT_EQ(
      Bm25f(off, 1000, 8000, 300000).ProximityBound(2.0, 3, 5, 9, 9, 8, 300),
      0.0);
}

}  // namespace
}  // namespace sift::storage
