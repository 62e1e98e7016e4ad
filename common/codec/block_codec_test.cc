#include "common/codec/block_codec.h"

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/codec/bitpack.h"
#include "common/codec/internal/block_encoder.h"
#include "common/codec/varint.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::codec {
namespace {

using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

uint32_t MaxForWidth(int width) {
  return width == 32 ? UINT32_MAX : (uint32_t{1} << width) - 1;
}

// Doc numbers from `base` whose stored gaps (minus one) are `gaps`.
std::vector<uint32_t> DocsFromGaps(uint32_t base,
                                   const std::vector<uint32_t>& gaps) {
  std::vector<uint32_t> docs;
  uint64_t doc = uint64_t{base} - 1;
  for (uint32_t gap : gaps) {
    doc += uint64_t{gap} + 1;
    docs.push_back(static_cast<uint32_t>(doc));
  }
  return docs;
}

// Gaps of exactly `width` bits whose sum keeps 128 doc numbers from `base`
// within 32 bits.
std::vector<uint32_t> GapsOfWidth(int width, uint32_t base, std::mt19937* rng,
                                  size_t n = kBlockSize) {
  std::vector<uint32_t> gaps(n);
  if (width == 0) return gaps;
  const uint64_t room = (uint64_t{UINT32_MAX} - base) / n;
  for (uint32_t& gap : gaps) {
    gap = static_cast<uint32_t>((*rng)() & MaxForWidth(width));
    if (gap >= room) gap = static_cast<uint32_t>(room - 1);
  }
  if (uint64_t{MaxForWidth(width)} < room) {
    gaps[n / 2] = MaxForWidth(width);
  }
  return gaps;
}

// Decodes from an exact-size heap copy of `bytes`, so that AddressSanitizer
// builds catch any read past the block.
absl::Status DecodeDocsExact(const std::string& bytes, uint32_t base, size_t n,
                             std::vector<uint32_t>* docs,
                             size_t* left = nullptr) {
  auto copy = std::make_unique<char[]>(bytes.size());
  std::memcpy(copy.get(), bytes.data(), bytes.size());
  absl::string_view input(copy.get(), bytes.size());
  docs->assign(kBlockSize, 0);
  absl::Status s = DecodeDocBlock(&input, base, n, docs->data());
  docs->resize(n);
  if (left != nullptr) *left = input.size();
  return s;
}

absl::Status DecodeFreqsExact(const std::string& bytes, size_t n,
                              std::vector<uint32_t>* freqs,
                              size_t* left = nullptr) {
  auto copy = std::make_unique<char[]>(bytes.size());
  std::memcpy(copy.get(), bytes.data(), bytes.size());
  absl::string_view input(copy.get(), bytes.size());
  freqs->assign(kBlockSize, 0);
  absl::Status s = DecodeFreqBlock(&input, n, freqs->data());
  freqs->resize(n);
  if (left != nullptr) *left = input.size();
  return s;
}

std::string EncodeDocs(uint32_t base, const std::vector<uint32_t>& docs) {
  std::string out;
  EXPECT_THAT(EncodeDocBlock(base, docs, &out), IsOk());
  return out;
}

std::string EncodeFreqs(const std::vector<uint32_t>& freqs) {
  std::string out;
  EXPECT_THAT(EncodeFreqBlock(freqs, &out), IsOk());
  return out;
}

// The exception budgets a full block may be written with: the format and
// the decoders take any, whatever the public encoders choose.
constexpr int kExceptionBudgets[] = {0, 7, 128};

std::string EncodeDocsWith(uint32_t base, const std::vector<uint32_t>& docs,
                           int max_exceptions) {
  std::string out;
  EXPECT_THAT(
      internal::EncodeDocBlockWithExceptions(base, docs, max_exceptions, &out),
      IsOk());
  return out;
}

TEST(BlockCodecTest, RoundTripsFullDocBlocksOfEveryGapWidth) {
  std::mt19937 rng(42);
  for (uint32_t base : {0u, 1u, 123456u, 0x80000000u}) {
    for (int width = 0; width <= 32; ++width) {
      std::vector<uint32_t> gaps = GapsOfWidth(width, base, &rng);
      // A few outliers, so that budgets above zero write exceptions.
      if (width <= 16) gaps[7] = gaps[100] = MaxForWidth(width + 8);
      const std::vector<uint32_t> docs = DocsFromGaps(base, gaps);
      for (int budget : kExceptionBudgets) {
        const std::string bytes = EncodeDocsWith(base, docs, budget);
        std::vector<uint32_t> decoded;
        size_t left = 1;
        ASSERT_THAT(DecodeDocsExact(bytes, base, kBlockSize, &decoded, &left),
                    IsOk())
            << "width " << width << " base " << base << " budget " << budget;
        EXPECT_THAT(decoded, ElementsAreArray(docs))
            << "width " << width << " base " << base << " budget " << budget;
        EXPECT_EQ(left, 0u);
      }
      EXPECT_EQ(EncodeDocs(base, docs), EncodeDocsWith(base, docs, 0));
    }
  }
}

TEST(BlockCodecTest, RoundTripsDocNumbersUpToTheLargest) {
  std::vector<uint32_t> docs(kBlockSize);
  for (size_t i = 0; i < kBlockSize; ++i) {
    docs[i] = UINT32_MAX - static_cast<uint32_t>(kBlockSize - 1 - i);
  }
  for (uint32_t base : {0u, docs[0]}) {
    std::vector<uint32_t> decoded;
    ASSERT_THAT(
        DecodeDocsExact(EncodeDocs(base, docs), base, kBlockSize, &decoded),
        IsOk());
    EXPECT_THAT(decoded, ElementsAreArray(docs));
  }
  // One huge first gap, then a dense run, with exceptions allowed.
  std::vector<uint32_t> decoded;
  const std::string bytes = EncodeDocsWith(0, docs, 128);
  ASSERT_THAT(DecodeDocsExact(bytes, 0, kBlockSize, &decoded), IsOk());
  EXPECT_THAT(decoded, ElementsAreArray(docs));
  // Doc numbers 0 and 2^32 - 1 in one block.
  std::vector<uint32_t> extremes(kBlockSize);
  for (size_t i = 0; i < kBlockSize; ++i)
    extremes[i] = static_cast<uint32_t>(i);
  extremes.back() = UINT32_MAX;
  ASSERT_THAT(DecodeDocsExact(EncodeDocs(0, extremes), 0, kBlockSize, &decoded),
              IsOk());
  EXPECT_THAT(decoded, ElementsAreArray(extremes));
}

TEST(BlockCodecTest, ConsecutiveDocNumbersCostOneByte) {
  std::vector<uint32_t> docs(kBlockSize);
  for (size_t i = 0; i < kBlockSize; ++i)
    docs[i] = 500 + static_cast<uint32_t>(i);
  const std::string bytes = EncodeDocs(500, docs);
  EXPECT_EQ(bytes.size(), 1u);
  std::vector<uint32_t> decoded;
  ASSERT_THAT(DecodeDocsExact(bytes, 500, kBlockSize, &decoded), IsOk());
  EXPECT_THAT(decoded, ElementsAreArray(docs));
}

TEST(BlockCodecTest, OneOutlierDoesNotWidenTheWholeBlock) {
  std::vector<uint32_t> freqs(kBlockSize, 1);
  freqs[40] = 200;
  const std::string freq_bytes = EncodeFreqs(freqs);
  // 0 bits for 128 frequencies plus one exception, against 8 bits for all.
  EXPECT_EQ(freq_bytes.size(), 4u);
  std::vector<uint32_t> decoded;
  ASSERT_THAT(DecodeFreqsExact(freq_bytes, kBlockSize, &decoded), IsOk());
  EXPECT_THAT(decoded, ElementsAreArray(freqs));

  // Doc blocks are written without exceptions, but read with them.
  std::vector<uint32_t> gaps(kBlockSize, 3);
  gaps[40] = 1000;
  const std::vector<uint32_t> docs = DocsFromGaps(0, gaps);
  const std::string doc_bytes = EncodeDocsWith(0, docs, 128);
  EXPECT_EQ(doc_bytes.size(), 2 + PackedBytes(2) + 2);
  ASSERT_THAT(DecodeDocsExact(doc_bytes, 0, kBlockSize, &decoded), IsOk());
  EXPECT_THAT(decoded, ElementsAreArray(docs));
  EXPECT_EQ(EncodeDocs(0, docs).size(), 1 + PackedBytes(10));
}

TEST(BlockCodecTest, ExceptionsHoldAtMostEightBitsAboveTheWidth) {
  // One outlier of 20 bits among zeros: packing at 12 bits with an 8-bit
  // exception beats 20 bits for all.
  std::vector<uint32_t> freqs(kBlockSize, 1);
  freqs[9] = (1 << 19) + 1;
  const std::string bytes = EncodeFreqs(freqs);
  EXPECT_EQ(bytes.size(), 2 + PackedBytes(12) + 2);
  std::vector<uint32_t> decoded;
  ASSERT_THAT(DecodeFreqsExact(bytes, kBlockSize, &decoded), IsOk());
  EXPECT_THAT(decoded, ElementsAreArray(freqs));
}

TEST(BlockCodecTest, RoundTripsPartialBlocksOfEverySize) {
  std::mt19937 rng(7);
  for (size_t n = 1; n < kBlockSize; ++n) {
    const uint32_t base = static_cast<uint32_t>(rng() % 100000);
    const std::vector<uint32_t> docs = DocsFromGaps(
        base, GapsOfWidth(static_cast<int>(n % 33), base, &rng, n));
    std::vector<uint32_t> freqs(n);
    for (uint32_t& f : freqs) f = 1 + (rng() % 3 == 0 ? rng() : rng() % 4);
    freqs[0] = UINT32_MAX;
    freqs[n - 1] = 1;

    // A doc block and its frequency block back to back, as a segment
    // stores them.
    std::string bytes = EncodeDocs(base, docs) + EncodeFreqs(freqs);
    absl::string_view input = bytes;
    std::vector<uint32_t> decoded_docs(kBlockSize), decoded_freqs(kBlockSize);
    ASSERT_THAT(DecodeDocBlock(&input, base, n, decoded_docs.data()), IsOk())
        << n;
    ASSERT_THAT(DecodeFreqBlock(&input, n, decoded_freqs.data()), IsOk()) << n;
    EXPECT_TRUE(input.empty()) << n;
    decoded_docs.resize(n);
    decoded_freqs.resize(n);
    EXPECT_THAT(decoded_docs, ElementsAreArray(docs)) << n;
    EXPECT_THAT(decoded_freqs, ElementsAreArray(freqs)) << n;
  }
}

TEST(BlockCodecTest, DecodesOnlyTheFirstNValuesOfAPartialBlock) {
  const std::vector<uint32_t> docs = {3, 9, 10};
  std::vector<uint32_t> out(kBlockSize, 77);
  const std::string bytes = EncodeDocs(0, docs);
  absl::string_view input = bytes;
  ASSERT_THAT(DecodeDocBlock(&input, 0, docs.size(), out.data()), IsOk());
  EXPECT_EQ(out[2], 10u);
  EXPECT_EQ(out[3], 77u);
}

TEST(BlockCodecTest, RoundTripsFullFreqBlocks) {
  std::mt19937 rng(9);
  for (int width = 0; width <= 32; ++width) {
    std::vector<uint32_t> freqs(kBlockSize);
    for (uint32_t& f : freqs) {
      const uint32_t v = rng() & MaxForWidth(width);
      f = v == UINT32_MAX ? v : v + 1;
    }
    const std::string bytes = EncodeFreqs(freqs);
    std::vector<uint32_t> decoded;
    size_t left = 1;
    ASSERT_THAT(DecodeFreqsExact(bytes, kBlockSize, &decoded, &left), IsOk())
        << width;
    EXPECT_THAT(decoded, ElementsAreArray(freqs)) << width;
    EXPECT_EQ(left, 0u);
  }
  // Mostly ones with a few large counts: the common shape of term
  // frequencies.
  std::vector<uint32_t> freqs(kBlockSize, 1);
  freqs[5] = 40;
  freqs[90] = UINT32_MAX;
  std::vector<uint32_t> decoded;
  ASSERT_THAT(DecodeFreqsExact(EncodeFreqs(freqs), kBlockSize, &decoded),
              IsOk());
  EXPECT_THAT(decoded, ElementsAreArray(freqs));
  EXPECT_EQ(EncodeFreqs(std::vector<uint32_t>(kBlockSize, 1)).size(), 1u);
}

TEST(BlockCodecTest, ChainsBlocksThroughTheirBase) {
  // A posting list of 1000 doc numbers cut into blocks, each block's base
  // the previous block's last doc number plus one.
  std::mt19937 rng(11);
  std::vector<uint32_t> all;
  uint32_t doc = 0;
  for (int i = 0; i < 1000; ++i) {
    doc += 1 + (rng() % 10 == 0 ? rng() % 5000 : rng() % 20);
    all.push_back(doc);
  }
  std::string bytes;
  std::vector<uint32_t> bases;
  for (size_t start = 0; start < all.size(); start += kBlockSize) {
    const size_t n = std::min(kBlockSize, all.size() - start);
    const uint32_t base = start == 0 ? 0 : all[start - 1] + 1;
    bases.push_back(base);
    ASSERT_THAT(EncodeDocBlock(base, absl::MakeConstSpan(all.data() + start, n),
                               &bytes),
                IsOk());
  }
  absl::string_view input = bytes;
  std::vector<uint32_t> decoded;
  for (size_t start = 0, block = 0; start < all.size();
       start += kBlockSize, ++block) {
    const size_t n = std::min(kBlockSize, all.size() - start);
    uint32_t out[kBlockSize];
    ASSERT_THAT(DecodeDocBlock(&input, bases[block], n, out), IsOk());
    decoded.insert(decoded.end(), out, out + n);
  }
  EXPECT_TRUE(input.empty());
  EXPECT_THAT(decoded, ElementsAreArray(all));
}

TEST(BlockCodecTest, EncodeRejectsInvalidPostings) {
  std::string out = "keep";
  std::vector<uint32_t> docs(kBlockSize + 1);
  for (size_t i = 0; i < docs.size(); ++i) docs[i] = static_cast<uint32_t>(i);
  EXPECT_THAT(EncodeDocBlock(0, {}, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("got 0")));
  EXPECT_THAT(EncodeDocBlock(0, docs, &out),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("129")));
  EXPECT_THAT(EncodeDocBlock(5, std::vector<uint32_t>{4, 6}, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("below the block base 5")));
  EXPECT_THAT(EncodeDocBlock(0, std::vector<uint32_t>{4, 6, 6}, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("docs[2] = 6 follows 6")));
  docs.resize(kBlockSize);
  docs[100] = docs[99];
  EXPECT_THAT(EncodeDocBlock(0, docs, &out),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("strictly increasing")));
  EXPECT_THAT(
      EncodeFreqBlock(std::vector<uint32_t>{1, 0}, &out),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("freqs[1] is 0")));
  EXPECT_THAT(EncodeFreqBlock({}, &out),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(out, "keep");
}

TEST(BlockCodecTest, DecodeRejectsBlockSizeOutOfRange) {
  absl::string_view input("\x00", 1);
  uint32_t out[kBlockSize];
  EXPECT_THAT(DecodeDocBlock(&input, 0, 0, out),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeFreqBlock(&input, kBlockSize + 1, out),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(input.size(), 1u);
}

// Valid blocks of each kind, for the corruption tests.
std::vector<std::string> SampleDocBlocks() {
  std::mt19937 rng(5);
  std::vector<uint32_t> outlier(kBlockSize, 2);
  outlier[3] = 70000;
  outlier[64] = 1 << 20;
  return {EncodeDocs(0, DocsFromGaps(0, GapsOfWidth(9, 0, &rng))),
          EncodeDocsWith(0, DocsFromGaps(0, outlier), 128),
          EncodeDocs(0, DocsFromGaps(0, GapsOfWidth(32, 0, &rng)))};
}

TEST(BlockCodecTest, EveryTruncationIsDataLoss) {
  for (const std::string& block : SampleDocBlocks()) {
    for (size_t len = 0; len < block.size(); ++len) {
      std::vector<uint32_t> out;
      size_t left = 0;
      EXPECT_THAT(
          DecodeDocsExact(block.substr(0, len), 0, kBlockSize, &out, &left),
          StatusIs(absl::StatusCode::kDataLoss,
                   HasSubstr("corrupt posting block")))
          << "length " << len << " of " << block.size();
      EXPECT_EQ(left, len);
    }
  }
  std::vector<uint32_t> freqs(kBlockSize, 1);
  freqs[10] = 1000;
  const std::string block = EncodeFreqs(freqs);
  for (size_t len = 0; len < block.size(); ++len) {
    std::vector<uint32_t> out;
    EXPECT_THAT(DecodeFreqsExact(block.substr(0, len), kBlockSize, &out),
                StatusIs(absl::StatusCode::kDataLoss));
  }
  const std::string partial = EncodeDocs(0, {1, 300, 100000});
  for (size_t len = 0; len < partial.size(); ++len) {
    std::vector<uint32_t> out;
    EXPECT_THAT(DecodeDocsExact(partial.substr(0, len), 0, 3, &out),
                StatusIs(absl::StatusCode::kDataLoss));
  }
}

TEST(BlockCodecTest, RejectsMalformedFullBlockHeaders) {
  std::vector<uint32_t> out;
  // Bit width 33.
  EXPECT_THAT(DecodeDocsExact(std::string(1, '\x21') + std::string(600, '\0'),
                              0, kBlockSize, &out),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bit width 33")));
  // Exception count 0, then 129.
  EXPECT_THAT(
      DecodeDocsExact(std::string("\x81\x00", 2) + std::string(64, '\0'), 0,
                      kBlockSize, &out),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("exception count")));
  EXPECT_THAT(
      DecodeDocsExact(std::string("\x81\x81", 2) + std::string(600, '\0'), 0,
                      kBlockSize, &out),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("exception count")));
  // Exceptions in a block already 32 bits wide.
  EXPECT_THAT(
      DecodeDocsExact(std::string("\xa0\x01", 2) + std::string(600, '\x01'), 0,
                      kBlockSize, &out),
      StatusIs(absl::StatusCode::kDataLoss));
}

TEST(BlockCodecTest, RejectsMalformedExceptions) {
  // Width 1, two exceptions: their positions, then their high bits.
  const std::string packed(PackedBytes(1), '\0');
  const std::string header("\x81\x02", 2);
  std::vector<uint32_t> out;
  // Well formed, for reference.
  ASSERT_THAT(DecodeDocsExact(header + packed + "\x05\x07" + "\x01\x02", 0,
                              kBlockSize, &out),
              IsOk());
  EXPECT_EQ(out[5], 5u + 2u);
  EXPECT_EQ(out[7], out[6] + 1 + 4);
  // Positions out of order, repeated, past the block; high bits of zero.
  for (const std::string& exceptions :
       {std::string("\x07\x05\x01\x02"), std::string("\x05\x05\x01\x02"),
        std::string("\x05\x80\x01\x02"), std::string("\x05\x07\x00\x02", 4)}) {
    EXPECT_THAT(
        DecodeDocsExact(header + packed + exceptions, 0, kBlockSize, &out),
        StatusIs(absl::StatusCode::kDataLoss,
                 HasSubstr("exception positions must increase")));
    EXPECT_THAT(
        DecodeFreqsExact(header + packed + exceptions, kBlockSize, &out),
        StatusIs(absl::StatusCode::kDataLoss,
                 HasSubstr("exception positions must increase")));
  }
  // High bits 0x80 above width 25 need 33 bits.
  const std::string wide = std::string("\x99\x01", 2) +
                           std::string(PackedBytes(25), '\0') + "\x03\x80";
  EXPECT_THAT(DecodeFreqsExact(wide, kBlockSize, &out),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("32 bits")));
  // High bits 0x7f fit.
  const std::string fits = std::string("\x99\x01", 2) +
                           std::string(PackedBytes(25), '\0') + "\x03\x7f";
  ASSERT_THAT(DecodeFreqsExact(fits, kBlockSize, &out), IsOk());
  EXPECT_EQ(out[3], (uint32_t{0x7f} << 25) + 1);
}

TEST(BlockCodecTest, RejectsDocNumbersBeyondThirtyTwoBits) {
  std::vector<uint32_t> out;
  // 128 gaps of 2^31 overflow whatever the base.
  std::string block(1, '\x20');
  block += std::string(PackedBytes(32), '\0');
  for (size_t i = 0; i < kBlockSize; ++i) block[1 + 4 * i + 3] = '\x80';
  EXPECT_THAT(DecodeDocsExact(block, 0, kBlockSize, &out),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("32 bits")));
  // Consecutive doc numbers from a base so high that they run past 2^32 - 1.
  EXPECT_THAT(
      DecodeDocsExact(std::string(1, '\0'), UINT32_MAX - 10, kBlockSize, &out),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("32 bits")));
  // The same in a partial block.
  std::string partial;
  PutVarint32(&partial, 5);
  PutVarint32(&partial, UINT32_MAX);
  EXPECT_THAT(DecodeDocsExact(partial, 0, 2, &out),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("32 bits")));
}

TEST(BlockCodecTest, RejectsFrequenciesBeyondThirtyTwoBits) {
  std::vector<uint32_t> out;
  std::string full(1, '\x20');
  full += std::string(PackedBytes(32), '\0');
  full[1 + 17 * 4] = full[2 + 17 * 4] = full[3 + 17 * 4] = full[4 + 17 * 4] =
      '\xff';
  EXPECT_THAT(DecodeFreqsExact(full, kBlockSize, &out),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("32 bits")));
  std::string partial;
  PutVarint32(&partial, UINT32_MAX);
  EXPECT_THAT(DecodeFreqsExact(partial, 1, &out),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("32 bits")));
}

TEST(BlockCodecTest, ArbitraryBytesNeverDecodeToUnorderedDocs) {
  std::mt19937 rng(99);
  for (int round = 0; round < 3000; ++round) {
    std::string bytes(rng() % 600, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    if (round % 3 == 0 && !bytes.empty())
      bytes[0] = static_cast<char>(rng() % 33);
    const size_t n = round % 2 == 0 ? kBlockSize : 1 + rng() % kBlockSize;
    const uint32_t base = rng() % 4 == 0 ? rng() : rng() % 1000;
    std::vector<uint32_t> docs;
    size_t left = 0;
    absl::Status s = DecodeDocsExact(bytes, base, n, &docs, &left);
    if (s.ok()) {
      ASSERT_GE(docs[0], base);
      for (size_t i = 1; i < n; ++i) ASSERT_GT(docs[i], docs[i - 1]);
      EXPECT_LE(left, bytes.size());
    } else {
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss));
      EXPECT_EQ(left, bytes.size());
    }
    std::vector<uint32_t> freqs;
    s = DecodeFreqsExact(bytes, n, &freqs);
    if (s.ok()) {
      for (uint32_t f : freqs) ASSERT_GE(f, 1u);
    } else {
      EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss));
    }
  }
}

}  // namespace
}  // namespace sift::codec
