#ifndef SIFT_COMMON_ROUTING_SHARD_ROUTER_H_
#define SIFT_COMMON_ROUTING_SHARD_ROUTER_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace sift {

// 64-bit FNV-1a of `bytes`. Stable across processes, builds and machines,
// unlike absl::Hash, because it decides where documents live on disk.
uint64_t StableHash64(absl::string_view bytes);

// The shard (0 .. num_shards-1) that owns the document with this id. Ingest
// and query must agree on it; changing it requires re-sharding.
uint32_t ShardForId(absl::string_view id, uint32_t num_shards);

}  // namespace sift

#endif  // SIFT_COMMON_ROUTING_SHARD_ROUTER_H_
