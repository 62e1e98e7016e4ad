#ifndef SIFT_SERVICES_STORAGE_INDEX_H_
#define SIFT_SERVICES_STORAGE_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "services/storage/segment/plan.h"
#include "services/storage/shard_query.h"
#include "services/storage/stored_documents.h"
#include "sift/v1/storage.pb.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace sift::storage {

// A write's place in the shard's history: the term of the primary that
// ordered it and its sequence number. Sequence numbers start at 1 and have
// no gaps; {0, 0} means "no write yet". A shard without copies writes with
// term 0.
struct OpId {
  uint64_t term = 0;
  uint64_t seq = 0;
  friend bool operator==(const OpId&, const OpId&) = default;
};

// Tuning of an index; the defaults suit one shard on a small machine.
struct IndexOptions {
  // Shared block cache of all column families.
  size_t block_cache_bytes = size_t{256} << 20;
  // Memtable memory of all column families together before a flush.
  size_t write_buffer_bytes = size_t{128} << 20;
  // New documents wait in memory segments (searchable at once, durable
  // through a log) until this many of them, or `flush_bytes` of segment
  // data, or `max_memory_segments` segments, are flushed into one segment.
  size_t flush_documents = 65536;
  size_t flush_bytes = size_t{128} << 20;
  size_t max_memory_segments = 64;
  // Writes wait while the memory segments hold more than this many bytes,
  // until a flush makes room: memory stays bounded when writes come faster
  // than flushes (a slow disk, both cores busy with a long merge).
  size_t max_memory_bytes = size_t{512} << 20;
  // Tiered merging: this many segments of a similar size merge into one;
  // a segment with more than `max_merge_documents` live documents is only
  // rewritten to drop deletions (when over a third of it is deleted).
  size_t merge_factor = 8;
  size_t max_merge_documents = size_t{1} << 20;
  // A shard that took no write for this long settles: its memory segments
  // are flushed and its flushed segments merged down to one or two (see
  // PickSettle), so that searches after a bulk load do not pay a term
  // lookup per segment the load left. Once per quiet period; a write
  // between two of its merges stops it. InfiniteDuration: never.
  absl::Duration settle_after = absl::Seconds(30);
  // Concurrent writes share one commit, and so one synced write-ahead log
  // write, at most this many at a time; 1 commits every write alone.
  size_t max_write_group = 32;
  // The op log: the last writes kept, with their sequence numbers, for
  // copies of the shard that fall behind to replay (docs/replication.md).
  // At most `op_log_writes` writes and about `op_log_bytes` bytes (it is
  // trimmed in steps, so it holds up to an eighth more, plus the writes of
  // one commit); writes not yet applied are always kept. 0 writes keeps
  // none, as a shard without copies needs none.
  size_t op_log_writes = 0;
  size_t op_log_bytes = size_t{256} << 20;
  // Stored documents are compressed one by one with a ZSTD dictionary of at
  // most `document_dictionary_bytes`, trained once the first
  // `document_dictionary_samples` bytes of documents were written (0: no
  // dictionary).
  size_t document_dictionary_samples = size_t{4} << 20;
  // On the generated news corpus a dictionary of 512 KiB left stored
  // documents 6% smaller than one of 100 KiB, trained on the same 4 MiB in
  // the same time, and compressed them as fast.
  size_t document_dictionary_bytes = size_t{512} << 10;
  // Stored documents keep the body apart from the other fields
  // (StoredDocuments), which versions before it cannot read: a primary
  // whose copies still run one of those writes them whole until they are
  // upgraded (docs/replication.md).
  bool store_body_apart = true;
  // Threads that take half of a large segment's search while fewer
  // searches run than the machine has processors, so that one search on
  // an idle shard uses two cores (segment/search_helpers.h). -1: one fewer
  // than the processors; 0: none, every search runs on its caller's thread.
  int search_helpers = -1;
  // Flushes and merges run on a background thread; when false they run
  // only when Flush is called (tests that need a fixed segment layout).
  bool background_work = true;
  // Close flushes the memory segments, so that the next open replays
  // nothing. When false it leaves them logged, as a crash would: a faster
  // stop, a slower start (tests use it to leave an index as a crash does).
  bool flush_on_close = true;
  // After a background flush or merge fails, how long the thread waits
  // before it tries again; the wait doubles up to the maximum.
  absl::Duration retry_delay = absl::Seconds(1);
  absl::Duration max_retry_delay = absl::Seconds(60);
  // Called on the background thread when background work fails (with the
  // error, which writes then return) and when it succeeds again after a
  // failure (with OK). The storage service logs it and flips its health.
  // Must not call into the index.
  std::function<void(const absl::Status&)> on_background_status;
  // Called on the merge thread as each merge of flushed segments starts
  // (not settling or force-merges); tests hold a merge there.
  std::function<void()> on_merge_start;
  // The environment RocksDB runs in; null for the default. Tests pass one
  // that fails on demand.
  rocksdb::Env* env = nullptr;
};

// The shard's counters and the document frequencies a Stats call asked for.
struct IndexStats {
  uint64_t doc_count = 0;
  uint64_t total_title_terms = 0;
  uint64_t total_body_terms = 0;
  // Aligned with the terms asked for; deleted documents count until their
  // segment is merged, as in Lucene.
  std::vector<uint64_t> doc_freqs;
  uint64_t disk_bytes = 0;
  // Not OK while writes are stopped by a failed flush or merge.
  absl::Status background_error;
  // The state these statistics were counted in (IndexView::stats_version):
  // equal versions, equal statistics.
  uint64_t version = 0;
};

// The searchable document store of one shard: applies write batches
// atomically and durably, answers statistics, runs the shard's part of a
// query and returns stored documents. The storage service talks to it
// through this interface so that the on-disk representation can change
// without touching the service.
//
// Requests are expected to have passed the storage handler's checks (reads
// come decoded, as ShardQuery and TermKey); an index still refuses writes
// that would corrupt it with INVALID_ARGUMENT. Keyword values (sources,
// tags) are matched case-insensitively: documents, filters and SOURCE/TAG
// terms are all normalised with NormalizeKeyword.
//
// Thread-safe: any number of threads may call any method concurrently.
// Each read sees one consistent state, and no read waits for a write or a
// write for a read. Storage failures come back as UNAVAILABLE (I/O),
// DATA_LOSS (corruption), RESOURCE_EXHAUSTED (disk full) or INTERNAL.
class Index {
 public:
  virtual ~Index() = default;

  // Applies the operations in order, all or nothing, and returns once they
  // are in the synced write-ahead log. An upsert replaces the document with
  // the same id, including one written earlier in the same request. After a
  // background flush or merge failed, every write returns that error until
  // the work succeeds again or the shard restarts.
  virtual absl::StatusOr<v1::WriteResponse> Apply(
      const v1::WriteRequest& request) = 0;

  // Apply in two steps, for callers that pipeline writes: PrepareWrite
  // checks a request and does the work that needs no shared state (on any
  // thread, concurrently with anything); CommitWrite makes it durable and
  // visible, with the same result Apply would have had at that moment.
  // The request must outlive the prepared write. Concurrent commits share
  // one synced write where they can.
  class PreparedWrite {
   public:
    virtual ~PreparedWrite() = default;
  };
  virtual absl::StatusOr<std::unique_ptr<PreparedWrite>> PrepareWrite(
      const v1::WriteRequest& request) const = 0;
  // The write is ordered by the primary of `term`: it takes the next
  // sequence number, recorded with it (and in the op log) and set in
  // `*committed` when that is not null.
  virtual absl::StatusOr<v1::WriteResponse> CommitWrite(
      std::unique_ptr<PreparedWrite> prepared, uint64_t term,
      OpId* committed) = 0;
  absl::StatusOr<v1::WriteResponse> CommitWrite(
      std::unique_ptr<PreparedWrite> prepared) {
    return CommitWrite(std::move(prepared), 0, nullptr);
  }

  // Log-first writes, for a shard with copies (docs/replication.md): every
  // copy appends a write to its op log before any copy applies it, and a
  // write is applied once every in-sync copy has it, so that no copy ever
  // applies a write a failover could lose. CommitWrite is for a shard
  // without copies, and refuses while logged writes wait to be applied.

  // The primary's side: appends the prepared write to the op log, synced,
  // with the next sequence number and `term`, without applying it.
  // Concurrent appends share one synced write. FAILED_PRECONDITION when the
  // index keeps no op log.
  virtual absl::StatusOr<OpId> AppendToLog(PreparedWrite& prepared,
                                           uint64_t term) = 0;
  // A copy's side: appends writes the primary ordered, synced. They must be
  // consecutive and the first must follow LogEnd() (FAILED_PRECONDITION
  // otherwise, with nothing appended).
  virtual absl::Status AppendLogged(
      absl::Span<const v1::LoggedWrite> writes) = 0;
  // A logged write prepared for ApplyLog, from its entry (taken from
  // `write`), as a copy does with what it just appended so as not to read
  // it back. DATA_LOSS when the entry is corrupt.
  virtual absl::StatusOr<std::unique_ptr<PreparedWrite>> PrepareLogged(
      v1::LoggedWrite&& write) const = 0;
  // Applies the logged writes after LastOp() through `through`, in order,
  // and returns their responses. `prepared` may hold some of them by
  // sequence number, already prepared (the primary's own; the ones used
  // are taken out); the others are read back from the log. Not synced by
  // itself: the log holds the writes, and an index reopened after a crash
  // has lost at most some applies, which it finds still in the log.
  virtual absl::StatusOr<std::vector<v1::WriteResponse>> ApplyLog(
      uint64_t through,
      absl::flat_hash_map<uint64_t, std::unique_ptr<PreparedWrite>>*
          prepared) = 0;
  // Drops the logged writes after `after`, which were never applied: a
  // copy's tail that the primary it now follows does not have.
  // FAILED_PRECONDITION when writes after `after` are already applied.
  virtual absl::Status TruncateLog(uint64_t after) = 0;
  // The last write in the op log; LastOp() when none waits to be applied.
  virtual OpId LogEnd() const = 0;

  // The last write applied ({0, 0} before the first): searches already see
  // it and every write before it.
  virtual OpId LastOp() const = 0;

  // Writes of the op log from sequence number `from` on, in order, until
  // one would take the total past `max_bytes` (the first always comes).
  // Empty when `from` is past LogEnd(); OUT_OF_RANGE when the log no longer
  // holds `from` (a copy that needs it must start from a checkpoint).
  virtual absl::StatusOr<std::vector<v1::LoggedWrite>> ReadOpLog(
      uint64_t from, size_t max_bytes) const = 0;

  // The term of write `seq`, from the op log or the last write; 0 for seq
  // 0; NOT_FOUND when neither holds it.
  virtual absl::StatusOr<uint64_t> TermAt(uint64_t seq) const = 0;

  // Writes a consistent copy of the index into the new folder `dir` (hard
  // links where the files allow), which Open opens as an index of its own;
  // returns the last write the copy holds. Writes go on meanwhile.
  virtual absl::StatusOr<OpId> Checkpoint(const std::string& dir) const = 0;

  // Shard counters, the shard's document frequency of each term and its
  // approximate size on disk.
  virtual absl::StatusOr<IndexStats> Stats(
      absl::Span<const TermKey> terms) const = 0;

  // The shard's best `query.limit` hits (none when it is 0) and its number
  // of matches, scored with the query's statistics (the shard's own where
  // the query has none). ABORTED when query.stats_version is set and the
  // shard's statistics are no longer of that version: the caller's
  // statistics are out of date, and nothing was searched.
  virtual absl::StatusOr<segment::SearchResult> Search(
      const ShardQuery& query) const = 0;

  // Stored documents by id; found = false for unknown ids. With
  // StoredParts::kWithoutBody a document may come without its body, which
  // saves decompressing it.
  virtual absl::StatusOr<v1::FetchResponse> Fetch(
      const v1::FetchRequest& request, StoredParts parts) const = 0;
  absl::StatusOr<v1::FetchResponse> Fetch(
      const v1::FetchRequest& request) const {
    return Fetch(request, StoredParts::kWhole);
  }

  // Live documents, as of the last completed write.
  virtual uint64_t DocCount() const = 0;

  // Merges the index down to at most `max_segments` segments and drops
  // every deleted document, and the locations merges replaced in the id
  // map, as after a bulk load; blocks until done.
  // Searches and writes go on meanwhile.
  virtual absl::Status ForceMerge(size_t max_segments) = 0;

  // Finishes background work, persists what is cheaper to persist than to
  // rebuild, and releases the files. No other call may be running or
  // follow. Idempotent. Skipping it (a crash) loses nothing acknowledged.
  virtual absl::Status Close() = 0;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_INDEX_H_
