#ifndef SIFT_SERVICES_STORAGE_VIEW_SEARCH_H_
#define SIFT_SERVICES_STORAGE_VIEW_SEARCH_H_

// A decoded query run over an index view: what is left to resolve once the
// query meets the view (the scorer's statistics, every scored node's idf),
// then the engine.

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/storage/index_view.h"
#include "services/storage/scoring.h"
#include "services/storage/segment/plan.h"
#include "services/storage/segment/search_helpers.h"
#include "services/storage/shard_query.h"

namespace sift::storage {

// The shard's own document frequency of `key` in `view`: the documents of
// its segments holding the term, deleted ones included until their segment
// is merged, as in Lucene. DATA_LOSS on corrupt postings.
absl::StatusOr<uint64_t> OwnDocFreq(const IndexView& view, const TermKey& key);

// The scorer of `query`: its statistics, or the view's own counters when it
// carries none (doc_count 0).
Bm25f ScorerFor(const ShardQuery& query, const IndexView& view);

// Sets the idf and document frequencies of every term, keyword and phrase
// node of `plan` from `stats`, or from the view for a term they lack.
absl::Status ResolveScoring(const ScoringStats& stats, const Bm25f& bm25,
                            const IndexView& view, segment::PlanNode* plan);

// Runs `query` over the segments of `view`, which the caller holds
// meanwhile (segment/search.h), with `helpers` if not null.
absl::StatusOr<segment::SearchResult> SearchView(
    const IndexView& view, const ShardQuery& query,
    segment::SearchHelpers* helpers = nullptr);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_VIEW_SEARCH_H_
