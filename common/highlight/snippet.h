#ifndef SIFT_COMMON_HIGHLIGHT_SNIPPET_H_
#define SIFT_COMMON_HIGHLIGHT_SNIPPET_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/analysis/analyzer.h"
#include "common/highlight/highlights.h"
#include "sift/v1/storage.pb.h"

namespace sift::highlight {

// The best fragment of `text` for a query: the window of about
// options.fragment_bytes with the most distinct highlight entries (terms,
// phrases, prefixes, fuzzy words), then the most matches, the earliest on ties.
// `tokens` must be Analyzer::Analyze(text), or AnalyzeStartingWith(text,
// ...) with the first bytes of every entry of `highlights`. The fragment starts
// and ends on token boundaries (keeping an opening quote before its first word
// and the punctuation after its last), never inside a UTF-8 character; "…"
// (U+2026) marks each end where it cuts the text. Spans are byte ranges of the
// returned `text`, ellipsis included; an exact phrase is one span from its
// first word's start to its last word's end, and overlapping matches merge into
// one span. Without any match the fragment is the start of the text, with no
// spans. A token matches when its term is one of highlights.terms, starts with
// one of highlights.prefixes, or is near one of highlights.fuzzy (by
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

}  // namespace sift::highlight

#endif  // SIFT_COMMON_HIGHLIGHT_SNIPPET_H_
