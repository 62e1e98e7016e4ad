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
#include "services/storage/segment/search_helpers.h"
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
  // Once the top k is full and enough matches are counted, the root may
  // pass over matches that cannot beat the k-th best score, less the most
  // any bonus adds.
  const bool may_prune =
      !kCollect && spec.limit > 0 && IsRelevanceOrder(spec.sort);
  const double bonus_bound =
      proximity != nullptr ? proximity->segment_bound() : 0.0;
  for (root->SeekTo(1); root->doc() != kNoMoreDocs;
       root->SeekTo(root->doc() + 1)) {
    const uint32_t raw = root->doc() - 1;
    if (!filter->Accept(raw)) continue;
    ++totals->count;
    if constexpr (kCollect) (*matched)[raw >> 6] |= uint64_t{1} << (raw & 63);
    if (spec.limit == 0) continue;
    SIFT_RETURN_IF_ERROR(
        OfferWithBonus(context, proximity, raw, root->Score(), top));
    if (may_prune && top->full() &&
        totals->count >= spec.exact_total_hits_up_to) {
      root->SetMinCompetitiveScore(PruningBar(top->min_score()) - bonus_bound);
    }
  }
  if (root->pruned()) totals->lower_bound = true;
  return absl::OkStatus();
}

// Searches one segment into `top` and `totals`. When `matched` is not null
// (facets were asked for), every match that passes the filters is also set
// in it, and nothing is pruned. `proximity_terms` is empty when the search
// scores no bonus in its loop.
// A range other than the whole segment only for a plan RunWand runs
// (CanSplit).
absl::Status SearchSegment(SegmentContext* context, const SearchSpec& spec,
                           const std::vector<const PlanNode*>& proximity_terms,
                           TopK* top, Totals* totals,
                           std::vector<uint64_t>* matched, DocRange range = {},
                           SharedBar* bar = nullptr) {
  SegmentFilter filter;
  SIFT_ASSIGN_OR_RETURN(bool possible, filter.Init(context, spec.filters));
  if (!possible) return absl::OkStatus();
  if (IsRelevanceOrder(spec.sort) && spec.limit > 0 &&
      WandApplies(*spec.root)) {
    SIFT_RETURN_IF_ERROR(RunWand(context, *spec.root, proximity_terms, &filter,
                                 spec, top, totals, matched, range, bar));
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

// What a plan RunWand runs costs, in postings of the collection (the
// statistics' document frequencies): a disjunction reads its terms', a
// conjunction leapfrogs from its rarest term's.
uint64_t PostingsToRead(const PlanNode& root) {
  if (root.kind == PlanNode::Kind::kTerm) return root.doc_freq;
  if (!root.must.empty()) {
    uint64_t rarest = root.must.front().doc_freq;
    for (const PlanNode& term : root.must) {
      rarest = std::min(rarest, term.doc_freq);
    }
    return rarest * root.must.size();
  }
  uint64_t sum = 0;
  for (const PlanNode& term : root.should) sum += term.doc_freq;
  return sum;
}

// Whether a segment may be searched in two doc ranges at once: a top-k
// plan of plain terms (RunWand, whose cursors take a range) without facets,
// which need every match of the segment in one bitset.
bool CanSplit(const SearchSpec& spec, const Segment& segment,
              const SearchHelpers& helpers) {
  return IsRelevanceOrder(spec.sort) && spec.limit > 0 && spec.facets.empty() &&
         segment.doc_count() >= helpers.min_split_docs() &&
         WandApplies(*spec.root) &&
         PostingsToRead(*spec.root) >= helpers.min_split_postings();
}

// Searches the upper half of the segment's doc numbers on a helper, if one
// takes it, while this thread searches the lower half, each half with
// cursors and a top k of its own; then the helper's hits and counts join
// `top` and `totals`. Exact: each half's top k is exact but for documents
// that could not reach the other half's k-th score either, and the best k
// of the segment are among the two halves' best. False, with nothing
// searched, when no helper took the half.
absl::StatusOr<bool> SearchInTwo(const SegmentSnapshot& snapshot,
                                 uint32_t ordinal, const SearchSpec& spec,
                                 const std::vector<const PlanNode*>& in_loop,
                                 SearchHelpers* helpers, TopK* top,
                                 Totals* totals) {
  const DocRange lower{0, snapshot.segment->doc_count() / 2};
  const DocRange upper{lower.end, kNoMoreDocs};
  SegmentContext upper_context(snapshot, spec.bm25, ordinal);
  TopK upper_top(spec.limit, spec.sort, spec.after ? &*spec.after : nullptr);
  Totals upper_totals;
  absl::Status upper_status;
  // Each half prunes by the better of the two halves' k-th scores.
  SharedBar bar;
  if (top->full()) bar.Raise(top->min_score());
  std::shared_ptr<SearchHelpers::Part> part = helpers->TryHand([&] {
    upper_status = SearchSegment(&upper_context, spec, in_loop, &upper_top,
                                 &upper_totals, nullptr, upper, &bar);
  });
  if (part == nullptr) return false;
  SegmentContext context(snapshot, spec.bm25, ordinal);
  const absl::Status status =
      SearchSegment(&context, spec, in_loop, top, totals, nullptr, lower, &bar);
  // The helper's part uses this frame: wait for it before anything else.
  part->Join();
  SIFT_RETURN_IF_ERROR(status);
  SIFT_RETURN_IF_ERROR(upper_status);
  for (const TopK::Entry& entry : upper_top.Sorted()) top->Offer(entry);
  totals->count += upper_totals.count;
  totals->lower_bound = totals->lower_bound || upper_totals.lower_bound;
  return true;
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
                                    const SearchSpec& spec,
                                    SearchHelpers* helpers) {
  const SearchHelpers::Running running(helpers);
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
    if (helpers != nullptr && CanSplit(spec, *snapshot.segment, *helpers)) {
      SIFT_ASSIGN_OR_RETURN(
          const bool split,
          SearchInTwo(snapshot, i, spec, in_loop, helpers, &top, &totals));
      if (split) continue;
    }
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
