#ifndef SIFT_COMMON_CODEC_BITPACK_H_
#define SIFT_COMMON_CODEC_BITPACK_H_

#include <cstddef>
#include <cstdint>

namespace sift::codec {

// Binary packing of exactly 128 uint32 values at one bit width b (0..32)
// into 16 * b bytes, in the four-lane layout of SIMD-BP128 (Lemire and
// Boytsov, "Decoding billions of integers per second through
// vectorization", 2015): value i belongs to lane i % 4; each lane packs its
// 32 values, lowest bits first, into b little-endian 32-bit words; packed
// word k of lane l is stored at word 4 * k + l. The layout lets one SSE2
// instruction shift and mask four values at once, and a portable scalar
// loop reads it just as well, so the bytes are the same on every machine.
//
// The packed bytes need no alignment. All functions are thread-compatible
// (no state); they never fail given valid arguments, and check none.

inline constexpr size_t kPackedValues = 128;
inline constexpr int kMaxBitWidth = 32;

// Bytes taken by 128 values packed at `bit_width`.
constexpr size_t PackedBytes(int bit_width) {
  return 16 * static_cast<size_t>(bit_width);
}

// Smallest bit width that holds every value of in[0, n): 0 when all are 0.
int MaxBitWidth(const uint32_t* in, size_t n);

// Packs in[0, 128) at `bit_width` (0..32) into PackedBytes(bit_width) bytes
// at `out`. Bits of a value above `bit_width` are dropped.
void Pack128(const uint32_t* in, int bit_width, char* out);

// Reads PackedBytes(bit_width) bytes at `in` and writes the 128 values to
// out[0, 128).
void Unpack128(const char* in, int bit_width, uint32_t* out);

}  // namespace sift::codec

#endif  // SIFT_COMMON_CODEC_BITPACK_H_
