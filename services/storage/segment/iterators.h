#ifndef SIFT_SERVICES_STORAGE_SEGMENT_ITERATORS_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_ITERATORS_H_

// Document-at-a-time iterators over one segment, one per kind of plan node:
// terms, phrases, conjunctions that leapfrog from the rarest clause,
// disjunctions, booleans with exclusions, match-all, date ranges, and the
// term sets of prefix and fuzzy clauses. Every query that WAND does not run
// (wand.h) runs as a tree of these.

#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/storage/segment/context.h"
#include "services/storage/segment/plan.h"
#include "services/storage/segment/postings.h"
#include "sift/v1/document.pb.h"

namespace sift::storage::segment {

// Iterator doc numbers are segment doc numbers plus one, so that 0 means
// "before the first document" and SeekTo(d) with d >= 1 has one meaning;
// kNoMoreDocs ends every iterator. Deletions are not an iterator's
// business: the search loop skips deleted matches.
class Iter {
 public:
  virtual ~Iter() = default;
  uint32_t doc() const { return doc_; }
  // Moves to the first match >= target; stays when already there.
  virtual void SeekTo(uint32_t target) = 0;
  // Score of the current match: the sum of its matching clauses in plan
  // order.
  virtual double Score() = 0;
  // How Score() comes about at the current match, as a tree whose value is
  // Score()'s, computed by the same code in the same order.
  virtual v1::Explanation Explain() = 0;
  // Roughly how many documents it matches, to order conjunctions.
  virtual uint64_t cost() const = 0;
  // Adds the postings cursors of the plain text terms this tree scores
  // (terms of must and should clauses), with their plan nodes, so that the
  // proximity bonus reads positions where the tree already is. A caller
  // may move them forward to the current document, never further.
  virtual void CollectTermCursors(
      std::vector<std::pair<const PlanNode*, PostingCursor*>>* out) {}

  // Told to the root by a search that keeps the top k and no longer counts
  // every match: from now on only matches that may score `score` or more
  // are wanted, so an iterator that can bound its score (a phrase, from its
  // terms' frequencies and block impacts) may pass over the others without
  // verifying them. The others ignore it. Raised as the k-th best score
  // rises, never lowered.
  virtual void SetMinCompetitiveScore(double score) {}
  // Whether it (or a clause under it) passed over any candidate that way:
  // the matches counted are then a lower bound.
  virtual bool pruned() const { return pruned_; }
  // At least the score of any match in the segment, from the postings'
  // impacts (no read); infinity when the iterator cannot bound it. A
  // disjunction uses its clauses' bounds to pass over documents whose
  // clauses cannot reach a minimum competitive score together.
  virtual double MaxScore() const {
    return std::numeric_limits<double>::infinity();
  }

 protected:
  uint32_t doc_ = 0;
  bool pruned_ = false;
};

// The iterator tree of `node` over the context's segment. Read errors after
// this are recorded in `context`. INVALID_ARGUMENT when a prefix or fuzzy
// clause expands to more than kMaxPrefixTerms terms; DATA_LOSS on corrupt
// segment data.
absl::StatusOr<std::unique_ptr<Iter>> BuildIter(SegmentContext* context,
                                                const PlanNode& node);

// The documents that hold a keyword value (source or tag) of the context's
// segment, for filters: never explained, scoring 0. Null when no document
// holds it.
absl::StatusOr<std::unique_ptr<Iter>> BuildKeywordIter(
    SegmentContext* context, TermField field, const std::string& value);

// How often a phrase occurs in one field, given each phrase term's sorted
// positions there (positions[i] for the i-th term): a start p0 of the first
// term from which the following terms follow in order, each at the
// smallest position after the previous one, the last at most
// (n - 1) + slop after p0. Occurrences may overlap.
uint32_t CountPhraseOccurrences(
    const std::vector<std::vector<uint32_t>>& positions, uint32_t slop);

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_ITERATORS_H_
