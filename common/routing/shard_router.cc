#include "common/routing/shard_router.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

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

std::string FormatShardRef(const ShardRef& ref) {
  return absl::StrCat(ref.shard, "/", ref.count);
}

std::optional<ShardRef> ParseShardRef(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  ShardRef ref;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &ref.shard) ||
      !absl::SimpleAtoi(parts[1], &ref.count) || ref.count == 0 ||
      ref.shard >= ref.count) {
    return std::nullopt;
  }
  return ref;
}

std::string DescribeShardRef(const ShardRef& ref) {
  return absl::StrCat("shard ", ref.shard, " of ", ref.count);
}

}  // namespace sift
