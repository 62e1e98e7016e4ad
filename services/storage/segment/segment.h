#ifndef SIFT_SERVICES_STORAGE_SEGMENT_SEGMENT_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_SEGMENT_H_

// An immutable segment: a set of documents with internal doc numbers
// 0..doc_count-1, their postings by term, and their per-document values
// kept column-wise. A segment is a sorted set of key/value pairs, the same
// whether it lives in memory (the newest documents, searchable at once) or
// in RocksDB (flushed and merged ones); only where the values come from
// differs. A segment never changes once made: its deletions are kept apart,
// in the LiveDocs of each index view (live_docs.h), so any number of
// threads may read it without a lock.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"
#include "services/storage/segment/live_docs.h"
#include "services/storage/segment/values.h"

namespace sift::storage::segment {

// Which postings a term belongs to: the first byte of its key suffix.
enum class TermField : char {
  kText = 'b',    // analyzed title and body
  kSource = 's',  // normalised source keyword
  kTag = 'g',     // normalised tag keyword
};

// Keys inside a segment (the RocksDB key adds SegmentPrefix(id)).
inline constexpr char kMetaKey[] = "M";
inline constexpr char kIdsColumnKey[] = "Cid";
inline constexpr char kLengthsColumnKey[] = "Clen";
inline constexpr char kPublishedColumnKey[] = "Cpub";
inline constexpr char kPostingsTag = 'T';
inline constexpr char kPositionsTag = 'P';
inline constexpr char kDeletedTag = 'X';

std::string PostingsKey(TermField field, absl::string_view term);
std::string PositionsKey(TermField field, absl::string_view term);
// The first two bytes of those keys: the tag, then the field.
inline std::string KeyPrefix(char tag, TermField field) {
  return {tag, static_cast<char>(field)};
}
// "S" + big-endian id: every key of segment `id` starts with it.
std::string SegmentPrefix(uint32_t id);
// A deleted document of a flushed segment.
std::string DeletedKey(uint32_t segment_id, uint32_t doc);

// A publication time as (seconds, nanos); absent for undated documents.
using Published = std::optional<std::pair<int64_t, int32_t>>;

// Segment-wide counters, the "M" value.
struct SegmentMeta {
  uint32_t doc_count = 0;
  uint64_t total_title_terms = 0;
  uint64_t total_body_terms = 0;

  // Average field lengths (0 without documents).
  double average_title_length() const {
    return doc_count == 0 ? 0.0
                          : static_cast<double>(total_title_terms) / doc_count;
  }
  double average_body_length() const {
    return doc_count == 0 ? 0.0
                          : static_cast<double>(total_body_terms) / doc_count;
  }

  std::string Encode() const;
  static absl::StatusOr<SegmentMeta> Decode(absl::string_view value);
};

// The per-document columns, decoded in memory while the segment is open.
// How many terms a document's title and body hold.
struct FieldLengths {
  uint32_t title = 0;
  uint32_t body = 0;
};

// Every document's FieldLengths, in 16 bits each: scoring a candidate
// loads its two lengths, and at half the bytes the column of a 200,000
// document segment stays in a core's L2 cache (OR queries took 10-25% less
// CPU than with 32 bits) and that of a 5,000,000 document one in L3. A
// length from 65,535 up, which a very long document may have, is kept
// exactly, apart.
class LengthColumn {
 public:
  FieldLengths operator[](uint32_t doc) const {
    const Packed packed = packed_[doc];
    if (packed.title == kApart || packed.body == kApart) [[unlikely]] {
      return apart_.at(doc);
    }
    return {packed.title, packed.body};
  }
  // Where `doc`'s lengths lie, for a prefetch.
  const void* address(uint32_t doc) const { return &packed_[doc]; }
  size_t size() const { return packed_.size(); }

  void Reserve(size_t n) { packed_.reserve(n); }
  // Appends the next document's lengths.
  void Add(FieldLengths lengths);

 private:
  static constexpr uint16_t kApart = 0xFFFF;
  struct Packed {
    uint16_t title;
    uint16_t body;
  };
  std::vector<Packed> packed_;
  absl::flat_hash_map<uint32_t, FieldLengths> apart_;
};

struct Columns {
  std::string id_bytes;
  std::vector<uint32_t> id_offsets;  // doc_count + 1 entries into id_bytes
  // A document's two lengths side by side: scoring a candidate reads both,
  // and in one array they cost one cache miss, not two.
  LengthColumn lengths;
  std::vector<int64_t> published_seconds;
  std::vector<int32_t> published_nanos;
  std::vector<bool> dated;

  absl::string_view id(uint32_t doc) const {
    return absl::string_view(id_bytes).substr(
        id_offsets[doc], id_offsets[doc + 1] - id_offsets[doc]);
  }
  Published published(uint32_t doc) const {
    if (!dated[doc]) return std::nullopt;
    return std::make_pair(published_seconds[doc], published_nanos[doc]);
  }
};

// Encodes columns of documents given in doc order.
class ColumnsWriter {
 public:
  void Add(absl::string_view id, uint32_t title_length, uint32_t body_length,
           const Published& published);
  // Adds the three column values to `out` under their keys, and resets.
  absl::Status Finish(ValueSink* out);

 private:
  std::string ids_;
  std::string lengths_;
  std::string published_;
};

// A value read from a segment, valid while this holder lives.
struct ValueHolder {
  rocksdb::PinnableSlice pinned;
  absl::string_view value;
};

// Where a persisted segment's values live.
struct SegmentStore {
  rocksdb::DB* db = nullptr;
  rocksdb::ColumnFamilyHandle* family = nullptr;
};

class Segment {
 public:
  // A segment held in memory; `values` maps in-segment keys to values.
  static absl::StatusOr<std::shared_ptr<const Segment>> FromMemory(
      uint32_t id, SegmentValues values);
  // A flushed segment. Its values must stay in the store while it lives.
  static absl::StatusOr<std::shared_ptr<const Segment>> Open(
      const SegmentStore& store, uint32_t id);

  uint32_t id() const { return id_; }
  bool in_memory() const { return store_.db == nullptr; }
  const SegmentMeta& meta() const { return meta_; }
  uint32_t doc_count() const { return meta_.doc_count; }
  const Columns& columns() const { return columns_; }
  // In-memory bytes of the values (memory segments) for flush decisions.
  size_t memory_bytes() const { return memory_bytes_; }
  const SegmentValues& memory_values() const { return memory_; }

  // Looks up an in-segment key; false when it is absent.
  absl::StatusOr<bool> Get(absl::string_view key, ValueHolder* out) const;

  // Iterates the values whose keys start with `tag` (kPostingsTag: the
  // postings, kPositionsTag: the positions) in key order; keys are
  // in-segment keys. For merges: it bypasses the cache.
  class PostingsIterator {
   public:
    virtual ~PostingsIterator() = default;
    virtual bool Valid() const = 0;
    virtual absl::string_view key() const = 0;
    virtual absl::string_view value() const = 0;
    virtual void Next() = 0;
    virtual absl::Status status() const = 0;
  };
  // With `start`, the scan begins at the first key >= tag + start.
  std::unique_ptr<PostingsIterator> NewPostingsIterator(
      char tag = kPostingsTag, absl::string_view start = {}) const;

  // The deletions recorded beside a flushed segment (DeletedKey), read
  // from the store; every document live for a memory segment.
  absl::StatusOr<std::shared_ptr<const LiveDocs>> ReadLiveDocs() const;

 private:
  Segment(uint32_t id, SegmentStore store) : id_(id), store_(store) {}
  absl::Status LoadColumns();

  uint32_t id_;
  SegmentStore store_;
  std::string prefix_;
  SegmentValues memory_;
  size_t memory_bytes_ = 0;
  SegmentMeta meta_;
  Columns columns_;
};

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_SEGMENT_H_
