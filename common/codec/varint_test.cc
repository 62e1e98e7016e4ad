#include "common/codec/varint.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sift::codec {
namespace {

std::string Encode32(uint32_t value) {
  std::string out;
  PutVarint32(&out, value);
  return out;
}

std::string Encode64(uint64_t value) {
  std::string out;
  PutVarint64(&out, value);
  return out;
}

TEST(VarintTest, EncodesBoundariesInTheExpectedNumberOfBytes) {
  EXPECT_EQ(Encode32(0), std::string("\x00", 1));
  EXPECT_EQ(Encode32(127), "\x7f");
  EXPECT_EQ(Encode32(128), "\x80\x01");
  EXPECT_EQ(Encode32(300), "\xac\x02");
  EXPECT_EQ(Encode32(UINT32_MAX), "\xff\xff\xff\xff\x0f");
  EXPECT_EQ(Encode64(UINT64_MAX), "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
  EXPECT_EQ(VarintLength(0), 1u);
  EXPECT_EQ(VarintLength(127), 1u);
  EXPECT_EQ(VarintLength(128), 2u);
  EXPECT_EQ(VarintLength(UINT32_MAX), kMaxVarint32Bytes);
  EXPECT_EQ(VarintLength(UINT64_MAX), kMaxVarint64Bytes);
}

TEST(VarintTest, RoundTripsEdgeValues32) {
  const std::vector<uint32_t> values = {0,
                                        1,
                                        127,
                                        128,
                                        16383,
                                        16384,
                                        (1u << 21) - 1,
                                        1u << 21,
                                        (1u << 28) - 1,
                                        1u << 28,
                                        UINT32_MAX - 1,
                                        UINT32_MAX};
  std::string encoded;
  for (uint32_t v : values) PutVarint32(&encoded, v);
  absl::string_view input = encoded;
  for (uint32_t expected : values) {
    uint32_t v = 0;
    ASSERT_TRUE(GetVarint32(&input, &v)) << expected;
    EXPECT_EQ(v, expected);
  }
  EXPECT_TRUE(input.empty());
}

TEST(VarintTest, RoundTripsEdgeValues64) {
  std::vector<uint64_t> values = {
      0,         127, 128, UINT32_MAX, uint64_t{UINT32_MAX} + 1, UINT64_MAX - 1,
      UINT64_MAX};
  for (int shift = 0; shift < 64; ++shift) {
    values.push_back(uint64_t{1} << shift);
    values.push_back((uint64_t{1} << shift) - 1);
  }
  std::string encoded;
  for (uint64_t v : values) PutVarint64(&encoded, v);
  absl::string_view input = encoded;
  for (uint64_t expected : values) {
    uint64_t v = 0;
    ASSERT_TRUE(GetVarint64(&input, &v)) << expected;
    EXPECT_EQ(v, expected);
  }
  EXPECT_TRUE(input.empty());
}

TEST(VarintTest, RejectsEveryTruncationWithoutConsumingInput) {
  for (uint64_t value : {uint64_t{128}, uint64_t{UINT32_MAX}, UINT64_MAX}) {
    const std::string full = Encode64(value);
    for (size_t len = 0; len < full.size(); ++len) {
      // A copy of exactly `len` bytes, so a read past it is caught by
      // AddressSanitizer builds.
      const std::vector<char> bytes(full.begin(), full.begin() + len);
      absl::string_view input(bytes.data(), bytes.size());
      uint64_t v64 = 0;
      EXPECT_FALSE(GetVarint64(&input, &v64)) << value << " len " << len;
      EXPECT_EQ(input.size(), len);
      if (value <= UINT32_MAX) {
        uint32_t v32 = 0;
        EXPECT_FALSE(GetVarint32(&input, &v32)) << value << " len " << len;
        EXPECT_EQ(input.size(), len);
      }
    }
  }
}

TEST(VarintTest, RejectsOverlongVarint64) {
  // Eleven bytes: ten continuation bytes never end a uint64.
  absl::string_view input("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
  uint64_t v = 0;
  EXPECT_FALSE(GetVarint64(&input, &v));
  EXPECT_EQ(input.size(), 11u);
  // Ten bytes whose last carries bits above bit 63.
  input = absl::string_view("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
  EXPECT_FALSE(GetVarint64(&input, &v));
  // Redundant zero groups within ten bytes are still the same value.
  input = absl::string_view("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 10);
  ASSERT_TRUE(GetVarint64(&input, &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(input.empty());
}

TEST(VarintTest, RejectsVarint32AboveThirtyTwoBits) {
  uint32_t v = 0;
  // 2^32 needs a fifth byte of 0x10.
  absl::string_view input("\x80\x80\x80\x80\x10", 5);
  EXPECT_FALSE(GetVarint32(&input, &v));
  // Six bytes.
  input = absl::string_view("\x80\x80\x80\x80\x80\x00", 6);
  EXPECT_FALSE(GetVarint32(&input, &v));
  // The 64-bit reader accepts what the 32-bit one refuses as too big.
  input = absl::string_view("\x80\x80\x80\x80\x10", 5);
  uint64_t v64 = 0;
  ASSERT_TRUE(GetVarint64(&input, &v64));
  EXPECT_EQ(v64, uint64_t{1} << 32);
}

TEST(VarintTest, PointerDecoderStopsAtLimit) {
  const std::string encoded = Encode32(300) + Encode32(5);
  const char* p = encoded.data();
  const char* limit = p + encoded.size();
  uint32_t v = 0;
  p = GetVarint32Ptr(p, limit, &v);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(v, 300u);
  p = GetVarint32Ptr(p, limit, &v);
  ASSERT_EQ(p, limit);
  EXPECT_EQ(v, 5u);
  EXPECT_EQ(GetVarint32Ptr(p, limit, &v), nullptr);
}

}  // namespace
}  // namespace sift::codec
