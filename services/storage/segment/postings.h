#ifndef SIFT_SERVICES_STORAGE_SEGMENT_POSTINGS_H_
#define SIFT_SERVICES_STORAGE_SEGMENT_POSTINGS_H_

// The postings of one term in one segment: doc numbers in blocks of
// codec::kBlockSize with a skip entry per block, term frequencies beside the
// doc numbers, and positions in values of their own so that queries
// without phrases never read them. docs/storage-format.md has the bytes.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/codec/block_codec.h"
#include "services/storage/segment/values.h"

namespace sift::storage::segment {

// Past the last document of every cursor.
inline constexpr uint32_t kNoMoreDocs = 0xFFFFFFFFu;

// A term's positions are cut into chunks of this many posting blocks, each
// a value of its own: chunk 0 under the term's positions key, chunk c > 0
// under that key + PositionsChunkSuffix(c). One value for all of them ran
// to tens of megabytes for a common word in a segment of millions of
// documents (13 MB for "the" in 1,000,000 news documents, five times that
// in 5,000,000); a merge held it whole, several times over (its buffers,
// the table writer's block and its compressed copy), and a query that
// needed the positions of a few documents read and decompressed all of it.
inline constexpr uint32_t kPositionBlocksPerChunk = 64;
// '\0' (no term holds one, so a term's chunks sort right after it and
// before any longer term), then the chunk number, 4 bytes big-endian.
std::string PositionsChunkSuffix(uint32_t chunk);

// What a set of full-text postings can score at most: the largest term
// frequencies and the shortest fields among them. BM25F grows with
// frequency and shrinks with length, so scoring these together bounds every
// posting of the set. A field without the term has max_tf 0.
struct Impact {
  uint32_t max_tf_title = 0;
  uint32_t max_tf_body = 0;
  uint32_t min_title_length = 0;  // meaningful only when max_tf_title > 0
  uint32_t min_body_length = 0;   // meaningful only when max_tf_body > 0

  void Add(uint32_t tf_title, uint32_t tf_body, uint32_t title_length,
           uint32_t body_length);
  void Merge(const Impact& other);
  // Whether every posting `other` describes scores at most what this one
  // bounds, whatever the scoring parameters.
  bool Dominates(const Impact& other) const;
};

// A few impacts that together bound a block of postings (or a whole term):
// each posting is bounded by one of them, so the largest of their scores
// bounds them all. One impact over all the postings pairs the largest
// frequency of one posting with the shortest field of another, and on news
// text overstates the best score of a block so much that pruning skipped
// about half as many documents as the true block maxima allow; up to four
// impacts, each over postings alike, come within a few percent of them.
struct Impacts {
  static constexpr uint32_t kCapacity = 8;
  std::array<Impact, kCapacity> entries;
  uint32_t count = 0;

  const Impact* begin() const { return entries.data(); }
  const Impact* end() const { return entries.data() + count; }
  // One impact over all of them (a looser bound).
  Impact Collapsed() const;
};

// How many impacts a block's skip entry and a term's header keep at most.
inline constexpr uint32_t kBlockImpacts = 4;
inline constexpr uint32_t kTermImpacts = 8;

// The Pareto frontier of a set of postings under Impact::Dominates, and
// its reduction to a few impacts. Which impacts a reduction merges only
// decides how tight the bound is, never whether it holds; it picks the
// merges that raise the weighted tf of BM25F's default parameters least,
// with the field lengths' averages given.
class ImpactFrontier {
 public:
  void Add(const Impact& impact);
  void Add(const ImpactFrontier& other);
  bool empty() const { return entries_.empty(); }
  void Clear() { entries_.clear(); }
  // At most `limit` (<= Impacts::kCapacity) impacts bounding every posting
  // added.
  Impacts Reduce(uint32_t limit, double average_title_length,
                 double average_body_length) const;

 private:
  std::vector<Impact> entries_;
};

// Which kind of postings a value holds.
enum class PostingsKind : uint8_t {
  // Title and body of the analyzed text together: per posting the
  // frequency in each field, per block its Impacts, and positions. Written
  // as kind byte 3 (impact lists); byte 1, one impact per block, is read
  // from segments of earlier versions.
  kText = 1,
  // A keyword (source, tag): doc numbers only.
  kKeyword = 2,
};

// Builds the values of one term, postings in increasing doc order.
// Not thread-safe.
class PostingsWriter {
 public:
  // The averages of the segment's field lengths steer which postings a
  // block's impacts group together (see ImpactFrontier).
  explicit PostingsWriter(PostingsKind kind, double average_title_length = 8.0,
                          double average_body_length = 300.0)
      : kind_(kind),
        average_title_length_(average_title_length),
        average_body_length_(average_body_length) {}

  // Appends a posting. For kText, `tf_title` + `tf_body` >= 1 and the
  // position lists hold exactly tf_title and tf_body increasing positions;
  // kKeyword ignores everything but `doc`. `doc` must exceed the previous.
  void Add(uint32_t doc, uint32_t tf_title, uint32_t tf_body,
           uint32_t title_length, uint32_t body_length,
           absl::Span<const uint32_t> title_positions,
           absl::Span<const uint32_t> body_positions);

  // Add, with the positions given as the bytes PositionsReader::ReadRaw
  // returned for a posting with the same frequencies: a merge copies them
  // without decoding.
  void AddEncoded(uint32_t doc, uint32_t tf_title, uint32_t tf_body,
                  uint32_t title_length, uint32_t body_length,
                  absl::string_view encoded_positions);

  uint32_t doc_count() const { return df_; }

  // kText: where the term's positions go, chunk by chunk as each fills
  // (kPositionBlocksPerChunk), under `key_prefix` + `term` (+
  // PositionsChunkSuffix(c) for chunk c > 0): a term's positions are never
  // all in memory. Set before the term's first posting; Finish clears it.
  void SetPositionsOut(ValueSink* out, absl::string_view key_prefix,
                       absl::string_view term);

  // Writes the postings value and the last chunk of positions, then resets
  // the writer for another term. INTERNAL when the postings broke the
  // contract above (or kText had no positions out); the positions sink's
  // own errors are passed on.
  absl::Status Finish(std::string* postings);

 private:
  absl::Status FlushBlock();
  // Sends the blocks' positions gathered so far as the next chunk.
  void FlushPositionsChunk();

  PostingsKind kind_;
  double average_title_length_;
  double average_body_length_;
  uint32_t df_ = 0;
  uint32_t df_title_ = 0;
  uint32_t df_body_ = 0;
  uint32_t last_block_doc_ = 0;  // last doc of the previous block
  bool any_block_ = false;
  ImpactFrontier total_impacts_;
  std::string skips_;
  std::string blocks_;
  // Positions: where they go, and the current chunk's table and blocks.
  ValueSink* positions_out_ = nullptr;
  std::string positions_prefix_;
  std::string positions_term_;
  std::string positions_key_rest_;
  std::string positions_chunk_;
  uint32_t chunk_ = 0;
  uint32_t chunk_blocks_ = 0;
  std::string position_lengths_;
  std::string position_blocks_;
  absl::Status status_;
  // The block being filled.
  std::vector<uint32_t> docs_;
  std::vector<uint32_t> tf_title_;
  std::vector<uint32_t> tf_body_;
  ImpactFrontier impacts_;
  std::string impact_bytes_;
  std::string positions_;
  uint32_t num_blocks_ = 0;
};

// Header of a postings value.
struct PostingsHeader {
  PostingsKind kind = PostingsKind::kKeyword;
  uint32_t df = 0;
  uint32_t df_title = 0;
  uint32_t df_body = 0;
  // Bound every posting of the term (kText).
  Impacts impacts;
};

// Reads the header only (document frequencies for statistics).
absl::Status ReadPostingsHeader(absl::string_view value, PostingsHeader* out);

// Forward-only cursor over a postings value, which must outlive it.
// Starts before the first posting (doc() == 0 is not yet valid: call Next
// or SeekTo first); ends at kNoMoreDocs. Corrupt bytes end it early with
// status() set to DATA_LOSS. Not thread-safe.
class PostingCursor {
 public:
  absl::Status Init(absl::string_view value);

  const PostingsHeader& header() const { return header_; }
  uint32_t doc() const { return doc_; }

  void Next();
  // Moves to the first posting >= target; never backwards.
  void SeekTo(uint32_t target);

  // Limits the cursor to the doc numbers [begin, end), before it starts:
  // it then starts at the first posting >= begin and ends (kNoMoreDocs) at
  // the first >= end, so that a search can cut a segment into ranges and
  // run each on its own thread with cursors of its own.
  void SetRange(uint32_t begin, uint32_t end) {
    begin_ = begin;
    end_ = end;
  }

  // Term frequencies of the current posting (kText).
  uint32_t tf_title() {
    if (!freqs_ready_) DecodeFreqs();
    return tf_title_[index_];
  }
  uint32_t tf_body() {
    if (!freqs_ready_) DecodeFreqs();
    return tf_body_[index_];
  }

  // Moves the skip data, not the postings, to the block that would hold
  // `target` (>= the current doc's block), so that its bound can be read
  // without decoding it. False when no block can hold it.
  bool ShallowSeek(uint32_t target);
  uint32_t shallow_last_doc() const { return skip_.last_doc; }
  // The impacts of that block (kText), read when first asked for: most
  // skip entries a seek passes are never scored. Corrupt bytes fail the
  // cursor and give no impacts.
  const Impacts& shallow_impacts() {
    if (!skip_impacts_ready_) ReadSkipImpacts();
    return skip_impacts_;
  }

  // The doc `ahead` postings after the current one when the decoded block
  // holds it, else kNoMoreDocs: a doc whose columns a caller may prefetch
  // while it works on the current one.
  uint32_t PeekInBlock(uint32_t ahead) const {
    const uint32_t i = index_ + ahead;
    return started_ && doc_ != kNoMoreDocs && i < count_ ? docs_[i]
                                                         : kNoMoreDocs;
  }

  // Where the current posting sits, for PositionsReader.
  uint32_t block_index() const { return decoded_block_; }
  uint32_t index_in_block() const { return index_; }
  // Frequencies of the current block's postings (kText).
  const uint32_t* block_tf_title() {
    if (!freqs_ready_) DecodeFreqs();
    return tf_title_;
  }
  const uint32_t* block_tf_body() {
    if (!freqs_ready_) DecodeFreqs();
    return tf_body_;
  }

  const absl::Status& status() const { return status_; }

 private:
  struct SkipEntry {
    uint32_t index = 0;  // block number; num_blocks when past the end
    uint32_t base = 0;   // first doc number the block may hold
    uint32_t last_doc = 0;
    uint32_t data_offset = 0;  // into data_
    uint32_t data_length = 0;
    absl::string_view impact_bytes;
  };

  // Reads the next skip entry into skip_; false at the end.
  bool ReadSkip();
  void ReadSkipImpacts();
  // Decodes the doc numbers of the block skip_ describes.
  void DecodeBlock();
  void DecodeFreqs();
  // The first index from `from` on of the decoded block whose doc is at
  // least `target`, which the block's last doc must be.
  uint32_t FirstAtLeast(uint32_t from, uint32_t target) const;
  void Fail(absl::Status status);

  PostingsHeader header_;
  uint32_t num_blocks_ = 0;
  absl::string_view skips_;  // unread skip entries
  absl::string_view data_;
  SkipEntry skip_;
  bool skip_valid_ = false;
  // Entries that give their impacts' length (format 3), which a seek skips
  // unread, rather than impacts inline (format 1).
  bool impact_lists_ = false;
  bool skip_impacts_ready_ = false;
  Impacts skip_impacts_;
  uint32_t next_skip_offset_ = 0;  // data offset of the next entry

  uint32_t decoded_block_ = kNoMoreDocs;
  uint32_t count_ = 0;
  uint32_t index_ = 0;
  uint32_t doc_ = 0;
  uint32_t begin_ = 0;
  uint32_t end_ = kNoMoreDocs;
  bool started_ = false;
  bool freqs_ready_ = false;
  absl::string_view freq_bytes_;
  // Padded by a vector's width past the block, so that FirstAtLeast may
  // load four lanes from any index of the block.
  alignas(16) uint32_t docs_[codec::kBlockSize + 4] = {};
  uint32_t tf_title_[codec::kBlockSize];
  uint32_t tf_body_[codec::kBlockSize];
  absl::Status status_;
};

// Reads the positions of single postings of one term, chunk by chunk.
// Blocks must be asked for in non-decreasing order; each chunk is loaded
// when the first of its blocks is. A chunk 0 that holds more than
// kPositionBlocksPerChunk blocks is a term's positions whole, as segments
// of earlier versions wrote them, and then no other chunk is loaded.
class PositionsReader {
 public:
  // The value of chunk `chunk` (> 0), which must stay valid until the next
  // call or until the reader is dropped. NOT_FOUND when absent.
  using ChunkLoader =
      std::function<absl::StatusOr<absl::string_view>(uint32_t chunk)>;

  // `chunk0` is the value under the term's positions key; it and what
  // `load` returns must outlive their use. Without a loader the reader
  // holds only chunk 0.
  absl::Status Init(absl::string_view chunk0, ChunkLoader load = nullptr);

  // The positions of posting `index` of block `block`, whose frequencies
  // (of every posting of the block) are `tf_title` / `tf_body`.
  absl::Status Read(uint32_t block, uint32_t index, const uint32_t* tf_title,
                    const uint32_t* tf_body, std::vector<uint32_t>* title,
                    std::vector<uint32_t>* body);

  // The same posting's positions as encoded bytes (valid while the chunk's
  // value is: until the reader moves to another chunk), for
  // PostingsWriter::AddEncoded.
  absl::Status ReadRaw(uint32_t block, uint32_t index, const uint32_t* tf_title,
                       const uint32_t* tf_body, absl::string_view* encoded);

 private:
  // Makes `value` the current chunk, whose first block is `first_block`.
  absl::Status InitChunk(absl::string_view value, uint32_t first_block);
  // Positions the reader at the start of posting `index` of `block`,
  // loading its chunk when needed; `*in` is the rest of the block from
  // there.
  absl::Status Seek(uint32_t block, uint32_t index, const uint32_t* tf_title,
                    const uint32_t* tf_body, absl::string_view* in);

  ChunkLoader load_;
  bool whole_ = false;         // chunk 0 holds every block (earlier versions)
  uint32_t chunk_ = 0;         // the chunk loaded
  uint32_t first_block_ = 0;   // its first block
  uint32_t num_blocks_ = 0;    // in the chunk
  absl::string_view lengths_;  // unread block lengths
  absl::string_view data_;
  uint32_t block_ = 0;         // block that block_offset_ points at (in chunk)
  uint32_t block_offset_ = 0;  // into data_
  uint32_t block_length_ = 0;
  bool have_block_ = false;
  // Where the previous Read stopped inside block_, so that reading the
  // postings of a block in order decodes each position once.
  uint32_t next_index_ = 0;
  uint32_t next_offset_ = 0;  // into the block
};

}  // namespace sift::storage::segment

#endif  // SIFT_SERVICES_STORAGE_SEGMENT_POSTINGS_H_
