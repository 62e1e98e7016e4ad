#include "services/storage/index_database.h"

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/codec/big_endian.h"
#include "common/status/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/table.h"
#include "rocksdb/transaction_log.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "services/storage/internal/rocksdb_status.h"

namespace sift::storage {
namespace {

using internal::FromRocksDbStatus;

rocksdb::CompressionType BestCompression(
    std::initializer_list<rocksdb::CompressionType> preferred) {
  const std::vector<rocksdb::CompressionType> supported =
      rocksdb::GetSupportedCompressions();
  for (rocksdb::CompressionType type : preferred) {
    if (std::find(supported.begin(), supported.end(), type) !=
        supported.end()) {
      return type;
    }
  }
  return rocksdb::kNoCompression;
}

void CloseDb(rocksdb::DB* db,
             const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  for (rocksdb::ColumnFamilyHandle* handle : handles) {
    db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  db->Close().PermitUncheckedError();
  delete db;
}

// The column families with their tuning, in FamilyIndex order.
std::vector<rocksdb::ColumnFamilyDescriptor> Families(
    const IndexOptions& options) {
  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);
  auto family = [&](bool bloom, rocksdb::CompressionType compression,
                    size_t block_size) {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.block_size = block_size;
    if (bloom) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    rocksdb::ColumnFamilyOptions cf;
    cf.compaction_style = rocksdb::kCompactionStyleLevel;
    cf.level_compaction_dynamic_level_bytes = true;
    cf.compression = compression;
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    return cf;
  };
  const rocksdb::CompressionType fast =
      BestCompression({rocksdb::kLZ4Compression, rocksdb::kSnappyCompression});
  // Stored documents arrive compressed one by one (StoredDocuments), so
  // compressing their blocks again gains nothing; values of earlier
  // versions, serialized as they are, get the fast compression when a
  // compaction rewrites them.
  rocksdb::ColumnFamilyOptions docs = family(true, fast, 16 << 10);
  // Segment values: doc and frequency blocks are bit-packed, but positions
  // are varints, which ZSTD shrinks where LZ4 gives up. On the 200,000-doc
  // news corpus a merged segment took 106 MB under ZSTD against 128 MB
  // under LZ4 (which left 70% of its blocks uncompressed), for about the
  // same compression time. Reads pay the decompression only when a block
  // is not in the block cache, which holds blocks uncompressed.
  const rocksdb::CompressionType dense = BestCompression(
      {rocksdb::kZSTD, rocksdb::kLZ4Compression, rocksdb::kSnappyCompression});
  return {
      {kFamilyNames[kDefault], family(false, fast, 4 << 10)},
      {kFamilyNames[kDocs], docs},
      {kFamilyNames[kIds], family(true, fast, 4 << 10)},
      // Entries here live only until their memory segment is flushed, and
      // the op log's only until it is trimmed (to IndexOptions::
      // op_log_bytes): compressing what is soon dropped cost copies more CPU
      // than anything else they do for those bytes.
      {kFamilyNames[kPending],
       family(false, rocksdb::kNoCompression, 64 << 10)},
      {kFamilyNames[kSegments], family(true, dense, 16 << 10)},
      {kFamilyNames[kMeta], family(false, fast, 4 << 10)},
      // Written once, read by a copy catching up, soon trimmed: kept out of
      // the others' compactions.
      {kFamilyNames[kOpLog], family(false, rocksdb::kNoCompression, 64 << 10)},
  };
}

// Puts a segment's values, under the segment's prefix, into an SST file at
// `path`, made when the first value comes: a sink given nothing leaves no
// file (RocksDB refuses to finish an empty one).
class SstValueSink final : public segment::ValueSink {
 public:
  SstValueSink(const rocksdb::Options& options,
               rocksdb::ColumnFamilyHandle* family, std::string path,
               std::string prefix)
      : writer_(rocksdb::EnvOptions(), options, family),
        path_(std::move(path)),
        prefix_(std::move(prefix)) {}

  absl::Status Add(absl::string_view key_prefix, absl::string_view key_rest,
                   absl::string_view value) override {
    if (!opened_) {
      SIFT_RETURN_IF_ERROR(
          FromRocksDbStatus(writer_.Open(path_), "writing a segment file"));
      opened_ = true;
    }
    key_.assign(prefix_);
    key_.append(key_prefix.data(), key_prefix.size());
    key_.append(key_rest.data(), key_rest.size());
    return FromRocksDbStatus(
        writer_.Put(key_, rocksdb::Slice(value.data(), value.size())),
        "writing a segment file");
  }

  // Completes the file, if any, and adds its path to `files`.
  absl::Status Finish(std::vector<std::string>* files) {
    if (!opened_) return absl::OkStatus();
    SIFT_RETURN_IF_ERROR(
        FromRocksDbStatus(writer_.Finish(), "writing a segment file"));
    files->push_back(path_);
    return absl::OkStatus();
  }

  // Removes the file, if one was made.
  void Remove() {
    if (!opened_) return;
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }

 private:
  rocksdb::SstFileWriter writer_;
  const std::string path_;
  const std::string prefix_;
  bool opened_ = false;
  std::string key_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<IndexDatabase>> IndexDatabase::Open(
    const std::string& dir, const IndexOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.db_write_buffer_size = options.write_buffer_bytes;
  db_options.max_total_wal_size = 4 * options.write_buffer_bytes;
  db_options.keep_log_file_num = 5;
  // A commit's synced write and the unsynced ones of segment cleanup can
  // overlap.
  db_options.enable_pipelined_write = true;
  if (options.env != nullptr) db_options.env = options.env;

  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, dir, &existing).ok()) {
    for (const std::string& name : existing) {
      if (name == "postings" || name == "fields") {
        return absl::FailedPreconditionError(absl::StrCat(
            "the index in ", dir,
            " has the per-posting format of an earlier version; index the "
            "documents again into a new directory"));
      }
    }
  }

  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, Families(options), &handles, &db);
  if (!s.ok()) {
    return FromRocksDbStatus(s, absl::StrCat("opening the index in ", dir));
  }
  std::string format;
  s = db->Get(rocksdb::ReadOptions(), handles[kMeta], kFormatKey, &format);
  const bool upgraded =
      s.ok() &&
      std::find(std::begin(kUpgradedFormats), std::end(kUpgradedFormats),
                format) != std::end(kUpgradedFormats);
  if (s.IsNotFound() || upgraded) {
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    s = db->Put(write_options, handles[kMeta], kFormatKey, kFormat);
  } else if (s.ok() && format != kFormat) {
    CloseDb(db, handles);
    return absl::FailedPreconditionError(
        absl::StrCat("the index in ", dir, " has format \"", format,
                     "\"; this build reads \"", kFormat, "\""));
  }
  if (!s.ok()) {
    CloseDb(db, handles);
    return FromRocksDbStatus(s, absl::StrCat("opening the index in ", dir));
  }
  return std::unique_ptr<IndexDatabase>(
      new IndexDatabase(dir, db, std::move(handles)));
}

absl::Status IndexDatabase::Checkpoint(const std::string& dir) const {
  rocksdb::Checkpoint* raw = nullptr;
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(rocksdb::Checkpoint::Create(db_, &raw),
                                         "starting a checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // The memtables are not flushed first: a flush would wait for the
  // memtables of every family, and the copied log holds what they do.
  return FromRocksDbStatus(
      checkpoint->CreateCheckpoint(dir, std::numeric_limits<uint64_t>::max()),
      absl::StrCat("writing a checkpoint to ", dir));
}

absl::StatusOr<OpId> IndexDatabase::ReadLastOp(const std::string& dir) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (int i = 0; i < kFamilyCount; ++i) {
    families.emplace_back(kFamilyNames[i], rocksdb::ColumnFamilyOptions());
  }
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  SIFT_RETURN_IF_ERROR(
      FromRocksDbStatus(rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir,
                                                     families, &handles, &db),
                        absl::StrCat("opening the checkpoint in ", dir)));
  std::string value;
  rocksdb::Status s =
      db->Get(rocksdb::ReadOptions(), handles[kMeta], kLastOpKey, &value);
  CloseDb(db, handles);
  if (s.IsNotFound()) return OpId{};
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(s, "reading the last write"));
  return DecodeOpId(value);
}

IndexDatabase::~IndexDatabase() {
  // A failure to close loses nothing the WAL does not hold.
  Close().IgnoreError();
}

absl::Status IndexDatabase::WriteSegment(
    uint32_t id,
    const std::function<absl::Status(segment::ValueSink*, segment::ValueSink*)>&
        produce) {
  rocksdb::ColumnFamilyHandle* family = handles_[kSegments];
  const rocksdb::Options options(db_->GetDBOptions(), db_->GetOptions(family));
  const std::string prefix = segment::SegmentPrefix(id);
  SstValueSink out(options, family, absl::StrCat(dir_, "/segment-", id, ".sst"),
                   prefix);
  SstValueSink postings(options, family,
                        absl::StrCat(dir_, "/segment-", id, "-postings.sst"),
                        prefix);
  absl::Status status = produce(&out, &postings);
  std::vector<std::string> files;
  if (status.ok()) status = out.Finish(&files);
  if (status.ok()) status = postings.Finish(&files);
  if (status.ok() && !files.empty()) {
    // Both files at once: a segment is never half there.
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    status = FromRocksDbStatus(db_->IngestExternalFile(family, files, ingest),
                               "adopting the segment files");
  }
  if (!status.ok()) {
    status = absl::Status(status.code(),
                          absl::StrCat("segment ", id, ": ", status.message()));
    out.Remove();
    postings.Remove();
  }
  return status;
}

absl::Status IndexDatabase::DropSegments(absl::Span<const uint32_t> ids) {
  if (ids.empty()) return absl::OkStatus();
  rocksdb::ColumnFamilyHandle* family = handles_[kSegments];
  rocksdb::WriteBatch cleanup;
  std::vector<std::pair<std::string, std::string>> ranges;
  for (uint32_t id : ids) {
    ranges.emplace_back(segment::SegmentPrefix(id),
                        segment::SegmentPrefix(id + 1));
    cleanup.DeleteRange(family, ranges.back().first, ranges.back().second);
  }
  SIFT_RETURN_IF_ERROR(
      FromRocksDbStatus(db_->Write(rocksdb::WriteOptions(), &cleanup),
                        "removing merged segments"));
  // A segment is usually one file of its own: drop it now rather than when
  // a compaction gets to the tombstone.
  for (const auto& [begin, end] : ranges) {
    const rocksdb::Slice b(begin), e(end);
    SIFT_RETURN_IF_ERROR(FromRocksDbStatus(
        rocksdb::DeleteFilesInRange(db_, family, &b, &e, false),
        "removing merged segment files"));
    // Compacting the emptied range drops the range tombstone, which every
    // lookup would otherwise have to check.
    SIFT_RETURN_IF_ERROR(FromRocksDbStatus(
        db_->CompactRange(rocksdb::CompactRangeOptions(), family, &b, &e),
        "compacting a merged segment's range"));
  }
  return absl::OkStatus();
}

absl::Status IndexDatabase::RemoveOrphans(const std::set<uint32_t>& live) {
  {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("segment-", 0) == 0 &&
          entry.path().extension() == ".sst") {
        std::filesystem::remove(entry.path(), ec);
      }
    }
  }
  rocksdb::ColumnFamilyHandle* family = handles_[kSegments];
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), family));
  rocksdb::WriteBatch cleanup;
  for (it->Seek("S"); it->Valid();) {
    const rocksdb::Slice key = it->key();
    if (key.size() < 5 || key[0] != 'S') break;
    const uint32_t id = codec::GetBigEndian32(key.data() + 1);
    const std::string next = segment::SegmentPrefix(id + 1);
    if (!live.count(id)) {
      cleanup.DeleteRange(family, segment::SegmentPrefix(id), next);
    }
    if (id == 0xFFFFFFFFu) break;
    it->Seek(next);
  }
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "listing segments"));
  if (cleanup.Count() == 0) return absl::OkStatus();
  return FromRocksDbStatus(db_->Write(rocksdb::WriteOptions(), &cleanup),
                           "removing replaced segments");
}

uint64_t IndexDatabase::DiskBytes() const {
  // Listing the WAL files for every statistics call would cost more than
  // the search.
  MutexLock lock(&disk_bytes_mu_);
  const absl::Time now = absl::Now();
  if (now - disk_bytes_at_ < absl::Seconds(1)) return disk_bytes_;
  uint64_t bytes = 0;
  uint64_t sst_bytes = 0;
  if (db_->GetAggregatedIntProperty("rocksdb.total-sst-files-size",
                                    &sst_bytes)) {
    bytes += sst_bytes;
  }
  rocksdb::VectorLogPtr wal_files;
  if (db_->GetSortedWalFiles(wal_files).ok()) {
    for (const auto& file : wal_files) bytes += file->SizeFileBytes();
  }
  disk_bytes_ = bytes;
  disk_bytes_at_ = now;
  return bytes;
}

absl::Status IndexDatabase::CompactIds() {
  return FromRocksDbStatus(db_->CompactRange(rocksdb::CompactRangeOptions(),
                                             handles_[kIds], nullptr, nullptr),
                           "compacting the id map");
}

absl::Status IndexDatabase::FlushMemtables() {
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(
      db_->Flush(rocksdb::FlushOptions(), handles_), "flushing memtables"));
  return FromRocksDbStatus(
      db_->CompactRange(rocksdb::CompactRangeOptions(), handles_[kPending],
                        nullptr, nullptr),
      "compacting the log");
}

absl::Status IndexDatabase::Close() {
  if (db_ == nullptr) return absl::OkStatus();
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  handles_.clear();
  rocksdb::Status s = db_->Close();
  delete db_;
  db_ = nullptr;
  return FromRocksDbStatus(s, absl::StrCat("closing the index in ", dir_));
}

}  // namespace sift::storage
