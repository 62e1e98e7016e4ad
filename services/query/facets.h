#ifndef SIFT_SERVICES_QUERY_FACETS_H_
#define SIFT_SERVICES_QUERY_FACETS_H_

// Facets in the coordinator: checking what a search asks for, and merging
// the counts every shard sends into the response's top values and date
// histograms.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "sift/v1/document.pb.h"
#include "sift/v1/query.pb.h"
#include "sift/v1/storage.pb.h"

namespace sift::query {

// Values of a keyword facet when the request says 0, and the most it may
// ask for.
inline constexpr uint32_t kDefaultFacetSize = 10;
inline constexpr uint32_t kMaxFacetSize = 1000;
// Most non-empty buckets of one date histogram; past it the search fails
// with INVALID_ARGUMENT asking for a coarser interval (10,000 days is over
// 27 years).
inline constexpr size_t kMaxDateBuckets = 10000;

// Checks the facets of a search and fills in the defaults: size 10 for
// keyword facets, DATE_INTERVAL_MONTH for published_at. INVALID_ARGUMENT
// naming the facet and its field (`facets[1].size: ...`) for an unset or
// unknown field or interval, an interval on a keyword facet, a size on a
// histogram or over kMaxFacetSize, or a facet asked for twice.
absl::StatusOr<std::vector<v1::FacetRequest>> ValidateFacets(
    const google::protobuf::RepeatedPtrField<v1::FacetRequest>& facets);

// Whether a shard's `counts` answer `request` (a validated one): the same
// field, and for dates the same interval.
bool FacetAnswers(const v1::FacetRequest& request,
                  const v1::ShardFacetCounts& counts);

// Sums the counts of every shard that answered (each element answers
// `request`) into the facet's result: for keywords the `size` most frequent
// values, by count descending then value ascending, with the rest summed in
// other_count; for dates every non-empty bucket in time order. `path` names
// the facet in errors: INVALID_ARGUMENT when a histogram has more than
// kMaxDateBuckets buckets.
absl::StatusOr<v1::FacetResult> MergeFacet(
    const v1::FacetRequest& request,
    absl::Span<const v1::ShardFacetCounts* const> shards,
    absl::string_view path);

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_FACETS_H_
