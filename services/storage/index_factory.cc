#include "services/storage/index_factory.h"

#include "services/storage/segment_index.h"

namespace sift::storage {

absl::StatusOr<std::unique_ptr<Index>> OpenIndex(const std::string& dir,
                                                 const IndexOptions& options) {
  auto index = SegmentIndex::Open(dir, options);
  if (!index.ok()) return index.status();
  return std::unique_ptr<Index>(*std::move(index));
}

}  // namespace sift::storage
