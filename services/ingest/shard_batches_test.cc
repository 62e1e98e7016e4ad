#include "services/ingest/shard_batches.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::ingest {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr size_t kUnlimited = 1 << 30;

TEST(ShardBatchesTest, GroupsByShardKeepingInputOrder) {
  const std::vector<uint32_t> shard_of = {2, 0, 2, 1, 0, 2};
  const std::vector<size_t> bytes(shard_of.size(), 10);
  EXPECT_THAT(PlanShardBatches(shard_of, bytes, 3, kUnlimited),
              ElementsAre(ShardBatch{0, {1, 4}}, ShardBatch{1, {3}},
                          ShardBatch{2, {0, 2, 5}}));
}

TEST(ShardBatchesTest, LeavesOutRejectedItemsAndIdleShards) {
  const std::vector<uint32_t> shard_of = {kNoShard, 3, kNoShard, 3};
  const std::vector<size_t> bytes(shard_of.size(), 10);
  EXPECT_THAT(PlanShardBatches(shard_of, bytes, 4, kUnlimited),
              ElementsAre(ShardBatch{3, {1, 3}}));
  EXPECT_THAT(PlanShardBatches({}, {}, 4, kUnlimited), IsEmpty());
  const std::vector<uint32_t> none = {kNoShard};
  EXPECT_THAT(PlanShardBatches(none, {10}, 4, kUnlimited), IsEmpty());
}

TEST(ShardBatchesTest, SplitsAShardsShareBySize) {
  const std::vector<uint32_t> shard_of = {0, 0, 0, 0, 0, 1};
  const std::vector<size_t> bytes = {40, 40, 40, 100, 10, 500};
  EXPECT_THAT(PlanShardBatches(shard_of, bytes, 2, 100),
              ElementsAre(ShardBatch{0, {0, 1}}, ShardBatch{0, {2}},
                          ShardBatch{0, {3}}, ShardBatch{0, {4}},
                          // Larger than the limit: alone, but sent.
                          ShardBatch{1, {5}}));
}

}  // namespace
}  // namespace sift::ingest
