// Speed and size of the posting block codec: the bit-packing kernels against
// each other at several bit widths, single blocks of each kind, and
// whole-corpus encode/decode and bytes per posting on real newswire postings
// (Reuters-21578) and on synthetic Zipf-distributed postings over 200,000
// documents, for each exception budget considered (how many outliers a full
// block may store apart). Figures are in docs/storage-format.md.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/codec/bitpack.h"
#include "common/codec/block_codec.h"
#include "common/codec/internal/bitpack_kernels.h"
#include "common/codec/internal/block_encoder.h"

namespace sift::codec {
namespace {

using internal::Kernel;
using internal::UnpackOp;

// Reports the time per integer (shown as e.g. "312p" for 312 picoseconds).
benchmark::Counter PerInteger(double integers_per_iteration) {
  return benchmark::Counter(integers_per_iteration,
                            benchmark::Counter::kIsIterationInvariantRate |
                                benchmark::Counter::kInvert);
}

std::vector<uint32_t> RandomValues(int width, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> values(kPackedValues);
  const uint32_t mask = width == 32 ? UINT32_MAX : (uint32_t{1} << width) - 1;
  for (uint32_t& v : values) v = rng() & mask;
  return values;
}

// Many different blocks, so that branch predictors see realistic variety
// and the data is not one cache line over and over.
constexpr int kBlocks = 64;

const char* KernelName(Kernel kernel) {
  switch (kernel) {
    case Kernel::kGeneric:
      return "generic";
    case Kernel::kVector:
      return "vector";
  }
  return "?";
}

// Args: kernel, bit width, op.
void BM_Unpack(benchmark::State& state) {
  const auto kernel = static_cast<Kernel>(state.range(0));
  const int width = static_cast<int>(state.range(1));
  const auto op = static_cast<UnpackOp>(state.range(2));
  if (!internal::KernelAvailable(kernel)) {
    state.SkipWithError("kernel not compiled in");
    return;
  }
  std::vector<std::string> packed(kBlocks, std::string(PackedBytes(width), 0));
  for (int b = 0; b < kBlocks; ++b) {
    Pack128(RandomValues(width, b).data(), width, packed[b].data());
  }
  alignas(64) uint32_t out[kPackedValues];
  for (auto _ : state) {
    for (int b = 0; b < kBlocks; ++b) {
      internal::UnpackWith(kernel, op, packed[b].data(), width, 1, out);
      benchmark::DoNotOptimize(out);
    }
  }
  state.SetLabel(KernelName(kernel));
  state.counters["per_int"] = PerInteger(kBlocks * kPackedValues);
}
constexpr int kGeneric = static_cast<int>(Kernel::kGeneric);
constexpr int kVector = static_cast<int>(Kernel::kVector);

BENCHMARK(BM_Unpack)
    ->ArgNames({"kernel", "width", "op"})
    ->ArgsProduct({{kGeneric, kVector},
                   {1, 2, 4, 8, 12, 16, 20, 24, 32},
                   {static_cast<int>(UnpackOp::kPlain)}})
    ->ArgsProduct({{kGeneric, kVector},
                   {4, 8, 16},
                   {static_cast<int>(UnpackOp::kGaps),
                    static_cast<int>(UnpackOp::kPlusOne)}});

// Unpacking and then turning gaps into doc numbers in a second pass, against
// the fused kGaps above.
void BM_UnpackThenPrefixSum(benchmark::State& state) {
  const int width = static_cast<int>(state.range(0));
  std::vector<std::string> packed(kBlocks, std::string(PackedBytes(width), 0));
  for (int b = 0; b < kBlocks; ++b) {
    Pack128(RandomValues(width, b).data(), width, packed[b].data());
  }
  alignas(64) uint32_t out[kPackedValues];
  for (auto _ : state) {
    for (int b = 0; b < kBlocks; ++b) {
      Unpack128(packed[b].data(), width, out);
      internal::GapsToDocs128(1, out);
      benchmark::DoNotOptimize(out);
    }
  }
  state.counters["per_int"] = PerInteger(kBlocks * kPackedValues);
}
BENCHMARK(BM_UnpackThenPrefixSum)->ArgName("width")->Arg(4)->Arg(8)->Arg(16);

void BM_Pack(benchmark::State& state) {
  const auto kernel = static_cast<Kernel>(state.range(0));
  const int width = static_cast<int>(state.range(1));
  if (!internal::KernelAvailable(kernel)) {
    state.SkipWithError("kernel not compiled in");
    return;
  }
  std::vector<std::vector<uint32_t>> values;
  for (int b = 0; b < kBlocks; ++b) values.push_back(RandomValues(width, b));
  std::string packed(PackedBytes(width), 0);
  for (auto _ : state) {
    for (int b = 0; b < kBlocks; ++b) {
      internal::PackWith(kernel, values[b].data(), width, packed.data());
      benchmark::DoNotOptimize(packed.data());
    }
  }
  state.SetLabel(KernelName(kernel));
  state.counters["per_int"] = PerInteger(kBlocks * kPackedValues);
}
BENCHMARK(BM_Pack)
    ->ArgNames({"kernel", "width"})
    ->ArgsProduct({{kGeneric, kVector}, {4, 8, 16, 32}});

// The public block codec on blocks of `n` postings whose stored values (gaps
// minus one, frequencies minus one) are random of one bit width. Args: kind
// (0 doc block, 1 frequency block), bit width, n (128 for a full, bit-packed
// block; less for a varint one).
std::vector<std::vector<uint32_t>> BlockValues(int kind, int width, size_t n) {
  std::vector<std::vector<uint32_t>> blocks;
  for (int b = 0; b < kBlocks; ++b) {
    std::vector<uint32_t> values = RandomValues(width, b);
    values.resize(n);
    uint32_t doc = 0;
    for (uint32_t& v : values) v = kind == 0 ? doc += v + 1 : v + 1;
    blocks.push_back(std::move(values));
  }
  return blocks;
}

absl::Status EncodeBlock(int kind, const std::vector<uint32_t>& values,
                         std::string* out) {
  return kind == 0 ? EncodeDocBlock(1, values, out)
                   : EncodeFreqBlock(values, out);
}

void BM_DecodeBlock(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const int width = static_cast<int>(state.range(1));
  const size_t n = static_cast<size_t>(state.range(2));
  std::string bytes;
  for (const auto& values : BlockValues(kind, width, n)) {
    if (!EncodeBlock(kind, values, &bytes).ok()) {
      state.SkipWithError("encode failed");
      return;
    }
  }
  alignas(64) uint32_t out[kBlockSize];
  for (auto _ : state) {
    absl::string_view input = bytes;
    for (int b = 0; b < kBlocks; ++b) {
      const absl::Status s = kind == 0 ? DecodeDocBlock(&input, 1, n, out)
                                       : DecodeFreqBlock(&input, n, out);
      if (!s.ok()) {
        state.SkipWithError("decode failed");
        return;
      }
      benchmark::DoNotOptimize(out);
    }
  }
  state.SetLabel(kind == 0 ? "docs" : "freqs");
  state.counters["per_int"] = PerInteger(static_cast<double>(kBlocks * n));
  state.counters["bytes_per_int"] =
      static_cast<double>(bytes.size()) / static_cast<double>(kBlocks * n);
}

void BM_EncodeBlock(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  const int width = static_cast<int>(state.range(1));
  const size_t n = static_cast<size_t>(state.range(2));
  const auto blocks = BlockValues(kind, width, n);
  std::string bytes;
  for (auto _ : state) {
    bytes.clear();
    for (const auto& values : blocks) {
      benchmark::DoNotOptimize(EncodeBlock(kind, values, &bytes));
    }
  }
  state.SetLabel(kind == 0 ? "docs" : "freqs");
  state.counters["per_int"] = PerInteger(static_cast<double>(kBlocks * n));
}

void BlockArgs(benchmark::internal::Benchmark* b) {
  for (int kind : {0, 1}) {
    for (int width : {0, 1, 2, 4, 8, 12, 16, 20, 24}) {
      b->Args({kind, width, static_cast<int64_t>(kBlockSize)});
    }
    for (int width : {2, 8, 16}) b->Args({kind, width, 100});
  }
}

BENCHMARK(BM_DecodeBlock)->ArgNames({"kind", "width", "n"})->Apply(BlockArgs);
BENCHMARK(BM_EncodeBlock)->ArgNames({"kind", "width", "n"})->Apply(BlockArgs);

// ---------------------------------------------------------------------------
// Realistic postings.

struct TermPostings {
  std::vector<uint32_t> docs;
  std::vector<uint32_t> freqs;
};

struct Corpus {
  std::string name;
  uint32_t num_docs = 0;
  std::vector<TermPostings> terms;
  uint64_t postings = 0;
};

// Appends the lowercased ASCII letter-and-digit runs of `text` to `*terms`:
// close enough to the real analyzer for gap and frequency distributions.
void Tokenize(const std::string& text, std::vector<std::string>* terms) {
  std::string term;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && std::isalnum(u)) {
      term.push_back(static_cast<char>(std::tolower(u)));
    } else if (!term.empty()) {
      terms->push_back(std::move(term));
      term.clear();
    }
  }
  if (!term.empty()) terms->push_back(std::move(term));
}

// The value of string field `key` in one JSON line, roughly unescaped.
std::string JsonField(const std::string& line, const std::string& key) {
  const std::string marker = "\"" + key + "\": \"";
  const size_t at = line.find(marker);
  if (at == std::string::npos) return "";
  std::string value;
  for (size_t i = at + marker.size(); i < line.size() && line[i] != '"'; ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) {
      ++i;
      value.push_back(line[i] == 'n' ? ' ' : line[i]);
    } else {
      value.push_back(line[i]);
    }
  }
  return value;
}

Corpus BuildCorpus(std::string name,
                   const std::vector<std::vector<std::string>>& docs) {
  Corpus corpus;
  corpus.name = std::move(name);
  corpus.num_docs = static_cast<uint32_t>(docs.size());
  std::unordered_map<std::string, size_t> ids;
  for (uint32_t doc = 0; doc < docs.size(); ++doc) {
    std::unordered_map<std::string, uint32_t> tf;
    for (const std::string& term : docs[doc]) ++tf[term];
    for (const auto& [term, freq] : tf) {
      auto [it, added] = ids.emplace(term, corpus.terms.size());
      if (added) corpus.terms.emplace_back();
      corpus.terms[it->second].docs.push_back(doc);
      corpus.terms[it->second].freqs.push_back(freq);
      ++corpus.postings;
    }
  }
  return corpus;
}

const Corpus& Reuters() {
  static const Corpus* corpus = [] {
    std::ifstream in(std::string(SIFT_SHARED_DIR) +
                     "/corpora/reuters21578/docs.jsonl");
    std::vector<std::vector<std::string>> docs;
    std::string line;
    while (std::getline(in, line)) {
      docs.emplace_back();
      Tokenize(JsonField(line, "title"), &docs.back());
      Tokenize(JsonField(line, "body"), &docs.back());
    }
    return new Corpus(BuildCorpus("reuters", docs));
  }();
  return *corpus;
}

// 200,000 documents of 50 to 250 tokens drawn from a Zipf (s = 1) law over
// 100,000 terms: a bigger shard than Reuters, so wider gaps.
const Corpus& Zipf() {
  static const Corpus* corpus = [] {
    constexpr int kTerms = 100000;
    constexpr uint32_t kDocs = 200000;
    std::vector<double> cdf(kTerms);
    double sum = 0;
    for (int r = 0; r < kTerms; ++r) cdf[r] = sum += 1.0 / (r + 1);
    for (double& c : cdf) c /= sum;
    std::mt19937_64 rng(2024);
    std::uniform_real_distribution<double> uniform(0, 1);
    std::uniform_int_distribution<int> length(50, 250);
    // Built directly rather than through strings, for speed.
    Corpus zipf;
    zipf.name = "zipf";
    zipf.num_docs = kDocs;
    zipf.terms.resize(kTerms);
    std::unordered_map<int, uint32_t> tf;
    for (uint32_t doc = 0; doc < kDocs; ++doc) {
      tf.clear();
      const int n = length(rng);
      for (int i = 0; i < n; ++i) {
        ++tf[static_cast<int>(
            std::lower_bound(cdf.begin(), cdf.end(), uniform(rng)) -
            cdf.begin())];
      }
      for (const auto& [term, freq] : tf) {
        const int t = std::min(term, kTerms - 1);
        zipf.terms[t].docs.push_back(doc);
        zipf.terms[t].freqs.push_back(freq);
        ++zipf.postings;
      }
    }
    std::erase_if(zipf.terms,
                  [](const TermPostings& t) { return t.docs.empty(); });
    return new Corpus(std::move(zipf));
  }();
  return *corpus;
}

struct BlockRef {
  uint32_t base;
  uint32_t n;
};

// One corpus encoded block by block: doc block then frequency block.
struct EncodedCorpus {
  std::string bytes;
  std::vector<BlockRef> blocks;
  size_t doc_bytes = 0;
  size_t freq_bytes = 0;
  size_t full_doc_bytes = 0;
  size_t full_freq_bytes = 0;
  uint64_t full_postings = 0;
  uint64_t full_blocks = 0;
  uint64_t blocks_with_exceptions = 0;
  uint64_t exceptions = 0;
};

// Counts the exceptions of a full block in the patched layout.
void CountExceptions(absl::string_view block, EncodedCorpus* encoded) {
  ++encoded->full_blocks;
  if ((static_cast<unsigned char>(block[0]) & 0x80) != 0) {
    ++encoded->blocks_with_exceptions;
    encoded->exceptions += static_cast<unsigned char>(block[1]);
  }
}

// Encodes every block of `corpus` (only the full ones if `full_only`) with at
// most the given exceptions per full block.
bool Encode(const Corpus& corpus, int doc_exceptions, int freq_exceptions,
            bool full_only, EncodedCorpus* encoded) {
  for (const TermPostings& term : corpus.terms) {
    for (size_t start = 0; start < term.docs.size(); start += kBlockSize) {
      const size_t n = std::min(kBlockSize, term.docs.size() - start);
      if (full_only && n < kBlockSize) continue;
      const uint32_t base = start == 0 ? 0 : term.docs[start - 1] + 1;
      size_t before = encoded->bytes.size();
      if (!internal::EncodeDocBlockWithExceptions(
               base, absl::MakeConstSpan(&term.docs[start], n), doc_exceptions,
               &encoded->bytes)
               .ok()) {
        return false;
      }
      const size_t doc_bytes = encoded->bytes.size() - before;
      before = encoded->bytes.size();
      if (!internal::EncodeFreqBlockWithExceptions(
               absl::MakeConstSpan(&term.freqs[start], n), freq_exceptions,
               &encoded->bytes)
               .ok()) {
        return false;
      }
      const size_t freq_bytes = encoded->bytes.size() - before;
      encoded->doc_bytes += doc_bytes;
      encoded->freq_bytes += freq_bytes;
      if (n == kBlockSize && doc_exceptions > 0) {
        CountExceptions(absl::string_view(encoded->bytes)
                            .substr(before - doc_bytes, doc_bytes),
                        encoded);
      }
      if (n == kBlockSize && freq_exceptions > 0) {
        CountExceptions(absl::string_view(encoded->bytes).substr(before),
                        encoded);
      }
      if (n == kBlockSize) {
        encoded->full_doc_bytes += doc_bytes;
        encoded->full_freq_bytes += freq_bytes;
        encoded->full_postings += n;
      }
      encoded->blocks.push_back({base, static_cast<uint32_t>(n)});
    }
  }
  return true;
}

const Corpus& CorpusFor(int64_t which) {
  return which == 0 ? Reuters() : Zipf();
}

// Args: corpus (0 Reuters, 1 Zipf), most exceptions per doc block, most
// exceptions per frequency block (0: plain bit packing).
void BM_EncodeCorpus(benchmark::State& state) {
  const Corpus& corpus = CorpusFor(state.range(0));
  const int doc_exceptions = static_cast<int>(state.range(1));
  const int freq_exceptions = static_cast<int>(state.range(2));
  if (corpus.postings == 0) {
    state.SkipWithError("corpus not found");
    return;
  }
  EncodedCorpus encoded;
  for (auto _ : state) {
    encoded = EncodedCorpus();
    if (!Encode(corpus, doc_exceptions, freq_exceptions, false, &encoded)) {
      state.SkipWithError("encode failed");
      return;
    }
  }
  const double postings = static_cast<double>(corpus.postings);
  state.SetLabel(corpus.name);
  state.counters["per_int"] = PerInteger(2 * postings);
  state.counters["doc_bits"] = 8.0 * encoded.doc_bytes / postings;
  state.counters["freq_bits"] = 8.0 * encoded.freq_bytes / postings;
  state.counters["postings"] = postings;
  state.counters["terms"] = static_cast<double>(corpus.terms.size());
  state.counters["bytes_per_posting"] =
      (encoded.doc_bytes + encoded.freq_bytes) / postings;
  const double full = static_cast<double>(encoded.full_postings);
  state.counters["full_share"] = full / postings;
  state.counters["full_doc_bits"] = 8.0 * encoded.full_doc_bytes / full;
  state.counters["full_freq_bits"] = 8.0 * encoded.full_freq_bytes / full;
  if (encoded.full_blocks > 0) {
    state.counters["exc_blocks"] =
        static_cast<double>(encoded.blocks_with_exceptions) /
        encoded.full_blocks;
    state.counters["exc_per_block"] =
        static_cast<double>(encoded.exceptions) / encoded.full_blocks;
  }
}

// Decoding every block of the corpus, doc block then frequency block, as a
// query walking whole posting lists does. Args as BM_EncodeCorpus, plus
// whether only full blocks are decoded (the bit-packed hot path).
void BM_DecodeCorpus(benchmark::State& state) {
  const Corpus& corpus = CorpusFor(state.range(0));
  const int doc_exceptions = static_cast<int>(state.range(1));
  const int freq_exceptions = static_cast<int>(state.range(2));
  const bool full_only = state.range(3) != 0;
  if (corpus.postings == 0) {
    state.SkipWithError("corpus not found");
    return;
  }
  EncodedCorpus encoded;
  const bool ok =
      Encode(corpus, doc_exceptions, freq_exceptions, full_only, &encoded);
  if (!ok) {
    state.SkipWithError("encode failed");
    return;
  }
  uint64_t postings = 0;
  for (const BlockRef& block : encoded.blocks) postings += block.n;
  alignas(64) uint32_t docs[kBlockSize];
  alignas(64) uint32_t freqs[kBlockSize];
  for (auto _ : state) {
    absl::string_view input = encoded.bytes;
    for (const BlockRef& block : encoded.blocks) {
      if (!DecodeDocBlock(&input, block.base, block.n, docs).ok() ||
          !DecodeFreqBlock(&input, block.n, freqs).ok()) {
        state.SkipWithError("decode failed");
        return;
      }
      benchmark::DoNotOptimize(docs);
      benchmark::DoNotOptimize(freqs);
    }
  }
  state.SetLabel(corpus.name);
  state.counters["per_int"] = PerInteger(2.0 * postings);
}

// (doc exceptions, frequency exceptions): plain bit packing; exceptions in
// frequency blocks only (what EncodeDocBlock/EncodeFreqBlock do, with 7);
// exceptions in both.
constexpr std::pair<int, int> kBudgets[] = {{0, 0},   {0, 3}, {0, 7},
                                            {0, 128}, {7, 7}, {128, 128}};

void LayoutArgs(benchmark::internal::Benchmark* b) {
  for (int corpus : {0, 1}) {
    for (auto [docs, freqs] : kBudgets) b->Args({corpus, docs, freqs});
  }
}

void DecodeArgs(benchmark::internal::Benchmark* b) {
  for (int corpus : {0, 1}) {
    for (auto [docs, freqs] : kBudgets) b->Args({corpus, docs, freqs, 1});
    // Every block, partial ones included, with the chosen budgets.
    b->Args({corpus, internal::kDocBlockMaxExceptions,
             internal::kFreqBlockMaxExceptions, 0});
  }
}

BENCHMARK(BM_EncodeCorpus)
    ->ArgNames({"corpus", "doc_exc", "freq_exc"})
    ->Apply(LayoutArgs)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);
BENCHMARK(BM_DecodeCorpus)
    ->ArgNames({"corpus", "doc_exc", "freq_exc", "full_only"})
    ->Apply(DecodeArgs)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sift::codec
