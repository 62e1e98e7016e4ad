#ifndef SIFT_SERVICES_STORAGE_SEGMENT_FACETS_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_FACETS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "services/storage/segment/plan.h"
#include "services/storage/segment/segment.h"

namespace sift::storage::segment {

// Adds to `counts` (one per facet) the values of the `matched` documents of
// `segment` (a bit per doc number, as a search collected them). Keyword
// facets walk the field's dictionary and postings, so the cost is the size
// of the keyword postings whatever the number of matches, and memory grows
// with the distinct values. DATA_LOSS on corrupt postings.
absl::Status CountFacets(const Segment& segment,
                         const std::vector<FacetSpec>& facets,
                         const std::vector<uint64_t>& matched,
                         std::vector<FacetCounts>* counts);

// The first instant (Unix seconds, UTC) of the `unit` bucket holding
// `seconds`.
int64_t BucketStart(int64_t seconds, FacetSpec::Unit unit);

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_FACETS_H_
