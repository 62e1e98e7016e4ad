#include "services/storage/index_view.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/random/random.h"

namespace sift::storage {
namespace {

// Views are numbered from a random start, drawn once per process: versions
// then differ between the copies of a shard and across restarts, where a
// counter from 1 would repeat and make a coordinator trust the statistics
// of another state.
uint64_t NextStatsVersion() {
  static std::atomic<uint64_t> next{absl::Uniform<uint64_t>(absl::BitGen())};
  uint64_t version = next.fetch_add(1, std::memory_order_relaxed);
  // 0 says "no version" on the wire.
  if (version == 0) version = next.fetch_add(1, std::memory_order_relaxed);
  return version;
}

}  // namespace

IndexView::Live IndexView::Count(const ViewSegment& segment) {
  const segment::Segment& s = *segment.segment;
  const segment::LiveDocs& live_docs = *segment.live_docs;
  Live live{live_docs.live_count(), s.meta().total_title_terms,
            s.meta().total_body_terms};
  if (live_docs.deleted_count() == 0) return live;
  const segment::Columns& c = s.columns();
  for (uint32_t d = 0; d < s.doc_count(); ++d) {
    if (!live_docs.IsDeleted(d)) continue;
    live.title_terms -= c.lengths[d].title;
    live.body_terms -= c.lengths[d].body;
  }
  return live;
}

IndexView::IndexView(std::vector<ViewSegment> segments, std::vector<Live> live)
    : segments_(std::move(segments)),
      live_(std::move(live)),
      stats_version_(NextStatsVersion()) {
  for (const Live& l : live_) {
    doc_count_ += l.docs;
    total_title_terms_ += l.title_terms;
    total_body_terms_ += l.body_terms;
  }
}

std::shared_ptr<const IndexView> IndexView::Make(
    std::vector<ViewSegment> segments) {
  std::sort(segments.begin(), segments.end(),
            [](const ViewSegment& a, const ViewSegment& b) {
              return a.segment->id() < b.segment->id();
            });
  std::vector<Live> live;
  live.reserve(segments.size());
  for (const ViewSegment& s : segments) live.push_back(Count(s));
  return std::shared_ptr<const IndexView>(
      new IndexView(std::move(segments), std::move(live)));
}

std::shared_ptr<const IndexView> IndexView::Empty() { return Make({}); }

const ViewSegment* IndexView::Find(uint32_t id) const {
  auto it = std::lower_bound(
      segments_.begin(), segments_.end(), id,
      [](const ViewSegment& s, uint32_t id) { return s.segment->id() < id; });
  if (it == segments_.end() || it->segment->id() != id) return nullptr;
  return &*it;
}

std::vector<segment::SegmentSnapshot> IndexView::Snapshots() const {
  std::vector<segment::SegmentSnapshot> out;
  out.reserve(segments_.size());
  for (const ViewSegment& s : segments_) {
    out.push_back({s.segment.get(), s.live_docs.get()});
  }
  return out;
}

std::vector<SegmentStats> IndexView::Stats() const {
  std::vector<SegmentStats> out;
  out.reserve(segments_.size());
  for (const ViewSegment& s : segments_) {
    out.push_back({s.segment->id(), s.segment->doc_count(),
                   s.live_docs->live_count(), s.segment->in_memory(),
                   s.segment->memory_bytes()});
  }
  return out;
}

IndexViewBuilder::IndexViewBuilder(std::shared_ptr<const IndexView> base) {
  for (size_t i = 0; i < base->segments_.size(); ++i) {
    const uint32_t id = base->segments_[i].segment->id();
    segments_.emplace(id, base->segments_[i]);
    live_.emplace(id, base->live_[i]);
  }
}

void IndexViewBuilder::Add(ViewSegment segment) {
  const uint32_t id = segment.segment->id();
  live_[id] = IndexView::Count(segment);
  segments_[id] = std::move(segment);
}

void IndexViewBuilder::Remove(uint32_t id) {
  segments_.erase(id);
  live_.erase(id);
  deleted_.erase(id);
}

void IndexViewBuilder::Delete(uint32_t id, uint32_t doc) {
  deleted_[id].push_back(doc);
}

std::shared_ptr<const IndexView> IndexViewBuilder::Build() {
  for (auto& [id, docs] : deleted_) {
    auto it = segments_.find(id);
    if (it == segments_.end()) continue;
    ViewSegment& view = it->second;
    std::sort(docs.begin(), docs.end());
    docs.erase(std::unique(docs.begin(), docs.end()), docs.end());
    IndexView::Live& live = live_[id];
    const segment::Columns& c = view.segment->columns();
    std::vector<uint32_t> newly;
    for (uint32_t doc : docs) {
      if (doc >= view.segment->doc_count() || view.live_docs->IsDeleted(doc)) {
        continue;
      }
      newly.push_back(doc);
      --live.docs;
      live.title_terms -= c.lengths[doc].title;
      live.body_terms -= c.lengths[doc].body;
    }
    if (!newly.empty()) view.live_docs = view.live_docs->PlusDeleted(newly);
  }
  deleted_.clear();
  std::vector<ViewSegment> segments;
  std::vector<IndexView::Live> live;
  segments.reserve(segments_.size());
  live.reserve(segments_.size());
  for (auto& [id, view] : segments_) {
    segments.push_back(view);
    live.push_back(live_[id]);
  }
  return std::shared_ptr<const IndexView>(
      new IndexView(std::move(segments), std::move(live)));
}

}  // namespace sift::storage
