#include "services/storage/merge_policy.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

SegmentStats Memory(uint32_t id, uint32_t docs, size_t bytes = 1000) {
  return {id, docs, docs, true, bytes};
}
SegmentStats Flushed(uint32_t id, uint32_t docs, uint32_t live) {
  return {id, docs, live, false, 0};
}

IndexOptions Options() {
  IndexOptions options;
  options.flush_documents = 100;
  options.flush_bytes = 1 << 20;
  options.max_memory_segments = 4;
  options.merge_factor = 3;
  options.max_merge_documents = 10000;
  return options;
}

TEST(MergePolicyTest, FlushesEveryMemorySegmentOnceOneThresholdIsReached) {
  const IndexOptions options = Options();
  // Below every threshold: nothing, unless everything is to be flushed.
  std::vector<SegmentStats> segments = {Memory(7, 40), Flushed(1, 500, 500),
                                        Memory(3, 50)};
  EXPECT_FALSE(FlushDue(segments, options));
  EXPECT_THAT(PickMerge(segments, options, false), IsEmpty());
  EXPECT_THAT(PickMerge(segments, options, true), ElementsAre(3, 7));
  // Documents, bytes or the number of segments: in id order.
  segments.push_back(Memory(5, 10));
  EXPECT_TRUE(FlushDue(segments, options));
  EXPECT_THAT(PickMerge(segments, options, false), ElementsAre(3, 5, 7));
  EXPECT_TRUE(FlushDue({Memory(1, 1, 2 << 20)}, options));
  EXPECT_TRUE(FlushDue({Memory(1, 1), Memory(2, 1), Memory(3, 1), Memory(4, 1)},
                       options));
  EXPECT_FALSE(FlushDue({Flushed(1, 1000, 1000)}, options));
}

TEST(MergePolicyTest, MergesTheSmallestOfATierOfSimilarSizes) {
  const IndexOptions options = Options();
  // Tier of 3 to 8 live documents (factor 3): 1, 2, 4; 9 is a tier up.
  const std::vector<SegmentStats> segments = {
      Flushed(1, 8, 8), Flushed(2, 5, 4), Flushed(3, 9, 9), Flushed(4, 3, 3),
      Flushed(5, 20, 20)};
  EXPECT_THAT(PickMerge(segments, options, false), ElementsAre(4, 2, 1));
  // Only two of a tier: nothing.
  EXPECT_THAT(PickMerge({Flushed(1, 8, 8), Flushed(2, 5, 4), Flushed(3, 9, 9)},
                        options, false),
              IsEmpty());
  // Flushing comes first; with flush_all, nothing but the flush.
  std::vector<SegmentStats> with_memory = segments;
  with_memory.push_back(Memory(9, 1));
  EXPECT_THAT(PickMerge(with_memory, options, true), ElementsAre(9));
}

TEST(MergePolicyTest, BigSegmentsAreOnlyRewrittenToDropDeletions) {
  const IndexOptions options = Options();
  // Past max_merge_documents: joins no tier.
  EXPECT_THAT(PickMerge({Flushed(1, 20000, 19000), Flushed(2, 20000, 18000),
                         Flushed(3, 20000, 20000)},
                        options, false),
              IsEmpty());
  // Over a third deleted: rewritten alone.
  EXPECT_THAT(PickMerge({Flushed(1, 20000, 19000), Flushed(2, 30000, 19999)},
                        options, false),
              ElementsAre(2));
}

TEST(MergePolicyTest, ForceMergeEndsAtTheTargetWithNothingDeleted) {
  // Five segments down to two: every memory segment and the smallest
  // flushed ones, four in all, in id order.
  const std::vector<SegmentStats> segments = {
      Flushed(1, 100, 100), Flushed(2, 10, 10), Memory(6, 5),
      Flushed(3, 50, 40), Flushed(4, 7, 7)};
  EXPECT_THAT(PickForceMerge(segments, 2), ElementsAre(2, 3, 4, 6));
  // Few enough segments: one with deletions, or in memory, at a time.
  EXPECT_THAT(PickForceMerge({Flushed(1, 100, 100), Flushed(3, 50, 40)}, 2),
              ElementsAre(3));
  EXPECT_THAT(PickForceMerge({Flushed(1, 100, 100), Memory(3, 5)}, 5),
              ElementsAre(3));
  EXPECT_THAT(PickForceMerge({Flushed(1, 100, 100), Flushed(2, 5, 5)}, 2),
              IsEmpty());
  // 0 means 1.
  EXPECT_THAT(PickForceMerge({Flushed(1, 100, 100), Flushed(2, 5, 5)}, 0),
              ElementsAre(1, 2));
}

}  // namespace
}  // namespace sift::storage
