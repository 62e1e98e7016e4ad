#ifndef SIFT_COMMON_ANALYSIS_STOP_WORDS_H_
#define SIFT_COMMON_ANALYSIS_STOP_WORDS_H_

// English words that say nothing about what a query is looking for. Only
// queries drop them, and only where the query language allows it
// (docs/query-language.md): documents keep every word, so phrases such as
// "the who" still match exactly.
//
// The list is Lucene's English stop set (articles, conjunctions,
// prepositions, pronouns, forms of "to be") plus the interrogatives,
// auxiliaries and modal verbs of questions. A question typed as a query
// ("what is the effect of ... on ...") otherwise scores documents for
// containing "what", "does" or "must", which in a specialised collection are
// rare enough to get a high idf while carrying no topic.

#include "absl/strings/string_view.h"

namespace sift::analysis {

// Whether `word`, already case-folded (Analyzer::NormalizeKeyword), is a
// stop word.
bool IsStopWord(absl::string_view word);

}  // namespace sift::analysis

#endif  // SIFT_COMMON_ANALYSIS_STOP_WORDS_H_
