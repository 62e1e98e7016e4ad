#include "common/analysis/stop_words.h"

#include <string>

#include "absl/container/flat_hash_set.h"

namespace sift::analysis {

bool IsStopWord(absl::string_view word) {
  static const auto* const kWords = new absl::flat_hash_set<std::string>{
      // Lucene's English stop set.
      "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in",
      "into", "is", "it", "no", "not", "of", "on", "or", "such", "that", "the",
      "their", "then", "there", "these", "they", "this", "to", "was", "will",
      "with",
      // Interrogatives.
      "what", "which", "who", "whom", "how", "why", "when", "where",
      // Auxiliaries and modal verbs.
      "can", "could", "must", "should", "would", "may", "might", "do", "does",
      "did", "have", "has", "had", "been", "being",
      // Indefinite determiners.
      "any", "some"};
  return kWords->contains(word);
}

}  // namespace sift::analysis
