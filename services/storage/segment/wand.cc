#include "services/storage/segment/wand.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "absl/types/span.h"
#include "common/status/status_macros.h"
#include "services/storage/segment/iterators.h"
#include "services/storage/segment/postings.h"
#include "services/storage/segment/proximity.h"
#include "services/storage/segment/term_scorer.h"

namespace sift::storage::segment {
namespace {

// How many postings ahead of a candidate its field lengths are prefetched
// (PrefetchAhead).
constexpr uint32_t kPrefetchAhead = 16;

// One query term's cursor and its bounds.
struct WandTerm {
  WandTerm(const Bm25f* bm25, const Columns* columns, double idf)
      : scorer(bm25, columns, idf, TextFields::kTitleAndBody) {}

  PostingCursor cursor;
  TermScorer scorer;
  // BM25F bound over the segment, and the bound of the term's share of the
  // proximity bonus (0 without the bonus, and for the second cursor of a
  // term the query repeats: its bonus is counted once).
  double max_score = 0.0;
  double max_bonus = 0.0;
  // Index into the proximity terms, or -1.
  int proximity = -1;
  // The same bounds for the block the skip data is on.
  uint32_t block_last_doc = kNoMoreDocs;
  double block_max = 0.0;
  double block_bonus = 0.0;
  // MaxScore: the term's bound (score and bonus share) over the current
  // window, and its score in the document being evaluated.
  double window_bound = 0.0;
  double score_here = 0.0;
};

class Wand {
 public:
  Wand(SegmentContext* context, SegmentFilter* filter, const SearchSpec& spec,
       TopK* top, Totals* totals, SharedBar* bar)
      : context_(context),
        filter_(filter),
        spec_(spec),
        top_(top),
        totals_(totals),
        bar_(bar),
        columns_(context->columns()) {}

  absl::Status Init(const PlanNode& root,
                    const std::vector<const PlanNode*>& proximity_terms,
                    DocRange range) {
    std::vector<const PlanNode*> plan_terms;
    if (root.kind == PlanNode::Kind::kTerm) {
      plan_terms.push_back(&root);
    } else {
      conjunction_ = !root.must.empty();
      for (const PlanNode& child : root.must) plan_terms.push_back(&child);
      for (const PlanNode& child : root.should) plan_terms.push_back(&child);
      for (const PlanNode& child : root.must_not) {
        SIFT_ASSIGN_OR_RETURN(excluded_.emplace_back(),
                              BuildIter(context_, child));
      }
    }
    for (const PlanNode* node : plan_terms) {
      SIFT_ASSIGN_OR_RETURN(
          std::optional<absl::string_view> value,
          context_->Load(PostingsKey(TermField::kText, node->term)));
      if (!value) {
        // A required term this segment lacks: nothing here matches.
        if (conjunction_) nothing_ = true;
        continue;
      }
      auto term =
          std::make_unique<WandTerm>(&context_->bm25(), &columns_, node->idf);
      SIFT_RETURN_IF_ERROR(term->cursor.Init(*value));
      term->cursor.SetRange(range.begin, range.end);
      term->max_score = term->scorer.Bound(term->cursor.header().impacts);
      term->cursor.Next();
      for (size_t p = 0; p < proximity_terms.size(); ++p) {
        if (proximity_terms[p]->term == node->term) {
          term->proximity = static_cast<int>(p);
        }
      }
      terms_.push_back(std::move(term));
    }
    if (proximity_terms.empty()) return absl::OkStatus();
    // The bonus reads the positions of the postings the cursors are on:
    // the first cursor of each proximity term carries it.
    std::vector<std::pair<const PlanNode*, PostingCursor*>> cursors;
    std::vector<bool> carried(proximity_terms.size(), false);
    for (auto& term : terms_) {
      if (term->proximity < 0 || carried[term->proximity]) {
        term->proximity = -1;
        continue;
      }
      carried[term->proximity] = true;
      cursors.emplace_back(proximity_terms[term->proximity], &term->cursor);
    }
    proximity_ = std::make_unique<ProximityScorer>();
    SIFT_RETURN_IF_ERROR(proximity_->Init(context_, proximity_terms, cursors));
    for (auto& term : terms_) {
      if (term->proximity < 0) continue;
      term->max_bonus = proximity_->ShareBound(term->proximity,
                                               term->cursor.header().impacts);
      bonus_carriers_.push_back(term.get());
    }
    return absl::OkStatus();
  }

  // With kCollect, every match is also set in `matched` and nothing is
  // pruned; without it the loop is the plain top-k search.
  template <bool kCollect>
  void Run(std::vector<uint64_t>* matched) {
    // By plan order, for scoring.
    for (auto& term : terms_) by_order_.push_back(term.get());
    if (nothing_) return;
    if (conjunction_) {
      RunConjunction<kCollect>(matched);
    } else {
      RunMaxScore<kCollect>(matched);
    }
    for (auto& term : terms_) context_->Fail(term->cursor.status());
  }

 private:
  // Whether the pruning bounds apply: top k full and enough matches
  // counted exactly.
  template <bool kCollect>
  bool Pruning() const {
    return !kCollect && top_->full() &&
           totals_->count >= spec_.exact_total_hits_up_to;
  }

  // The better of the k-th scores of this heap and of the other half's.
  double Threshold() const {
    double bar = top_->min_score();
    if (bar_ != nullptr) {
      bar = std::max(bar, bar_->min_score.load(std::memory_order_relaxed));
    }
    return PruningBar(bar);
  }

  // Block-max conjunction: the rarest term leads, the others leapfrog to
  // it, and while the top k is full, a run of documents inside the blocks
  // all the cursors are on is skipped when the blocks' bounds (and the
  // bonus, which every match of a conjunction of two or more terms may
  // earn) cannot reach the k-th best score.
  template <bool kCollect>
  void RunConjunction(std::vector<uint64_t>* matched) {
    std::vector<WandTerm*> by_df = by_order_;
    std::stable_sort(by_df.begin(), by_df.end(),
                     [](const WandTerm* a, const WandTerm* b) {
                       return a->cursor.header().df < b->cursor.header().df;
                     });
    PostingCursor& lead = by_df.front()->cursor;
    uint32_t doc = lead.doc();
    // The documents up to window_end lie in the blocks the cursors were on
    // when window_bound was summed: their bound holds for all of them.
    uint32_t window_end = 0;
    double window_bound = 0.0;
    bool have_window = false;
    while (doc != kNoMoreDocs) {
      if (Pruning<kCollect>()) {
        if (!have_window || doc > window_end) {
          double bound = 0.0, bonus = 0.0;
          uint32_t up_to = kNoMoreDocs;
          for (WandTerm* term : by_df) {
            term->cursor.ShallowSeek(doc);
            up_to = std::min(up_to, term->cursor.shallow_last_doc());
            UpdateBlockBounds(term);
            bound += term->block_max;
            bonus += term->block_bonus;
          }
          // A cursor that failed may leave its last block behind `doc`.
          window_end = std::max(up_to, doc);
          window_bound = bound + (by_df.size() > 1 ? bonus : 0.0);
          have_window = true;
        }
        if (window_bound < Threshold()) {
          totals_->lower_bound = true;
          if (window_end == kNoMoreDocs) break;
          lead.SeekTo(window_end + 1);
          doc = lead.doc();
          continue;
        }
      }
      // Every other term to `doc`; one that lands past it moves the lead.
      bool all = true;
      for (size_t i = 1; i < by_df.size(); ++i) {
        PostingCursor& cursor = by_df[i]->cursor;
        cursor.SeekTo(doc);
        if (cursor.doc() != doc) {
          all = false;
          if (cursor.doc() == kNoMoreDocs) {
            doc = kNoMoreDocs;
          } else {
            lead.SeekTo(cursor.doc());
            doc = lead.doc();
          }
          break;
        }
      }
      if (!all) continue;
      Evaluate<kCollect>(doc, matched);
      lead.Next();
      doc = lead.doc();
    }
  }

  // Block-max MaxScore over the should clauses. The doc numbers are cut
  // into windows that end where the first of the live terms' current
  // blocks ends, so each term's block bound holds across the whole window.
  // Within a window the terms split by those bounds: the non-essential
  // ones, the longest run of the weakest whose bounds sum under the k-th
  // best score, cannot bring a document into the top k on their own, so
  // candidates come from the essential terms only, and a non-essential
  // cursor moves only to a candidate whose score so far could still make
  // it.
  template <bool kCollect>
  void RunMaxScore(std::vector<uint64_t>* matched) {
    std::vector<WandTerm*> live;
    for (WandTerm* term : by_order_) {
      if (term->cursor.doc() != kNoMoreDocs) live.push_back(term);
    }
    std::vector<WandTerm*> order;
    // sums[i]: the bounds of order[0..i], the non-essential terms.
    std::vector<double> sums;
    uint32_t window_min = 0;
    while (true) {
      size_t kept = 0;
      for (WandTerm* term : live) {
        if (term->cursor.doc() == kNoMoreDocs) {
          context_->Fail(term->cursor.status());
        } else {
          live[kept++] = term;
        }
      }
      live.resize(kept);
      if (live.empty()) break;
      if (live.size() == 1) {
        // One term left (or only one in the query).
        live.front()->cursor.SeekTo(window_min);
        RunOneTerm<kCollect>(live.front(), matched);
        break;
      }
      const bool pruning = Pruning<kCollect>();
      double threshold = -std::numeric_limits<double>::infinity();
      uint32_t window_max = kNoMoreDocs;
      size_t essential = 0;  // order[essential..] are the essential terms
      order.assign(live.begin(), live.end());
      if (pruning) {
        threshold = Threshold();
        for (WandTerm* term : live) {
          term->cursor.ShallowSeek(std::max(term->cursor.doc(), window_min));
          window_max = std::min(window_max, term->cursor.shallow_last_doc());
        }
        // A cursor that failed may leave its block behind window_min.
        window_max = std::max(window_max, window_min);
        for (WandTerm* term : live) {
          if (term->cursor.doc() > window_max) {
            term->window_bound = 0.0;  // no posting in the window
            continue;
          }
          UpdateBlockBounds(term);
          term->window_bound = term->block_max + term->block_bonus;
        }
        // Weakest first; a handful of terms.
        for (size_t i = 1; i < order.size(); ++i) {
          WandTerm* term = order[i];
          size_t j = i;
          for (; j > 0 && order[j - 1]->window_bound > term->window_bound;
               --j) {
            order[j] = order[j - 1];
          }
          order[j] = term;
        }
        sums.clear();
        double sum = 0.0;
        while (essential < order.size() &&
               sum + order[essential]->window_bound < threshold) {
          sum += order[essential]->window_bound;
          sums.push_back(sum);
          ++essential;
        }
        if (essential > 0) {
          // Documents holding only non-essential terms are not counted.
          totals_->lower_bound = true;
        }
        if (essential == order.size()) {
          // Nothing in the window can reach the k-th best score.
          if (window_max == kNoMoreDocs) break;
          window_min = window_max + 1;
          continue;
        }
      }
      const absl::Span<WandTerm* const> essentials =
          absl::MakeConstSpan(order).subspan(essential);
      for (WandTerm* term : essentials) term->cursor.SeekTo(window_min);
      bool pruning_began = false;
      while (true) {
        uint32_t doc = kNoMoreDocs;
        for (WandTerm* term : essentials) {
          doc = std::min(doc, term->cursor.doc());
        }
        if (doc == kNoMoreDocs || doc > window_max) break;
        for (WandTerm* term : essentials) PrefetchAhead(term->cursor);
        EvaluateCandidate<kCollect>(doc, essentials, order, essential, sums,
                                    threshold, matched);
        for (WandTerm* term : essentials) {
          if (term->cursor.doc() == doc) term->cursor.Next();
        }
        if (pruning) {
          threshold = Threshold();
        } else if (Pruning<kCollect>()) {
          // The top k just filled: bounds apply from the next document on.
          window_min = doc + 1;
          pruning_began = true;
          break;
        }
      }
      if (pruning_began) continue;
      if (window_max == kNoMoreDocs) break;
      window_min = window_max + 1;
    }
  }

  // MaxScore's evaluation of a document that holds an essential term:
  // the essential terms' scores, then the non-essential ones', strongest
  // first, each only while the document could still reach `threshold`;
  // the score itself is summed in plan order, as Evaluate sums it.
  template <bool kCollect>
  void EvaluateCandidate(uint32_t doc, absl::Span<WandTerm* const> essentials,
                         const std::vector<WandTerm*>& order,
                         size_t non_essential, const std::vector<double>& sums,
                         double threshold, std::vector<uint64_t>* matched) {
    if (!Admit<kCollect>(doc, matched)) return;
    const Bm25f::LengthNorms norms = context_->bm25().Norms(
        columns_.lengths[doc].title, columns_.lengths[doc].body);
    // What the document has so far, with its terms' bonus shares.
    double reached = 0.0;
    for (WandTerm* term : essentials) {
      if (term->cursor.doc() != doc) continue;
      term->score_here = term->scorer.Score(norms, term->cursor.tf_title(),
                                            term->cursor.tf_body());
      reached += term->score_here + term->block_bonus;
    }
    for (size_t i = non_essential; i-- > 0;) {
      if (reached + sums[i] < threshold) {
        totals_->lower_bound = true;
        return;
      }
      WandTerm* term = order[i];
      term->cursor.SeekTo(doc);
      if (term->cursor.doc() != doc) continue;
      term->score_here = term->scorer.Score(norms, term->cursor.tf_title(),
                                            term->cursor.tf_body());
      reached += term->score_here + term->block_bonus;
    }
    double score = 0.0;
    for (WandTerm* term : by_order_) {
      if (term->cursor.doc() == doc) score += term->score_here;
    }
    OfferWithBonus(doc, score);
  }

  // The disjunction's loop once a single cursor is live: its documents in
  // order, a block skipped whole when its bound cannot reach the k-th best
  // score. A lone term earns no proximity bonus, which needs two.
  template <bool kCollect>
  void RunOneTerm(WandTerm* term, std::vector<uint64_t>* matched) {
    PostingCursor& cursor = term->cursor;
    while (cursor.doc() != kNoMoreDocs) {
      const uint32_t doc = cursor.doc();
      if (Pruning<kCollect>()) {
        const double threshold = Threshold();
        if (term->max_score < threshold) {
          totals_->lower_bound = true;
          break;
        }
        cursor.ShallowSeek(doc);
        UpdateBlockBounds(term);
        if (term->block_max < threshold) {
          totals_->lower_bound = true;
          const uint32_t last = cursor.shallow_last_doc();
          if (last == kNoMoreDocs) break;
          cursor.SeekTo(last + 1);
          continue;
        }
      }
      Evaluate<kCollect>(doc, matched);
      cursor.Next();
    }
    context_->Fail(cursor.status());
  }

  template <bool kCollect>
  void Evaluate(uint32_t doc, std::vector<uint64_t>* matched) {
    if (!Admit<kCollect>(doc, matched)) return;
    const Bm25f::LengthNorms norms = context_->bm25().Norms(
        columns_.lengths[doc].title, columns_.lengths[doc].body);
    double score = 0.0;
    for (WandTerm* term : by_order_) {
      if (term->cursor.doc() != doc) continue;
      score += term->scorer.Score(norms, term->cursor.tf_title(),
                                  term->cursor.tf_body());
    }
    OfferWithBonus(doc, score);
  }

  // Whether `doc` passes the filter and no excluded term holds it; if so
  // it is counted (and with kCollect, set in `matched`).
  template <bool kCollect>
  bool Admit(uint32_t doc, std::vector<uint64_t>* matched) {
    if (!filter_->Accept(doc)) return false;
    for (auto& ex : excluded_) {
      ex->SeekTo(doc + 1);
      if (ex->doc() == doc + 1) return false;
    }
    ++totals_->count;
    if constexpr (kCollect) {
      (*matched)[doc >> 6] |= uint64_t{1} << (doc & 63);
    }
    return true;
  }

  // Offers `doc` to the top k with `score` plus its proximity bonus, which
  // is computed only when the sum might enter.
  void OfferWithBonus(uint32_t doc, double score) {
    if (proximity_ != nullptr) {
      absl::StatusOr<std::optional<double>> bonus = Bonus(doc, score);
      if (!bonus.ok()) {
        context_->Fail(bonus.status());
        return;
      }
      if (!bonus->has_value()) return;  // cannot enter
      score += **bonus;
    }
    if (top_->MayTake(score)) {
      top_->Offer({score, columns_.id(doc), columns_.published(doc),
                   context_->ordinal(), doc});
      if (bar_ != nullptr && top_->full()) bar_->Raise(top_->min_score());
    }
  }

  // The proximity bonus of `doc` (0 with fewer than two terms in it), or
  // nullopt when `score` plus any bonus it could have cannot enter the top
  // k: positions are read only for documents that might.
  absl::StatusOr<std::optional<double>> Bonus(uint32_t doc, double score) {
    double bound = 0.0;
    size_t present = 0;
    for (WandTerm* term : bonus_carriers_) {
      if (term->cursor.doc() != doc) continue;
      // The skip data is on the block that holds `doc`.
      UpdateBlockBounds(term);
      bound += term->block_bonus;
      ++present;
    }
    if (present < 2) return 0.0;
    if (!top_->MayTake(score + WithRoundingMargin(bound))) return std::nullopt;
    SIFT_RETURN_IF_ERROR(proximity_->MoveTo(doc).status());
    if (!top_->MayTake(score + proximity_->Bound(doc))) return std::nullopt;
    return proximity_->Bonus(doc);
  }

  // Scoring a candidate loads its field lengths from a column as long as
  // the segment, which misses the cache (a profile of the 200k index put a
  // tenth of OR's time on that one load): the load of the candidate
  // kPrefetchAhead postings on starts now. For MaxScore's essential terms,
  // whose candidates lie far apart: on the 5M index, four postings ahead
  // took OR CPU from 38.3-39.1 s to 36.5-37.7 s; on the 200k one, sixteen
  // instead of four took 1.34-1.84 s against 1.48-2.05 s in three
  // alternations (eight was no better than four). The one-term loop and the
  // conjunction's lead, tried the same way, got slower (their candidates sit
  // close together, and the hardware prefetcher has them).
  void PrefetchAhead(const PostingCursor& cursor) const {
    const uint32_t ahead = cursor.PeekInBlock(kPrefetchAhead);
    if (ahead == kNoMoreDocs) return;
    __builtin_prefetch(columns_.lengths.address(ahead));
  }

  void UpdateBlockBounds(WandTerm* term) {
    const uint32_t last = term->cursor.shallow_last_doc();
    if (last == kNoMoreDocs) {
      term->block_max = term->block_bonus = 0.0;
      return;
    }
    // Cached per block: the skip entry changes with its last doc.
    if (term->block_last_doc == last) return;
    term->block_last_doc = last;
    const Impacts& impacts = term->cursor.shallow_impacts();
    term->block_max = term->scorer.Bound(impacts);
    term->block_bonus = term->proximity >= 0
                            ? proximity_->ShareBound(term->proximity, impacts)
                            : 0.0;
  }

  SegmentContext* context_;
  SegmentFilter* filter_;
  const SearchSpec& spec_;
  TopK* top_;
  Totals* totals_;
  SharedBar* bar_;
  const Columns& columns_;
  std::vector<std::unique_ptr<WandTerm>> terms_;
  std::vector<WandTerm*> by_order_;
  std::vector<std::unique_ptr<Iter>> excluded_;
  std::unique_ptr<ProximityScorer> proximity_;
  std::vector<WandTerm*> bonus_carriers_;
  // Must clauses: every term is required (no should clause then).
  bool conjunction_ = false;
  // A required term has no postings in the segment.
  bool nothing_ = false;
};

}  // namespace

bool WandApplies(const PlanNode& root) {
  if (root.kind == PlanNode::Kind::kTerm) {
    return root.fields == TextFields::kTitleAndBody;
  }
  if (root.kind != PlanNode::Kind::kBoolean) return false;
  // Terms only as should clauses, or only as must clauses.
  if (root.must.empty() == root.should.empty()) return false;
  const std::vector<PlanNode>& terms =
      root.must.empty() ? root.should : root.must;
  for (const PlanNode& child : terms) {
    if (child.kind != PlanNode::Kind::kTerm ||
        child.fields != TextFields::kTitleAndBody) {
      return false;
    }
  }
  return true;
}

absl::Status RunWand(SegmentContext* context, const PlanNode& root,
                     const std::vector<const PlanNode*>& proximity_terms,
                     SegmentFilter* filter, const SearchSpec& spec, TopK* top,
                     Totals* totals, std::vector<uint64_t>* matched,
                     DocRange range, SharedBar* bar) {
  Wand wand(context, filter, spec, top, totals, bar);
  SIFT_RETURN_IF_ERROR(wand.Init(root, proximity_terms, range));
  if (matched != nullptr) {
    wand.Run<true>(matched);
  } else {
    wand.Run<false>(nullptr);
  }
  return absl::OkStatus();
}

}  // namespace sift::storage::segment
