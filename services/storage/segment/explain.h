#ifndef SIFT_SERVICES_STORAGE_SEGMENT_EXPLAIN_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_EXPLAIN_H_

// Explanations of scores (v1::Explanation trees): the wording shared by the
// iterators that explain their clauses, and the pass that explains the hits
// a search returns.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/storage/segment/live_docs.h"
#include "services/storage/segment/plan.h"
#include "services/storage/segment/top_k.h"
#include "sift/v1/document.pb.h"

namespace sift::storage::segment {

v1::Explanation MakeExplanation(double value, std::string description);

// "in title and body", "in the title", "in the body".
absl::string_view FieldsText(TextFields fields);

// How a query names a term of `node`'s field: `"word"` for text,
// `source:"value"` and `tag:"value"` for keywords.
std::string QuotedTerm(const PlanNode& node, absl::string_view term);

// A publication time as RFC 3339 in UTC.
std::string FormatPublished(const std::pair<int64_t, int32_t>& published);

// The explanations of `hits` (entries of `segments`), aligned with them.
// Only the hits a search returns are explained, once they are chosen: the
// plan's iterators are built again for each segment that holds any, moved
// to each hit in doc order, and say how they scored it; the proximity bonus
// is explained from the same positions that computed it. So the root's
// value equals the hit's score. INTERNAL when a hit does not match the plan
// (a broken invariant).
absl::StatusOr<std::vector<v1::Explanation>> ExplainHits(
    absl::Span<const SegmentSnapshot> segments,
    absl::Span<const TopK::Entry> hits, const SearchSpec& spec,
    const std::vector<const PlanNode*>& proximity_terms);

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_EXPLAIN_H_
