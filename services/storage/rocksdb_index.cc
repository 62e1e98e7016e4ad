#include "services/storage/rocksdb_index.h"

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/transaction_log.h"
#include "rocksdb/write_batch.h"
#include "services/storage/internal/doc_iterator.h"
#include "services/storage/internal/rocksdb_status.h"
#include "services/storage/scoring.h"

namespace sift::storage {
namespace internal {

// A document added earlier in the batch being built: what removing it again
// needs, since the database does not have it yet.
struct PendingDoc {
  DocValues values;
  DocTerms terms;
};

// Everything one Apply call accumulates before its single atomic write.
struct WriteState {
  rocksdb::WriteBatch batch;
  Counters counters;
  // Ids written in this batch: their new docnum, or 0 when removed.
  absl::flat_hash_map<std::string, uint32_t> ids;
  absl::flat_hash_map<uint32_t, PendingDoc> docs;
  // Net change of each document frequency (DocFreqKey → delta).
  absl::btree_map<std::string, int64_t> df_deltas;
};

}  // namespace internal

namespace {

using internal::Counters;
using internal::DocTerms;
using internal::DocValues;
using internal::FieldTag;
using internal::FromRocksDbStatus;
using internal::kNoMoreDocs;

// Index of each family in the handles vector, in Open's descriptor order.
enum FamilyIndex {
  kDefault,
  kDocs,
  kIds,
  kPostings,
  kPositions,
  kFields,
  kMeta
};

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
    // Destroying a handle only frees memory; its status carries nothing.
    db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  db->Close().PermitUncheckedError();
  delete db;
}

// Releases a snapshot when the query is done.
class ScopedSnapshot {
 public:
  explicit ScopedSnapshot(rocksdb::DB* db)
      : db_(db), snapshot_(db->GetSnapshot()) {}
  ~ScopedSnapshot() { db_->ReleaseSnapshot(snapshot_); }
  ScopedSnapshot(const ScopedSnapshot&) = delete;
  ScopedSnapshot& operator=(const ScopedSnapshot&) = delete;

  rocksdb::ReadOptions ReadOptions() const {
    rocksdb::ReadOptions options;
    options.snapshot = snapshot_;
    return options;
  }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
};

// The FieldTag under which a TermRef's document frequency is kept.
absl::StatusOr<FieldTag> DocFreqTag(v1::Field field) {
  switch (field) {
    case v1::FIELD_UNSPECIFIED:
      return FieldTag::kText;
    case v1::FIELD_TITLE:
      return FieldTag::kTitle;
    case v1::FIELD_BODY:
      return FieldTag::kBody;
    case v1::FIELD_SOURCE:
      return FieldTag::kSource;
    case v1::FIELD_TAG:
      return FieldTag::kTag;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown field ", static_cast<int>(field)));
  }
}

bool IsKeyword(FieldTag tag) {
  return tag == FieldTag::kSource || tag == FieldTag::kTag;
}

// One hit being considered for the top k.
struct Candidate {
  double score = 0.0;
  std::string id;
  std::optional<std::pair<int64_t, int32_t>> published_at;
};

bool BetterByRelevance(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.id < b.id;
}

// Dated documents first, by date in the requested direction, then by id.
bool BetterByDate(const Candidate& a, const Candidate& b, bool newest_first) {
  if (a.published_at.has_value() != b.published_at.has_value()) {
    return a.published_at.has_value();
  }
  if (a.published_at && *a.published_at != *b.published_at) {
    return newest_first ? *a.published_at > *b.published_at
                        : *a.published_at < *b.published_at;
  }
  return a.id < b.id;
}

// Turns a query plan into iterators, resolving each term's idf.
class PlanBuilder {
 public:
  PlanBuilder(
      internal::ReadContext* context, const Bm25f* bm25,
      const absl::flat_hash_map<std::string, uint64_t>* global_df,
      std::function<absl::StatusOr<uint64_t>(const std::string&)> shard_df,
      std::function<absl::StatusOr<std::string>(absl::string_view)> normalize)
      : context_(context),
        bm25_(bm25),
        global_df_(global_df),
        shard_df_(std::move(shard_df)),
        normalize_(std::move(normalize)) {}

  absl::StatusOr<std::unique_ptr<internal::DocIterator>> Build(
      const v1::QueryNode& node, const std::string& path, int depth) {
    // The handler bounds the depth; this only keeps a plan that skipped it
    // from exhausting the stack.
    if (depth > 1000) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": query plan is nested too deeply"));
    }
    switch (node.node_case()) {
      case v1::QueryNode::kTerm:
        return BuildTerm(node.term(), absl::StrCat(path, ".term"));
      case v1::QueryNode::kPhrase:
        return BuildPhrase(node.phrase(), absl::StrCat(path, ".phrase"));
      case v1::QueryNode::kBoolean:
        return BuildBoolean(node.boolean(), absl::StrCat(path, ".boolean"),
                            depth);
      case v1::QueryNode::kMatchAll:
        return std::make_unique<internal::MatchAllIterator>(context_);
      case v1::QueryNode::NODE_NOT_SET:
        break;
    }
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": query node has no query set"));
  }

  // Keyword postings of a filter value (not scored).
  absl::StatusOr<std::unique_ptr<internal::DocIterator>> BuildKeyword(
      FieldTag tag, absl::string_view value, const std::string& path) {
    absl::StatusOr<std::string> normalized = normalize_(value);
    if (!normalized.ok()) return WithPrefix(normalized.status(), path + ": ");
    return std::make_unique<internal::PostingIterator>(
        context_, tag, *std::move(normalized), TextFields::kTitleAndBody, bm25_,
        0.0);
  }

 private:
  absl::StatusOr<double> Idf(FieldTag tag, absl::string_view term) {
    const std::string key = internal::DocFreqKey(tag, term);
    auto it = global_df_->find(key);
    if (it != global_df_->end()) return bm25_->Idf(it->second);
    SIFT_ASSIGN_OR_RETURN(uint64_t df, shard_df_(key));
    return bm25_->Idf(df);
  }

  absl::StatusOr<std::unique_ptr<internal::DocIterator>> BuildTerm(
      const v1::TermQuery& query, const std::string& path) {
    absl::StatusOr<FieldTag> tag = DocFreqTag(query.field());
    if (!tag.ok()) return WithPrefix(tag.status(), path + ".field: ");
    std::string term = query.term();
    if (IsKeyword(*tag)) {
      absl::StatusOr<std::string> normalized = normalize_(term);
      if (!normalized.ok()) {
        return WithPrefix(normalized.status(), path + ".term: ");
      }
      term = *std::move(normalized);
    }
    SIFT_RETURN_IF_ERROR(CheckTerm(term, path + ".term"));
    SIFT_ASSIGN_OR_RETURN(double idf, Idf(*tag, term));
    TextFields fields = TextFields::kTitleAndBody;
    FieldTag postings = FieldTag::kText;
    switch (*tag) {
      case FieldTag::kTitle:
        fields = TextFields::kTitle;
        break;
      case FieldTag::kBody:
        fields = TextFields::kBody;
        break;
      case FieldTag::kSource:
      case FieldTag::kTag:
        postings = *tag;
        break;
      case FieldTag::kText:
        break;
    }
    return std::make_unique<internal::PostingIterator>(
        context_, postings, std::move(term), fields, bm25_, idf);
  }

  absl::StatusOr<std::unique_ptr<internal::DocIterator>> BuildPhrase(
      const v1::PhraseQuery& query, const std::string& path) {
    absl::StatusOr<FieldTag> tag = DocFreqTag(query.field());
    if (!tag.ok()) return WithPrefix(tag.status(), path + ".field: ");
    if (IsKeyword(*tag)) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".field: a phrase needs a full-text field (title or body)"));
    }
    if (query.terms().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".terms: a phrase needs at least one term"));
    }
    std::vector<std::string> terms;
    double idf = 0.0;
    for (int i = 0; i < query.terms_size(); ++i) {
      SIFT_RETURN_IF_ERROR(
          CheckTerm(query.terms(i), absl::StrCat(path, ".terms[", i, "]")));
      SIFT_ASSIGN_OR_RETURN(double term_idf, Idf(*tag, query.terms(i)));
      idf += term_idf;
      terms.push_back(query.terms(i));
    }
    const TextFields fields = *tag == FieldTag::kTitle ? TextFields::kTitle
                              : *tag == FieldTag::kBody
                                  ? TextFields::kBody
                                  : TextFields::kTitleAndBody;
    return std::make_unique<internal::PhraseIterator>(context_, terms, fields,
                                                      query.slop(), bm25_, idf);
  }

  absl::StatusOr<std::unique_ptr<internal::DocIterator>> BuildBoolean(
      const v1::BooleanQuery& query, const std::string& path, int depth) {
    std::vector<std::unique_ptr<internal::DocIterator>> must;
    std::vector<std::unique_ptr<internal::DocIterator>> should;
    std::vector<std::unique_ptr<internal::DocIterator>> must_not;
    for (int i = 0; i < query.must_size(); ++i) {
      SIFT_ASSIGN_OR_RETURN(
          must.emplace_back(),
          Build(query.must(i), absl::StrCat(path, ".must[", i, "]"),
                depth + 1));
    }
    for (int i = 0; i < query.should_size(); ++i) {
      SIFT_ASSIGN_OR_RETURN(
          should.emplace_back(),
          Build(query.should(i), absl::StrCat(path, ".should[", i, "]"),
                depth + 1));
    }
    for (int i = 0; i < query.must_not_size(); ++i) {
      SIFT_ASSIGN_OR_RETURN(
          must_not.emplace_back(),
          Build(query.must_not(i), absl::StrCat(path, ".must_not[", i, "]"),
                depth + 1));
    }
    return std::make_unique<internal::BooleanIterator>(
        std::move(must), std::move(should), std::move(must_not));
  }

  internal::ReadContext* context_;
  const Bm25f* bm25_;
  const absl::flat_hash_map<std::string, uint64_t>* global_df_;
  std::function<absl::StatusOr<uint64_t>(const std::string&)> shard_df_;
  std::function<absl::StatusOr<std::string>(absl::string_view)> normalize_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbIndex>> RocksDbIndex::Open(
    const std::string& dir, const IndexOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.db_write_buffer_size = options.write_buffer_bytes;
  // With several families a WAL lives until every family has flushed past
  // it; bounding the total makes RocksDB flush stale families instead of
  // keeping old logs (and replaying them on restart) indefinitely.
  db_options.max_total_wal_size = 4 * options.write_buffer_bytes;
  db_options.keep_log_file_num = 5;

  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);
  auto family = [&](bool bloom, rocksdb::CompressionType compression,
                    size_t block_size) {
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.block_size = block_size;
    // Whole-key filters help point lookups (ids, positions, per-document
    // values, statistics); posting scans seek by prefix and gain nothing.
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
  const size_t kSmallBlock = 4 << 10;
  // Stored documents compress better in larger blocks.
  const size_t kDocBlock = 16 << 10;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, family(false, fast, kSmallBlock)},
      {internal::kDocsFamily, family(false, strong, kDocBlock)},
      {internal::kIdsFamily, family(true, fast, kSmallBlock)},
      {internal::kPostingsFamily, family(false, fast, kSmallBlock)},
      {internal::kPositionsFamily, family(true, fast, kSmallBlock)},
      {internal::kFieldsFamily, family(true, fast, kSmallBlock)},
      {internal::kMetaFamily, family(true, fast, kSmallBlock)},
  };

  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status s =
      rocksdb::DB::Open(db_options, dir, descriptors, &handles, &db);
  if (!s.ok()) {
    return FromRocksDbStatus(s, absl::StrCat("opening the index in ", dir));
  }

  // A new database gets its schema version and zero counters; an existing
  // one must have the version this code reads.
  Counters counters;
  std::string value;
  s = db->Get(rocksdb::ReadOptions(), handles[kMeta],
              internal::kSchemaVersionKey, &value);
  if (s.IsNotFound()) {
    rocksdb::WriteBatch batch;
    std::string version;
    internal::PutVarint64(&version, internal::kSchemaVersion);
    batch.Put(handles[kMeta], internal::kSchemaVersionKey, version);
    batch.Put(handles[kMeta], internal::kCountersKey,
              internal::EncodeCounters(counters));
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    s = db->Write(write_options, &batch);
  } else if (s.ok()) {
    absl::string_view input(value);
    uint64_t version = 0;
    if (!internal::GetVarint64(&input, &version)) {
      s = rocksdb::Status::Corruption("malformed schema version");
    } else if (version != internal::kSchemaVersion) {
      CloseDb(db, handles);
      return absl::FailedPreconditionError(absl::StrCat(
          "the index in ", dir, " has schema version ", version,
          "; this build reads version ", internal::kSchemaVersion));
    } else {
      s = db->Get(rocksdb::ReadOptions(), handles[kMeta],
                  internal::kCountersKey, &value);
      if (s.ok() && !internal::DecodeCounters(value, &counters)) {
        s = rocksdb::Status::Corruption("malformed counters");
      }
    }
  }
  if (!s.ok()) {
    CloseDb(db, handles);
    return FromRocksDbStatus(s, absl::StrCat("opening the index in ", dir));
  }
  return absl::WrapUnique(
      new RocksDbIndex(dir, db, std::move(handles), counters));
}

RocksDbIndex::RocksDbIndex(std::string dir, rocksdb::DB* db,
                           std::vector<rocksdb::ColumnFamilyHandle*> handles,
                           Counters counters)
    : dir_(std::move(dir)),
      db_(db),
      handles_(std::move(handles)),
      docs_(handles_[kDocs]),
      ids_(handles_[kIds]),
      postings_(handles_[kPostings]),
      positions_(handles_[kPositions]),
      fields_(handles_[kFields]),
      meta_(handles_[kMeta]),
      counters_(counters),
      doc_count_(counters.doc_count) {}

RocksDbIndex::~RocksDbIndex() {
  // Nobody is left to report a close failure to; the WAL already holds
  // every acknowledged write.
  Close().IgnoreError();
}

absl::Status RocksDbIndex::Close() {
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

uint64_t RocksDbIndex::DocCount() const { return doc_count_.load(); }

absl::StatusOr<std::string> RocksDbIndex::NormalizeKeyword(
    absl::string_view value) const {
  // NUL ends the value inside a posting key, so it is indexed as a space;
  // whitespace normalisation then treats it like any other separator.
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

absl::StatusOr<uint64_t> RocksDbIndex::ReadDocFreq(
    const rocksdb::ReadOptions& options, const std::string& key) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(options, meta_, key, &value);
  if (s.IsNotFound()) return 0;
  if (!s.ok()) return FromRocksDbStatus(s, "reading a document frequency");
  absl::string_view input(value.data(), value.size());
  uint64_t df = 0;
  if (!internal::GetVarint64(&input, &df) || !input.empty()) {
    return absl::DataLossError("malformed document frequency");
  }
  return df;
}

absl::StatusOr<Counters> RocksDbIndex::ReadCounters(
    const rocksdb::ReadOptions& options) const {
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(options, meta_, internal::kCountersKey, &value);
  if (!s.ok()) return FromRocksDbStatus(s, "reading the collection counters");
  Counters counters;
  if (!internal::DecodeCounters(absl::string_view(value.data(), value.size()),
                                &counters)) {
    return absl::DataLossError("malformed collection counters");
  }
  return counters;
}

absl::StatusOr<v1::WriteResponse> RocksDbIndex::Apply(
    const v1::WriteRequest& request) {
  v1::WriteResponse response;
  absl::MutexLock lock(&write_mu_);
  internal::WriteState state;
  state.counters = counters_;
  for (int i = 0; i < request.ops_size(); ++i) {
    const v1::WriteOp& op = request.ops(i);
    const std::string prefix = absl::StrCat("ops[", i, "]");
    bool existed = false;
    switch (op.op_case()) {
      case v1::WriteOp::kUpsert: {
        absl::StatusOr<bool> removed =
            RemoveDocument(op.upsert().document().id(), state);
        if (!removed.ok()) {
          return WithPrefix(removed.status(), prefix + ".upsert: ");
        }
        existed = *removed;
        absl::Status added = AddDocument(op.upsert(), state);
        if (!added.ok()) return WithPrefix(added, prefix + ".upsert.");
        break;
      }
      case v1::WriteOp::kDeleteId: {
        absl::StatusOr<bool> removed = RemoveDocument(op.delete_id(), state);
        if (!removed.ok()) {
          return WithPrefix(removed.status(), prefix + ".delete_id: ");
        }
        existed = *removed;
        break;
      }
      case v1::WriteOp::OP_NOT_SET:
        return absl::InvalidArgumentError(
            absl::StrCat(prefix,
                         ": the operation has neither upsert nor "
                         "delete_id set"));
    }
    response.add_results()->set_existed(existed);
  }

  for (const auto& [key, delta] : state.df_deltas) {
    if (delta == 0) continue;
    SIFT_ASSIGN_OR_RETURN(uint64_t current,
                          ReadDocFreq(rocksdb::ReadOptions(), key));
    const int64_t updated = static_cast<int64_t>(current) + delta;
    if (updated <= 0) {
      // Below zero would mean the statistics had drifted from the postings;
      // clamping keeps the shard writable and the value sane.
      state.batch.Delete(meta_, key);
    } else {
      std::string value;
      internal::PutVarint64(&value, static_cast<uint64_t>(updated));
      state.batch.Put(meta_, key, value);
    }
  }
  state.batch.Put(meta_, internal::kCountersKey,
                  internal::EncodeCounters(state.counters));

  // The durability promise: the answer goes out only once the synced WAL
  // holds the whole batch.
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  rocksdb::Status s = db_->Write(write_options, &state.batch);
  if (!s.ok()) return FromRocksDbStatus(s, "writing the batch");
  counters_ = state.counters;
  doc_count_.store(counters_.doc_count);
  return response;
}

absl::StatusOr<bool> RocksDbIndex::RemoveDocument(const std::string& id,
                                                  internal::WriteState& state) {
  uint32_t docnum = 0;
  if (auto it = state.ids.find(id); it != state.ids.end()) {
    docnum = it->second;
  } else {
    rocksdb::PinnableSlice value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ids_, id, &value);
    if (s.ok()) {
      if (value.size() != 4) {
        return absl::DataLossError(
            absl::StrCat("malformed docnum of id \"", id, "\""));
      }
      docnum = internal::DecodeBigEndian32(
          absl::string_view(value.data(), value.size()));
    } else if (!s.IsNotFound()) {
      return FromRocksDbStatus(s, "looking up the id");
    }
  }
  if (docnum == 0) return false;

  DocValues values;
  DocTerms terms;
  if (auto it = state.docs.find(docnum); it != state.docs.end()) {
    values = std::move(it->second.values);
    terms = std::move(it->second.terms);
    state.docs.erase(it);
  } else {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), fields_,
                                 internal::DocValuesKey(docnum), &value);
    if (!s.ok() || !internal::DecodeDocValues(value, &values)) {
      return s.ok() || s.IsNotFound()
                 ? absl::DataLossError(absl::StrCat("document values of \"", id,
                                                    "\" missing or malformed"))
                 : FromRocksDbStatus(s, "reading document values");
    }
    s = db_->Get(rocksdb::ReadOptions(), fields_, internal::DocTermsKey(docnum),
                 &value);
    if (!s.ok() || !internal::DecodeDocTerms(value, &terms)) {
      return s.ok() || s.IsNotFound()
                 ? absl::DataLossError(absl::StrCat("term list of \"", id,
                                                    "\" missing or malformed"))
                 : FromRocksDbStatus(s, "reading the term list");
    }
  }

  rocksdb::WriteBatch& batch = state.batch;
  batch.Delete(ids_, id);
  batch.Delete(docs_, internal::DocKey(docnum));
  batch.Delete(fields_, internal::DocValuesKey(docnum));
  batch.Delete(fields_, internal::DocTermsKey(docnum));
  for (const std::string& term : terms.title) {
    batch.Delete(positions_,
                 internal::PostingKey(FieldTag::kTitle, term, docnum));
    --state.df_deltas[internal::DocFreqKey(FieldTag::kTitle, term)];
  }
  for (const std::string& term : terms.body) {
    batch.Delete(positions_,
                 internal::PostingKey(FieldTag::kBody, term, docnum));
    --state.df_deltas[internal::DocFreqKey(FieldTag::kBody, term)];
  }
  std::vector<std::string> all_terms;
  std::set_union(terms.title.begin(), terms.title.end(), terms.body.begin(),
                 terms.body.end(), std::back_inserter(all_terms));
  for (const std::string& term : all_terms) {
    batch.Delete(postings_,
                 internal::PostingKey(FieldTag::kText, term, docnum));
    --state.df_deltas[internal::DocFreqKey(FieldTag::kText, term)];
  }
  if (!values.source.empty()) {
    batch.Delete(postings_, internal::PostingKey(FieldTag::kSource,
                                                 values.source, docnum));
    --state.df_deltas[internal::DocFreqKey(FieldTag::kSource, values.source)];
  }
  for (const std::string& tag : values.tags) {
    batch.Delete(postings_, internal::PostingKey(FieldTag::kTag, tag, docnum));
    --state.df_deltas[internal::DocFreqKey(FieldTag::kTag, tag)];
  }

  Counters& c = state.counters;
  c.doc_count -= std::min<uint64_t>(c.doc_count, 1);
  c.total_title_terms -=
      std::min<uint64_t>(c.total_title_terms, values.title_length);
  c.total_body_terms -=
      std::min<uint64_t>(c.total_body_terms, values.body_length);
  state.ids[id] = 0;
  return true;
}

absl::Status RocksDbIndex::AddDocument(const v1::AnalyzedDocument& doc,
                                       internal::WriteState& state) {
  const v1::Document& document = doc.document();
  if (document.id().empty()) {
    return absl::InvalidArgumentError("document.id: the id must not be empty");
  }
  if (state.counters.next_docnum >= kNoMoreDocs) {
    return absl::ResourceExhaustedError(
        "the shard has used up its 2^32 - 2 internal document numbers; "
        "reindex it into a new shard");
  }
  const uint32_t docnum = static_cast<uint32_t>(state.counters.next_docnum);

  // Term → positions, sorted by term so that batches are deterministic.
  absl::btree_map<absl::string_view, std::vector<uint32_t>> title;
  absl::btree_map<absl::string_view, std::vector<uint32_t>> body;
  for (int i = 0; i < doc.title().terms_size(); ++i) {
    SIFT_RETURN_IF_ERROR(
        CheckTerm(doc.title().terms(i), absl::StrCat("title.terms[", i, "]")));
    title[doc.title().terms(i)].push_back(static_cast<uint32_t>(i));
  }
  for (int i = 0; i < doc.body().terms_size(); ++i) {
    SIFT_RETURN_IF_ERROR(
        CheckTerm(doc.body().terms(i), absl::StrCat("body.terms[", i, "]")));
    body[doc.body().terms(i)].push_back(static_cast<uint32_t>(i));
  }

  DocValues values;
  values.id = document.id();
  if (document.has_published_at()) {
    values.published_at.emplace(document.published_at().seconds(),
                                document.published_at().nanos());
  }
  values.title_length = static_cast<uint32_t>(doc.title().terms_size());
  values.body_length = static_cast<uint32_t>(doc.body().terms_size());
  if (!document.source().empty()) {
    absl::StatusOr<std::string> source = NormalizeKeyword(document.source());
    if (!source.ok()) {
      return WithPrefix(source.status(), "document.source: ");
    }
    values.source = *std::move(source);
  }
  absl::btree_set<std::string> tags;
  for (int i = 0; i < document.tags_size(); ++i) {
    absl::StatusOr<std::string> tag = NormalizeKeyword(document.tags(i));
    if (!tag.ok()) {
      return WithPrefix(tag.status(), absl::StrCat("document.tags[", i, "]: "));
    }
    // A blank tag names nothing a filter could ask for.
    if (!tag->empty()) tags.insert(*std::move(tag));
  }
  values.tags.assign(tags.begin(), tags.end());

  DocTerms terms;
  for (const auto& [term, positions] : title) terms.title.emplace_back(term);
  for (const auto& [term, positions] : body) terms.body.emplace_back(term);

  rocksdb::WriteBatch& batch = state.batch;
  // One full-text posting per distinct term of title or body.
  auto t = title.begin();
  auto b = body.begin();
  while (t != title.end() || b != body.end()) {
    absl::string_view term;
    internal::TextPosting posting;
    posting.title_length = values.title_length;
    posting.body_length = values.body_length;
    if (b == body.end() || (t != title.end() && t->first < b->first)) {
      term = t->first;
      posting.tf_title = static_cast<uint32_t>((t++)->second.size());
    } else if (t == title.end() || b->first < t->first) {
      term = b->first;
      posting.tf_body = static_cast<uint32_t>((b++)->second.size());
    } else {
      term = t->first;
      posting.tf_title = static_cast<uint32_t>((t++)->second.size());
      posting.tf_body = static_cast<uint32_t>((b++)->second.size());
    }
    batch.Put(postings_, internal::PostingKey(FieldTag::kText, term, docnum),
              internal::EncodeTextPosting(posting));
    ++state.df_deltas[internal::DocFreqKey(FieldTag::kText, term)];
  }
  for (const auto& [term, positions] : title) {
    batch.Put(positions_, internal::PostingKey(FieldTag::kTitle, term, docnum),
              internal::EncodePositions(positions));
    ++state.df_deltas[internal::DocFreqKey(FieldTag::kTitle, term)];
  }
  for (const auto& [term, positions] : body) {
    batch.Put(positions_, internal::PostingKey(FieldTag::kBody, term, docnum),
              internal::EncodePositions(positions));
    ++state.df_deltas[internal::DocFreqKey(FieldTag::kBody, term)];
  }
  if (!values.source.empty()) {
    batch.Put(postings_,
              internal::PostingKey(FieldTag::kSource, values.source, docnum),
              rocksdb::Slice());
    ++state.df_deltas[internal::DocFreqKey(FieldTag::kSource, values.source)];
  }
  for (const std::string& tag : values.tags) {
    batch.Put(postings_, internal::PostingKey(FieldTag::kTag, tag, docnum),
              rocksdb::Slice());
    ++state.df_deltas[internal::DocFreqKey(FieldTag::kTag, tag)];
  }
  batch.Put(fields_, internal::DocValuesKey(docnum),
            internal::EncodeDocValues(values));
  batch.Put(fields_, internal::DocTermsKey(docnum),
            internal::EncodeDocTerms(terms));
  batch.Put(docs_, internal::DocKey(docnum), document.SerializeAsString());
  batch.Put(ids_, document.id(), internal::DocKey(docnum));

  Counters& c = state.counters;
  ++c.next_docnum;
  ++c.doc_count;
  c.total_title_terms += values.title_length;
  c.total_body_terms += values.body_length;
  state.ids[document.id()] = docnum;
  state.docs[docnum] = {std::move(values), std::move(terms)};
  return absl::OkStatus();
}

absl::StatusOr<v1::StatsResponse> RocksDbIndex::Stats(
    const v1::StatsRequest& request) const {
  ScopedSnapshot snapshot(db_);
  const rocksdb::ReadOptions options = snapshot.ReadOptions();
  SIFT_ASSIGN_OR_RETURN(Counters counters, ReadCounters(options));
  v1::StatsResponse response;
  response.set_doc_count(counters.doc_count);
  response.set_total_title_terms(counters.total_title_terms);
  response.set_total_body_terms(counters.total_body_terms);
  for (int i = 0; i < request.terms_size(); ++i) {
    const v1::TermRef& ref = request.terms(i);
    const std::string path = absl::StrCat("terms[", i, "]");
    absl::StatusOr<FieldTag> tag = DocFreqTag(ref.field());
    if (!tag.ok()) return WithPrefix(tag.status(), path + ".field: ");
    std::string term = ref.term();
    if (IsKeyword(*tag)) {
      absl::StatusOr<std::string> normalized = NormalizeKeyword(term);
      if (!normalized.ok()) {
        return WithPrefix(normalized.status(), path + ".term: ");
      }
      term = *std::move(normalized);
    }
    SIFT_ASSIGN_OR_RETURN(
        uint64_t df, ReadDocFreq(options, internal::DocFreqKey(*tag, term)));
    response.add_doc_freqs(df);
  }

  uint64_t sst_bytes = 0;
  if (db_->GetAggregatedIntProperty("rocksdb.total-sst-files-size",
                                    &sst_bytes)) {
    response.set_disk_bytes(sst_bytes);
  }
  rocksdb::VectorLogPtr wal_files;
  if (db_->GetSortedWalFiles(wal_files).ok()) {
    uint64_t wal_bytes = 0;
    for (const auto& file : wal_files) wal_bytes += file->SizeFileBytes();
    response.set_disk_bytes(response.disk_bytes() + wal_bytes);
  }
  return response;
}

absl::StatusOr<v1::ShardSearchResponse> RocksDbIndex::Search(
    const v1::ShardSearchRequest& request) const {
  // Declared before every iterator so that it is released after them.
  ScopedSnapshot snapshot(db_);
  internal::ReadContext context;
  context.db = db_;
  context.postings = postings_;
  context.positions = positions_;
  context.fields = fields_;
  context.read_options = snapshot.ReadOptions();

  const v1::GlobalStats& stats = request.stats();
  uint64_t doc_count = stats.doc_count();
  uint64_t total_title_terms = stats.total_title_terms();
  uint64_t total_body_terms = stats.total_body_terms();
  if (doc_count == 0) {
    SIFT_ASSIGN_OR_RETURN(Counters own, ReadCounters(context.read_options));
    doc_count = own.doc_count;
    total_title_terms = own.total_title_terms;
    total_body_terms = own.total_body_terms;
  }
  const Bm25f bm25(Bm25fParams::FromProto(request.scoring()), doc_count,
                   total_title_terms, total_body_terms);

  absl::flat_hash_map<std::string, uint64_t> global_df;
  const int aligned = std::min(stats.terms_size(), stats.doc_freqs_size());
  for (int i = 0; i < aligned; ++i) {
    absl::StatusOr<FieldTag> tag = DocFreqTag(stats.terms(i).field());
    if (!tag.ok()) {
      return WithPrefix(tag.status(),
                        absl::StrCat("stats.terms[", i, "].field: "));
    }
    std::string term = stats.terms(i).term();
    if (IsKeyword(*tag)) {
      absl::StatusOr<std::string> normalized = NormalizeKeyword(term);
      if (!normalized.ok()) {
        return WithPrefix(normalized.status(),
                          absl::StrCat("stats.terms[", i, "].term: "));
      }
      term = *std::move(normalized);
    }
    global_df.emplace(internal::DocFreqKey(*tag, term), stats.doc_freqs(i));
  }

  PlanBuilder builder(
      &context, &bm25, &global_df,
      [this, &context](const std::string& key) {
        return ReadDocFreq(context.read_options, key);
      },
      [this](absl::string_view value) { return NormalizeKeyword(value); });
  if (!request.has_query()) {
    return absl::InvalidArgumentError("query: a query plan is required");
  }
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<internal::DocIterator> query,
                        builder.Build(request.query(), "query", 0));
  internal::DocIterator* scorer = query.get();

  // Filters narrow the query's matches without adding to their scores.
  const v1::Filters& filters = request.filters();
  std::vector<std::unique_ptr<internal::DocIterator>> parts;
  parts.push_back(std::move(query));
  if (!filters.sources().empty()) {
    std::vector<std::unique_ptr<internal::DocIterator>> sources;
    for (int i = 0; i < filters.sources_size(); ++i) {
      SIFT_ASSIGN_OR_RETURN(
          sources.emplace_back(),
          builder.BuildKeyword(FieldTag::kSource, filters.sources(i),
                               absl::StrCat("filters.sources[", i, "]")));
    }
    parts.push_back(
        std::make_unique<internal::DisjunctionIterator>(std::move(sources)));
  }
  for (int i = 0; i < filters.tags_size(); ++i) {
    SIFT_ASSIGN_OR_RETURN(
        parts.emplace_back(),
        builder.BuildKeyword(FieldTag::kTag, filters.tags(i),
                             absl::StrCat("filters.tags[", i, "]")));
  }
  std::unique_ptr<internal::DocIterator> root =
      parts.size() == 1
          ? std::move(parts.front())
          : std::make_unique<internal::ConjunctionIterator>(std::move(parts));

  using Timestamp = std::pair<int64_t, int32_t>;
  std::optional<Timestamp> from;
  std::optional<Timestamp> to;
  if (filters.has_published_from()) {
    from.emplace(filters.published_from().seconds(),
                 filters.published_from().nanos());
  }
  if (filters.has_published_to()) {
    to.emplace(filters.published_to().seconds(),
               filters.published_to().nanos());
  }

  const bool by_relevance = request.sort() == v1::SORT_ORDER_UNSPECIFIED ||
                            request.sort() == v1::SORT_ORDER_RELEVANCE;
  const bool newest_first = request.sort() == v1::SORT_ORDER_PUBLISHED_DESC;
  auto better = [&](const Candidate& a, const Candidate& b) {
    return by_relevance ? BetterByRelevance(a, b)
                        : BetterByDate(a, b, newest_first);
  };
  const size_t limit = request.limit();
  // A heap whose front is the worst of the best `limit` so far.
  std::vector<Candidate> heap;
  auto admit = [&](Candidate candidate) {
    if (heap.size() == limit) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.pop_back();
    }
    heap.push_back(std::move(candidate));
    std::push_heap(heap.begin(), heap.end(), better);
  };

  uint64_t total_hits = 0;
  DocValues values;
  std::string buffer;
  for (uint32_t target = internal::kFirstDocnum;;) {
    root->SeekTo(target);
    const uint32_t docnum = root->doc();
    if (docnum == kNoMoreDocs) break;
    target = docnum + 1;

    // Per-document values, read only when a filter, the order or a tie
    // needs them.
    bool loaded = false;
    auto load = [&]() -> bool {
      if (loaded) return true;
      rocksdb::Status s = db_->Get(context.read_options, fields_,
                                   internal::DocValuesKey(docnum), &buffer);
      if (!s.ok()) {
        context.Fail(FromRocksDbStatus(s, "reading document values"));
        return false;
      }
      if (!internal::DecodeDocValues(buffer, &values)) {
        context.Fail(absl::DataLossError(
            absl::StrCat("malformed values of document ", docnum)));
        return false;
      }
      loaded = true;
      return true;
    };

    if (from || to) {
      if (!load()) break;
      if (!values.published_at) continue;
      if (from && *values.published_at < *from) continue;
      if (to && !(*values.published_at < *to)) continue;
    }
    ++total_hits;
    if (limit == 0) continue;

    if (by_relevance) {
      const double score = scorer->Score();
      if (heap.size() == limit) {
        const Candidate& worst = heap.front();
        if (score < worst.score) continue;
        // Equal scores are ordered by id, so only a tie needs the id.
        if (score == worst.score) {
          if (!load()) break;
          if (!(values.id < worst.id)) continue;
        }
      }
      if (!load()) break;
      admit({score, values.id, values.published_at});
    } else {
      if (!load()) break;
      Candidate candidate{0.0, values.id, values.published_at};
      if (heap.size() == limit && !better(candidate, heap.front())) continue;
      candidate.score = scorer->Score();
      admit(std::move(candidate));
    }
  }
  if (!context.status.ok()) return context.status;

  std::sort(heap.begin(), heap.end(), better);
  v1::ShardSearchResponse response;
  response.set_total_hits(total_hits);
  for (Candidate& candidate : heap) {
    v1::ShardHit* hit = response.add_hits();
    hit->set_id(std::move(candidate.id));
    hit->set_score(candidate.score);
    if (candidate.published_at) {
      hit->mutable_published_at()->set_seconds(candidate.published_at->first);
      hit->mutable_published_at()->set_nanos(candidate.published_at->second);
    }
  }
  return response;
}

absl::StatusOr<v1::FetchResponse> RocksDbIndex::Fetch(
    const v1::FetchRequest& request) const {
  ScopedSnapshot snapshot(db_);
  const rocksdb::ReadOptions options = snapshot.ReadOptions();
  v1::FetchResponse response;
  rocksdb::PinnableSlice value;
  for (const std::string& id : request.ids()) {
    v1::FetchResult* result = response.add_results();
    result->set_id(id);
    value.Reset();
    rocksdb::Status s = db_->Get(options, ids_, id, &value);
    if (s.IsNotFound()) continue;
    if (!s.ok()) return FromRocksDbStatus(s, "looking up an id");
    if (value.size() != 4) {
      return absl::DataLossError(
          absl::StrCat("malformed docnum of id \"", id, "\""));
    }
    const std::string key = internal::DocKey(internal::DecodeBigEndian32(
        absl::string_view(value.data(), value.size())));
    value.Reset();
    s = db_->Get(options, docs_, key, &value);
    if (!s.ok()) {
      return s.IsNotFound() ? absl::DataLossError(absl::StrCat(
                                  "stored document of \"", id, "\" is missing"))
                            : FromRocksDbStatus(s, "reading a stored document");
    }
    if (!result->mutable_document()->ParseFromArray(
            value.data(), static_cast<int>(value.size()))) {
      return absl::DataLossError(
          absl::StrCat("stored document of \"", id, "\" is malformed"));
    }
    result->set_found(true);
  }
  return response;
}

}  // namespace sift::storage
