#include "services/storage/segment/iterators.h"

#include "gtest/gtest.h"

namespace sift::storage::segment {
namespace {

TEST(CountPhraseOccurrencesTest, ExactPhraseNeedsConsecutivePositions) {
  // "a b x a b": "a b" twice.
  EXPECT_EQ(CountPhraseOccurrences({{0, 3}, {1, 4}}, 0), 2u);
  // "a x b": not an exact phrase.
  EXPECT_EQ(CountPhraseOccurrences({{0}, {2}}, 0), 0u);
  // "b a": wrong order.
  EXPECT_EQ(CountPhraseOccurrences({{1}, {0}}, 0), 0u);
}

TEST(CountPhraseOccurrencesTest, SlopCountsWordsBetweenTerms) {
  // "a x y b c": a..b has two words between, b c adjacent.
  const std::vector<std::vector<uint32_t>> lists = {{0}, {3}, {4}};
  EXPECT_EQ(CountPhraseOccurrences(lists, 1), 0u);
  EXPECT_EQ(CountPhraseOccurrences(lists, 2), 1u);
  EXPECT_EQ(CountPhraseOccurrences(lists, 10), 1u);
}

TEST(CountPhraseOccurrencesTest, OutOfOrderNeverMatchesWhateverTheSlop) {
  EXPECT_EQ(CountPhraseOccurrences({{5}, {1}}, 100), 0u);
}

TEST(CountPhraseOccurrencesTest, RepeatedTermsAndOverlaps) {
  // "a a a" for phrase "a a": starts at 0 and 1.
  EXPECT_EQ(CountPhraseOccurrences({{0, 1, 2}, {0, 1, 2}}, 0), 2u);
  // A single-term phrase counts every position.
  EXPECT_EQ(CountPhraseOccurrences({{2, 9, 11}}, 0), 3u);
  // "a a b" for "a b" with slop 1: both a's reach the b.
  EXPECT_EQ(CountPhraseOccurrences({{0, 1}, {2}}, 1), 2u);
  EXPECT_EQ(CountPhraseOccurrences({{0, 1}, {2}}, 0), 1u);
}

}  // namespace
}  // namespace sift::storage::segment
