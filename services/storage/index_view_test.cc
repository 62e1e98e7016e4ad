#include "services/storage/index_view.h"

#include <memory>
#include <string>
#include <vector>

#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/internal/test_util.h"
#include "services/storage/segment/builder.h"

namespace sift::storage {
namespace {

using ::sift::storage::testing::DocSpec;
using ::sift::storage::testing::Upsert;
using ::testing::ElementsAre;

// A memory segment of documents whose titles and bodies have the given
// numbers of words.
std::shared_ptr<const segment::Segment> SegmentOf(
    uint32_t id, const std::vector<std::pair<int, int>>& lengths) {
  std::vector<v1::WriteOp> ops;
  for (size_t i = 0; i < lengths.size(); ++i) {
    std::string title, body;
    for (int w = 0; w < lengths[i].first; ++w) title += "t ";
    for (int w = 0; w < lengths[i].second; ++w) body += "b ";
    ops.push_back(Upsert(DocSpec{
        .id = std::to_string(id * 100 + i), .title = title, .body = body}));
  }
  std::vector<segment::SegmentDocument> docs(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) docs[i].analyzed = &ops[i].upsert();
  auto values = segment::BuildSegment(docs);
  EXPECT_TRUE(values.ok());
  auto segment = segment::Segment::FromMemory(id, *std::move(values));
  EXPECT_TRUE(segment.ok());
  return *segment;
}

ViewSegment AllLive(std::shared_ptr<const segment::Segment> s) {
  auto live = segment::LiveDocs::AllLive(s->doc_count());
  return {std::move(s), std::move(live)};
}

TEST(IndexViewTest, CountsLiveDocumentsAndTheirTerms) {
  auto a = SegmentOf(3, {{1, 10}, {2, 20}});
  auto b = SegmentOf(1, {{4, 40}});
  auto view = IndexView::Make(
      {{a, segment::LiveDocs::WithDeletedDocs(2, {1})}, AllLive(b)});
  EXPECT_EQ(view->doc_count(), 2u);
  EXPECT_EQ(view->total_title_terms(), 5u);
  EXPECT_EQ(view->total_body_terms(), 50u);
  ASSERT_EQ(view->segments().size(), 2u);
  EXPECT_EQ(view->segments()[0].segment->id(), 1u);  // by id
  EXPECT_EQ(view->Find(3)->segment, a);
  EXPECT_EQ(view->Find(2), nullptr);
  EXPECT_EQ(IndexView::Empty()->doc_count(), 0u);
}

// A coordinator keeps statistics under a view's version: no two views may
// share one, even views of the same segments.
TEST(IndexViewTest, EveryViewHasAVersionOfItsOwn) {
  auto a = SegmentOf(1, {{1, 10}});
  auto first = IndexView::Make({AllLive(a)});
  auto same_segments = IndexView::Make({AllLive(a)});
  IndexViewBuilder next(first);
  next.Delete(1, 0);
  auto after = next.Build();
  EXPECT_NE(first->stats_version(), 0u);
  EXPECT_NE(same_segments->stats_version(), first->stats_version());
  EXPECT_NE(after->stats_version(), first->stats_version());
  EXPECT_NE(after->stats_version(), same_segments->stats_version());
  EXPECT_NE(IndexView::Empty()->stats_version(),
            IndexView::Empty()->stats_version());
}

TEST(IndexViewTest, TheNextViewLeavesTheOneBeforeUntouched) {
  auto a = SegmentOf(1, {{1, 10}, {2, 20}, {3, 30}});
  auto b = SegmentOf(2, {{4, 40}});
  auto before = IndexView::Make({AllLive(a), AllLive(b)});
  const segment::LiveDocs* b_live = before->Find(2)->live_docs.get();

  IndexViewBuilder next(before);
  auto c = SegmentOf(5, {{5, 50}, {6, 60}});
  next.Add(AllLive(c));
  next.Delete(1, 0);
  next.Delete(1, 0);   // twice changes nothing
  next.Delete(5, 1);   // a document of a segment added in the same change
  next.Delete(1, 99);  // past the end: ignored
  auto after = next.Build();

  // The view a search holds stays as it was.
  EXPECT_EQ(before->doc_count(), 4u);
  EXPECT_FALSE(before->Find(1)->live_docs->IsDeleted(0));
  EXPECT_EQ(before->Find(5), nullptr);
  // The new one: totals updated from what changed.
  EXPECT_EQ(after->doc_count(), 4u);  // 2 of a, 1 of b, 1 of c
  EXPECT_EQ(after->total_title_terms(), 2u + 3 + 4 + 5);
  EXPECT_EQ(after->total_body_terms(), 20u + 30 + 40 + 50);
  EXPECT_TRUE(after->Find(1)->live_docs->IsDeleted(0));
  EXPECT_TRUE(after->Find(5)->live_docs->IsDeleted(1));
  // Deletions are copied only for the segments that have new ones.
  EXPECT_EQ(after->Find(2)->live_docs.get(), b_live);
  EXPECT_EQ(after->Find(1)->segment, a);

  IndexViewBuilder merged(after);
  merged.Remove(1);
  merged.Remove(2);
  auto m = SegmentOf(6, {{2, 20}, {3, 30}, {4, 40}});
  merged.Add(AllLive(m));
  auto last = merged.Build();
  std::vector<uint32_t> ids;
  for (const ViewSegment& s : last->segments()) ids.push_back(s.segment->id());
  EXPECT_THAT(ids, ElementsAre(5, 6));
  EXPECT_EQ(last->doc_count(), 4u);
  EXPECT_EQ(last->total_title_terms(), 2u + 3 + 4 + 5);
  // The totals counted from scratch agree.
  auto recounted = IndexView::Make(last->segments());
  EXPECT_EQ(recounted->total_title_terms(), last->total_title_terms());
  EXPECT_EQ(recounted->total_body_terms(), last->total_body_terms());
  // What the merge policy is told.
  const std::vector<SegmentStats> stats = last->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].id, 5u);
  EXPECT_EQ(stats[0].doc_count, 2u);
  EXPECT_EQ(stats[0].live_count, 1u);
  EXPECT_TRUE(stats[0].in_memory);
}

}  // namespace
}  // namespace sift::storage
