#include "common/highlight/highlights.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace sift::highlight {

v1::HighlightTerms ToProto(const Highlights& highlights) {
  v1::HighlightTerms proto;
  for (const std::string& term : highlights.terms) proto.add_terms(term);
  for (const std::vector<std::string>& phrase : highlights.phrases) {
    v1::HighlightTerms::Phrase* out = proto.add_phrases();
    for (const std::string& term : phrase) out->add_terms(term);
  }
  for (const std::string& prefix : highlights.prefixes) {
    proto.add_prefixes(prefix);
  }
  for (const FuzzyHighlight& fuzzy : highlights.fuzzy) {
    v1::HighlightTerms::Fuzzy* out = proto.add_fuzzy();
    out->set_term(fuzzy.term);
    out->set_max_edits(fuzzy.max_edits);
  }
  return proto;
}

absl::StatusOr<Highlights> FromProto(const v1::HighlightTerms& proto,
                                     const std::string& path) {
  const size_t entries = static_cast<size_t>(proto.terms_size()) +
                         proto.phrases_size() + proto.prefixes_size() +
                         proto.fuzzy_size();
  if (entries > kMaxHighlightEntries) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": at most ", kMaxHighlightEntries,
        " terms, phrases, prefixes and fuzzy terms, got ", entries));
  }
  Highlights highlights;
  highlights.terms.assign(proto.terms().begin(), proto.terms().end());
  for (const v1::HighlightTerms::Phrase& phrase : proto.phrases()) {
    highlights.phrases.emplace_back(phrase.terms().begin(),
                                    phrase.terms().end());
  }
  highlights.prefixes.assign(proto.prefixes().begin(), proto.prefixes().end());
  for (const v1::HighlightTerms::Fuzzy& fuzzy : proto.fuzzy()) {
    highlights.fuzzy.push_back({fuzzy.term(), fuzzy.max_edits()});
  }
  return highlights;
}

}  // namespace sift::highlight
