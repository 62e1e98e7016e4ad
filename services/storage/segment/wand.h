#ifndef SIFT_SERVICES_STORAGE_SEGMENT_WAND_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_WAND_H_

// Block-max WAND (Ding and Suel, SIGIR 2011) for the common free-text
// query, a disjunction of plain terms: cursors sorted by document, a pivot
// where the terms' score bounds first reach the k-th best score, and whole
// blocks of postings skipped when their stored bounds (Impact) cannot reach
// it. The conjunction of plain terms runs the same way (Lucene's block-max
// conjunction): the rarest term leads, and a run of documents is skipped
// when the bounds of the blocks every cursor is on cannot reach the k-th
// best score. The proximity bonus takes part in the bounds, so the top k
// either keeps is exact under the full score.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "services/storage/segment/context.h"
#include "services/storage/segment/filter.h"
#include "services/storage/segment/plan.h"
#include "services/storage/segment/top_k.h"

namespace sift::storage::segment {

// Whether `root` has a shape this file runs: a plain term of title and
// body, or a boolean of such terms either all as should clauses or all as
// must clauses (with any must_not clauses).
bool WandApplies(const PlanNode& root);

// Runs `root` (WandApplies) over the context's segment in relevance order,
// offering hits to `top` and counting matches that `filter` accepts in
// `totals`. `proximity_terms` is empty when the search scores no bonus.
// With `matched` not null (facets), every match is also set in it (a bit
// per doc number) and nothing is pruned. Read errors are recorded in the
// context; the status is for errors before the loop.
absl::Status RunWand(SegmentContext* context, const PlanNode& root,
                     const std::vector<const PlanNode*>& proximity_terms,
                     SegmentFilter* filter, const SearchSpec& spec, TopK* top,
                     Totals* totals, std::vector<uint64_t>* matched);

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_WAND_H_
