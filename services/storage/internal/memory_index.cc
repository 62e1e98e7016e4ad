#include "services/storage/internal/memory_index.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "services/storage/segment/builder.h"
#include "services/storage/segment/postings.h"
#include "services/storage/storage_handler.h"
#include "services/storage/view_search.h"

namespace sift::storage::testing {

absl::Status MemoryIndex::Write(const v1::WriteRequest& request) {
  SIFT_RETURN_IF_ERROR(ValidateWriteRequest(request));
  // The last operation of each id wins; surviving upserts are numbered in
  // request order.
  std::map<std::string, int> last;
  for (int i = 0; i < request.ops_size(); ++i) {
    const v1::WriteOp& op = request.ops(i);
    last[op.has_upsert() ? op.upsert().document().id() : op.delete_id()] = i;
  }
  std::vector<segment::SegmentDocument> docs;
  std::vector<std::string> new_ids;
  IndexViewBuilder next(view_);
  for (int i = 0; i < request.ops_size(); ++i) {
    const v1::WriteOp& op = request.ops(i);
    const std::string& id =
        op.has_upsert() ? op.upsert().document().id() : op.delete_id();
    if (last[id] != i) continue;
    auto old = ids_.find(id);
    if (old != ids_.end()) {
      next.Delete(old->second.segment, old->second.doc);
      ids_.erase(old);
    }
    if (!op.has_upsert()) continue;
    segment::SegmentDocument& doc = docs.emplace_back();
    doc.analyzed = &op.upsert();
    const v1::Document& d = op.upsert().document();
    if (!d.source().empty()) {
      SIFT_ASSIGN_OR_RETURN(doc.source, NormalizeKeyword(d.source()));
    }
    std::set<std::string> tags;
    for (const std::string& tag : d.tags()) {
      SIFT_ASSIGN_OR_RETURN(std::string normalized, NormalizeKeyword(tag));
      if (!normalized.empty()) tags.insert(std::move(normalized));
    }
    doc.tags.assign(tags.begin(), tags.end());
    new_ids.push_back(id);
  }
  if (!docs.empty()) {
    const uint32_t id = next_segment_id_++;
    SIFT_ASSIGN_OR_RETURN(segment::SegmentValues values,
                          segment::BuildSegment(docs));
    SIFT_ASSIGN_OR_RETURN(std::shared_ptr<const segment::Segment> segment,
                          segment::Segment::FromMemory(id, std::move(values)));
    next.Add({segment, segment::LiveDocs::AllLive(segment->doc_count())});
    for (uint32_t d = 0; d < new_ids.size(); ++d) ids_[new_ids[d]] = {id, d};
  }
  view_ = next.Build();
  if (layout_ == Layout::kMerged) return MergeAll();
  return absl::OkStatus();
}

absl::Status MemoryIndex::MergeAll() {
  if (view_->segments().empty()) return absl::OkStatus();
  const std::vector<segment::SegmentSnapshot> sources = view_->Snapshots();
  segment::SegmentValues values, postings;
  std::vector<std::vector<uint32_t>> doc_maps;
  SIFT_RETURN_IF_ERROR(
      segment::MergeSegments(sources, &doc_maps, &values, &postings));
  // The postings sort after everything else.
  values.Append(postings);
  const uint32_t id = next_segment_id_++;
  SIFT_ASSIGN_OR_RETURN(std::shared_ptr<const segment::Segment> merged,
                        segment::Segment::FromMemory(id, std::move(values)));
  std::map<std::pair<uint32_t, uint32_t>, std::string> by_place;
  for (const auto& [doc_id, location] : ids_) {
    by_place[{location.segment, location.doc}] = doc_id;
  }
  for (size_t s = 0; s < sources.size(); ++s) {
    const uint32_t from = sources[s].segment->id();
    for (uint32_t d = 0; d < doc_maps[s].size(); ++d) {
      if (doc_maps[s][d] == segment::kNoMoreDocs) continue;
      ids_[by_place.at({from, d})] = {id, doc_maps[s][d]};
    }
  }
  view_ = IndexView::Make(
      {{merged, segment::LiveDocs::AllLive(merged->doc_count())}});
  return absl::OkStatus();
}

absl::StatusOr<v1::ShardSearchResponse> MemoryIndex::Search(
    const v1::ShardSearchRequest& request) const {
  SIFT_ASSIGN_OR_RETURN(ShardQuery query, DecodeShardQuery(request));
  SIFT_ASSIGN_OR_RETURN(segment::SearchResult result,
                        SearchView(*view_, query, helpers_));
  return EncodeSearchResponse(query, std::move(result));
}

absl::StatusOr<uint64_t> MemoryIndex::DocFreq(const std::string& term,
                                              v1::Field field) const {
  v1::StatsRequest request;
  v1::TermRef* ref = request.add_terms();
  ref->set_term(term);
  ref->set_field(field);
  SIFT_ASSIGN_OR_RETURN(std::vector<TermKey> keys, DecodeStatsRequest(request));
  return OwnDocFreq(*view_, keys[0]);
}

}  // namespace sift::storage::testing
