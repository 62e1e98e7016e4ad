#include "services/query/stats_cache.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sift::query {

StatsCache::StatsCache(absl::Duration max_age, size_t max_terms)
    : max_age_(max_age), max_terms_(max_terms) {}

std::string StatsCache::Key(const v1::TermRef& term) {
  return absl::StrCat(static_cast<int>(term.field()), ":", term.term());
}

bool StatsCache::Lookup(size_t shard_count, absl::Time now,
                        v1::GlobalStats* stats) {
  if (!enabled()) return false;
  const absl::Time oldest = now - max_age_;
  std::vector<uint64_t> doc_freqs;
  doc_freqs.reserve(stats->terms_size());
  {
    ReaderMutexLock lock(&mu_);
    if (shard_count != shard_count_ || totals_at_ <= oldest) return false;
    for (const v1::TermRef& term : stats->terms()) {
      auto it = terms_.find(Key(term));
      if (it == terms_.end() || it->second.at <= oldest) return false;
      doc_freqs.push_back(it->second.doc_freq);
    }
    stats->set_doc_count(doc_count_);
    stats->set_total_title_terms(total_title_terms_);
    stats->set_total_body_terms(total_body_terms_);
  }
  stats->clear_doc_freqs();
  for (uint64_t doc_freq : doc_freqs) stats->add_doc_freqs(doc_freq);
  return true;
}

void StatsCache::Store(size_t shard_count, absl::Time now,
                       const v1::GlobalStats& stats) {
  if (!enabled() || stats.doc_freqs_size() != stats.terms_size()) return;
  MutexLock lock(&mu_);
  if (shard_count != shard_count_ ||
      terms_.size() + stats.terms_size() > max_terms_) {
    // Counts of another layout mean nothing now; a full cache starts over
    // rather than track which terms are oldest.
    terms_.clear();
    shard_count_ = shard_count;
    totals_at_ = absl::InfinitePast();
  }
  // A round that finished later than one already kept may have started
  // earlier: the newest stamp wins either way, which only matters within
  // one round's duration.
  if (now >= totals_at_) {
    totals_at_ = now;
    doc_count_ = stats.doc_count();
    total_title_terms_ = stats.total_title_terms();
    total_body_terms_ = stats.total_body_terms();
  }
  for (int t = 0; t < stats.terms_size(); ++t) {
    Entry& entry = terms_[Key(stats.terms(t))];
    if (now >= entry.at) entry = {stats.doc_freqs(t), now};
  }
}

}  // namespace sift::query
