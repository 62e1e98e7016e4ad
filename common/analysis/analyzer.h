#ifndef SIFT_COMMON_ANALYSIS_ANALYZER_H_
#define SIFT_COMMON_ANALYSIS_ANALYZER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sift::analysis {

// One indexed term of a text.
struct Token {
  // Normalised (NFKC case-folded) and stemmed form, as stored in the index.
  std::string term;
  // Ordinal of the token in the text: 0, 1, 2, ... Phrases compare these.
  uint32_t position = 0;
  // Byte range [start, end) of the original word in the input, for
  // highlighting.
  uint32_t start = 0;
  uint32_t end = 0;
};

// Turns text into index terms: ICU word segmentation (dictionary-based for
// Chinese and Japanese), NFKC case folding, English Snowball stemming.
// Punctuation and whitespace produce no tokens. The same analyzer runs at
// index and at query time, so a query term matches what indexing stored.
//
// Thread-safe: a single instance may be shared by any number of threads
// (ICU and stemmer state is kept per thread).
class Analyzer {
 public:
  Analyzer() = default;

  // Tokens of `text` in order. INVALID_ARGUMENT when `text` is not valid
  // UTF-8 (the message gives the byte offset). Empty text gives no tokens.
  absl::StatusOr<std::vector<Token>> Analyze(absl::string_view text) const;

  // Only the terms of Analyze(text), in order (position = index).
  absl::StatusOr<std::vector<std::string>> Terms(absl::string_view text) const;

  // The form under which a keyword value (source, tag) is indexed and
  // matched: NFKC case-folded, surrounding whitespace trimmed, inner runs of
  // whitespace collapsed to one space; not segmented, not stemmed.
  // INVALID_ARGUMENT for invalid UTF-8.
  absl::StatusOr<std::string> NormalizeKeyword(absl::string_view value) const;
};

}  // namespace sift::analysis

#endif  // SIFT_COMMON_ANALYSIS_ANALYZER_H_
