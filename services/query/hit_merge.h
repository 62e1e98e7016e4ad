#ifndef SIFT_SERVICES_QUERY_HIT_MERGE_H_
#define SIFT_SERVICES_QUERY_HIT_MERGE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sift/v1/storage.pb.h"

namespace sift::query {

// A hit as a shard returned it, with the number of that shard.
struct ShardHitRef {
  uint32_t shard = 0;
  v1::ShardHit hit;
};

// The order every shard uses, so that merging their lists is exact:
// relevance (and SORT_ORDER_UNSPECIFIED) by score descending; the date
// orders by published_at, documents without a date last; ties by id
// ascending. A strict weak order.
bool HitBefore(const v1::ShardHit& a, const v1::ShardHit& b,
               v1::SortOrder sort);

// The first `limit` of `hits` (the concatenated answers of the shards) in
// `sort` order. Pure function.
std::vector<ShardHitRef> MergeShardHits(std::vector<ShardHitRef> hits,
                                        v1::SortOrder sort, size_t limit);

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_HIT_MERGE_H_
