#ifndef SIFT_SERVICES_STORAGE_INDEX_VIEW_H_
#define SIFT_SERVICES_STORAGE_INDEX_VIEW_H_

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "services/storage/merge_policy.h"
#include "services/storage/segment/live_docs.h"
#include "services/storage/segment/segment.h"

namespace sift::storage {

// One segment of a view, with the deletions that view sees.
struct ViewSegment {
  std::shared_ptr<const segment::Segment> segment;
  std::shared_ptr<const segment::LiveDocs> live_docs;
};

// A point-in-time state of a shard's index: its segments, each with its own
// deletions, and the live totals the scorer needs. Immutable: a writer
// builds the next view (IndexViewBuilder) and publishes it, while searches
// go on with the one they took, holding no lock (RocksDB's SuperVersion,
// Lucene's near-real-time readers). Whoever holds a view keeps its
// segments and deletions alive. Thread-safe.
class IndexView {
 public:
  // A view of `segments` with the totals counted from them.
  static std::shared_ptr<const IndexView> Make(
      std::vector<ViewSegment> segments);
  // A view of no segment.
  static std::shared_ptr<const IndexView> Empty();

  // By id.
  const std::vector<ViewSegment>& segments() const { return segments_; }
  // The segment with `id`, or null.
  const ViewSegment* Find(uint32_t id) const;

  // Live documents, and the terms in their titles and bodies.
  uint64_t doc_count() const { return doc_count_; }
  uint64_t total_title_terms() const { return total_title_terms_; }
  uint64_t total_body_terms() const { return total_body_terms_; }
  // Names this view among every view of every index of every process: the
  // statistics (counts, document frequencies) of two views with the same
  // version are the same. Never 0. A coordinator caches statistics under it
  // (StatsResponse.stats_version).
  uint64_t stats_version() const { return stats_version_; }

  // The segments as a search or merge reads them, valid while the view is.
  std::vector<segment::SegmentSnapshot> Snapshots() const;
  // What the merge policy needs to know.
  std::vector<SegmentStats> Stats() const;

 private:
  friend class IndexViewBuilder;
  // Live documents and terms of one segment.
  struct Live {
    uint64_t docs = 0;
    uint64_t title_terms = 0;
    uint64_t body_terms = 0;
  };
  static Live Count(const ViewSegment& segment);
  // `segments` by id, `live` aligned with them.
  IndexView(std::vector<ViewSegment> segments, std::vector<Live> live);

  std::vector<ViewSegment> segments_;
  std::vector<Live> live_;
  uint64_t doc_count_ = 0;
  uint64_t total_title_terms_ = 0;
  uint64_t total_body_terms_ = 0;
  uint64_t stats_version_ = 0;
};

// Makes the view that follows `base`: segments added and removed, documents
// deleted. Only the deletions of the segments it deletes from are copied,
// and the totals are updated from what changed, so a commit costs what it
// touches, not the size of the index. Not thread-safe; one per change.
class IndexViewBuilder {
 public:
  explicit IndexViewBuilder(std::shared_ptr<const IndexView> base);

  // Adds a segment (whose id the view must not hold).
  void Add(ViewSegment segment);
  // Removes the segment with `id`, if any.
  void Remove(uint32_t id);
  // Deletes `doc` of the segment with `id` (one of the base view's or one
  // added here); deleting a deleted document does nothing.
  void Delete(uint32_t id, uint32_t doc);
  // The segment with `id` in the view being built (its deletions as of the
  // base view or its addition), or null.
  const ViewSegment* Find(uint32_t id) const {
    auto it = segments_.find(id);
    return it == segments_.end() ? nullptr : &it->second;
  }

  std::shared_ptr<const IndexView> Build();

 private:
  std::map<uint32_t, ViewSegment> segments_;
  std::map<uint32_t, IndexView::Live> live_;
  std::map<uint32_t, std::vector<uint32_t>> deleted_;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_INDEX_VIEW_H_
