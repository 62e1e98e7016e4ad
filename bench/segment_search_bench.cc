// Top-k search over one in-memory segment: block-max WAND on disjunctions,
// leapfrogging conjunctions and phrases, on a synthetic collection with a
// Zipf-like vocabulary. Isolates query execution from RocksDB, planning and
// statistics, which sift-bench includes.

#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/storage/analyzed_field.h"
#include "services/storage/scoring.h"
#include "services/storage/segment/builder.h"
#include "services/storage/segment/live_docs.h"
#include "services/storage/segment/plan.h"
#include "services/storage/segment/search.h"
#include "services/storage/segment/segment.h"

namespace sift::storage::segment {
namespace {

constexpr int kDocuments = 50000;
constexpr int kVocabulary = 20000;

// Word i has probability proportional to 1 / (i + 1), like natural text.
class ZipfWords {
 public:
  explicit ZipfWords(uint32_t seed) : rng_(seed) {
    double total = 0;
    for (int i = 0; i < kVocabulary; ++i) {
      total += 1.0 / (i + 1);
      cumulative_.push_back(total);
    }
  }
  int Next() {
    const double u =
        std::uniform_real_distribution<double>(0, cumulative_.back())(rng_);
    return static_cast<int>(
        std::lower_bound(cumulative_.begin(), cumulative_.end(), u) -
        cumulative_.begin());
  }
  std::mt19937& rng() { return rng_; }

 private:
  std::mt19937 rng_;
  std::vector<double> cumulative_;
};

struct Collection {
  std::shared_ptr<const Segment> segment;
  std::shared_ptr<const LiveDocs> live_docs;
};

// The default scoring, with the proximity bonus (`proximity` 1) or without
// it (0), so that its cost is the difference.
Bm25f Scoring(int64_t proximity) {
  Bm25fParams params;
  if (proximity == 0) params.proximity_weight = 0.0;
  return Bm25f(params, kDocuments, kDocuments * 8, kDocuments * 300);
}

const Collection& TheCollection() {
  static const Collection* collection = [] {
    ZipfWords words(7);
    std::vector<v1::AnalyzedDocument> docs(kDocuments);
    std::vector<SegmentDocument> inputs(kDocuments);
    for (int d = 0; d < kDocuments; ++d) {
      docs[d].mutable_document()->set_id(absl::StrCat("doc", d));
      std::vector<std::string> title, body;
      for (int i = 0; i < 8; ++i)
        title.push_back(absl::StrCat("w", words.Next()));
      const int length = 100 + static_cast<int>(words.rng()() % 400);
      for (int i = 0; i < length; ++i) {
        body.push_back(absl::StrCat("w", words.Next()));
      }
      storage::EncodeTerms(std::move(title), docs[d].mutable_title());
      storage::EncodeTerms(std::move(body), docs[d].mutable_body());
      inputs[d].analyzed = &docs[d];
    }
    auto values = BuildSegment(inputs);
    auto* c = new Collection;
    c->segment = *Segment::FromMemory(1, *std::move(values));
    c->live_docs = LiveDocs::AllLive(c->segment->doc_count());
    return c;
  }();
  return *collection;
}

PlanNode TermNode(int word) {
  PlanNode node;
  node.kind = PlanNode::Kind::kTerm;
  node.term = absl::StrCat("w", word);
  // A fixed idf per rank keeps the queries comparable across runs.
  node.idf = std::log(2.0 + word);
  return node;
}

enum class Shape { kOr, kAnd, kPhrase };

// Queries of `terms` words drawn from ranks [10, 2000): neither stopwords
// nor hapaxes, like the words people search for.
std::vector<PlanNode> Queries(int terms, Shape shape, int count) {
  std::mt19937 rng(11);
  std::vector<PlanNode> queries;
  for (int q = 0; q < count; ++q) {
    PlanNode root;
    root.kind = shape == Shape::kPhrase ? PlanNode::Kind::kPhrase
                                        : PlanNode::Kind::kBoolean;
    for (int t = 0; t < terms; ++t) {
      const int word = 10 + static_cast<int>(rng() % 1990);
      if (shape == Shape::kPhrase) {
        root.terms.push_back(absl::StrCat("w", word));
        root.idf += std::log(2.0 + word);
      } else if (shape == Shape::kOr) {
        root.should.push_back(TermNode(word));
      } else {
        root.must.push_back(TermNode(word));
      }
    }
    root.slop = 3;
    queries.push_back(std::move(root));
  }
  return queries;
}

void Run(benchmark::State& state, Shape shape) {
  const Collection& collection = TheCollection();
  const std::vector<PlanNode> queries =
      Queries(static_cast<int>(state.range(0)), shape, 64);
  const std::vector<SegmentSnapshot> segments = {
      {collection.segment.get(), collection.live_docs.get()}};
  const Bm25f bm25 = Scoring(state.range(1));
  size_t q = 0;
  uint64_t hits = 0;
  for (auto _ : state) {
    SearchSpec spec;
    spec.root = &queries[q++ % queries.size()];
    spec.bm25 = &bm25;
    spec.limit = 10;
    auto result = Search(segments, spec);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    hits += result->total_hits;
    benchmark::DoNotOptimize(result->hits.data());
  }
  state.counters["matches/query"] = benchmark::Counter(
      static_cast<double>(hits) / static_cast<double>(state.iterations()));
}

void BM_Or(benchmark::State& state) { Run(state, Shape::kOr); }
void BM_And(benchmark::State& state) { Run(state, Shape::kAnd); }
void BM_Phrase(benchmark::State& state) { Run(state, Shape::kPhrase); }

// Second argument: 1 with the term proximity bonus (the default), 0
// without.
BENCHMARK(BM_Or)
    ->ArgNames({"terms", "proximity"})
    ->ArgsProduct({{1, 2, 3, 5}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_And)
    ->ArgNames({"terms", "proximity"})
    ->ArgsProduct({{2, 3}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Phrase)
    ->ArgNames({"terms", "proximity"})
    ->ArgsProduct({{2, 3}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sift::storage::segment
