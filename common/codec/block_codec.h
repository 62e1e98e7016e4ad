#ifndef SIFT_COMMON_CODEC_BLOCK_CODEC_H_
#define SIFT_COMMON_CODEC_BLOCK_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sift::codec {

// Posting blocks: up to 128 internal doc numbers of one term, or their term
// frequencies, as bytes. A term's postings are cut into blocks of
// kBlockSize; only its last block may be shorter. The caller keeps, beside
// the blocks, what the decoders need back: how many postings a block holds
// and, for doc blocks, its base (see EncodeDocBlock), which is the previous
// block's last doc number plus one, usually kept as per-block metadata for
// skipping anyway.
//
// A full block is bit-packed (bitpack.h) at one bit width, with the values
// too wide for it stored apart as exceptions; a partial block is varints.
// docs/storage-format.md gives the byte layout. Blocks are self-delimiting:
// a decoder consumes exactly the bytes of one block, so a doc block and its
// frequency block can sit back to back.
//
// All functions are thread-compatible (no state). Decoders never read
// outside their input and never write past out[n - 1], whatever the bytes.

inline constexpr size_t kBlockSize = 128;

// Appends to `*out` the block of doc numbers `docs` (1 to kBlockSize of
// them), which must be strictly increasing and not below `base`. Stored are
// the gaps minus one: docs[0] - base, then docs[i] - docs[i - 1] - 1, so
// that a run of consecutive doc numbers costs nothing. A term's first block
// has base 0, every later one the previous block's last doc number plus
// one. INVALID_ARGUMENT, with `*out` unchanged, when `docs` is empty, longer
// than kBlockSize, not strictly increasing or starts below `base`.
[[nodiscard]] absl::Status EncodeDocBlock(uint32_t base,
                                          absl::Span<const uint32_t> docs,
                                          std::string* out);

// Appends to `*out` the block of term frequencies `freqs` (1 to kBlockSize
// of them), each at least 1; stored minus one. INVALID_ARGUMENT, with `*out`
// unchanged, when `freqs` is empty, longer than kBlockSize or holds a 0.
[[nodiscard]] absl::Status EncodeFreqBlock(absl::Span<const uint32_t> freqs,
                                           std::string* out);

// Decodes the doc block of `n` postings (1 to kBlockSize) at the front of
// `*input`, encoded with the same `base`, into out[0, n), and removes its
// bytes from `*input`. On success the doc numbers are strictly increasing
// and at least `base`, whatever the input bytes were. DATA_LOSS ("corrupt
// posting block: ...") when the bytes are truncated or not a valid block,
// INVALID_ARGUMENT when `n` is out of range; on error `*input` is
// unchanged and out[0, n) unspecified.
[[nodiscard]] absl::Status DecodeDocBlock(absl::string_view* input,
                                          uint32_t base, size_t n,
                                          uint32_t* out);

// Decodes the frequency block of `n` postings at the front of `*input` into
// out[0, n), each at least 1, as DecodeDocBlock does.
[[nodiscard]] absl::Status DecodeFreqBlock(absl::string_view* input, size_t n,
                                           uint32_t* out);

}  // namespace sift::codec

#endif  // SIFT_COMMON_CODEC_BLOCK_CODEC_H_
