#ifndef SIFT_SERVICES_STORAGE_MERGE_POLICY_H_
#define SIFT_SERVICES_STORAGE_MERGE_POLICY_H_

// Which segments to flush or merge next: pure functions of the segments'
// sizes, so that the policy is tested without an index.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "services/storage/index.h"

namespace sift::storage {

// What the policy knows of a segment.
struct SegmentStats {
  uint32_t id = 0;
  uint32_t doc_count = 0;
  uint32_t live_count = 0;
  bool in_memory = false;
  size_t memory_bytes = 0;  // memory segments only
};

// Whether the memory segments are due to be flushed: together they hold
// options.flush_documents documents or options.flush_bytes bytes, or there
// are options.max_memory_segments of them.
bool FlushDue(absl::Span<const SegmentStats> segments,
              const IndexOptions& options);

// The memory segments to flush into one segment next, in id order (the
// order their documents go into it): all of them when FlushDue, or when
// `all` and there is any; otherwise none.
std::vector<uint32_t> PickFlush(absl::Span<const SegmentStats> segments,
                                const IndexOptions& options, bool all);

// The flushed segments to merge into one next, in the order their
// documents go into it; empty when nothing is due. Tiered merging: tier
// floor(log_factor(live documents)); the first tier holding
// options.merge_factor segments merges its smallest merge_factor. A
// segment past options.max_merge_documents live documents joins no tier;
// it is rewritten alone, to drop deletions, once over a third of it is
// deleted. Memory segments are never picked: flushes take them.
std::vector<uint32_t> PickMerge(absl::Span<const SegmentStats> segments,
                                const IndexOptions& options);

// The next merge that settles an idle shard (IndexOptions::settle_after):
// searches cost a term lookup per segment, and a shard that bulk-loaded and
// then only answers searches should not pay for the layout its writes left.
//  1. Every memory segment, with the flushed segments smaller than their
//     documents together, into one.
//  2. Of the flushed segments that may still merge (live documents at most
//     options.max_merge_documents), largest first: the first segment that
//     the ones smaller than it together hold a quarter of, with all of
//     those, into one (when that stays under max_merge_documents).
// A bulk load's segments of similar sizes end as one. A trickle of small
// writes, settled each time, leaves a few segments of geometrically
// falling sizes, and a document is rewritten only when its segment grows
// by a quarter or more: a bounded number of times per doubling of the
// shard. In id order; empty when settled.
std::vector<uint32_t> PickSettle(absl::Span<const SegmentStats> segments,
                                 const IndexOptions& options);

// The next merge of a force-merge down to `max_segments` (at least 1):
// with more segments than that, every memory segment and the smallest
// flushed ones, enough to end at `max_segments`; otherwise one segment that
// is in memory or has deletions, rewritten alone, so that a force-merge
// leaves nothing deleted. In id order (older documents first); empty when
// done.
std::vector<uint32_t> PickForceMerge(absl::Span<const SegmentStats> segments,
                                     size_t max_segments);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_MERGE_POLICY_H_
