#ifndef SIFT_COMMON_ANALYSIS_WORD_SPANS_H_
#define SIFT_COMMON_ANALYSIS_WORD_SPANS_H_

// Word segmentation, the first step of Analyzer::Analyze. Two
// implementations give the same words: ICU's root word break iterator for
// any text, and a scanner for pure-ASCII text that applies the same Unicode
// word-boundary rules (UAX #29) several times faster. The analyzer picks
// the scanner when it can; tests compare the two.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sift::analysis {

// The bytes [start, end) of one word in the text.
struct WordSpan {
  uint32_t start = 0;
  uint32_t end = 0;

  friend bool operator==(const WordSpan&, const WordSpan&) = default;
};

// Appends the words of valid UTF-8 `text` to `out`: the segments of ICU's
// root word break iterator whose rule status is letter, number, kana or
// ideograph. INTERNAL when the ICU data cannot be loaded.
absl::Status IcuWordSpans(absl::string_view text, std::vector<WordSpan>* out);

// When `text` is all ASCII, appends exactly what IcuWordSpans would and
// returns true; otherwise returns false and leaves `out` alone.
bool AsciiWordSpans(absl::string_view text, std::vector<WordSpan>* out);

}  // namespace sift::analysis

#endif  // SIFT_COMMON_ANALYSIS_WORD_SPANS_H_
