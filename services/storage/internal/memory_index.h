#ifndef SIFT_SERVICES_STORAGE_INTERNAL_MEMORY_INDEX_H_
#define SIFT_SERVICES_STORAGE_INTERNAL_MEMORY_INDEX_H_

// Test-only: a shard's search engine without RocksDB. Writes build memory
// segments and publish index views the way SegmentIndex does; searches go
// through the same decoding, scoring resolution, engine and encoding as the
// storage handler's. Engine tests run over it, so that they exercise every
// path but the storage of values.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/storage/index_view.h"
#include "services/storage/segment/search_helpers.h"
#include "services/storage/shard_query.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage::testing {

// Where a test's documents live when it searches: every behaviour must be
// the same in one segment per write, and in segments merged as they come.
enum class Layout {
  // Each write adds a segment of its documents.
  kSegmentPerWrite,
  // After each write every segment merges into one, dropping deletions.
  kMerged,
};

class MemoryIndex {
 public:
  explicit MemoryIndex(Layout layout = Layout::kSegmentPerWrite)
      : layout_(layout), view_(IndexView::Empty()) {}

  // Applies upserts and deletes in order, as Index::Apply does.
  absl::Status Write(const v1::WriteRequest& request);
  // Merges every segment into one.
  absl::Status MergeAll();
  // Searches hand parts to `helpers` (not owned; null: none).
  void SetSearchHelpers(segment::SearchHelpers* helpers) { helpers_ = helpers; }

  absl::StatusOr<v1::ShardSearchResponse> Search(
      const v1::ShardSearchRequest& request) const;
  // The shard's own document frequency of `term` in `field`.
  absl::StatusOr<uint64_t> DocFreq(
      const std::string& term, v1::Field field = v1::FIELD_UNSPECIFIED) const;

  const std::shared_ptr<const IndexView>& view() const { return view_; }

 private:
  struct Location {
    uint32_t segment;
    uint32_t doc;
  };

  const Layout layout_;
  std::shared_ptr<const IndexView> view_;
  std::map<std::string, Location> ids_;
  uint32_t next_segment_id_ = 1;
  segment::SearchHelpers* helpers_ = nullptr;
};

}  // namespace sift::storage::testing

#endif  // SIFT_SERVICES_STORAGE_INTERNAL_MEMORY_INDEX_H_
