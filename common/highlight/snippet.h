#ifndef SIFT_SERVICES_QUERY_SNIPPET_H_
#define SIFT_SERVICES_QUERY_SNIPPET_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/analysis/analyzer.h"
#include "services/query/query_planner.h"
#include "sift/v1/query.pb.h"

namespace sift::query {

// How snippets are cut and marked; the defaults are those of a request
// without HighlightOptions on a server with the default --snippet_bytes.
struct SnippetOptions {
  // Target length of a fragment, in bytes of the original text (ellipses
  // not counted). A fragment may run a few bytes over to keep closing
  // punctuation, or further when a single match is longer than this.
  // MakeWholeSnippet ignores it.
  size_t fragment_bytes = 200;
  // Put around each span in `highlighted`, byte for byte: never escaped,
  // so a caller that escapes must pass markers it trusts.
  std::string pre_tag = "<em>";
  std::string post_tag = "</em>";
  // HTML-escape the text of `highlighted` (& < > " ' as &amp; &lt; &gt;
  // &quot; &#39;), matched parts included, markers excluded.
  bool html_escape = false;
};

// The best fragment of `text` for a query: the window of about
// options.fragment_bytes with the most distinct highlight entries (terms,
// phrases, prefixes, fuzzy words), then the most matches, the earliest on ties.
// `tokens` must be Analyzer::Analyze(text). The fragment starts and ends on
// token boundaries (keeping an opening quote before its first word and the
// punctuation after its last), never inside a UTF-8 character; "…" (U+2026)
// marks each end where it cuts the text. Spans are byte ranges of the returned
// `text`, ellipsis included; an exact phrase is one span from its first word's
// start to its last word's end, and overlapping matches merge into one span.
// Without any match the fragment is the start of the text, with no spans.
// A token matches when its term is one of highlights.terms, starts with one
// of highlights.prefixes, or is near one of highlights.fuzzy (by
// analysis::PrefixMatches and analysis::FuzzyMatches, as the shards match).
// `highlighted` is `text` with options.pre_tag and options.post_tag around
// the spans; with options.html_escape the text, inside the spans as well as
// outside, is escaped and the markers are not. Spans always refer to
// `text`, never to `highlighted`. Pure function; thread-safe.
v1::Snippet MakeFragmentSnippet(absl::string_view text,
                                const std::vector<analysis::Token>& tokens,
                                const Highlights& highlights,
                                const SnippetOptions& options);

// The whole of `text` (a title) with its matches marked as above.
v1::Snippet MakeWholeSnippet(absl::string_view text,
                             const std::vector<analysis::Token>& tokens,
                             const Highlights& highlights,
                             const SnippetOptions& options = {});

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_SNIPPET_H_
