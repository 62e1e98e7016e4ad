// libFuzzer target for the posting block codec (common/codec). It checks
// that decoders never crash or read outside their input whatever the bytes,
// that whatever they accept obeys the block invariants (doc numbers strictly
// increasing from the base, frequencies at least 1) and that encoding then
// decoding gives back the input. Build and run: see fuzz/README.md.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/codec/bitpack.h"
#include "common/codec/block_codec.h"
#include "common/codec/internal/bitpack_kernels.h"
#include "common/codec/internal/block_encoder.h"
#include "common/codec/varint.h"

namespace sift::codec {
namespace {

#define FUZZ_CHECK(condition)                                               \
  do {                                                                      \
    if (!(condition)) {                                                     \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                   #condition);                                             \
      std::abort();                                                         \
    }                                                                       \
  } while (0)

// Decodes `n` doc numbers from arbitrary bytes held in a buffer of exactly
// their size (AddressSanitizer catches any read past it), then round-trips
// what was accepted.
void DecodeArbitraryDocs(FuzzedDataProvider& in) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(1, kBlockSize);
  const uint32_t base = in.ConsumeIntegral<uint32_t>();
  const std::vector<char> bytes = in.ConsumeRemainingBytes<char>();
  absl::string_view input(bytes.data(), bytes.size());
  std::vector<uint32_t> docs(n);
  const absl::Status s = DecodeDocBlock(&input, base, n, docs.data());
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == absl::StatusCode::kDataLoss);
    FUZZ_CHECK(input.size() == bytes.size());
    return;
  }
  FUZZ_CHECK(input.size() < bytes.size());
  FUZZ_CHECK(docs[0] >= base);
  for (size_t i = 1; i < n; ++i) FUZZ_CHECK(docs[i] > docs[i - 1]);
  std::string again;
  FUZZ_CHECK(EncodeDocBlock(base, docs, &again).ok());
  absl::string_view reread = again;
  std::vector<uint32_t> docs_again(n);
  FUZZ_CHECK(DecodeDocBlock(&reread, base, n, docs_again.data()).ok());
  FUZZ_CHECK(reread.empty());
  FUZZ_CHECK(docs_again == docs);
}

void DecodeArbitraryFreqs(FuzzedDataProvider& in) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(1, kBlockSize);
  const std::vector<char> bytes = in.ConsumeRemainingBytes<char>();
  absl::string_view input(bytes.data(), bytes.size());
  std::vector<uint32_t> freqs(n);
  const absl::Status s = DecodeFreqBlock(&input, n, freqs.data());
  if (!s.ok()) {
    FUZZ_CHECK(s.code() == absl::StatusCode::kDataLoss);
    FUZZ_CHECK(input.size() == bytes.size());
    return;
  }
  FUZZ_CHECK(input.size() < bytes.size());
  for (uint32_t f : freqs) FUZZ_CHECK(f >= 1);
  std::string again;
  FUZZ_CHECK(EncodeFreqBlock(freqs, &again).ok());
  absl::string_view reread = again;
  std::vector<uint32_t> freqs_again(n);
  FUZZ_CHECK(DecodeFreqBlock(&reread, n, freqs_again.data()).ok());
  FUZZ_CHECK(reread.empty());
  FUZZ_CHECK(freqs_again == freqs);
}

// A value of a random bit width, so that every width gets exercised.
uint32_t ValueOfRandomWidth(FuzzedDataProvider& in, int max_width) {
  const int width = in.ConsumeIntegralInRange<int>(0, max_width);
  const uint32_t v = in.ConsumeIntegral<uint32_t>();
  return width == 32 ? v : v & ((uint32_t{1} << width) - 1);
}

int ExceptionBudget(FuzzedDataProvider& in) {
  return in.PickValueInArray({0, 1, 7, 128});
}

// Encodes then decodes a block built from the input, in a buffer of exactly
// the encoded size; checks that every strict prefix is refused.
void RoundTripDocs(FuzzedDataProvider& in) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(1, kBlockSize);
  const uint32_t base = in.ConsumeIntegral<uint32_t>();
  const int max_width = in.ConsumeIntegralInRange<int>(0, 32);
  const int budget = ExceptionBudget(in);
  std::vector<uint32_t> docs;
  uint64_t doc = uint64_t{base} - 1;
  for (size_t i = 0; i < n; ++i) {
    doc += uint64_t{ValueOfRandomWidth(in, max_width)} + 1;
    if (doc > UINT32_MAX) break;
    docs.push_back(static_cast<uint32_t>(doc));
  }
  if (docs.empty()) return;
  std::string encoded;
  FUZZ_CHECK(
      internal::EncodeDocBlockWithExceptions(base, docs, budget, &encoded)
          .ok());
  for (size_t len : {encoded.size(), encoded.size() - 1}) {
    const std::vector<char> bytes(encoded.begin(), encoded.begin() + len);
    absl::string_view input(bytes.data(), bytes.size());
    std::vector<uint32_t> decoded(docs.size());
    const absl::Status s =
        DecodeDocBlock(&input, base, docs.size(), decoded.data());
    if (len == encoded.size()) {
      FUZZ_CHECK(s.ok());
      FUZZ_CHECK(input.empty());
      FUZZ_CHECK(decoded == docs);
    } else {
      FUZZ_CHECK(s.code() == absl::StatusCode::kDataLoss);
    }
  }
}

void RoundTripFreqs(FuzzedDataProvider& in) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(1, kBlockSize);
  const int max_width = in.ConsumeIntegralInRange<int>(0, 32);
  const int budget = ExceptionBudget(in);
  std::vector<uint32_t> freqs(n);
  for (uint32_t& f : freqs) {
    const uint32_t v = ValueOfRandomWidth(in, max_width);
    f = v == UINT32_MAX ? v : v + 1;
  }
  std::string encoded;
  FUZZ_CHECK(
      internal::EncodeFreqBlockWithExceptions(freqs, budget, &encoded).ok());
  for (size_t len : {encoded.size(), encoded.size() - 1}) {
    const std::vector<char> bytes(encoded.begin(), encoded.begin() + len);
    absl::string_view input(bytes.data(), bytes.size());
    std::vector<uint32_t> decoded(n);
    const absl::Status s = DecodeFreqBlock(&input, n, decoded.data());
    if (len == encoded.size()) {
      FUZZ_CHECK(s.ok());
      FUZZ_CHECK(input.empty());
      FUZZ_CHECK(decoded == freqs);
    } else {
      FUZZ_CHECK(s.code() == absl::StatusCode::kDataLoss);
    }
  }
}

void Varints(FuzzedDataProvider& in) {
  const std::vector<char> bytes = in.ConsumeRemainingBytes<char>();
  absl::string_view input(bytes.data(), bytes.size());
  uint64_t v64;
  if (GetVarint64(&input, &v64)) {
    const size_t used = bytes.size() - input.size();
    FUZZ_CHECK(used >= 1 && used <= kMaxVarint64Bytes);
    std::string canonical;
    PutVarint64(&canonical, v64);
    FUZZ_CHECK(canonical.size() <= used);
    FUZZ_CHECK(canonical.size() == VarintLength(v64));
    absl::string_view reread = canonical;
    uint64_t again;
    FUZZ_CHECK(GetVarint64(&reread, &again) && again == v64 && reread.empty());
  } else {
    FUZZ_CHECK(input.size() == bytes.size());
  }
  input = absl::string_view(bytes.data(), bytes.size());
  uint32_t v32;
  if (GetVarint32(&input, &v32)) {
    const size_t used = bytes.size() - input.size();
    FUZZ_CHECK(used >= 1 && used <= kMaxVarint32Bytes);
    absl::string_view again64(bytes.data(), bytes.size());
    FUZZ_CHECK(GetVarint64(&again64, &v64) && v64 == v32);
  } else {
    FUZZ_CHECK(input.size() == bytes.size());
  }
}

// Both kernels read arbitrary packed bytes alike, with every transform, and
// pack round-trips.
void Kernels(FuzzedDataProvider& in) {
  using internal::Kernel;
  using internal::UnpackOp;
  const int width = in.ConsumeIntegralInRange<int>(0, kMaxBitWidth);
  const uint32_t base = in.ConsumeIntegral<uint32_t>();
  std::vector<char> packed = in.ConsumeBytes<char>(PackedBytes(width));
  packed.resize(PackedBytes(width));
  for (UnpackOp op : {UnpackOp::kPlain, UnpackOp::kPlusOne, UnpackOp::kGaps}) {
    uint32_t reference[kPackedValues];
    uint32_t vector[kPackedValues];
    internal::UnpackWith(Kernel::kGeneric, op, packed.data(), width, base,
                         reference);
    if (!internal::KernelAvailable(Kernel::kVector)) continue;
    internal::UnpackWith(Kernel::kVector, op, packed.data(), width, base,
                         vector);
    FUZZ_CHECK(std::equal(reference, reference + kPackedValues, vector));
  }
  uint32_t values[kPackedValues];
  Unpack128(packed.data(), width, values);
  std::vector<char> repacked(PackedBytes(width));
  Pack128(values, width, repacked.data());
  FUZZ_CHECK(repacked == packed);
}

}  // namespace
}  // namespace sift::codec

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
      sift::codec::DecodeArbitraryDocs(in);
      break;
    case 1:
      sift::codec::DecodeArbitraryFreqs(in);
      break;
    case 2:
      sift::codec::RoundTripDocs(in);
      break;
    case 3:
      sift::codec::RoundTripFreqs(in);
      break;
    case 4:
      sift::codec::Varints(in);
      break;
    case 5:
      sift::codec::Kernels(in);
      break;
  }
  return 0;
}
