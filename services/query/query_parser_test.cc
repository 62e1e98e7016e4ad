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
  EXPECT_THAT(s.message(), HasSubstr("title, body, source and tag"));
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
                       HasSubstr("more than 256 terms and phrases")));
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
                       HasSubstr("more than 2 terms")));
}

}  // namespace
}  // namespace sift::query
