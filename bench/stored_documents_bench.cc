// Reading stored documents as a shard shows its hits: ten documents of the
// Reuters-21578 news corpus at random, decoded whole (a view with
// highlights, or a Get) or without their body (a view without highlights),
// stored whole or with the body apart, with warm caches or after the caches
// were flushed (as a shard that serves other searches between two fetches
// finds them). Compression as a shard does it: a 512 KiB dictionary trained
// on the first 4 MiB of documents, level 3.
//
//   build/bench/sift_stored_documents_bench --benchmark_repetitions=5 \
//     --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "services/ingest/json_document.h"
#include "services/storage/index.h"
#include "services/storage/stored_documents.h"

namespace sift::storage {
namespace {

constexpr int kPerFetch = 10;
// More than the machine's caches hold.
constexpr size_t kFlushBytes = size_t{64} << 20;

struct Stored {
  std::unique_ptr<StoredDocuments> documents;
  std::vector<std::string> values;
};

const std::vector<std::string>& SerializedCorpus() {
  static const std::vector<std::string>* docs = [] {
    auto* out = new std::vector<std::string>;
    std::ifstream in(std::string(SIFT_SHARED_DIR) +
                     "/corpora/reuters21578/docs.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      v1::Document doc;
      if (!ingest::ParseJsonDocument(line, &doc).ok()) continue;
      out->push_back(doc.SerializeAsString());
    }
    return out;
  }();
  return *docs;
}

// The corpus stored with the body apart (`apart`) or whole.
const Stored& StoredCorpus(bool apart) {
  static const Stored* stored[2] = {nullptr, nullptr};
  if (stored[apart] == nullptr) {
    const IndexOptions defaults;
    auto* s = new Stored;
    s->documents = std::make_unique<StoredDocuments>(
        defaults.document_dictionary_samples,
        defaults.document_dictionary_bytes, apart);
    for (const std::string& serialized : SerializedCorpus()) {
      std::shared_ptr<const DocumentDictionary> unsaved;
      s->values.push_back(s->documents->Encode(serialized, &unsaved));
    }
    stored[apart] = s;
  }
  return *stored[apart];
}

// Args: body apart (0/1), body read (0/1), caches flushed before each
// fetch (0/1).
void BM_FetchTen(benchmark::State& state) {
  const bool apart = state.range(0) != 0;
  const StoredParts parts =
      state.range(1) != 0 ? StoredParts::kWhole : StoredParts::kWithoutBody;
  const bool cold = state.range(2) != 0;
  if (SerializedCorpus().empty()) {
    state.SkipWithError("corpora/reuters21578/docs.jsonl not found");
    return;
  }
  const Stored& stored = StoredCorpus(apart);
  // Only the documents compressed with the dictionary, as nearly all are.
  const size_t first = stored.values.size() / 4;
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> pick(first, stored.values.size() - 1);
  std::vector<char> flush(cold ? kFlushBytes : 0);
  size_t bytes = 0;
  for (const std::string& value : stored.values) bytes += value.size();
  v1::Document doc;
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      for (size_t i = 0; i < flush.size(); i += 64) ++flush[i];
      benchmark::ClobberMemory();
      state.ResumeTiming();
    }
    for (int i = 0; i < kPerFetch; ++i) {
      if (!stored.documents->Decode(stored.values[pick(rng)], &doc, parts)
               .ok()) {
        state.SkipWithError("a stored document did not decode");
        return;
      }
      benchmark::DoNotOptimize(doc);
    }
  }
  state.counters["stored_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_FetchTen)
    ->ArgNames({"apart", "body", "cold"})
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sift::storage
