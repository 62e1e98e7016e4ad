#include "services/storage/segment/live_docs.h"

#include "gtest/gtest.h"

namespace sift::storage::segment {
namespace {

TEST(LiveDocsTest, AllLiveHasNoDeletions) {
  auto live = LiveDocs::AllLive(130);
  EXPECT_EQ(live->doc_count(), 130u);
  EXPECT_EQ(live->deleted_count(), 0u);
  EXPECT_EQ(live->live_count(), 130u);
  for (uint32_t d = 0; d < 130; ++d) EXPECT_FALSE(live->IsDeleted(d));
  EXPECT_EQ(live->deleted_bits().size(), 3u);
}

TEST(LiveDocsTest, DeletingCopiesAndLeavesTheOriginalAsItWas) {
  auto first = LiveDocs::WithDeletedDocs(100, {3, 64, 99});
  EXPECT_EQ(first->deleted_count(), 3u);
  auto second = first->PlusDeleted({5, 64, 500});
  // A search holding the first still sees only its deletions.
  EXPECT_EQ(first->deleted_count(), 3u);
  EXPECT_FALSE(first->IsDeleted(5));
  EXPECT_EQ(second->deleted_count(), 4u);  // 64 again and 500 change nothing
  for (uint32_t d : {3u, 5u, 64u, 99u}) EXPECT_TRUE(second->IsDeleted(d)) << d;
  EXPECT_FALSE(second->IsDeleted(4));
  EXPECT_EQ(second->live_count(), 96u);
}

}  // namespace
}  // namespace sift::storage::segment
