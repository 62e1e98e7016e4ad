#ifndef SIFT_COMMON_ANALYSIS_ANALYZER_H_
#define SIFT_COMMON_ANALYSIS_ANALYZER_H_

#include <cstddef>
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

  friend bool operator==(const Token&, const Token&) = default;
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
  // Words longer than this many bytes after case folding are dropped: in
  // practice they are base64, hashes or URLs run together, never something a
  // person searches for, and they bloat the term dictionary. Dropped words
  // take no position.
  static constexpr size_t kMaxTermBytes = 64;
  // Largest text Analyze accepts; token offsets are 32-bit and ICU indexes
  // text with int32_t.
  static constexpr size_t kMaxTextBytes = 0x7fffffff;

  Analyzer() = default;

  // Tokens of `text` in order. INVALID_ARGUMENT when `text` is not valid
  // UTF-8 (the message gives the byte offset) or is longer than
  // kMaxTextBytes. Empty text gives no tokens. INTERNAL only when the ICU
  // data or the stemmer cannot be loaded (a broken installation),
  // RESOURCE_EXHAUSTED when the stemmer runs out of memory.
  //
  // A token is an ICU word whose rule status is letter, number, kana or
  // ideograph; its term is the word NFKC case-folded, with U+2018, U+2019
  // and U+02BC turned into ASCII apostrophes, then stemmed by the English
  // Snowball stemmer when it is made only of Latin letters (and
  // apostrophes). Numbers, CJK and other scripts are folded but not stemmed.
  absl::StatusOr<std::vector<Token>> Analyze(absl::string_view text) const;

  // As Analyze, but an ASCII word whose case-folded form starts with none of
  // `first_bytes` is neither stemmed nor stored: its token keeps its
  // position and offsets, with an empty term. Stemming keeps a word's first
  // letter, so a caller that looks only for terms starting with those bytes
  // (snippets, whose terms, prefixes and fuzzy terms all fix the first
  // character) finds the same tokens for a fraction of the work.
  absl::StatusOr<std::vector<Token>> AnalyzeStartingWith(
      absl::string_view text, absl::string_view first_bytes) const;

  // Only the terms of Analyze(text), in order (position = index).
  absl::StatusOr<std::vector<std::string>> Terms(absl::string_view text) const;

  // The form under which a keyword value (source, tag) is indexed and
  // matched: NFKC case-folded, surrounding whitespace trimmed, inner runs of
  // whitespace collapsed to one space; not segmented, not stemmed.
  // INVALID_ARGUMENT for invalid UTF-8.
  absl::StatusOr<std::string> NormalizeKeyword(absl::string_view value) const;

 private:
  // Analyze, skipping ASCII words as AnalyzeStartingWith when `filter`.
  absl::StatusOr<std::vector<Token>> AnalyzeImpl(
      absl::string_view text, bool filter, absl::string_view first_bytes) const;
};

}  // namespace sift::analysis

#endif  // SIFT_COMMON_ANALYSIS_ANALYZER_H_
