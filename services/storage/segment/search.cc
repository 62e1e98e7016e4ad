#include "services/storage/segment/search.h"

#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include "common/status/status_macros.h"
#include "services/storage/segment/context.h"
#include "services/storage/segment/explain.h"
#include "services/storage/segment/facets.h"
#include "services/storage/segment/filter.h"
#include "services/storage/segment/iterators.h"
#include "services/storage/segment/proximity.h"
#include "services/storage/segment/top_k.h"
#include "services/storage/segment/wand.h"

namespace sift::storage::segment {
namespace {

// Offers `score` plus the proximity bonus of `raw` to `top`, reading
// positions only when that might get it in. `proximity` is null when the
// search scores no bonus.
absl::Status OfferWithBonus(SegmentContext* context, ProximityScorer* proximity,
                            uint32_t raw, double score, TopK* top) {
  if (proximity != nullptr) {
    if (!top->MayTake(score + proximity->segment_bound()))
      return absl::OkStatus();
    SIFT_ASSIGN_OR_RETURN(size_t present, proximity->MoveTo(raw));
    if (present >= 2) {
      if (!top->MayTake(score + proximity->Bound(raw))) return absl::OkStatus();
      SIFT_ASSIGN_OR_RETURN(double bonus, proximity->Bonus(raw));
      score += bonus;
    }
  }
  if (!top->MayTake(score)) return absl::OkStatus();
  const Columns& columns = context->columns();
  top->Offer({score, columns.id(raw), columns.published(raw),
              context->ordinal(), raw});
  return absl::OkStatus();
}

// Every match of `root` into `top` and `totals`; with kCollect also into
// `matched`.
template <bool kCollect>
absl::Status RunIterators(SegmentContext* context, Iter* root,
                          ProximityScorer* proximity, SegmentFilter* filter,
                          const SearchSpec& spec, TopK* top, Totals* totals,
                          std::vector<uint64_t>* matched) {
  for (root->SeekTo(1); root->doc() != kNoMoreDocs;
       root->SeekTo(root->doc() + 1)) {
    const uint32_t raw = root->doc() - 1;
    if (!filter->Accept(raw)) continue;
    ++totals->count;
    if constexpr (kCollect) (*matched)[raw >> 6] |= uint64_t{1} << (raw & 63);
    if (spec.limit == 0) continue;
    SIFT_RETURN_IF_ERROR(
        OfferWithBonus(context, proximity, raw, root->Score(), top));
  }
  return absl::OkStatus();
}

// Searches one segment into `top` and `totals`. When `matched` is not null
// (facets were asked for), every match that passes the filters is also set
// in it, and nothing is pruned. `proximity_terms` is empty when the search
// scores no bonus in its loop.
absl::Status SearchSegment(SegmentContext* context, const SearchSpec& spec,
                           const std::vector<const PlanNode*>& proximity_terms,
                           TopK* top, Totals* totals,
                           std::vector<uint64_t>* matched) {
  SegmentFilter filter;
  SIFT_ASSIGN_OR_RETURN(bool possible, filter.Init(context, spec.filters));
  if (!possible) return absl::OkStatus();
  if (IsRelevanceOrder(spec.sort) && spec.limit > 0 &&
      WandApplies(*spec.root)) {
    SIFT_RETURN_IF_ERROR(RunWand(context, *spec.root, proximity_terms, &filter,
                                 spec, top, totals, matched));
    return context->status();
  }
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<Iter> root,
                        BuildIter(context, *spec.root));
  std::unique_ptr<ProximityScorer> proximity;
  if (!proximity_terms.empty()) {
    std::vector<std::pair<const PlanNode*, PostingCursor*>> cursors;
    root->CollectTermCursors(&cursors);
    proximity = std::make_unique<ProximityScorer>();
    SIFT_RETURN_IF_ERROR(proximity->Init(context, proximity_terms, cursors));
  }
  if (matched != nullptr) {
    SIFT_RETURN_IF_ERROR(RunIterators<true>(context, root.get(),
                                            proximity.get(), &filter, spec, top,
                                            totals, matched));
  } else {
    SIFT_RETURN_IF_ERROR(RunIterators<false>(context, root.get(),
                                             proximity.get(), &filter, spec,
                                             top, totals, nullptr));
  }
  return context->status();
}

// Adds the proximity bonus to `hits` chosen by date, so that a hit's score
// is the same in every order; it changes no date order.
absl::Status AddBonus(absl::Span<const SegmentSnapshot> segments,
                      const SearchSpec& spec,
                      const std::vector<const PlanNode*>& proximity_terms,
                      std::vector<TopK::Entry>* hits) {
  std::vector<TopK::Entry*> order;
  for (TopK::Entry& hit : *hits) order.push_back(&hit);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return a->segment != b->segment ? a->segment < b->segment : a->raw < b->raw;
  });
  std::unique_ptr<SegmentContext> context;
  std::unique_ptr<ProximityScorer> proximity;
  for (TopK::Entry* hit : order) {
    if (context == nullptr || context->ordinal() != hit->segment) {
      proximity.reset();
      context = std::make_unique<SegmentContext>(segments[hit->segment],
                                                 spec.bm25, hit->segment);
      proximity = std::make_unique<ProximityScorer>();
      SIFT_RETURN_IF_ERROR(proximity->Init(context.get(), proximity_terms));
    }
    SIFT_ASSIGN_OR_RETURN(size_t present, proximity->MoveTo(hit->raw));
    if (present < 2) continue;
    SIFT_ASSIGN_OR_RETURN(double bonus, proximity->Bonus(hit->raw));
    hit->score += bonus;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SearchResult> Search(absl::Span<const SegmentSnapshot> segments,
                                    const SearchSpec& spec) {
  std::vector<uint32_t> order(segments.size());
  std::iota(order.begin(), order.end(), 0);
  // Big segments first: their hits raise the bar for the small ones.
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return segments[a].live_docs->live_count() >
           segments[b].live_docs->live_count();
  });
  std::vector<const PlanNode*> proximity_terms;
  if (spec.limit > 0) proximity_terms = ProximityTerms(*spec.root);
  if (!ScoresProximity(spec, proximity_terms)) proximity_terms.clear();
  const bool relevance = IsRelevanceOrder(spec.sort);
  // Relevance scores the bonus as it ranks; a date order adds it to the
  // hits it chose.
  const std::vector<const PlanNode*> in_loop =
      relevance ? proximity_terms : std::vector<const PlanNode*>();

  SearchResult result;
  result.facets.resize(spec.facets.size());
  TopK top(spec.limit, spec.sort, spec.after ? &*spec.after : nullptr);
  Totals totals;
  // With facets, each segment's matches go into a bitset (a bit per
  // document, never more), counted once the segment's search is done.
  std::vector<uint64_t> matched;
  for (uint32_t i : order) {
    const SegmentSnapshot& snapshot = segments[i];
    if (snapshot.live_docs->live_count() == 0) continue;
    SegmentContext context(snapshot, spec.bm25, i);
    if (spec.facets.empty()) {
      SIFT_RETURN_IF_ERROR(
          SearchSegment(&context, spec, in_loop, &top, &totals, nullptr));
      continue;
    }
    matched.assign((snapshot.segment->doc_count() + 63) / 64, 0);
    SIFT_RETURN_IF_ERROR(
        SearchSegment(&context, spec, in_loop, &top, &totals, &matched));
    SIFT_RETURN_IF_ERROR(
        CountFacets(*snapshot.segment, spec.facets, matched, &result.facets));
  }
  std::vector<TopK::Entry> hits = top.Sorted();
  if (!relevance && !proximity_terms.empty()) {
    SIFT_RETURN_IF_ERROR(AddBonus(segments, spec, proximity_terms, &hits));
  }
  result.total_hits = totals.count;
  result.total_hits_is_lower_bound = totals.lower_bound;
  // Only now, with the page final: explaining costs a pass per segment, and
  // only the hits returned need one.
  std::vector<v1::Explanation> explanations;
  if (spec.explain) {
    SIFT_ASSIGN_OR_RETURN(explanations,
                          ExplainHits(segments, hits, spec, proximity_terms));
  }
  for (size_t i = 0; i < hits.size(); ++i) {
    SearchHit& hit = result.hits.emplace_back();
    hit.score = hits[i].score;
    hit.id = std::string(hits[i].id);
    hit.published = hits[i].published;
    if (spec.explain) hit.explanation = std::move(explanations[i]);
  }
  return result;
}

}  // namespace sift::storage::segment
