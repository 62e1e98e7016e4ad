#ifndef SIFT_SERVICES_STORAGE_INDEX_DATABASE_H_
#define SIFT_SERVICES_STORAGE_INDEX_DATABASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/sync/mutex.h"
#include "rocksdb/db.h"
#include "services/storage/index.h"
#include "services/storage/index_format.h"
#include "services/storage/segment/segment.h"
#include "services/storage/segment/values.h"

namespace sift::storage {

// The RocksDB database of one shard: its column families opened with the
// tuning each kind of data wants, and the file-level work on segments
// (writing one as a file RocksDB adopts, dropping replaced ones). Knows the
// bytes' places, not their meaning (index_format.h). Thread-safe as
// rocksdb::DB is.
class IndexDatabase {
 public:
  // Opens the database in `dir`, creating it (not its parent) when missing.
  // FAILED_PRECONDITION when `dir` holds another format; UNAVAILABLE when
  // another process has it open.
  static absl::StatusOr<std::unique_ptr<IndexDatabase>> Open(
      const std::string& dir, const IndexOptions& options);
  ~IndexDatabase();
  IndexDatabase(const IndexDatabase&) = delete;
  IndexDatabase& operator=(const IndexDatabase&) = delete;

  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* family(FamilyIndex index) const {
    return handles_[index];
  }
  const std::string& dir() const { return dir_; }
  segment::SegmentStore segment_store() const {
    return {db_, handles_[kSegments]};
  }

  // Writes the values `produce` gives as segment `id`'s SST files and has
  // RocksDB adopt them in one step, rather than pass them through the WAL,
  // a memtable and compactions. `produce` gets two sinks, each taking its
  // keys in order: the postings, and everything else (which sorts before
  // them); two files, so that neither stream waits in memory for the
  // other. The files are removed on any error. Until the segment list names
  // it the segment is an orphan, which RemoveOrphans drops.
  absl::Status WriteSegment(
      uint32_t id,
      const std::function<absl::Status(
          segment::ValueSink* out, segment::ValueSink* postings_out)>& produce);

  // Removes every key of the segments `ids` and the files that hold only
  // them.
  absl::Status DropSegments(absl::Span<const uint32_t> ids);

  // At start: removes segment files written but never adopted, and the keys
  // of segments not in `live` (replaced by a merge that had not yet dropped
  // them, or written but never listed, when the process stopped).
  absl::Status RemoveOrphans(const std::set<uint32_t>& live);

  // Approximate bytes on disk (SST files and WAL), recomputed at most once a
  // second: every query's statistics call asks.
  uint64_t DiskBytes() const;

  // Flushes the memtables, so the next start has no WAL to replay and the
  // WAL files go, and compacts the log family, empty once every memory
  // segment is flushed: at close, and when a quiet shard has settled.
  absl::Status FlushMemtables();

  // Compacts the ids family. Every merge writes anew the location of each
  // document it moves, and RocksDB compacts a family this small seldom, so
  // after a load most of its bytes were locations that later merges
  // replaced (417,000 entries for 200,000 documents of the news corpus):
  // once merges are done (a force merge, a settled shard) they go.
  absl::Status CompactIds();

  // Writes a consistent copy of the database into the new folder `dir`:
  // hard links to the table files, copies of the write-ahead log.
  absl::Status Checkpoint(const std::string& dir) const;

  // The last write recorded in the database in `dir` (a checkpoint), read
  // without opening it for writing.
  static absl::StatusOr<OpId> ReadLastOp(const std::string& dir);

  // Closes the database. Idempotent; nothing may use it afterwards.
  absl::Status Close();

 private:
  IndexDatabase(std::string dir, rocksdb::DB* db,
                std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : dir_(std::move(dir)), db_(db), handles_(std::move(handles)) {}

  const std::string dir_;
  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  mutable Mutex disk_bytes_mu_;
  mutable uint64_t disk_bytes_ ABSL_GUARDED_BY(disk_bytes_mu_) = 0;
  mutable absl::Time disk_bytes_at_ ABSL_GUARDED_BY(disk_bytes_mu_) =
      absl::InfinitePast();
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_INDEX_DATABASE_H_
