#include "services/storage/storage_handler.h"

#include <cmath>
#include <memory>
#include <string>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/segment_index.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::AppendRawTerm;
using ::sift::storage::testing::Bool;
using ::sift::storage::testing::DateRange;
using ::sift::storage::testing::Delete;
using ::sift::storage::testing::Phrase;
using ::sift::storage::testing::Prefix;
using ::sift::storage::testing::SearchFor;
using ::sift::storage::testing::TempDir;
using ::sift::storage::testing::Term;
using ::sift::storage::testing::Upsert;
using ::sift::storage::testing::WriteOf;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

MATCHER_P(InvalidArgumentAbout, field, "") {
  return ::testing::ExplainMatchResult(
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)), arg,
      result_listener);
}

TEST(ValidateWriteRequestTest, AcceptsAWellFormedRequest) {
  EXPECT_THAT(ValidateWriteRequest(WriteOf({Upsert({.id = "a",
                                                    .title = "t",
                                                    .body = "b c",
                                                    .tags = {"x"},
                                                    .published_seconds = 1}),
                                            Delete("b")})),
              IsOk());
}

TEST(ValidateWriteRequestTest, LimitsTheNumberOfOps) {
  v1::WriteRequest request;
  for (int i = 0; i <= kMaxWriteOps; ++i) *request.add_ops() = Delete("x");
  EXPECT_THAT(ValidateWriteRequest(request), InvalidArgumentAbout("ops"));
  request.mutable_ops()->RemoveLast();
  EXPECT_THAT(ValidateWriteRequest(request), IsOk());
}

TEST(ValidateWriteRequestTest, NamesTheBadIdOrTerm) {
  EXPECT_THAT(ValidateWriteRequest(WriteOf({Delete("ok"), Delete("")})),
              InvalidArgumentAbout("ops[1].delete_id"));
  EXPECT_THAT(ValidateWriteRequest(
                  WriteOf({Upsert({.id = std::string(kMaxIdBytes + 1, 'x')})})),
              InvalidArgumentAbout("ops[0].upsert.document.id"));
  EXPECT_THAT(ValidateWriteRequest(
                  WriteOf({Upsert({.id = std::string(kMaxIdBytes, 'x')})})),
              IsOk());

  v1::WriteOp op = Upsert({.id = "a", .body = "fine"});
  AppendRawTerm(op.mutable_upsert()->mutable_body(), "");
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.body.vocabulary[1]"));
  op = Upsert({.id = "a"});
  AppendRawTerm(op.mutable_upsert()->mutable_title(), std::string("a\0b", 3));
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.title.vocabulary[0]"));
  op = Upsert({.id = "a"});
  AppendRawTerm(op.mutable_upsert()->mutable_title(),
                std::string(kMaxTermBytes + 1, 'x'));
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("must be at most 256 bytes"));
  // A position naming a term the vocabulary does not have.
  op = Upsert({.id = "a", .body = "two words"});
  op.mutable_upsert()->mutable_body()->add_term_ids(2);
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.body.term_ids[2]"));
}

TEST(ValidateWriteRequestTest, RejectsEmptyOpsAndBadValues) {
  v1::WriteRequest request;
  request.add_ops();
  EXPECT_THAT(ValidateWriteRequest(request), InvalidArgumentAbout("ops[0]"));

  v1::WriteOp op = Upsert({.id = "a"});
  op.mutable_upsert()->mutable_document()->mutable_published_at()->set_nanos(
      -1);
  EXPECT_THAT(ValidateWriteRequest(WriteOf({op})),
              InvalidArgumentAbout("ops[0].upsert.document.published_at"));
  EXPECT_THAT(ValidateWriteRequest(WriteOf({Upsert(
                  {.id = "a",
                   .tags = {"ok", std::string(kMaxKeywordBytes + 1, 't')}})})),
              InvalidArgumentAbout("ops[0].upsert.document.tags[1]"));
}

TEST(ValidateSearchRequestTest, RequiresACompletePlan) {
  EXPECT_THAT(ValidateSearchRequest(v1::ShardSearchRequest()),
              InvalidArgumentAbout("query"));
  v1::ShardSearchRequest request =
      SearchFor(Bool({Term("a"), v1::QueryNode()}));
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("query.boolean.must[1]"));
  EXPECT_THAT(ValidateSearchRequest(SearchFor(Bool({}, {Term("")}))),
              InvalidArgumentAbout("query.boolean.should[0].term.term"));
  EXPECT_THAT(ValidateSearchRequest(SearchFor(Phrase(""))),
              InvalidArgumentAbout("query.phrase.terms"));
  EXPECT_THAT(
      ValidateSearchRequest(SearchFor(Phrase("a b", 0, v1::FIELD_SOURCE))),
      InvalidArgumentAbout("query.phrase.field"));
  EXPECT_THAT(
      ValidateSearchRequest(SearchFor(Term("a", static_cast<v1::Field>(17)))),
      InvalidArgumentAbout("query.term.field"));
}

TEST(ValidateSearchRequestTest, ChecksDateRanges) {
  EXPECT_THAT(ValidateSearchRequest(SearchFor(DateRange(100, 200))), IsOk());
  EXPECT_THAT(ValidateSearchRequest(SearchFor(DateRange(std::nullopt, -5))),
              IsOk());
  EXPECT_THAT(
      ValidateSearchRequest(SearchFor(DateRange(std::nullopt, std::nullopt))),
      IsOk());
  // One nanosecond is not empty.
  EXPECT_THAT(ValidateSearchRequest(SearchFor(DateRange(100, 100, 4, 5))),
              IsOk());
  EXPECT_THAT(ValidateSearchRequest(SearchFor(DateRange(100, 100, 5, 5))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "query.date_range: from (100s 5ns) must be before to "
                       "(100s 5ns)"));
  EXPECT_THAT(
      ValidateSearchRequest(
          SearchFor(Bool({Term("a")}, {}, {DateRange(300, 200)}))),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "query.boolean.must_not[0].date_range: from (300s 0ns) must be "
               "before to (200s 0ns)"));
  EXPECT_THAT(
      ValidateSearchRequest(SearchFor(DateRange(std::nullopt, 0, 0, -1))),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "query.date_range.to: nanos must be 0 to 999999999, got -1"));
  EXPECT_THAT(
      ValidateSearchRequest(
          SearchFor(Bool({}, {Term("a"), DateRange(-62'135'596'801, 0)}))),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "query.boolean.should[1].date_range.from: seconds must lie "
               "between years 1 and 9999, got -62135596801"));
  EXPECT_THAT(ValidateSearchRequest(
                  SearchFor(DateRange(253'402'300'800, std::nullopt))),
              InvalidArgumentAbout("query.date_range.from: seconds must lie"));
}

TEST(ValidateSearchRequestTest, LimitsPlanDepthAndSize) {
  // Depth kMaxPlanDepth is fine, one more is not.
  auto nested = [](int depth) {
    v1::QueryNode node = Term("leaf");
    for (int d = 1; d < depth; ++d) node = Bool({node});
    return node;
  };
  EXPECT_THAT(ValidateSearchRequest(SearchFor(nested(kMaxPlanDepth))), IsOk());
  EXPECT_THAT(ValidateSearchRequest(SearchFor(nested(kMaxPlanDepth + 1))),
              InvalidArgumentAbout("nested more than 64 levels"));

  std::vector<v1::QueryNode> terms(kMaxPlanNodes - 1, Term("t"));
  EXPECT_THAT(ValidateSearchRequest(SearchFor(Bool({}, terms))), IsOk());
  terms.push_back(Term("t"));
  EXPECT_THAT(ValidateSearchRequest(SearchFor(Bool({}, terms))),
              InvalidArgumentAbout("more than 1024 nodes"));
}

TEST(ValidateSearchRequestTest, ChecksFacets) {
  v1::ShardSearchRequest request = SearchFor(Term("a"));
  request.add_facets()->set_field(v1::FACET_FIELD_TAGS);
  v1::FacetRequest* dates = request.add_facets();
  dates->set_field(v1::FACET_FIELD_PUBLISHED_AT);
  dates->set_interval(v1::DATE_INTERVAL_DAY);
  EXPECT_THAT(ValidateSearchRequest(request), IsOk());

  dates->set_interval(static_cast<v1::DateInterval>(8));
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("facets[1].interval: unknown date interval "
                                   "8"));
  dates->set_interval(v1::DATE_INTERVAL_UNSPECIFIED);
  EXPECT_THAT(ValidateSearchRequest(request), IsOk());
  request.mutable_facets(0)->set_interval(v1::DATE_INTERVAL_YEAR);
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("facets[0].interval: only a published_at"));
  request.mutable_facets(0)->set_interval(v1::DATE_INTERVAL_UNSPECIFIED);
  request.mutable_facets(0)->set_field(v1::FACET_FIELD_UNSPECIFIED);
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("facets[0].field"));
  request.mutable_facets(0)->set_field(static_cast<v1::FacetField>(12));
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("facets[0].field: unknown facet field 12"));

  request = SearchFor(Term("a"));
  for (int i = 0; i <= kMaxFacets; ++i) {
    request.add_facets()->set_field(v1::FACET_FIELD_SOURCE);
  }
  EXPECT_THAT(ValidateSearchRequest(request), InvalidArgumentAbout("facets"));
}

TEST(ValidateSearchRequestTest, ChecksLimitSortStatsAndScoring) {
  v1::ShardSearchRequest request = SearchFor(Term("a"), kMaxSearchLimit);
  EXPECT_THAT(ValidateSearchRequest(request), IsOk());
  request.set_limit(kMaxSearchLimit + 1);
  EXPECT_THAT(ValidateSearchRequest(request), InvalidArgumentAbout("limit"));

  request = SearchFor(Term("a"));
  request.set_sort(static_cast<v1::SortOrder>(9));
  EXPECT_THAT(ValidateSearchRequest(request), InvalidArgumentAbout("sort"));

  request = SearchFor(Term("a"));
  request.mutable_stats()->add_terms()->set_term("a");
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("stats.doc_freqs"));

  request = SearchFor(Term("a"));
  request.mutable_scoring()->set_b(1.5);
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("scoring.b"));
  request.mutable_scoring()->set_b(0);
  request.mutable_scoring()->set_k1(-1);
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("scoring.k1"));
  request.mutable_scoring()->set_k1(0);
  request.mutable_scoring()->set_title_b(0);  // a value: no normalisation
  EXPECT_THAT(ValidateSearchRequest(request), IsOk());
  request.mutable_scoring()->set_body_b(1.01);
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("scoring.body_b"));

  request = SearchFor(Prefix(""));
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("query.prefix.prefix"));
  request = SearchFor(Prefix("ok", static_cast<v1::Field>(42)));
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("query.prefix.field"));
  EXPECT_THAT(ValidateSearchRequest(SearchFor(Prefix("comp"))), IsOk());

  request = SearchFor(Term("a"));
  request.mutable_filters()->add_sources("");
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("filters.sources[0]"));
  request = SearchFor(Term("a"));
  request.mutable_filters()->mutable_published_to()->set_nanos(2000000000);
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("filters.published_to"));
}

TEST(ValidateSearchRequestTest, LimitsTheHitsToExplain) {
  v1::ShardSearchRequest request = SearchFor(Term("a"), kMaxExplainLimit);
  request.set_explain(true);
  EXPECT_THAT(ValidateSearchRequest(request), IsOk());
  request.set_limit(kMaxExplainLimit + 1);
  EXPECT_THAT(ValidateSearchRequest(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "limit: at most 101 with explain, got 102"));
  // Without explain the general limit holds.
  request.set_explain(false);
  EXPECT_THAT(ValidateSearchRequest(request), IsOk());
}

TEST(ValidateSearchRequestTest, ChecksTheSearchAfterCursor) {
  v1::ShardSearchRequest request = SearchFor(Term("a"));
  request.mutable_search_after()->set_score(1.5);
  request.mutable_search_after()->set_id("doc1");
  EXPECT_THAT(ValidateSearchRequest(request), IsOk());
  request.mutable_search_after()->set_id("");
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("search_after.id"));
  request.mutable_search_after()->set_id(std::string(kMaxIdBytes + 1, 'x'));
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("search_after.id"));
  request.mutable_search_after()->set_id("doc1");
  request.mutable_search_after()->set_score(std::nan(""));
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("search_after.score: must be a finite"));
  request.mutable_search_after()->set_score(1.5);
  request.mutable_search_after()->set_undated(true);
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("only to the date orders"));

  request.set_sort(v1::SORT_ORDER_PUBLISHED_DESC);
  EXPECT_THAT(ValidateSearchRequest(request), IsOk());
  request.mutable_search_after()->mutable_published_at()->set_seconds(86400);
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("published_at and undated exclude"));
  request.mutable_search_after()->set_undated(false);
  EXPECT_THAT(ValidateSearchRequest(request), IsOk());
  request.mutable_search_after()->mutable_published_at()->set_nanos(-1);
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("search_after.published_at"));
  request.mutable_search_after()->clear_published_at();
  request.set_sort(v1::SORT_ORDER_PUBLISHED_ASC);
  EXPECT_THAT(ValidateSearchRequest(request),
              InvalidArgumentAbout("needs published_at or undated"));
}

TEST(ValidateStatsAndFetchTest, NameTheBadEntry) {
  v1::StatsRequest stats;
  stats.add_terms()->set_term("ok");
  stats.add_terms()->set_term("");
  EXPECT_THAT(ValidateStatsRequest(stats),
              InvalidArgumentAbout("terms[1].term"));
  v1::FetchRequest fetch;
  fetch.add_ids("ok");
  fetch.add_ids(std::string(kMaxIdBytes + 1, 'x'));
  EXPECT_THAT(ValidateFetchRequest(fetch), InvalidArgumentAbout("ids[1]"));
}

TEST(StorageHandlerTest, InvalidWriteAppliesNothing) {
  TempDir dir;
  auto index = SegmentIndex::Open(dir.path(), IndexOptions());
  ASSERT_THAT(index, IsOk());
  StorageHandler handler(index->get());
  EXPECT_THAT(
      handler.Write(WriteOf({Upsert({.id = "good", .body = "x"}), Delete("")})),
      InvalidArgumentAbout("ops[1].delete_id"));
  EXPECT_EQ((*index)->DocCount(), 0u);
  ASSERT_THAT(handler.Write(WriteOf({Upsert({.id = "good", .body = "x"})})),
              IsOk());
  auto found = handler.Search(SearchFor(Term("x")));
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(found->total_hits(), 1u);
  EXPECT_THAT(handler.Search(SearchFor(Term("x"), kMaxSearchLimit + 1)),
              InvalidArgumentAbout("limit"));
}

}  // namespace
}  // namespace sift::storage
