#ifndef SIFT_SERVICES_QUERY_QUERY_PLANNER_H_
#define SIFT_SERVICES_QUERY_QUERY_PLANNER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/analysis/analyzer.h"
#include "common/highlight/highlights.h"
#include "services/query/query_parser.h"
#include "sift/v1/storage.pb.h"

namespace sift::query {

// What snippets mark, shared with the shards that make them.
using highlight::FuzzyHighlight;
using highlight::Highlights;

// A query ready to send to the storage shards.
struct QueryPlan {
  v1::QueryNode query;
  // True when every clause analyzed to nothing (say, a query of punctuation
  // only): the plan matches no document and need not be sent anywhere.
  bool matches_nothing = false;
  // Distinct (field, term) pairs whose document frequencies the shards need
  // for global scoring, in order of first appearance.
  std::vector<v1::TermRef> stats_terms;
  // What the snippets mark in titles and in bodies.
  Highlights title_highlights;
  Highlights body_highlights;
};

struct PlanOptions {
  // Leave English stop words (analysis::IsStopWord) out of groups that have
  // other clauses: plain words only, never quoted, `+required`, scoped to
  // source: or tag:, or inside phrases. See docs/query-language.md.
  bool drop_stop_words = true;
};

// Turns a parsed query into a plan, analyzing each clause's text with
// `analyzer` exactly as indexing analyzed the documents:
//   - a word that analyzes to several terms (`e-mail`, `U.S.`, a run of CJK
//     characters) becomes a phrase of them; one that analyzes to none (pure
//     punctuation) is dropped, and a group whose clauses all drop drops too;
//   - `source:` and `tag:` values are normalised with NormalizeKeyword and
//     match the whole value, quoted or not;
//   - a group with only excluded clauses means "every document except",
//     a match-all with those exclusions;
//   - kMatchAll (the empty query, `*`) plans to MatchAllQuery;
//   - plain stop words drop out of groups as PlanOptions says;
//   - kDateRange plans to DateRangeQuery over ToHalfOpen's [from, to), with
//     no statistics and no highlights (a range does not score);
//   - a prefix or fuzzy clause of the title or body is highlighted in the
//     fields it searches, as Highlights::prefixes or ::fuzzy; one of source:
//     or tag: is not (those fields have no snippets).
// INVALID_ARGUMENT only when the analyzer rejects the text. Thread-safe.
absl::StatusOr<QueryPlan> PlanQuery(const QueryExpr& expr,
                                    const analysis::Analyzer& analyzer,
                                    const PlanOptions& options = {});

// ParseQuery, then PlanQuery.
absl::StatusOr<QueryPlan> ParseAndPlan(absl::string_view query,
                                       const ParserOptions& options,
                                       const analysis::Analyzer& analyzer,
                                       const PlanOptions& plan_options = {});

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_QUERY_PLANNER_H_
