#ifndef SIFT_SERVICES_QUERY_QUERY_PARSER_H_
#define SIFT_SERVICES_QUERY_QUERY_PARSER_H_

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sift::query {

// The field a clause is scoped to by a `title:`, `body:`, `source:` or
// `tag:` prefix; kAll means no prefix (title and body).
enum class QueryField { kAll, kTitle, kBody, kSource, kTag };

// How clauses written next to each other, without AND or OR, combine.
enum class DefaultOperator { kOr, kAnd };

// What a clause contributes to the group it stands in: kDefault for a plain
// clause (a SHOULD in an OR group, a MUST in an AND group), kRequired for
// `+clause`, kExcluded for `-clause` and `NOT clause`.
enum class Occur { kDefault, kRequired, kExcluded };

struct QueryClause;

// An instant in UTC: seconds since the Unix epoch and nanoseconds (0 to
// 999,999,999) after them, as in google.protobuf.Timestamp.
struct DateTime {
  int64_t seconds = 0;
  int32_t nanos = 0;

  friend auto operator<=>(const DateTime&, const DateTime&) = default;
};

// 0001-01-01T00:00:00Z, the earliest instant a range can name, and
// 10000-01-01T00:00:00Z, the first one after the latest.
inline constexpr DateTime kFirstDateTime{-62'135'596'800, 0};
inline constexpr DateTime kEndOfDateTime{253'402'300'800, 0};

// One end of a date range as written. A date denotes a period: `2021` the
// whole year, `2021-03` the month, `2021-03-04` the day, a full timestamp
// one nanosecond. The period is [start, end).
struct DateBound {
  std::string text;  // as written, e.g. "2021-03"
  DateTime start;
  DateTime end;
  bool inclusive = true;
};

// A date range as the half-open interval [from, to) of instants it
// matches; nullopt means open on that side.
struct HalfOpenRange {
  std::optional<DateTime> from;
  std::optional<DateTime> to;
};

// A node of the parsed query. Terms and phrases keep the text the user wrote
// (escapes removed), not yet analyzed: planning turns them into index terms.
struct QueryExpr {
  // kMatchAll: the empty query, or `*`. kPrefix: `word*`, every term that
  // starts with the word. kFuzzy: `word~N`, terms within N edits of it.
  // kDateRange: `published_at:[a TO b]` and its other forms, the documents
  // dated in a range.
  enum class Kind {
    kMatchAll,
    kTerm,
    kPrefix,
    kFuzzy,
    kPhrase,
    kAnd,
    kOr,
    kDateRange
  };

  Kind kind = Kind::kMatchAll;
  // kTerm, kPrefix and kPhrase: the scope and the unescaped text (without
  // the '*' of a prefix).
  QueryField field = QueryField::kAll;
  std::string text;
  // kPhrase: allowed position moves, from `"..."~N`.
  uint32_t slop = 0;
  // kFuzzy: edits allowed, 1 or 2.
  uint32_t max_edits = 0;
  // kAnd and kOr: the operands, at least one.
  std::vector<QueryClause> clauses;
  // kDateRange: the ends; nullopt for an open end (`*`).
  std::optional<DateBound> lower;
  std::optional<DateBound> upper;
};

struct QueryClause {
  Occur occur = Occur::kDefault;
  QueryExpr expr;
};

// Parsing limits; every one is a documented flag of the query service.
struct ParserOptions {
  DefaultOperator default_operator = DefaultOperator::kOr;
  // Longest query, in bytes.
  size_t max_query_bytes = 4096;
  // Most clauses in one query: terms, phrases, prefixes, fuzzy terms, `*`
  // and date ranges each count one.
  size_t max_clauses = 256;
  // Deepest nesting of parentheses.
  size_t max_depth = 32;
  // Largest N in `"phrase"~N`.
  uint32_t max_slop = 100;
};

// Parses `query` in Sift's query language (docs/query-language.md). The empty
// (or all-whitespace) query parses to kMatchAll. Errors are INVALID_ARGUMENT
// with a message that starts with "query: " and, when a position is to
// blame, gives its 1-based column counted in characters, e.g.
// "query: column 14: expected ')' to close '(' opened at column 3".
// Pure function; thread-safe.
absl::StatusOr<QueryExpr> ParseQuery(absl::string_view query,
                                     const ParserOptions& options);

// The instants a kDateRange matches. Reduced precision rounds outwards for
// inclusive ends and inwards for exclusive ones: an inclusive lower bound
// starts at its period's start, an exclusive one at its period's end; an
// inclusive upper bound ends at its period's end, an exclusive one at its
// start. `to` is nullopt when it would be kEndOfDateTime or later (nothing
// is dated there). Empty when from >= to; ParseQuery never returns such a
// range.
HalfOpenRange ToHalfOpen(const QueryExpr& range);

// Renders an instant as RFC 3339 in UTC: 2021-03-04T05:06:07Z, with as
// many fractional digits as the nanoseconds need (in groups of three).
std::string FormatDateTime(const DateTime& t);

// A compact, unambiguous rendering for tests and debugging, e.g.
// `(OR title:a (AND +b -"c d"~2))`; match-all is `*:*`; a date range is
// `published_at:[2021 TO 2022-06}` whatever form it was written in (`*`
// for an open end).
std::string DebugString(const QueryExpr& expr);

// The name the query language uses for `field` ("title", ...; "" for kAll).
absl::string_view FieldName(QueryField field);

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_QUERY_PARSER_H_
