#ifndef SIFT_SERVICES_STORAGE_SEGMENT_TOP_K_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_TOP_K_H_

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "services/storage/segment/plan.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage::segment {

// Whether `sort` orders by score (the default) rather than by date.
inline bool IsRelevanceOrder(v1::SortOrder sort) {
  return sort == v1::SORT_ORDER_RELEVANCE || sort == v1::SORT_ORDER_UNSPECIFIED;
}

// The best `limit` hits offered to it over every segment of a search, in
// the search's order (score, or date, with ties by id), optionally only
// those strictly after a search-after cursor. Not thread-safe.
class TopK {
 public:
  struct Entry {
    double score = 0.0;
    absl::string_view id;  // into the segment's columns
    Published published;
    // Where the hit lives, for the passes after the search (explanations,
    // the proximity bonus of date-ordered hits): an index into the
    // searched segments, and the doc number in it.
    uint32_t segment = 0;
    uint32_t raw = 0;
  };

  // With `after`, only entries strictly after it in the order are kept.
  TopK(uint32_t limit, v1::SortOrder sort, const SearchAfter* after)
      : limit_(limit), sort_(sort), by_score_(IsRelevanceOrder(sort)) {
    if (after != nullptr) {
      after_ = Entry{after->score, after->id, after->published};
    }
  }

  // Whether `a` comes before `b` in the search's order.
  bool Better(const Entry& a, const Entry& b) const {
    if (!by_score_) {
      if (a.published.has_value() != b.published.has_value()) {
        return a.published.has_value();
      }
      if (a.published && *a.published != *b.published) {
        return sort_ == v1::SORT_ORDER_PUBLISHED_DESC
                   ? *a.published > *b.published
                   : *a.published < *b.published;
      }
      return a.id < b.id;
    }
    if (a.score != b.score) return a.score > b.score;
    return a.id < b.id;
  }

  // Keeps `entry` if it is after the cursor and among the best `limit`.
  // Excluding what precedes the cursor here, where every path offers its
  // hits, keeps pruning exact: the bar is the worst kept score, and every
  // kept entry is after the cursor, so a document skipped for not reaching
  // it could enter neither way.
  void Offer(const Entry& entry) {
    if (limit_ == 0) return;
    if (after_ && !Better(*after_, entry)) return;
    auto worse_on_top = [this](const Entry& a, const Entry& b) {
      return Better(a, b);
    };
    if (heap_.size() < limit_) {
      heap_.push_back(entry);
      std::push_heap(heap_.begin(), heap_.end(), worse_on_top);
    } else if (Better(entry, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), worse_on_top);
      heap_.back() = entry;
      std::push_heap(heap_.begin(), heap_.end(), worse_on_top);
    }
  }

  // False when a hit scoring at most `score` cannot enter, whatever its id
  // and date: in relevance order, once full, below the worst kept score.
  // Lets callers skip reading a match's id, date and positions.
  bool MayTake(double score) const {
    if (limit_ == 0) return false;
    if (!by_score_) return true;
    return heap_.size() < limit_ || score >= heap_.front().score;
  }

  bool full() const { return limit_ > 0 && heap_.size() >= limit_; }
  // The score a hit must reach once full (ties by id may still enter).
  double min_score() const { return heap_.front().score; }

  // The kept entries, best first.
  std::vector<Entry> Sorted() const;

 private:
  uint32_t limit_;
  v1::SortOrder sort_;
  bool by_score_;
  std::optional<Entry> after_;
  std::vector<Entry> heap_;
};

// How many matches a search counted.
// The score under which a document cannot enter a full top k whose k-th
// best score is `kth`, for pruning: a bound sums its parts in another order
// than the score it bounds, and the margin keeps rounding from pruning a
// document that ties.
inline double PruningBar(double kth) { return kth * (1.0 - 1e-9) - 1e-12; }

struct Totals {
  uint64_t count = 0;
  // Matches were skipped uncounted (pruned), so `count` is a lower bound.
  bool lower_bound = false;
};

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_TOP_K_H_
