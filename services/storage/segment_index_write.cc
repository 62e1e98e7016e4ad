// SegmentIndex: the write path. A write is prepared on the caller's thread
// (checks, the new documents' memory segment and log entry), then committed
// in a group with whatever other writes arrived meanwhile: one MultiGet of
// their ids, one synced write, one new view.

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/codec/big_endian.h"
#include "common/codec/varint.h"
#include "common/status/status_macros.h"
#include "services/storage/analyzed_field.h"
#include "services/storage/internal/rocksdb_status.h"
#include "services/storage/merge_policy.h"
#include "services/storage/segment/builder.h"
#include "services/storage/segment/postings.h"
#include "services/storage/segment_index.h"

namespace sift::storage {
namespace {

using internal::FromRocksDbStatus;

absl::Status WithPrefix(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

// What PrepareWrite requires of a full-text field: terms the postings keys
// can hold, and positions that name them.
absl::Status CheckAnalyzedField(const v1::AnalyzedField& field,
                                const std::string& path) {
  for (int i = 0; i < field.vocabulary_size(); ++i) {
    const std::string& term = field.vocabulary(i);
    if (term.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".vocabulary[", i, "]: a term must not be empty"));
    }
    if (term.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ".vocabulary[", i, "]: a term must not contain a NUL byte"));
    }
  }
  return CheckTermIds(field, path);
}

}  // namespace

// What PrepareWrite works out for CommitWrite; a copy decodes the same from
// the primary's op log entry (EncodeEntry, DecodeEntry).
struct SegmentIndex::Prepared final : Index::PreparedWrite {
  std::vector<size_t> slot_of_op;     // op -> index into distinct
  std::vector<bool> upsert_of_op;     // op -> upsert (else delete)
  std::vector<std::string> distinct;  // ids in order of first appearance
  std::vector<uint32_t> new_doc_of;   // per distinct id, or kNoMoreDocs
  std::vector<std::string> blobs;     // per distinct id, when upserted
  // The dictionary the blobs were compressed with, when the index may not
  // hold it yet: the commit stores it.
  std::shared_ptr<const DocumentDictionary> dictionary;
  size_t new_doc_count = 0;
  segment::SegmentValues built;
  // The write's op log entry when the index keeps an op log, else just the
  // new segment's serialized values; those values, from `values_at` on, are
  // also the pending family's entry of the new memory segment.
  std::string entry;
  size_t values_at = 0;
  // The term of the primary that ordered it.
  uint64_t term = 0;
};

// Prepared writes waiting in the write queue, and their outcome: one write
// a client sent, or a run of logged writes a copy or a primary applies.
struct SegmentIndex::PendingWrite {
  std::vector<Prepared*> writes;
  // For logged writes, the sequence number writes[0] has (the rest follow
  // it); 0 gives the writes the next sequence numbers and logs them.
  uint64_t logged_from = 0;
  // The response of each write committed, in order; the first error.
  std::vector<v1::WriteResponse> responses;
  absl::Status status;
  // The last of `writes` committed.
  OpId committed;
};

// Writes waiting in the append queue: the primary's, prepared, or a run of
// logged writes a copy received.
struct SegmentIndex::PendingAppend {
  const Prepared* write = nullptr;
  uint64_t term = 0;
  absl::Span<const v1::LoggedWrite> logged;
  absl::Status status;
  // The last write appended.
  OpId appended;
};

absl::Status SegmentIndex::KeywordsOf(const v1::Document& doc,
                                      const std::string& path,
                                      segment::SegmentDocument* out) {
  out->source.clear();
  if (!doc.source().empty()) {
    absl::StatusOr<std::string> source = NormalizeKeyword(doc.source());
    if (!source.ok()) {
      return WithPrefix(source.status(), path + ".source: ");
    }
    out->source = *std::move(source);
  }
  std::set<std::string> tags;
  for (int j = 0; j < doc.tags_size(); ++j) {
    absl::StatusOr<std::string> tag = NormalizeKeyword(doc.tags(j));
    if (!tag.ok()) {
      return WithPrefix(tag.status(), absl::StrCat(path, ".tags[", j, "]: "));
    }
    // A blank tag names nothing a filter could ask for.
    if (!tag->empty()) tags.insert(*std::move(tag));
  }
  out->tags.assign(tags.begin(), tags.end());
  return absl::OkStatus();
}

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
        prepared[i].analyzed = &doc;
        SIFT_RETURN_IF_ERROR(KeywordsOf(
            doc.document(), path + ".upsert.document", &prepared[i]));
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
  // and the log entry are built here, before the commit, so that concurrent
  // writes analyse in parallel.
  auto out = std::make_unique<Prepared>();
  absl::flat_hash_map<std::string, size_t> slot;
  auto id_of = [&](int i) -> const std::string& {
    const v1::WriteOp& op = request.ops(i);
    return op.has_upsert() ? op.upsert().document().id() : op.delete_id();
  };
  std::vector<int> last_op;
  out->slot_of_op.resize(request.ops_size());
  out->upsert_of_op.resize(request.ops_size());
  for (int i = 0; i < request.ops_size(); ++i) {
    auto [it, inserted] = slot.emplace(id_of(i), out->distinct.size());
    if (inserted) {
      out->distinct.push_back(id_of(i));
      last_op.push_back(i);
    } else {
      last_op[it->second] = i;
    }
    out->slot_of_op[i] = it->second;
    out->upsert_of_op[i] = request.ops(i).has_upsert();
  }
  std::vector<segment::SegmentDocument> new_docs;
  out->new_doc_of.assign(out->distinct.size(), segment::kNoMoreDocs);
  out->blobs.resize(out->distinct.size());
  std::string serialized;
  for (int i = 0; i < request.ops_size(); ++i) {
    const size_t k = out->slot_of_op[i];
    if (request.ops(i).has_upsert() && last_op[k] == i) {
      out->new_doc_of[k] = static_cast<uint32_t>(new_docs.size());
      new_docs.push_back(prepared[i]);
      request.ops(i).upsert().document().SerializeToString(&serialized);
      std::shared_ptr<const DocumentDictionary> unsaved;
      out->blobs[k] = stored_->Encode(serialized, &unsaved);
      if (unsaved != nullptr) out->dictionary = std::move(unsaved);
    }
  }
  if (!new_docs.empty()) {
    SIFT_ASSIGN_OR_RETURN(out->built, segment::BuildSegment(new_docs));
  }
  out->new_doc_count = new_docs.size();
  EncodeEntry(*out, options_.op_log_writes > 0);
  return out;
}

// A prepared entry: kPreparedEntryTag; varint length of the dictionary the
// documents need, when the index may lack it, and the dictionary (0: none);
// varint count of ops, then per op
// varint (slot << 1 | upsert); varint count of distinct ids, then per id
// varint length and the id, varint (1 + its new doc number, 0 for none) and,
// when it has one, varint length and the stored document; then, to the end,
// the new segment's values (SegmentValues::SerializeTo; empty when no
// document is new). kPreparedEntryTagV1 entries have no dictionary, and
// their documents are serialized as they are. Without an op log only the
// values are kept.
void SegmentIndex::EncodeEntry(Prepared& write, bool for_log) {
  std::string& out = write.entry;
  out.clear();
  if (for_log) {
    size_t bytes = 16 + write.slot_of_op.size() * 2;
    for (size_t k = 0; k < write.distinct.size(); ++k) {
      bytes += 12 + write.distinct[k].size() + write.blobs[k].size();
    }
    if (write.dictionary != nullptr) bytes += write.dictionary->bytes().size();
    out.reserve(bytes + write.built.memory_bytes());
    out.push_back(kPreparedEntryTag);
    if (write.dictionary != nullptr) {
      codec::PutVarint64(&out, write.dictionary->bytes().size());
      out.append(write.dictionary->bytes());
    } else {
      codec::PutVarint32(&out, 0);
    }
    codec::PutVarint64(&out, write.slot_of_op.size());
    for (size_t i = 0; i < write.slot_of_op.size(); ++i) {
      codec::PutVarint64(&out, uint64_t{write.slot_of_op[i]} << 1 |
                                   (write.upsert_of_op[i] ? 1 : 0));
    }
    codec::PutVarint64(&out, write.distinct.size());
    for (size_t k = 0; k < write.distinct.size(); ++k) {
      codec::PutVarint64(&out, write.distinct[k].size());
      out.append(write.distinct[k]);
      if (write.new_doc_of[k] == segment::kNoMoreDocs) {
        codec::PutVarint32(&out, 0);
        continue;
      }
      codec::PutVarint64(&out, uint64_t{write.new_doc_of[k]} + 1);
      codec::PutVarint64(&out, write.blobs[k].size());
      out.append(write.blobs[k]);
    }
  }
  write.values_at = out.size();
  if (write.new_doc_count > 0) write.built.SerializeTo(&out);
}

absl::StatusOr<std::unique_ptr<SegmentIndex::Prepared>>
SegmentIndex::DecodeEntry(std::string entry) const {
  auto out = std::make_unique<Prepared>();
  absl::string_view in(entry);
  const auto corrupt = [](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("corrupt op log entry: ", what));
  };
  if (in.empty() ||
      (in.front() != kPreparedEntryTag && in.front() != kPreparedEntryTagV1)) {
    // An entry of an earlier version: the request itself.
    v1::WriteRequest request;
    if (!request.ParseFromArray(in.data(), static_cast<int>(in.size()))) {
      return corrupt("neither a prepared write nor a request");
    }
    SIFT_ASSIGN_OR_RETURN(std::unique_ptr<PreparedWrite> prepared,
                          PrepareWrite(request));
    return std::unique_ptr<Prepared>(
        static_cast<Prepared*>(prepared.release()));
  }
  const bool has_dictionary = in.front() == kPreparedEntryTag;
  in.remove_prefix(1);
  if (has_dictionary) {
    uint64_t length = 0;
    if (!codec::GetVarint64(&in, &length) || length > in.size()) {
      return corrupt("the dictionary's length");
    }
    if (length > 0) {
      absl::StatusOr<std::shared_ptr<const DocumentDictionary>> dictionary =
          DocumentDictionary::FromBytes(std::string(in.substr(0, length)));
      if (!dictionary.ok()) return corrupt("the dictionary");
      out->dictionary = *std::move(dictionary);
      // Known before the write commits, so that a search's fetch finds it
      // as soon as the documents are visible.
      stored_->Add(out->dictionary, /*saved=*/false);
    }
    in.remove_prefix(length);
  }
  uint64_t ops = 0;
  if (!codec::GetVarint64(&in, &ops) || ops > in.size()) {
    return corrupt("the count of operations");
  }
  std::vector<uint64_t> packed(ops);
  for (uint64_t& p : packed) {
    if (!codec::GetVarint64(&in, &p)) return corrupt("an operation");
  }
  uint64_t ids = 0;
  if (!codec::GetVarint64(&in, &ids) || ids > in.size() || ids > ops) {
    return corrupt("the count of ids");
  }
  out->distinct.resize(ids);
  out->new_doc_of.assign(ids, segment::kNoMoreDocs);
  out->blobs.resize(ids);
  auto bytes = [&in](std::string* to) {
    uint64_t length = 0;
    if (!codec::GetVarint64(&in, &length) || length > in.size()) return false;
    to->assign(in.data(), length);
    in.remove_prefix(length);
    return true;
  };
  std::vector<bool> numbered(ids);
  for (uint64_t k = 0; k < ids; ++k) {
    uint64_t doc = 0;
    if (!bytes(&out->distinct[k]) || !codec::GetVarint64(&in, &doc)) {
      return corrupt("an id");
    }
    if (doc == 0) continue;
    if (doc > ids || numbered[doc - 1] || !bytes(&out->blobs[k])) {
      return corrupt("a new document");
    }
    numbered[doc - 1] = true;
    out->new_doc_of[k] = static_cast<uint32_t>(doc - 1);
    ++out->new_doc_count;
  }
  // The new documents are numbered 0..n-1, and an id has one exactly when
  // its last operation is an upsert: what AddToCommit relies on.
  std::vector<int> last_upsert(ids, -1);
  out->slot_of_op.resize(ops);
  out->upsert_of_op.resize(ops);
  for (uint64_t i = 0; i < ops; ++i) {
    const uint64_t k = packed[i] >> 1;
    if (k >= ids) return corrupt("an operation's id");
    out->slot_of_op[i] = k;
    out->upsert_of_op[i] = (packed[i] & 1) != 0;
    last_upsert[k] = out->upsert_of_op[i] ? 1 : 0;
  }
  for (uint64_t k = 0; k < ids; ++k) {
    const bool has_doc = out->new_doc_of[k] != segment::kNoMoreDocs;
    if (last_upsert[k] != (has_doc ? 1 : 0) ||
        (has_doc && out->new_doc_of[k] >= out->new_doc_count)) {
      return corrupt("the new documents do not match the operations");
    }
  }
  out->values_at = entry.size() - in.size();
  if (out->new_doc_count > 0) {
    absl::StatusOr<segment::SegmentValues> values =
        segment::SegmentValues::Parse(in);
    if (!values.ok()) return corrupt("the new segment");
    out->built = *std::move(values);
  } else if (!in.empty()) {
    return corrupt("a segment without documents");
  }
  out->entry = std::move(entry);
  return out;
}

absl::StatusOr<v1::WriteResponse> SegmentIndex::CommitWrite(
    std::unique_ptr<PreparedWrite> prepared_write, uint64_t term,
    OpId* committed) {
  auto* prepared = dynamic_cast<Prepared*>(prepared_write.get());
  if (prepared == nullptr) {
    return absl::InvalidArgumentError(
        "the prepared write comes from another index");
  }
  {
    // Both under one lock: a commit of another writer moves them together,
    // and reading them apart could see one before it and one after.
    MutexLock lock(&op_mu_);
    if (log_end_.seq != last_op_.seq) {
      return absl::FailedPreconditionError(
          "the op log holds writes not yet applied: write through the log");
    }
  }
  prepared->term = term;
  WaitForMemoryRoom();
  PendingWrite pending;
  pending.writes = {prepared};
  write_queue_.Submit(&pending, [this](absl::Span<PendingWrite* const> group) {
    CommitGroup(group);
  });
  if (!pending.status.ok()) return pending.status;
  if (committed != nullptr) *committed = pending.committed;
  return std::move(pending.responses.front());
}

absl::StatusOr<OpId> SegmentIndex::AppendToLog(PreparedWrite& prepared,
                                               uint64_t term) {
  auto* write = dynamic_cast<Prepared*>(&prepared);
  if (write == nullptr) {
    return absl::InvalidArgumentError(
        "the prepared write comes from another index");
  }
  // ApplyLog finds the write's term here.
  write->term = term;
  PendingAppend pending;
  pending.write = write;
  pending.term = term;
  append_queue_.Submit(
      &pending,
      [this](absl::Span<PendingAppend* const> group) { AppendGroup(group); });
  if (!pending.status.ok()) return pending.status;
  return pending.appended;
}

absl::Status SegmentIndex::AppendLogged(
    absl::Span<const v1::LoggedWrite> writes) {
  if (writes.empty()) return absl::OkStatus();
  for (size_t i = 1; i < writes.size(); ++i) {
    if (writes[i].seq() != writes[0].seq() + i) {
      return absl::FailedPreconditionError(absl::StrCat(
          "logged writes must be consecutive: write ", i, " has sequence ",
          "number ", writes[i].seq(), ", not ", writes[0].seq() + i));
    }
  }
  PendingAppend pending;
  pending.logged = writes;
  append_queue_.Submit(
      &pending,
      [this](absl::Span<PendingAppend* const> group) { AppendGroup(group); });
  return pending.status;
}

void SegmentIndex::AppendGroup(absl::Span<PendingAppend* const> group) {
  if (options_.op_log_writes == 0) {
    for (PendingAppend* a : group) {
      a->status = absl::FailedPreconditionError(
          "this index keeps no op log (IndexOptions::op_log_writes is 0)");
    }
    return;
  }
  MutexLock log_lock(&log_mu_);
  OpId end = LogEnd();
  rocksdb::WriteBatch batch;
  std::vector<std::pair<uint64_t, size_t>> added;
  std::vector<PendingAppend*> accepted;
  for (PendingAppend* a : group) {
    if (a->write != nullptr) {
      end = OpId{a->term, end.seq + 1};
      PutOpLog(batch, end, a->write->entry);
      added.emplace_back(end.seq, a->write->entry.size());
    } else {
      if (a->logged.front().seq() != end.seq + 1) {
        a->status = absl::FailedPreconditionError(absl::StrCat(
            "logged writes start at sequence number ", a->logged.front().seq(),
            " but the op log ends at ", end.seq));
        continue;
      }
      for (const v1::LoggedWrite& logged : a->logged) {
        if (logged.term() < end.term) {
          a->status = absl::FailedPreconditionError(
              absl::StrCat("write ", logged.seq(), " has term ", logged.term(),
                           ", older than the op log's last term ", end.term));
          break;
        }
        end = OpId{logged.term(), logged.seq()};
        PutOpLog(batch, end, logged.entry());
        added.emplace_back(end.seq, logged.entry().size());
      }
      if (!a->status.ok()) continue;
    }
    a->appended = end;
    accepted.push_back(a);
  }
  if (accepted.empty()) return;
  const std::optional<std::pair<uint64_t, uint64_t>> trim = op_log_.TrimDue(
      options_.op_log_writes, options_.op_log_bytes, TrimmableThrough());
  if (trim) {
    batch.DeleteRange(db_->family(kOpLog), OpLogKey(trim->first),
                      OpLogKey(trim->second));
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  const absl::Status written = FromRocksDbStatus(
      db_->db()->Write(write_options, &batch), "appending to the op log");
  if (!written.ok()) {
    for (PendingAppend* a : accepted) a->status = written;
    return;
  }
  if (trim) op_log_.DropBefore(trim->second);
  for (const auto& [seq, bytes] : added) op_log_.Add(seq, bytes);
  MutexLock lock(&op_mu_);
  log_end_ = end;
}

absl::StatusOr<segment::SegmentValues> SegmentIndex::LoggedSegmentValues(
    absl::string_view where) const {
  if (where.size() != 8) return absl::DataLossError("corrupt log entry");
  const uint64_t seq = codec::GetBigEndian64(where.data());
  std::string value;
  const rocksdb::Status s = db_->db()->Get(
      rocksdb::ReadOptions(), db_->family(kOpLog), OpLogKey(seq), &value);
  if (s.IsNotFound()) {
    return absl::DataLossError(absl::StrCat("the op log lacks write ", seq,
                                            ", which a memory segment needs"));
  }
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(s, "replaying the log"));
  if (value.size() < 8) return absl::DataLossError("corrupt op log entry");
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<Prepared> write,
                        DecodeEntry(value.substr(8)));
  return std::move(write->built);
}

absl::StatusOr<std::unique_ptr<Index::PreparedWrite>>
SegmentIndex::PrepareLogged(v1::LoggedWrite&& write) const {
  std::string entry = std::move(*write.mutable_entry());
  absl::StatusOr<std::unique_ptr<Prepared>> prepared =
      DecodeEntry(std::move(entry));
  if (!prepared.ok()) {
    return absl::Status(prepared.status().code(),
                        absl::StrCat("logged write ", write.seq(), ": ",
                                     prepared.status().message()));
  }
  (*prepared)->term = write.term();
  return std::unique_ptr<PreparedWrite>(*std::move(prepared));
}

absl::StatusOr<std::vector<v1::WriteResponse>> SegmentIndex::ApplyLog(
    uint64_t through,
    absl::flat_hash_map<uint64_t, std::unique_ptr<PreparedWrite>>* prepared) {
  const uint64_t from = LastOp().seq + 1;
  if (through < from) return std::vector<v1::WriteResponse>();
  if (through > LogEnd().seq) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot apply through write ", through,
                     ": the op log ends at ", LogEnd().seq));
  }
  // The writes not prepared already are read back from the log, in one
  // pass.
  std::unique_ptr<rocksdb::Iterator> log;
  std::vector<std::unique_ptr<PreparedWrite>> owned;
  PendingWrite pending;
  pending.logged_from = from;
  for (uint64_t seq = from; seq <= through; ++seq) {
    std::unique_ptr<PreparedWrite> write;
    if (prepared != nullptr) {
      auto it = prepared->find(seq);
      if (it != prepared->end()) {
        write = std::move(it->second);
        prepared->erase(it);
      }
    }
    if (write == nullptr) {
      const std::string key = OpLogKey(seq);
      if (log == nullptr) {
        log.reset(db_->db()->NewIterator(rocksdb::ReadOptions(),
                                         db_->family(kOpLog)));
        log->Seek(key);
      } else if (!log->Valid() || log->key() != rocksdb::Slice(key)) {
        log->Seek(key);
      }
      SIFT_RETURN_IF_ERROR(
          FromRocksDbStatus(log->status(), "reading the op log"));
      if (!log->Valid() || log->key() != rocksdb::Slice(key)) {
        return absl::DataLossError(absl::StrCat("the op log lacks write ", seq,
                                                " that it should hold"));
      }
      const absl::string_view value(log->value().data(), log->value().size());
      SIFT_ASSIGN_OR_RETURN(const uint64_t term, DecodeOpLogTerm(value));
      absl::StatusOr<std::unique_ptr<Prepared>> from_log =
          DecodeEntry(std::string(value.substr(8)));
      if (!from_log.ok()) {
        return absl::Status(from_log.status().code(),
                            absl::StrCat("applying logged write ", seq, ": ",
                                         from_log.status().message()));
      }
      (*from_log)->term = term;
      write = *std::move(from_log);
      log->Next();
    }
    pending.writes.push_back(static_cast<Prepared*>(write.get()));
    owned.push_back(std::move(write));
  }
  write_queue_.Submit(&pending, [this](absl::Span<PendingWrite* const> group) {
    CommitGroup(group);
  });
  if (!pending.status.ok()) return pending.status;
  return std::move(pending.responses);
}

void SegmentIndex::PutOpLog(rocksdb::WriteBatch& batch, const OpId& id,
                            absl::string_view entry) {
  std::string term;
  codec::PutBigEndian64(&term, id.term);
  const std::string key = OpLogKey(id.seq);
  const rocksdb::Slice key_slice(key);
  const rocksdb::Slice value[2] = {rocksdb::Slice(term),
                                   rocksdb::Slice(entry.data(), entry.size())};
  batch.Put(db_->family(kOpLog), rocksdb::SliceParts(&key_slice, 1),
            rocksdb::SliceParts(value, 2));
}

absl::Status SegmentIndex::TruncateLog(uint64_t after) {
  MutexLock log_lock(&log_mu_);
  const OpId applied = LastOp();
  const OpId end = LogEnd();
  if (after < applied.seq) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot drop logged writes after ", after,
                     ": writes up to ", applied.seq, " are applied"));
  }
  if (after >= end.seq) return absl::OkStatus();
  SIFT_ASSIGN_OR_RETURN(const uint64_t term, TermAt(after));
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  SIFT_RETURN_IF_ERROR(FromRocksDbStatus(
      db_->db()->DeleteRange(write_options, db_->family(kOpLog),
                             OpLogKey(after + 1), OpLogKey(end.seq + 1)),
      "truncating the op log"));
  op_log_.DropAfter(after);
  MutexLock lock(&op_mu_);
  log_end_ = OpId{term, after};
  return absl::OkStatus();
}

void SegmentIndex::CommitGroup(absl::Span<PendingWrite* const> group) {
  auto fail_all = [&group](const absl::Status& status) {
    for (PendingWrite* w : group) w->status = status;
  };
  const absl::Status stopped = BackgroundError();
  if (!stopped.ok()) {
    fail_all(absl::Status(
        stopped.code(),
        absl::StrCat("writes are stopped: a background flush or merge "
                     "failed, and the shard retries it; restart the shard "
                     "once the cause is fixed if it does not recover: ",
                     stopped.message())));
    return;
  }
  MutexLock write_lock(&write_mu_);
  if (closed_) {
    fail_all(absl::FailedPreconditionError("the index is closed"));
    return;
  }

  // Where each id of the group lives now, from one MultiGet; the group's
  // writes then update it in order, so that each sees the ones before it.
  std::vector<std::string> ids;
  absl::flat_hash_map<std::string, std::optional<Location>> located;
  for (PendingWrite* w : group) {
    for (const Prepared* write : w->writes) {
      for (const std::string& id : write->distinct) {
        if (located.emplace(id, std::nullopt).second) ids.push_back(id);
      }
    }
  }
  std::vector<rocksdb::Slice> keys(ids.begin(), ids.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->db()->MultiGet(rocksdb::ReadOptions(), db_->family(kIds), keys.size(),
                      keys.data(), values.data(), statuses.data());
  for (size_t k = 0; k < keys.size(); ++k) {
    if (statuses[k].IsNotFound()) continue;
    absl::Status status = FromRocksDbStatus(statuses[k], "looking up ids");
    if (!status.ok()) return fail_all(status);
    std::optional<Location> location =
        Location::Decode(absl::string_view(values[k].data(), values[k].size()));
    if (!location) {
      return fail_all(absl::DataLossError(
          absl::StrCat("corrupt location of id \"", ids[k], "\"")));
    }
    located[ids[k]] = location;
  }

  IndexViewBuilder next(CurrentView());
  rocksdb::WriteBatch batch;
  std::vector<PendingWrite*> accepted;
  // Sequence numbers go to the writes that commit, in commit order: a
  // failed write leaves no gap in the history.
  OpId last = LastOp();
  std::vector<std::pair<OpId, const Prepared*>> to_log;
  std::vector<std::pair<uint32_t, uint64_t>> logged;
  bool sync = false;
  for (PendingWrite* w : group) {
    if (w->logged_from != 0 && w->logged_from != last.seq + 1) {
      w->status = absl::FailedPreconditionError(absl::StrCat(
          "logged writes start at sequence number ", w->logged_from,
          " but the shard's last applied write is ", last.seq));
      continue;
    }
    for (Prepared* write : w->writes) {
      absl::StatusOr<v1::WriteResponse> result =
          AddToCommit(*write, last.seq + 1, located, batch, next, logged);
      if (!result.ok()) {
        w->status = result.status();
        break;
      }
      last = OpId{write->term, last.seq + 1};
      if (w->logged_from == 0) to_log.emplace_back(last, write);
      w->committed = last;
      w->responses.push_back(*std::move(result));
    }
    if (w->committed.seq != 0) accepted.push_back(w);
    // Writes already in the op log are durable there; applying them again
    // after a crash is what the log is for.
    if (w->logged_from == 0) sync = true;
  }
  if (accepted.empty()) return;
  batch.Put(db_->family(kMeta), kLastOpKey, EncodeOpId(last));
  MutexLock log_lock(&log_mu_);
  std::optional<std::pair<uint64_t, uint64_t>> trim;
  if (options_.op_log_writes > 0) {
    for (const auto& [id, write] : to_log) {
      PutOpLog(batch, id, write->entry);
    }
    trim = op_log_.TrimDue(options_.op_log_writes, options_.op_log_bytes,
                           TrimmableThrough());
    if (trim) {
      batch.DeleteRange(db_->family(kOpLog), OpLogKey(trim->first),
                        OpLogKey(trim->second));
    }
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  const absl::Status written =
      FromRocksDbStatus(db_->db()->Write(write_options, &batch), "writing");
  if (!written.ok()) {
    for (PendingWrite* w : accepted) {
      w->status = written;
      w->responses.clear();
    }
    return;
  }
  if (options_.op_log_writes > 0) {
    if (trim) op_log_.DropBefore(trim->second);
    for (const auto& [id, write] : to_log) {
      op_log_.Add(id.seq, write->entry.size());
    }
  }
  for (PendingWrite* w : accepted) {
    // The writes committed: those before the first that failed.
    for (size_t i = 0; i < w->responses.size(); ++i) {
      if (w->writes[i]->dictionary != nullptr) {
        stored_->MarkSaved(w->writes[i]->dictionary->id());
      }
    }
  }
  // Newer than every write a trim above could drop.
  logged_segments_.insert(logged.begin(), logged.end());
  std::shared_ptr<const IndexView> view = next.Build();
  RequestWorkIfDue(*view);
  Publish(std::move(view));
  {
    // After the view: whoever reads LastOp() n finds write n searchable.
    MutexLock lock(&op_mu_);
    last_op_ = last;
    if (!to_log.empty()) log_end_ = last;
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
}

uint64_t SegmentIndex::TrimmableThrough() const {
  const uint64_t applied = LastOp().seq;
  // Segment ids and sequence numbers are both handed out in commit order:
  // the first segment has the oldest write.
  if (logged_segments_.empty()) return applied;
  return std::min(applied, logged_segments_.begin()->second - 1);
}

absl::StatusOr<v1::WriteResponse> SegmentIndex::AddToCommit(
    Prepared& write, uint64_t seq,
    absl::flat_hash_map<std::string, std::optional<Location>>& located,
    rocksdb::WriteBatch& batch, IndexViewBuilder& next,
    std::vector<std::pair<uint32_t, uint64_t>>& logged) {
  const std::vector<std::string>& distinct = write.distinct;
  std::vector<std::optional<Location>> old(distinct.size());
  for (size_t k = 0; k < distinct.size(); ++k) {
    old[k] = located.at(distinct[k]);
    if (!old[k]) continue;
    const ViewSegment* holder = next.Find(old[k]->segment);
    if (holder == nullptr || old[k]->doc >= holder->segment->doc_count()) {
      return absl::DataLossError(absl::StrCat(
          "id \"", distinct[k], "\" points into a missing segment"));
    }
  }

  v1::WriteResponse response;
  std::vector<bool> present(distinct.size());
  for (size_t k = 0; k < distinct.size(); ++k) present[k] = old[k].has_value();
  for (size_t i = 0; i < write.slot_of_op.size(); ++i) {
    const size_t k = write.slot_of_op[i];
    response.add_results()->set_existed(present[k]);
    present[k] = write.upsert_of_op[i];
  }

  // Everything that can fail is done before the batch and the view change.
  std::shared_ptr<const segment::Segment> memory;
  const uint32_t segment_id = next_segment_id_;
  if (write.new_doc_count > 0) {
    SIFT_ASSIGN_OR_RETURN(memory, segment::Segment::FromMemory(
                                      segment_id, std::move(write.built)));
    if (memory->doc_count() != write.new_doc_count) {
      return absl::DataLossError(
          absl::StrCat("a prepared write's segment holds ", memory->doc_count(),
                       " documents instead of ", write.new_doc_count));
    }
    ++next_segment_id_;
    batch.Put(db_->family(kMeta), kNextSegmentKey,
              EncodeSegmentId(next_segment_id_));
    if (write.values_at > 0) {
      // The op log holds the entry, values included, until the segment is
      // flushed: the pending family only names it.
      std::string where;
      codec::PutBigEndian64(&where, seq);
      batch.Put(db_->family(kPending), PendingLoggedKey(segment_id), where);
      logged.emplace_back(segment_id, seq);
    } else {
      const absl::string_view values =
          absl::string_view(write.entry).substr(write.values_at);
      batch.Put(db_->family(kPending), PendingValuesKey(segment_id),
                rocksdb::Slice(values.data(), values.size()));
    }
  }
  for (size_t k = 0; k < distinct.size(); ++k) {
    if (!old[k]) continue;
    // Deletions of flushed documents are kept beside their segment; those
    // of memory segments follow from the id map when the log is replayed.
    if (!next.Find(old[k]->segment)->segment->in_memory()) {
      batch.Put(db_->family(kSegments),
                segment::DeletedKey(old[k]->segment, old[k]->doc), "");
    }
    next.Delete(old[k]->segment, old[k]->doc);
  }
  if (write.dictionary != nullptr) {
    std::string id;
    codec::PutBigEndian32(&id, write.dictionary->id());
    batch.Put(db_->family(kMeta), DictionaryKey(write.dictionary->id()),
              write.dictionary->bytes());
    batch.Put(db_->family(kMeta), kCurrentDictionaryKey, id);
  }
  for (size_t k = 0; k < distinct.size(); ++k) {
    if (present[k]) {
      const Location location{segment_id, write.new_doc_of[k]};
      batch.Put(db_->family(kDocs), distinct[k], write.blobs[k]);
      batch.Put(db_->family(kIds), distinct[k], location.Encode());
      located[distinct[k]] = location;
    } else if (old[k]) {
      batch.Delete(db_->family(kDocs), distinct[k]);
      batch.Delete(db_->family(kIds), distinct[k]);
      located[distinct[k]] = std::nullopt;
    }
  }
  if (memory != nullptr) {
    next.Add({memory, segment::LiveDocs::AllLive(memory->doc_count())});
  }
  return response;
}

void SegmentIndex::WaitForMemoryRoom() {
  auto memory_bytes = [this] {
    size_t bytes = 0;
    for (const SegmentStats& s : CurrentView()->Stats()) {
      bytes += s.memory_bytes;
    }
    return bytes;
  };
  // A failed flush stops writes (CommitGroup says why) rather than leave
  // them waiting. work_mu_ is a leaf, so the view is looked at outside
  // it, and a flush that ends between the look and the wait is seen a
  // tenth of a second later.
  while (memory_bytes() > options_.max_memory_bytes && BackgroundError().ok()) {
    MutexLock lock(&work_mu_);
    if (stopping_) return;
    // The flush may be due but not asked for yet: ask, so that the wait
    // ends.
    flush_requested_ = true;
    flush_cv_.Signal();
    room_cv_.WaitWithTimeout(&work_mu_, absl::Milliseconds(100));
  }
}

void SegmentIndex::RequestWorkIfDue(const IndexView& view) {
  if (!FlushDue(view.Stats(), options_)) return;
  MutexLock lock(&work_mu_);
  flush_requested_ = true;
  flush_cv_.Signal();
}

}  // namespace sift::storage
