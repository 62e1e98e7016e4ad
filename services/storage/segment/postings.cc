#include "services/storage/segment/postings.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/codec/big_endian.h"
#include "common/codec/varint.h"
#include "common/status/status_macros.h"

namespace sift::storage::segment {
namespace {

using codec::GetVarint32;
using codec::PutVarint32;

// The kind byte of text postings whose header and skip entries hold
// impact lists with their length (kText is the byte of the earlier format,
// one impact each, still read).
constexpr uint8_t kTextWithImpactLists = 3;

void PutImpact(std::string* out, const Impact& impact) {
  PutVarint32(out, impact.max_tf_title);
  if (impact.max_tf_title > 0) PutVarint32(out, impact.min_title_length);
  PutVarint32(out, impact.max_tf_body);
  if (impact.max_tf_body > 0) PutVarint32(out, impact.min_body_length);
}

bool GetImpact(absl::string_view* in, Impact* impact) {
  *impact = Impact();
  if (!GetVarint32(in, &impact->max_tf_title)) return false;
  if (impact->max_tf_title > 0 && !GetVarint32(in, &impact->min_title_length)) {
    return false;
  }
  if (!GetVarint32(in, &impact->max_tf_body)) return false;
  if (impact->max_tf_body > 0 && !GetVarint32(in, &impact->min_body_length)) {
    return false;
  }
  return true;
}

// An impact list: its length in bytes, then the impacts back to back.
void PutImpacts(std::string* out, const Impacts& impacts,
                std::string* scratch) {
  scratch->clear();
  for (const Impact& impact : impacts) PutImpact(scratch, impact);
  PutVarint32(out, static_cast<uint32_t>(scratch->size()));
  out->append(*scratch);
}

// The bytes of an impact list, unparsed.
bool GetImpactBytes(absl::string_view* in, absl::string_view* bytes) {
  uint32_t length = 0;
  if (!GetVarint32(in, &length) || length > in->size()) return false;
  *bytes = in->substr(0, length);
  in->remove_prefix(length);
  return true;
}

// Parses the impacts of an impact list's bytes: 1 to kCapacity of them.
bool ParseImpacts(absl::string_view bytes, Impacts* impacts) {
  impacts->count = 0;
  while (!bytes.empty()) {
    if (impacts->count == Impacts::kCapacity ||
        !GetImpact(&bytes, &impacts->entries[impacts->count])) {
      return false;
    }
    ++impacts->count;
  }
  return impacts->count > 0;
}

bool GetSingleImpact(absl::string_view* in, Impacts* impacts) {
  impacts->count = 1;
  return GetImpact(in, &impacts->entries[0]);
}

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt postings: ", what));
}

// Parses the header and returns the rest of the value in *rest.
absl::Status ParseHeader(absl::string_view value, PostingsHeader* header,
                         bool* impact_lists, uint32_t* num_blocks,
                         absl::string_view* skips, absl::string_view* data) {
  if (value.empty()) return Corrupt("empty value");
  const uint8_t kind = static_cast<uint8_t>(value[0]);
  if (kind != static_cast<uint8_t>(PostingsKind::kText) &&
      kind != static_cast<uint8_t>(PostingsKind::kKeyword) &&
      kind != kTextWithImpactLists) {
    return Corrupt(absl::StrCat("unknown kind ", kind));
  }
  const bool lists = kind == kTextWithImpactLists;
  *impact_lists = lists;
  header->kind = lists ? PostingsKind::kText : static_cast<PostingsKind>(kind);
  absl::string_view in = value.substr(1);
  if (!GetVarint32(&in, &header->df)) return Corrupt("truncated header");
  if (header->kind == PostingsKind::kText) {
    if (!GetVarint32(&in, &header->df_title) ||
        !GetVarint32(&in, &header->df_body)) {
      return Corrupt("truncated header");
    }
    absl::string_view bytes;
    if (lists ? !GetImpactBytes(&in, &bytes) ||
                    !ParseImpacts(bytes, &header->impacts)
              : !GetSingleImpact(&in, &header->impacts)) {
      return Corrupt("bad term impacts");
    }
  } else {
    header->df_title = header->df_body = 0;
  }
  uint32_t skips_length = 0;
  if (!GetVarint32(&in, num_blocks) || !GetVarint32(&in, &skips_length) ||
      skips_length > in.size()) {
    return Corrupt("truncated header");
  }
  *skips = in.substr(0, skips_length);
  *data = in.substr(skips_length);
  return absl::OkStatus();
}

}  // namespace

void Impact::Add(uint32_t tf_title, uint32_t tf_body, uint32_t title_length,
                 uint32_t body_length) {
  if (tf_title > 0) {
    min_title_length = max_tf_title == 0
                           ? title_length
                           : std::min(min_title_length, title_length);
    max_tf_title = std::max(max_tf_title, tf_title);
  }
  if (tf_body > 0) {
    min_body_length =
        max_tf_body == 0 ? body_length : std::min(min_body_length, body_length);
    max_tf_body = std::max(max_tf_body, tf_body);
  }
}

void Impact::Merge(const Impact& other) {
  if (other.max_tf_title > 0) {
    min_title_length = max_tf_title == 0
                           ? other.min_title_length
                           : std::min(min_title_length, other.min_title_length);
    max_tf_title = std::max(max_tf_title, other.max_tf_title);
  }
  if (other.max_tf_body > 0) {
    min_body_length = max_tf_body == 0
                          ? other.min_body_length
                          : std::min(min_body_length, other.min_body_length);
    max_tf_body = std::max(max_tf_body, other.max_tf_body);
  }
}

bool Impact::Dominates(const Impact& other) const {
  return max_tf_title >= other.max_tf_title &&
         max_tf_body >= other.max_tf_body &&
         (other.max_tf_title == 0 ||
          min_title_length <= other.min_title_length) &&
         (other.max_tf_body == 0 || min_body_length <= other.min_body_length);
}

Impact Impacts::Collapsed() const {
  Impact all;
  for (const Impact& impact : *this) all.Merge(impact);
  return all;
}

void ImpactFrontier::Add(const Impact& impact) {
  for (const Impact& entry : entries_) {
    if (entry.Dominates(impact)) return;
  }
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&impact](const Impact& entry) {
                                  return impact.Dominates(entry);
                                }),
                 entries_.end());
  entries_.push_back(impact);
}

void ImpactFrontier::Add(const ImpactFrontier& other) {
  for (const Impact& impact : other.entries_) Add(impact);
}

Impacts ImpactFrontier::Reduce(uint32_t limit, double average_title_length,
                               double average_body_length) const {
  // BM25F's weighted tf at the default parameters (k1 1.2, b 0.75, title
  // weight 2): the score grows with it, so merging what raises it least
  // keeps the bound tightest at those parameters.
  auto weighted_tf = [&](const Impact& impact) {
    double tf = 0.0;
    if (impact.max_tf_title > 0) {
      tf += 2.0 * impact.max_tf_title /
            (0.25 + 0.75 * impact.min_title_length /
                        std::max(average_title_length, 1.0));
    }
    if (impact.max_tf_body > 0) {
      tf +=
          impact.max_tf_body / (0.25 + 0.75 * impact.min_body_length /
                                           std::max(average_body_length, 1.0));
    }
    return tf;
  };
  limit = std::clamp<uint32_t>(limit, 1, Impacts::kCapacity);
  std::vector<Impact> entries = entries_;
  // A frontier is rarely over a dozen impacts; a long one is first cut to
  // kMaxGreedy by merging neighbours in body length, to bound the greedy
  // pass below (quadratic per merge).
  constexpr size_t kMaxGreedy = 16;
  if (entries.size() > kMaxGreedy) {
    std::sort(entries.begin(), entries.end(),
              [](const Impact& a, const Impact& b) {
                return a.min_body_length < b.min_body_length;
              });
    const size_t per_group = (entries.size() + kMaxGreedy - 1) / kMaxGreedy;
    std::vector<Impact> grouped;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i % per_group == 0) {
        grouped.push_back(entries[i]);
      } else {
        grouped.back().Merge(entries[i]);
      }
    }
    entries = std::move(grouped);
  }
  while (entries.size() > limit) {
    size_t best_i = 0, best_j = 1;
    double best = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < entries.size(); ++i) {
      for (size_t j = i + 1; j < entries.size(); ++j) {
        Impact merged = entries[i];
        merged.Merge(entries[j]);
        const double tf = weighted_tf(merged);
        if (tf < best) {
          best = tf;
          best_i = i;
          best_j = j;
        }
      }
    }
    entries[best_i].Merge(entries[best_j]);
    entries.erase(entries.begin() + static_cast<ptrdiff_t>(best_j));
  }
  Impacts impacts;
  for (const Impact& impact : entries) {
    impacts.entries[impacts.count++] = impact;
  }
  return impacts;
}

void PostingsWriter::Add(uint32_t doc, uint32_t tf_title, uint32_t tf_body,
                         uint32_t title_length, uint32_t body_length,
                         absl::Span<const uint32_t> title_positions,
                         absl::Span<const uint32_t> body_positions) {
  docs_.push_back(doc);
  ++df_;
  if (kind_ == PostingsKind::kText) {
    tf_title_.push_back(tf_title);
    tf_body_.push_back(tf_body);
    if (tf_title > 0) ++df_title_;
    if (tf_body > 0) ++df_body_;
    Impact impact;
    impact.Add(tf_title, tf_body, title_length, body_length);
    impacts_.Add(impact);
    uint32_t previous = 0;
    for (size_t i = 0; i < title_positions.size(); ++i) {
      PutVarint32(&positions_,
                  i == 0 ? title_positions[i] : title_positions[i] - previous);
      previous = title_positions[i];
    }
    for (size_t i = 0; i < body_positions.size(); ++i) {
      PutVarint32(&positions_,
                  i == 0 ? body_positions[i] : body_positions[i] - previous);
      previous = body_positions[i];
    }
  }
  if (docs_.size() == codec::kBlockSize) {
    // A bad posting surfaces again in Finish, which reports it.
    FlushBlock().IgnoreError();
  }
}

void PostingsWriter::AddEncoded(uint32_t doc, uint32_t tf_title,
                                uint32_t tf_body, uint32_t title_length,
                                uint32_t body_length,
                                absl::string_view encoded_positions) {
  docs_.push_back(doc);
  ++df_;
  tf_title_.push_back(tf_title);
  tf_body_.push_back(tf_body);
  if (tf_title > 0) ++df_title_;
  if (tf_body > 0) ++df_body_;
  Impact impact;
  impact.Add(tf_title, tf_body, title_length, body_length);
  impacts_.Add(impact);
  positions_.append(encoded_positions.data(), encoded_positions.size());
  if (docs_.size() == codec::kBlockSize) FlushBlock().IgnoreError();
}

absl::Status PostingsWriter::FlushBlock() {
  if (docs_.empty()) return absl::OkStatus();
  const uint32_t base = any_block_ ? last_block_doc_ + 1 : 0;
  const size_t before = blocks_.size();
  absl::Status status = codec::EncodeDocBlock(base, docs_, &blocks_);
  if (status.ok() && kind_ == PostingsKind::kText) {
    for (uint32_t& tf : tf_body_) ++tf;
    for (uint32_t& tf : tf_title_) ++tf;
    status = codec::EncodeFreqBlock(tf_body_, &blocks_);
    if (status.ok()) status = codec::EncodeFreqBlock(tf_title_, &blocks_);
  }
  PutVarint32(&skips_, docs_.back() - base);
  PutVarint32(&skips_, static_cast<uint32_t>(blocks_.size() - before));
  if (kind_ == PostingsKind::kText) {
    PutImpacts(&skips_,
               impacts_.Reduce(kBlockImpacts, average_title_length_,
                               average_body_length_),
               &impact_bytes_);
    total_impacts_.Add(impacts_);
    PutVarint32(&position_lengths_, static_cast<uint32_t>(positions_.size()));
    position_blocks_ += positions_;
    if (++chunk_blocks_ == kPositionBlocksPerChunk) FlushPositionsChunk();
  }
  last_block_doc_ = docs_.back();
  any_block_ = true;
  ++num_blocks_;
  docs_.clear();
  tf_title_.clear();
  tf_body_.clear();
  positions_.clear();
  impacts_.Clear();
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("postings out of order: ", status.message()));
  }
  return absl::OkStatus();
}

void PostingsWriter::SetPositionsOut(ValueSink* out,
                                     absl::string_view key_prefix,
                                     absl::string_view term) {
  positions_out_ = out;
  positions_prefix_.assign(key_prefix.data(), key_prefix.size());
  positions_term_.assign(term.data(), term.size());
}

void PostingsWriter::FlushPositionsChunk() {
  if (chunk_blocks_ == 0) return;
  if (positions_out_ == nullptr) {
    if (status_.ok()) {
      status_ = absl::InternalError("text postings without a positions sink");
    }
  } else {
    positions_chunk_.clear();
    PutVarint32(&positions_chunk_, chunk_blocks_);
    PutVarint32(&positions_chunk_,
                static_cast<uint32_t>(position_lengths_.size()));
    positions_chunk_ += position_lengths_;
    positions_chunk_ += position_blocks_;
    positions_key_rest_ = positions_term_;
    if (chunk_ > 0) positions_key_rest_ += PositionsChunkSuffix(chunk_);
    absl::Status status = positions_out_->Add(
        positions_prefix_, positions_key_rest_, positions_chunk_);
    if (status_.ok()) status_ = std::move(status);
  }
  ++chunk_;
  chunk_blocks_ = 0;
  position_lengths_.clear();
  position_blocks_.clear();
}

absl::Status PostingsWriter::Finish(std::string* postings) {
  absl::Status status = FlushBlock();
  if (kind_ == PostingsKind::kText) FlushPositionsChunk();
  if (status.ok()) status = status_;
  postings->clear();
  postings->push_back(static_cast<char>(kind_ == PostingsKind::kText
                                            ? kTextWithImpactLists
                                            : static_cast<uint8_t>(kind_)));
  PutVarint32(postings, df_);
  if (kind_ == PostingsKind::kText) {
    PutVarint32(postings, df_title_);
    PutVarint32(postings, df_body_);
    PutImpacts(postings,
               total_impacts_.Reduce(kTermImpacts, average_title_length_,
                                     average_body_length_),
               &impact_bytes_);
  }
  PutVarint32(postings, num_blocks_);
  PutVarint32(postings, static_cast<uint32_t>(skips_.size()));
  postings->append(skips_);
  postings->append(blocks_);
  *this = PostingsWriter(kind_, average_title_length_, average_body_length_);
  return status;
}

absl::Status ReadPostingsHeader(absl::string_view value, PostingsHeader* out) {
  uint32_t num_blocks = 0;
  absl::string_view skips, data;
  bool impact_lists = false;
  return ParseHeader(value, out, &impact_lists, &num_blocks, &skips, &data);
}

absl::Status PostingCursor::Init(absl::string_view value) {
  *this = PostingCursor();
  absl::Status status = ParseHeader(value, &header_, &impact_lists_,
                                    &num_blocks_, &skips_, &data_);
  if (!status.ok()) {
    doc_ = kNoMoreDocs;
    status_ = status;
  }
  return status;
}

void PostingCursor::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
  doc_ = kNoMoreDocs;
  skip_valid_ = false;
  skip_.last_doc = kNoMoreDocs;
}

bool PostingCursor::ReadSkip() {
  const uint32_t index = skip_valid_ ? skip_.index + 1 : 0;
  if (index >= num_blocks_) {
    skip_valid_ = false;
    skip_.index = num_blocks_;
    skip_.last_doc = kNoMoreDocs;
    return false;
  }
  const uint32_t base = skip_valid_ ? skip_.last_doc + 1 : 0;
  uint32_t delta = 0, length = 0;
  if (!GetVarint32(&skips_, &delta) || !GetVarint32(&skips_, &length)) {
    Fail(Corrupt("truncated skip entry"));
    return false;
  }
  absl::string_view impact_bytes;
  if (header_.kind == PostingsKind::kText) {
    if (impact_lists_) {
      if (!GetImpactBytes(&skips_, &impact_bytes)) {
        Fail(Corrupt("truncated skip entry"));
        return false;
      }
    } else {
      // One impact inline: its bytes are found by reading it.
      absl::string_view rest = skips_;
      Impact unused;
      if (!GetImpact(&rest, &unused)) {
        Fail(Corrupt("truncated skip entry"));
        return false;
      }
      impact_bytes = skips_.substr(0, skips_.size() - rest.size());
      skips_ = rest;
    }
  }
  if (length > data_.size() - next_skip_offset_ ||
      uint64_t{base} + delta >= kNoMoreDocs) {
    Fail(Corrupt("skip entry out of range"));
    return false;
  }
  skip_.index = index;
  skip_.base = base;
  skip_.last_doc = base + delta;
  skip_.data_offset = next_skip_offset_;
  skip_.data_length = length;
  skip_.impact_bytes = impact_bytes;
  skip_impacts_ready_ = false;
  next_skip_offset_ += length;
  skip_valid_ = true;
  return true;
}

void PostingCursor::ReadSkipImpacts() {
  skip_impacts_ready_ = true;
  skip_impacts_.count = 0;
  if (!skip_valid_ || header_.kind != PostingsKind::kText) return;
  absl::string_view bytes = skip_.impact_bytes;
  const bool ok = impact_lists_ ? ParseImpacts(bytes, &skip_impacts_)
                                : GetSingleImpact(&bytes, &skip_impacts_);
  if (!ok) {
    skip_impacts_.count = 0;
    Fail(Corrupt("bad block impacts"));
  }
}

bool PostingCursor::ShallowSeek(uint32_t target) {
  if (!status_.ok()) return false;
  if (!skip_valid_ && skip_.index == 0 && !ReadSkip()) return false;
  while (skip_valid_ && skip_.last_doc < target) {
    if (!ReadSkip()) return false;
  }
  return skip_valid_;
}

void PostingCursor::DecodeBlock() {
  const uint32_t remaining_docs = header_.df - skip_.index * codec::kBlockSize;
  count_ = std::min<uint32_t>(codec::kBlockSize, remaining_docs);
  if (header_.df <= skip_.index * codec::kBlockSize) {
    Fail(Corrupt("more blocks than postings"));
    return;
  }
  absl::string_view in = data_.substr(skip_.data_offset, skip_.data_length);
  absl::Status status = codec::DecodeDocBlock(&in, skip_.base, count_, docs_);
  if (!status.ok()) {
    Fail(std::move(status));
    return;
  }
  if (docs_[count_ - 1] != skip_.last_doc) {
    Fail(Corrupt("block does not end where its skip entry says"));
    return;
  }
  decoded_block_ = skip_.index;
  freq_bytes_ = in;
  freqs_ready_ = header_.kind != PostingsKind::kText;
  index_ = 0;
  doc_ = docs_[0];
}

void PostingCursor::DecodeFreqs() {
  absl::string_view in = freq_bytes_;
  absl::Status status = codec::DecodeFreqBlock(&in, count_, tf_body_);
  if (status.ok()) status = codec::DecodeFreqBlock(&in, count_, tf_title_);
  if (!status.ok()) {
    Fail(std::move(status));
    for (uint32_t i = 0; i < count_; ++i) tf_title_[i] = tf_body_[i] = 0;
  } else {
    for (uint32_t i = 0; i < count_; ++i) {
      --tf_title_[i];
      --tf_body_[i];
    }
  }
  freqs_ready_ = true;
}

void PostingCursor::Next() {
  if (doc_ == kNoMoreDocs) return;
  if (started_ && index_ + 1 < count_) {
    ++index_;
    doc_ = docs_[index_];
    if (doc_ >= end_) doc_ = kNoMoreDocs;
    return;
  }
  SeekTo(started_ ? doc_ + 1 : begin_);
}

uint32_t PostingCursor::FirstAtLeast(uint32_t from, uint32_t target) const {
#if defined(__SSE2__)
  // Four doc numbers at a time: a seek usually moves a few postings, and a
  // loop over one posting at a time mispredicts its exit on nearly every
  // seek (it took a fifth of a conjunction's time). Doc numbers are below
  // 2^31 (segments hold far fewer documents), so the signed compare orders
  // them. Lanes past the block's last posting hold stale values, but the
  // answer comes first: the block's last doc is at least `target`.
  const __m128i bar = _mm_set1_epi32(static_cast<int>(target));
  for (uint32_t i = from;; i += 4) {
    const __m128i docs =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(docs_ + i));
    const int below =
        _mm_movemask_ps(_mm_castsi128_ps(_mm_cmplt_epi32(docs, bar)));
    if (below != 0xF) {
      return i + static_cast<uint32_t>(
                     std::countr_one(static_cast<unsigned>(below)));
    }
  }
#else
  uint32_t i = from;
  while (docs_[i] < target) ++i;
  return i;
#endif
}

void PostingCursor::SeekTo(uint32_t target) {
  if (doc_ == kNoMoreDocs) return;
  if (started_ && target <= doc_) return;
  started_ = true;
  if (target >= end_) {
    doc_ = kNoMoreDocs;
    return;
  }
  target = std::max(target, begin_);
  if (decoded_block_ != kNoMoreDocs && decoded_block_ == skip_.index &&
      skip_valid_ && target <= skip_.last_doc) {
    // Within the decoded block.
    index_ = FirstAtLeast(index_, target);
    doc_ = docs_[index_];
  } else {
    if (!ShallowSeek(target)) {
      doc_ = kNoMoreDocs;
      return;
    }
    DecodeBlock();
    if (doc_ == kNoMoreDocs) return;
    index_ = FirstAtLeast(0, target);
    doc_ = docs_[index_];
  }
  if (doc_ >= end_) doc_ = kNoMoreDocs;
}

std::string PositionsChunkSuffix(uint32_t chunk) {
  std::string suffix(1, '\0');
  codec::PutBigEndian32(&suffix, chunk);
  return suffix;
}

absl::Status PositionsReader::Init(absl::string_view chunk0, ChunkLoader load) {
  *this = PositionsReader();
  SIFT_RETURN_IF_ERROR(InitChunk(chunk0, 0));
  whole_ = num_blocks_ > kPositionBlocksPerChunk;
  load_ = std::move(load);
  return absl::OkStatus();
}

absl::Status PositionsReader::InitChunk(absl::string_view value,
                                        uint32_t first_block) {
  uint32_t lengths_length = 0;
  if (!GetVarint32(&value, &num_blocks_) ||
      !GetVarint32(&value, &lengths_length) || lengths_length > value.size()) {
    return absl::DataLossError("corrupt positions: truncated header");
  }
  lengths_ = value.substr(0, lengths_length);
  data_ = value.substr(lengths_length);
  first_block_ = first_block;
  block_ = 0;
  block_offset_ = 0;
  block_length_ = 0;
  have_block_ = false;
  next_index_ = 0;
  next_offset_ = 0;
  return absl::OkStatus();
}

namespace {

// Drops `n` varints from the front of `*in` without decoding them; false
// when the bytes end first. Reaching a posting deep in a block skips the
// positions of every posting before it, which is most of the work of
// reading positions for a few chosen documents (phrases, proximity): so
// eight bytes at a time, counting the bytes that end a varint (high bit
// clear). While at least eight varints remain, a whole word never
// overshoots: it holds at most eight ends, and only when it holds exactly
// eight does it end on one.
bool SkipVarints(absl::string_view* in, uint64_t n) {
  constexpr uint64_t kHighBits = 0x8080808080808080ull;
  const char* p = in->data();
  const char* const end = p + in->size();
  while (n >= 8 && end - p >= 8) {
    uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    // The ends as one bit per byte, summed into the top byte by the
    // multiply: the build targets CPUs without a popcount instruction.
    n -= (((~word & kHighBits) >> 7) * 0x0101010101010101ull) >> 56;
    p += 8;
  }
  for (; n > 0; ++p) {
    if (p == end) return false;
    if ((static_cast<uint8_t>(*p) & 0x80) == 0) --n;
  }
  in->remove_prefix(static_cast<size_t>(p - in->data()));
  return true;
}

}  // namespace

absl::Status PositionsReader::Seek(uint32_t block, uint32_t index,
                                   const uint32_t* tf_title,
                                   const uint32_t* tf_body,
                                   absl::string_view* in) {
  if (!whole_ && block / kPositionBlocksPerChunk != chunk_) {
    const uint32_t chunk = block / kPositionBlocksPerChunk;
    if (chunk < chunk_ || !load_) {
      return absl::DataLossError("corrupt positions: block out of range");
    }
    absl::StatusOr<absl::string_view> value = load_(chunk);
    if (absl::IsNotFound(value.status())) {
      return absl::DataLossError(
          absl::StrCat("corrupt positions: no chunk ", chunk));
    }
    SIFT_RETURN_IF_ERROR(value.status());
    SIFT_RETURN_IF_ERROR(InitChunk(*value, chunk * kPositionBlocksPerChunk));
    chunk_ = chunk;
  }
  block -= first_block_;
  if (block >= num_blocks_ || (have_block_ && block < block_)) {
    return absl::DataLossError("corrupt positions: block out of range");
  }
  while (!have_block_ || block_ < block) {
    if (have_block_) {
      block_offset_ += block_length_;
      ++block_;
    }
    if (!GetVarint32(&lengths_, &block_length_) ||
        block_length_ > data_.size() - block_offset_) {
      return absl::DataLossError("corrupt positions: truncated block table");
    }
    have_block_ = true;
    next_index_ = 0;
    next_offset_ = 0;
  }
  *in = data_.substr(block_offset_, block_length_);
  uint32_t first = 0;
  if (index >= next_index_) {
    first = next_index_;
    in->remove_prefix(next_offset_);
  }
  uint64_t skipped = 0;
  for (uint32_t i = first; i < index; ++i) {
    skipped += uint64_t{tf_title[i]} + tf_body[i];
  }
  if (!SkipVarints(in, skipped)) {
    return absl::DataLossError("corrupt positions: truncated block");
  }
  return absl::OkStatus();
}

absl::Status PositionsReader::Read(uint32_t block, uint32_t index,
                                   const uint32_t* tf_title,
                                   const uint32_t* tf_body,
                                   std::vector<uint32_t>* title,
                                   std::vector<uint32_t>* body) {
  absl::string_view in;
  SIFT_RETURN_IF_ERROR(Seek(block, index, tf_title, tf_body, &in));
  // Decoded through a pointer into vectors sized once: phrases and the
  // proximity bonus read positions for every candidate.
  const char* p = in.data();
  const char* const limit = p + in.size();
  auto decode = [&p, limit](uint32_t n, std::vector<uint32_t>* out) {
    // Each position takes a byte at least: a corrupt frequency fails here
    // rather than size a vector after it.
    if (n > static_cast<size_t>(limit - p)) return false;
    out->resize(n);
    uint32_t position = 0;
    for (uint32_t k = 0; k < n; ++k) {
      uint32_t delta = 0;
      p = codec::GetVarint32Ptr(p, limit, &delta);
      if (p == nullptr) return false;
      position = k == 0 ? delta : position + delta;
      (*out)[k] = position;
    }
    return true;
  };
  if (!decode(tf_title[index], title) || !decode(tf_body[index], body)) {
    title->clear();
    body->clear();
    return absl::DataLossError("corrupt positions: truncated block");
  }
  in.remove_prefix(static_cast<size_t>(p - in.data()));
  next_index_ = index + 1;
  next_offset_ = block_length_ - static_cast<uint32_t>(in.size());
  return absl::OkStatus();
}

absl::Status PositionsReader::ReadRaw(uint32_t block, uint32_t index,
                                      const uint32_t* tf_title,
                                      const uint32_t* tf_body,
                                      absl::string_view* encoded) {
  absl::string_view in;
  SIFT_RETURN_IF_ERROR(Seek(block, index, tf_title, tf_body, &in));
  const absl::string_view start = in;
  if (!SkipVarints(&in, tf_title[index] + tf_body[index])) {
    return absl::DataLossError("corrupt positions: truncated block");
  }
  *encoded = start.substr(0, start.size() - in.size());
  next_index_ = index + 1;
  next_offset_ = block_length_ - static_cast<uint32_t>(in.size());
  return absl::OkStatus();
}

}  // namespace sift::storage::segment
