// libFuzzer target for the query parser (fuzz/README.md has the command).
//
// Over any input, with either default operator and small or default limits,
// ParseQuery must return without crashing and:
// - fail only with INVALID_ARGUMENT, with a message that starts "query: ";
// - when it succeeds, return a tree within the limits it was given (query
//   bytes, number of terms and phrases, phrase slop), with no empty boolean
//   node, no empty term text, fuzzy edits of 1 or 2, and date ranges whose
//   ends are periods within years 1 to 9999 and which match at least one
//   instant;
// - give the same answer when asked twice.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "services/query/query_parser.h"

namespace {

using sift::query::DateBound;
using sift::query::DefaultOperator;
using sift::query::HalfOpenRange;
using sift::query::kEndOfDateTime;
using sift::query::kFirstDateTime;
using sift::query::ParseQuery;
using sift::query::ParserOptions;
using sift::query::QueryClause;
using sift::query::QueryExpr;

void Check(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "broken invariant: %s\n", what);
    __builtin_trap();
  }
}

void CheckBound(const DateBound& bound) {
  Check(!bound.text.empty(), "a date bound without text");
  Check(bound.start < bound.end, "a date bound's period is empty");
  Check(bound.start >= kFirstDateTime && bound.end <= kEndOfDateTime,
        "a date bound outside years 1 to 9999");
  Check(bound.start.nanos >= 0 && bound.start.nanos <= 999'999'999 &&
            bound.end.nanos >= 0 && bound.end.nanos <= 999'999'999,
        "a date bound with nanos out of range");
}

// Returns the number of terms and phrases below `expr`; checks the shape.
size_t Walk(const QueryExpr& expr, const ParserOptions& options) {
  switch (expr.kind) {
    case QueryExpr::Kind::kMatchAll:
      return 0;
    case QueryExpr::Kind::kTerm:
    case QueryExpr::Kind::kPrefix:
      Check(!expr.text.empty(), "empty term or prefix");
      return 1;
    case QueryExpr::Kind::kFuzzy:
      Check(!expr.text.empty(), "empty fuzzy word");
      Check(expr.max_edits >= 1 && expr.max_edits <= 2,
            "fuzzy edits outside 1..2");
      return 1;
    case QueryExpr::Kind::kPhrase:
      Check(expr.slop <= options.max_slop, "slop over max_slop");
      return 1;
    case QueryExpr::Kind::kDateRange: {
      if (expr.lower) CheckBound(*expr.lower);
      if (expr.upper) CheckBound(*expr.upper);
      const HalfOpenRange range = ToHalfOpen(expr);
      Check(range.from.value_or(kFirstDateTime) <
                range.to.value_or(kEndOfDateTime),
            "an empty date range");
      Check(!range.to || *range.to < kEndOfDateTime,
            "a date range's end at or past the end of 9999 is not open");
      // Renders without trouble.
      if (range.from) Check(!FormatDateTime(*range.from).empty(), "format");
      return 1;
    }
    case QueryExpr::Kind::kAnd:
    case QueryExpr::Kind::kOr: {
      Check(!expr.clauses.empty(), "boolean node without clauses");
      size_t count = 0;
      for (const QueryClause& clause : expr.clauses) {
        count += Walk(clause.expr, options);
      }
      return count;
    }
  }
  Check(false, "unknown node kind");
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the options; the rest is the query.
  const uint8_t selector = data[0];
  const absl::string_view query(reinterpret_cast<const char*>(data + 1),
                                size - 1);
  ParserOptions options;
  options.default_operator =
      (selector & 1) ? DefaultOperator::kAnd : DefaultOperator::kOr;
  if (selector & 2) {
    // Small limits, so that inputs libFuzzer can make reach them.
    options.max_query_bytes = 64;
    options.max_clauses = 4;
    options.max_depth = 3;
    options.max_slop = 5;
  }
  const auto first = ParseQuery(query, options);
  const auto second = ParseQuery(query, options);
  Check(first.ok() == second.ok(), "two parses disagree");
  if (!first.ok()) {
    Check(first.status().code() == absl::StatusCode::kInvalidArgument,
          "an error other than INVALID_ARGUMENT");
    Check(absl::StartsWith(first.status().message(), "query: "),
          "an error message not starting with 'query: '");
    Check(first.status() == second.status(), "two errors differ");
    return 0;
  }
  Check(query.size() <= options.max_query_bytes, "accepted an over-long query");
  Check(Walk(*first, options) <= options.max_clauses,
        "more terms than max_clauses");
  Check(DebugString(*first) == DebugString(*second), "two parses differ");
  return 0;
}
