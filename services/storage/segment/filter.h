#ifndef SIFT_SERVICES_STORAGE_SEGMENT_FILTER_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_FILTER_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "services/storage/segment/context.h"
#include "services/storage/segment/iterators.h"
#include "services/storage/segment/plan.h"

namespace sift::storage::segment {

// Which matches of one segment a search may count and return: the live
// documents (as the search's view sees them) that pass the request's
// filters. Asked about increasing doc numbers. Not thread-safe.
class SegmentFilter {
 public:
  // False when no document of the segment can pass. `context` and `spec`
  // must outlive the filter.
  absl::StatusOr<bool> Init(SegmentContext* context, const FilterSpec& spec);

  bool Accept(uint32_t raw) {
    if (check_deleted_ && context_->live_docs().IsDeleted(raw)) return false;
    if (!filtering_) return true;
    return PassesFilters(raw);
  }

 private:
  bool PassesFilters(uint32_t raw);

  SegmentContext* context_ = nullptr;
  const FilterSpec* spec_ = nullptr;
  bool check_deleted_ = false;
  bool filtering_ = false;
  bool dates_ = false;
  std::vector<std::unique_ptr<Iter>> sources_;
  std::vector<std::unique_ptr<Iter>> tags_;
};

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_FILTER_H_
