#include "common/routing/shard_router.h"

namespace sift {

uint64_t StableHash64(absl::string_view bytes) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // FNV's low bits mix poorly for short keys; finish with a murmur3 fmix so
  // that `mod n` spreads sequential ids evenly.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

uint32_t ShardForId(absl::string_view id, uint32_t num_shards) {
  if (num_shards <= 1) return 0;
  return static_cast<uint32_t>(StableHash64(id) % num_shards);
}

}  // namespace sift
