#ifndef SIFT_SERVICES_STORAGE_ROCKSDB_INDEX_H_
#define SIFT_SERVICES_STORAGE_ROCKSDB_INDEX_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/analysis/analyzer.h"
#include "rocksdb/db.h"
#include "services/storage/index.h"
#include "services/storage/internal/key_format.h"

namespace sift::storage {

namespace internal {
struct WriteState;
}  // namespace internal

// An Index kept in one RocksDB database: one posting per (term, document)
// and positions apart, stored documents compressed, statistics maintained
// in the same atomic write batch as the postings. The layout is in
// docs/storage-format.md.
class RocksDbIndex final : public Index {
 public:
  // Opens the database in `dir`, creating it (not its parent) when missing.
  // RocksDB replays its write-ahead log, so every acknowledged write is
  // back. FAILED_PRECONDITION when `dir` holds data of another schema
  // version; UNAVAILABLE when another process has it open.
  static absl::StatusOr<std::unique_ptr<RocksDbIndex>> Open(
      const std::string& dir, const IndexOptions& options);

  // Closes the database (see Close).
  ~RocksDbIndex() override;

  RocksDbIndex(const RocksDbIndex&) = delete;
  RocksDbIndex& operator=(const RocksDbIndex&) = delete;

  absl::StatusOr<v1::WriteResponse> Apply(
      const v1::WriteRequest& request) override;
  absl::StatusOr<v1::StatsResponse> Stats(
      const v1::StatsRequest& request) const override;
  absl::StatusOr<v1::ShardSearchResponse> Search(
      const v1::ShardSearchRequest& request) const override;
  absl::StatusOr<v1::FetchResponse> Fetch(
      const v1::FetchRequest& request) const override;
  uint64_t DocCount() const override;

  // Closes the database cleanly. No other call may be running or follow.
  // Idempotent.
  absl::Status Close() override;

  const std::string& dir() const { return dir_; }

 private:
  RocksDbIndex(std::string dir, rocksdb::DB* db,
               std::vector<rocksdb::ColumnFamilyHandle*> handles,
               internal::Counters counters);

  // Schedules the removal of the document `id` (if it exists, in the
  // database or earlier in the batch); returns whether it existed.
  absl::StatusOr<bool> RemoveDocument(const std::string& id,
                                      internal::WriteState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status AddDocument(const v1::AnalyzedDocument& doc,
                           internal::WriteState& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // The keyword form under which `value` is indexed and matched (NUL bytes
  // read as spaces); INVALID_ARGUMENT when it is not valid UTF-8.
  absl::StatusOr<std::string> NormalizeKeyword(absl::string_view value) const;

  // The shard's own document frequency of a DocFreqKey at `options`.
  absl::StatusOr<uint64_t> ReadDocFreq(const rocksdb::ReadOptions& options,
                                       const std::string& key) const;
  absl::StatusOr<internal::Counters> ReadCounters(
      const rocksdb::ReadOptions& options) const;

  const std::string dir_;
  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* docs_;
  rocksdb::ColumnFamilyHandle* ids_;
  rocksdb::ColumnFamilyHandle* postings_;
  rocksdb::ColumnFamilyHandle* positions_;
  rocksdb::ColumnFamilyHandle* fields_;
  rocksdb::ColumnFamilyHandle* meta_;
  analysis::Analyzer analyzer_;

  // Serialises writers: a write reads the state it modifies, so two may not
  // interleave.
  absl::Mutex write_mu_;
  internal::Counters counters_ ABSL_GUARDED_BY(write_mu_);
  // Copy of counters_.doc_count readable without waiting for a write.
  std::atomic<uint64_t> doc_count_;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_ROCKSDB_INDEX_H_
