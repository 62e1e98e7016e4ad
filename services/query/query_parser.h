#ifndef SIFT_SERVICES_QUERY_QUERY_PARSER_H_
#define SIFT_SERVICES_QUERY_QUERY_PARSER_H_

#include <cstddef>
#include <cstdint>
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

// A node of the parsed query. Terms and phrases keep the text the user wrote
// (escapes removed), not yet analyzed: planning turns them into index terms.
struct QueryExpr {
  // kMatchAll: the empty query, or `*`. kPrefix: `word*`, every term that
  // starts with the word. kFuzzy: `word~N`, terms within N edits of it.
  enum class Kind { kMatchAll, kTerm, kPrefix, kFuzzy, kPhrase, kAnd, kOr };

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
  // Most terms and phrases in one query.
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

// A compact, unambiguous rendering for tests and debugging, e.g.
// `(OR title:a (AND +b -"c d"~2))`; match-all is `*:*`.
std::string DebugString(const QueryExpr& expr);

// The name the query language uses for `field` ("title", ...; "" for kAll).
absl::string_view FieldName(QueryField field);

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_QUERY_PARSER_H_
