#include "common/analysis/term_match.h"

#include "gtest/gtest.h"

namespace sift::analysis {
namespace {

TEST(EditDistanceTest, CountsEditsInCharactersUpToTheBound) {
  EXPECT_EQ(BoundedEditDistance("wing", "wing", 2), 0u);
  EXPECT_EQ(BoundedEditDistance("wing", "wings", 2), 1u);
  EXPECT_EQ(BoundedEditDistance("wing", "wnig", 2), 1u);  // transposition
  EXPECT_EQ(BoundedEditDistance("wing", "ring", 2), 1u);
  EXPECT_EQ(BoundedEditDistance("wing", "wg", 2), 2u);
  EXPECT_EQ(BoundedEditDistance("wing", "w", 2), 3u);  // over: bound + 1
  EXPECT_EQ(BoundedEditDistance("wing", "kite", 2), 3u);
  EXPECT_EQ(BoundedEditDistance("", "ab", 2), 2u);
  // One accented letter is one edit, not two bytes.
  EXPECT_EQ(BoundedEditDistance("caf\u00e9", "cafe", 1), 1u);
  EXPECT_EQ(BoundedEditDistance("\u6771\u4eac", "\u4eac\u6771", 1), 1u);
}

TEST(EditDistanceTest, IsSymmetric) {
  const char* const words[] = {"wing", "wings", "swing", "wnig", "w",
                               "",     "café",  "cafe",  "東京"};
  for (const char* a : words) {
    for (const char* b : words) {
      EXPECT_EQ(BoundedEditDistance(a, b, 2), BoundedEditDistance(b, a, 2))
          << a << " / " << b;
    }
  }
}

TEST(FirstCharacterTest, TakesOneWholeCharacter) {
  EXPECT_EQ(FirstCharacter(""), "");
  EXPECT_EQ(FirstCharacter("wing"), "w");
  EXPECT_EQ(FirstCharacter("\u00e9t\u00e9"), "\u00e9");
  EXPECT_EQ(FirstCharacter("\u6771\u4eac"), "\u6771");
  EXPECT_EQ(FirstCharacter("\xF0\x9F\x98\x80!"), "\xF0\x9F\x98\x80");
  // A stray continuation byte or a cut sequence stays within the input.
  EXPECT_EQ(FirstCharacter("\x80x"), "\x80");
  EXPECT_EQ(FirstCharacter("\xE6\x9D"), "\xE6\x9D");
}

TEST(PrefixMatchesTest, ComparesBytesOfTheFoldedPrefix) {
  EXPECT_TRUE(PrefixMatches("comput", "comput"));
  EXPECT_TRUE(PrefixMatches("comput", "computation"));
  EXPECT_FALSE(PrefixMatches("comput", "compu"));
  EXPECT_FALSE(PrefixMatches("comput", "recomput"));
  EXPECT_TRUE(PrefixMatches("z\u00fc", "z\u00fcrich"));
}

TEST(FuzzyMatchesTest, NeedsTheFirstCharacterAndAtMostTheEdits) {
  EXPECT_TRUE(FuzzyMatches("wing", 1, "wing"));
  EXPECT_TRUE(FuzzyMatches("wing", 1, "wings"));
  EXPECT_TRUE(FuzzyMatches("wing", 1, "wnig"));
  EXPECT_FALSE(FuzzyMatches("wing", 1, "wg"));
  EXPECT_TRUE(FuzzyMatches("wing", 2, "wg"));
  // One edit away, but not from the same first character.
  EXPECT_FALSE(FuzzyMatches("wing", 2, "swing"));
  EXPECT_FALSE(FuzzyMatches("wing", 2, "king"));
  EXPECT_TRUE(FuzzyMatches("caf\u00e9", 1, "cafe"));
  EXPECT_FALSE(FuzzyMatches("\u00e9t\u00e9", 2, "ete"));
}

}  // namespace
}  // namespace sift::analysis
