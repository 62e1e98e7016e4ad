#include "services/query/stats_cache.h"

#include "absl/strings/str_cat.h"

namespace sift::query {

std::string StatsCache::Key(const v1::TermRef& term) {
  // The field's number cannot hold the separator, so keys do not collide.
  return absl::StrCat(static_cast<int>(term.field()), ":", term.term());
}

std::optional<CopyStats> StatsCache::Find(absl::string_view copy,
                                          absl::Span<const v1::TermRef> terms,
                                          absl::Time now) const {
  ReaderMutexLock lock(&mu_);
  auto it = copies_.find(copy);
  if (it == copies_.end() || now < it->second.trusted_from) return std::nullopt;
  const Entry& entry = it->second;
  CopyStats stats;
  stats.version = entry.version;
  stats.doc_count = entry.doc_count;
  stats.total_title_terms = entry.total_title_terms;
  stats.total_body_terms = entry.total_body_terms;
  stats.doc_freqs.reserve(terms.size());
  for (const v1::TermRef& term : terms) {
    auto df = entry.doc_freqs.find(Key(term));
    if (df == entry.doc_freqs.end()) return std::nullopt;
    stats.doc_freqs.push_back(df->second);
  }
  return stats;
}

void StatsCache::Store(absl::string_view copy,
                       absl::Span<const v1::TermRef> terms,
                       const CopyStats& stats) {
  if (stats.version == 0 || stats.doc_freqs.size() != terms.size()) return;
  MutexLock lock(&mu_);
  Entry& entry = copies_[copy];
  if (entry.version != stats.version) {
    entry.version = stats.version;
    entry.doc_count = stats.doc_count;
    entry.total_title_terms = stats.total_title_terms;
    entry.total_body_terms = stats.total_body_terms;
    entry.doc_freqs.clear();
  }
  if (entry.doc_freqs.size() + terms.size() > options_.max_terms_per_copy) {
    entry.doc_freqs.clear();
  }
  for (size_t t = 0; t < terms.size(); ++t) {
    entry.doc_freqs[Key(terms[t])] = stats.doc_freqs[t];
  }
}

void StatsCache::MarkChanged(absl::string_view copy, absl::Time now) {
  MutexLock lock(&mu_);
  copies_[copy].trusted_from = now + options_.changed_backoff;
}

}  // namespace sift::query
