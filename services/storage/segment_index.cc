#include "services/storage/segment_index.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/codec/varint.h"
#include "common/status/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/table.h"
#include "rocksdb/transaction_log.h"
#include "rocksdb/write_batch.h"
#include "services/storage/analyzed_field.h"
#include "services/storage/internal/rocksdb_status.h"
#include "services/storage/scoring.h"
#include "services/storage/segment/builder.h"
#include "services/storage/segment/postings.h"
#include "services/storage/segment/search.h"

namespace sift::storage {
namespace {

using internal::FromRocksDbStatus;
using segment::PlanNode;
using segment::Segment;
using segment::TermField;

// Column families, in Open's descriptor order.
enum FamilyIndex { kDefault, kDocs, kIds, kPending, kSegments, kMeta };
constexpr const char* kFamilyNames[] = {"default", "docs",     "ids",
                                        "pending", "segments", "meta"};

constexpr char kFormatKey[] = "format";
constexpr char kFormat[] = "sift-segments-2";
constexpr char kSegmentListKey[] = "segments";
constexpr char kNextSegmentKey[] = "next_segment";

void PutBigEndian32(std::string* out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

uint32_t GetBigEndian32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) |
         (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

// Where a document lives: segment id and doc number (the ids family).
struct Location {
  uint32_t segment = 0;
  uint32_t doc = 0;

  std::string Encode() const {
    std::string out;
    PutBigEndian32(&out, segment);
    PutBigEndian32(&out, doc);
    return out;
  }
  static std::optional<Location> Decode(absl::string_view value) {
    if (value.size() != 8) return std::nullopt;
    return Location{GetBigEndian32(value.data()),
                    GetBigEndian32(value.data() + 4)};
  }
  bool operator==(const Location& o) const {
    return segment == o.segment && doc == o.doc;
  }
};

// The log of a memory segment: varint count, then per document its id,
// its serialized title AnalyzedField and its serialized body AnalyzedField,
// each as varint length + bytes. The rest of a document is in `docs`.
std::string EncodeLogEntry(absl::Span<const segment::SegmentDocument> docs) {
  std::string out;
  std::string field;
  codec::PutVarint32(&out, static_cast<uint32_t>(docs.size()));
  for (const segment::SegmentDocument& doc : docs) {
    const std::string& id = doc.analyzed->document().id();
    codec::PutVarint32(&out, static_cast<uint32_t>(id.size()));
    out.append(id);
    for (const v1::AnalyzedField* f :
         {&doc.analyzed->title(), &doc.analyzed->body()}) {
      field.clear();
      f->SerializeToString(&field);
      codec::PutVarint32(&out, static_cast<uint32_t>(field.size()));
      out.append(field);
    }
  }
  return out;
}

absl::StatusOr<std::vector<v1::AnalyzedDocument>> DecodeLogEntry(
    absl::string_view in) {
  uint32_t count = 0;
  if (!codec::GetVarint32(&in, &count)) {
    return absl::DataLossError("corrupt log entry");
  }
  std::vector<v1::AnalyzedDocument> docs;
  auto get = [&in](absl::string_view* out) {
    uint32_t length = 0;
    if (!codec::GetVarint32(&in, &length) || length > in.size()) return false;
    *out = in.substr(0, length);
    in.remove_prefix(length);
    return true;
  };
  for (uint32_t i = 0; i < count; ++i) {
    absl::string_view id, title, body;
    v1::AnalyzedDocument& doc = docs.emplace_back();
    if (!get(&id) || !get(&title) || !get(&body) ||
        !doc.mutable_title()->ParseFromArray(title.data(),
                                             static_cast<int>(title.size())) ||
        !doc.mutable_body()->ParseFromArray(body.data(),
                                            static_cast<int>(body.size()))) {
      return absl::DataLossError("corrupt log entry");
    }
    // The builder indexes vocabularies by these ids unchecked.
    if (!CheckTermIds(doc.title(), "title").ok() ||
        !CheckTermIds(doc.body(), "body").ok()) {
      return absl::DataLossError("corrupt log entry");
    }
    doc.mutable_document()->set_id(std::string(id));
  }
  return docs;
}

std::string PendingKey(uint32_t segment_id) {
  std::string key;
  PutBigEndian32(&key, segment_id);
  return key;
}

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

absl::Status CheckTerm(absl::string_view term, absl::string_view field) {
  if (term.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": a term must not be empty"));
  }
  if (term.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": a term must not contain a NUL byte"));
  }
  return absl::OkStatus();
}

// What PrepareWrite requires of a full-text field: terms the postings keys
// can hold, and positions that name them.
absl::Status CheckAnalyzedField(const v1::AnalyzedField& field,
                                const std::string& path) {
  for (int i = 0; i < field.vocabulary_size(); ++i) {
    const std::string& term = field.vocabulary(i);
    // The path is only spelled out for a term that fails.
    if (term.empty() || term.find('\0') != std::string::npos) {
      return CheckTerm(term, absl::StrCat(path, ".vocabulary[", i, "]"));
    }
  }
  return CheckTermIds(field, path);
}

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

std::string EncodeSegmentList(const std::vector<uint32_t>& ids) {
  std::string out;
  codec::PutVarint32(&out, static_cast<uint32_t>(ids.size()));
  for (uint32_t id : ids) codec::PutVarint32(&out, id);
  return out;
}

// Document-frequency key of a term: the field, then the term.
std::string DfKey(v1::Field field, absl::string_view term) {
  std::string key(1, static_cast<char>('0' + static_cast<int>(field)));
  key.append(term.data(), term.size());
  return key;
}

bool IsKeywordField(v1::Field field) {
  return field == v1::FIELD_SOURCE || field == v1::FIELD_TAG;
}

absl::Status CheckField(v1::Field field) {
  switch (field) {
    case v1::FIELD_UNSPECIFIED:
    case v1::FIELD_TITLE:
    case v1::FIELD_BODY:
    case v1::FIELD_SOURCE:
    case v1::FIELD_TAG:
      return absl::OkStatus();
    default:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown field ", static_cast<int>(field)));
}

TextFields TextFieldsOf(v1::Field field) {
  if (field == v1::FIELD_TITLE) return TextFields::kTitle;
  if (field == v1::FIELD_BODY) return TextFields::kBody;
  return TextFields::kTitleAndBody;
}

// The shard's own document frequency of `term` in `field` (keywords
// normalised) over `segments`, deleted documents included.
absl::StatusOr<uint64_t> OwnDocFreq(
    const std::vector<std::shared_ptr<Segment>>& segments, v1::Field field,
    absl::string_view term) {
  const TermField term_field = field == v1::FIELD_SOURCE ? TermField::kSource
                               : field == v1::FIELD_TAG  ? TermField::kTag
                                                         : TermField::kText;
  const std::string key = segment::PostingsKey(term_field, term);
  uint64_t df = 0;
  segment::ValueHolder holder;
  for (const auto& s : segments) {
    SIFT_ASSIGN_OR_RETURN(bool found, s->Get(key, &holder));
    if (!found) continue;
    segment::PostingsHeader header;
    SIFT_RETURN_IF_ERROR(segment::ReadPostingsHeader(holder.value, &header));
    df += field == v1::FIELD_TITLE  ? header.df_title
          : field == v1::FIELD_BODY ? header.df_body
                                    : header.df;
  }
  return df;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SegmentIndex>> SegmentIndex::Open(
    const std::string& dir, const IndexOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.db_write_buffer_size = options.write_buffer_bytes;
  db_options.max_total_wal_size = 4 * options.write_buffer_bytes;
  db_options.keep_log_file_num = 5;
  // Concurrent writers of stored documents share one WAL sync.
  db_options.enable_pipelined_write = true;

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
  const rocksdb::CompressionType strong = BestCompression(
      {rocksdb::kZSTD, rocksdb::kLZ4Compression, rocksdb::kSnappyCompression});
  // Stored documents compress better in larger blocks; segment values are
  // mostly bit-packed already, and a lookup reads a whole value anyway.
  rocksdb::ColumnFamilyOptions docs = family(true, strong, 64 << 10);
  // Stored documents are most of the bytes on disk, and documents of one
  // corpus share most of their words: large blocks and a dictionary per
  // file pay off. The dictionary is sampled content finalised by ZSTD
  // rather than trained: training cost more CPU than all the compression
  // of a bulk load for under 1% of size, and level 3 compresses about
  // twice as fast as 6 for 2-3% more bytes.
  docs.compression_opts.level = 3;
  docs.compression_opts.max_dict_bytes = 64 << 10;
  docs.compression_opts.zstd_max_train_bytes = 4 << 20;
  docs.compression_opts.use_zstd_dict_trainer = false;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {kFamilyNames[kDefault], family(false, fast, 4 << 10)},
      {kFamilyNames[kDocs], docs},
      {kFamilyNames[kIds], family(true, fast, 4 << 10)},
      {kFamilyNames[kPending], family(false, fast, 64 << 10)},
      {kFamilyNames[kSegments], family(true, fast, 16 << 10)},
      {kFamilyNames[kMeta], family(false, fast, 4 << 10)},
  };
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, descriptors, &handles, &db);
  if (!s.ok()) {
    return FromRocksDbStatus(s, absl::StrCat("opening the index in ", dir));
  }
  std::string format;
  s = db->Get(rocksdb::ReadOptions(), handles[kMeta], kFormatKey, &format);
  if (s.IsNotFound()) {
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
  std::unique_ptr<SegmentIndex> index(
      new SegmentIndex(dir, options, db, std::move(handles)));
  SIFT_RETURN_IF_ERROR(index->Load());
  if (options.background_work) {
    index->worker_ =
        std::thread([raw = index.get()] { raw->BackgroundLoop(); });
  }
  return index;
}

SegmentIndex::SegmentIndex(std::string dir, const IndexOptions& options,
                           rocksdb::DB* db,
                           std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : dir_(std::move(dir)),
      options_(options),
      db_(db),
      handles_(std::move(handles)),
      docs_(handles_[kDocs]),
      ids_(handles_[kIds]),
      pending_(handles_[kPending]),
      segments_cf_(handles_[kSegments]),
      meta_(handles_[kMeta]) {}

SegmentIndex::~SegmentIndex() {
  // Nobody is left to report to; the log already holds every
  // acknowledged write.
  Close().IgnoreError();
}

absl::Status SegmentIndex::Load() {
  absl::MutexLock write_lock(&write_mu_);
  std::string value;
  std::vector<uint32_t> persisted;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), meta_, kSegmentListKey, &value);
  if (s.ok()) {
    absl::string_view in(value);
    uint32_t n = 0;
    if (!codec::GetVarint32(&in, &n)) {
      return absl::DataLossError("corrupt segment list");
    }
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t id = 0;
      if (!codec::GetVarint32(&in, &id)) {
        return absl::DataLossError("corrupt segment list");
      }
      persisted.push_back(id);
    }
  } else if (!s.IsNotFound()) {
    return FromRocksDbStatus(s, "reading the segment list");
  }
  s = db_->Get(rocksdb::ReadOptions(), meta_, kNextSegmentKey, &value);
  if (s.ok()) {
    absl::string_view in(value);
    if (!codec::GetVarint32(&in, &next_segment_id_)) {
      return absl::DataLossError("corrupt next segment id");
    }
  } else if (!s.IsNotFound()) {
    return FromRocksDbStatus(s, "reading the next segment id");
  }

  // Segment files written but not yet adopted when the process stopped.
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
  // Segments a merge replaced but had not yet removed when the process
  // stopped, and segments written but never listed.
  {
    const std::set<uint32_t> live(persisted.begin(), persisted.end());
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), segments_cf_));
    rocksdb::WriteBatch cleanup;
    for (it->Seek("S"); it->Valid();) {
      const rocksdb::Slice key = it->key();
      if (key.size() < 5 || key[0] != 'S') break;
      const uint32_t id = GetBigEndian32(key.data() + 1);
      const std::string next = segment::SegmentPrefix(id + 1);
      if (!live.count(id)) {
        cleanup.DeleteRange(segments_cf_, segment::SegmentPrefix(id), next);
      }
      if (id == 0xFFFFFFFFu) break;
      it->Seek(next);
    }
    SIFT_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "listing segments"));
    if (cleanup.Count() > 0) {
      SIFT_RETURN_IF_ERROR(
          FromRocksDbStatus(db_->Write(rocksdb::WriteOptions(), &cleanup),
                            "removing replaced segments"));
    }
  }

  std::map<uint32_t, std::shared_ptr<Segment>> loaded;
  const segment::SegmentStore store{db_, segments_cf_};
  for (uint32_t id : persisted) {
    SIFT_ASSIGN_OR_RETURN(loaded[id], Segment::Open(store, id));
    next_segment_id_ = std::max(next_segment_id_, id + 1);
  }

  // Replay the log of documents not yet flushed into memory segments. A
  // logged document is live when the id map still points at it; the
  // others keep their doc numbers but start deleted.
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), pending_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() != 4) return absl::DataLossError("corrupt log key");
    const uint32_t id = GetBigEndian32(it->key().data());
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
      std::string location;
      s = db_->Get(rocksdb::ReadOptions(), ids_, doc_id, &location);
      if (!s.ok() && !s.IsNotFound()) {
        return FromRocksDbStatus(s, "replaying the log");
      }
      const bool live = s.ok() && Location::Decode(location) ==
                                      std::optional<Location>(Location{
                                          id, static_cast<uint32_t>(i)});
      std::string stored;
      if (live) {
        s = db_->Get(rocksdb::ReadOptions(), docs_, doc_id, &stored);
        if (!s.ok()) return FromRocksDbStatus(s, "replaying the log");
        if (!doc.mutable_document()->ParseFromString(stored)) {
          return absl::DataLossError(
              absl::StrCat("stored document \"", doc_id, "\" is corrupt"));
        }
        inputs[i].source = "";
        if (!doc.document().source().empty()) {
          SIFT_ASSIGN_OR_RETURN(inputs[i].source,
                                NormalizeKeyword(doc.document().source()));
        }
        std::set<std::string> tags;
        for (const std::string& tag : doc.document().tags()) {
          SIFT_ASSIGN_OR_RETURN(std::string normalized, NormalizeKeyword(tag));
          if (!normalized.empty()) tags.insert(std::move(normalized));
        }
        inputs[i].tags.assign(tags.begin(), tags.end());
      } else {
        stale.push_back(static_cast<uint32_t>(i));
      }
      inputs[i].analyzed = &doc;
    }
    SIFT_ASSIGN_OR_RETURN(auto values, segment::BuildSegment(inputs));
    SIFT_ASSIGN_OR_RETURN(auto memory,
                          Segment::FromMemory(id, std::move(values)));
    for (uint32_t doc : stale) memory->MarkDeleted(doc);
    loaded[id] = std::move(memory);
    next_segment_id_ = std::max(next_segment_id_, id + 1);
  }
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(it->status(), "replaying the log"));

  absl::MutexLock state_lock(&state_mu_);
  segments_ = std::move(loaded);
  RecountLocked();
  return absl::OkStatus();
}

void SegmentIndex::RecountLocked() {
  uint64_t docs = 0, title = 0, body = 0;
  for (const auto& [id, s] : segments_) {
    docs += s->live_count();
    title += s->meta().total_title_terms;
    body += s->meta().total_body_terms;
    if (s->deleted_count() == 0) continue;
    const segment::Columns& c = s->columns();
    for (uint32_t d = 0; d < s->doc_count(); ++d) {
      if (!s->IsDeleted(d)) continue;
      title -= c.title_lengths[d];
      body -= c.body_lengths[d];
    }
  }
  total_title_terms_ = title;
  total_body_terms_ = body;
  doc_count_.store(docs);
}

absl::Status SegmentIndex::Close() {
  if (db_ == nullptr) return absl::OkStatus();
  {
    absl::MutexLock lock(&work_mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
  // Flushing now makes the next start read segments instead of replaying
  // the log; a failure here loses nothing.
  absl::Status flushed = DoWork(/*flush_all=*/true).status();
  {
    absl::MutexLock lock(&state_mu_);
    segments_.clear();
  }
  {
    absl::MutexLock lock(&merge_mu_);
    if (flushed.ok()) flushed = RemoveRetired();
  }
  // With the memtables on disk the write-ahead logs can go, and the next
  // start has nothing to replay. The log family is empty once flushed;
  // compacting it drops what its dead entries still take on disk.
  if (flushed.ok()) {
    flushed = FromRocksDbStatus(db_->Flush(rocksdb::FlushOptions(), handles_),
                                "flushing memtables");
  }
  if (flushed.ok()) {
    flushed =
        FromRocksDbStatus(db_->CompactRange(rocksdb::CompactRangeOptions(),
                                            pending_, nullptr, nullptr),
                          "compacting the log");
  }
  for (rocksdb::ColumnFamilyHandle* handle : handles_) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  handles_.clear();
  rocksdb::Status s = db_->Close();
  delete db_;
  db_ = nullptr;
  SIFT_RETURN_IF_ERROR(flushed);
  return FromRocksDbStatus(s, absl::StrCat("closing the index in ", dir_));
}

uint64_t SegmentIndex::DocCount() const { return doc_count_.load(); }

uint64_t SegmentIndex::DiskBytes() const {
  // Every query's statistics call asks; listing the WAL files each time
  // would cost more than the search.
  absl::MutexLock lock(&disk_bytes_mu_);
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

absl::StatusOr<std::string> SegmentIndex::NormalizeKeyword(
    absl::string_view value) const {
  // NUL is read as a space, as in the query service.
  std::string cleaned(value);
  std::replace(cleaned.begin(), cleaned.end(), '\0', ' ');
  SIFT_ASSIGN_OR_RETURN(std::string normalized,
                        analyzer_.NormalizeKeyword(cleaned));
  if (normalized.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        "a keyword value must not contain a NUL byte");
  }
  return normalized;
}

// What PrepareWrite works out for CommitWrite.
struct SegmentIndex::Prepared final : Index::PreparedWrite {
  const v1::WriteRequest* request = nullptr;
  std::vector<std::string> distinct;  // ids in order of first appearance
  std::vector<size_t> slot_of_op;     // op -> index into distinct
  std::vector<int> last_op;           // per distinct id
  std::vector<uint32_t> new_doc_of;   // per distinct id, or kNoMoreDocs
  std::vector<std::string> blobs;     // per distinct id, when upserted
  size_t new_doc_count = 0;
  segment::SegmentValues built;
  std::string log_entry;
};

absl::StatusOr<v1::WriteResponse> SegmentIndex::Apply(
    const v1::WriteRequest& request) {
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<PreparedWrite> prepared,
                        PrepareWrite(request));
  return CommitWrite(std::move(prepared));
}

absl::StatusOr<std::unique_ptr<Index::PreparedWrite>>
SegmentIndex::PrepareWrite(const v1::WriteRequest& request) const {
  // Everything is checked before anything is written.
  std::vector<segment::SegmentDocument> prepared(request.ops_size());
  for (int i = 0; i < request.ops_size(); ++i) {
    const v1::WriteOp& op = request.ops(i);
    const std::string path = absl::StrCat("ops[", i, "]");
    switch (op.op_case()) {
      case v1::WriteOp::kUpsert: {
        const v1::AnalyzedDocument& doc = op.upsert();
        if (doc.document().id().empty()) {
          return absl::InvalidArgumentError(absl::StrCat(
              path, ".upsert.document.id: the id must not be empty"));
        }
        SIFT_RETURN_IF_ERROR(
            CheckAnalyzedField(doc.title(), path + ".upsert.title"));
        SIFT_RETURN_IF_ERROR(
            CheckAnalyzedField(doc.body(), path + ".upsert.body"));
        segment::SegmentDocument& out = prepared[i];
        out.analyzed = &doc;
        if (!doc.document().source().empty()) {
          absl::StatusOr<std::string> source =
              NormalizeKeyword(doc.document().source());
          if (!source.ok()) {
            return WithPrefix(source.status(),
                              path + ".upsert.document.source: ");
          }
          out.source = *std::move(source);
        }
        std::set<std::string> tags;
        for (int j = 0; j < doc.document().tags_size(); ++j) {
          absl::StatusOr<std::string> tag =
              NormalizeKeyword(doc.document().tags(j));
          if (!tag.ok()) {
            return WithPrefix(tag.status(), absl::StrCat(path,
                                                         ".upsert.document."
                                                         "tags[",
                                                         j, "]: "));
          }
          // A blank tag names nothing a filter could ask for.
          if (!tag->empty()) tags.insert(*std::move(tag));
        }
        out.tags.assign(tags.begin(), tags.end());
        break;
      }
      case v1::WriteOp::kDeleteId:
        if (op.delete_id().empty()) {
          return absl::InvalidArgumentError(
              absl::StrCat(path, ".delete_id: the id must not be empty"));
        }
        break;
      case v1::WriteOp::OP_NOT_SET:
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": the operation has neither upsert nor delete_id set"));
    }
  }

  // The request's own effect: an id's last operation wins, and only the
  // surviving upserts are indexed, numbered in request order. The segment
  // and the log entry are built before taking the writer lock, so that
  // concurrent writes analyse in parallel.
  std::vector<std::string> distinct;
  absl::flat_hash_map<std::string, size_t> slot;
  auto id_of = [&](int i) -> const std::string& {
    const v1::WriteOp& op = request.ops(i);
    return op.has_upsert() ? op.upsert().document().id() : op.delete_id();
  };
  std::vector<int> last_op;
  for (int i = 0; i < request.ops_size(); ++i) {
    auto [it, inserted] = slot.emplace(id_of(i), distinct.size());
    if (inserted) {
      distinct.push_back(id_of(i));
      last_op.push_back(i);
    } else {
      last_op[it->second] = i;
    }
  }
  auto out = std::make_unique<Prepared>();
  out->request = &request;
  std::vector<segment::SegmentDocument> new_docs;
  out->new_doc_of.assign(distinct.size(), segment::kNoMoreDocs);
  out->blobs.resize(distinct.size());
  out->slot_of_op.resize(request.ops_size());
  for (int i = 0; i < request.ops_size(); ++i) {
    const size_t k = slot[id_of(i)];
    out->slot_of_op[i] = k;
    if (request.ops(i).has_upsert() && last_op[k] == i) {
      out->new_doc_of[k] = static_cast<uint32_t>(new_docs.size());
      new_docs.push_back(prepared[i]);
      request.ops(i).upsert().document().SerializeToString(&out->blobs[k]);
    }
  }
  if (!new_docs.empty()) {
    SIFT_ASSIGN_OR_RETURN(out->built, segment::BuildSegment(new_docs));
    out->log_entry = EncodeLogEntry(new_docs);
  }
  out->new_doc_count = new_docs.size();
  out->distinct = std::move(distinct);
  out->last_op = std::move(last_op);
  return out;
}

absl::StatusOr<v1::WriteResponse> SegmentIndex::CommitWrite(
    std::unique_ptr<PreparedWrite> prepared_write) {
  auto* prepared = dynamic_cast<Prepared*>(prepared_write.get());
  if (prepared == nullptr) {
    return absl::InvalidArgumentError(
        "the prepared write comes from another index");
  }
  const v1::WriteRequest& request = *prepared->request;
  const std::vector<std::string>& distinct = prepared->distinct;

  absl::MutexLock write_lock(&write_mu_);
  if (db_ == nullptr) return absl::FailedPreconditionError("index is closed");

  // Where each id lives now.
  std::vector<rocksdb::Slice> keys(distinct.begin(), distinct.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->MultiGet(rocksdb::ReadOptions(), ids_, keys.size(), keys.data(),
                values.data(), statuses.data());
  std::vector<std::optional<Location>> old(keys.size());
  for (size_t k = 0; k < keys.size(); ++k) {
    if (statuses[k].IsNotFound()) continue;
    SIFT_RETURN_IF_ERROR(FromRocksDbStatus(statuses[k], "looking up ids"));
    old[k] =
        Location::Decode(absl::string_view(values[k].data(), values[k].size()));
    if (!old[k]) {
      return absl::DataLossError(
          absl::StrCat("corrupt location of id \"", distinct[k], "\""));
    }
  }

  v1::WriteResponse response;
  std::vector<bool> present(keys.size());
  for (size_t k = 0; k < keys.size(); ++k) present[k] = old[k].has_value();
  for (int i = 0; i < request.ops_size(); ++i) {
    const size_t k = prepared->slot_of_op[i];
    response.add_results()->set_existed(present[k]);
    present[k] = request.ops(i).has_upsert();
  }
  const uint32_t segment_id = next_segment_id_;
  std::vector<Location> new_locations(keys.size());
  for (size_t k = 0; k < keys.size(); ++k) {
    new_locations[k] = {segment_id, prepared->new_doc_of[k]};
  }

  std::shared_ptr<Segment> memory;
  rocksdb::WriteBatch batch;
  if (prepared->new_doc_count > 0) {
    SIFT_ASSIGN_OR_RETURN(
        memory, Segment::FromMemory(segment_id, std::move(prepared->built)));
    ++next_segment_id_;
    std::string next;
    codec::PutVarint32(&next, next_segment_id_);
    batch.Put(meta_, kNextSegmentKey, next);
    batch.Put(pending_, PendingKey(segment_id), prepared->log_entry);
  }
  {
    absl::ReaderMutexLock lock(&state_mu_);
    for (size_t k = 0; k < keys.size(); ++k) {
      if (!old[k]) continue;
      auto it = segments_.find(old[k]->segment);
      if (it == segments_.end() || old[k]->doc >= it->second->doc_count()) {
        return absl::DataLossError(absl::StrCat(
            "id \"", distinct[k], "\" points into a missing segment"));
      }
      if (!it->second->in_memory()) {
        batch.Put(segments_cf_,
                  segment::DeletedKey(old[k]->segment, old[k]->doc), "");
      }
    }
  }
  for (size_t k = 0; k < keys.size(); ++k) {
    if (present[k]) {
      batch.Put(docs_, distinct[k], prepared->blobs[k]);
      batch.Put(ids_, distinct[k], new_locations[k].Encode());
    } else if (old[k]) {
      batch.Delete(docs_, distinct[k]);
      batch.Delete(ids_, distinct[k]);
    }
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  SIFT_RETURN_IF_ERROR(
      FromRocksDbStatus(db_->Write(write_options, &batch), "writing"));

  bool work = false;
  {
    absl::MutexLock lock(&state_mu_);
    for (size_t k = 0; k < keys.size(); ++k) {
      if (!old[k]) continue;
      Segment& s = *segments_[old[k]->segment];
      if (s.IsDeleted(old[k]->doc)) continue;
      s.MarkDeleted(old[k]->doc);
      total_title_terms_ -= s.columns().title_lengths[old[k]->doc];
      total_body_terms_ -= s.columns().body_lengths[old[k]->doc];
    }
    if (memory) {
      total_title_terms_ += memory->meta().total_title_terms;
      total_body_terms_ += memory->meta().total_body_terms;
      segments_[segment_id] = memory;
    }
    uint64_t live = 0;
    size_t memory_docs = 0, memory_bytes = 0, memory_segments = 0;
    for (const auto& [id, s] : segments_) {
      live += s->live_count();
      if (s->in_memory()) {
        memory_docs += s->doc_count();
        memory_bytes += s->memory_bytes();
        ++memory_segments;
      }
    }
    doc_count_.store(live);
    work = memory_docs >= options_.flush_documents ||
           memory_bytes >= options_.flush_bytes ||
           memory_segments >= options_.max_memory_segments;
  }
  if (work) {
    absl::MutexLock lock(&work_mu_);
    work_requested_ = true;
  }
  return response;
}

std::vector<std::shared_ptr<Segment>> SegmentIndex::SnapshotSegments() const {
  absl::ReaderMutexLock lock(&state_mu_);
  std::vector<std::shared_ptr<Segment>> out;
  for (const auto& [id, s] : segments_) out.push_back(s);
  return out;
}

absl::Status SegmentIndex::MergeInto(
    const std::vector<std::shared_ptr<Segment>>& inputs) {
  std::vector<segment::MergeSource> sources;
  {
    absl::ReaderMutexLock lock(&state_mu_);
    for (const auto& s : inputs)
      sources.push_back({s.get(), s->deleted_bits()});
  }
  uint32_t id = 0;
  {
    absl::MutexLock write_lock(&write_mu_);
    id = next_segment_id_++;
  }
  // The values go straight into an SST file that RocksDB adopts, rather
  // than through the WAL, a memtable and compactions. Until the commit
  // below lists the segment it is an orphan, which Load removes.
  std::vector<std::vector<uint32_t>> doc_maps;
  SIFT_RETURN_IF_ERROR(WriteSegment(id, [&](segment::ValueSink* out) {
    return segment::MergeSegments(sources, &doc_maps, out);
  }));

  absl::MutexLock write_lock(&write_mu_);
  {
    absl::ReaderMutexLock lock(&state_mu_);
    for (const auto& s : inputs) {
      auto it = segments_.find(s->id());
      if (it == segments_.end() || it->second != s) {
        return absl::InternalError(
            absl::StrCat("segment ", s->id(),
                         " was merged twice; the second merge is "
                         "abandoned"));
      }
    }
  }
  rocksdb::WriteBatch batch;
  // Documents deleted while the merge ran are deleted in its output;
  // writers, who change deletions, are held off by write_mu_.
  for (size_t s = 0; s < inputs.size(); ++s) {
    const Segment& input = *inputs[s];
    const segment::Columns& c = input.columns();
    for (uint32_t d = 0; d < input.doc_count(); ++d) {
      const uint32_t to = doc_maps[s][d];
      if (to == segment::kNoMoreDocs) continue;
      if (input.IsDeleted(d)) {
        batch.Put(segments_cf_, segment::DeletedKey(id, to), "");
      } else {
        const absl::string_view doc_id = c.id(d);
        batch.Put(ids_, rocksdb::Slice(doc_id.data(), doc_id.size()),
                  Location{id, to}.Encode());
      }
    }
    if (input.in_memory()) batch.Delete(pending_, PendingKey(input.id()));
  }
  std::set<uint32_t> replaced;
  for (const auto& s : inputs) replaced.insert(s->id());
  std::vector<uint32_t> persisted;
  {
    absl::ReaderMutexLock lock(&state_mu_);
    for (const auto& [sid, s] : segments_) {
      if (!s->in_memory() && !replaced.count(sid)) persisted.push_back(sid);
    }
  }
  persisted.push_back(id);
  batch.Put(meta_, kSegmentListKey, EncodeSegmentList(persisted));
  std::string next;
  codec::PutVarint32(&next, next_segment_id_);
  batch.Put(meta_, kNextSegmentKey, next);
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(db_->Write(write_options, &batch),
                                         "writing a merged segment"));
  SIFT_ASSIGN_OR_RETURN(std::shared_ptr<Segment> merged,
                        Segment::Open({db_, segments_cf_}, id));
  {
    absl::MutexLock lock(&state_mu_);
    for (uint32_t sid : replaced) segments_.erase(sid);
    segments_[id] = merged;
    RecountLocked();
  }
  // The replaced segments' values go once no search reads them.
  for (const auto& s : inputs) {
    if (!s->in_memory()) retired_.emplace_back(s->id(), s);
  }
  return absl::OkStatus();
}

namespace {

// Puts a segment's values, under the segment's prefix, into an SST file.
class SstValueSink final : public segment::ValueSink {
 public:
  SstValueSink(rocksdb::SstFileWriter* writer, std::string prefix)
      : writer_(writer), prefix_(std::move(prefix)) {}

  absl::Status Add(absl::string_view key_prefix, absl::string_view key_rest,
                   absl::string_view value) override {
    key_.assign(prefix_);
    key_.append(key_prefix.data(), key_prefix.size());
    key_.append(key_rest.data(), key_rest.size());
    return FromRocksDbStatus(
        writer_->Put(key_, rocksdb::Slice(value.data(), value.size())),
        "writing a segment file");
  }

 private:
  rocksdb::SstFileWriter* writer_;
  std::string prefix_;
  std::string key_;
};

}  // namespace

absl::Status SegmentIndex::WriteSegment(
    uint32_t id,
    const std::function<absl::Status(segment::ValueSink*)>& produce) {
  const std::string path = absl::StrCat(dir_, "/segment-", id, ".sst");
  rocksdb::Options options(db_->GetDBOptions(), db_->GetOptions(segments_cf_));
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, segments_cf_);
  absl::Status status = FromRocksDbStatus(writer.Open(path),
                                          absl::StrCat("writing segment ", id));
  if (status.ok()) {
    SstValueSink sink(&writer, segment::SegmentPrefix(id));
    status = produce(&sink);
  }
  if (status.ok()) {
    status = FromRocksDbStatus(writer.Finish(),
                               absl::StrCat("writing segment ", id));
  }
  if (status.ok()) {
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    status =
        FromRocksDbStatus(db_->IngestExternalFile(segments_cf_, {path}, ingest),
                          absl::StrCat("writing segment ", id));
  }
  if (!status.ok()) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  return status;
}

absl::Status SegmentIndex::RemoveRetired() {
  rocksdb::WriteBatch cleanup;
  std::vector<std::pair<std::string, std::string>> ranges;
  auto keep = retired_.begin();
  for (auto& entry : retired_) {
    if (entry.second.expired()) {
      ranges.emplace_back(segment::SegmentPrefix(entry.first),
                          segment::SegmentPrefix(entry.first + 1));
      cleanup.DeleteRange(segments_cf_, ranges.back().first,
                          ranges.back().second);
    } else {
      *keep++ = std::move(entry);
    }
  }
  retired_.erase(keep, retired_.end());
  if (cleanup.Count() == 0) return absl::OkStatus();
  SIFT_RETURN_IF_ERROR(
      FromRocksDbStatus(db_->Write(rocksdb::WriteOptions(), &cleanup),
                        "removing merged segments"));
  // A segment is usually one file of its own: drop it now rather than when
  // a compaction gets to the tombstone.
  for (const auto& [begin, end] : ranges) {
    const rocksdb::Slice b(begin), e(end);
    SIFT_RETURN_IF_ERROR(FromRocksDbStatus(
        rocksdb::DeleteFilesInRange(db_, segments_cf_, &b, &e, false),
        "removing merged segment files"));
    // Compacting the emptied range drops the range tombstone, which every
    // lookup would otherwise have to check.
    SIFT_RETURN_IF_ERROR(FromRocksDbStatus(
        db_->CompactRange(rocksdb::CompactRangeOptions(), segments_cf_, &b, &e),
        "compacting a merged segment's range"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> SegmentIndex::DoWork(bool flush_all) {
  absl::MutexLock merge_lock(&merge_mu_);
  SIFT_RETURN_IF_ERROR(RemoveRetired());
  std::vector<std::shared_ptr<Segment>> memory, stored;
  size_t memory_docs = 0, memory_bytes = 0;
  for (auto& s : SnapshotSegments()) {
    if (s->in_memory()) {
      memory_docs += s->doc_count();
      memory_bytes += s->memory_bytes();
      memory.push_back(std::move(s));
    } else {
      stored.push_back(std::move(s));
    }
  }
  if (!memory.empty() &&
      (flush_all || memory_docs >= options_.flush_documents ||
       memory_bytes >= options_.flush_bytes ||
       memory.size() >= options_.max_memory_segments)) {
    SIFT_RETURN_IF_ERROR(MergeInto(memory));
    return true;
  }
  if (flush_all) return false;
  // Tiers of similar size: floor(log_factor(live documents)).
  const size_t factor = std::max<size_t>(2, options_.merge_factor);
  std::map<int, std::vector<std::shared_ptr<Segment>>> tiers;
  for (auto& s : stored) {
    const uint32_t live = s->live_count();
    if (live > options_.max_merge_documents) {
      if (s->deleted_count() * 3 > s->doc_count()) {
        SIFT_RETURN_IF_ERROR(MergeInto({s}));
        return true;
      }
      continue;
    }
    int tier = 0;
    for (uint64_t n = live; n >= factor; n /= factor) ++tier;
    tiers[tier].push_back(s);
  }
  for (auto& [tier, group] : tiers) {
    if (group.size() < factor) continue;
    std::sort(group.begin(), group.end(), [](const auto& a, const auto& b) {
      return a->live_count() < b->live_count();
    });
    group.resize(factor);
    SIFT_RETURN_IF_ERROR(MergeInto(group));
    return true;
  }
  return false;
}

void SegmentIndex::BackgroundLoop() {
  while (true) {
    {
      absl::MutexLock lock(&work_mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(work_mu_) {
        return stopping_ || work_requested_;
      };
      // Wakes up now and then to merge what deletions made worth it.
      work_mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(5));
      if (stopping_) return;
      work_requested_ = false;
    }
    while (true) {
      absl::StatusOr<bool> did = DoWork(/*flush_all=*/false);
      if (!did.ok()) {
        absl::MutexLock lock(&work_mu_);
        background_status_ = did.status();
        break;
      }
      if (!*did) break;
      absl::MutexLock lock(&work_mu_);
      if (stopping_) return;
    }
  }
}

absl::Status SegmentIndex::Flush() {
  SIFT_RETURN_IF_ERROR(DoWork(/*flush_all=*/true).status());
  while (true) {
    SIFT_ASSIGN_OR_RETURN(bool did, DoWork(/*flush_all=*/false));
    if (!did) return absl::OkStatus();
  }
}

absl::Status SegmentIndex::ForceMerge(size_t max_segments) {
  max_segments = std::max<size_t>(1, max_segments);
  while (true) {
    // Chosen under the merge lock, so that no background flush or merge
    // takes the same segments meanwhile.
    absl::MutexLock merge_lock(&merge_mu_);
    // Memory segments are merged with the flushed ones in the same pass,
    // so a bulk load is written out once more, not twice.
    std::vector<std::shared_ptr<Segment>> all = SnapshotSegments();
    std::vector<std::shared_ptr<Segment>> inputs;
    size_t memory = 0;
    for (const auto& s : all) memory += s->in_memory() ? 1 : 0;
    if (all.size() > max_segments) {
      std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
        if (a->in_memory() != b->in_memory()) return a->in_memory();
        return a->live_count() < b->live_count();
      });
      // Every memory segment, then the smallest flushed ones.
      inputs.assign(
          all.begin(),
          all.begin() + std::max(all.size() - max_segments + 1, memory));
    } else {
      // Few enough segments: flush memory ones and rewrite those with
      // deletions, so that nothing deleted is left (and document
      // frequencies are exact).
      for (auto& s : all) {
        if (s->in_memory() || s->deleted_count() > 0) {
          inputs.push_back(std::move(s));
          break;
        }
      }
    }
    if (inputs.empty()) return absl::OkStatus();
    // Merged in doc order of the inputs: flushed (older) documents first.
    std::stable_sort(
        inputs.begin(), inputs.end(),
        [](const auto& a, const auto& b) { return a->id() < b->id(); });
    SIFT_RETURN_IF_ERROR(MergeInto(inputs));
  }
}

std::vector<SegmentIndex::SegmentInfo> SegmentIndex::Segments() const {
  absl::ReaderMutexLock lock(&state_mu_);
  std::vector<SegmentInfo> out;
  for (const auto& [id, s] : segments_) {
    out.push_back({id, s->doc_count(), s->deleted_count(), s->in_memory()});
  }
  return out;
}

absl::StatusOr<v1::StatsResponse> SegmentIndex::Stats(
    const v1::StatsRequest& request) const {
  v1::StatsResponse response;
  {
    absl::ReaderMutexLock lock(&state_mu_);
    std::vector<std::shared_ptr<Segment>> segments;
    for (const auto& [id, s] : segments_) segments.push_back(s);
    response.set_doc_count(doc_count_.load());
    response.set_total_title_terms(total_title_terms_);
    response.set_total_body_terms(total_body_terms_);
    for (int i = 0; i < request.terms_size(); ++i) {
      const v1::TermRef& ref = request.terms(i);
      const std::string path = absl::StrCat("terms[", i, "]");
      SIFT_RETURN_IF_ERROR(
          WithPrefix(CheckField(ref.field()), path + ".field: "));
      std::string term = ref.term();
      if (IsKeywordField(ref.field())) {
        absl::StatusOr<std::string> normalized = NormalizeKeyword(term);
        if (!normalized.ok()) {
          return WithPrefix(normalized.status(), path + ".term: ");
        }
        term = *std::move(normalized);
      }
      SIFT_ASSIGN_OR_RETURN(uint64_t df,
                            OwnDocFreq(segments, ref.field(), term));
      response.add_doc_freqs(df);
    }
  }
  response.set_disk_bytes(DiskBytes());
  return response;
}

namespace {

// Turns a QueryNode into a PlanNode, resolving idfs.
class PlanResolver {
 public:
  PlanResolver(
      const Bm25f* bm25,
      const absl::flat_hash_map<std::string, uint64_t>* global_df,
      const std::vector<std::shared_ptr<Segment>>* segments,
      std::function<absl::StatusOr<std::string>(absl::string_view)> normalize)
      : bm25_(bm25),
        global_df_(global_df),
        segments_(segments),
        normalize_(std::move(normalize)) {}

  absl::Status Resolve(const v1::QueryNode& node, const std::string& path,
                       int depth, PlanNode* out) {
    if (depth > 1000) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": query plan is nested too deeply"));
    }
    switch (node.node_case()) {
      case v1::QueryNode::kTerm:
        return ResolveTerm(node.term(), absl::StrCat(path, ".term"), out);
      case v1::QueryNode::kPhrase:
        return ResolvePhrase(node.phrase(), absl::StrCat(path, ".phrase"), out);
      case v1::QueryNode::kBoolean: {
        out->kind = PlanNode::Kind::kBoolean;
        const v1::BooleanQuery& b = node.boolean();
        const std::string base = absl::StrCat(path, ".boolean");
        for (int i = 0; i < b.must_size(); ++i) {
          SIFT_RETURN_IF_ERROR(Resolve(b.must(i),
                                       absl::StrCat(base, ".must[", i, "]"),
                                       depth + 1, &out->must.emplace_back()));
        }
        for (int i = 0; i < b.should_size(); ++i) {
          SIFT_RETURN_IF_ERROR(Resolve(b.should(i),
                                       absl::StrCat(base, ".should[", i, "]"),
                                       depth + 1, &out->should.emplace_back()));
        }
        for (int i = 0; i < b.must_not_size(); ++i) {
          SIFT_RETURN_IF_ERROR(
              Resolve(b.must_not(i), absl::StrCat(base, ".must_not[", i, "]"),
                      depth + 1, &out->must_not.emplace_back()));
        }
        return absl::OkStatus();
      }
      case v1::QueryNode::kPrefix:
        return ResolvePrefix(node.prefix(), absl::StrCat(path, ".prefix"), out);
      case v1::QueryNode::kFuzzy:
        return ResolveFuzzy(node.fuzzy(), absl::StrCat(path, ".fuzzy"), out);
      case v1::QueryNode::kMatchAll:
        out->kind = PlanNode::Kind::kMatchAll;
        return absl::OkStatus();
      case v1::QueryNode::kDateRange: {
        // The storage handler has checked the timestamps.
        out->kind = PlanNode::Kind::kDateRange;
        const v1::DateRangeQuery& range = node.date_range();
        if (range.has_from()) {
          out->from.emplace(range.from().seconds(), range.from().nanos());
        }
        if (range.has_to()) {
          out->to.emplace(range.to().seconds(), range.to().nanos());
        }
        return absl::OkStatus();
      }
      case v1::QueryNode::NODE_NOT_SET:
        break;
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": query node has no query set"));
  }

 private:
  // The document frequency that a term's idf comes from: the request's
  // global one, else the shard's own.
  absl::StatusOr<uint64_t> DocFreq(v1::Field field, absl::string_view term) {
    auto it = global_df_->find(DfKey(field, term));
    if (it != global_df_->end()) return it->second;
    return OwnDocFreq(*segments_, field, term);
  }

  // The value of a term-like node as the index holds it: keyword values
  // normalised, text terms as given; sets `out`'s field (keyword_field,
  // kText for title and body, and fields). `what` names the value in errors.
  absl::StatusOr<std::string> ResolveValue(v1::Field field,
                                           const std::string& value,
                                           const std::string& path,
                                           absl::string_view what,
                                           PlanNode* out) {
    SIFT_RETURN_IF_ERROR(WithPrefix(CheckField(field), path + ".field: "));
    std::string resolved = value;
    if (IsKeywordField(field)) {
      absl::StatusOr<std::string> normalized = normalize_(value);
      if (!normalized.ok()) {
        return WithPrefix(normalized.status(),
                          absl::StrCat(path, ".", what, ": "));
      }
      resolved = *std::move(normalized);
      out->keyword_field =
          field == v1::FIELD_SOURCE ? TermField::kSource : TermField::kTag;
    } else {
      out->keyword_field = TermField::kText;
      out->fields = TextFieldsOf(field);
    }
    SIFT_RETURN_IF_ERROR(CheckTerm(resolved, absl::StrCat(path, ".", what)));
    return resolved;
  }

  absl::Status ResolveTerm(const v1::TermQuery& query, const std::string& path,
                           PlanNode* out) {
    SIFT_ASSIGN_OR_RETURN(
        std::string term,
        ResolveValue(query.field(), query.term(), path, "term", out));
    out->kind = IsKeywordField(query.field()) ? PlanNode::Kind::kKeyword
                                              : PlanNode::Kind::kTerm;
    SIFT_ASSIGN_OR_RETURN(out->doc_freq, DocFreq(query.field(), term));
    out->idf = bm25_->Idf(out->doc_freq);
    out->term = std::move(term);
    return absl::OkStatus();
  }

  absl::Status ResolvePrefix(const v1::PrefixQuery& query,
                             const std::string& path, PlanNode* out) {
    SIFT_ASSIGN_OR_RETURN(out->term, ResolveValue(query.field(), query.prefix(),
                                                  path, "prefix", out));
    out->kind = PlanNode::Kind::kPrefix;
    out->idf = 1.0;  // the constant score of a match
    return absl::OkStatus();
  }

  absl::Status ResolveFuzzy(const v1::FuzzyQuery& query,
                            const std::string& path, PlanNode* out) {
    if (IsKeywordField(query.field())) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".field: fuzzy matching needs a full-text field"));
    }
    if (query.max_edits() < 1 || query.max_edits() > 2) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".max_edits: must be 1 or 2"));
    }
    SIFT_ASSIGN_OR_RETURN(out->term, ResolveValue(query.field(), query.term(),
                                                  path, "term", out));
    out->kind = PlanNode::Kind::kFuzzy;
    out->slop = query.max_edits();
    out->idf = 1.0;  // the constant score of a match
    return absl::OkStatus();
  }

  absl::Status ResolvePhrase(const v1::PhraseQuery& query,
                             const std::string& path, PlanNode* out) {
    SIFT_RETURN_IF_ERROR(
        WithPrefix(CheckField(query.field()), path + ".field: "));
    if (IsKeywordField(query.field())) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".field: a phrase needs a full-text field (title or body)"));
    }
    if (query.terms().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".terms: a phrase needs at least one term"));
    }
    out->kind = PlanNode::Kind::kPhrase;
    out->fields = TextFieldsOf(query.field());
    out->slop = query.slop();
    out->idf = 0.0;
    for (int i = 0; i < query.terms_size(); ++i) {
      SIFT_RETURN_IF_ERROR(
          CheckTerm(query.terms(i), absl::StrCat(path, ".terms[", i, "]")));
      SIFT_ASSIGN_OR_RETURN(uint64_t df,
                            DocFreq(query.field(), query.terms(i)));
      out->idf += bm25_->Idf(df);
      out->doc_freqs.push_back(df);
      out->terms.push_back(query.terms(i));
    }
    return absl::OkStatus();
  }

  const Bm25f* bm25_;
  const absl::flat_hash_map<std::string, uint64_t>* global_df_;
  const std::vector<std::shared_ptr<Segment>>* segments_;
  std::function<absl::StatusOr<std::string>(absl::string_view)> normalize_;
};

// The facet of `request`, resolved; INVALID_ARGUMENT naming `path` for a
// field or interval the shard does not know.
absl::StatusOr<segment::FacetSpec> ResolveFacet(const v1::FacetRequest& request,
                                                absl::string_view path) {
  segment::FacetSpec spec;
  switch (request.field()) {
    case v1::FACET_FIELD_SOURCE:
      spec.kind = segment::FacetSpec::Kind::kSource;
      break;
    case v1::FACET_FIELD_TAGS:
      spec.kind = segment::FacetSpec::Kind::kTags;
      break;
    case v1::FACET_FIELD_PUBLISHED_AT:
      spec.kind = segment::FacetSpec::Kind::kPublished;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".field: unknown facet field ", request.field()));
  }
  switch (request.interval()) {
    case v1::DATE_INTERVAL_DAY:
      spec.unit = segment::FacetSpec::Unit::kDay;
      break;
    case v1::DATE_INTERVAL_UNSPECIFIED:
    case v1::DATE_INTERVAL_MONTH:
      spec.unit = segment::FacetSpec::Unit::kMonth;
      break;
    case v1::DATE_INTERVAL_YEAR:
      spec.unit = segment::FacetSpec::Unit::kYear;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".interval: unknown date interval ", request.interval()));
  }
  return spec;
}

// A shard's answer for one facet: every counted value, the most frequent
// first (date buckets in time order), at most kMaxShardFacetValues.
v1::ShardFacetCounts ToShardFacetCounts(const v1::FacetRequest& request,
                                        const segment::FacetSpec& spec,
                                        segment::FacetCounts counts) {
  v1::ShardFacetCounts out;
  out.set_field(request.field());
  out.set_missing_count(counts.missing);
  uint64_t total = 0;
  if (spec.kind == segment::FacetSpec::Kind::kPublished) {
    out.set_interval(spec.unit == segment::FacetSpec::Unit::kDay
                         ? v1::DATE_INTERVAL_DAY
                     : spec.unit == segment::FacetSpec::Unit::kMonth
                         ? v1::DATE_INTERVAL_MONTH
                         : v1::DATE_INTERVAL_YEAR);
    std::vector<std::pair<int64_t, uint64_t>> buckets(counts.buckets.begin(),
                                                      counts.buckets.end());
    std::sort(buckets.begin(), buckets.end());
    for (const auto& [start, count] : buckets) {
      total += count;
      if (static_cast<size_t>(out.counts_size()) >=
          segment::kMaxShardFacetValues) {
        out.set_truncated(true);
        continue;
      }
      v1::ShardFacetCount* bucket = out.add_counts();
      bucket->set_start_seconds(start);
      bucket->set_count(count);
    }
  } else {
    std::vector<std::pair<std::string, uint64_t>> values;
    values.reserve(counts.values.size());
    for (auto& [value, count] : counts.values) {
      total += count;
      values.emplace_back(value, count);
    }
    auto better = [](const std::pair<std::string, uint64_t>& a,
                     const std::pair<std::string, uint64_t>& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    };
    if (values.size() > segment::kMaxShardFacetValues) {
      out.set_truncated(true);
      std::partial_sort(values.begin(),
                        values.begin() + segment::kMaxShardFacetValues,
                        values.end(), better);
      values.resize(segment::kMaxShardFacetValues);
    } else {
      std::sort(values.begin(), values.end(), better);
    }
    for (auto& [value, count] : values) {
      v1::ShardFacetCount* entry = out.add_counts();
      entry->set_value(std::move(value));
      entry->set_count(count);
    }
  }
  out.set_total_count(total);
  return out;
}

}  // namespace

absl::StatusOr<v1::ShardSearchResponse> SegmentIndex::Search(
    const v1::ShardSearchRequest& request) const {
  if (!request.has_query()) {
    return absl::InvalidArgumentError("query: a query plan is required");
  }
  auto normalize = [this](absl::string_view value) {
    return NormalizeKeyword(value);
  };
  const v1::GlobalStats& stats = request.stats();
  absl::flat_hash_map<std::string, uint64_t> global_df;
  const int aligned = std::min(stats.terms_size(), stats.doc_freqs_size());
  for (int i = 0; i < aligned; ++i) {
    const v1::TermRef& ref = stats.terms(i);
    SIFT_RETURN_IF_ERROR(WithPrefix(
        CheckField(ref.field()), absl::StrCat("stats.terms[", i, "].field: ")));
    std::string term = ref.term();
    if (IsKeywordField(ref.field())) {
      absl::StatusOr<std::string> normalized = NormalizeKeyword(term);
      if (!normalized.ok()) {
        return WithPrefix(normalized.status(),
                          absl::StrCat("stats.terms[", i, "].term: "));
      }
      term = *std::move(normalized);
    }
    global_df.emplace(DfKey(ref.field(), term), stats.doc_freqs(i));
  }

  segment::SearchSpec spec;
  const v1::Filters& filters = request.filters();
  for (int i = 0; i < filters.sources_size(); ++i) {
    absl::StatusOr<std::string> source = NormalizeKeyword(filters.sources(i));
    if (!source.ok()) {
      return WithPrefix(source.status(),
                        absl::StrCat("filters.sources[", i, "]: "));
    }
    spec.filters.sources.push_back(*std::move(source));
  }
  for (int i = 0; i < filters.tags_size(); ++i) {
    absl::StatusOr<std::string> tag = NormalizeKeyword(filters.tags(i));
    if (!tag.ok()) {
      return WithPrefix(tag.status(), absl::StrCat("filters.tags[", i, "]: "));
    }
    spec.filters.tags.push_back(*std::move(tag));
  }
  if (filters.has_published_from()) {
    spec.filters.from.emplace(filters.published_from().seconds(),
                              filters.published_from().nanos());
  }
  if (filters.has_published_to()) {
    spec.filters.to.emplace(filters.published_to().seconds(),
                            filters.published_to().nanos());
  }
  spec.limit = request.limit();
  spec.sort = request.sort();
  if (request.has_search_after()) {
    const v1::SearchAfter& after = request.search_after();
    segment::SearchAfter& cursor = spec.after.emplace();
    cursor.score = after.score();
    cursor.id = after.id();
    if (after.has_published_at()) {
      cursor.published.emplace(after.published_at().seconds(),
                               after.published_at().nanos());
    }
  }
  for (int i = 0; i < request.facets_size(); ++i) {
    SIFT_ASSIGN_OR_RETURN(
        spec.facets.emplace_back(),
        ResolveFacet(request.facets(i), absl::StrCat("facets[", i, "]")));
  }

  absl::ReaderMutexLock lock(&state_mu_);
  std::vector<std::shared_ptr<Segment>> segments;
  for (const auto& [id, s] : segments_) segments.push_back(s);
  uint64_t doc_count = stats.doc_count();
  uint64_t total_title_terms = stats.total_title_terms();
  uint64_t total_body_terms = stats.total_body_terms();
  if (doc_count == 0) {
    doc_count = doc_count_.load();
    total_title_terms = total_title_terms_;
    total_body_terms = total_body_terms_;
  }
  const Bm25f bm25(Bm25fParams::FromProto(request.scoring()), doc_count,
                   total_title_terms, total_body_terms);
  PlanResolver resolver(&bm25, &global_df, &segments, normalize);
  PlanNode root;
  SIFT_RETURN_IF_ERROR(resolver.Resolve(request.query(), "query", 0, &root));
  spec.root = &root;
  spec.bm25 = &bm25;
  spec.explain = request.explain();
  SIFT_ASSIGN_OR_RETURN(segment::SearchResult result,
                        segment::Search(segments, spec));

  v1::ShardSearchResponse response;
  response.set_total_hits(result.total_hits);
  response.set_total_hits_is_lower_bound(result.total_hits_is_lower_bound);
  for (size_t i = 0; i < result.facets.size(); ++i) {
    *response.add_facets() =
        ToShardFacetCounts(request.facets(static_cast<int>(i)), spec.facets[i],
                           std::move(result.facets[i]));
  }
  for (segment::SearchHit& hit : result.hits) {
    v1::ShardHit* out = response.add_hits();
    out->set_id(std::move(hit.id));
    out->set_score(hit.score);
    if (hit.explanation) {
      *out->mutable_explanation() = *std::move(hit.explanation);
    }
    if (hit.published) {
      out->mutable_published_at()->set_seconds(hit.published->first);
      out->mutable_published_at()->set_nanos(hit.published->second);
    }
  }
  return response;
}

absl::StatusOr<v1::FetchResponse> SegmentIndex::Fetch(
    const v1::FetchRequest& request) const {
  v1::FetchResponse response;
  std::vector<rocksdb::Slice> keys(request.ids().begin(), request.ids().end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  if (!keys.empty()) {
    db_->MultiGet(rocksdb::ReadOptions(), docs_, keys.size(), keys.data(),
                  values.data(), statuses.data());
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    v1::FetchResult* result = response.add_results();
    result->set_id(request.ids(static_cast<int>(i)));
    if (statuses[i].IsNotFound()) continue;
    SIFT_RETURN_IF_ERROR(
        FromRocksDbStatus(statuses[i], "reading a stored document"));
    if (!result->mutable_document()->ParseFromArray(
            values[i].data(), static_cast<int>(values[i].size()))) {
      return absl::DataLossError(absl::StrCat("stored document of \"",
                                              request.ids(static_cast<int>(i)),
                                              "\" is corrupt"));
    }
    result->set_found(true);
  }
  return response;
}

}  // namespace sift::storage
