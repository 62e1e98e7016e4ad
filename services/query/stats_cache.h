#ifndef SIFT_SERVICES_QUERY_STATS_CACHE_H_
#define SIFT_SERVICES_QUERY_STATS_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/sync/mutex.h"
#include "sift/v1/storage.pb.h"

namespace sift::query {

// One shard copy's statistics for some terms, in one state of that copy.
struct CopyStats {
  // StatsResponse.stats_version: the copy's state they were counted in.
  uint64_t version = 0;
  uint64_t doc_count = 0;
  uint64_t total_title_terms = 0;
  uint64_t total_body_terms = 0;
  // Aligned with the terms asked for.
  std::vector<uint64_t> doc_freqs;
};

// The statistics shard copies answered, kept by copy and state, so that a
// search over several shards whose terms were seen before skips the
// statistics round: it sends each shard the version its share came from,
// and a shard whose state has changed since refuses to search and answers
// its new statistics instead (ShardSearchRequest.stats_version). Scores are
// then exactly those of a statistics round, and a stable collection costs
// one round per search instead of two.
//
// A copy that changed is not trusted for `changed_backoff` after: while
// documents keep coming, its statistics change faster than searches could
// use them, and each refusal would cost a round. Thread-safe.
class StatsCache {
 public:
  struct Options {
    // Terms kept per copy; past it the copy's terms are dropped and kept
    // again as searches ask for them.
    size_t max_terms_per_copy = size_t{1} << 16;
    absl::Duration changed_backoff = absl::Seconds(1);
  };
  StatsCache() : StatsCache(Options()) {}
  explicit StatsCache(Options options) : options_(options) {}

  // The statistics of `copy` (its address) for every one of `terms`, in
  // their order, as of its last known state; none when it has no known
  // state, lacks one of the terms, or changed less than changed_backoff
  // before `now`.
  std::optional<CopyStats> Find(absl::string_view copy,
                                absl::Span<const v1::TermRef> terms,
                                absl::Time now) const;

  // Keeps `stats` of `copy` for `terms` (aligned with stats.doc_freqs). A
  // version other than the one kept replaces everything kept of the copy;
  // version 0 (a shard that predates versions) keeps nothing.
  void Store(absl::string_view copy, absl::Span<const v1::TermRef> terms,
             const CopyStats& stats);

  // `copy` refused a search because its state had changed, at `now`.
  void MarkChanged(absl::string_view copy, absl::Time now);

 private:
  struct Entry {
    uint64_t version = 0;
    uint64_t doc_count = 0;
    uint64_t total_title_terms = 0;
    uint64_t total_body_terms = 0;
    absl::flat_hash_map<std::string, uint64_t> doc_freqs;
    absl::Time trusted_from = absl::InfinitePast();
  };
  static std::string Key(const v1::TermRef& term);

  const Options options_;
  mutable Mutex mu_;
  absl::flat_hash_map<std::string, Entry> copies_ ABSL_GUARDED_BY(mu_);
};

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_STATS_CACHE_H_
