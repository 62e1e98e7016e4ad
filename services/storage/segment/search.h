#ifndef SIFT_SERVICES_STORAGE_SEGMENT_SEARCH_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_SEARCH_H_

// Query execution over the segments of one index view: document at a time,
// one segment after the other, sharing one top-k. A disjunction of plain
// terms (the common free-text query) runs with block-max WAND (wand.h);
// everything else runs through a tree of iterators (iterators.h). Both
// score the term proximity bonus (proximity.h) only for documents that
// might enter the top k, so the top k is exact under the full score.

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/storage/segment/live_docs.h"
#include "services/storage/segment/plan.h"
#include "services/storage/segment/search_helpers.h"

namespace sift::storage::segment {

// Runs `spec` over `segments`, each with the deletions of the caller's view
// (which must stay alive meanwhile; nothing else is held, and the segments
// may be read by any number of searches at once). Scores are summed in plan
// order, so a document scores the same whichever path found it and however
// the collection is segmented or sharded. INVALID_ARGUMENT when a prefix or
// fuzzy clause expands to too many terms; DATA_LOSS on corrupt segment
// data. With `helpers`, a segment of a plain-term top-k search may be
// searched in two halves at once when a helper is idle (search_helpers.h);
// the result is the same.
absl::StatusOr<SearchResult> Search(absl::Span<const SegmentSnapshot> segments,
                                    const SearchSpec& spec,
                                    SearchHelpers* helpers = nullptr);

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_SEARCH_H_
