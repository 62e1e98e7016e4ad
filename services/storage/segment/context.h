#ifndef SIFT_SERVICES_STORAGE_SEGMENT_CONTEXT_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_CONTEXT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/storage/scoring.h"
#include "services/storage/segment/live_docs.h"
#include "services/storage/segment/postings.h"
#include "services/storage/segment/segment.h"

namespace sift::storage::segment {

// What the parts of one search share over one segment: the segment, the
// deletions it is searched with, the scorer, and the values read from it.
// Cursors stop at the end on a read error and record the first one here,
// so that loops need not check after every step. Not thread-safe; one per
// segment and search.
class SegmentContext {
 public:
  // `ordinal`: the segment's index among those the search runs over,
  // which its hits carry.
  SegmentContext(const SegmentSnapshot& snapshot, const Bm25f* bm25,
                 uint32_t ordinal = 0)
      : snapshot_(snapshot), bm25_(bm25), ordinal_(ordinal) {}

  const Segment& segment() const { return *snapshot_.segment; }
  const LiveDocs& live_docs() const { return *snapshot_.live_docs; }
  const Bm25f& bm25() const { return *bm25_; }
  const Columns& columns() const { return snapshot_.segment->columns(); }
  uint32_t ordinal() const { return ordinal_; }

  // The value of the in-segment `key`, alive as long as this context;
  // nullopt if absent. A key is read once however often it is asked for:
  // a term of the query and of a filter, or of the query and of the
  // proximity bonus, costs one lookup.
  absl::StatusOr<std::optional<absl::string_view>> Load(const std::string& key);

  // Readies `reader` for the positions of the full-text `term`, which has
  // postings here: its first chunk through Load, each later one read when
  // the reader reaches it and let go when it moves on, so a query holds
  // one chunk of a common word's positions at a time. DATA_LOSS when the
  // segment lacks them. `reader` must not outlive this context.
  absl::Status OpenPositions(absl::string_view term, PositionsReader* reader);

  void Fail(const absl::Status& status) {
    if (status_.ok() && !status.ok()) status_ = status;
  }
  const absl::Status& status() const { return status_; }

 private:
  SegmentSnapshot snapshot_;
  const Bm25f* bm25_;
  uint32_t ordinal_;
  std::vector<std::unique_ptr<ValueHolder>> holders_;
  absl::flat_hash_map<std::string, std::optional<absl::string_view>> loaded_;
  absl::Status status_;
};

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_CONTEXT_H_
