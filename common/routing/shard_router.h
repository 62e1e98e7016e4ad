#ifndef SIFT_COMMON_ROUTING_SHARD_ROUTER_H_
#define SIFT_COMMON_ROUTING_SHARD_ROUTER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace sift {

// 64-bit FNV-1a of `bytes`. Stable across processes, builds and machines,
// unlike absl::Hash, because it decides where documents live on disk.
uint64_t StableHash64(absl::string_view bytes);

// The shard (0 .. num_shards-1) that owns the document with this id. Ingest
// and query must agree on it; changing it requires re-sharding.
uint32_t ShardForId(absl::string_view id, uint32_t num_shards);

// A shard of a cluster: its number and the cluster's shard count. Both
// travel with every request to a storage member (kShardMetadataKey), which
// refuses a request meant for another shard, or routed with another count,
// instead of storing documents where no search would look for them.
struct ShardRef {
  uint32_t shard = 0;
  uint32_t count = 1;
  friend bool operator==(const ShardRef&, const ShardRef&) = default;
};

// The gRPC metadata key of a request's ShardRef, as "shard/count".
inline constexpr char kShardMetadataKey[] = "sift-shard";

// "2/3"; and back, nullopt unless it is two numbers with shard < count.
std::string FormatShardRef(const ShardRef& ref);
std::optional<ShardRef> ParseShardRef(absl::string_view text);

// "shard 2 of 3", for messages.
std::string DescribeShardRef(const ShardRef& ref);

}  // namespace sift

#endif  // SIFT_COMMON_ROUTING_SHARD_ROUTER_H_
