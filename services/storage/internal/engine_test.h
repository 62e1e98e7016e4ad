#ifndef SIFT_SERVICES_STORAGE_INTERNAL_ENGINE_TEST_H_
#define SIFT_SERVICES_STORAGE_INTERNAL_ENGINE_TEST_H_

// Test-only: the fixture of the search engine's tests, a MemoryIndex in
// each Layout.

#include <string>
#include <utility>
#include <vector>

#include "common/status/status_matchers.h"
#include "gtest/gtest.h"
#include "services/storage/internal/memory_index.h"
#include "services/storage/internal/test_util.h"

namespace sift::storage::testing {

inline std::string LayoutName(const ::testing::TestParamInfo<Layout>& info) {
  return info.param == Layout::kSegmentPerWrite ? "SegmentPerWrite" : "Merged";
}

class EngineTest : public ::testing::TestWithParam<Layout> {
 protected:
  EngineTest() : index_(GetParam()) {}

  void Write(std::vector<v1::WriteOp> ops) {
    ASSERT_THAT(index_.Write(WriteOf(std::move(ops))), sift::testing::IsOk());
  }
  // Document frequencies count deleted documents until their segment is
  // merged; a merge makes them exact.
  void MergeAll() { ASSERT_THAT(index_.MergeAll(), sift::testing::IsOk()); }

  v1::ShardSearchResponse Search(const v1::ShardSearchRequest& request) {
    absl::StatusOr<v1::ShardSearchResponse> response = index_.Search(request);
    EXPECT_THAT(response, sift::testing::IsOk());
    return response.ok() ? *std::move(response) : v1::ShardSearchResponse();
  }
  std::vector<std::string> Ids(v1::QueryNode query) {
    return HitIds(Search(SearchFor(std::move(query))));
  }
  uint64_t DocFreq(const std::string& term,
                   v1::Field field = v1::FIELD_UNSPECIFIED) {
    absl::StatusOr<uint64_t> df = index_.DocFreq(term, field);
    EXPECT_THAT(df, sift::testing::IsOk());
    return df.ok() ? *df : 0;
  }
  SearchFunction Searcher() {
    return [this](const v1::ShardSearchRequest& request) {
      return index_.Search(request);
    };
  }

  MemoryIndex index_;
};

}  // namespace sift::storage::testing

#define SIFT_INSTANTIATE_LAYOUTS(suite)                                     \
  INSTANTIATE_TEST_SUITE_P(                                                 \
      Layouts, suite,                                                       \
      ::testing::Values(::sift::storage::testing::Layout::kSegmentPerWrite, \
                        ::sift::storage::testing::Layout::kMerged),         \
      ::sift::storage::testing::LayoutName)

#endif  // SIFT_SERVICES_STORAGE_INTERNAL_ENGINE_TEST_H_
