#ifndef SIFT_SERVICES_STORAGE_INTERNAL_KEY_FORMAT_H_
#define SIFT_SERVICES_STORAGE_INTERNAL_KEY_FORMAT_H_

// Byte-level encodings of the RocksDB keys and values of a storage shard.
// docs/storage-format.md is the prose version of this file; change both
// together and bump kSchemaVersion when a change is incompatible.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sift::storage::internal {

// Version of the on-disk layout, stored under kSchemaVersionKey.
inline constexpr uint32_t kSchemaVersion = 1;

// Column family names.
inline constexpr char kDocsFamily[] = "docs";
inline constexpr char kIdsFamily[] = "ids";
inline constexpr char kPostingsFamily[] = "postings";
inline constexpr char kPositionsFamily[] = "positions";
inline constexpr char kFieldsFamily[] = "fields";
inline constexpr char kMetaFamily[] = "meta";

// Internal document numbers start at 1; kNoMoreDocs ends every iteration and
// is never assigned, so a shard numbers at most 2^32 - 2 documents over its
// life.
inline constexpr uint32_t kFirstDocnum = 1;
inline constexpr uint32_t kNoMoreDocs = 0xffffffffu;

// First byte of posting, position and document-frequency keys.
enum class FieldTag : uint8_t {
  // Full-text postings covering title and body; df of "title or body".
  kText = 0x01,
  // Title / body positions; df of the title / body alone.
  kTitle = 0x02,
  kBody = 0x03,
  // Keyword postings and df.
  kSource = 0x04,
  kTag = 0x05,
};

// Kinds of keys in the `fields` family (first key byte).
inline constexpr char kDocValuesKind = 'd';
inline constexpr char kDocTermsKind = 't';

// Named keys of the `meta` family. Document-frequency keys there start with
// a FieldTag byte (0x01..0x05), which no name starts with.
inline constexpr char kSchemaVersionKey[] = "schema_version";
inline constexpr char kCountersKey[] = "counters";

// --- Primitive codings -----------------------------------------------------

void PutVarint64(std::string* dst, uint64_t value);
// Consumes a varint from the front of `input`; false when it is truncated or
// longer than 10 bytes.
bool GetVarint64(absl::string_view* input, uint64_t* value);
// Like GetVarint64, and false when the value exceeds 32 bits.
bool GetVarint32(absl::string_view* input, uint32_t* value);

void PutLengthPrefixed(std::string* dst, absl::string_view bytes);
bool GetLengthPrefixed(absl::string_view* input, absl::string_view* bytes);

void PutBigEndian32(std::string* dst, uint32_t value);
// `bytes` must hold at least 4 bytes.
uint32_t DecodeBigEndian32(absl::string_view bytes);

// --- Keys ------------------------------------------------------------------

// `docs` family: docnum BE32.
std::string DocKey(uint32_t docnum);

// [tag][term][0x00]: every posting or position key of the term in that
// field starts with it, in docnum order.
std::string TermPrefix(FieldTag tag, absl::string_view term);
// `postings` and `positions` families: TermPrefix + docnum BE32.
std::string PostingKey(FieldTag tag, absl::string_view term, uint32_t docnum);
// The docnum at the end of a posting or position key.
uint32_t DocnumOfPostingKey(absl::string_view key);

// `fields` family: [kind][docnum BE32].
std::string DocValuesKey(uint32_t docnum);
std::string DocTermsKey(uint32_t docnum);

// `meta` family: [tag][term].
std::string DocFreqKey(FieldTag tag, absl::string_view term);

// --- Values ----------------------------------------------------------------

// Value of a full-text posting: how often the term occurs in each field, and
// both field lengths, so that scoring needs no other lookup.
struct TextPosting {
  uint32_t tf_title = 0;
  uint32_t tf_body = 0;
  uint32_t title_length = 0;
  uint32_t body_length = 0;
};
std::string EncodeTextPosting(const TextPosting& posting);
bool DecodeTextPosting(absl::string_view value, TextPosting* posting);

// Value of a position key: ascending positions, delta-coded varints (the
// first one absolute).
std::string EncodePositions(const std::vector<uint32_t>& positions);
bool DecodePositions(absl::string_view value, std::vector<uint32_t>* positions);

// Per-document values used by filters, sorting and tie-breaking.
struct DocValues {
  std::string id;
  // Seconds and nanos of published_at, when the document has one.
  std::optional<std::pair<int64_t, int32_t>> published_at;
  uint32_t title_length = 0;
  uint32_t body_length = 0;
  // Normalised keyword values as indexed; empty source = none.
  std::string source;
  std::vector<std::string> tags;
};
std::string EncodeDocValues(const DocValues& values);
bool DecodeDocValues(absl::string_view value, DocValues* values);

// The distinct terms of a document per full-text field, sorted, so that a
// delete removes exactly the document's postings and positions.
struct DocTerms {
  std::vector<std::string> title;
  std::vector<std::string> body;
};
std::string EncodeDocTerms(const DocTerms& terms);
bool DecodeDocTerms(absl::string_view value, DocTerms* terms);

// Collection counters, one value under kCountersKey.
struct Counters {
  uint64_t next_docnum = kFirstDocnum;
  uint64_t doc_count = 0;
  uint64_t total_title_terms = 0;
  uint64_t total_body_terms = 0;
};
std::string EncodeCounters(const Counters& counters);
bool DecodeCounters(absl::string_view value, Counters* counters);

}  // namespace sift::storage::internal

#endif  // SIFT_SERVICES_STORAGE_INTERNAL_KEY_FORMAT_H_
