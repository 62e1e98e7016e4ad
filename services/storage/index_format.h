#ifndef SIFT_SERVICES_STORAGE_INDEX_FORMAT_H_
#define SIFT_SERVICES_STORAGE_INDEX_FORMAT_H_

// The shard's keys and values outside the segments themselves
// (docs/storage-format.md): the column families, where an id lives, the
// log of documents not yet flushed, and the list of flushed segments.
// Encoding only; nothing here touches RocksDB.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/storage/index.h"
#include "services/storage/segment/builder.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage {

// Column families, in the order RocksDB opens them.
enum FamilyIndex { kDefault, kDocs, kIds, kPending, kSegments, kMeta, kOpLog };
inline constexpr const char* kFamilyNames[] = {
    "default", "docs", "ids", "pending", "segments", "meta", "oplog"};
inline constexpr int kFamilyCount = 7;

// The meta family's keys, and the format this build reads and writes.
inline constexpr char kFormatKey[] = "format";
inline constexpr char kFormat[] = "sift-segments-5";
// Formats this build reads and opens, marking them kFormat so that an
// earlier build refuses the index rather than fail on what this one writes:
// "sift-segments-2" stored documents serialized as they are (before they
// were compressed one by one), "sift-segments-3" postings with one impact
// per block (before impact lists), "sift-segments-4" a term's positions in
// one value (before chunks, segment::kPositionBlocksPerChunk).
inline constexpr const char* kUpgradedFormats[] = {
    "sift-segments-2", "sift-segments-3", "sift-segments-4"};
inline constexpr char kSegmentListKey[] = "segments";
inline constexpr char kNextSegmentKey[] = "next_segment";
// The last write applied: its term and sequence number (EncodeOpId).
inline constexpr char kLastOpKey[] = "last_op";
// Stored documents' dictionaries: the one new documents use, by id (BE32),
// and each one under DictionaryKey.
inline constexpr char kCurrentDictionaryKey[] = "dictionary";
std::string DictionaryKey(uint32_t id);
std::optional<uint32_t> DecodeDictionaryKey(absl::string_view key);

// Where a document lives: segment id and doc number (the ids family's
// value), 8 bytes, big-endian.
struct Location {
  uint32_t segment = 0;
  uint32_t doc = 0;

  std::string Encode() const;
  static std::optional<Location> Decode(absl::string_view value);
  friend bool operator==(const Location&, const Location&) = default;
};

// The pending family holds, for each memory segment, what restores it after
// a restart, under the segment id (4 bytes big-endian) and a suffix:
//   'L': the sequence number (BE64) of the write in the op log whose entry
//        holds the segment's values, when the index keeps an op log, so that
//        the values are not written twice;
//   'V': the segment's values (SegmentValues::SerializeTo);
//   none: written by earlier versions, a log entry of the documents'
//        analyzed fields, from which the segment is built again.
enum class PendingForm { kFields, kValues, kLogged };
std::string PendingKey(uint32_t segment_id);
std::string PendingValuesKey(uint32_t segment_id);
std::string PendingLoggedKey(uint32_t segment_id);
struct PendingEntryKey {
  uint32_t segment_id = 0;
  PendingForm form = PendingForm::kFields;
};
// nullopt for a key of another shape.
std::optional<PendingEntryKey> DecodePendingKey(absl::string_view key);

// The log of a memory segment in the earlier form: varint count, then per
// document its id, its serialized title AnalyzedField and its serialized
// body AnalyzedField, each as varint length + bytes. The rest of a document
// is in `docs`. Tests write it to check that such an index still opens.
std::string EncodeLogEntry(absl::Span<const segment::SegmentDocument> docs);
// The logged documents, with only their id, title and body set. DATA_LOSS
// when the bytes are not a log entry.
absl::StatusOr<std::vector<v1::AnalyzedDocument>> DecodeLogEntry(
    absl::string_view in);

// The flushed segments' ids (kSegmentListKey's value).
std::string EncodeSegmentList(absl::Span<const uint32_t> ids);
absl::StatusOr<std::vector<uint32_t>> DecodeSegmentList(absl::string_view in);

// kLastOpKey's value: term and sequence number, 8 bytes each, big-endian.
std::string EncodeOpId(const OpId& id);
absl::StatusOr<OpId> DecodeOpId(absl::string_view in);

// The oplog family's key of the write with sequence number `seq`:
// big-endian, so that keys sort in sequence order.
std::string OpLogKey(uint64_t seq);
std::optional<uint64_t> DecodeOpLogKey(absl::string_view key);
// The oplog family's value: the write's term, 8 bytes big-endian, then the
// write's entry (LoggedWrite.entry).
std::string EncodeOpLogValue(uint64_t term, absl::string_view entry);
// The write of `seq` back from a value; DATA_LOSS when it is not one.
absl::StatusOr<v1::LoggedWrite> DecodeOpLogValue(uint64_t seq,
                                                 absl::string_view value);
absl::StatusOr<uint64_t> DecodeOpLogTerm(absl::string_view value);

// A write's entry in the op log, as this version writes it: this byte,
// then the write as the primary prepared it, its documents in their stored
// form (SegmentIndex's segment_index_write.cc has the layout), so that a
// copy applies it without analysing, indexing or compressing it again.
// Earlier versions logged the same without the dictionary
// (kPreparedEntryTagV1, documents serialized as they are), or the
// serialized WriteRequest, which never starts with either byte (it would be
// protobuf field number 0); those entries still apply.
inline constexpr char kPreparedEntryTag = 0x02;
inline constexpr char kPreparedEntryTagV1 = 0x01;

// kNextSegmentKey's value: the smallest id never given to a segment.
std::string EncodeSegmentId(uint32_t id);
absl::StatusOr<uint32_t> DecodeSegmentId(absl::string_view in);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_INDEX_FORMAT_H_
