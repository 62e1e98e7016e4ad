// SegmentIndex: opening, loading, closing, and the reads. Writes are in
// segment_index_write.cc, flushes and merges in
// segment_index_maintenance.cc.

#include "services/storage/segment_index.h"

#include <algorithm>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/codec/big_endian.h"
#include "common/status/status_macros.h"
#include "services/storage/internal/rocksdb_status.h"
#include "services/storage/segment/builder.h"
#include "services/storage/view_search.h"

namespace sift::storage {

using codec::GetBigEndian64;
using internal::FromRocksDbStatus;

namespace {

// Whether the id map holds `id` at `where`: a replayed document is live only
// then; otherwise a later write replaced or deleted it.
absl::StatusOr<bool> PointsAt(IndexDatabase& db, absl::string_view id,
                              const Location& where) {
  std::string location;
  const rocksdb::Status s =
      db.db()->Get(rocksdb::ReadOptions(), db.family(kIds),
                   rocksdb::Slice(id.data(), id.size()), &location);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocksDbStatus(s, "replaying the log");
  return Location::Decode(location) == std::optional<Location>(where);
}

std::unique_ptr<segment::SearchHelpers> MakeSearchHelpers(int asked) {
  const int processors =
      std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int threads = asked < 0 ? processors - 1 : asked;
  if (threads == 0) return nullptr;
  segment::SearchHelpers::Options options;
  options.threads = threads;
  options.processors = processors;
  return std::make_unique<segment::SearchHelpers>(options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<SegmentIndex>> SegmentIndex::Open(
    const std::string& dir, const IndexOptions& options) {
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<IndexDatabase> db,
                        IndexDatabase::Open(dir, options));
  std::unique_ptr<SegmentIndex> index(new SegmentIndex(std::move(db), options));
  SIFT_RETURN_IF_ERROR(index->Load());
  if (options.background_work) {
    index->flusher_ = std::thread([raw = index.get()] { raw->FlushLoop(); });
    index->merger_ = std::thread([raw = index.get()] { raw->MergeLoop(); });
  }
  return index;
}

SegmentIndex::SegmentIndex(std::unique_ptr<IndexDatabase> db,
                           const IndexOptions& options)
    : options_(options),
      db_(std::move(db)),
      stored_(std::make_unique<StoredDocuments>(
          options.document_dictionary_samples,
          options.document_dictionary_bytes, options.store_body_apart)),
      search_helpers_(MakeSearchHelpers(options.search_helpers)),
      view_(IndexView::Empty()),
      write_queue_(options.max_write_group),
      append_queue_(options.max_write_group) {}

SegmentIndex::~SegmentIndex() {
  // Nobody is left to report to; the log already holds every
  // acknowledged write.
  Close().IgnoreError();
}

absl::Status SegmentIndex::Load() {
  MutexLock write_lock(&write_mu_);
  rocksdb::DB* db = db_->db();
  std::string value;
  std::vector<uint32_t> persisted;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), db_->family(kMeta),
                              kSegmentListKey, &value);
  if (s.ok()) {
    SIFT_ASSIGN_OR_RETURN(persisted, DecodeSegmentList(value));
  } else if (!s.IsNotFound()) {
    return FromRocksDbStatus(s, "reading the segment list");
  }
  s = db->Get(rocksdb::ReadOptions(), db_->family(kMeta), kNextSegmentKey,
              &value);
  if (s.ok()) {
    SIFT_ASSIGN_OR_RETURN(next_segment_id_, DecodeSegmentId(value));
  } else if (!s.IsNotFound()) {
    return FromRocksDbStatus(s, "reading the next segment id");
  }
  SIFT_RETURN_IF_ERROR(LoadDictionaries());
  SIFT_RETURN_IF_ERROR(db_->RemoveOrphans(
      std::set<uint32_t>(persisted.begin(), persisted.end())));

  std::vector<ViewSegment> segments;
  for (uint32_t id : persisted) {
    ViewSegment& view = segments.emplace_back();
    SIFT_ASSIGN_OR_RETURN(view.segment,
                          segment::Segment::Open(db_->segment_store(), id));
    SIFT_ASSIGN_OR_RETURN(view.live_docs, view.segment->ReadLiveDocs());
    next_segment_id_ = std::max(next_segment_id_, id + 1);
  }

  // Replay the log of documents not yet flushed into memory segments. A
  // logged document is live when the id map still points at it; the
  // others keep their doc numbers but start deleted.
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), db_->family(kPending)));
  rocksdb::WriteBatch converted;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::optional<PendingEntryKey> pending =
        DecodePendingKey(absl::string_view(it->key().data(), it->key().size()));
    if (!pending) return absl::DataLossError("corrupt log key");
    const uint32_t id = pending->segment_id;
    const absl::string_view entry(it->value().data(), it->value().size());
    if (pending->form != PendingForm::kFields) {
      absl::StatusOr<segment::SegmentValues> values;
      if (pending->form == PendingForm::kValues) {
        values = segment::SegmentValues::Parse(entry);
      } else {
        SIFT_ASSIGN_OR_RETURN(values, LoggedSegmentValues(entry));
        if (options_.op_log_writes > 0) {
          MutexLock log_lock(&log_mu_);
          logged_segments_[id] = GetBigEndian64(entry.data());
        } else {
          // The op log goes below: the segment's entry takes its values.
          std::string serialized;
          values->SerializeTo(&serialized);
          converted.Put(db_->family(kPending), PendingValuesKey(id),
                        serialized);
          converted.Delete(db_->family(kPending), it->key());
        }
      }
      if (!values.ok()) {
        return absl::DataLossError(
            absl::StrCat("corrupt log entry of segment ", id));
      }
      ViewSegment& view = segments.emplace_back();
      SIFT_ASSIGN_OR_RETURN(
          view.segment, segment::Segment::FromMemory(id, *std::move(values)));
      std::vector<uint32_t> stale;
      const segment::Columns& columns = view.segment->columns();
      for (uint32_t doc = 0; doc < view.segment->doc_count(); ++doc) {
        SIFT_ASSIGN_OR_RETURN(const bool live, PointsAt(*db_, columns.id(doc),
                                                        Location{id, doc}));
        if (!live) stale.push_back(doc);
      }
      view.live_docs =
          segment::LiveDocs::WithDeletedDocs(view.segment->doc_count(), stale);
      next_segment_id_ = std::max(next_segment_id_, id + 1);
      continue;
    }
    absl::StatusOr<std::vector<v1::AnalyzedDocument>> logged = DecodeLogEntry(
        absl::string_view(it->value().data(), it->value().size()));
    if (!logged.ok()) {
      return absl::DataLossError(
          absl::StrCat("corrupt log entry of segment ", id));
    }
    std::vector<v1::AnalyzedDocument>& docs = *logged;
    std::vector<segment::SegmentDocument> inputs(docs.size());
    std::vector<uint32_t> stale;
    for (size_t i = 0; i < docs.size(); ++i) {
      v1::AnalyzedDocument& doc = docs[i];
      const std::string doc_id = doc.document().id();
      inputs[i].analyzed = &doc;
      SIFT_ASSIGN_OR_RETURN(
          const bool live,
          PointsAt(*db_, doc_id, Location{id, static_cast<uint32_t>(i)}));
      if (!live) {
        stale.push_back(static_cast<uint32_t>(i));
        continue;
      }
      std::string stored;
      s = db->Get(rocksdb::ReadOptions(), db_->family(kDocs), doc_id, &stored);
      if (!s.ok()) return FromRocksDbStatus(s, "replaying the log");
      const absl::Status decoded =
          stored_->Decode(stored, doc.mutable_document());
      if (!decoded.ok()) {
        return absl::DataLossError(absl::StrCat("stored document \"", doc_id,
                                                "\": ", decoded.message()));
      }
      SIFT_RETURN_IF_ERROR(
          KeywordsOf(doc.document(), "the log's document", &inputs[i]));
    }
    SIFT_ASSIGN_OR_RETURN(auto values, segment::BuildSegment(inputs));
    ViewSegment& view = segments.emplace_back();
    SIFT_ASSIGN_OR_RETURN(view.segment,
                          segment::Segment::FromMemory(id, std::move(values)));
    view.live_docs =
        segment::LiveDocs::WithDeletedDocs(view.segment->doc_count(), stale);
    next_segment_id_ = std::max(next_segment_id_, id + 1);
  }
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "replaying the log"));
  if (converted.Count() > 0) {
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    SIFT_RETURN_IF_ERROR(
        FromRocksDbStatus(db->Write(write_options, &converted),
                          "keeping the memory segments without an op log"));
  }
  SIFT_RETURN_IF_ERROR(LoadOpLog());
  Publish(IndexView::Make(std::move(segments)));
  return absl::OkStatus();
}

absl::Status SegmentIndex::LoadDictionaries() {
  rocksdb::DB* db = db_->db();
  std::string current;
  const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), db_->family(kMeta),
                                    kCurrentDictionaryKey, &current);
  if (s.IsNotFound()) return absl::OkStatus();
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(s, "reading the dictionaries"));
  if (current.size() != 4) {
    return absl::DataLossError("corrupt current dictionary id");
  }
  const uint32_t current_id = codec::GetBigEndian32(current.data());
  std::shared_ptr<const DocumentDictionary> newest;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), db_->family(kMeta)));
  for (it->Seek(DictionaryKey(0)); it->Valid(); it->Next()) {
    const std::optional<uint32_t> id = DecodeDictionaryKey(
        absl::string_view(it->key().data(), it->key().size()));
    if (!id) break;
    absl::StatusOr<std::shared_ptr<const DocumentDictionary>> dictionary =
        DocumentDictionary::FromBytes(it->value().ToString());
    if (!dictionary.ok() || (*dictionary)->id() != *id) {
      return absl::DataLossError(
          absl::StrCat("stored documents' dictionary ", *id, " is corrupt"));
    }
    if (*id == current_id) {
      newest = *std::move(dictionary);
    } else {
      stored_->Add(*std::move(dictionary), /*saved=*/true);
    }
  }
  SIFT_RETURN_IF_ERROR(
      FromRocksDbStatus(it->status(), "reading the dictionaries"));
  if (newest == nullptr) {
    return absl::DataLossError(
        absl::StrCat("the stored documents' current dictionary ", current_id,
                     " is missing"));
  }
  stored_->Add(std::move(newest), /*saved=*/true);
  return absl::OkStatus();
}

absl::Status SegmentIndex::LoadOpLog() {
  rocksdb::DB* db = db_->db();
  std::string value;
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), db_->family(kMeta), kLastOpKey, &value);
  OpId last;
  if (s.ok()) {
    SIFT_ASSIGN_OR_RETURN(last, DecodeOpId(value));
  } else if (!s.IsNotFound()) {
    return FromRocksDbStatus(s, "reading the last write");
  }
  {
    MutexLock lock(&op_mu_);
    last_op_ = last;
  }
  MutexLock log_lock(&log_mu_);
  OpId end = last;
  std::unique_ptr<rocksdb::Iterator> it(
      db->NewIterator(rocksdb::ReadOptions(), db_->family(kOpLog)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::optional<uint64_t> seq =
        DecodeOpLogKey(absl::string_view(it->key().data(), it->key().size()));
    if (!seq) return absl::DataLossError("corrupt op log key");
    const absl::string_view value(it->value().data(), it->value().size());
    SIFT_ASSIGN_OR_RETURN(const uint64_t term, DecodeOpLogTerm(value));
    op_log_.Add(*seq, value.size() - 8);
    if (*seq > end.seq) end = OpId{term, *seq};
  }
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "reading the op log"));
  if (options_.op_log_writes == 0 && !op_log_.empty()) {
    if (end.seq != last.seq) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the op log holds writes ", last.seq + 1, " to ", end.seq,
          " that were never applied; open the index with an op log (as a "
          "copy of a replicated shard) to apply or drop them"));
    }
    // Kept by an earlier run with copies; nothing reads it now.
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    SIFT_RETURN_IF_ERROR(
        FromRocksDbStatus(db->DeleteRange(write_options, db_->family(kOpLog),
                                          OpLogKey(op_log_.first()),
                                          OpLogKey(op_log_.last() + 1)),
                          "dropping the op log"));
    op_log_.DropAfter(0);
  }
  MutexLock lock(&op_mu_);
  log_end_ = end;
  return absl::OkStatus();
}

OpId SegmentIndex::LastOp() const {
  MutexLock lock(&op_mu_);
  return last_op_;
}

OpId SegmentIndex::LogEnd() const {
  MutexLock lock(&op_mu_);
  return log_end_;
}

absl::StatusOr<std::vector<v1::LoggedWrite>> SegmentIndex::ReadOpLog(
    uint64_t from, size_t max_bytes) const {
  std::vector<v1::LoggedWrite> out;
  // Read before the iterator: what the iterator sees is at least this.
  const uint64_t last = LogEnd().seq;
  if (from > last) return out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(rocksdb::ReadOptions(), db_->family(kOpLog)));
  size_t bytes = 0;
  uint64_t expected = from;
  for (it->Seek(OpLogKey(from)); it->Valid(); it->Next()) {
    const std::optional<uint64_t> seq =
        DecodeOpLogKey(absl::string_view(it->key().data(), it->key().size()));
    if (!seq) return absl::DataLossError("corrupt op log key");
    if (*seq != expected) break;
    if (!out.empty() && bytes + it->value().size() > max_bytes) break;
    SIFT_ASSIGN_OR_RETURN(
        out.emplace_back(),
        DecodeOpLogValue(
            *seq, absl::string_view(it->value().data(), it->value().size())));
    bytes += it->value().size();
    ++expected;
  }
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "reading the op log"));
  if (out.empty()) {
    return absl::OutOfRangeError(
        absl::StrCat("the op log no longer holds write ", from,
                     "; a copy that lacks it must start from a checkpoint"));
  }
  return out;
}

absl::StatusOr<uint64_t> SegmentIndex::TermAt(uint64_t seq) const {
  if (seq == 0) return 0;
  const OpId last = LastOp();
  if (seq == last.seq) return last.term;
  const OpId end = LogEnd();
  if (seq == end.seq) return end.term;
  std::string value;
  rocksdb::Status s = db_->db()->Get(
      rocksdb::ReadOptions(), db_->family(kOpLog), OpLogKey(seq), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(
        absl::StrCat("the op log does not hold write ", seq));
  }
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(s, "reading the op log"));
  return DecodeOpLogTerm(value);
}

absl::StatusOr<OpId> SegmentIndex::Checkpoint(const std::string& dir) const {
  SIFT_RETURN_IF_ERROR(db_->Checkpoint(dir));
  // What the copy holds is whatever RocksDB captured; ask the copy.
  return IndexDatabase::ReadLastOp(dir);
}

absl::Status SegmentIndex::Close() {
  {
    MutexLock lock(&work_mu_);
    stopping_ = true;
    flush_cv_.SignalAll();
    merge_cv_.SignalAll();
    room_cv_.SignalAll();
  }
  abandon_merges_.store(true, std::memory_order_relaxed);
  if (flusher_.joinable()) flusher_.join();
  if (merger_.joinable()) merger_.join();
  {
    MutexLock lock(&write_mu_);
    if (closed_) return absl::OkStatus();
  }
  // Flushing now makes the next start read segments instead of replaying
  // the log; a failure here loses nothing.
  absl::Status flushed = options_.flush_on_close
                             ? FlushOnce(/*all=*/true).status()
                             : absl::OkStatus();
  {
    MutexLock flush_lock(&flush_mu_);
    MutexLock merge_lock(&merge_mu_);
    {
      MutexLock write_lock(&write_mu_);
      closed_ = true;
      // No view holds a segment any more, so every replaced one can go.
      Publish(IndexView::Empty());
    }
    if (flushed.ok()) flushed = RemoveRetired();
  }
  // With the memtables on disk the write-ahead logs can go, and the next
  // start has nothing to replay.
  if (flushed.ok() && options_.flush_on_close) flushed = db_->FlushMemtables();
  absl::Status closed = db_->Close();
  SIFT_RETURN_IF_ERROR(flushed);
  return closed;
}

std::shared_ptr<const IndexView> SegmentIndex::CurrentView() const {
  MutexLock lock(&view_mu_);
  return view_;
}

void SegmentIndex::Publish(std::shared_ptr<const IndexView> view) {
  // The old view is released outside the lock: dropping the last reference
  // to a view frees its segments, which may take a while.
  std::shared_ptr<const IndexView> old;
  {
    MutexLock lock(&view_mu_);
    old = std::exchange(view_, std::move(view));
  }
}

uint64_t SegmentIndex::DocCount() const { return CurrentView()->doc_count(); }

absl::Status SegmentIndex::BackgroundError() const {
  MutexLock lock(&bg_mu_);
  return flush_error_.ok() ? merge_error_ : flush_error_;
}

std::vector<SegmentIndex::SegmentInfo> SegmentIndex::Segments() const {
  std::shared_ptr<const IndexView> view = CurrentView();
  std::vector<SegmentInfo> out;
  for (const ViewSegment& s : view->segments()) {
    out.push_back({s.segment->id(), s.segment->doc_count(),
                   s.live_docs->deleted_count(), s.segment->in_memory()});
  }
  return out;
}

absl::StatusOr<IndexStats> SegmentIndex::Stats(
    absl::Span<const TermKey> terms) const {
  std::shared_ptr<const IndexView> view = CurrentView();
  IndexStats stats;
  stats.doc_count = view->doc_count();
  stats.total_title_terms = view->total_title_terms();
  stats.total_body_terms = view->total_body_terms();
  for (const TermKey& term : terms) {
    SIFT_ASSIGN_OR_RETURN(stats.doc_freqs.emplace_back(),
                          OwnDocFreq(*view, term));
  }
  stats.disk_bytes = db_->DiskBytes();
  stats.background_error = BackgroundError();
  stats.version = view->stats_version();
  return stats;
}

absl::StatusOr<segment::SearchResult> SegmentIndex::Search(
    const ShardQuery& query) const {
  // The view keeps every segment and deletion set it names alive for as
  // long as the search runs; no lock is held meanwhile.
  std::shared_ptr<const IndexView> view = CurrentView();
  if (query.stats_version != 0 &&
      query.stats_version != view->stats_version()) {
    return absl::AbortedError(
        "the shard's statistics changed since the coordinator counted them");
  }
  return SearchView(*view, query, search_helpers_.get());
}

uint32_t SegmentIndex::DocumentDictionaryId() const {
  std::shared_ptr<const DocumentDictionary> current = stored_->Current();
  return current == nullptr ? 0 : current->id();
}

absl::StatusOr<v1::FetchResponse> SegmentIndex::Fetch(
    const v1::FetchRequest& request, StoredParts parts) const {
  v1::FetchResponse response;
  std::vector<rocksdb::Slice> keys(request.ids().begin(), request.ids().end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  if (!keys.empty()) {
    db_->db()->MultiGet(rocksdb::ReadOptions(), db_->family(kDocs), keys.size(),
                        keys.data(), values.data(), statuses.data());
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    v1::FetchResult* result = response.add_results();
    result->set_id(request.ids(static_cast<int>(i)));
    if (statuses[i].IsNotFound()) continue;
    SIFT_RETURN_IF_ERROR(
        FromRocksDbStatus(statuses[i], "reading a stored document"));
    const absl::Status decoded =
        stored_->Decode(absl::string_view(values[i].data(), values[i].size()),
                        result->mutable_document(), parts);
    if (!decoded.ok()) {
      return absl::DataLossError(absl::StrCat("stored document of \"",
                                              request.ids(static_cast<int>(i)),
                                              "\": ", decoded.message()));
    }
    result->set_found(true);
  }
  return response;
}

}  // namespace sift::storage
