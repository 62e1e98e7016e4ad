#ifndef SIFT_SERVICES_STORAGE_SEGMENT_LIVE_DOCS_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_LIVE_DOCS_H_

// Which documents of a segment are deleted, as one index view sees them.
// A LiveDocs never changes: deleting makes a new one (copy on write), so a
// search that holds the old one keeps seeing the segment as it was when it
// started, without a lock, as Lucene's near-real-time readers do.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/types/span.h"

namespace sift::storage::segment {

class Segment;

class LiveDocs {
 public:
  // Every one of `doc_count` documents live.
  static std::shared_ptr<const LiveDocs> AllLive(uint32_t doc_count);
  // The documents in `deleted` deleted, the others live; numbers past the
  // last document are ignored (the caller checks them).
  static std::shared_ptr<const LiveDocs> WithDeletedDocs(
      uint32_t doc_count, absl::Span<const uint32_t> deleted);

  // A copy with `docs` deleted as well; this one is unchanged. Documents
  // already deleted, and numbers past the last document, are skipped.
  std::shared_ptr<const LiveDocs> PlusDeleted(
      absl::Span<const uint32_t> docs) const;

  bool IsDeleted(uint32_t doc) const {
    return (bits_[doc >> 6] >> (doc & 63)) & 1;
  }
  uint32_t doc_count() const { return doc_count_; }
  uint32_t deleted_count() const { return deleted_count_; }
  uint32_t live_count() const { return doc_count_ - deleted_count_; }
  // One bit per document, set when deleted; (doc_count + 63) / 64 words.
  const std::vector<uint64_t>& deleted_bits() const { return bits_; }

 private:
  explicit LiveDocs(uint32_t doc_count)
      : doc_count_(doc_count), bits_((doc_count + 63) / 64, 0) {}
  // Deletes `doc` if it is in range and live.
  void Delete(uint32_t doc);

  uint32_t doc_count_;
  uint32_t deleted_count_ = 0;
  std::vector<uint64_t> bits_;
};

// A segment as one search or merge sees it: its immutable data and the
// deletions of the view it came from. Both must outlive the user, which
// the view that handed them out guarantees while it is held.
struct SegmentSnapshot {
  const Segment* segment = nullptr;
  const LiveDocs* live_docs = nullptr;
};

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_LIVE_DOCS_H_
