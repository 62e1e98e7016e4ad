#include "services/query/query_parser.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::query {
namespace {

using ::sift::testing::StatusIs;
using ::testing::HasSubstr;

// The parse of `query` as a DebugString, or the error message.
std::string Parse(absl::string_view query,
                  DefaultOperator op = DefaultOperator::kOr) {
  ParserOptions options;
  options.default_operator = op;
  absl::StatusOr<QueryExpr> expr = ParseQuery(query, options);
  if (!expr.ok()) return std::string(expr.status().message());
  return DebugString(*expr);
}

absl::Status ParseError(absl::string_view query) {
  return ParseQuery(query, ParserOptions()).status();
}

TEST(QueryParserTest, EmptyQueryMatchesAll) {
  EXPECT_EQ(Parse(""), "*:*");
  EXPECT_EQ(Parse("  \t\n "), "*:*");
}

TEST(QueryParserTest, StarMatchesAll) {
  EXPECT_EQ(Parse("*"), "*:*");
  EXPECT_EQ(Parse("*:*"), "*:*");
  EXPECT_EQ(Parse("* -covid"), "(OR *:* -covid)");
  // Escaped, it is an ordinary word (which analysis then drops).
  EXPECT_EQ(Parse("\\*"), "*");
  EXPECT_EQ(Parse("title:*"),
            "query: column 7: '*' (every document) cannot be scoped to a "
            "field");
}

QueryExpr::Kind KindOf(absl::string_view query) {
  absl::StatusOr<QueryExpr> expr = ParseQuery(query, ParserOptions());
  EXPECT_TRUE(expr.ok()) << expr.status();
  return expr.ok() ? expr->kind : QueryExpr::Kind::kMatchAll;
}

TEST(QueryParserTest, AFinalStarMakesAPrefix) {
  EXPECT_EQ(KindOf("cocoa*"), QueryExpr::Kind::kPrefix);
  EXPECT_EQ(Parse("cocoa*"), "cocoa*");
  EXPECT_EQ(Parse("title:aero* wing"), "(OR title:aero* wing)");
  EXPECT_EQ(Parse("source:reu* -tag:corn*"), "(OR source:reu* -tag:corn*)");
  EXPECT_EQ(Parse("+comp* AND NOT x*"), "(AND +comp* -x*)");
  // Escaped, inside a word or alone, a star is no prefix.
  EXPECT_EQ(KindOf("cocoa\\*"), QueryExpr::Kind::kTerm);
  EXPECT_EQ(KindOf("co*coa"), QueryExpr::Kind::kTerm);
  EXPECT_EQ(KindOf("a\\\\*"),
            QueryExpr::Kind::kPrefix);  // `a\\*`: prefix "a\\"
  EXPECT_EQ(KindOf("*"), QueryExpr::Kind::kMatchAll);
  EXPECT_EQ(KindOf("*:*"), QueryExpr::Kind::kMatchAll);
}

TEST(QueryParserTest, AFinalTildeMakesAFuzzyWord) {
  EXPECT_EQ(KindOf("wign~"), QueryExpr::Kind::kFuzzy);
  EXPECT_EQ(Parse("wign~"), "wign~2");
  EXPECT_EQ(Parse("wign~1"), "wign~1");
  EXPECT_EQ(Parse("title:aerodinamics~2 flow"),
            "(OR title:aerodinamics~2 flow)");
  // A tilde inside a word, escaped or alone is punctuation.
  EXPECT_EQ(KindOf("a~b"), QueryExpr::Kind::kTerm);
  EXPECT_EQ(KindOf("wing\\~"), QueryExpr::Kind::kTerm);
  EXPECT_EQ(KindOf("~2"), QueryExpr::Kind::kTerm);
  EXPECT_EQ(Parse("wing~3"),
            "query: column 5: a fuzzy word allows 1 or 2 edits, as in wing~1 "
            "or wing~ (2)");
  EXPECT_EQ(Parse("wing~0"),
            "query: column 5: a fuzzy word allows 1 or 2 edits, as in wing~1 "
            "or wing~ (2)");
}

TEST(QueryParserTest, BareTermsUseTheDefaultOperator) {
  EXPECT_EQ(Parse("cocoa"), "cocoa");
  EXPECT_EQ(Parse("cocoa prices"), "(OR cocoa prices)");
  EXPECT_EQ(Parse("cocoa prices", DefaultOperator::kAnd), "(AND cocoa prices)");
}

TEST(QueryParserTest, QuotedPhraseKeepsItsText) {
  EXPECT_EQ(Parse("\"human rights\" china"), "(OR \"human rights\" china)");
  EXPECT_EQ(Parse("\"a \\\"quoted\\\" word\""), "\"a \"quoted\" word\"");
}

TEST(QueryParserTest, PhraseSlop) {
  EXPECT_EQ(Parse("\"boundary flow\"~3"), "\"boundary flow\"~3");
  EXPECT_EQ(Parse("\"boundary flow\"~0"), "\"boundary flow\"");
}

TEST(QueryParserTest, UppercaseKeywordsAreOperators) {
  EXPECT_EQ(Parse("a AND b"), "(AND a b)");
  EXPECT_EQ(Parse("a OR b", DefaultOperator::kAnd), "(OR a b)");
  EXPECT_EQ(Parse("a NOT b"), "(OR a -b)");
  EXPECT_EQ(Parse("a AND NOT b"), "(AND a -b)");
}

TEST(QueryParserTest, LowercaseKeywordsAreOrdinaryTerms) {
  EXPECT_EQ(Parse("war and peace"), "(OR war and peace)");
  EXPECT_EQ(Parse("this or that not those"), "(OR this or that not those)");
  EXPECT_EQ(Parse("And Or Not"), "(OR And Or Not)");
}

TEST(QueryParserTest, AndBindsTighterThanOr) {
  EXPECT_EQ(Parse("a OR b AND c"), "(OR a (AND b c))");
  EXPECT_EQ(Parse("a AND b OR c AND d"), "(OR (AND a b) (AND c d))");
}

TEST(QueryParserTest, NotBindsTighterThanAnd) {
  EXPECT_EQ(Parse("NOT a AND b"), "(AND -a b)");
  EXPECT_EQ(Parse("a AND NOT b OR c"), "(OR (AND a -b) c)");
}

TEST(QueryParserTest, ImplicitOperatorActsLikeTheExplicitDefault) {
  // With OR as the default, `a b AND c` reads `a OR b AND c`.
  EXPECT_EQ(Parse("a b AND c"), "(OR a (AND b c))");
  // With AND as the default, `a b OR c` reads `a AND b OR c`.
  EXPECT_EQ(Parse("a b OR c", DefaultOperator::kAnd), "(OR (AND a b) c)");
}

TEST(QueryParserTest, DoubleNegationCancels) {
  EXPECT_EQ(Parse("x NOT NOT a"), "(OR x a)");
}

TEST(QueryParserTest, RequiredAndExcludedModifiers) {
  EXPECT_EQ(Parse("+cocoa prices -coffee"), "(OR +cocoa prices -coffee)");
  EXPECT_EQ(Parse("+\"human rights\" -\"covid 19\""),
            "(OR +\"human rights\" -\"covid 19\")");
  EXPECT_EQ(Parse("a +(b c) -(d e)"), "(OR a +(OR b c) -(OR d e))");
}

TEST(QueryParserTest, NegativeOnlyQueryKeepsItsExclusion) {
  EXPECT_EQ(Parse("-covid"), "(OR -covid)");
  EXPECT_EQ(Parse("NOT covid"), "(OR -covid)");
  EXPECT_EQ(Parse("-a -b"), "(OR -a -b)");
}

TEST(QueryParserTest, LoneSignsAreWordsNotModifiers) {
  EXPECT_EQ(Parse("pre - post"), "(OR pre - post)");
  EXPECT_EQ(Parse("c++ e-mail"), "(OR c++ e-mail)");
  EXPECT_EQ(Parse("(a -)"), "(OR a -)");
  EXPECT_EQ(Parse("a -- b --- c"), "(OR a -- b --- c)");
  EXPECT_EQ(Parse("+-a"), "+-a");
}

TEST(QueryParserTest, ParenthesesGroup) {
  EXPECT_EQ(Parse("(a OR b) AND c"), "(AND (OR a b) c)");
  EXPECT_EQ(Parse("((a))"), "a");
  EXPECT_EQ(Parse("a (b c)", DefaultOperator::kAnd), "(AND a (AND b c))");
}

TEST(QueryParserTest, FieldScopes) {
  EXPECT_EQ(Parse("title:cocoa"), "title:cocoa");
  EXPECT_EQ(Parse("body:\"cocoa crop\""), "body:\"cocoa crop\"");
  EXPECT_EQ(Parse("title:(cocoa OR coffee) prices"),
            "(OR (OR title:cocoa title:coffee) prices)");
  EXPECT_EQ(Parse("source:reuters"), "source:reuters");
  EXPECT_EQ(Parse("tag:cocoa tags:prices"), "(OR tag:cocoa tag:prices)");
  EXPECT_EQ(Parse("-source:reuters"), "(OR -source:reuters)");
  EXPECT_EQ(Parse("+title:\"boundary layer\""),
            "(OR +title:\"boundary layer\")");
}

TEST(QueryParserTest, FieldNamesIgnoreCase) {
  EXPECT_EQ(Parse("Title:cocoa SOURCE:bbc"), "(OR title:cocoa source:bbc)");
}

TEST(QueryParserTest, InnerFieldScopeWins) {
  EXPECT_EQ(Parse("title:(a body:b)"), "(OR title:a body:b)");
}

TEST(QueryParserTest, KeywordFieldTakesTheWholeQuotedValue) {
  EXPECT_EQ(Parse("source:\"New York Times\""), "source:\"New York Times\"");
  // Unquoted, only the first word belongs to the field.
  EXPECT_EQ(Parse("source:New York"), "(OR source:New York)");
}

TEST(QueryParserTest, ColonAfterANonNameIsPartOfTheTerm) {
  EXPECT_EQ(Parse("12:30"), "12:30");
}

TEST(QueryParserTest, BackslashEscapes) {
  EXPECT_EQ(Parse("foo\\:bar"), "foo:bar");
  EXPECT_EQ(Parse("\\(a\\)"), "(a)");
  EXPECT_EQ(Parse("a\\\\b"), "a\\b");
  EXPECT_EQ(Parse("\\\"quoted"), "\"quoted");
  EXPECT_EQ(Parse("\\AND \\-x"), "(OR AND -x)");
  EXPECT_EQ(Parse("\\é"), "é");
}

TEST(QueryParserTest, ReportsColumnOfUnclosedParenthesis) {
  EXPECT_THAT(ParseError("a (b AND c"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "query: column 11: expected ')' to close '(' opened "
                       "at column 3"));
}

TEST(QueryParserTest, ColumnsCountCharactersNotBytes) {
  // "é" and "東京" take 2 and 6 bytes but 1 and 2 columns.
  EXPECT_EQ(Parse("café (東京"),
            "query: column 9: expected ')' to close '(' opened at column 6");
}

TEST(QueryParserTest, ReportsUnmatchedClosingParenthesis) {
  EXPECT_EQ(Parse("a b)"), "query: column 4: ')' has no matching '('");
}

TEST(QueryParserTest, ReportsUnknownFieldAndListsTheValidOnes) {
  absl::Status s = ParseError("cocoa foo:bar");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("query: column 7: unknown field 'foo'")));
  EXPECT_THAT(s.message(),
              HasSubstr("title, body, source, tag (or tags) and published_at "
                        "(or date)"));
}

TEST(QueryParserTest, ReportsUnterminatedQuote) {
  EXPECT_EQ(Parse("a \"human rights"),
            "query: column 3: the '\"' opened here is never closed; add a "
            "'\"' or escape it as '\\\"'");
}

TEST(QueryParserTest, ReportsDanglingOperators) {
  EXPECT_EQ(Parse("a AND"), "query: column 3: 'AND' needs a clause after it");
  EXPECT_EQ(Parse("OR b"), "query: column 1: 'OR' needs a clause before it");
  EXPECT_EQ(Parse("(AND b)"),
            "query: column 2: 'AND' needs a clause before it");
  EXPECT_EQ(Parse("(a OR)"), "query: column 4: 'OR' needs a clause after it");
  EXPECT_EQ(Parse("a AND OR b"),
            "query: column 7: expected a clause after 'AND', found 'OR'");
  EXPECT_EQ(Parse("a NOT"), "query: column 3: 'NOT' needs a clause after it");
  EXPECT_EQ(Parse("NOT AND b"),
            "query: column 1: 'NOT' needs a clause after it");
}

TEST(QueryParserTest, ReportsEmptyParentheses) {
  EXPECT_EQ(Parse("a ()"), "query: column 3: empty parentheses '()'");
  EXPECT_EQ(Parse("a (  )"), "query: column 3: empty parentheses '()'");
}

TEST(QueryParserTest, ReportsFieldWithoutValue) {
  EXPECT_EQ(Parse("title:"),
            "query: column 7: expected a term, phrase or '(' after 'title:', "
            "found the end of the query");
  EXPECT_EQ(Parse("title:)"),
            "query: column 7: expected a term, phrase or '(' after 'title:', "
            "found ')'");
  EXPECT_EQ(Parse("title:body:x"),
            "query: column 7: expected a term, phrase or '(' after 'title:', "
            "found 'body:'");
}

TEST(QueryParserTest, ReportsModifierWithoutClause) {
  EXPECT_EQ(Parse("a +NOT b"),
            "query: column 4: expected a term, phrase or '(' after '+', found "
            "'NOT'");
  EXPECT_EQ(Parse("-AND"),
            "query: column 2: expected a term, phrase or '(' after '-', found "
            "'AND'");
}

TEST(QueryParserTest, ReportsTrailingBackslash) {
  EXPECT_EQ(Parse("abc\\"),
            "query: column 4: '\\' at the end of the query escapes nothing; "
            "write '\\\\' for a backslash");
}

TEST(QueryParserTest, ReportsBadSlop) {
  EXPECT_EQ(Parse("\"a b\"~x"),
            "query: column 6: expected a number after '~', as in \"big "
            "cat\"~2");
  EXPECT_EQ(Parse("\"a b\"~1000"),
            "query: column 6: phrase slop is over the limit of 100");
}

TEST(QueryParserTest, ReportsInvalidUtf8WithItsColumn) {
  EXPECT_THAT(ParseError("ab\xff"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("query: column 3: not valid UTF-8")));
}

TEST(QueryParserTest, RejectsQueriesOverTheByteLimit) {
  const std::string ok(4096, 'a');
  EXPECT_EQ(Parse(ok), ok);
  EXPECT_THAT(ParseError(ok + "a"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "query: 4097 bytes is over the limit of 4096 bytes"));
}

TEST(QueryParserTest, RejectsMoreClausesThanTheLimit) {
  std::string query;
  for (int i = 0; i < 256; ++i) absl::StrAppend(&query, "t", i, " ");
  EXPECT_TRUE(ParseQuery(query, ParserOptions()).ok());
  query += "\"one more\"";
  EXPECT_THAT(ParseError(query),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 256 clauses (terms, phrases")));
}

TEST(QueryParserTest, RejectsNestingDeeperThanTheLimit) {
  const std::string ok = std::string(32, '(') + "a" + std::string(32, ')');
  EXPECT_EQ(Parse(ok), "a");
  const std::string deep = std::string(33, '(') + "a" + std::string(33, ')');
  EXPECT_EQ(Parse(deep),
            "query: column 33: parentheses nested deeper than 32 levels, the "
            "limit");
}

TEST(QueryParserTest, LimitsComeFromTheOptions) {
  ParserOptions options;
  options.max_clauses = 2;
  EXPECT_TRUE(ParseQuery("a b", options).ok());
  EXPECT_THAT(ParseQuery("a b c", options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 2 clauses")));
}

TEST(QueryParserDateRangeTest, BracketsSayWhetherEachEndIsIncluded) {
  EXPECT_EQ(KindOf("published_at:[2021-01-01 TO 2021-12-31]"),
            QueryExpr::Kind::kDateRange);
  EXPECT_EQ(Parse("published_at:[2021-01-01 TO 2021-12-31]"),
            "published_at:[2021-01-01 TO 2021-12-31]");
  EXPECT_EQ(Parse("published_at:{2021 TO 2023}"),
            "published_at:{2021 TO 2023}");
  EXPECT_EQ(Parse("published_at:[2021-03 TO 2022}"),
            "published_at:[2021-03 TO 2022}");
  EXPECT_EQ(Parse("published_at:{2021 TO 2022-06]"),
            "published_at:{2021 TO 2022-06]");
  // Spaces inside the brackets and after the colon are allowed.
  EXPECT_EQ(Parse("published_at: [ 2021   TO  2022 ] "),
            "published_at:[2021 TO 2022]");
}

TEST(QueryParserDateRangeTest, AStarLeavesAnEndOpen) {
  EXPECT_EQ(Parse("published_at:[2021-01-01 TO *]"),
            "published_at:[2021-01-01 TO *]");
  EXPECT_EQ(Parse("published_at:{* TO 2021}"), "published_at:[* TO 2021}");
  EXPECT_EQ(Parse("published_at:[* TO *]"), "published_at:[* TO *]");
  // Alone: any date at all.
  EXPECT_EQ(Parse("published_at:*"), "published_at:[* TO *]");
}

TEST(QueryParserDateRangeTest, ComparisonsAreRangesWithOneOpenEnd) {
  EXPECT_EQ(Parse("published_at:>=2021-01-01"),
            "published_at:[2021-01-01 TO *]");
  EXPECT_EQ(Parse("published_at:>2021-06"), "published_at:{2021-06 TO *]");
  EXPECT_EQ(Parse("published_at:<1987-03-01"),
            "published_at:[* TO 1987-03-01}");
  EXPECT_EQ(Parse("published_at:<=2021"), "published_at:[* TO 2021]");
}

TEST(QueryParserDateRangeTest, ASingleDateIsItsWholePeriod) {
  EXPECT_EQ(Parse("published_at:2021"), "published_at:[2021 TO 2021]");
  EXPECT_EQ(Parse("published_at:1987-03-04"),
            "published_at:[1987-03-04 TO 1987-03-04]");
}

TEST(QueryParserDateRangeTest, DateIsAnAliasAndNamesIgnoreCase) {
  EXPECT_EQ(Parse("date:>=2021"), "published_at:[2021 TO *]");
  EXPECT_EQ(Parse("Published_At:2021"), "published_at:[2021 TO 2021]");
  EXPECT_EQ(Parse("DATE:[2020 TO 2021]"), "published_at:[2020 TO 2021]");
}

TEST(QueryParserDateRangeTest, AcceptsRfc3339Timestamps) {
  EXPECT_EQ(Parse("published_at:[2021-03-04T05:06:07Z TO *]"),
            "published_at:[2021-03-04T05:06:07Z TO *]");
  EXPECT_EQ(Parse("published_at:>=2021-03-04t05:06:07.5+01:30"),
            "published_at:[2021-03-04t05:06:07.5+01:30 TO *]");
  EXPECT_EQ(Parse("published_at:<2021-03-04T05:06:07.123456789-08:00"),
            "published_at:[* TO 2021-03-04T05:06:07.123456789-08:00}");
}

TEST(QueryParserDateRangeTest, RangesAreClausesAnywhereInTheTree) {
  EXPECT_EQ(Parse("cocoa AND published_at:[1987-01-01 TO 1987-03-31]"),
            "(AND cocoa published_at:[1987-01-01 TO 1987-03-31])");
  EXPECT_EQ(Parse("-published_at:<1987-03-01"),
            "(OR -published_at:[* TO 1987-03-01})");
  EXPECT_EQ(Parse("(a OR published_at:>=2020)"),
            "(OR a published_at:[2020 TO *])");
  EXPECT_EQ(Parse("+published_at:2021 NOT date:2021-05 x"),
            "(OR +published_at:[2021 TO 2021] -published_at:[2021-05 TO "
            "2021-05] x)");
  // A closing parenthesis or bracket ends the date; so does a space.
  EXPECT_EQ(Parse("(published_at:2021)b"),
            "(OR published_at:[2021 TO 2021] b)");
  // A field scope around it does not matter.
  EXPECT_EQ(Parse("title:(a published_at:2021)"),
            "(OR title:a published_at:[2021 TO 2021])");
  // A range counts as a clause against the limit.
  ParserOptions options;
  options.max_clauses = 2;
  EXPECT_THAT(ParseQuery("a published_at:2021 b", options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("more than 2 clauses")));
}

TEST(QueryParserDateRangeTest, HalfOpenRoundsReducedPrecisionOutwardsOrIn) {
  auto range = [](absl::string_view query) {
    absl::StatusOr<QueryExpr> expr = ParseQuery(query, ParserOptions());
    EXPECT_TRUE(expr.ok()) << expr.status();
    const HalfOpenRange r = expr.ok() ? ToHalfOpen(*expr) : HalfOpenRange();
    return absl::StrCat(r.from ? FormatDateTime(*r.from) : "*", " ",
                        r.to ? FormatDateTime(*r.to) : "*");
  };
  EXPECT_EQ(range("published_at:[2021-01-01 TO 2021-12-31]"),
            "2021-01-01T00:00:00Z 2022-01-01T00:00:00Z");
  EXPECT_EQ(range("published_at:[2021-12 TO 2021-12]"),
            "2021-12-01T00:00:00Z 2022-01-01T00:00:00Z");
  EXPECT_EQ(range("published_at:{2021 TO 2023}"),
            "2022-01-01T00:00:00Z 2023-01-01T00:00:00Z");
  EXPECT_EQ(range("published_at:>2021-06"), "2021-07-01T00:00:00Z *");
  EXPECT_EQ(range("published_at:<=2021"), "* 2022-01-01T00:00:00Z");
  EXPECT_EQ(range("published_at:<2021-03-01"), "* 2021-03-01T00:00:00Z");
  EXPECT_EQ(range("published_at:2024-02"),
            "2024-02-01T00:00:00Z 2024-03-01T00:00:00Z");
  EXPECT_EQ(range("published_at:1900-02"),
            "1900-02-01T00:00:00Z 1900-03-01T00:00:00Z");
  EXPECT_EQ(range("published_at:2024-02-29"),
            "2024-02-29T00:00:00Z 2024-03-01T00:00:00Z");
  // A timestamp is one nanosecond, moved to UTC by its offset.
  EXPECT_EQ(range("published_at:[2021-03-04T05:06:07+01:30 TO "
                  "2021-03-04T23:59:59.999999999Z]"),
            "2021-03-04T03:36:07Z 2021-03-05T00:00:00Z");
  EXPECT_EQ(range("published_at:{2021-03-04T05:06:07.25Z TO *]"),
            "2021-03-04T05:06:07.250000001Z *");
  EXPECT_EQ(range("published_at:<2000-01-01T00:00:00.000001-00:30"),
            "* 2000-01-01T00:30:00.000001Z");
  // Before the epoch, and at the ends of the years a Timestamp holds; the
  // end of 9999 is an open end.
  EXPECT_EQ(range("published_at:1969-12-31"),
            "1969-12-31T00:00:00Z 1970-01-01T00:00:00Z");
  EXPECT_EQ(range("published_at:[0001 TO 9999]"), "0001-01-01T00:00:00Z *");
  EXPECT_EQ(range("published_at:*"), "* *");
}

TEST(QueryParserDateRangeTest, ReportsBadDates) {
  const std::string forms =
      "; write YYYY, YYYY-MM, YYYY-MM-DD or an RFC 3339 timestamp such as "
      "2021-03-04T05:06:07Z";
  EXPECT_THAT(ParseError("published_at:2021-13"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "query: column 14: '2021-13' is not a date: the month "
                       "must be 01 to 12" +
                           forms));
  EXPECT_EQ(Parse("a published_at:[2021-02-29 TO *]"),
            "query: column 17: '2021-02-29' is not a date: the day must be 01 "
            "to 28 in that month" +
                forms);
  EXPECT_EQ(Parse("published_at:>=21"),
            "query: column 16: '21' is not a date: a date starts with a "
            "4-digit year" +
                forms);
  EXPECT_EQ(Parse("published_at:0000"),
            "query: column 14: '0000' is not a date: years run from 0001 to "
            "9999" +
                forms);
  EXPECT_EQ(Parse("published_at:2021-3"),
            "query: column 14: '2021-3' is not a date: expected '-' and a "
            "2-digit month after the year" +
                forms);
  EXPECT_EQ(Parse("published_at:2021-03-4"),
            "query: column 14: '2021-03-4' is not a date: expected '-' and a "
            "2-digit day after the month" +
                forms);
  // A space ends the date: the time is a word of its own.
  EXPECT_EQ(Parse("published_at:2021-03-04 05:06"),
            "(OR published_at:[2021-03-04 TO 2021-03-04] 05:06)");
  EXPECT_EQ(Parse("published_at:2021-03-04X"),
            "query: column 14: '2021-03-04X' is not a date: expected 'T' and "
            "a time after the day, as in 2021-03-04T05:06:07Z" +
                forms);
  EXPECT_EQ(Parse("published_at:2021-03-04T05:06Z"),
            "query: column 14: '2021-03-04T05:06Z' is not a date: expected "
            "the time as HH:MM:SS after 'T'" +
                forms);
  EXPECT_EQ(Parse("published_at:2021-03-04T24:00:00Z"),
            "query: column 14: '2021-03-04T24:00:00Z' is not a date: the "
            "time must be 00:00:00 to 23:59:59 (leap seconds are not "
            "supported)" +
                forms);
  EXPECT_EQ(Parse("published_at:2021-03-04T05:06:07"),
            "query: column 14: '2021-03-04T05:06:07' is not a date: expected "
            "the time zone after the time: Z, or an offset such as +01:00" +
                forms);
  EXPECT_EQ(Parse("published_at:2021-03-04T05:06:07.Z"),
            "query: column 14: '2021-03-04T05:06:07.Z' is not a date: "
            "expected digits after '.'" +
                forms);
  EXPECT_EQ(Parse("published_at:2021-03-04T05:06:07.1234567891Z"),
            "query: column 14: '2021-03-04T05:06:07.1234567891Z' is not a "
            "date: at most 9 fractional digits (nanoseconds)" +
                forms);
  EXPECT_EQ(Parse("published_at:2021-03-04T05:06:07+24:00"),
            "query: column 14: '2021-03-04T05:06:07+24:00' is not a date: "
            "the offset must be -23:59 to +23:59" +
                forms);
  EXPECT_EQ(Parse("published_at:2021-03-04T05:06:07Zx"),
            "query: column 14: '2021-03-04T05:06:07Zx' is not a date: "
            "unexpected characters after the time zone" +
                forms);
  EXPECT_EQ(Parse("published_at:0001-01-01T00:00:00+00:01"),
            "query: column 14: '0001-01-01T00:00:00+00:01' is not a date: it "
            "lies outside years 0001 to 9999 in UTC" +
                forms);
}

TEST(QueryParserDateRangeTest, ReportsMalformedRanges) {
  EXPECT_EQ(Parse("published_at:"),
            "query: column 14: expected a date, a range such as [2021-01-01 "
            "TO 2021-12-31] or a comparison such as >=2021-01-01 after "
            "'published_at:', found the end of the query");
  EXPECT_EQ(Parse("date:(2021)"),
            "query: column 6: expected a date, a range such as [2021-01-01 "
            "TO 2021-12-31] or a comparison such as >=2021-01-01 after "
            "'date:', found '('");
  EXPECT_EQ(Parse("published_at:[2021 2022]"),
            "query: column 20: expected 'TO' after the first date of the "
            "range opened at column 14, found '2022'");
  EXPECT_EQ(Parse("published_at:[2021 to 2022]"),
            "query: column 20: expected 'TO' after the first date of the "
            "range opened at column 14, found 'to'");
  EXPECT_EQ(Parse("published_at:[2021]"),
            "query: column 19: expected 'TO' after the first date of the "
            "range opened at column 14, found ']'");
  EXPECT_EQ(Parse("published_at:[2021 TO 2022"),
            "query: column 27: expected ']' or '}' to close the range opened "
            "at column 14, found the end of the query");
  EXPECT_EQ(Parse("published_at:{2021 TO 2022 x"),
            "query: column 28: expected ']' or '}' to close the range opened "
            "at column 14, found 'x'");
  EXPECT_EQ(Parse("published_at:[2021 TO ]"),
            "query: column 23: expected a date or '*' after 'TO', found ']'");
  EXPECT_EQ(Parse("published_at:[ TO 2022]"),
            "query: column 16: expected a date or '*' after '[', found 'TO'");
  EXPECT_EQ(Parse("published_at:>="),
            "query: column 16: expected a date after '>=', found the end of "
            "the query");
  EXPECT_EQ(Parse("published_at:<*"),
            "query: column 15: expected a date after '<', found '*'");
}

TEST(QueryParserDateRangeTest, RejectsEmptyRanges) {
  EXPECT_EQ(Parse("published_at:[2022 TO 2021]"),
            "query: column 1: the date range [2022 TO 2021] is empty: it "
            "would start at 2022-01-01T00:00:00Z and end before "
            "2022-01-01T00:00:00Z");
  EXPECT_EQ(Parse("a date:[2021-12-31 TO 2021-01-01]"),
            "query: column 3: the date range [2021-12-31 TO 2021-01-01] is "
            "empty: it would start at 2021-12-31T00:00:00Z and end before "
            "2021-01-02T00:00:00Z");
  // Nothing lies strictly between two neighbouring years.
  EXPECT_EQ(Parse("published_at:{2021 TO 2022}"),
            "query: column 1: the date range {2021 TO 2022} is empty: it "
            "would start at 2022-01-01T00:00:00Z and end before "
            "2022-01-01T00:00:00Z");
  EXPECT_EQ(Parse("published_at:>9999"),
            "query: column 1: the date range {9999 TO *] is empty: it would "
            "start at 10000-01-01T00:00:00Z and end before "
            "10000-01-01T00:00:00Z");
  EXPECT_EQ(Parse("published_at:<0001"),
            "query: column 1: the date range [* TO 0001} is empty: it would "
            "start at 0001-01-01T00:00:00Z and end before "
            "0001-01-01T00:00:00Z");
  // The same instant at both ends, included, is one nanosecond.
  EXPECT_EQ(Parse("published_at:[2021-03-04T05:06:07Z TO "
                  "2021-03-04T06:06:07+01:00]"),
            "published_at:[2021-03-04T05:06:07Z TO 2021-03-04T06:06:07+01:00]");
}

TEST(QueryParserDateRangeTest, OtherFieldsTakeNoRanges) {
  EXPECT_EQ(Parse("title:[a TO b]"),
            "query: column 7: ranges apply only to published_at (or date), "
            "not to title");
  EXPECT_EQ(Parse("x source:{a TO b}"),
            "query: column 10: ranges apply only to published_at (or date), "
            "not to source");
  EXPECT_EQ(Parse("tags:>=2021"),
            "query: column 6: ranges apply only to published_at (or date), "
            "not to tag");
  // Not range-like: ordinary values.
  EXPECT_EQ(Parse("source:<unknown>"), "source:<unknown>");
  EXPECT_EQ(Parse("title:\\[a"), "title:[a");
}

}  // namespace
}  // namespace sift::query
