#include "common/routing/shard_router.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sift {
namespace {

TEST(ShardRouterTest, HashIsStableAcrossBuilds) {
  // Pinned values: a change here moves documents to other shards than the
  // ones already holding them on disk.
  EXPECT_EQ(StableHash64(""), 0xefd01f60ba992926ull);
  EXPECT_EQ(StableHash64("doc-1"), 0x4874a7cf46898a5eull);
  EXPECT_EQ(ShardForId("doc-1", 3), 2u);
  EXPECT_EQ(ShardForId("1", 4), 2u);
}

TEST(ShardRouterTest, OneOrZeroShardsMeansShardZero) {
  EXPECT_EQ(ShardForId("doc-1", 1), 0u);
  EXPECT_EQ(ShardForId("anything", 0), 0u);
}

TEST(ShardRouterTest, SpreadsSequentialIdsEvenly) {
  constexpr uint32_t kShards = 4;
  std::vector<int> counts(kShards);
  for (int i = 0; i < 40000; ++i) {
    ++counts[ShardForId(std::to_string(i), kShards)];
  }
  for (int c : counts) {
    EXPECT_GT(c, 9000);
    EXPECT_LT(c, 11000);
  }
}

}  // namespace
}  // namespace sift
