// Ranking over a MemoryIndex: BM25F by hand, the term proximity bonus, paging
// by cursor, and scores that do not depend on the sharding. The pruning is
// checked against an exhaustive evaluation in pruning_test.cc.

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/analysis/term_match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/engine_test.h"
#include "services/storage/scoring.h"
#include "services/storage/segment/iterators.h"
#include "services/storage/shard_query.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::Bool;
using ::sift::storage::testing::DateRange;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::DocSpec;
using ::sift::storage::testing::EngineTest;
using ::sift::storage::testing::HitIds;
using ::sift::storage::testing::Layout;
using ::sift::storage::testing::MatchAll;
using ::sift::storage::testing::MemoryIndex;
using ::sift::storage::testing::PageAfter;
using ::sift::storage::testing::Phrase;
using ::sift::storage::testing::RandomBatches;
using ::sift::storage::testing::RandomMixedQueries;
using ::sift::storage::testing::RandomQueries;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class RankingTest : public EngineTest {};

// A corpus small enough to score by hand: N = 2, title lengths 1 and 2,
// body lengths 2 and 1, so both average lengths are 1.5.
class ScoringTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Write({Upsert({.id = "d1",
                   .title = "apple",
                   .body = "apple banana",
                   .source = "farm"}),
           Upsert({.id = "d2", .title = "banana split", .body = "cherry"})});
  }

  double ScoreOf(v1::QueryNode query, const std::string& id) {
    const v1::ShardSearchResponse response =
        Search(SearchFor(std::move(query)));
    for (const v1::ShardHit& hit : response.hits()) {
      if (hit.id() == id) return hit.score();
    }
    ADD_FAILURE() << id << " not found";
    return -1;
  }
};

TEST_P(ScoringTest, Bm25fMatchesHandComputedValues) {
  const double ln2 = std::log(2.0);  // idf of df 1 with N 2
  // "apple" in d1: title norm 0.25 + 0.75 * 1 / 1.5 = 0.75, body norm
  // 0.25 + 0.75 * 2 / 1.5 = 1.25; tf~ = 2 * 1 / 0.75 + 1 * 1 / 1.25 = 52/15;
  // score = ln2 * 52/15 * 2.2 / (1.2 + 52/15) = ln2 * 114.4 / 70.
  EXPECT_NEAR(ScoreOf(Term("apple"), "d1"), ln2 * 114.4 / 70.0, 1e-12);
  // "banana" in the title of d2: norm 1.25, tf~ = 2 / 1.25 = 1.6.
  EXPECT_NEAR(ScoreOf(Term("banana", v1::FIELD_TITLE), "d2"),
              ln2 * 1.6 * 2.2 / 2.8, 1e-12);
  // "banana" in the body of d1 only: tf~ = 1 / 1.25 = 0.8; df(body) = 1.
  EXPECT_NEAR(ScoreOf(Term("banana", v1::FIELD_BODY), "d1"),
              ln2 * 0.8 * 2.2 / 2.0, 1e-12);
  // A keyword term scores its idf.
  EXPECT_NEAR(ScoreOf(Term("farm", v1::FIELD_SOURCE), "d1"), ln2, 1e-12);
  // The phrase "apple banana" occurs once in d1's body; its idf sums the
  // terms' idfs: banana has df 2, so ln(1 + 0.5 / 2.5) = ln 1.2.
  EXPECT_NEAR(ScoreOf(Phrase("apple banana"), "d1"),
              (ln2 + std::log(1.2)) * 0.8 * 2.2 / 2.0, 1e-12);
  // A boolean sums its clauses.
  EXPECT_NEAR(
      ScoreOf(Bool({}, {Term("apple"), Term("farm", v1::FIELD_SOURCE)}), "d1"),
      ln2 * 114.4 / 70.0 + ln2, 1e-12);
}

TEST_P(ScoringTest, UsesGlobalStatsAndParamsFromTheRequest) {
  v1::ShardSearchRequest request = SearchFor(Term("cherry"));
  v1::GlobalStats* stats = request.mutable_stats();
  stats->set_doc_count(10);
  stats->set_total_title_terms(10);  // average 1
  stats->set_total_body_terms(20);   // average 2
  v1::TermRef* ref = stats->add_terms();
  ref->set_term("cherry");
  stats->add_doc_freqs(4);
  request.mutable_scoring()->set_k1(2.0);
  request.mutable_scoring()->set_b(0.5);
  request.mutable_scoring()->set_body_weight(3.0);
  // idf = ln(1 + 6.5 / 4.5); body norm = 0.5 + 0.5 * 1 / 2 = 0.75;
  // tf~ = 3 * 1 / 0.75 = 4; score = idf * 4 * 3 / 6.
  const double idf = std::log(1.0 + 6.5 / 4.5);
  v1::ShardSearchResponse response = Search(request);
  ASSERT_EQ(response.hits_size(), 1);
  EXPECT_NEAR(response.hits(0).score(), idf * 4.0 * 3.0 / 6.0, 1e-12);
}

// The length column keeps 16 bits a field and the rare longer length
// apart: lengths on either side of that limit must score exactly.
TEST_P(RankingTest, LongBodiesScoreByTheirExactLength) {
  const std::vector<uint32_t> lengths = {65534, 65535, 65536, 70001};
  std::vector<v1::WriteOp> ops;
  for (uint32_t length : lengths) {
    std::string body = "cherry";
    for (uint32_t i = 1; i < length; ++i) body += " w";
    ops.push_back(Upsert({.id = absl::StrCat("d", length),
                          .title = "t",
                          .body = std::move(body)}));
  }
  Write(std::move(ops));
  v1::ShardSearchRequest request = SearchFor(Term("cherry"));
  v1::GlobalStats* stats = request.mutable_stats();
  stats->set_doc_count(10);
  stats->set_total_title_terms(10);
  stats->set_total_body_terms(500000);  // average 50,000
  stats->add_terms()->set_term("cherry");
  stats->add_doc_freqs(4);
  const v1::ShardSearchResponse response = Search(request);
  ASSERT_EQ(response.hits_size(), 4);
  const double idf = std::log(1.0 + 6.5 / 4.5);
  for (const v1::ShardHit& hit : response.hits()) {
    uint32_t length = 0;
    ASSERT_TRUE(absl::SimpleAtoi(hit.id().substr(1), &length)) << hit.id();
    // Body norm 0.25 + 0.75 * length / 50,000; body weight 1.
    const double tf = 1.0 / (0.25 + 0.75 * length / 50000.0);
    EXPECT_NEAR(hit.score(), idf * tf * 2.2 / (1.2 + tf), 1e-12) << hit.id();
  }
}

TEST_P(RankingTest, ProximityRanksTermsTogetherAboveTermsApart) {
  // The same words and lengths, so the same BM25F; only closeness differs.
  // Ids run against the expected order: without the bonus they would tie
  // and sort by id.
  Write({Upsert({.id = "a-apart",
                 .body = "wing one two three four five "
                         "six seven eight lift"}),
         Upsert({.id = "b-together",
                 .body = "one two three four wing lift "
                         "five six seven eight"}),
         Upsert({.id = "c-one-term",
                 .body = "wing one two three four five "
                         "six seven eight nine"})});
  v1::ShardSearchRequest request =
      SearchFor(Bool({}, {Term("wing"), Term("lift")}));
  v1::ShardSearchResponse response = Search(request);
  EXPECT_THAT(HitIds(response),
              ElementsAre("b-together", "a-apart", "c-one-term"));
  ASSERT_EQ(response.hits_size(), 3);
  const double with_bonus = response.hits(0).score();
  const double without = response.hits(1).score();
  EXPECT_GT(with_bonus, without);

  // Off: a plain BM25F tie, ordered by id, and the same scores as the
  // document without the bonus had.
  request.mutable_scoring()->set_proximity_weight(0);
  response = Search(request);
  EXPECT_THAT(HitIds(response),
              ElementsAre("a-apart", "b-together", "c-one-term"));
  EXPECT_EQ(response.hits(0).score(), response.hits(1).score());
  EXPECT_EQ(response.hits(0).score(), without);

  // The top hit alone, and every score, whatever the page size; a
  // conjunction (the iterator path) scores the same bonus as WAND.
  request.mutable_scoring()->clear_proximity_weight();
  request.set_limit(1);
  EXPECT_THAT(HitIds(Search(request)), ElementsAre("b-together"));
  const v1::ShardSearchResponse both =
      Search(SearchFor(Bool({Term("wing"), Term("lift")})));
  ASSERT_EQ(both.hits_size(), 2);
  EXPECT_EQ(both.hits(0).id(), "b-together");
  EXPECT_EQ(both.hits(0).score(), with_bonus);

  // Paging with a cursor walks the same order, one hit at a time.
  std::vector<std::string> paged;
  for (const v1::ShardHit& hit : PageAfter(Searcher(), request, 1)) {
    paged.push_back(hit.id());
  }
  EXPECT_THAT(paged, ElementsAre("b-together", "a-apart", "c-one-term"));
}

// The bonus belongs to the document, not to a shard's best few: a document
// whose terms stand together outranks dozens with a higher BM25F, on every
// page size, and its score is the same on every page.
TEST_P(RankingTest, ProximityReachesDocumentsFarDownTheBm25fOrder) {
  std::vector<v1::WriteOp> ops;
  // Forty documents with "wing" twice and "lift" far from it: a higher
  // BM25F than the one below, no bonus.
  for (int i = 0; i < 40; ++i) {
    ops.push_back(Upsert(
        {.id = absl::StrCat("apart-", i),
         .body = "wing wing one two three four five six seven eight lift"}));
  }
  ops.push_back(Upsert({.id = "together",
                        .body = "wing lift one two three four five six seven "
                                "eight nine"}));
  Write(std::move(ops));
  v1::ShardSearchRequest off =
      SearchFor(Bool({}, {Term("wing"), Term("lift")}), 100);
  off.mutable_scoring()->set_proximity_weight(0);
  const v1::ShardSearchResponse bm25f = Search(off);
  ASSERT_EQ(bm25f.hits_size(), 41);
  EXPECT_EQ(bm25f.hits(40).id(), "together");  // last by BM25F alone

  for (uint32_t limit : {1u, 5u, 41u}) {
    const v1::ShardSearchResponse r =
        Search(SearchFor(Bool({}, {Term("wing"), Term("lift")}), limit));
    ASSERT_GE(r.hits_size(), 1) << limit;
    EXPECT_EQ(r.hits(0).id(), "together") << limit;
    EXPECT_GT(r.hits(0).score(), bm25f.hits(0).score()) << limit;
  }
  // The iterator path too.
  EXPECT_EQ(
      Search(SearchFor(Bool({Term("wing"), Term("lift")}), 1)).hits(0).id(),
      "together");
}

TEST_P(RankingTest, ProximityIgnoresScopedAndExcludedTerms) {
  Write({Upsert({.id = "a", .body = "wing one two three lift"}),
         Upsert({.id = "b", .body = "wing lift one two three"})});
  // `lift` scoped to the body is not a proximity term: one term left, so
  // both keep their tie.
  v1::ShardSearchResponse response =
      Search(SearchFor(Bool({}, {Term("wing"), Term("lift", v1::FIELD_BODY)})));
  EXPECT_THAT(HitIds(response), ElementsAre("a", "b"));
  EXPECT_EQ(response.hits(0).score(), response.hits(1).score());
}

TEST_P(RankingTest, DateOrderedHitsCarryTheScoreRelevanceGivesThem) {
  Write({Upsert({.id = "old", .body = "wing lift", .published_seconds = 10}),
         Upsert({.id = "new", .body = "wing x lift", .published_seconds = 20}),
         Upsert({.id = "none", .body = "wing"})});
  const v1::ShardSearchResponse relevance =
      Search(SearchFor(Bool({}, {Term("wing"), Term("lift")})));
  std::map<std::string, double> scores;
  for (const v1::ShardHit& hit : relevance.hits())
    scores[hit.id()] = hit.score();
  v1::ShardSearchRequest dated =
      SearchFor(Bool({}, {Term("wing"), Term("lift")}));
  dated.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  const v1::ShardSearchResponse r = Search(dated);
  ASSERT_THAT(HitIds(r), ElementsAre("new", "old", "none"));
  for (const v1::ShardHit& hit : r.hits()) {
    EXPECT_EQ(hit.score(), scores[hit.id()]) << hit.id();
  }
}

// Forty documents with many ties: four bodies (so four distinct scores),
// five dates, every fourth undated; written in four batches, so that the
// flushed layout spreads them over segments, and ids that do not follow
// the insertion order.
class SearchAfterTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    const char* bodies[] = {"tie", "tie tie", "tie other words here",
                            "tie tie tie"};
    for (int batch = 0; batch < 4; ++batch) {
      std::vector<v1::WriteOp> ops;
      for (int i = batch; i < 40; i += 4) {
        DocSpec doc{.id = absl::StrCat("d", (i * 7) % 40),
                    .body = bodies[i % 4]};
        if (i % 4 != 3) doc.published_seconds = 86400 * (i % 5);
        ops.push_back(Upsert(std::move(doc)));
      }
      Write(std::move(ops));
    }
  }

  // Paging `limit` at a time gives the same hits, scores and order as one
  // search for everything.
  void ExpectPagingEqualsOneSearch(const v1::ShardSearchRequest& request) {
    auto all = index_.Search(request);
    ASSERT_THAT(all, IsOk());
    ASSERT_EQ(all->hits_size(), 40);
    for (uint32_t limit : {1u, 3u, 7u, 40u}) {
      std::vector<v1::ShardHit> paged = PageAfter(Searcher(), request, limit);
      ASSERT_EQ(paged.size(), 40u) << limit;
      for (int i = 0; i < 40; ++i) {
        EXPECT_EQ(paged[i].id(), all->hits(i).id()) << limit << " " << i;
        EXPECT_EQ(paged[i].score(), all->hits(i).score());
      }
    }
  }
};

TEST_P(SearchAfterTest, RelevanceWithEqualScoresTiesById) {
  // A lone term runs through WAND.
  ExpectPagingEqualsOneSearch(SearchFor(Term("tie"), 100));
  // A conjunction runs through the iterator tree.
  ExpectPagingEqualsOneSearch(
      SearchFor(Bool({Term("tie")}, {Term("other")}), 100));
}

TEST_P(SearchAfterTest, DatesWithTiesAndUndatedLastInBothOrders) {
  for (v1::SortOrder sort :
       {v1::SORT_ORDER_PUBLISHED_DESC, v1::SORT_ORDER_PUBLISHED_ASC}) {
    v1::ShardSearchRequest request = SearchFor(MatchAll(), 100);
    request.set_sort(sort);
    ExpectPagingEqualsOneSearch(request);
    request = SearchFor(Term("tie"), 100);
    request.set_sort(sort);
    ExpectPagingEqualsOneSearch(request);
  }
}

TEST_P(SearchAfterTest, ReturnsOnlyHitsStrictlyAfterTheCursor) {
  v1::ShardSearchRequest request = SearchFor(MatchAll(), 100);
  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  // Days 4 to 0, then the ten undated. After day 2's "d30" come the day-2
  // ids above it, then days 1 and 0, then the undated.
  request.mutable_search_after()->mutable_published_at()->set_seconds(86400 *
                                                                      2);
  request.mutable_search_after()->set_id("d30");
  v1::ShardSearchResponse r = Search(request);
  EXPECT_EQ(r.total_hits(), 40u);
  ASSERT_FALSE(r.hits().empty());
  for (const v1::ShardHit& hit : r.hits()) {
    if (!hit.has_published_at()) continue;
    EXPECT_LE(hit.published_at().seconds(), 86400 * 2) << hit.id();
    if (hit.published_at().seconds() == 86400 * 2) {
      EXPECT_GT(hit.id(), "d30");
    }
  }
  EXPECT_EQ(r.hits(r.hits_size() - 1).has_published_at(), false);
  // After an undated cursor only undated documents with greater ids.
  request.mutable_search_after()->clear_published_at();
  request.mutable_search_after()->set_undated(true);
  request.mutable_search_after()->set_id("d2");
  r = Search(request);
  for (const v1::ShardHit& hit : r.hits()) {
    EXPECT_FALSE(hit.has_published_at()) << hit.id();
    EXPECT_GT(hit.id(), "d2");
  }
  // The undated are i = 3, 7, ..., 39 with ids d<(7 * i) % 40>.
  EXPECT_THAT(HitIds(r),
              ElementsAre("d21", "d25", "d29", "d33", "d37", "d5", "d9"));
  // A cursor past the end, and relevance after the best score with a
  // higher id: nothing, however many match.
  request.mutable_search_after()->set_id("d99");
  r = Search(request);
  EXPECT_THAT(r.hits(), IsEmpty());
  EXPECT_EQ(r.total_hits(), 40u);
  request = SearchFor(Term("tie"), 100);
  request.mutable_search_after()->set_score(1e300);
  request.mutable_search_after()->set_id("a");
  EXPECT_EQ(Search(request).hits_size(), 40);
  request.mutable_search_after()->set_score(0.0);
  r = Search(request);
  EXPECT_THAT(r.hits(), IsEmpty());
  EXPECT_EQ(r.total_hits(), 40u);
}

// Splitting a collection over shards changes no score and, once each
// shard's top k is merged, no hit of the top k: the proximity bonus
// included, given the summed statistics.
TEST(ShardingTest, MergedTopKOfShardsEqualsTheTopKOfOne) {
  const std::vector<std::vector<v1::WriteOp>> batches =
      RandomBatches(2400, 300, 13);
  MemoryIndex single(Layout::kSegmentPerWrite);
  std::vector<MemoryIndex> shards(3);
  for (const auto& batch : batches) {
    ASSERT_THAT(single.Write(WriteOf(batch)), IsOk());
    std::vector<std::vector<v1::WriteOp>> split(3);
    for (const v1::WriteOp& op : batch) {
      const std::string& id = op.upsert().document().id();
      split[std::hash<std::string>()(id) % 3].push_back(op);
    }
    for (int s = 0; s < 3; ++s) {
      ASSERT_THAT(shards[s].Write(WriteOf(split[s])), IsOk());
    }
  }
  std::vector<v1::QueryNode> queries = RandomQueries(40, 3);
  for (v1::QueryNode& q : RandomMixedQueries(40, 4)) queries.push_back(q);
  int compared = 0;
  for (const v1::QueryNode& query : queries) {
    // The statistics a coordinator gathers: sums over the shards, which
    // equal the single index's.
    v1::ShardSearchRequest request = SearchFor(query, 10);
    v1::GlobalStats* stats = request.mutable_stats();
    std::set<std::pair<int, std::string>> refs;
    std::vector<const v1::QueryNode*> stack = {&query};
    while (!stack.empty()) {
      const v1::QueryNode* node = stack.back();
      stack.pop_back();
      if (node->has_term()) {
        refs.insert({node->term().field(), node->term().term()});
      } else if (node->has_phrase()) {
        for (const std::string& t : node->phrase().terms()) {
          refs.insert({node->phrase().field(), t});
        }
      } else if (node->has_boolean()) {
        for (const auto* list :
             {&node->boolean().must(), &node->boolean().should(),
              &node->boolean().must_not()}) {
          for (const v1::QueryNode& child : *list) stack.push_back(&child);
        }
      }
    }
    for (const auto& [field, term] : refs) {
      v1::TermRef* ref = stats->add_terms();
      ref->set_field(static_cast<v1::Field>(field));
      ref->set_term(term);
      uint64_t df = 0;
      for (const MemoryIndex& shard : shards) {
        auto one = shard.DocFreq(term, static_cast<v1::Field>(field));
        ASSERT_THAT(one, IsOk());
        df += *one;
      }
      auto all = single.DocFreq(term, static_cast<v1::Field>(field));
      ASSERT_THAT(all, IsOk());
      ASSERT_EQ(df, *all) << term;
      stats->add_doc_freqs(df);
    }
    stats->set_doc_count(single.view()->doc_count());
    stats->set_total_title_terms(single.view()->total_title_terms());
    stats->set_total_body_terms(single.view()->total_body_terms());

    auto expected = single.Search(request);
    ASSERT_THAT(expected, IsOk());
    std::vector<v1::ShardHit> merged;
    for (const MemoryIndex& shard : shards) {
      auto response = shard.Search(request);
      ASSERT_THAT(response, IsOk());
      for (const v1::ShardHit& hit : response->hits()) merged.push_back(hit);
    }
    std::sort(merged.begin(), merged.end(),
              [](const v1::ShardHit& a, const v1::ShardHit& b) {
                return a.score() != b.score() ? a.score() > b.score()
                                              : a.id() < b.id();
              });
    if (merged.size() > 10) merged.resize(10);
    ASSERT_EQ(merged.size(), static_cast<size_t>(expected->hits_size()))
        << query.ShortDebugString();
    for (size_t i = 0; i < merged.size(); ++i) {
      // Bit-for-bit equality, not approximate.
      EXPECT_EQ(merged[i].id(), expected->hits(i).id())
          << i << " " << query.ShortDebugString();
      EXPECT_EQ(merged[i].score(), expected->hits(i).score()) << i;
      ++compared;
    }
  }
  EXPECT_GT(compared, 500);
}

// Deep pages with a cursor pass through WAND's pruning: paging 25 at a
// time gives the top 250 of one search, scores included, while the bar
// that prunes rises on each page from the hits after the cursor only.
TEST_P(RankingTest, SearchAfterPagesEqualOneDeepSearch) {
  for (auto& batch : RandomBatches(3000, 500, 7)) Write(std::move(batch));
  bool pruned_any = false;
  for (const v1::QueryNode& query : RandomQueries(20, 13)) {
    const v1::ShardSearchResponse deep = Search(SearchFor(query, 250));
    v1::ShardSearchRequest request = SearchFor(query, 25);
    std::vector<v1::ShardHit> paged = PageAfter(Searcher(), request, 25);
    pruned_any |= Search(request).total_hits_is_lower_bound();
    // Every page to the last; the first ten are the deep search's.
    if (paged.size() > 250) paged.resize(250);
    ASSERT_EQ(paged.size(), static_cast<size_t>(deep.hits_size()));
    for (size_t i = 0; i < paged.size(); ++i) {
      EXPECT_EQ(paged[i].id(), deep.hits(i).id()) << i;
      EXPECT_EQ(paged[i].score(), deep.hits(i).score()) << i;
    }
  }
  EXPECT_TRUE(pruned_any);
}

SIFT_INSTANTIATE_LAYOUTS(RankingTest);
SIFT_INSTANTIATE_LAYOUTS(ScoringTest);
SIFT_INSTANTIATE_LAYOUTS(SearchAfterTest);

}  // namespace
}  // namespace sift::storage
