#ifndef SIFT_BENCH_WRITE_LATENCY_H_
#define SIFT_BENCH_WRITE_LATENCY_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sift/v1/storage.pb.h"

// The pieces of sift-write-latency-bench (bench/write_latency_bench.cc):
// one writer committing small batches to a shard while search threads run
// expensive searches, in phases, with the writer's commit latency measured
// in each phase.

namespace sift::bench {

// ---------------------------------------------------------------------------
// Searches

// Parses a search of the benchmark into the request a shard gets: words
// separated by spaces, each a query clause or a facet.
//   all            every live document (MatchAllQuery)
//   term:WORD      WORD in the title or the body (TermQuery)
//   prefix:PRE     every term starting with PRE (PrefixQuery)
//   fuzzy:WORD~N   every term within N (1 or 2) edits of WORD (FuzzyQuery);
//                  "fuzzy:WORD" means N = 2
//   facet:source, facet:tags
//                  counts of the sources / tags of every match
//   facet:day, facet:month, facet:year
//                  a published_at histogram of every match
// Words are index terms as ingest wrote them (case-folded and stemmed): they
// are not analyzed here. One clause is the query itself; several are the
// `should` clauses of one BooleanQuery. The request returns the best
// `limit` hits and carries no global statistics, so the shard scores with
// its own. INVALID_ARGUMENT naming the word for anything else, or when
// there is no query clause.
absl::StatusOr<v1::ShardSearchRequest> ParseSearchSpec(absl::string_view spec,
                                                       uint32_t limit);

// ---------------------------------------------------------------------------
// Writes

// `count` lines of the JSON-lines corpus at `path` (plain or gzip), chosen
// uniformly at random with `seed` (reservoir sampling, one pass), in corpus
// order; every line when it has fewer. The corpus reader's errors.
absl::StatusOr<std::vector<std::string>> SampleCorpusLines(
    const std::string& path, size_t count, uint64_t seed);

struct WriteMix {
  // Upserts per WriteRequest.
  size_t batch_documents = 10;
  // The share of upserts that reuse the id of a document of the pool (and
  // so replace a document of the loaded corpus, or one written since);
  // the others get new ids. 0..1.
  double replace_fraction = 0.2;
  uint64_t seed = 1;
};

// Makes the writer's requests from a pool of analyzed documents: each
// upsert takes the next pool document's text in turn and either a new id
// (`new_id_prefix` and a sequence number, which must not collide with any
// loaded id) or, for exactly round(n * replace_fraction) of every n
// upserts so far, the id of a pool document drawn at random. Not
// thread-safe.
class WriteBatchMaker {
 public:
  // `pool` must not be empty.
  WriteBatchMaker(std::vector<v1::AnalyzedDocument> pool, WriteMix mix,
                  std::string new_id_prefix);

  v1::WriteRequest Next();

  // Upserts made so far: with new ids, and replacing an id of the pool.
  uint64_t new_documents() const { return new_documents_; }
  uint64_t replacements() const { return replacements_; }

 private:
  const std::vector<v1::AnalyzedDocument> pool_;
  const WriteMix mix_;
  const std::string new_id_prefix_;
  std::mt19937_64 random_;
  size_t next_text_ = 0;
  uint64_t upserts_ = 0;
  uint64_t new_documents_ = 0;
  uint64_t replacements_ = 0;
};

// ---------------------------------------------------------------------------
// Phases

// A latency distribution in milliseconds; percentiles are nearest-rank (see
// NearestRank). All zero when empty.
struct MillisSummary {
  size_t count = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};
MillisSummary SummarizeMillis(std::vector<double> millis);

// One phase: the writer commits back to back for `duration` while
// `search_threads` threads run searches back to back.
struct PhaseSpec {
  std::string name;
  int search_threads = 0;
  absl::Duration duration = absl::Seconds(20);
  // One search on search thread `thread` (0-based), called only from that
  // thread; returns the search's total hits. Without it no search thread
  // runs.
  std::function<absl::StatusOr<uint64_t>(int thread)> search;
};

// The writer, called from the thread that runs the phase only.
struct PhaseWriter {
  // Readies the next commit (building the request); not timed.
  std::function<absl::Status()> prepare;
  // Commits what `prepare` readied; its latency is the figure measured.
  std::function<absl::Status()> commit;
};

struct PhaseFigures {
  std::string name;
  int search_threads = 0;
  // The writer's window, in seconds: from its first prepare until it
  // stopped (after the prepare of the commit that would have started too
  // late, or after a failure).
  double seconds = 0;
  // Successful commits and their latencies.
  MillisSummary commits;
  // A failed prepare or commit ends the writer's part of the phase.
  uint64_t write_errors = 0;
  std::string first_write_error;
  // Searches that ran at least partly inside the writer's window, and
  // their latencies. Searches still running when the window closes are
  // waited for and counted; those started after it are not.
  MillisSummary searches;
  uint64_t search_errors = 0;
  std::string first_search_error;
  // Mean total hits of the successful searches counted.
  double mean_hits = 0;
};

// A monotonic clock; tests pass a fake one.
using SteadyNowFn = std::function<std::chrono::steady_clock::time_point()>;

// Runs the phase on the calling thread (the writer) and `search_threads`
// threads of its own, which it joins before returning. The writer starts
// only once every search thread has started its first search, so that
// each phase measures the load it names from its first commit; it commits
// as long as a commit would start before `duration` has passed.
PhaseFigures RunPhase(const PhaseSpec& spec, const PhaseWriter& writer,
                      const SteadyNowFn& now = std::chrono::steady_clock::now);

// writer p99 under long searches / writer p99 under short ones: near 1
// when commits do not wait for searches. nullopt when either phase has no
// commits or the short phase's p99 is 0.
std::optional<double> WriterP99Ratio(const PhaseFigures& long_searches,
                                     const PhaseFigures& short_searches);

}  // namespace sift::bench

#endif  // SIFT_BENCH_WRITE_LATENCY_H_
