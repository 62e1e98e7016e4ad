#include "services/storage/shard_query.h"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/shard_limits.h"

namespace sift::storage {
namespace {

using segment::PlanNode;
using ::sift::storage::testing::Bool;
using ::sift::storage::testing::DateRange;
using ::sift::storage::testing::Fuzzy;
using ::sift::storage::testing::MatchAll;
using ::sift::storage::testing::Phrase;
using ::sift::storage::testing::Prefix;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::Term;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

MATCHER_P(InvalidArgumentAbout, field, "") {
  return ::testing::ExplainMatchResult(
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)), arg,
      result_listener);
}

absl::Status Decode(const v1::ShardSearchRequest& request) {
  return DecodeShardQuery(request).status();
}

TEST(DecodeShardQueryTest, RequiresACompletePlan) {
  EXPECT_THAT(Decode(v1::ShardSearchRequest()), InvalidArgumentAbout("query"));
  v1::ShardSearchRequest request =
      SearchFor(Bool({Term("a"), v1::QueryNode()}));
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("query.boolean.must[1]"));
  EXPECT_THAT(Decode(SearchFor(Bool({}, {Term("")}))),
              InvalidArgumentAbout("query.boolean.should[0].term.term"));
  EXPECT_THAT(Decode(SearchFor(Phrase(""))),
              InvalidArgumentAbout("query.phrase.terms"));
  EXPECT_THAT(Decode(SearchFor(Phrase("a b", 0, v1::FIELD_SOURCE))),
              InvalidArgumentAbout("query.phrase.field"));
  EXPECT_THAT(Decode(SearchFor(Term("a", static_cast<v1::Field>(17)))),
              InvalidArgumentAbout("query.term.field"));
}

TEST(DecodeShardQueryTest, ChecksDateRanges) {
  EXPECT_THAT(Decode(SearchFor(DateRange(100, 200))), IsOk());
  EXPECT_THAT(Decode(SearchFor(DateRange(std::nullopt, -5))), IsOk());
  EXPECT_THAT(Decode(SearchFor(DateRange(std::nullopt, std::nullopt))), IsOk());
  // One nanosecond is not empty.
  EXPECT_THAT(Decode(SearchFor(DateRange(100, 100, 4, 5))), IsOk());
  EXPECT_THAT(Decode(SearchFor(DateRange(100, 100, 5, 5))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "query.date_range: from (100s 5ns) must be before to "
                       "(100s 5ns)"));
  EXPECT_THAT(
      Decode(SearchFor(Bool({Term("a")}, {}, {DateRange(300, 200)}))),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "query.boolean.must_not[0].date_range: from (300s 0ns) must be "
               "before to (200s 0ns)"));
  EXPECT_THAT(
      Decode(SearchFor(DateRange(std::nullopt, 0, 0, -1))),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "query.date_range.to: nanos must be 0 to 999999999, got -1"));
  EXPECT_THAT(
      Decode(SearchFor(Bool({}, {Term("a"), DateRange(-62'135'596'801, 0)}))),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "query.boolean.should[1].date_range.from: seconds must lie "
               "between years 1 and 9999, got -62135596801"));
  EXPECT_THAT(Decode(SearchFor(DateRange(253'402'300'800, std::nullopt))),
              InvalidArgumentAbout("query.date_range.from: seconds must lie"));
}

TEST(DecodeShardQueryTest, LimitsPlanDepthAndSize) {
  // Depth kMaxPlanDepth is fine, one more is not.
  auto nested = [](int depth) {
    v1::QueryNode node = Term("leaf");
    for (int d = 1; d < depth; ++d) node = Bool({node});
    return node;
  };
  EXPECT_THAT(Decode(SearchFor(nested(kMaxPlanDepth))), IsOk());
  EXPECT_THAT(Decode(SearchFor(nested(kMaxPlanDepth + 1))),
              InvalidArgumentAbout("nested more than 64 levels"));

  std::vector<v1::QueryNode> terms(kMaxPlanNodes - 1, Term("t"));
  EXPECT_THAT(Decode(SearchFor(Bool({}, terms))), IsOk());
  terms.push_back(Term("t"));
  EXPECT_THAT(Decode(SearchFor(Bool({}, terms))),
              InvalidArgumentAbout("more than 1024 nodes"));
}

TEST(DecodeShardQueryTest, ChecksFacets) {
  v1::ShardSearchRequest request = SearchFor(Term("a"));
  request.add_facets()->set_field(v1::FACET_FIELD_TAGS);
  v1::FacetRequest* dates = request.add_facets();
  dates->set_field(v1::FACET_FIELD_PUBLISHED_AT);
  dates->set_interval(v1::DATE_INTERVAL_DAY);
  EXPECT_THAT(Decode(request), IsOk());

  dates->set_interval(static_cast<v1::DateInterval>(8));
  EXPECT_THAT(Decode(request),
              InvalidArgumentAbout("facets[1].interval: unknown date interval "
                                   "8"));
  dates->set_interval(v1::DATE_INTERVAL_UNSPECIFIED);
  EXPECT_THAT(Decode(request), IsOk());
  request.mutable_facets(0)->set_interval(v1::DATE_INTERVAL_YEAR);
  EXPECT_THAT(Decode(request),
              InvalidArgumentAbout("facets[0].interval: only a published_at"));
  request.mutable_facets(0)->set_interval(v1::DATE_INTERVAL_UNSPECIFIED);
  request.mutable_facets(0)->set_field(v1::FACET_FIELD_UNSPECIFIED);
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("facets[0].field"));
  request.mutable_facets(0)->set_field(static_cast<v1::FacetField>(12));
  EXPECT_THAT(Decode(request),
              InvalidArgumentAbout("facets[0].field: unknown facet field 12"));

  request = SearchFor(Term("a"));
  for (int i = 0; i <= kMaxFacets; ++i) {
    request.add_facets()->set_field(v1::FACET_FIELD_SOURCE);
  }
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("facets"));
}

TEST(DecodeShardQueryTest, ChecksLimitSortStatsAndScoring) {
  v1::ShardSearchRequest request = SearchFor(Term("a"), kMaxSearchLimit);
  EXPECT_THAT(Decode(request), IsOk());
  request.set_limit(kMaxSearchLimit + 1);
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("limit"));

  request = SearchFor(Term("a"));
  request.set_sort(static_cast<v1::SortOrder>(9));
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("sort"));

  request = SearchFor(Term("a"));
  request.mutable_stats()->add_terms()->set_term("a");
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("stats.doc_freqs"));

  request = SearchFor(Term("a"));
  request.mutable_scoring()->set_b(1.5);
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("scoring.b"));
  request.mutable_scoring()->set_b(0);
  request.mutable_scoring()->set_k1(-1);
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("scoring.k1"));
  request.mutable_scoring()->set_k1(0);
  request.mutable_scoring()->set_title_b(0);  // a value: no normalisation
  EXPECT_THAT(Decode(request), IsOk());
  request.mutable_scoring()->set_body_b(1.01);
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("scoring.body_b"));

  request = SearchFor(Prefix(""));
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("query.prefix.prefix"));
  request = SearchFor(Prefix("ok", static_cast<v1::Field>(42)));
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("query.prefix.field"));
  EXPECT_THAT(Decode(SearchFor(Prefix("comp"))), IsOk());

  request = SearchFor(Term("a"));
  request.mutable_filters()->add_sources("");
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("filters.sources[0]"));
  request = SearchFor(Term("a"));
  request.mutable_filters()->mutable_published_to()->set_nanos(2000000000);
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("filters.published_to"));
}

TEST(DecodeShardQueryTest, LimitsTheHitsToExplain) {
  v1::ShardSearchRequest request = SearchFor(Term("a"), kMaxExplainLimit);
  request.set_explain(true);
  EXPECT_THAT(Decode(request), IsOk());
  request.set_limit(kMaxExplainLimit + 1);
  EXPECT_THAT(Decode(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "limit: at most 101 with explain, got 102"));
  // Without explain the general limit holds.
  request.set_explain(false);
  EXPECT_THAT(Decode(request), IsOk());
}

TEST(DecodeShardQueryTest, ChecksTheSearchAfterCursor) {
  v1::ShardSearchRequest request = SearchFor(Term("a"));
  request.mutable_search_after()->set_score(1.5);
  request.mutable_search_after()->set_id("doc1");
  EXPECT_THAT(Decode(request), IsOk());
  request.mutable_search_after()->set_id("");
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("search_after.id"));
  request.mutable_search_after()->set_id(std::string(kMaxIdBytes + 1, 'x'));
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("search_after.id"));
  request.mutable_search_after()->set_id("doc1");
  request.mutable_search_after()->set_score(std::nan(""));
  EXPECT_THAT(Decode(request),
              InvalidArgumentAbout("search_after.score: must be a finite"));
  request.mutable_search_after()->set_score(1.5);
  request.mutable_search_after()->set_undated(true);
  EXPECT_THAT(Decode(request), InvalidArgumentAbout("only to the date orders"));

  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  EXPECT_THAT(Decode(request), IsOk());
  request.mutable_search_after()->mutable_published_at()->set_seconds(86400);
  EXPECT_THAT(Decode(request),
              InvalidArgumentAbout("published_at and undated exclude"));
  request.mutable_search_after()->set_undated(false);
  EXPECT_THAT(Decode(request), IsOk());
  request.mutable_search_after()->mutable_published_at()->set_nanos(-1);
  EXPECT_THAT(Decode(request),
              InvalidArgumentAbout("search_after.published_at"));
  request.mutable_search_after()->clear_published_at();
  request.set_sort(v1::SORT_ORDER_PUBLISHED_ASC);
  EXPECT_THAT(Decode(request),
              InvalidArgumentAbout("needs published_at or undated"));
}

// What a decoded query holds: the plan with keyword values normalised and
// fields resolved, filters, cursor, facets, statistics and scoring, typed.
TEST(DecodeShardQueryTest, TypesEveryPartOfTheRequest) {
  v1::ShardSearchRequest request = SearchFor(
      Bool(
          {Term("wing", v1::FIELD_TITLE), Term("  The  AP ", v1::FIELD_SOURCE)},
          {Phrase("boundary layer", 2), Prefix("COMP", v1::FIELD_TAG),
           Fuzzy("wnig", 1)},
          {DateRange(100, 200)}),
      25);
  request.mutable_filters()->add_sources("Reuters");
  request.mutable_filters()->add_tags(std::string("EU\0Trade", 8));
  request.mutable_filters()->mutable_published_from()->set_seconds(5);
  request.set_sort(v1::SORT_ORDER_PUBLISHED_ASC);
  request.mutable_search_after()->set_undated(true);
  request.mutable_search_after()->set_id("d9");
  v1::FacetRequest* facet = request.add_facets();
  facet->set_field(v1::FACET_FIELD_PUBLISHED_AT);
  facet->set_interval(v1::DATE_INTERVAL_YEAR);
  v1::GlobalStats* stats = request.mutable_stats();
  stats->set_doc_count(10);
  stats->set_total_title_terms(20);
  stats->set_total_body_terms(30);
  v1::TermRef* ref = stats->add_terms();
  ref->set_field(v1::FIELD_SOURCE);
  ref->set_term("THE AP");
  stats->add_doc_freqs(4);
  request.mutable_scoring()->set_k1(2);
  request.mutable_scoring()->set_proximity_weight(0);
  request.set_explain(true);

  absl::StatusOr<ShardQuery> query = DecodeShardQuery(request);
  ASSERT_THAT(query, IsOk());
  const PlanNode& plan = query->plan;
  EXPECT_EQ(plan.kind, PlanNode::Kind::kBoolean);
  ASSERT_EQ(plan.must.size(), 2u);
  EXPECT_EQ(plan.must[0].kind, PlanNode::Kind::kTerm);
  EXPECT_EQ(plan.must[0].fields, TextFields::kTitle);
  EXPECT_EQ(plan.must[0].keyword_field, segment::TermField::kText);
  EXPECT_EQ(plan.must[1].kind, PlanNode::Kind::kKeyword);
  EXPECT_EQ(plan.must[1].keyword_field, segment::TermField::kSource);
  EXPECT_EQ(plan.must[1].term, "the ap");
  ASSERT_EQ(plan.should.size(), 3u);
  EXPECT_EQ(plan.should[0].kind, PlanNode::Kind::kPhrase);
  EXPECT_THAT(plan.should[0].terms, ElementsAre("boundary", "layer"));
  EXPECT_EQ(plan.should[0].slop, 2u);
  EXPECT_EQ(plan.should[1].kind, PlanNode::Kind::kPrefix);
  EXPECT_EQ(plan.should[1].keyword_field, segment::TermField::kTag);
  EXPECT_EQ(plan.should[1].term, "comp");
  EXPECT_EQ(plan.should[1].idf, 1.0);
  EXPECT_EQ(plan.should[2].kind, PlanNode::Kind::kFuzzy);
  EXPECT_EQ(plan.should[2].slop, 1u);
  ASSERT_EQ(plan.must_not.size(), 1u);
  EXPECT_EQ(plan.must_not[0].kind, PlanNode::Kind::kDateRange);
  EXPECT_EQ(plan.must_not[0].from, std::make_pair(int64_t{100}, 0));
  EXPECT_EQ(plan.must_not[0].to, std::make_pair(int64_t{200}, 0));
  // Scoring is the index's to resolve.
  EXPECT_EQ(plan.must[0].idf, 0.0);

  EXPECT_THAT(query->filters.sources, ElementsAre("reuters"));
  EXPECT_THAT(query->filters.tags, ElementsAre("eu trade"));
  EXPECT_EQ(query->filters.from, std::make_pair(int64_t{5}, 0));
  EXPECT_FALSE(query->filters.to.has_value());
  EXPECT_EQ(query->limit, 25u);
  EXPECT_EQ(query->sort, v1::SORT_ORDER_PUBLISHED_ASC);
  ASSERT_TRUE(query->after.has_value());
  EXPECT_EQ(query->after->id, "d9");
  EXPECT_FALSE(query->after->published.has_value());
  ASSERT_EQ(query->facets.size(), 1u);
  EXPECT_EQ(query->facets[0].kind, segment::FacetSpec::Kind::kPublished);
  EXPECT_EQ(query->facets[0].unit, segment::FacetSpec::Unit::kYear);
  EXPECT_TRUE(query->explain);
  EXPECT_EQ(query->stats.doc_count, 10u);
  EXPECT_EQ(query->stats.total_body_terms, 30u);
  EXPECT_EQ(query->stats.doc_freqs.at(TermKey{v1::FIELD_SOURCE, "the ap"}), 4u);
  EXPECT_EQ(query->scoring.k1, 2.0);
  EXPECT_EQ(query->scoring.proximity_weight, 0.0);
  EXPECT_EQ(DocFreqField(plan.must[0]), v1::FIELD_TITLE);
  EXPECT_EQ(DocFreqField(plan.must[1]), v1::FIELD_SOURCE);
  EXPECT_EQ(DocFreqField(plan.should[0]), v1::FIELD_UNSPECIFIED);
}

TEST(DecodeShardQueryTest, AKeywordOfOnlySpacesIsEmpty) {
  EXPECT_THAT(Decode(SearchFor(Term("   ", v1::FIELD_TAG))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "query.term.term: a term must not be empty"));
  EXPECT_THAT(Decode(SearchFor(Term(std::string("\xff"), v1::FIELD_SOURCE))),
              InvalidArgumentAbout("query.term.term"));
}

TEST(DecodeStatsRequestTest, NormalisesKeywordsAndNamesTheBadEntry) {
  v1::StatsRequest stats;
  stats.add_terms()->set_term("ok");
  v1::TermRef* tag = stats.add_terms();
  tag->set_field(v1::FIELD_TAG);
  tag->set_term(" Climate  Change");
  absl::StatusOr<std::vector<TermKey>> terms = DecodeStatsRequest(stats);
  ASSERT_THAT(terms, IsOk());
  EXPECT_THAT(*terms, ElementsAre(TermKey{v1::FIELD_UNSPECIFIED, "ok"},
                                  TermKey{v1::FIELD_TAG, "climate change"}));
  stats.add_terms()->set_term("");
  EXPECT_THAT(DecodeStatsRequest(stats).status(),
              InvalidArgumentAbout("terms[2].term"));
  v1::StatsRequest many;
  for (int i = 0; i <= kMaxStatsTerms; ++i) many.add_terms()->set_term("t");
  EXPECT_THAT(DecodeStatsRequest(many).status(), InvalidArgumentAbout("terms"));
}

TEST(NormalizeKeywordTest, FoldsCaseTrimsAndReadsNulAsASpace) {
  EXPECT_EQ(*NormalizeKeyword("  Big\tPAPER "), "big paper");
  EXPECT_EQ(*NormalizeKeyword(std::string("Big\0Paper", 9)), "big paper");
  EXPECT_THAT(NormalizeKeyword("\xff").status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace sift::storage
