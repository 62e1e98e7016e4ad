#include "common/codec/block_codec.h"

#include <array>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/codec/bitpack.h"
#include "common/codec/internal/bitpack_kernels.h"
#include "common/codec/internal/block_encoder.h"
#include "common/codec/varint.h"
#include "common/status/status_macros.h"

namespace sift::codec {
namespace {

using internal::GapsToDocs128;
using internal::UnpackOp;
using internal::UnpackOp128;

// Header byte of a full block: the bit width in the low bits, and this flag
// when an exception count and exceptions follow.
constexpr unsigned char kExceptionsFlag = 0x80;

#if defined(__GNUC__)
#define SIFT_CODEC_COLD __attribute__((cold, noinline))
#define SIFT_CODEC_INLINE inline __attribute__((always_inline))
#else
#define SIFT_CODEC_COLD
#define SIFT_CODEC_INLINE inline
#endif

// Errors are built out of line so that the decoders' hot paths stay small.
template <class... Args>
SIFT_CODEC_COLD absl::Status Corrupt(const Args&... args) {
  return absl::DataLossError(absl::StrCat("corrupt posting block: ", args...));
}

SIFT_CODEC_COLD absl::Status BadBlockSize(absl::string_view what, size_t n) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " must hold 1 to ", kBlockSize, " postings, got ", n));
}

SIFT_CODEC_COLD absl::Status BadDocs(uint32_t base,
                                     absl::Span<const uint32_t> docs) {
  if (docs[0] < base) {
    return absl::InvalidArgumentError(
        absl::StrCat("docs[0] = ", docs[0], " is below the block base ", base));
  }
  size_t i = 1;
  while (docs[i] > docs[i - 1]) ++i;
  return absl::InvalidArgumentError(
      absl::StrCat("docs must be strictly increasing, but docs[", i,
                   "] = ", docs[i], " follows ", docs[i - 1]));
}

SIFT_CODEC_COLD absl::Status BadFreqs(absl::Span<const uint32_t> freqs) {
  size_t i = 0;
  while (freqs[i] != 0) ++i;
  return absl::InvalidArgumentError(
      absl::StrCat("freqs[", i, "] is 0; a posting's frequency is at least 1"));
}

// The stored values of a doc block, gaps minus one, and their bit width.
// The checks are gathered and tested after the loop, which then has no
// branch.
absl::Status DocValues(uint32_t base, absl::Span<const uint32_t> docs,
                       uint32_t* values, int* width) {
  bool ordered = docs[0] >= base;
  uint32_t all = values[0] = docs[0] - base;
  for (size_t i = 1; i < docs.size(); ++i) {
    ordered &= docs[i] > docs[i - 1];
    all |= values[i] = docs[i] - docs[i - 1] - 1;
  }
  if (!ordered) return BadDocs(base, docs);
  *width = static_cast<int>(std::bit_width(all));
  return absl::OkStatus();
}

// The stored values of a frequency block: frequencies minus one.
absl::Status FreqValues(absl::Span<const uint32_t> freqs, uint32_t* values,
                        int* width) {
  bool positive = true;
  uint32_t all = 0;
  for (size_t i = 0; i < freqs.size(); ++i) {
    positive &= freqs[i] != 0;
    all |= values[i] = freqs[i] - 1;
  }
  if (!positive) return BadFreqs(freqs);
  *width = static_cast<int>(std::bit_width(all));
  return absl::OkStatus();
}

void AppendVarints(const uint32_t* values, size_t n, std::string* out) {
  char buf[kBlockSize * kMaxVarint32Bytes];
  char* p = buf;
  for (size_t i = 0; i < n; ++i) p = EncodeVarint32(p, values[i]);
  out->append(buf, static_cast<size_t>(p - buf));
}

void AppendPacked(const uint32_t* values, int width, std::string* out) {
  const size_t start = out->size();
  out->resize(start + 1 + PackedBytes(width));
  (*out)[start] = static_cast<char>(width);
  Pack128(values, width, out->data() + start + 1);
}

// Bit packing at the width that minimises the block's size, with the values
// that do not fit stored apart as exceptions: "patched frame of reference"
// (Zukowski et al., "Super-scalar RAM-CPU cache compression", 2006), so that
// one outlier does not widen all 128. An exception is two bytes, its
// position and its bits above the width, which bounds the width at 8 bits
// below the widest value but keeps patching a short loop without branches.
void AppendPatched(const uint32_t* values, int max_width, int max_exceptions,
                   std::string* out) {
  int best_width = max_width;
  size_t best_bytes = PackedBytes(max_width);
  // Lowering the width turns the values wider than it into exceptions, more
  // of them at each step. Ties keep the wider, exception-free layout: it
  // decodes faster.
  for (int width = max_width - 1;
       max_exceptions > 0 && width >= 0 && width >= max_width - 8; --width) {
    size_t exceptions = 0;
    for (size_t i = 0; i < kBlockSize; ++i) {
      exceptions += (values[i] >> width) != 0;
    }
    if (exceptions > static_cast<size_t>(max_exceptions)) break;
    const size_t bytes = PackedBytes(width) + 1 + 2 * exceptions;
    if (bytes < best_bytes) {
      best_bytes = bytes;
      best_width = width;
    }
  }
  if (best_width == max_width) {
    AppendPacked(values, max_width, out);
    return;
  }
  // Header, count, packed bits, positions, high bits: a reader knows the
  // block's layout and size from its first two bytes.
  const size_t start = out->size();
  out->resize(start + 2 + PackedBytes(best_width));
  Pack128(values, best_width, out->data() + start + 2);
  char positions[kBlockSize];
  char highs[kBlockSize];
  size_t count = 0;
  for (size_t i = 0; i < kBlockSize; ++i) {
    const uint32_t high = values[i] >> best_width;
    if (high != 0) {
      positions[count] = static_cast<char>(i);
      highs[count] = static_cast<char>(high);
      ++count;
    }
  }
  (*out)[start] = static_cast<char>(best_width | kExceptionsFlag);
  (*out)[start + 1] = static_cast<char>(count);
  out->append(positions, count);
  out->append(highs, count);
}

// Where a full block's parts lie, once its header is checked.
struct FullBlock {
  int width = 0;
  const char* packed = nullptr;
  size_t exceptions = 0;
  const unsigned char* positions = nullptr;
  const unsigned char* highs = nullptr;
  const char* end = nullptr;
};

SIFT_CODEC_INLINE absl::Status ParseFullBlock(const char* p, const char* limit,
                                              FullBlock* block) {
  if (p == limit) [[unlikely]] {
    return Corrupt("no header byte");
  }
  const auto header = static_cast<unsigned char>(*p++);
  const bool has_exceptions = (header & kExceptionsFlag) != 0;
  block->width = header & ~kExceptionsFlag;
  if (has_exceptions) {
    if (p == limit) [[unlikely]] {
      return Corrupt("no exception count");
    }
    block->exceptions = static_cast<unsigned char>(*p++);
    if (block->exceptions - 1 >= kBlockSize) [[unlikely]] {
      return Corrupt("exception count ", block->exceptions, " is not in 1..",
                     kBlockSize);
    }
    if (block->width >= kMaxBitWidth) [[unlikely]] {
      return Corrupt("bit width ", block->width,
                     " leaves no room for exceptions");
    }
  } else if (block->width > kMaxBitWidth) [[unlikely]] {
    return Corrupt("bit width ", block->width, " exceeds ", kMaxBitWidth);
  }
  const size_t size = PackedBytes(block->width) + 2 * block->exceptions;
  if (static_cast<size_t>(limit - p) < size) [[unlikely]] {
    return Corrupt("truncated: bit width ", block->width, " and ",
                   block->exceptions, " exceptions need ", size,
                   " more bytes, ", limit - p, " left");
  }
  block->packed = p;
  block->positions =
      reinterpret_cast<const unsigned char*>(p + PackedBytes(block->width));
  block->highs = block->positions + block->exceptions;
  block->end = p + size;
  return absl::OkStatus();
}

// Calls patch(position, high bits shifted into place) for each exception of
// `block`. Positions must increase and stay below 128, high bits be nonzero
// and fit in 32 bits with the low ones. The checks are gathered and tested
// once at the end, so that the loop has no branch but its own; until then
// positions are masked to stay inside the block.
template <class Patch>
SIFT_CODEC_INLINE absl::Status ApplyExceptions(const FullBlock& block,
                                               Patch&& patch) {
  const int width = block.width;
  bool invalid = false;
  int previous = -1;
  for (size_t i = 0; i < block.exceptions; ++i) {
    const int position = block.positions[i];
    const uint32_t high = block.highs[i];
    invalid |= (position <= previous) |
               (position >= static_cast<int>(kBlockSize)) | (high == 0) |
               ((uint64_t{high} >> (kMaxBitWidth - width)) != 0);
    previous = position;
    patch(position & (kBlockSize - 1), high << width);
  }
  if (invalid) [[unlikely]] {
    return Corrupt(
        "exception positions must increase and stay below 128, their high "
        "bits be nonzero and fit in 32 bits");
  }
  return absl::OkStatus();
}

absl::Status DecodeDocVarints(const char* p, const char* limit, uint32_t base,
                              size_t n, uint32_t* out, const char** end) {
  uint64_t doc = uint64_t{base} - 1;
  for (size_t i = 0; i < n; ++i) {
    uint32_t gap;
    p = GetVarint32Ptr(p, limit, &gap);
    if (p == nullptr) [[unlikely]] {
      return Corrupt("gap ", i, " of ", n, " is truncated or malformed");
    }
    doc += uint64_t{gap} + 1;
    out[i] = static_cast<uint32_t>(doc);
  }
  if (doc > UINT32_MAX) [[unlikely]] {
    return Corrupt("doc number ", doc, " exceeds 32 bits");
  }
  *end = p;
  return absl::OkStatus();
}

absl::Status DecodeFreqVarints(const char* p, const char* limit, size_t n,
                               uint32_t* out, const char** end) {
  bool wrapped = false;
  for (size_t i = 0; i < n; ++i) {
    uint32_t value;
    p = GetVarint32Ptr(p, limit, &value);
    if (p == nullptr) [[unlikely]] {
      return Corrupt("frequency ", i, " of ", n, " is truncated or malformed");
    }
    out[i] = value + 1;
    wrapped |= out[i] == 0;
  }
  if (wrapped) [[unlikely]] {
    return Corrupt("frequency exceeds 32 bits");
  }
  *end = p;
  return absl::OkStatus();
}

// After a fused gap decode, whose sums wrap modulo 2^32: a doc number that
// wrapped shows as one not above its predecessor (or below base).
absl::Status CheckIncreasing(uint32_t base, const uint32_t* docs) {
  bool ordered = docs[0] >= base;
  for (size_t i = 1; i < kBlockSize; ++i) ordered &= docs[i] > docs[i - 1];
  if (!ordered) return Corrupt("doc numbers exceed 32 bits");
  return absl::OkStatus();
}
}  // namespace

namespace internal {

absl::Status EncodeDocBlockWithExceptions(uint32_t base,
                                          absl::Span<const uint32_t> docs,
                                          int max_exceptions,
                                          std::string* out) {
  if (docs.size() - 1 >= kBlockSize) {
    return BadBlockSize("a doc block", docs.size());
  }
  uint32_t values[kBlockSize];
  int width = 0;
  SIFT_RETURN_IF_ERROR(DocValues(base, docs, values, &width));
  if (docs.size() < kBlockSize) {
    AppendVarints(values, docs.size(), out);
  } else {
    AppendPatched(values, width, max_exceptions, out);
  }
  return absl::OkStatus();
}

absl::Status EncodeFreqBlockWithExceptions(absl::Span<const uint32_t> freqs,
                                           int max_exceptions,
                                           std::string* out) {
  if (freqs.size() - 1 >= kBlockSize) {
    return BadBlockSize("a frequency block", freqs.size());
  }
  uint32_t values[kBlockSize];
  int width = 0;
  SIFT_RETURN_IF_ERROR(FreqValues(freqs, values, &width));
  if (freqs.size() < kBlockSize) {
    AppendVarints(values, freqs.size(), out);
  } else {
    AppendPatched(values, width, max_exceptions, out);
  }
  return absl::OkStatus();
}

}  // namespace internal

absl::Status DecodeDocBlock(absl::string_view* input, uint32_t base, size_t n,
                            uint32_t* out) {
  if (n - 1 >= kBlockSize) [[unlikely]] {
    return BadBlockSize("a doc block", n);
  }
  const char* p = input->data();
  const char* limit = p + input->size();
  if (n < kBlockSize) {
    const char* end = nullptr;
    SIFT_RETURN_IF_ERROR(DecodeDocVarints(p, limit, base, n, out, &end));
    input->remove_prefix(static_cast<size_t>(end - p));
    return absl::OkStatus();
  }
  FullBlock block;
  SIFT_RETURN_IF_ERROR(ParseFullBlock(p, limit, &block));
  // The largest the last doc number can be, computed without wrapping:
  // base - 1, plus 128 gaps of at most 2^width - 1 plus one each, plus the
  // exceptions' high bits.
  uint64_t bound = uint64_t{base} + (uint64_t{kBlockSize} << block.width) - 1;
  if (block.exceptions == 0) {
    UnpackOp128(UnpackOp::kGaps, block.packed, block.width, base, out);
  } else {
    // Exceptions patch the gaps, so the prefix sum comes after them.
    UnpackOp128(UnpackOp::kPlain, block.packed, block.width, base, out);
    SIFT_RETURN_IF_ERROR(
        ApplyExceptions(block, [&](size_t position, uint32_t high) {
          out[position] |= high;
          bound += high;
        }));
    GapsToDocs128(base, out);
  }
  if (bound > UINT32_MAX) [[unlikely]] {
    SIFT_RETURN_IF_ERROR(CheckIncreasing(base, out));
  }
  input->remove_prefix(static_cast<size_t>(block.end - p));
  return absl::OkStatus();
}

absl::Status DecodeFreqBlock(absl::string_view* input, size_t n,
                             uint32_t* out) {
  if (n - 1 >= kBlockSize) [[unlikely]] {
    return BadBlockSize("a frequency block", n);
  }
  const char* p = input->data();
  const char* limit = p + input->size();
  if (n < kBlockSize) {
    const char* end = nullptr;
    SIFT_RETURN_IF_ERROR(DecodeFreqVarints(p, limit, n, out, &end));
    input->remove_prefix(static_cast<size_t>(end - p));
    return absl::OkStatus();
  }
  FullBlock block;
  SIFT_RETURN_IF_ERROR(ParseFullBlock(p, limit, &block));
  UnpackOp128(UnpackOp::kPlusOne, block.packed, block.width, 0, out);
  if (block.exceptions != 0) {
    // The one already added and the high bits add up the same in either
    // order.
    bool wrapped = false;
    SIFT_RETURN_IF_ERROR(
        ApplyExceptions(block, [&](size_t position, uint32_t high) {
          out[position] += high;
          wrapped |= out[position] == 0;
        }));
    if (wrapped) [[unlikely]] {
      return Corrupt("frequency exceeds 32 bits");
    }
  } else if (block.width == kMaxBitWidth) [[unlikely]] {
    // Only a stored 2^32 - 1 wraps to 0 when one is added back.
    bool wrapped = false;
    for (size_t i = 0; i < kBlockSize; ++i) wrapped |= out[i] == 0;
    if (wrapped) return Corrupt("frequency exceeds 32 bits");
  }
  input->remove_prefix(static_cast<size_t>(block.end - p));
  return absl::OkStatus();
}

absl::Status EncodeDocBlock(uint32_t base, absl::Span<const uint32_t> docs,
                            std::string* out) {
  return internal::EncodeDocBlockWithExceptions(
      base, docs, internal::kDocBlockMaxExceptions, out);
}

absl::Status EncodeFreqBlock(absl::Span<const uint32_t> freqs,
                             std::string* out) {
  return internal::EncodeFreqBlockWithExceptions(
      freqs, internal::kFreqBlockMaxExceptions, out);
}

}  // namespace sift::codec
