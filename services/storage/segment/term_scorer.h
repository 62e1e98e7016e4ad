#ifndef SIFT_SERVICES_STORAGE_SEGMENT_TERM_SCORER_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_TERM_SCORER_H_

#include <algorithm>
#include <cstdint>

#include "services/storage/scoring.h"
#include "services/storage/segment/postings.h"
#include "services/storage/segment/segment.h"

namespace sift::storage::segment {

// The BM25F score of one term (or of a phrase, scored like a term whose
// frequency is its occurrences) in the documents of one segment, and its
// bounds for pruning. The single place that turns frequencies and lengths
// into a score, so that the term iterator, WAND and explanations agree bit
// for bit.
class TermScorer {
 public:
  TermScorer(const Bm25f* bm25, const Columns* columns, double idf,
             TextFields fields)
      : bm25_(bm25), columns_(columns), idf_(idf), fields_(fields) {}

  // The score of document `raw` with these frequencies in its title and
  // body (the one of a field the scorer does not count is ignored).
  double Score(uint32_t raw, uint32_t tf_title, uint32_t tf_body) const {
    return Score(Norms(raw), tf_title, tf_body);
  }
  // The same with the document's length normalisers, computed once for all
  // the terms scored in it: bit for bit the same number.
  double Score(const Bm25f::LengthNorms& norms, uint32_t tf_title,
               uint32_t tf_body) const {
    return bm25_->Score(idf_,
                        bm25_->WeightedTf(fields_, tf_title, tf_body, norms));
  }
  Bm25f::LengthNorms Norms(uint32_t raw) const {
    return bm25_->Norms(columns_->lengths[raw].title,
                        columns_->lengths[raw].body);
  }

  // At least the score of every posting `impact` describes: BM25F grows
  // with frequency and shrinks with length, so the largest frequencies and
  // the shortest fields together bound each of them.
  double Bound(const Impact& impact) const {
    return bm25_->Score(
        idf_,
        bm25_->WeightedTf(fields_, impact.max_tf_title, impact.max_tf_body,
                          impact.min_title_length, impact.min_body_length));
  }
  // The largest of the impacts' bounds: each posting is under one of them.
  double Bound(const Impacts& impacts) const {
    double bound = 0.0;
    for (const Impact& impact : impacts) bound = std::max(bound, Bound(impact));
    return bound;
  }

  double idf() const { return idf_; }
  TextFields fields() const { return fields_; }

 private:
  const Bm25f* bm25_;
  const Columns* columns_;
  double idf_;
  TextFields fields_;
};

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_TERM_SCORER_H_
