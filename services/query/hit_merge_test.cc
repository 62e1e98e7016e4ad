#include "services/query/hit_merge.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::query {
namespace {

using ::testing::ElementsAre;

ShardHitRef Scored(uint32_t shard, const std::string& id, double score) {
  ShardHitRef ref;
  ref.shard = shard;
  ref.hit.set_id(id);
  ref.hit.set_score(score);
  return ref;
}

// A hit published at `seconds` (negative: no date).
ShardHitRef Dated(uint32_t shard, const std::string& id, int64_t seconds,
                  int32_t nanos = 0) {
  ShardHitRef ref;
  ref.shard = shard;
  ref.hit.set_id(id);
  ref.hit.set_score(1.0);
  if (seconds >= 0) {
    ref.hit.mutable_published_at()->set_seconds(seconds);
    ref.hit.mutable_published_at()->set_nanos(nanos);
  }
  return ref;
}

std::vector<std::string> Ids(const std::vector<ShardHitRef>& hits) {
  std::vector<std::string> ids;
  for (const ShardHitRef& ref : hits) ids.push_back(ref.hit.id());
  return ids;
}

TEST(HitMergeTest, RelevanceIsScoreDescendingThenIdAscending) {
  std::vector<ShardHitRef> hits = {Scored(0, "d", 2.0), Scored(0, "a", 1.0),
                                   Scored(1, "c", 2.0), Scored(1, "b", 3.0),
                                   Scored(2, "e", 1.0)};
  EXPECT_THAT(Ids(MergeShardHits(hits, v1::SORT_ORDER_RELEVANCE, 10)),
              ElementsAre("b", "c", "d", "a", "e"));
  // Unspecified means relevance.
  EXPECT_THAT(Ids(MergeShardHits(hits, v1::SORT_ORDER_UNSPECIFIED, 10)),
              ElementsAre("b", "c", "d", "a", "e"));
}

TEST(HitMergeTest, KeepsOnlyTheFirstLimitAndTheirShards) {
  std::vector<ShardHitRef> hits = {Scored(0, "x", 1.0), Scored(1, "y", 5.0),
                                   Scored(2, "z", 3.0)};
  std::vector<ShardHitRef> merged =
      MergeShardHits(hits, v1::SORT_ORDER_RELEVANCE, 2);
  EXPECT_THAT(Ids(merged), ElementsAre("y", "z"));
  EXPECT_EQ(merged[0].shard, 1u);
  EXPECT_EQ(merged[1].shard, 2u);
}

TEST(HitMergeTest, NewestFirstPutsUndatedLastAndBreaksTiesById) {
  std::vector<ShardHitRef> hits = {
      Dated(0, "old", 100),      Dated(1, "undated-b", -1),
      Dated(0, "new-b", 300),    Dated(1, "new-a", 300),
      Dated(2, "undated-a", -1), Dated(2, "newest", 300, 5)};
  EXPECT_THAT(
      Ids(MergeShardHits(hits, v1::SORT_ORDER_PUBLISHED_DESC, 10)),
      ElementsAre("newest", "new-a", "new-b", "old", "undated-a", "undated-b"));
}

TEST(HitMergeTest, OldestFirstAlsoPutsUndatedLast) {
  std::vector<ShardHitRef> hits = {Dated(0, "undated", -1),
                                   Dated(1, "new", 300), Dated(2, "epoch", 0),
                                   Dated(0, "old", 100)};
  EXPECT_THAT(Ids(MergeShardHits(hits, v1::SORT_ORDER_PUBLISHED_ASC, 10)),
              ElementsAre("epoch", "old", "new", "undated"));
}

TEST(HitMergeTest, DateOrdersIgnoreScores) {
  std::vector<ShardHitRef> hits = {Dated(0, "b", 50), Dated(1, "a", 50)};
  hits[0].hit.set_score(9.0);
  EXPECT_THAT(Ids(MergeShardHits(hits, v1::SORT_ORDER_PUBLISHED_DESC, 10)),
              ElementsAre("a", "b"));
}

TEST(HitMergeTest, MergingShardListsEqualsSortingTheWholeCollection) {
  // Split one ranked list across shards by id; merging the shards' top
  // lists must give back the head of the whole list.
  std::vector<ShardHitRef> all;
  for (int i = 0; i < 300; ++i) {
    all.push_back(Scored(0, "doc" + std::to_string(i), (i * 37) % 11));
  }
  std::vector<ShardHitRef> whole =
      MergeShardHits(all, v1::SORT_ORDER_RELEVANCE, 25);
  std::vector<ShardHitRef> per_shard[3];
  for (const ShardHitRef& ref : all) {
    ShardHitRef copy = ref;
    copy.shard =
        static_cast<uint32_t>(std::hash<std::string>()(ref.hit.id()) % 3);
    per_shard[copy.shard].push_back(copy);
  }
  std::vector<ShardHitRef> candidates;
  for (auto& shard : per_shard) {
    for (ShardHitRef& ref :
         MergeShardHits(shard, v1::SORT_ORDER_RELEVANCE, 25)) {
      candidates.push_back(ref);
    }
  }
  EXPECT_EQ(Ids(MergeShardHits(candidates, v1::SORT_ORDER_RELEVANCE, 25)),
            Ids(whole));
}

}  // namespace
}  // namespace sift::query
