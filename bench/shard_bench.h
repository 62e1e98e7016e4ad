#ifndef SIFT_BENCH_SHARD_BENCH_H_
#define SIFT_BENCH_SHARD_BENCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/analysis/analyzer.h"
#include "services/query/query_parser.h"
#include "services/query/query_planner.h"
#include "services/storage/index.h"
#include "sift/v1/storage.pb.h"

namespace sift::bench {

struct IndexingOptions {
  // Documents per WriteRequest.
  size_t batch_documents = 512;
  // Threads that parse, validate and analyze documents; the calling thread
  // writes and one more thread reads the file.
  int threads = 1;
};

// What indexing a corpus took.
struct IndexingFigures {
  // Lines read that held a document (blank lines do not count).
  uint64_t documents = 0;
  uint64_t accepted = 0;
  // Lines the ingest rules refused (not JSON, invalid field, ...).
  uint64_t rejected = 0;
  // The first few reasons for a rejection, in corpus order.
  std::vector<std::string> sample_rejections;
  // The uncompressed size of the corpus.
  uint64_t input_bytes = 0;
  uint64_t write_requests = 0;
  // From opening the corpus until the last Apply returned.
  double seconds = 0;
};

// Indexes the JSON-lines corpus at `path` (plain or gzip) into `index` the
// way the ingest service would, without the network: every line becomes a
// DocumentInput.json and goes through ingest::PrepareDocument with the
// default IngestLimits; refused lines are counted and skipped. Documents are
// prepared on options.threads threads while the calling thread applies
// the batches before them, in corpus order (so a later line with the same
// id wins).
//
// Errors: the corpus's (NOT_FOUND, DATA_LOSS) and the index's; indexing
// stops at the first one, after the batches already applied.
absl::StatusOr<IndexingFigures> IndexCorpus(const std::string& path,
                                            storage::Index& index,
                                            const analysis::Analyzer& analyzer,
                                            const IndexingOptions& options);

// One query's answer from a shard.
struct ShardQueryResult {
  uint64_t total_hits = 0;
  bool total_hits_is_lower_bound = false;
  // The top hits, best first.
  std::vector<std::string> ids;
  std::vector<double> scores;
};

// Runs queries on one shard's index the way the query coordinator runs them
// on a cluster of one shard: parse and plan with the query service's
// planner, gather the global statistics from the shard's Stats, search for
// the top `k`, and take the hits' ids. No snippets, no Fetch.
//
// Thread-safe when the index is; `index` and `analyzer` must outlive it.
class ShardSearcher {
 public:
  ShardSearcher(const storage::Index& index, const analysis::Analyzer& analyzer,
                uint32_t k, v1::ScoringParams scoring = {},
                query::PlanOptions plan = {});

  // INVALID_ARGUMENT for a query the parser rejects; the index's errors.
  // A query that analyzes to nothing matches nothing and reaches no index.
  absl::StatusOr<ShardQueryResult> Search(
      absl::string_view text, query::DefaultOperator default_operator) const;

 private:
  const storage::Index& index_;
  const analysis::Analyzer& analyzer_;
  const uint32_t k_;
  const v1::ScoringParams scoring_;
  const query::PlanOptions plan_;
};

// Lines of a TREC run for one query: `qid Q0 docid rank score tag`, rank
// from 1, score with 6 decimals, appended to `out`.
void AppendTrecRun(absl::string_view qid, const ShardQueryResult& result,
                   absl::string_view tag, std::string* out);

}  // namespace sift::bench

#endif  // SIFT_BENCH_SHARD_BENCH_H_
