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

TEST(ShardRefTest, FormatsAndParsesShardAndCount) {
  EXPECT_EQ(FormatShardRef({2, 3}), "2/3");
  EXPECT_EQ(ParseShardRef("2/3"), (ShardRef{2, 3}));
  EXPECT_EQ(ParseShardRef("0/1"), (ShardRef{0, 1}));
  EXPECT_EQ(DescribeShardRef({2, 3}), "shard 2 of 3");
}

TEST(ShardRefTest, RefusesWhatIsNotAShardOfACluster) {
  EXPECT_EQ(ParseShardRef(""), std::nullopt);
  EXPECT_EQ(ParseShardRef("3/3"), std::nullopt);
  EXPECT_EQ(ParseShardRef("0/0"), std::nullopt);
  EXPECT_EQ(ParseShardRef("1"), std::nullopt);
  EXPECT_EQ(ParseShardRef("1/2/3"), std::nullopt);
  EXPECT_EQ(ParseShardRef("-1/2"), std::nullopt);
  EXPECT_EQ(ParseShardRef("a/2"), std::nullopt);
}

}  // namespace
}  // namespace sift
