#include "common/codec/bitpack.h"

#include <array>
#include <bit>
#include <cstring>
#include <utility>

#include "common/codec/internal/bitpack_kernels.h"

// The on-disk words are little-endian; reading them with plain loads is only
// right on a little-endian machine.
static_assert(std::endian::native == std::endian::little,
              "the posting codec assumes a little-endian machine");

// The vector kernels use the GCC/Clang vector extensions, which compile to
// SSE2 on x86-64 (part of its baseline, so no runtime dispatch), NEON on
// arm64 and plain code elsewhere; they match hand-written SSE2 intrinsics
// instruction for instruction. Other compilers get the generic loops.
#if defined(__GNUC__)
#define SIFT_CODEC_VECTOR_KERNELS 1
#define SIFT_CODEC_INLINE inline __attribute__((always_inline))
#else
#define SIFT_CODEC_VECTOR_KERNELS 0
#define SIFT_CODEC_INLINE inline
#endif

namespace sift::codec {
namespace internal {
namespace {

uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

void Store32(char* p, uint32_t v) { std::memcpy(p, &v, sizeof(v)); }

uint32_t WidthMask(int bit_width) {
  return bit_width == 32 ? ~uint32_t{0} : (uint32_t{1} << bit_width) - 1;
}

void PackGeneric(const uint32_t* in, int bit_width, char* out) {
  if (bit_width == 0) return;
  const uint32_t mask = WidthMask(bit_width);
  std::memset(out, 0, PackedBytes(bit_width));
  for (int lane = 0; lane < 4; ++lane) {
    for (int j = 0; j < 32; ++j) {
      const uint32_t v = in[4 * j + lane] & mask;
      const int bit = j * bit_width;
      char* p = out + 16 * (bit / 32) + 4 * lane;
      const int shift = bit % 32;
      Store32(p, Load32(p) | (v << shift));
      if (shift + bit_width > 32) {
        Store32(p + 16, Load32(p + 16) | (v >> (32 - shift)));
      }
    }
  }
}

void UnpackGeneric(UnpackOp op, const char* in, int bit_width, uint32_t base,
                   uint32_t* out) {
  if (bit_width == 0) {
    std::memset(out, 0, kPackedValues * sizeof(uint32_t));
  } else {
    const uint32_t mask = WidthMask(bit_width);
    for (int lane = 0; lane < 4; ++lane) {
      for (int j = 0; j < 32; ++j) {
        const int bit = j * bit_width;
        const char* p = in + 16 * (bit / 32) + 4 * lane;
        const int shift = bit % 32;
        uint32_t v = Load32(p) >> shift;
        if (shift + bit_width > 32) v |= Load32(p + 16) << (32 - shift);
        out[4 * j + lane] = v & mask;
      }
    }
  }
  switch (op) {
    case UnpackOp::kPlain:
      return;
    case UnpackOp::kPlusOne:
      for (size_t i = 0; i < kPackedValues; ++i) ++out[i];
      return;
    case UnpackOp::kGaps:
      GapsToDocs128(base, out);
      return;
  }
}

#if SIFT_CODEC_VECTOR_KERNELS

// Four uint32 lanes: one packed word of each lane, or four consecutive
// values.
typedef uint32_t V __attribute__((vector_size(16)));

SIFT_CODEC_INLINE V Load(const void* p) {
  V v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

SIFT_CODEC_INLINE void Store(void* p, V v) { std::memcpy(p, &v, sizeof(v)); }

SIFT_CODEC_INLINE V Splat(uint32_t a) { return V{a, a, a, a}; }

// Inclusive prefix sum across the lanes.
SIFT_CODEC_INLINE V PrefixSum(V v) {
  const V zero = {0, 0, 0, 0};
  v += __builtin_shufflevector(v, zero, 4, 0, 1, 2);
  return v + __builtin_shufflevector(v, zero, 4, 4, 0, 1);
}

SIFT_CODEC_INLINE V BroadcastLast(V v) {
  return __builtin_shufflevector(v, v, 3, 3, 3, 3);
}

// Calls f(std::integral_constant<int, J>) for J = 0 .. N-1, unrolled, so that
// every shift amount below is a compile-time constant.
template <int N, class F>
SIFT_CODEC_INLINE void Unroll(F&& f) {
  [&]<int... J>(std::integer_sequence<int, J...>) {
    (f(std::integral_constant<int, J>{}), ...);
  }
  (std::make_integer_sequence<int, N>{});
}

// Applies an UnpackOp to values 4j .. 4j+3 and stores them. Put must be
// called for j = 0, 1, ..., 31 in order.
template <UnpackOp kOp>
class Sink {
 public:
  SIFT_CODEC_INLINE Sink(uint32_t base, uint32_t* out)
      : out_(out), carry_(Splat(base - 1)) {}

  SIFT_CODEC_INLINE void Put(int j, V v) {
    if constexpr (kOp == UnpackOp::kPlain) {
      Store(out_ + 4 * j, v);
    } else if constexpr (kOp == UnpackOp::kPlusOne) {
      Store(out_ + 4 * j, v + 1);
    } else {
      // Vectors go in pairs: each is summed on its own and the first's total
      // added to the second before the running total is added to both. The
      // chain from one pair to the next is then one add and one broadcast,
      // where summing vector by vector puts that chain, which bounds the
      // speed, between every two vectors.
      if (j % 2 == 0) {
        pending_ = v;
        return;
      }
      V a = PrefixSum(pending_ + 1);
      V b = PrefixSum(v + 1) + BroadcastLast(a);
      a += carry_;
      b += carry_;
      carry_ = BroadcastLast(b);
      Store(out_ + 4 * (j - 1), a);
      Store(out_ + 4 * j, b);
    }
  }

 private:
  uint32_t* out_;
  V carry_;                   // Every lane: the last doc number stored so far.
  V pending_ = {0, 0, 0, 0};  // The even vector of a pair.
};

template <int B, UnpackOp kOp>
void UnpackKernel(const char* in, uint32_t base, uint32_t* out) {
  Sink<kOp> sink(base, out);
  if constexpr (B == 0) {
    Unroll<32>([&](auto j) { sink.Put(j, Splat(0)); });
  } else if constexpr (B == 32) {
    Unroll<32>([&](auto j) { sink.Put(j, Load(in + 16 * j)); });
  } else {
    const V mask = Splat((uint32_t{1} << B) - 1);
    // `word` always holds packed word (J * B) / 32 of each lane.
    V word = Load(in);
    Unroll<32>([&](auto j) {
      constexpr int J = decltype(j)::value;
      constexpr int kShift = (J * B) % 32;
      constexpr int kWord = (J * B) / 32;
      V v;
      if constexpr (kShift + B < 32) {
        v = (word >> kShift) & mask;
      } else if constexpr (kShift + B == 32) {
        v = word >> kShift;
        if constexpr (J < 31) word = Load(in + 16 * (kWord + 1));
      } else {
        // The value straddles two words.
        const V low = word >> kShift;
        word = Load(in + 16 * (kWord + 1));
        v = (low | (word << (32 - kShift))) & mask;
      }
      sink.Put(J, v);
    });
  }
}

template <int B>
void PackKernel(const uint32_t* in, char* out) {
  if constexpr (B == 32) {
    Unroll<32>([&](auto j) { Store(out + 16 * j, Load(in + 4 * j)); });
  } else if constexpr (B > 0) {
    const V mask = Splat((uint32_t{1} << B) - 1);
    V word = Splat(0);
    Unroll<32>([&](auto j) {
      constexpr int J = decltype(j)::value;
      constexpr int kShift = (J * B) % 32;
      constexpr int kWord = (J * B) / 32;
      const V v = Load(in + 4 * J) & mask;
      if constexpr (kShift == 0) {
        word = v;
      } else {
        word |= v << kShift;
      }
      if constexpr (kShift + B >= 32) {
        Store(out + 16 * kWord, word);
        if constexpr (kShift + B > 32) word = v >> (32 - kShift);
      }
    });
  }
}

using UnpackFn = void (*)(const char*, uint32_t, uint32_t*);
using PackFn = void (*)(const uint32_t*, char*);

// The 33 routines of one kind, indexed by bit width.
template <UnpackOp kOp>
constexpr auto kUnpackFns = []<int... B>(std::integer_sequence<int, B...>) {
  return std::array<UnpackFn, sizeof...(B)>{&UnpackKernel<B, kOp>...};
}
(std::make_integer_sequence<int, kMaxBitWidth + 1>{});

constexpr auto kPackFns = []<int... B>(std::integer_sequence<int, B...>) {
  return std::array<PackFn, sizeof...(B)>{&PackKernel<B>...};
}
(std::make_integer_sequence<int, kMaxBitWidth + 1>{});

void UnpackVector(UnpackOp op, const char* in, int bit_width, uint32_t base,
                  uint32_t* out) {
  switch (op) {
    case UnpackOp::kPlain:
      kUnpackFns<UnpackOp::kPlain>[bit_width](in, base, out);
      return;
    case UnpackOp::kPlusOne:
      kUnpackFns<UnpackOp::kPlusOne>[bit_width](in, base, out);
      return;
    case UnpackOp::kGaps:
      kUnpackFns<UnpackOp::kGaps>[bit_width](in, base, out);
      return;
  }
}

#endif  // SIFT_CODEC_VECTOR_KERNELS

}  // namespace

bool KernelAvailable(Kernel kernel) {
  return kernel == Kernel::kGeneric || SIFT_CODEC_VECTOR_KERNELS;
}

Kernel DefaultKernel() {
  return SIFT_CODEC_VECTOR_KERNELS ? Kernel::kVector : Kernel::kGeneric;
}

void PackWith(Kernel kernel, const uint32_t* in, int bit_width, char* out) {
#if SIFT_CODEC_VECTOR_KERNELS
  if (kernel == Kernel::kVector) {
    kPackFns[bit_width](in, out);
    return;
  }
#endif
  PackGeneric(in, bit_width, out);
}

void UnpackWith(Kernel kernel, UnpackOp op, const char* in, int bit_width,
                uint32_t base, uint32_t* out) {
#if SIFT_CODEC_VECTOR_KERNELS
  if (kernel == Kernel::kVector) {
    UnpackVector(op, in, bit_width, base, out);
    return;
  }
#endif
  UnpackGeneric(op, in, bit_width, base, out);
}

void UnpackOp128(UnpackOp op, const char* in, int bit_width, uint32_t base,
                 uint32_t* out) {
#if SIFT_CODEC_VECTOR_KERNELS
  UnpackVector(op, in, bit_width, base, out);
#else
  UnpackGeneric(op, in, bit_width, base, out);
#endif
}

void GapsToDocs128(uint32_t base, uint32_t* values) {
#if SIFT_CODEC_VECTOR_KERNELS
  Sink<UnpackOp::kGaps> sink(base, values);
  for (int j = 0; j < 32; j += 2) {
    sink.Put(j, Load(values + 4 * j));
    sink.Put(j + 1, Load(values + 4 * j + 4));
  }
#else
  uint32_t doc = base - 1;
  for (size_t i = 0; i < kPackedValues; ++i) values[i] = doc += values[i] + 1;
#endif
}

}  // namespace internal

int MaxBitWidth(const uint32_t* in, size_t n) {
  uint32_t all = 0;
  for (size_t i = 0; i < n; ++i) all |= in[i];
  return static_cast<int>(std::bit_width(all));
}

void Pack128(const uint32_t* in, int bit_width, char* out) {
  internal::PackWith(internal::DefaultKernel(), in, bit_width, out);
}

void Unpack128(const char* in, int bit_width, uint32_t* out) {
  internal::UnpackOp128(internal::UnpackOp::kPlain, in, bit_width, 0, out);
}

}  // namespace sift::codec
