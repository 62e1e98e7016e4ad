#include "services/storage/segment/segment.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/codec/big_endian.h"
#include "common/codec/varint.h"
#include "common/status/status_macros.h"
#include "services/storage/internal/rocksdb_status.h"

namespace sift::storage::segment {
namespace {

using codec::GetBigEndian32;
using codec::GetVarint32;
using codec::GetVarint64;
using codec::PutBigEndian32;
using codec::PutVarint32;
using codec::PutVarint64;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

absl::Status Corrupt(uint32_t id, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt segment ", id, ": ", what));
}

}  // namespace

std::string PostingsKey(TermField field, absl::string_view term) {
  std::string key;
  key.reserve(term.size() + 2);
  key.push_back(kPostingsTag);
  key.push_back(static_cast<char>(field));
  key.append(term.data(), term.size());
  return key;
}

std::string PositionsKey(TermField field, absl::string_view term) {
  std::string key = PostingsKey(field, term);
  key[0] = kPositionsTag;
  return key;
}

std::string SegmentPrefix(uint32_t id) {
  std::string prefix = "S";
  PutBigEndian32(&prefix, id);
  return prefix;
}

std::string DeletedKey(uint32_t segment_id, uint32_t doc) {
  std::string key = SegmentPrefix(segment_id);
  key.push_back(kDeletedTag);
  PutBigEndian32(&key, doc);
  return key;
}

std::string SegmentMeta::Encode() const {
  std::string out;
  PutVarint32(&out, 1);  // format version
  PutVarint32(&out, doc_count);
  PutVarint64(&out, total_title_terms);
  PutVarint64(&out, total_body_terms);
  return out;
}

absl::StatusOr<SegmentMeta> SegmentMeta::Decode(absl::string_view value) {
  SegmentMeta meta;
  uint32_t version = 0;
  if (!GetVarint32(&value, &version) || version != 1 ||
      !GetVarint32(&value, &meta.doc_count) ||
      !GetVarint64(&value, &meta.total_title_terms) ||
      !GetVarint64(&value, &meta.total_body_terms)) {
    return absl::DataLossError("corrupt segment meta");
  }
  return meta;
}

void LengthColumn::Add(FieldLengths lengths) {
  const uint32_t doc = static_cast<uint32_t>(packed_.size());
  if (lengths.title >= kApart || lengths.body >= kApart) {
    apart_[doc] = lengths;
    packed_.push_back({kApart, kApart});
    return;
  }
  packed_.push_back({static_cast<uint16_t>(lengths.title),
                     static_cast<uint16_t>(lengths.body)});
}

void ColumnsWriter::Add(absl::string_view id, uint32_t title_length,
                        uint32_t body_length, const Published& published) {
  PutVarint32(&ids_, static_cast<uint32_t>(id.size()));
  ids_.append(id.data(), id.size());
  PutVarint32(&lengths_, title_length);
  PutVarint32(&lengths_, body_length);
  if (published) {
    published_.push_back(1);
    PutVarint64(&published_, ZigZag(published->first));
    PutVarint32(&published_, static_cast<uint32_t>(published->second));
  } else {
    published_.push_back(0);
  }
}

absl::Status ColumnsWriter::Finish(ValueSink* out) {
  absl::Status status = out->Add(kIdsColumnKey, {}, ids_);
  if (status.ok()) status = out->Add(kLengthsColumnKey, {}, lengths_);
  if (status.ok()) status = out->Add(kPublishedColumnKey, {}, published_);
  *this = ColumnsWriter();
  return status;
}

absl::StatusOr<std::shared_ptr<const Segment>> Segment::FromMemory(
    uint32_t id, SegmentValues values) {
  std::shared_ptr<Segment> segment(new Segment(id, SegmentStore()));
  segment->memory_ = std::move(values);
  segment->memory_bytes_ = segment->memory_.memory_bytes();
  SIFT_RETURN_IF_ERROR(segment->LoadColumns());
  return segment;
}

absl::StatusOr<std::shared_ptr<const Segment>> Segment::Open(
    const SegmentStore& store, uint32_t id) {
  std::shared_ptr<Segment> segment(new Segment(id, store));
  segment->prefix_ = SegmentPrefix(id);
  SIFT_RETURN_IF_ERROR(segment->LoadColumns());
  return segment;
}

absl::StatusOr<std::shared_ptr<const LiveDocs>> Segment::ReadLiveDocs() const {
  if (in_memory()) return LiveDocs::AllLive(doc_count());
  // Deletions: "S<id>X<doc>" keys.
  const std::string lower = prefix_ + kDeletedTag;
  std::string upper = lower;
  upper.back() = static_cast<char>(kDeletedTag + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions options;
  options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      store_.db->NewIterator(options, store_.family));
  std::vector<uint32_t> deleted;
  for (it->Seek(lower); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() != lower.size() + 4) return Corrupt(id_, "bad deletion key");
    const uint32_t doc = GetBigEndian32(key.data() + lower.size());
    if (doc >= doc_count()) {
      return Corrupt(id_, "deletion beyond the last document");
    }
    deleted.push_back(doc);
  }
  SIFT_RETURN_IF_ERROR(
      internal::FromRocksDbStatus(it->status(), "scanning a segment"));
  return LiveDocs::WithDeletedDocs(doc_count(), deleted);
}

absl::StatusOr<bool> Segment::Get(absl::string_view key,
                                  ValueHolder* out) const {
  if (in_memory()) {
    std::optional<absl::string_view> value = memory_.Find(key);
    if (!value) return false;
    out->value = *value;
    return true;
  }
  const std::string full = absl::StrCat(prefix_, key);
  out->pinned.Reset();
  rocksdb::Status s =
      store_.db->Get(rocksdb::ReadOptions(), store_.family, full, &out->pinned);
  if (s.IsNotFound()) return false;
  SIFT_RETURN_IF_ERROR(internal::FromRocksDbStatus(s, "reading a segment"));
  out->value = absl::string_view(out->pinned.data(), out->pinned.size());
  return true;
}

namespace {

class MemoryPostingsIterator final : public Segment::PostingsIterator {
 public:
  MemoryPostingsIterator(const SegmentValues& values, char tag,
                         absl::string_view start)
      : values_(values),
        tag_(tag),
        i_(values.LowerBound(
            absl::StrCat(absl::string_view(&tag_, 1), start))) {}
  bool Valid() const override {
    return i_ < values_.size() && values_.key(i_)[0] == tag_;
  }
  absl::string_view key() const override { return values_.key(i_); }
  absl::string_view value() const override { return values_.value(i_); }
  void Next() override { ++i_; }
  absl::Status status() const override { return absl::OkStatus(); }

 private:
  const SegmentValues& values_;
  char tag_;
  size_t i_;
};

class StoredPostingsIterator final : public Segment::PostingsIterator {
 public:
  StoredPostingsIterator(const SegmentStore& store, const std::string& prefix,
                         char tag, absl::string_view start)
      : prefix_size_(prefix.size()), lower_(prefix + tag), upper_(lower_) {
    upper_.back() = static_cast<char>(tag + 1);
    lower_.append(start.data(), start.size());
    upper_slice_ = rocksdb::Slice(upper_);
    rocksdb::ReadOptions options;
    options.iterate_upper_bound = &upper_slice_;
    // A merge reads each value once; keep it out of the block cache.
    options.fill_cache = false;
    it_.reset(store.db->NewIterator(options, store.family));
    it_->Seek(lower_);
  }
  bool Valid() const override { return it_->Valid(); }
  absl::string_view key() const override {
    absl::string_view key(it_->key().data(), it_->key().size());
    key.remove_prefix(prefix_size_);
    return key;
  }
  absl::string_view value() const override {
    return absl::string_view(it_->value().data(), it_->value().size());
  }
  void Next() override { it_->Next(); }
  absl::Status status() const override {
    return internal::FromRocksDbStatus(it_->status(), "scanning a segment");
  }

 private:
  size_t prefix_size_;
  std::string lower_;
  std::string upper_;
  rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

std::unique_ptr<Segment::PostingsIterator> Segment::NewPostingsIterator(
    char tag, absl::string_view start) const {
  if (in_memory()) {
    return std::make_unique<MemoryPostingsIterator>(memory_, tag, start);
  }
  return std::make_unique<StoredPostingsIterator>(store_, prefix_, tag, start);
}

absl::Status Segment::LoadColumns() {
  ValueHolder holder;
  SIFT_ASSIGN_OR_RETURN(bool found, Get(kMetaKey, &holder));
  if (!found) return Corrupt(id_, "no meta");
  SIFT_ASSIGN_OR_RETURN(meta_, SegmentMeta::Decode(holder.value));
  const uint32_t n = meta_.doc_count;

  SIFT_ASSIGN_OR_RETURN(found, Get(kIdsColumnKey, &holder));
  if (!found) return Corrupt(id_, "no id column");
  absl::string_view in = holder.value;
  columns_.id_offsets.reserve(n + 1);
  columns_.id_offsets.push_back(0);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t length = 0;
    if (!GetVarint32(&in, &length) || length > in.size()) {
      return Corrupt(id_, "truncated id column");
    }
    columns_.id_bytes.append(in.data(), length);
    in.remove_prefix(length);
    columns_.id_offsets.push_back(
        static_cast<uint32_t>(columns_.id_bytes.size()));
  }

  SIFT_ASSIGN_OR_RETURN(found, Get(kLengthsColumnKey, &holder));
  if (!found) return Corrupt(id_, "no length column");
  in = holder.value;
  columns_.lengths.Reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    FieldLengths lengths;
    if (!GetVarint32(&in, &lengths.title) || !GetVarint32(&in, &lengths.body)) {
      return Corrupt(id_, "truncated length column");
    }
    columns_.lengths.Add(lengths);
  }

  SIFT_ASSIGN_OR_RETURN(found, Get(kPublishedColumnKey, &holder));
  if (!found) return Corrupt(id_, "no published column");
  in = holder.value;
  columns_.published_seconds.assign(n, 0);
  columns_.published_nanos.assign(n, 0);
  columns_.dated.assign(n, false);
  for (uint32_t i = 0; i < n; ++i) {
    if (in.empty()) return Corrupt(id_, "truncated published column");
    const char flag = in[0];
    in.remove_prefix(1);
    if (flag == 0) continue;
    uint64_t seconds = 0;
    uint32_t nanos = 0;
    if (!GetVarint64(&in, &seconds) || !GetVarint32(&in, &nanos)) {
      return Corrupt(id_, "truncated published column");
    }
    columns_.dated[i] = true;
    columns_.published_seconds[i] = UnZigZag(seconds);
    columns_.published_nanos[i] = static_cast<int32_t>(nanos);
  }
  return absl::OkStatus();
}

}  // namespace sift::storage::segment
