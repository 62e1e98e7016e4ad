// Explanations over a MemoryIndex: trees whose arithmetic can be followed
// from the leaves to the root, and whose root is the hit's score.

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/engine_test.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::Bool;
using ::sift::storage::testing::DateRange;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::EngineTest;
using ::sift::storage::testing::Fuzzy;
using ::sift::storage::testing::HitIds;
using ::sift::storage::testing::MatchAll;
using ::sift::storage::testing::PageAfter;
using ::sift::storage::testing::Phrase;
using ::sift::storage::testing::Prefix;
using ::sift::storage::testing::RandomBatches;
using ::sift::storage::testing::RandomMixedQueries;
using ::sift::storage::testing::RandomQueries;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ExplainingTest : public EngineTest {};

// Explanations: trees whose arithmetic can be followed from the leaves to
// the root, and whose root is the hit's score.

// Whether `text` contains `part`.
bool Has(absl::string_view text, absl::string_view part) {
  return absl::StrContains(text, part);
}

// The detail of `node` whose description starts with `prefix`; fails the
// test and returns an empty node if there is none.
const v1::Explanation& Detail(const v1::Explanation& node,
                              absl::string_view prefix) {
  for (const v1::Explanation& detail : node.details()) {
    if (absl::StartsWith(detail.description(), prefix)) return detail;
  }
  ADD_FAILURE() << "no detail \"" << prefix << "\" in "
                << node.ShortDebugString();
  static const v1::Explanation* const kNone = new v1::Explanation();
  return *kNone;
}

bool HasDetail(const v1::Explanation& node, absl::string_view prefix) {
  for (const v1::Explanation& detail : node.details()) {
    if (absl::StartsWith(detail.description(), prefix)) return true;
  }
  return false;
}

// Every node of `tree` (itself included) whose description contains
// `part`, depth first.
void Collect(const v1::Explanation& tree, absl::string_view part,
             std::vector<const v1::Explanation*>* out) {
  if (Has(tree.description(), part)) out->push_back(&tree);
  for (const v1::Explanation& detail : tree.details()) {
    Collect(detail, part, out);
  }
}

std::vector<const v1::Explanation*> Nodes(const v1::Explanation& tree,
                                          absl::string_view part) {
  std::vector<const v1::Explanation*> out;
  Collect(tree, part, &out);
  return out;
}

void ExpectClose(double actual, double expected, const std::string& where) {
  EXPECT_NEAR(actual, expected, 1e-12 * std::max(1.0, std::abs(expected)))
      << where;
}

// Recomputes every node of `tree` from its details with the formula its
// description states, independently of the code that built it: a sum for
// "sum of", BM25F for a term or phrase, the idf, a field's weighted
// frequency, and the parts of the proximity bonus. `k1` and `saturation`
// carry a proximity field's parameters down to its terms.
void CheckArithmetic(const v1::Explanation& tree, double k1 = 0.0,
                     double saturation = 0.0) {
  const std::string& d = tree.description();
  const std::string where = tree.ShortDebugString();
  auto value = [&tree](int i) { return tree.details(i).value(); };
  if (Has(d, "idf * tf~ * (k1 + 1) / (k1 + tf~)")) {
    ASSERT_EQ(tree.details_size(), 3) << where;
    const double idf = value(0), tf = value(1), k = value(2);
    ExpectClose(tree.value(), tf == 0 ? 0 : idf * tf * (k + 1) / (k + tf),
                where);
  } else if (Has(d, "ln(1 + (N - df + 0.5) / (df + 0.5))")) {
    ASSERT_EQ(tree.details_size(), 2) << where;
    const double n = value(0), df = value(1);
    ExpectClose(tree.value(), std::log(1 + (n - df + 0.5) / (df + 0.5)), where);
  } else if (absl::StartsWith(d, "tf~") || Has(d, "sum of")) {
    double sum = 0.0;
    for (const v1::Explanation& detail : tree.details()) sum += detail.value();
    ExpectClose(tree.value(), sum, where);
  } else if (Has(d, "weight * tf / (1 - b + b * length / avg_length)")) {
    ASSERT_EQ(tree.details_size(), 5) << where;
    const double tf = value(0), length = value(1), average = value(2),
                 weight = value(3), b = value(4);
    ExpectClose(tree.value(),
                weight * tf / (average == 0 ? 1 : 1 - b + b * length / average),
                where);
  } else if (Has(d, "a match scores the value's idf")) {
    ASSERT_EQ(tree.details_size(), 1) << where;
    EXPECT_EQ(tree.value(), value(0)) << where;
  } else if (Has(d, "proximity_weight * (title + body)")) {
    double fields = 0.0;
    for (int i = 1; i < tree.details_size(); ++i) fields += value(i);
    ExpectClose(tree.value(), value(0) * fields, where);
  } else if (Has(d, "weight * sum over the query terms")) {
    ASSERT_GE(tree.details_size(), 3) << where;
    const v1::Explanation& k = tree.details(1);
    ASSERT_EQ(k.details_size(), 4) << where;
    const double kk1 = k.details(0).value(), b = k.details(1).value(),
                 length = k.details(2).value(), average = k.details(3).value();
    ExpectClose(k.value(),
                kk1 * (average == 0 ? 1 : 1 - b + b * length / average), where);
    double sum = 0.0;
    for (int i = 2; i < tree.details_size(); ++i) {
      sum += value(i);
      CheckArithmetic(tree.details(i), kk1, k.value());
    }
    ExpectClose(tree.value(), value(0) * sum, where);
    return;
  } else if (Has(d, "min(1, idf) * pf * (k1 + 1) / (K + pf)")) {
    ASSERT_EQ(tree.details_size(), 2) << where;
    const double idf = value(0), pf = value(1);
    EXPECT_LE(idf, 1.0) << where;
    ExpectClose(tree.value(), idf * pf * (k1 + 1) / (saturation + pf), where);
  } else if (tree.details_size() > 0) {
    ADD_FAILURE() << "a node with details whose arithmetic is not stated: "
                  << where;
  }
  for (const v1::Explanation& detail : tree.details()) {
    CheckArithmetic(detail, k1, saturation);
  }
}

class ExplainTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    // N = 3, average title length 4/3, average body length 8/3.
    Write({Upsert({.id = "d1",
                   .title = "apple pie",
                   .body = "apple banana apple",
                   .source = "Farm",
                   .published_seconds = 1000})});
    Write({Upsert({.id = "d2",
                   .title = "banana",
                   .body = "cherry apple banana cherry",
                   .source = "Shop",
                   .published_seconds = 2000}),
           Upsert({.id = "d3", .title = "cherry", .body = "cherry"})});
  }

  // The explained search, each hit checked: an explanation whose value is
  // the score and whose arithmetic holds, and the same hits and scores as
  // without explain.
  v1::ShardSearchResponse Explained(v1::ShardSearchRequest request) {
    const v1::ShardSearchResponse plain = Search(request);
    request.set_explain(true);
    v1::ShardSearchResponse response = Search(request);
    EXPECT_EQ(response.total_hits(), plain.total_hits());
    EXPECT_EQ(response.hits_size(), plain.hits_size());
    for (int i = 0; i < response.hits_size(); ++i) {
      const v1::ShardHit& hit = response.hits(i);
      EXPECT_FALSE(plain.hits(i).has_explanation());
      EXPECT_EQ(hit.id(), plain.hits(i).id());
      EXPECT_EQ(hit.score(), plain.hits(i).score());
      EXPECT_TRUE(hit.has_explanation()) << hit.id();
      EXPECT_DOUBLE_EQ(hit.explanation().value(), hit.score()) << hit.id();
      CheckArithmetic(hit.explanation());
    }
    return response;
  }

  v1::Explanation ExplanationOf(v1::QueryNode query, const std::string& id) {
    const v1::ShardSearchResponse response =
        Explained(SearchFor(std::move(query)));
    for (const v1::ShardHit& hit : response.hits()) {
      if (hit.id() == id) return hit.explanation();
    }
    ADD_FAILURE() << id << " not found";
    return v1::Explanation();
  }
};

TEST_P(ExplainTest, TermLeavesCarryIdfAndEachFieldsStatistics) {
  const v1::Explanation e = ExplanationOf(Term("apple"), "d1");
  EXPECT_EQ(e.description(),
            "term \"apple\" in title and body, idf * tf~ * (k1 + 1) / (k1 + "
            "tf~), from:");
  const v1::Explanation& idf = Detail(e, "idf of \"apple\"");
  EXPECT_DOUBLE_EQ(idf.value(), std::log(1.0 + 1.5 / 2.5));
  EXPECT_EQ(Detail(idf, "N,").value(), 3.0);
  EXPECT_EQ(Detail(idf, "df,").value(), 2.0);
  EXPECT_EQ(Detail(e, "k1").value(), 1.2);

  const v1::Explanation& tf = Detail(e, "tf~");
  const v1::Explanation& title = Detail(tf, "title,");
  EXPECT_EQ(Detail(title, "tf,").value(), 1.0);
  EXPECT_EQ(Detail(title, "length,").value(), 2.0);
  EXPECT_DOUBLE_EQ(Detail(title, "avg_length,").value(), 4.0 / 3.0);
  EXPECT_EQ(Detail(title, "weight").value(), 2.0);
  EXPECT_EQ(Detail(title, "b,").value(), 0.75);
  // 2 * 1 / (0.25 + 0.75 * 2 / (4/3)) = 2 / 1.375.
  EXPECT_DOUBLE_EQ(title.value(), 2.0 / 1.375);
  const v1::Explanation& body = Detail(tf, "body,");
  EXPECT_EQ(Detail(body, "tf,").value(), 2.0);
  EXPECT_EQ(Detail(body, "length,").value(), 3.0);
  EXPECT_DOUBLE_EQ(Detail(body, "avg_length,").value(), 8.0 / 3.0);
  EXPECT_EQ(Detail(body, "weight").value(), 1.0);
  // 1 * 2 / (0.25 + 0.75 * 3 / (8/3)) = 2 / 1.09375.
  EXPECT_DOUBLE_EQ(body.value(), 2.0 / 1.09375);
  EXPECT_DOUBLE_EQ(tf.value(), 2.0 / 1.375 + 2.0 / 1.09375);

  // d2 has no apple in its title: only the body counts.
  const v1::Explanation d2 = ExplanationOf(Term("apple"), "d2");
  EXPECT_FALSE(HasDetail(Detail(d2, "tf~"), "title,"));
  EXPECT_EQ(Detail(Detail(Detail(d2, "tf~"), "body,"), "tf,").value(), 1.0);

  // Scoped to the title: the title alone, with the title's df.
  const v1::Explanation scoped =
      ExplanationOf(Term("apple", v1::FIELD_TITLE), "d1");
  EXPECT_TRUE(
      absl::StartsWith(scoped.description(), "term \"apple\" in the title, "));
  EXPECT_EQ(Detail(Detail(scoped, "idf"), "df,").value(), 1.0);
  EXPECT_FALSE(HasDetail(Detail(scoped, "tf~"), "body,"));
}

TEST_P(ExplainTest, GlobalStatsAndParamsShowInTheLeaves) {
  v1::ShardSearchRequest request = SearchFor(Term("cherry"));
  v1::GlobalStats* stats = request.mutable_stats();
  stats->set_doc_count(10);
  stats->set_total_title_terms(10);
  stats->set_total_body_terms(20);
  v1::TermRef* ref = stats->add_terms();
  ref->set_term("cherry");
  stats->add_doc_freqs(4);
  request.mutable_scoring()->set_k1(2.0);
  request.mutable_scoring()->set_body_b(0.5);
  const v1::ShardSearchResponse response = Explained(request);
  ASSERT_GE(response.hits_size(), 1);
  const v1::Explanation& e = response.hits(0).explanation();
  EXPECT_EQ(Detail(Detail(e, "idf"), "N,").value(), 10.0);
  EXPECT_EQ(Detail(Detail(e, "idf"), "df,").value(), 4.0);
  EXPECT_EQ(Detail(e, "k1").value(), 2.0);
  const v1::Explanation& body = Detail(Detail(e, "tf~"), "body,");
  EXPECT_EQ(Detail(body, "avg_length,").value(), 2.0);
  EXPECT_EQ(Detail(body, "b,").value(), 0.5);
}

TEST_P(ExplainTest, PhrasesShowTheirTermsOccurrencesAndSlop) {
  const v1::Explanation e = ExplanationOf(Phrase("apple banana"), "d1");
  EXPECT_TRUE(absl::StartsWith(
      e.description(), "phrase \"apple banana\" in title and body with slop 0"))
      << e.description();
  const v1::Explanation& idf = Detail(e, "idf of the phrase");
  ASSERT_EQ(idf.details_size(), 2);
  EXPECT_TRUE(
      absl::StartsWith(idf.details(0).description(), "idf of \"apple\""));
  EXPECT_TRUE(
      absl::StartsWith(idf.details(1).description(), "idf of \"banana\""));
  const v1::Explanation& tf = Detail(e, "tf~");
  EXPECT_FALSE(HasDetail(tf, "title,"));
  const v1::Explanation& occurrences = Detail(Detail(tf, "body,"), "tf,");
  EXPECT_EQ(occurrences.value(), 1.0);
  EXPECT_EQ(occurrences.description(),
            "tf, occurrences of the phrase in the body");

  // "apple apple" within one move: once in d1's body.
  const v1::Explanation sloppy = ExplanationOf(Phrase("apple apple", 1), "d1");
  EXPECT_TRUE(
      absl::StartsWith(sloppy.description(),
                       "phrase \"apple apple\" in title and body with slop 1"));
  EXPECT_EQ(Detail(Detail(Detail(sloppy, "tf~"), "body,"), "tf,").value(), 1.0);
}

TEST_P(ExplainTest, ConstantScoreAndRestrictingClausesSayWhatTheyAre) {
  const v1::Explanation e =
      ExplanationOf(Bool({Prefix("ban"), DateRange(1000, 1500)},
                         {Fuzzy("chery", 1), Term("farm", v1::FIELD_SOURCE),
                          Term("shop", v1::FIELD_SOURCE)},
                         {Term("zzz")}),
                    "d1");
  EXPECT_EQ(e.description(), "sum of the matching clauses:");
  // The must clauses, then the should clauses that match (d1 has no
  // cherry and is not from the shop).
  ASSERT_EQ(e.details_size(), 3) << e.DebugString();
  EXPECT_EQ(e.details(0).value(), 1.0);
  EXPECT_EQ(e.details(0).description(),
            "prefix \"ban*\" in title and body, a set of terms whose every "
            "match scores a constant 1");
  EXPECT_EQ(e.details(1).value(), 0.0);
  EXPECT_EQ(e.details(1).description(),
            "published_at in [1970-01-01T00:16:40Z, 1970-01-01T00:25:00Z), a "
            "restriction that scores 0");
  const v1::Explanation& keyword = e.details(2);
  EXPECT_EQ(keyword.description(),
            "keyword source:\"farm\", a match scores the value's idf, from:");
  EXPECT_DOUBLE_EQ(keyword.value(), std::log(1.0 + 2.5 / 1.5));
  EXPECT_EQ(Detail(Detail(keyword, "idf"), "df,").value(), 1.0);
  EXPECT_DOUBLE_EQ(e.value(), 1.0 + std::log(1.0 + 2.5 / 1.5));

  const v1::Explanation fuzzy = ExplanationOf(Fuzzy("chery", 1), "d3");
  EXPECT_EQ(fuzzy.value(), 1.0);
  EXPECT_EQ(fuzzy.description(),
            "fuzzy \"chery\" in title and body, the terms within 1 edit of it "
            "sharing its first character, whose every match scores a "
            "constant 1");
  const v1::Explanation all = ExplanationOf(MatchAll(), "d3");
  EXPECT_EQ(all.value(), 0.0);
  EXPECT_EQ(all.description(), "every document matches, scoring 0");
}
TEST_P(ExplainTest, DateOrderedHitsAreExplainedWithTheirFullScore) {
  v1::ShardSearchRequest request =
      SearchFor(Bool({}, {Term("apple"), Term("cherry")}));
  request.set_sort(v1::SORT_ORDER_PUBLISHED_ASC);
  const v1::ShardSearchResponse response = Explained(request);
  EXPECT_THAT(HitIds(response), ElementsAre("d1", "d2", "d3"));
  // d2 has both words, two positions apart: its bonus is explained, and its
  // score is the one relevance order gives it.
  EXPECT_EQ(Nodes(response.hits(1).explanation(), "BM25TP").size(), 1u);
  EXPECT_THAT(Nodes(response.hits(0).explanation(), "proximity"), IsEmpty());
  const v1::ShardSearchResponse relevance =
      Search(SearchFor(Bool({}, {Term("apple"), Term("cherry")})));
  for (const v1::ShardHit& hit : relevance.hits()) {
    if (hit.id() == "d2") {
      EXPECT_EQ(hit.score(), response.hits(1).score());
    }
  }
}

SIFT_INSTANTIATE_LAYOUTS(ExplainTest);

// The proximity node: for every hit with two query terms or more, from the
// positions that computed its bonus.
TEST_P(ExplainingTest, ExplainShowsTheProximityBonus) {
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
  request.set_explain(true);
  // BM25F alone, for comparison.
  v1::ShardSearchRequest off = request;
  off.mutable_scoring()->set_proximity_weight(0);
  std::map<std::string, double> bm25f;
  const v1::ShardSearchResponse without = Search(off);
  for (const v1::ShardHit& hit : without.hits()) {
    bm25f[hit.id()] = hit.score();
    EXPECT_THAT(Nodes(hit.explanation(), "proximity"), IsEmpty());
  }

  v1::ShardSearchResponse response = Search(request);
  ASSERT_THAT(HitIds(response),
              ElementsAre("b-together", "a-apart", "c-one-term"));
  for (const v1::ShardHit& hit : response.hits())
    CheckArithmetic(hit.explanation());
  // Terms one apart: the bonus, on top of the query's BM25F.
  const v1::Explanation& together = response.hits(0).explanation();
  EXPECT_EQ(together.value(), response.hits(0).score());
  EXPECT_EQ(together.description(),
            "sum of the query's score and the term proximity bonus:");
  ASSERT_EQ(together.details_size(), 2);
  EXPECT_EQ(together.details(0).value(), bm25f["b-together"]);
  const v1::Explanation& bonus = together.details(1);
  EXPECT_GT(bonus.value(), 0.0);
  EXPECT_DOUBLE_EQ(bonus.value(),
                   response.hits(0).score() - bm25f["b-together"]);
  EXPECT_EQ(Detail(bonus, "proximity_weight").value(), 0.25);
  const v1::Explanation& body = Detail(bonus, "body,");
  EXPECT_FALSE(HasDetail(bonus, "title,"));
  // wing at 4, lift at 5: d = 1, so pf = 1 for each.
  EXPECT_EQ(Detail(Detail(body, "\"wing\""), "pf,").value(), 1.0);
  EXPECT_EQ(Detail(Detail(body, "\"lift\""), "pf,").value(), 1.0);
  // Both terms, nine apart: the bonus was computed and is 0.
  const v1::Explanation& apart = response.hits(1).explanation();
  ASSERT_EQ(Nodes(apart, "BM25TP").size(), 1u);
  EXPECT_EQ(Nodes(apart, "BM25TP")[0]->value(), 0.0);
  EXPECT_EQ(response.hits(1).score(), bm25f["a-apart"]);
  // One term: no bonus.
  EXPECT_THAT(Nodes(response.hits(2).explanation(), "proximity"), IsEmpty());
  EXPECT_EQ(response.hits(2).explanation().value(), bm25f["c-one-term"]);

  // Pages after a cursor explain the same trees.
  request.set_limit(1);
  std::vector<std::string> paged;
  for (const v1::ShardHit& hit : PageAfter(Searcher(), request, 1)) {
    paged.push_back(hit.id());
    EXPECT_DOUBLE_EQ(hit.explanation().value(), hit.score());
    EXPECT_EQ(Nodes(hit.explanation(), "BM25TP").size(),
              hit.id() == "c-one-term" ? 0u : 1u)
        << hit.id();
  }
  EXPECT_THAT(paged, ElementsAre("b-together", "a-apart", "c-one-term"));
}

// Over many segments with deletions (or one, merged), every hit of every
// query is explained by a tree whose root is its score and whose
// arithmetic holds, on first pages, on pages after a cursor, and in date
// order; explaining changes no hit and no score.
TEST_P(ExplainingTest, EveryExplanationAddsUpToTheScore) {
  for (auto& batch : RandomBatches(2000, 400, 7)) Write(std::move(batch));
  std::vector<v1::WriteOp> deletes;
  for (int i = 0; i < 2000; i += 7) {
    deletes.push_back(Delete(absl::StrCat("d", i)));
  }
  Write(std::move(deletes));

  std::vector<v1::QueryNode> queries = RandomQueries(40, 17);
  for (v1::QueryNode& query : RandomMixedQueries(80, 19)) {
    queries.push_back(std::move(query));
  }
  int explained = 0, with_proximity = 0;
  auto check = [&](v1::ShardSearchRequest request) {
    const v1::ShardSearchResponse plain = Search(request);
    request.set_explain(true);
    const v1::ShardSearchResponse response = Search(request);
    ASSERT_EQ(response.hits_size(), plain.hits_size());
    EXPECT_EQ(response.total_hits(), plain.total_hits());
    for (int i = 0; i < response.hits_size(); ++i) {
      const v1::ShardHit& hit = response.hits(i);
      ASSERT_EQ(hit.id(), plain.hits(i).id());
      ASSERT_EQ(hit.score(), plain.hits(i).score());
      ASSERT_TRUE(hit.has_explanation());
      EXPECT_DOUBLE_EQ(hit.explanation().value(), hit.score())
          << request.query().ShortDebugString() << "\n"
          << hit.explanation().DebugString();
      CheckArithmetic(hit.explanation());
      ++explained;
      if (!Nodes(hit.explanation(), "BM25TP").empty()) {
        ++with_proximity;
      }
    }
  };
  for (const v1::QueryNode& query : queries) {
    v1::ShardSearchRequest request = SearchFor(query, 20);
    check(request);
    const v1::ShardSearchResponse first = Search(request);
    if (first.hits_size() >= 6) {
      v1::ShardSearchRequest later = request;
      later.set_limit(10);
      later.mutable_search_after()->set_score(first.hits(4).score());
      later.mutable_search_after()->set_id(first.hits(4).id());
      check(later);
    }
    v1::ShardSearchRequest dated = SearchFor(query, 10);
    dated.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
    check(dated);
  }
  // The collection and queries exercise what they claim to.
  EXPECT_GT(explained, 2000);
  EXPECT_GT(with_proximity, 100);
  EXPECT_LT(with_proximity, explained);
}

SIFT_INSTANTIATE_LAYOUTS(ExplainingTest);

}  // namespace
}  // namespace sift::storage
