#ifndef SIFT_SERVICES_INGEST_SHARD_BATCHES_H_
#define SIFT_SERVICES_INGEST_SHARD_BATCHES_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/types/span.h"

namespace sift::ingest {

// Marks an item that goes to no shard (a rejected document).
inline constexpr uint32_t kNoShard = std::numeric_limits<uint32_t>::max();

// Items (indices into the caller's list) for one write request to `shard`.
struct ShardBatch {
  uint32_t shard = 0;
  std::vector<size_t> items;

  friend bool operator==(const ShardBatch&, const ShardBatch&) = default;
};

// Groups items by shard: item i goes to shard_of[i] (kNoShard: nowhere) and
// weighs item_bytes[i]. Batches come in shard order and keep the input order
// of their items, so that two versions of one id are applied in the order
// the client sent them. A shard's items are split into several batches
// where the next item would take a batch past `max_bytes`; an item larger
// than that gets a batch of its own. Pure function.
std::vector<ShardBatch> PlanShardBatches(absl::Span<const uint32_t> shard_of,
                                         absl::Span<const size_t> item_bytes,
                                         uint32_t num_shards, size_t max_bytes);

}  // namespace sift::ingest

#endif  // SIFT_SERVICES_INGEST_SHARD_BATCHES_H_
