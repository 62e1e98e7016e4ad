#ifndef SIFT_COMMON_ANALYSIS_TERM_MATCH_H_
#define SIFT_COMMON_ANALYSIS_TERM_MATCH_H_

// Which index terms a prefix clause (`comput*`) and a fuzzy clause
// (`wing~1`) match. The storage shard applies these to its term dictionary
// and the query coordinator to the tokens of the documents it highlights,
// so that what a snippet marks is exactly what matched.

#include <cstdint>

#include "absl/strings/string_view.h"

namespace sift::analysis {

// The edit distance between `a` and `b` in code points (insertions,
// deletions, substitutions and transpositions of adjacent characters, each
// 1), or max_edits + 1 when it is over `max_edits`. A byte that starts no
// valid UTF-8 sequence counts as one character. Pure function; thread-safe.
uint32_t BoundedEditDistance(absl::string_view a, absl::string_view b,
                             uint32_t max_edits);

// The bytes of the first character of UTF-8 `s` (its first byte when that
// is not a valid lead byte; empty for empty `s`). Every term a fuzzy clause
// matches starts with the first character of the clause's term, which lets
// the shard scan only that slice of its dictionary.
absl::string_view FirstCharacter(absl::string_view s);

// Whether the index term `term` matches the prefix clause `prefix*`:
// byte-wise prefix of the (case-folded, unstemmed) `prefix`.
bool PrefixMatches(absl::string_view prefix, absl::string_view term);

// Whether the index term `term` matches the fuzzy clause `fuzzy~max_edits`:
// it starts with the same character as `fuzzy` (a typo in the first letter
// is the rarest kind, and the rule keeps the dictionary scan short) and is
// within `max_edits` edits of it (BoundedEditDistance).
bool FuzzyMatches(absl::string_view fuzzy, uint32_t max_edits,
                  absl::string_view term);

}  // namespace sift::analysis

#endif  // SIFT_COMMON_ANALYSIS_TERM_MATCH_H_
