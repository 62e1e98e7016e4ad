#ifndef SIFT_COMMON_HIGHLIGHT_HIGHLIGHTS_H_
#define SIFT_COMMON_HIGHLIGHT_HIGHLIGHTS_H_

// What a snippet marks and how: made by the query planner from a query,
// sent to the shards (v1::HitViewRequest), which make the snippets of the
// hits they hold.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sift/v1/storage.pb.h"

namespace sift::highlight {

// A fuzzy clause as snippets mark it: every token whose term
// analysis::FuzzyMatches(term, max_edits, ...), as the shards match it.
struct FuzzyHighlight {
  std::string term;  // analyzed (folded and stemmed)
  uint32_t max_edits = 0;

  friend bool operator==(const FuzzyHighlight&,
                         const FuzzyHighlight&) = default;
};

// What to mark in one full-text field: single terms and phrases, both as
// analyzed terms (a phrase as its terms in order); prefixes, case-folded and
// not stemmed, that a token's term starts with (analysis::PrefixMatches);
// fuzzy terms. Each list holds distinct entries in order of first
// appearance. Excluded clauses are never here.
struct Highlights {
  std::vector<std::string> terms;
  std::vector<std::vector<std::string>> phrases;
  std::vector<std::string> prefixes;
  std::vector<FuzzyHighlight> fuzzy;

  bool empty() const {
    return terms.empty() && phrases.empty() && prefixes.empty() &&
           fuzzy.empty();
  }
  friend bool operator==(const Highlights&, const Highlights&) = default;
};

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

// Bounds a shard enforces on a HitViewRequest, and the query service on a
// client's HighlightOptions. Markers are for a word of markup such as
// <mark class="hit">, not for documents; a fragment must hold a few words,
// and past a few KiB it is no longer a snippet.
inline constexpr size_t kMinFragmentBytes = 16;
inline constexpr size_t kMaxFragmentBytes = 4096;
inline constexpr size_t kMaxTagBytes = 64;
// Entries (terms, phrases, prefixes, fuzzy terms) per field: a query's
// complexity limit keeps a real one far below.
inline constexpr size_t kMaxHighlightEntries = 4096;

v1::HighlightTerms ToProto(const Highlights& highlights);
// INVALID_ARGUMENT naming `path` when over kMaxHighlightEntries.
absl::StatusOr<Highlights> FromProto(const v1::HighlightTerms& proto,
                                     const std::string& path);

}  // namespace sift::highlight

#endif  // SIFT_COMMON_HIGHLIGHT_HIGHLIGHTS_H_
