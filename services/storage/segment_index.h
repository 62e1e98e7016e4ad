#ifndef SIFT_SERVICES_STORAGE_SEGMENT_INDEX_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_INDEX_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/analysis/analyzer.h"
#include "rocksdb/db.h"
#include "services/storage/index.h"
#include "services/storage/segment/segment.h"

namespace sift::storage {

// The shard index as immutable segments in RocksDB (docs/storage-format.md).
//
// A write builds a small segment of its new documents in memory, which
// searches see as soon as the write returns, and logs the documents' terms
// in the `pending` family in the same synced batch as the stored documents
// and the id map. A background thread flushes memory segments into one
// segment in RocksDB (and drops their log) and merges segments of similar
// size, dropping deleted documents. Opening replays the log into memory
// segments, so a crash loses nothing acknowledged.
//
// Deletions and replacements of flushed documents are recorded as keys
// beside the segment and as an in-memory bitset; document frequencies
// count deleted documents until their segment is merged, as in Lucene.
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
  absl::StatusOr<v1::WriteResponse> CommitWrite(
      std::unique_ptr<PreparedWrite> prepared) override;
  absl::StatusOr<v1::StatsResponse> Stats(
      const v1::StatsRequest& request) const override;
  absl::StatusOr<v1::ShardSearchResponse> Search(
      const v1::ShardSearchRequest& request) const override;
  absl::StatusOr<v1::FetchResponse> Fetch(
      const v1::FetchRequest& request) const override;
  uint64_t DocCount() const override;
  absl::Status Close() override;

  // Flushes every memory segment and runs the merges that are due, on the
  // calling thread.
  absl::Status Flush();
  // Memory segments are flushed first; then the smallest segments merge
  // until at most `max_segments` remain, and segments with deletions are
  // rewritten.
  absl::Status ForceMerge(size_t max_segments) override;

  // Segments as (id, documents, in memory), for tests and tools.
  struct SegmentInfo {
    uint32_t id;
    uint32_t documents;
    uint32_t deleted;
    bool in_memory;
  };
  std::vector<SegmentInfo> Segments() const;

 private:
  struct Prepared;

  SegmentIndex(std::string dir, const IndexOptions& options, rocksdb::DB* db,
               std::vector<rocksdb::ColumnFamilyHandle*> handles);

  absl::Status Load();
  absl::StatusOr<std::string> NormalizeKeyword(absl::string_view value) const;

  // Merges `inputs` (all memory segments, or flushed ones) into one flushed
  // segment and swaps it in. Holds neither lock while it builds.
  absl::Status MergeInto(
      const std::vector<std::shared_ptr<segment::Segment>>& inputs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(merge_mu_);
  // One round of background work; true when it did something.
  absl::StatusOr<bool> DoWork(bool flush_all);
  void BackgroundLoop();
  void RecountLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_mu_);
  std::vector<std::shared_ptr<segment::Segment>> SnapshotSegments() const;

  const std::string dir_;
  const IndexOptions options_;
  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* docs_;
  rocksdb::ColumnFamilyHandle* ids_;
  rocksdb::ColumnFamilyHandle* pending_;
  rocksdb::ColumnFamilyHandle* segments_cf_;
  rocksdb::ColumnFamilyHandle* meta_;
  analysis::Analyzer analyzer_;

  // Serialises writers (Apply and the commit of a flush or merge): a write
  // reads the id map it then changes.
  mutable absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(state_mu_);
  uint32_t next_segment_id_ ABSL_GUARDED_BY(write_mu_) = 1;

  // Guards the segment list and every segment's deletions. Searches hold
  // it shared for their whole run, so they see one state.
  mutable absl::Mutex state_mu_;
  std::map<uint32_t, std::shared_ptr<segment::Segment>> segments_
      ABSL_GUARDED_BY(state_mu_);
  uint64_t total_title_terms_ ABSL_GUARDED_BY(state_mu_) = 0;
  uint64_t total_body_terms_ ABSL_GUARDED_BY(state_mu_) = 0;
  std::atomic<uint64_t> doc_count_{0};

  // Stats' disk_bytes, recomputed at most once a second.
  uint64_t DiskBytes() const;
  mutable absl::Mutex disk_bytes_mu_;
  mutable uint64_t disk_bytes_ ABSL_GUARDED_BY(disk_bytes_mu_) = 0;
  mutable absl::Time disk_bytes_at_ ABSL_GUARDED_BY(disk_bytes_mu_) =
      absl::InfinitePast();

  // Background work.
  absl::Mutex work_mu_;
  bool stopping_ ABSL_GUARDED_BY(work_mu_) = false;
  bool work_requested_ ABSL_GUARDED_BY(work_mu_) = false;
  absl::Status background_status_ ABSL_GUARDED_BY(work_mu_);
  std::thread worker_;
  // Serialises flushes and merges with each other.
  absl::Mutex merge_mu_ ABSL_ACQUIRED_BEFORE(write_mu_);
  // Flushed segments a merge replaced, removed from RocksDB once no search
  // holds them any more.
  std::vector<std::pair<uint32_t, std::weak_ptr<segment::Segment>>> retired_
      ABSL_GUARDED_BY(merge_mu_);
  absl::Status RemoveRetired() ABSL_EXCLUSIVE_LOCKS_REQUIRED(merge_mu_);
  // Writes the values `produce` gives as segment `id`'s SST file and has
  // RocksDB adopt it; the file is removed on any error.
  absl::Status WriteSegment(
      uint32_t id,
      const std::function<absl::Status(segment::ValueSink*)>& produce);
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_INDEX_H_
