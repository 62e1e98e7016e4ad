#ifndef SIFT_SERVICES_STORAGE_SEGMENT_INDEX_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_INDEX_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/sync/mutex.h"
#include "rocksdb/write_batch.h"
#include "services/storage/index.h"
#include "services/storage/index_database.h"
#include "services/storage/index_view.h"
#include "services/storage/op_log_extent.h"
#include "services/storage/segment/builder.h"
#include "services/storage/segment/search_helpers.h"
#include "services/storage/segment/segment.h"
#include "services/storage/stored_documents.h"
#include "services/storage/write_queue.h"

namespace sift::storage {

// The shard index as immutable segments in RocksDB
// (docs/storage-format.md), read through immutable index views.
//
// A write builds a small segment of its new documents in memory, logs the
// documents' terms in the `pending` family in the same synced batch as the
// stored documents and the id map, and publishes a new view holding the
// segment, with the documents it replaced or deleted marked in new copies
// of their segments' deletions. One background thread flushes memory
// segments into one segment in RocksDB (and drops their log); another
// merges flushed segments of similar size, dropping deleted documents, and
// settles a quiet shard. Both work from a view and publish the result the
// same way. Flushes have a thread of their own because a merge into
// millions of documents takes minutes: behind it, the memory segments of
// a bulk load piled up (about 1.6 GB in a load of 5,000,000 news
// documents). Opening replays the log into memory segments, so a crash
// loses nothing acknowledged.
//
// Searches and statistics take the current view and hold no lock while
// they run; writers never wait for them. Concurrent writes share one synced
// write (WriteQueue). A failed background flush or merge stops writes with
// its error until a retry succeeds or the shard restarts (LevelDB's
// bg_error); reads go on.
//
// Locks, always taken in this order, each held briefly except where said:
//   flush_mu_  serialises flushes, which take only memory segments (held
//              while one builds);
//   merge_mu_  serialises merges, which take only flushed segments (held
//              while one builds); settling and force-merges, which may
//              take both kinds, hold both locks;
//   write_mu_  serialises commits: of a write group, of a flush or merge
//              (held across the commit's synced write);
//   log_mu_    serialises changes of the op log (held across an append's
//              synced write);
//   view_mu_   guards the pointer to the current view (held to copy or
//              swap it, nothing more).
// work_mu_, op_mu_ and bg_mu_ are leaves: nothing else is taken while they are
// held. WriteQueue's own lock is released before a leader commits.
class SegmentIndex final : public Index {
 public:
  // Opens the index in `dir`, creating it (not its parent) when missing.
  // FAILED_PRECONDITION when `dir` holds another format; UNAVAILABLE when
  // another process has it open.
  static absl::StatusOr<std::unique_ptr<SegmentIndex>> Open(
      const std::string& dir, const IndexOptions& options);

  ~SegmentIndex() override;
  SegmentIndex(const SegmentIndex&) = delete;
  SegmentIndex& operator=(const SegmentIndex&) = delete;

  absl::StatusOr<v1::WriteResponse> Apply(
      const v1::WriteRequest& request) override;
  absl::StatusOr<std::unique_ptr<PreparedWrite>> PrepareWrite(
      const v1::WriteRequest& request) const override;
  using Index::CommitWrite;
  absl::StatusOr<v1::WriteResponse> CommitWrite(
      std::unique_ptr<PreparedWrite> prepared, uint64_t term,
      OpId* committed) override;
  absl::StatusOr<OpId> AppendToLog(PreparedWrite& prepared,
                                   uint64_t term) override;
  absl::Status AppendLogged(absl::Span<const v1::LoggedWrite> writes) override;
  absl::StatusOr<std::unique_ptr<PreparedWrite>> PrepareLogged(
      v1::LoggedWrite&& write) const override;
  absl::StatusOr<std::vector<v1::WriteResponse>> ApplyLog(
      uint64_t through,
      absl::flat_hash_map<uint64_t, std::unique_ptr<PreparedWrite>>* prepared)
      override;
  absl::Status TruncateLog(uint64_t after) override;
  OpId LastOp() const override;
  OpId LogEnd() const override;
  absl::StatusOr<std::vector<v1::LoggedWrite>> ReadOpLog(
      uint64_t from, size_t max_bytes) const override;
  absl::StatusOr<uint64_t> TermAt(uint64_t seq) const override;
  absl::StatusOr<OpId> Checkpoint(const std::string& dir) const override;
  absl::StatusOr<IndexStats> Stats(
      absl::Span<const TermKey> terms) const override;
  absl::StatusOr<segment::SearchResult> Search(
      const ShardQuery& query) const override;
  using Index::Fetch;
  absl::StatusOr<v1::FetchResponse> Fetch(const v1::FetchRequest& request,
                                          StoredParts parts) const override;
  uint64_t DocCount() const override;
  absl::Status Close() override;

  // Flushes every memory segment and runs the merges that are due, on the
  // calling thread.
  absl::Status Flush();
  // Memory segments are flushed first; then the smallest segments merge
  // until at most `max_segments` remain, and segments with deletions are
  // rewritten.
  absl::Status ForceMerge(size_t max_segments) override;

  // The view searches start from now.
  std::shared_ptr<const IndexView> CurrentView() const;
  // The error of the last background flush or merge, while writes are
  // stopped by it; OK otherwise.
  absl::Status BackgroundError() const;

  // Segments as (id, documents, deleted, in memory), for tests and tools.
  struct SegmentInfo {
    uint32_t id;
    uint32_t documents;
    uint32_t deleted;
    bool in_memory;
  };
  std::vector<SegmentInfo> Segments() const;
  // The id of the dictionary new stored documents are compressed with; 0
  // before one is trained (for tests and tools).
  uint32_t DocumentDictionaryId() const;

 private:
  struct Prepared;
  struct PendingWrite;
  struct PendingAppend;

  SegmentIndex(std::unique_ptr<IndexDatabase> db, const IndexOptions& options);

  absl::Status Load();
  // The values of a memory segment whose pending entry names the op log's
  // write `where` (BE64); DATA_LOSS when the log lacks it.
  absl::StatusOr<segment::SegmentValues> LoggedSegmentValues(
      absl::string_view where) const;
  // Reads the stored documents' dictionaries.
  absl::Status LoadDictionaries() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Reads the last write and the op log's extent; drops the op log when
  // this index keeps none.
  absl::Status LoadOpLog() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Sets `out`'s normalised source and distinct, non-empty tags from
  // `doc`; INVALID_ARGUMENT naming the value under `path`.
  static absl::Status KeywordsOf(const v1::Document& doc,
                                 const std::string& path,
                                 segment::SegmentDocument* out);
  void Publish(std::shared_ptr<const IndexView> view)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // Writes (segment_index_write.cc): one group of CommitWrite calls as one
  // synced write and one new view.
  void CommitGroup(absl::Span<PendingWrite* const> group);
  // Adds `write`'s operations to `batch` and `next` given where its ids live
  // now (`located`, which it then updates); its response, or an error that
  // leaves both as they were.
  // `seq` is the write's sequence number; a memory segment it makes whose
  // values the op log holds is added to `logged` (see logged_segments_).
  absl::StatusOr<v1::WriteResponse> AddToCommit(
      Prepared& write, uint64_t seq,
      absl::flat_hash_map<std::string, std::optional<Location>>& located,
      rocksdb::WriteBatch& batch, IndexViewBuilder& next,
      std::vector<std::pair<uint32_t, uint64_t>>& logged)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // The last write the op log may drop: an applied one, older than every
  // write whose entry a memory segment still restores from.
  uint64_t TrimmableThrough() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(log_mu_);
  // One group of appends to the op log as one synced write.
  void AppendGroup(absl::Span<PendingAppend* const> group);
  // Adds the op log entry of write `id` to `batch`.
  void PutOpLog(rocksdb::WriteBatch& batch, const OpId& id,
                absl::string_view entry);
  // Sets `write.entry`: the op log entry when `for_log`, else only the new
  // segment's values.
  static void EncodeEntry(Prepared& write, bool for_log);
  // A write back from its op log entry (of this version, or a request
  // logged by an earlier one); DATA_LOSS when the entry is corrupt.
  absl::StatusOr<std::unique_ptr<Prepared>> DecodeEntry(
      std::string entry) const;
  // Wakes the flush thread when the memory segments are due.
  void RequestWorkIfDue(const IndexView& view);
  // Waits while the memory segments hold more than
  // options_.max_memory_bytes, until a flush makes room or the index
  // closes.
  void WaitForMemoryRoom();

  // Flushes and merges (segment_index_maintenance.cc).
  // Merges the segments `ids` of the current view into one flushed segment
  // and publishes a view with it in their place. Holds neither write_mu_
  // nor view_mu_ while it builds.
  // A background merge (`background`) is abandoned, CANCELLED, when the
  // index closes, so that a stop never waits for a long merge.
  // The caller holds flush_mu_ when `ids` holds memory segments, and
  // merge_mu_ when it holds flushed ones.
  absl::Status MergeInto(const std::vector<uint32_t>& ids,
                         bool background = false);
  // Flushes the memory segments when due (PickFlush), or whenever there
  // is one with `all`; true when it did.
  absl::StatusOr<bool> FlushOnce(bool all, bool background = false);
  // One merge of flushed segments the policy picks; true when it did one.
  absl::StatusOr<bool> MergeOnce(bool background = false);
  // Settles a quiet shard (PickSettle), one merge at a time, until it is
  // settled (true), a write commits meanwhile, or the index stops (false).
  absl::StatusOr<bool> Settle();
  // Compacts the ids family (IndexDatabase::CompactIds) when a flush or
  // merge rewrote entries of it since it was last compacted.
  absl::Status CompactIdsIfRewritten() ABSL_EXCLUSIVE_LOCKS_REQUIRED(merge_mu_);
  void FlushLoop();
  void MergeLoop();
  // Records the outcome of a round of one thread's background work: an
  // error stops writes; OK after an error starts them again once the other
  // thread has no error either.
  enum class Worker { kFlush, kMerge };
  void RecordBackgroundStatus(Worker worker, const absl::Status& status);
  // Drops the flushed segments merges replaced that no view holds any
  // more.
  absl::Status RemoveRetired() ABSL_LOCKS_EXCLUDED(write_mu_);

  const IndexOptions options_;
  const std::unique_ptr<IndexDatabase> db_;
  // Compresses documents as writes are prepared, decompresses them for
  // fetches; holds the dictionaries (thread-safe, so the const paths that
  // prepare writes may train or add one).
  const std::unique_ptr<StoredDocuments> stored_;
  // Null with IndexOptions::search_helpers 0.
  const std::unique_ptr<segment::SearchHelpers> search_helpers_;

  Mutex flush_mu_ ABSL_ACQUIRED_BEFORE(merge_mu_);
  Mutex merge_mu_ ABSL_ACQUIRED_BEFORE(write_mu_);

  Mutex write_mu_ ABSL_ACQUIRED_BEFORE(view_mu_);
  // Flushed segments a merge replaced, removed from RocksDB once no view
  // holds them.
  std::vector<std::pair<uint32_t, std::weak_ptr<const segment::Segment>>>
      retired_ ABSL_GUARDED_BY(write_mu_);
  uint32_t next_segment_id_ ABSL_GUARDED_BY(write_mu_) = 1;

  bool closed_ ABSL_GUARDED_BY(write_mu_) = false;

  // Serialises changes of the op log: appends (held across their synced
  // write), the log entries and trimming of commits, truncation.
  Mutex log_mu_ ABSL_ACQUIRED_AFTER(write_mu_);
  OpLogExtent op_log_ ABSL_GUARDED_BY(log_mu_);
  // Memory segments whose pending entry names a write of the op log
  // (PendingLoggedKey) rather than holding their values, with that write's
  // sequence number: the log keeps those writes until the segments are
  // flushed.
  std::map<uint32_t, uint64_t> logged_segments_ ABSL_GUARDED_BY(log_mu_);

  mutable Mutex view_mu_;
  std::shared_ptr<const IndexView> view_ ABSL_GUARDED_BY(view_mu_);

  WriteQueue<PendingWrite> write_queue_;
  WriteQueue<PendingAppend> append_queue_;

  // Background work: a flush thread and a merge thread.
  Mutex work_mu_;
  CondVar flush_cv_;
  CondVar merge_cv_;
  // Signalled after each flush, for writes in WaitForMemoryRoom.
  CondVar room_cv_;
  bool stopping_ ABSL_GUARDED_BY(work_mu_) = false;
  bool flush_requested_ ABSL_GUARDED_BY(work_mu_) = false;
  bool merge_requested_ ABSL_GUARDED_BY(work_mu_) = false;
  std::thread flusher_;
  std::thread merger_;
  // Commits of writes so far, for the background thread to tell a quiet
  // shard (IndexOptions::settle_after) from a busy one.
  std::atomic<uint64_t> commits_{0};
  // Set by Close: background merges stop where they are.
  std::atomic<bool> abandon_merges_{false};
  // Flushes and merges committed, each of which wrote anew the id map's
  // entries of the documents it moved, and how many had when the ids family
  // was last compacted: a settled shard compacts it only if it changed.
  std::atomic<uint64_t> id_rewrites_{0};
  uint64_t ids_compacted_at_ ABSL_GUARDED_BY(merge_mu_) = 0;

  // The last write applied and the last in the op log; a leaf, so that
  // neither read waits for a commit.
  mutable Mutex op_mu_;
  OpId last_op_ ABSL_GUARDED_BY(op_mu_);
  OpId log_end_ ABSL_GUARDED_BY(op_mu_);

  mutable Mutex bg_mu_;
  // Each thread's last error; writes are refused while either holds one.
  absl::Status flush_error_ ABSL_GUARDED_BY(bg_mu_);
  absl::Status merge_error_ ABSL_GUARDED_BY(bg_mu_);
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_INDEX_H_
