#ifndef SIFT_SERVICES_STORAGE_SEGMENT_PROXIMITY_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_PROXIMITY_H_

// The term proximity bonus of the documents of one segment (Bm25f::
// Proximity), computed for exactly the documents that might enter a
// search's top hits: bounds from the terms' frequencies, which cost no
// read, rule out the others before any position is read.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/storage/segment/context.h"
#include "services/storage/segment/plan.h"
#include "services/storage/segment/postings.h"
#include "sift/v1/document.pb.h"

namespace sift::storage::segment {

// The terms whose closeness earns the bonus: the distinct plain text terms
// (title and body) of the plan's positive clauses, in plan order. Scoped,
// excluded, fuzzy and prefix clauses, and phrases (which score their own
// occurrences), take no part. The bonus needs two of them in a document.
std::vector<const PlanNode*> ProximityTerms(const PlanNode& root);

// Whether a search scores the proximity bonus at all: a weight, and two
// terms that could be close.
bool ScoresProximity(const SearchSpec& spec,
                     const std::vector<const PlanNode*>& terms);

// The bonus of documents of one segment, asked about in increasing doc
// order. Each term's postings cursor is one the caller already moves
// through the same postings (WAND's, or the iterator tree's), borrowed, or
// else its own; the scorer moves a cursor forward to the document asked
// about, never further. Positions are loaded the first time a document
// needs them. Not thread-safe.
class ProximityScorer {
 public:
  // `terms` as ProximityTerms gives them (at least two); `borrowed`, cursors
  // over the postings of some of them, by plan node. Both must outlive the
  // scorer.
  absl::Status Init(SegmentContext* context,
                    const std::vector<const PlanNode*>& terms,
                    absl::Span<const std::pair<const PlanNode*, PostingCursor*>>
                        borrowed = {});

  size_t size() const { return terms_.size(); }

  // At least term i's share of the bonus in any document whose postings
  // `impacts` describe (a block's, or the whole segment's): the largest of
  // the impacts' bounds.
  double ShareBound(size_t i, const Impacts& impacts) const;
  // At least the bonus of any document of the segment.
  double segment_bound() const { return segment_bound_; }

  // Moves the cursors to `raw`; returns how many of the terms occur in it.
  absl::StatusOr<size_t> MoveTo(uint32_t raw);
  // After MoveTo(raw): at least the bonus of `raw`, from the terms'
  // frequencies in it, without reading positions.
  double Bound(uint32_t raw);
  // After MoveTo(raw) found at least two terms: the bonus, from the terms'
  // positions.
  absl::StatusOr<double> Bonus(uint32_t raw);
  // Bonus(raw) as an explanation whose value is the bonus.
  absl::StatusOr<v1::Explanation> Explain(uint32_t raw);

 private:
  struct Term {
    const PlanNode* node = nullptr;
    PostingCursor own;
    PostingCursor* cursor = nullptr;  // &own, a borrowed one, or null
    bool positions_loaded = false;
    PositionsReader positions;
    uint32_t tf_title = 0;  // in the document MoveTo found, 0 if absent
    uint32_t tf_body = 0;
  };

  // Reads the positions of every present term in `raw` into title_/body_.
  absl::Status ReadPositions(uint32_t raw);

  SegmentContext* context_ = nullptr;
  std::vector<Term> terms_;
  std::vector<double> idfs_;
  std::vector<std::string> names_;
  double segment_bound_ = 0.0;
  std::vector<std::vector<uint32_t>> title_;
  std::vector<std::vector<uint32_t>> body_;
};

// `bound` made safe to compare with a bonus computed in another order: a
// relative margin far above double rounding, far below any score gap that
// matters.
inline double WithRoundingMargin(double bound) {
  return bound * (1.0 + 1e-9) + 1e-12;
}

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_PROXIMITY_H_
