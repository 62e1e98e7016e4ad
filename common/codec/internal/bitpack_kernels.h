#ifndef SIFT_COMMON_CODEC_INTERNAL_BITPACK_KERNELS_H_
#define SIFT_COMMON_CODEC_INTERNAL_BITPACK_KERNELS_H_

// The implementations behind bitpack.h, for the block codec, the tests (which
// check every kernel against the simple one) and the benchmarks (which
// measure them against each other). Not part of the public interface.

#include <cstdint>

namespace sift::codec::internal {

// What an unpack writes for packed value v[i]. Fusing the transform into the
// unpack saves a second pass over the block on the query hot path.
enum class UnpackOp {
  kPlain,    // out[i] = v[i]
  kPlusOne,  // out[i] = v[i] + 1 (frequencies are stored minus one)
  kGaps,     // out[i] = out[i - 1] + v[i] + 1, with out[-1] = base - 1
             // (doc numbers stored as gaps minus one), modulo 2^32
};

enum class Kernel {
  // Loops over runtime bit widths, shifts computed per value: the reference
  // the others are tested against, and the fallback for compilers without
  // vector extensions.
  kGeneric,
  // A routine per bit width, every shift a constant, on four-lane vectors.
  kVector,
};

// True when `kernel` is compiled into this build.
bool KernelAvailable(Kernel kernel);

// The kernel Pack128/Unpack128 and the block codec use.
Kernel DefaultKernel();

// As Pack128/Unpack128, with a chosen kernel (which must be available).
void PackWith(Kernel kernel, const uint32_t* in, int bit_width, char* out);
void UnpackWith(Kernel kernel, UnpackOp op, const char* in, int bit_width,
                uint32_t base, uint32_t* out);

// Unpack128 with `op` fused, using the default kernel.
void UnpackOp128(UnpackOp op, const char* in, int bit_width, uint32_t base,
                 uint32_t* out);

// values[i] = values[i - 1] + values[i] + 1 over 128 values, with
// values[-1] = base - 1: the kGaps transform as a separate pass.
void GapsToDocs128(uint32_t base, uint32_t* values);

}  // namespace sift::codec::internal

#endif  // SIFT_COMMON_CODEC_INTERNAL_BITPACK_KERNELS_H_
