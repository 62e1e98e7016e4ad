#ifndef SIFT_COMMON_CODEC_INTERNAL_BLOCK_ENCODER_H_
#define SIFT_COMMON_CODEC_INTERNAL_BLOCK_ENCODER_H_

// The block encoders with their exception budget as a parameter, for the
// benchmarks that chose the budgets block_codec.cc uses. Not part of the
// public interface.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace sift::codec::internal {

// The most exceptions EncodeDocBlock and EncodeFreqBlock put in a full
// block. The format allows up to 128 in either kind of block, and the
// decoders take them; the encoders use fewer because each exception costs
// decoding time (see docs/storage-format.md for the measurements).
inline constexpr int kDocBlockMaxExceptions = 0;
inline constexpr int kFreqBlockMaxExceptions = 7;

// EncodeDocBlock / EncodeFreqBlock with at most `max_exceptions` (0 to 128)
// exceptions per full block.
absl::Status EncodeDocBlockWithExceptions(uint32_t base,
                                          absl::Span<const uint32_t> docs,
                                          int max_exceptions, std::string* out);
absl::Status EncodeFreqBlockWithExceptions(absl::Span<const uint32_t> freqs,
                                           int max_exceptions,
                                           std::string* out);

}  // namespace sift::codec::internal

#endif  // SIFT_COMMON_CODEC_INTERNAL_BLOCK_ENCODER_H_
