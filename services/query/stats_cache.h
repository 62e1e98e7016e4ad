#ifndef SIFT_SERVICES_QUERY_STATS_CACHE_H_
#define SIFT_SERVICES_QUERY_STATS_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "common/sync/mutex.h"
#include "sift/v1/storage.pb.h"

namespace sift::query {

// The global statistics (document frequencies and collection totals) that
// statistics rounds over several shards gathered lately, so that a search
// whose every term was counted less than `max_age` ago skips its own round
// and goes straight to the shards' search: one fan-out instead of two.
//
// The price is that scores follow counts up to `max_age` old: a document
// written since weighs in its terms' idf only once they are counted again.
// Every shard of one search still scores with the same numbers, so a
// document scores the same however the collection is sharded, and later
// pages keep the first page's statistics (page tokens) as before.
// Different coordinators may hold different counts for the same moment.
// docs/search-api.md states this for users.
//
// Thread-safe.
class StatsCache {
 public:
  // `max_age` 0 turns the cache off; `max_terms` bounds its memory (when
  // full, it starts over empty).
  StatsCache(absl::Duration max_age, size_t max_terms);

  bool enabled() const { return max_age_ > absl::ZeroDuration(); }

  // Fills `stats` (whose `terms` are set; doc_freqs aligned with them) and
  // returns true when the collection totals and every term were counted
  // for `shard_count` shards after now - max_age. Leaves `stats` alone and
  // returns false otherwise.
  bool Lookup(size_t shard_count, absl::Time now, v1::GlobalStats* stats);

  // Records the statistics of a round that every one of `shard_count`
  // shards answered, gathered at `now` (partial counts are never kept).
  void Store(size_t shard_count, absl::Time now, const v1::GlobalStats& stats);

 private:
  struct Entry {
    uint64_t doc_freq = 0;
    absl::Time at;
  };
  static std::string Key(const v1::TermRef& term);

  const absl::Duration max_age_;
  const size_t max_terms_;
  Mutex mu_;
  size_t shard_count_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time totals_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t doc_count_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t total_title_terms_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t total_body_terms_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, Entry> terms_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_STATS_CACHE_H_
