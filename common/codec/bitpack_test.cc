#include "common/codec/bitpack.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/codec/internal/bitpack_kernels.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::codec {
namespace {

using internal::Kernel;
using internal::UnpackOp;
using ::testing::ElementsAreArray;

uint32_t MaxForWidth(int width) {
  return width == 32 ? UINT32_MAX : (uint32_t{1} << width) - 1;
}

std::vector<uint32_t> RandomValues(int width, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> values(kPackedValues);
  for (uint32_t& v : values) v = rng() & MaxForWidth(width);
  return values;
}

// The value sets every width is tried with: random, all zeros, all the
// largest value the width holds, and alternating extremes.
std::vector<std::vector<uint32_t>> Inputs(int width) {
  std::vector<std::vector<uint32_t>> inputs = {
      RandomValues(width, 1), RandomValues(width, 2),
      std::vector<uint32_t>(kPackedValues, 0),
      std::vector<uint32_t>(kPackedValues, MaxForWidth(width))};
  std::vector<uint32_t> alternating(kPackedValues);
  for (size_t i = 0; i < kPackedValues; ++i) {
    alternating[i] = i % 2 == 0 ? MaxForWidth(width) : 0;
  }
  inputs.push_back(alternating);
  return inputs;
}

std::vector<Kernel> AvailableKernels() {
  std::vector<Kernel> kernels;
  for (Kernel k : {Kernel::kGeneric, Kernel::kVector}) {
    if (internal::KernelAvailable(k)) kernels.push_back(k);
  }
  return kernels;
}

TEST(BitpackTest, RoundTripsEveryWidth) {
  for (int width = 0; width <= kMaxBitWidth; ++width) {
    for (const std::vector<uint32_t>& values : Inputs(width)) {
      std::string packed(PackedBytes(width), '\0');
      Pack128(values.data(), width, packed.data());
      std::vector<uint32_t> out(kPackedValues, 0xdeadbeef);
      Unpack128(packed.data(), width, out.data());
      ASSERT_THAT(out, ElementsAreArray(values)) << "width " << width;
    }
  }
}

TEST(BitpackTest, MaxBitWidthIsTheWidthOfTheLargestValue) {
  std::vector<uint32_t> values(kPackedValues, 0);
  EXPECT_EQ(MaxBitWidth(values.data(), values.size()), 0);
  values[77] = 1;
  EXPECT_EQ(MaxBitWidth(values.data(), values.size()), 1);
  values[3] = 255;
  EXPECT_EQ(MaxBitWidth(values.data(), values.size()), 8);
  values[127] = 256;
  EXPECT_EQ(MaxBitWidth(values.data(), values.size()), 9);
  values[0] = UINT32_MAX;
  EXPECT_EQ(MaxBitWidth(values.data(), values.size()), 32);
  // Only the first n values count.
  EXPECT_EQ(MaxBitWidth(values.data() + 1, 5), 8);
}

TEST(BitpackTest, DropsBitsAboveTheWidth) {
  std::vector<uint32_t> values(kPackedValues, 0xffffff05);
  std::string packed(PackedBytes(4), '\0');
  Pack128(values.data(), 4, packed.data());
  std::vector<uint32_t> out(kPackedValues);
  Unpack128(packed.data(), 4, out.data());
  EXPECT_THAT(out, ::testing::Each(5u));
}

TEST(BitpackTest, LayoutIsFourInterleavedLanes) {
  // The on-disk layout is pinned: value i in lane i % 4, lowest bits first,
  // little-endian words. Width 4: lane 0 holds values 0, 4, 8, ... in its
  // first word's nibbles.
  std::vector<uint32_t> values(kPackedValues);
  for (size_t i = 0; i < kPackedValues; ++i) values[i] = i % 16;
  std::string packed(PackedBytes(4), '\0');
  Pack128(values.data(), 4, packed.data());
  // Lane 0, word 0: values 0, 4, 8, 12, 0, 4, 8, 12 → nibbles 0,4,8,c,0,4,8,c.
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x40);
  EXPECT_EQ(static_cast<unsigned char>(packed[1]), 0xc8);
  EXPECT_EQ(static_cast<unsigned char>(packed[2]), 0x40);
  EXPECT_EQ(static_cast<unsigned char>(packed[3]), 0xc8);
  // Lane 1, word 0: values 1, 5, 9, 13, ...
  EXPECT_EQ(static_cast<unsigned char>(packed[4]), 0x51);
  EXPECT_EQ(static_cast<unsigned char>(packed[5]), 0xd9);
}

TEST(BitpackTest, EveryKernelWritesTheSameBytes) {
  for (int width = 0; width <= kMaxBitWidth; ++width) {
    for (const std::vector<uint32_t>& values : Inputs(width)) {
      std::string reference(PackedBytes(width), '\0');
      internal::PackWith(Kernel::kGeneric, values.data(), width,
                         reference.data());
      for (Kernel kernel : AvailableKernels()) {
        // Packing must also ignore whatever the output held before.
        std::string packed(PackedBytes(width), '\xa5');
        internal::PackWith(kernel, values.data(), width, packed.data());
        ASSERT_EQ(packed, reference)
            << "width " << width << " kernel " << static_cast<int>(kernel);
      }
    }
  }
}

TEST(BitpackTest, EveryKernelAppliesEveryUnpackOp) {
  const uint32_t base = 1000;
  for (int width = 0; width <= kMaxBitWidth; ++width) {
    for (const std::vector<uint32_t>& values : Inputs(width)) {
      std::string packed(PackedBytes(width), '\0');
      Pack128(values.data(), width, packed.data());
      std::vector<uint32_t> plus_one(kPackedValues), docs(kPackedValues);
      uint32_t doc = base - 1;
      for (size_t i = 0; i < kPackedValues; ++i) {
        plus_one[i] = values[i] + 1;
        doc += values[i] + 1;  // Wraps modulo 2^32, like the kernels.
        docs[i] = doc;
      }
      for (Kernel kernel : AvailableKernels()) {
        std::vector<uint32_t> out(kPackedValues);
        internal::UnpackWith(kernel, UnpackOp::kPlain, packed.data(), width,
                             base, out.data());
        ASSERT_THAT(out, ElementsAreArray(values)) << "width " << width;
        internal::UnpackWith(kernel, UnpackOp::kPlusOne, packed.data(), width,
                             base, out.data());
        ASSERT_THAT(out, ElementsAreArray(plus_one)) << "width " << width;
        internal::UnpackWith(kernel, UnpackOp::kGaps, packed.data(), width,
                             base, out.data());
        ASSERT_THAT(out, ElementsAreArray(docs)) << "width " << width;
      }
    }
  }
}

TEST(BitpackTest, GapsFromBaseZeroStartAtTheFirstGap) {
  std::vector<uint32_t> gaps(kPackedValues, 0);
  gaps[0] = 7;
  std::vector<uint32_t> docs = gaps;
  internal::GapsToDocs128(0, docs.data());
  EXPECT_EQ(docs[0], 7u);
  EXPECT_EQ(docs[1], 8u);
  EXPECT_EQ(docs[127], 134u);
}

TEST(BitpackTest, ReadsAndWritesUnalignedBuffers) {
  const std::vector<uint32_t> values = RandomValues(13, 3);
  std::string buffer(PackedBytes(13) + 1, '\0');
  Pack128(values.data(), 13, buffer.data() + 1);
  std::vector<uint32_t> out(kPackedValues + 1);
  Unpack128(buffer.data() + 1, 13, out.data() + 1);
  EXPECT_THAT(std::vector<uint32_t>(out.begin() + 1, out.end()),
              ElementsAreArray(values));
}

}  // namespace
}  // namespace sift::codec
