#include "services/storage/segment/values.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/analyzed_field.h"
#include "services/storage/segment/builder.h"

namespace sift::storage::segment {
namespace {

TEST(SegmentValuesTest, FindsWhatWasAppendedAndNothingElse) {
  SegmentValues values;
  values.Append("Cid", "ids");
  values.Append("M", "meta");
  values.Append("Pb", "apple", "positions of apple");
  values.Append("Tb", "apple", "");  // empty values are kept
  ASSERT_EQ(values.size(), 4u);
  EXPECT_TRUE(values.Sorted());
  EXPECT_EQ(values.key(2), "Pbapple");
  EXPECT_EQ(values.value(2), "positions of apple");
  EXPECT_EQ(values.Find("M"), "meta");
  EXPECT_EQ(values.Find("Tbapple"), "");
  EXPECT_EQ(values.Find("Tbapples"), std::nullopt);
  EXPECT_EQ(values.Find("Pb"), std::nullopt);
  EXPECT_EQ(values.LowerBound("P"), 2u);
  EXPECT_EQ(values.LowerBound("Z"), 4u);
  EXPECT_EQ(values.LowerBound(""), 0u);
}

TEST(SegmentValuesTest, AppendingAnotherSetKeepsBothIntact) {
  SegmentValues head, tail;
  head.Append("A", "1");
  tail.Append("B", std::string(1000, 'b'));
  tail.Append("C", "3");
  head.Append(tail);
  ASSERT_EQ(head.size(), 3u);
  EXPECT_TRUE(head.Sorted());
  EXPECT_EQ(head.Find("A"), "1");
  EXPECT_EQ(head.Find("B"), std::string(1000, 'b'));
  EXPECT_EQ(head.Find("C"), "3");
  EXPECT_EQ(tail.Find("C"), "3");
}

TEST(SegmentValuesTest, SortedSpotsKeysOutOfOrder) {
  SegmentValues values;
  values.Append("b", "");
  values.Append("a", "");
  EXPECT_FALSE(values.Sorted());
  SegmentValues twice;
  twice.Append("a", "");
  twice.Append("a", "");
  EXPECT_FALSE(twice.Sorted());
}

// Memory segments are searched by binary search, so a build must come out
// in key order: columns, meta, positions, then text, tag and source
// postings.
TEST(SegmentValuesTest, ABuiltSegmentIsInKeyOrder) {
  std::vector<v1::AnalyzedDocument> analyzed(3);
  const std::vector<std::vector<std::string>> bodies = {
      {"zebra", "apple", "apple"}, {"mango"}, {"apple", "kiwi", "zebra"}};
  std::vector<SegmentDocument> docs(3);
  for (int d = 0; d < 3; ++d) {
    analyzed[d].mutable_document()->set_id("doc" + std::to_string(d));
    EncodeTerms(bodies[d], analyzed[d].mutable_body());
    EncodeTerms({"title"}, analyzed[d].mutable_title());
    docs[d].analyzed = &analyzed[d];
    docs[d].source = d == 1 ? "wire" : "desk";
    docs[d].tags = {"news", d == 2 ? "sport" : "world"};
  }
  absl::StatusOr<SegmentValues> values = BuildSegment(docs);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_TRUE(values->Sorted());
  for (const std::string& key :
       {std::string("M"), PostingsKey(TermField::kText, "apple"),
        PositionsKey(TermField::kText, "zebra"),
        PostingsKey(TermField::kTag, "sport"),
        PostingsKey(TermField::kSource, "wire")}) {
    EXPECT_TRUE(values->Find(key).has_value()) << key;
  }
  EXPECT_FALSE(values->Find(PostingsKey(TermField::kText, "news")));
}

}  // namespace
}  // namespace sift::storage::segment
