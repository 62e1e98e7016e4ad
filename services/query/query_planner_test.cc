#include "services/query/query_planner.h"

#include <string>
#include <utility>
#include <vector>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::query {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

QueryPlan Plan(absl::string_view query,
               DefaultOperator op = DefaultOperator::kOr) {
  static const analysis::Analyzer* const analyzer = new analysis::Analyzer;
  ParserOptions options;
  options.default_operator = op;
  absl::StatusOr<QueryPlan> plan = ParseAndPlan(query, options, *analyzer);
  EXPECT_TRUE(plan.ok()) << query << ": " << plan.status();
  return plan.ok() ? *std::move(plan) : QueryPlan();
}

// The plan's query in protobuf text format, on one line.
std::string Node(absl::string_view query,
                 DefaultOperator op = DefaultOperator::kOr) {
  return Plan(query, op).query.ShortDebugString();
}

std::vector<std::pair<v1::Field, std::string>> StatsTerms(
    const QueryPlan& plan) {
  std::vector<std::pair<v1::Field, std::string>> out;
  for (const v1::TermRef& ref : plan.stats_terms) {
    out.emplace_back(ref.field(), ref.term());
  }
  return out;
}

TEST(QueryPlannerTest, PrefixesAreFoldedNotStemmedAndNeedNoStatistics) {
  EXPECT_EQ(Node("Comput*"), "prefix { prefix: \"comput\" }");
  EXPECT_EQ(Node("title:AERO*"),
            "prefix { field: FIELD_TITLE prefix: \"aero\" }");
  EXPECT_EQ(Node("source:New*"),
            "prefix { field: FIELD_SOURCE prefix: \"new\" }");
  const QueryPlan plan = Plan("running* wing");
  EXPECT_EQ(plan.query.ShortDebugString(),
            "boolean { should { prefix { prefix: \"running\" } } should { "
            "term { term: \"wing\" } } }");
  EXPECT_EQ(StatsTerms(plan).size(), 1u);  // only wing
  EXPECT_TRUE(plan.body_highlights.phrases.empty());
}

TEST(QueryPlannerTest, AFuzzyWordIsItsTermOrAnyNearTerm) {
  EXPECT_EQ(Node("Wings~1"),
            "boolean { should { term { term: \"wing\" } } should { fuzzy { "
            "term: \"wing\" max_edits: 1 } } }");
  EXPECT_EQ(Node("title:wing~"),
            "boolean { should { term { field: FIELD_TITLE term: \"wing\" } } "
            "should { fuzzy { field: FIELD_TITLE term: \"wing\" max_edits: 2 "
            "} } }");
  // Several terms: the plain phrase.
  EXPECT_EQ(Node("e-mail~"), "phrase { terms: \"e\" terms: \"mail\" }");
  const auto error =
      ParseAndPlan("source:reuters~", ParserOptions(), analysis::Analyzer());
  EXPECT_EQ(error.status().message(),
            "query: fuzzy matching (reuters~2) is for words of the title and "
            "body, not source: values");
}

TEST(QueryPlannerTest, PlainStopWordsLeaveGroupsWithOtherClauses) {
  // A question: only its topic words are searched for, in either mode.
  EXPECT_EQ(Node("What is the lift of a wing"),
            "boolean { should { term { term: \"lift\" } } should { term { "
            "term: \"wing\" } } }");
  EXPECT_EQ(Node("what is the lift of a wing", DefaultOperator::kAnd),
            "boolean { must { term { term: \"lift\" } } must { term { term: "
            "\"wing\" } } }");
  const QueryPlan plan = Plan("the lift");
  EXPECT_THAT(StatsTerms(plan),
              ElementsAre(Pair(v1::FIELD_UNSPECIFIED, "lift")));
  EXPECT_THAT(plan.body_highlights.terms, ElementsAre("lift"));
}

TEST(QueryPlannerTest, StopWordsStayWhereTheUserMeantThem) {
  // Inside a phrase, required, or scoped to a keyword field.
  EXPECT_EQ(Node("\"the wing\""), "phrase { terms: \"the\" terms: \"wing\" }");
  EXPECT_EQ(Node("+the wing"),
            "boolean { must { term { term: \"the\" } } should { term { term: "
            "\"wing\" } } }");
  EXPECT_EQ(Node("tag:can wing"),
            "boolean { should { term { field: FIELD_TAG term: \"can\" } } "
            "should { term { term: \"wing\" } } }");
  // A group of nothing but stop words keeps them all.
  const QueryPlan all_stop = Plan("to be or not to be");
  EXPECT_FALSE(all_stop.matches_nothing);
  EXPECT_THAT(StatsTerms(all_stop),
              ElementsAre(Pair(v1::FIELD_UNSPECIFIED, "to"),
                          Pair(v1::FIELD_UNSPECIFIED, "be"),
                          Pair(v1::FIELD_UNSPECIFIED, "or"),
                          Pair(v1::FIELD_UNSPECIFIED, "not")));
  EXPECT_EQ(Plan("the who").query.boolean().should_size(), 2);
  // Exclusions do not count as something else to search for: `the -cat`
  // stays "the, without cat", not "everything without cat".
  EXPECT_EQ(Node("the -cat"),
            "boolean { should { term { term: \"the\" } } must_not { term { "
            "term: \"cat\" } } }");
  // Each group decides for itself.
  EXPECT_EQ(Node("wing (the OR a)"),
            "boolean { should { term { term: \"wing\" } } should { boolean { "
            "should { term { term: \"the\" } } should { term { term: \"a\" "
            "} } } } }");
}

TEST(QueryPlannerTest, StopWordDroppingCanBeTurnedOff) {
  static const analysis::Analyzer* const analyzer = new analysis::Analyzer;
  PlanOptions keep;
  keep.drop_stop_words = false;
  absl::StatusOr<QueryPlan> plan =
      ParseAndPlan("the wing", ParserOptions(), *analyzer, keep);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->query.boolean().should_size(), 2);
}

TEST(QueryPlannerTest, EmptyQueryMatchesAll) {
  QueryPlan plan = Plan("");
  EXPECT_EQ(plan.query.ShortDebugString(), "match_all { }");
  EXPECT_FALSE(plan.matches_nothing);
  EXPECT_THAT(plan.stats_terms, IsEmpty());
}

TEST(QueryPlannerTest, StarWithExclusionsIsEverythingExcept) {
  EXPECT_EQ(Node("*"), "match_all { }");
  EXPECT_EQ(Node("* -covid"),
            "boolean { should { match_all { } } "
            "must_not { term { term: \"covid\" } } }");
}

TEST(QueryPlannerTest, TermsAreFoldedAndStemmedLikeTheIndex) {
  EXPECT_EQ(Node("Running"), "term { term: \"run\" }");
  EXPECT_EQ(Node("title:Prices"),
            "term { field: FIELD_TITLE term: \"price\" }");
}

TEST(QueryPlannerTest, WordOfSeveralTokensBecomesAPhrase) {
  EXPECT_EQ(Node("e-mail"), "phrase { terms: \"e\" terms: \"mail\" }");
  EXPECT_EQ(Node("body:covid-19"),
            "phrase { field: FIELD_BODY terms: \"covid\" terms: \"19\" }");
}

TEST(QueryPlannerTest, CjkRunBecomesAPhraseOfItsWords) {
  QueryPlan plan = Plan("東京大学");
  ASSERT_TRUE(plan.query.has_phrase()) << plan.query.ShortDebugString();
  EXPECT_GE(plan.query.phrase().terms_size(), 2);
}

TEST(QueryPlannerTest, QuotedPhraseKeepsOrderAndSlop) {
  EXPECT_EQ(Node("\"Human Rights\""),
            "phrase { terms: \"human\" terms: \"right\" }");
  EXPECT_EQ(Node("\"boundary layers\"~2"),
            "phrase { terms: \"boundari\" terms: \"layer\" slop: 2 }");
  // A one-word phrase is just a term.
  EXPECT_EQ(Node("\"Rights\""), "term { term: \"right\" }");
}

TEST(QueryPlannerTest, PunctuationOnlyClausesAreDropped) {
  EXPECT_EQ(Node("cocoa !!!"), "term { term: \"cocoa\" }");
  EXPECT_EQ(Node("cocoa AND (*** OR ---)"), "term { term: \"cocoa\" }");
}

TEST(QueryPlannerTest, QueryOfOnlyPunctuationMatchesNothing) {
  QueryPlan plan = Plan("!!! \"...\"");
  EXPECT_TRUE(plan.matches_nothing);
  EXPECT_EQ(plan.query.ShortDebugString(), "boolean { }");
  EXPECT_THAT(plan.stats_terms, IsEmpty());
}

TEST(QueryPlannerTest, KeywordFieldsAreNormalisedNotStemmed) {
  EXPECT_EQ(Node("source:\"New  York Times\""),
            "term { field: FIELD_SOURCE term: \"new york times\" }");
  EXPECT_EQ(Node("tag:Prices"), "term { field: FIELD_TAG term: \"prices\" }");
  EXPECT_EQ(Node("tags:(Cocoa OR \"Soft Commodities\")"),
            "boolean { should { term { field: FIELD_TAG term: \"cocoa\" } } "
            "should { term { field: FIELD_TAG term: \"soft commodities\" } } "
            "}");
}

TEST(QueryPlannerTest, DefaultOperatorDecidesShouldOrMust) {
  EXPECT_EQ(Node("cocoa prices"),
            "boolean { should { term { term: \"cocoa\" } } "
            "should { term { term: \"price\" } } }");
  EXPECT_EQ(Node("cocoa prices", DefaultOperator::kAnd),
            "boolean { must { term { term: \"cocoa\" } } "
            "must { term { term: \"price\" } } }");
}

TEST(QueryPlannerTest, ModifiersMapToMustShouldAndMustNot) {
  EXPECT_EQ(Node("+cocoa prices -coffee"),
            "boolean { must { term { term: \"cocoa\" } } "
            "should { term { term: \"price\" } } "
            "must_not { term { term: \"coffe\" } } }");
  EXPECT_EQ(Node("cocoa AND NOT coffee"),
            "boolean { must { term { term: \"cocoa\" } } "
            "must_not { term { term: \"coffe\" } } }");
}

TEST(QueryPlannerTest, NegativeOnlyQueryMeansEverythingExcept) {
  EXPECT_EQ(Node("-covid"),
            "boolean { must { match_all { } } "
            "must_not { term { term: \"covid\" } } }");
  EXPECT_EQ(Node("NOT source:reuters NOT tag:sport"),
            "boolean { must { match_all { } } "
            "must_not { term { field: FIELD_SOURCE term: \"reuters\" } } "
            "must_not { term { field: FIELD_TAG term: \"sport\" } } }");
}

TEST(QueryPlannerTest, NegativeOnlyGroupInsideAQueryIsEverythingExcept) {
  EXPECT_EQ(Node("cocoa OR (-coffee)"),
            "boolean { should { term { term: \"cocoa\" } } "
            "should { boolean { must { match_all { } } "
            "must_not { term { term: \"coffe\" } } } } }");
}

TEST(QueryPlannerTest, StatsTermsAreDistinctAndKeepTheirField) {
  QueryPlan plan =
      Plan("title:cocoa cocoa \"cocoa crops\" Cocoa source:Reuters -coffee");
  EXPECT_THAT(StatsTerms(plan),
              ElementsAre(Pair(v1::FIELD_TITLE, "cocoa"),
                          Pair(v1::FIELD_UNSPECIFIED, "cocoa"),
                          Pair(v1::FIELD_UNSPECIFIED, "crop"),
                          Pair(v1::FIELD_SOURCE, "reuters"),
                          Pair(v1::FIELD_UNSPECIFIED, "coffe")));
}

TEST(QueryPlannerTest, HighlightsFollowFieldsAndSkipExclusions) {
  QueryPlan plan = Plan(
      "title:cocoa body:prices \"human rights\" \"boundary layer\"~2 "
      "-coffee source:reuters");
  EXPECT_THAT(plan.title_highlights.terms,
              ElementsAre("cocoa", "boundari", "layer"));
  EXPECT_THAT(plan.body_highlights.terms,
              ElementsAre("price", "boundari", "layer"));
  EXPECT_THAT(plan.title_highlights.phrases,
              ElementsAre(ElementsAre("human", "right")));
  EXPECT_THAT(plan.body_highlights.phrases,
              ElementsAre(ElementsAre("human", "right")));
}

TEST(QueryPlannerTest, PrefixAndFuzzyClausesAreHighlightedInBothFields) {
  const QueryPlan plan = Plan("Comput* wings~1 cocoa comput*");
  for (const Highlights* h : {&plan.title_highlights, &plan.body_highlights}) {
    // Folded, not stemmed, and once.
    EXPECT_THAT(h->prefixes, ElementsAre("comput"));
    // Analyzed like the term the shards look for.
    EXPECT_THAT(h->fuzzy, ElementsAre(FuzzyHighlight{"wing", 1}));
    // The fuzzy entry covers the exact spelling (0 edits): no separate term.
    EXPECT_THAT(h->terms, ElementsAre("cocoa"));
    EXPECT_FALSE(h->empty());
  }
}

TEST(QueryPlannerTest, ScopedPrefixAndFuzzyClausesHighlightOnlyTheirField) {
  const QueryPlan plan = Plan("title:aero* body:wing~ title:wign~1");
  EXPECT_THAT(plan.title_highlights.prefixes, ElementsAre("aero"));
  EXPECT_THAT(plan.title_highlights.fuzzy,
              ElementsAre(FuzzyHighlight{"wign", 1}));
  EXPECT_THAT(plan.body_highlights.prefixes, IsEmpty());
  EXPECT_THAT(plan.body_highlights.fuzzy,
              ElementsAre(FuzzyHighlight{"wing", 2}));
}

TEST(QueryPlannerTest, KeywordPrefixesAndExclusionsAreNotHighlighted) {
  const QueryPlan plan =
      Plan("cocoa source:reu* tag:agri* -comput* -wing~1 -(x NOT aero*)");
  for (const Highlights* h : {&plan.title_highlights, &plan.body_highlights}) {
    EXPECT_THAT(h->terms, ElementsAre("cocoa"));
    EXPECT_THAT(h->prefixes, IsEmpty());
    EXPECT_THAT(h->fuzzy, IsEmpty());
  }
}

TEST(QueryPlannerTest, AFuzzyWordOfSeveralTermsIsHighlightedAsItsPhrase) {
  const QueryPlan plan = Plan("e-mail~");
  EXPECT_THAT(plan.body_highlights.phrases,
              ElementsAre(ElementsAre("e", "mail")));
  EXPECT_THAT(plan.body_highlights.fuzzy, IsEmpty());
}

TEST(QueryPlannerTest, NestedExclusionsAreNotHighlighted) {
  QueryPlan plan = Plan("cocoa -(coffee -tea)");
  EXPECT_THAT(plan.body_highlights.terms, ElementsAre("cocoa"));
}

TEST(QueryPlannerTest, DateRangesBecomeHalfOpenTimestamps) {
  // Inclusive at both ends: the whole last day is in.
  EXPECT_EQ(Node("published_at:[2021-01-01 TO 2021-12-31]"),
            "date_range { from { seconds: 1609459200 } to { seconds: "
            "1640995200 } }");
  // `>2021-06` starts after June; `<=2021` ends with the year.
  EXPECT_EQ(Node("published_at:>2021-06"),
            "date_range { from { seconds: 1625097600 } }");
  EXPECT_EQ(Node("date:<=2021"), "date_range { to { seconds: 1640995200 } }");
  EXPECT_EQ(Node("published_at:<2021-07"),
            "date_range { to { seconds: 1625097600 } }");
  // An exclusive timestamp starts one nanosecond after it.
  EXPECT_EQ(Node("published_at:{2021-03-04T05:06:07.25Z TO 2021-03-05}"),
            "date_range { from { seconds: 1614834367 nanos: 250000001 } to { "
            "seconds: 1614902400 } }");
  EXPECT_EQ(Node("published_at:[2000-01-01T00:00:00-00:30 TO *]"),
            "date_range { from { seconds: 946686600 } }");
  // Before 1970, and open at both ends.
  EXPECT_EQ(Node("published_at:[1960 TO 1960-06]"),
            "date_range { from { seconds: -315619200 } to { seconds: "
            "-299894400 } }");
  EXPECT_EQ(Node("published_at:*"), "date_range { }");
  EXPECT_EQ(Node("published_at:[* TO 9999]"), "date_range { }");
}

TEST(QueryPlannerTest, DateRangesNeitherScoreNorHighlight) {
  const QueryPlan plan = Plan("cocoa AND published_at:[1987-01-01 TO 1987-03]");
  EXPECT_EQ(plan.query.ShortDebugString(),
            "boolean { must { term { term: \"cocoa\" } } must { date_range { "
            "from { seconds: 536457600 } to { seconds: 544233600 } } } }");
  EXPECT_THAT(StatsTerms(plan),
              ElementsAre(Pair(v1::FIELD_UNSPECIFIED, "cocoa")));
  EXPECT_THAT(plan.body_highlights.terms, ElementsAre("cocoa"));
  EXPECT_THAT(plan.title_highlights.terms, ElementsAre("cocoa"));
  EXPECT_FALSE(plan.matches_nothing);
}

TEST(QueryPlannerTest, DateRangesCombineLikeOtherClauses) {
  // Excluded alone: every document but those, undated ones included.
  EXPECT_EQ(Node("-published_at:<1987-03-01"),
            "boolean { must { match_all { } } must_not { date_range { to { "
            "seconds: 541555200 } } } }");
  EXPECT_EQ(
      Node("(wing OR published_at:>=2021)"),
      "boolean { should { term { term: \"wing\" } } should { date_range { "
      "from { seconds: 1609459200 } } } }");
  // A range is never dropped, so punctuation beside it does not make the
  // query match nothing.
  const QueryPlan plan = Plan("!!! published_at:2021");
  EXPECT_FALSE(plan.matches_nothing);
  EXPECT_EQ(plan.query.ShortDebugString(),
            "date_range { from { seconds: 1609459200 } to { seconds: "
            "1640995200 } }");
  EXPECT_THAT(plan.stats_terms, IsEmpty());
  EXPECT_TRUE(plan.body_highlights.empty());
}

}  // namespace
}  // namespace sift::query
