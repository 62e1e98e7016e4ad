#ifndef SIFT_BENCH_QUERIES_H_
#define SIFT_BENCH_QUERIES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/analysis/analyzer.h"

namespace sift::bench {

// One line of a query file: `qid<TAB>text`.
struct BenchQuery {
  std::string qid;
  std::string text;

  friend bool operator==(const BenchQuery&, const BenchQuery&) = default;
};

// The query classes whose figures are reported apart, as the peers' harness
// runs them: word-only queries joined by OR, the same queries joined by AND
// (only those with two or more terms, for which AND differs from OR), and
// queries with a quoted phrase.
enum class QueryClass { kOr, kAnd, kPhrase };

inline constexpr QueryClass kAllQueryClasses[] = {
    QueryClass::kOr, QueryClass::kAnd, QueryClass::kPhrase};

// "or", "and", "phrase": the key of the class in reports and file names.
absl::string_view QueryClassName(QueryClass query_class);

// Reads a query file: one `qid<TAB>text` per line, UTF-8; "\r\n" line ends
// and blank lines are allowed. NOT_FOUND when the file cannot be opened;
// INVALID_ARGUMENT naming the line for a line without a tab, with an empty
// qid, or with a qid holding white space (it could not be written to a TREC
// run file).
absl::StatusOr<std::vector<BenchQuery>> ReadQueries(const std::string& path);

// Writes `queries` in the format ReadQueries reads. UNAVAILABLE when the
// file cannot be written.
absl::Status WriteQueries(const std::string& path,
                          const std::vector<BenchQuery>& queries);

// The queries of each class, in file order.
struct ClassifiedQueries {
  std::vector<BenchQuery> or_queries;
  std::vector<BenchQuery> and_queries;
  std::vector<BenchQuery> phrase_queries;

  const std::vector<BenchQuery>& of(QueryClass query_class) const;
};

// Sorts queries into classes: a query with a `"` is a phrase query (run with
// the OR default operator, the text as written); any other query is an OR
// query and, when `analyzer` turns it into two or more terms, an AND query
// too. A query the analyzer rejects is classed by its words, so that the
// error shows up when it runs. Thread-safe.
ClassifiedQueries ClassifyQueries(const std::vector<BenchQuery>& queries,
                                  const analysis::Analyzer& analyzer);

// Writes each class to DIR/or.tsv, DIR/and.tsv and DIR/phrase.tsv (made
// when missing), so that other engines can run exactly the same sets.
// UNAVAILABLE when a file cannot be written.
absl::Status WriteClassifiedQueries(const std::string& dir,
                                    const ClassifiedQueries& classes);

}  // namespace sift::bench

#endif  // SIFT_BENCH_QUERIES_H_
