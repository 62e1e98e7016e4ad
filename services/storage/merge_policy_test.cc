#include "services/storage/merge_policy.h"

#include <algorithm>
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
  EXPECT_THAT(PickFlush(segments, options, false), IsEmpty());
  EXPECT_THAT(PickFlush(segments, options, true), ElementsAre(3, 7));
  // Documents, bytes or the number of segments: in id order.
  segments.push_back(Memory(5, 10));
  EXPECT_TRUE(FlushDue(segments, options));
  EXPECT_THAT(PickFlush(segments, options, false), ElementsAre(3, 5, 7));
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
  EXPECT_THAT(PickMerge(segments, options), ElementsAre(4, 2, 1));
  // Only two of a tier: nothing.
  EXPECT_THAT(PickMerge({Flushed(1, 8, 8), Flushed(2, 5, 4), Flushed(3, 9, 9)},
                        options),
              IsEmpty());
  // Memory segments are the flushes', even when due: a merge never waits
  // for them, nor they for a merge.
  std::vector<SegmentStats> with_memory = segments;
  for (uint32_t id = 9; id < 13; ++id) with_memory.push_back(Memory(id, 1));
  ASSERT_TRUE(FlushDue(with_memory, options));
  EXPECT_THAT(PickMerge(with_memory, options), ElementsAre(4, 2, 1));
  EXPECT_THAT(PickFlush(with_memory, options, false),
              ElementsAre(9, 10, 11, 12));
}

TEST(MergePolicyTest, BigSegmentsAreOnlyRewrittenToDropDeletions) {
  const IndexOptions options = Options();
  // Past max_merge_documents: joins no tier.
  EXPECT_THAT(PickMerge({Flushed(1, 20000, 19000), Flushed(2, 20000, 18000),
                         Flushed(3, 20000, 20000)},
                        options),
              IsEmpty());
  // Over a third deleted: rewritten alone.
  EXPECT_THAT(
      PickMerge({Flushed(1, 20000, 19000), Flushed(2, 30000, 19999)}, options),
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

TEST(MergePolicyTest, SettlingFlushesMemoryWithTheSmallerFlushedSegments) {
  const IndexOptions options = Options();
  // 60 documents in memory: the flushed segments smaller than that join.
  EXPECT_THAT(PickSettle({Flushed(1, 5000, 5000), Memory(9, 40), Memory(8, 20),
                          Flushed(2, 50, 50), Flushed(3, 70, 70)},
                         options),
              ElementsAre(2, 8, 9));
}

TEST(MergePolicyTest, SettlingMergesASegmentWithTheSmallerOnceTheyAreAQuarter) {
  const IndexOptions options = Options();
  // A bulk load's segments of similar sizes: all into one.
  EXPECT_THAT(PickSettle({Flushed(1, 3000, 3000), Flushed(2, 3000, 3000),
                          Flushed(3, 2500, 2500), Flushed(4, 800, 800)},
                         options),
              ElementsAre(1, 2, 3, 4));
  // The rest is 300 of 4000: too little to rewrite the 4000; among the rest,
  // 200 and 100 are a quarter of 150 or more.
  EXPECT_THAT(PickSettle({Flushed(1, 4000, 4000), Flushed(2, 150, 150),
                          Flushed(3, 100, 100), Flushed(4, 50, 50)},
                         options),
              ElementsAre(2, 3, 4));
  // Sizes that fall fast enough: settled.
  EXPECT_THAT(PickSettle({Flushed(1, 4000, 4000), Flushed(5, 800, 800),
                          Flushed(6, 100, 100)},
                         options),
              IsEmpty());
  // A quarter: everything merges into one.
  EXPECT_THAT(
      PickSettle({Flushed(1, 4000, 4000), Flushed(5, 1000, 1000)}, options),
      ElementsAre(1, 5));
  // Deleted documents do not count: 2000 live of 8000.
  EXPECT_THAT(
      PickSettle({Flushed(1, 8000, 2000), Flushed(5, 500, 500)}, options),
      ElementsAre(1, 5));
  // A single segment is settled.
  EXPECT_THAT(PickSettle({Flushed(1, 4000, 4000)}, options), IsEmpty());
}

TEST(MergePolicyTest, SettlingKeepsSegmentsUnderTheMergeLimit) {
  const IndexOptions options = Options();  // max_merge_documents 10000
  // Past the limit: left alone.
  EXPECT_THAT(
      PickSettle({Flushed(1, 20000, 20000), Flushed(2, 9000, 9000)}, options),
      IsEmpty());
  // 9000 + 4000 + 3000 is over the limit: the two smaller merge.
  EXPECT_THAT(PickSettle({Flushed(1, 9000, 9000), Flushed(2, 4000, 4000),
                          Flushed(3, 3000, 3000)},
                         options),
              ElementsAre(2, 3));
  // Then the two left cannot merge under the limit: settled.
  EXPECT_THAT(
      PickSettle({Flushed(1, 9000, 9000), Flushed(4, 7000, 7000)}, options),
      IsEmpty());
}

TEST(MergePolicyTest, RepeatedSettlingRewritesADocumentABoundedNumberOfTimes) {
  IndexOptions options = Options();
  options.max_merge_documents = 1 << 30;
  // A trickle: 10 documents per quiet period, settled each time.
  std::vector<SegmentStats> segments = {Flushed(1, 1000, 1000)};
  uint32_t next = 2;
  uint64_t written = 0, added = 1000;
  for (int period = 0; period < 2000; ++period) {
    segments.push_back(Memory(next++, 10));
    added += 10;
    while (true) {
      const std::vector<uint32_t> ids = PickSettle(segments, options);
      if (ids.empty()) break;
      uint32_t docs = 0;
      std::vector<SegmentStats> rest;
      for (const SegmentStats& s : segments) {
        if (std::find(ids.begin(), ids.end(), s.id) != ids.end()) {
          docs += s.live_count;
        } else {
          rest.push_back(s);
        }
      }
      written += docs;
      rest.push_back(Flushed(next++, docs, docs));
      segments = rest;
    }
    ASSERT_LE(segments.size(), 6u) << period;
  }
  // About three rewrites per document per doubling of the shard (a
  // trickle from 1,000 to 21,000 documents), not one per period.
  EXPECT_LT(written, 16 * added);
}

}  // namespace
}  // namespace sift::storage
