#ifndef SIFT_SERVICES_QUERY_SNIPPET_H_
#define SIFT_SERVICES_QUERY_SNIPPET_H_

#include <cstddef>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/analysis/analyzer.h"
#include "services/query/query_planner.h"
#include "sift/v1/query.pb.h"

namespace sift::query {

struct SnippetOptions {
  // Target length of a fragment, in bytes of the original text (ellipses
  // not counted). A fragment may run a few bytes over to keep closing
  // punctuation, or further when a single match is longer than this.
  size_t fragment_bytes = 200;
};

// The best fragment of `text` for a query: the window of about
// options.fragment_bytes with the most distinct query terms and phrases,
// then the most matches, the earliest on ties. `tokens` must be
// Analyzer::Analyze(text). The fragment starts and ends on token boundaries
// (keeping an opening quote before its first word and the punctuation after
// its last), never inside a UTF-8 character; "…" (U+2026) marks each end
// where it cuts the text. Spans are byte ranges of the returned `text`,
// ellipsis included; an exact phrase is one span from its first word's start
// to its last word's end, and overlapping matches merge into one span.
// Without any match the fragment is the start of the text, with no spans.
// `highlighted` is `text` with <em> and </em> around the spans; nothing
// else in it is escaped. Pure function; thread-safe.
v1::Snippet MakeFragmentSnippet(absl::string_view text,
                                const std::vector<analysis::Token>& tokens,
                                const Highlights& highlights,
                                const SnippetOptions& options);

// The whole of `text` (a title) with its matches marked as above.
v1::Snippet MakeWholeSnippet(absl::string_view text,
                             const std::vector<analysis::Token>& tokens,
                             const Highlights& highlights);

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_SNIPPET_H_
