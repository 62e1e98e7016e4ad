#include "services/ingest/shard_batches.h"

namespace sift::ingest {

std::vector<ShardBatch> PlanShardBatches(absl::Span<const uint32_t> shard_of,
                                         absl::Span<const size_t> item_bytes,
                                         uint32_t num_shards,
                                         size_t max_bytes) {
  std::vector<std::vector<size_t>> per_shard(num_shards);
  for (size_t i = 0; i < shard_of.size(); ++i) {
    if (shard_of[i] < num_shards) per_shard[shard_of[i]].push_back(i);
  }
  std::vector<ShardBatch> batches;
  for (uint32_t shard = 0; shard < num_shards; ++shard) {
    size_t bytes = 0;
    for (size_t item : per_shard[shard]) {
      const size_t size = item < item_bytes.size() ? item_bytes[item] : 0;
      if (batches.empty() || batches.back().shard != shard ||
          (!batches.back().items.empty() && bytes + size > max_bytes)) {
        batches.push_back(ShardBatch{shard, {}});
        bytes = 0;
      }
      batches.back().items.push_back(item);
      bytes += size;
    }
  }
  return batches;
}

}  // namespace sift::ingest
