#include "bench/shard_bench.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/corpus_reader.h"
#include "common/status/status_macros.h"
#include "common/sync/mutex.h"
#include "services/ingest/document_validator.h"
#include "services/ingest/ingest_handler.h"
#include "services/query/query_planner.h"

namespace sift::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Rejection reasons kept for the report; the rest are only counted.
constexpr size_t kSampleRejections = 5;

// Reads the corpus into batches of lines on one thread, prepares batches on
// `threads` threads (analysis and the index's PrepareWrite), and commits
// them in order on the thread that calls Run. A bounded queue of raw batches
// and a bounded window of prepared ones keep memory flat however large the
// corpus is.
class IndexingPipeline {
 public:
  IndexingPipeline(storage::Index& index, const analysis::Analyzer& analyzer,
                   const IndexingOptions& options)
      : index_(index),
        analyzer_(analyzer),
        batch_documents_(std::max<size_t>(1, options.batch_documents)),
        threads_(std::max(1, options.threads)),
        max_raw_(2 * static_cast<size_t>(threads_)),
        window_(static_cast<uint64_t>(threads_) + 2) {}

  absl::StatusOr<IndexingFigures> Run(CorpusReader& reader,
                                      Clock::time_point start) {
    std::thread read_thread([this, &reader] { ReadLoop(reader); });
    std::vector<std::thread> prepare_threads;
    for (int i = 0; i < threads_; ++i) {
      prepare_threads.emplace_back([this] { PrepareLoop(); });
    }
    ApplyLoop();
    const Clock::time_point end = Clock::now();
    read_thread.join();
    for (std::thread& thread : prepare_threads) thread.join();

    MutexLock lock(&mu_);
    if (!failure_.ok()) return failure_;
    figures_.input_bytes = input_bytes_;
    figures_.seconds = std::chrono::duration<double>(end - start).count();
    return figures_;
  }

 private:
  struct RawBatch {
    uint64_t sequence = 0;
    std::vector<std::string> lines;
  };
  struct PreparedBatch {
    // Boxed: the prepared write points into it.
    std::unique_ptr<v1::WriteRequest> request =
        std::make_unique<v1::WriteRequest>();
    // The index's own share of the work, done on the preparing thread.
    std::unique_ptr<storage::Index::PreparedWrite> write;
    uint64_t rejected = 0;
    std::vector<std::string> rejections;
    absl::Status failure;
  };

  void Fail(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    if (failure_.ok()) failure_ = std::move(status);
    changed_.SignalAll();
  }

  // False when the pipeline failed and reading should stop.
  bool Push(std::vector<std::string> lines) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock lock(&mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return raw_.size() < max_raw_ || !failure_.ok();
    };
    while (!room()) changed_.Wait(&mu_);
    if (!failure_.ok()) return false;
    raw_.push_back(RawBatch{batches_read_++, std::move(lines)});
    changed_.SignalAll();
    return true;
  }

  void ReadLoop(CorpusReader& reader) {
    std::vector<std::string> lines;
    std::string line;
    while (true) {
      absl::StatusOr<bool> more = reader.Next(&line);
      if (!more.ok()) {
        Fail(more.status());
        break;
      }
      if (!*more) break;
      lines.push_back(std::move(line));
      if (lines.size() == batch_documents_) {
        if (!Push(std::move(lines))) break;
        lines.clear();
      }
    }
    if (!lines.empty()) Push(std::move(lines));
    MutexLock lock(&mu_);
    reading_done_ = true;
    input_bytes_ = reader.bytes_read();
    changed_.SignalAll();
  }

  PreparedBatch Prepare(RawBatch raw) const {
    PreparedBatch prepared;
    const ingest::IngestLimits limits;
    for (std::string& line : raw.lines) {
      v1::DocumentInput input;
      input.set_json(std::move(line));
      ingest::PreparedDocument document =
          ingest::PrepareDocument(input, limits, analyzer_);
      if (!document.status.ok()) {
        ++prepared.rejected;
        if (prepared.rejections.size() < kSampleRejections) {
          prepared.rejections.emplace_back(document.status.message());
        }
        continue;
      }
      *prepared.request->add_ops()->mutable_upsert() =
          std::move(document.analyzed);
    }
    if (prepared.request->ops_size() > 0) {
      absl::StatusOr<std::unique_ptr<storage::Index::PreparedWrite>> write =
          index_.PrepareWrite(*prepared.request);
      if (!write.ok()) {
        prepared.failure = write.status();
      } else {
        prepared.write = *std::move(write);
      }
    }
    return prepared;
  }

  void PrepareLoop() {
    while (true) {
      RawBatch raw;
      {
        MutexLock lock(&mu_);
        auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !raw_.empty() || reading_done_ || !failure_.ok();
        };
        while (!work()) changed_.Wait(&mu_);
        if (!failure_.ok() || raw_.empty()) return;
        raw = std::move(raw_.front());
        raw_.pop_front();
        changed_.SignalAll();
        // Batches are taken in order, so the one the writer waits for is
        // never held back here.
        const uint64_t sequence = raw.sequence;
        auto in_window = [this, sequence]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return sequence < next_apply_ + window_ || !failure_.ok();
        };
        while (!in_window()) changed_.Wait(&mu_);
        if (!failure_.ok()) return;
      }
      const uint64_t sequence = raw.sequence;
      PreparedBatch prepared = Prepare(std::move(raw));
      MutexLock lock(&mu_);
      prepared_.emplace(sequence, std::move(prepared));
      changed_.SignalAll();
    }
  }

  void ApplyLoop() {
    while (true) {
      PreparedBatch batch;
      {
        MutexLock lock(&mu_);
        auto next = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return prepared_.count(next_apply_) > 0 ||
                 (reading_done_ && next_apply_ == batches_read_) ||
                 !failure_.ok();
        };
        while (!next()) changed_.Wait(&mu_);
        if (!failure_.ok()) return;
        auto it = prepared_.find(next_apply_);
        if (it == prepared_.end()) return;  // everything is applied
        batch = std::move(it->second);
        prepared_.erase(it);
      }
      if (!batch.failure.ok()) {
        Fail(batch.failure);
        return;
      }
      if (batch.write != nullptr) {
        absl::StatusOr<v1::WriteResponse> written =
            index_.CommitWrite(std::move(batch.write));
        if (!written.ok()) {
          Fail(written.status());
          return;
        }
      }
      MutexLock lock(&mu_);
      figures_.documents +=
          static_cast<uint64_t>(batch.request->ops_size()) + batch.rejected;
      figures_.accepted += static_cast<uint64_t>(batch.request->ops_size());
      figures_.rejected += batch.rejected;
      if (batch.request->ops_size() > 0) ++figures_.write_requests;
      for (std::string& reason : batch.rejections) {
        if (figures_.sample_rejections.size() >= kSampleRejections) break;
        figures_.sample_rejections.push_back(std::move(reason));
      }
      ++next_apply_;
      changed_.SignalAll();
    }
  }

  storage::Index& index_;
  const analysis::Analyzer& analyzer_;
  const size_t batch_documents_;
  const int threads_;
  const size_t max_raw_;
  const uint64_t window_;

  Mutex mu_;
  // Signalled (SignalAll) after every change to the state below that one
  // of the threads waits on: raw_, reading_done_, prepared_, next_apply_
  // and failure_.
  CondVar changed_;
  std::deque<RawBatch> raw_ ABSL_GUARDED_BY(mu_);
  // Batches handed out by the reader so far; the total once reading_done_.
  uint64_t batches_read_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_done_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t input_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<uint64_t, PreparedBatch> prepared_ ABSL_GUARDED_BY(mu_);
  uint64_t next_apply_ ABSL_GUARDED_BY(mu_) = 0;
  // The first error of any thread; every thread stops when it is set.
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  IndexingFigures figures_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<IndexingFigures> IndexCorpus(const std::string& path,
                                            storage::Index& index,
                                            const analysis::Analyzer& analyzer,
                                            const IndexingOptions& options) {
  const Clock::time_point start = Clock::now();
  SIFT_ASSIGN_OR_RETURN(std::unique_ptr<CorpusReader> reader,
                        CorpusReader::Open(path));
  IndexingPipeline pipeline(index, analyzer, options);
  return pipeline.Run(*reader, start);
}

ShardSearcher::ShardSearcher(const storage::Index& index,
                             const analysis::Analyzer& analyzer, uint32_t k,
                             v1::ScoringParams scoring, query::PlanOptions plan)
    : index_(index),
      analyzer_(analyzer),
      k_(k),
      scoring_(std::move(scoring)),
      plan_(plan) {}

absl::StatusOr<ShardQueryResult> ShardSearcher::Search(
    absl::string_view text, query::DefaultOperator default_operator) const {
  query::ParserOptions parser;
  parser.default_operator = default_operator;
  SIFT_ASSIGN_OR_RETURN(query::QueryPlan plan,
                        query::ParseAndPlan(text, parser, analyzer_, plan_));
  ShardQueryResult result;
  if (plan.matches_nothing) return result;

  v1::ShardSearchRequest request;
  // Global statistics as the coordinator gathers them, from the one shard
  // there is; a match-all query scores nothing and needs none.
  if (!plan.stats_terms.empty()) {
    v1::StatsRequest stats_request;
    v1::GlobalStats* stats = request.mutable_stats();
    for (const v1::TermRef& term : plan.stats_terms) {
      *stats_request.add_terms() = term;
      *stats->add_terms() = term;
    }
    SIFT_ASSIGN_OR_RETURN(std::vector<storage::TermKey> terms,
                          storage::DecodeStatsRequest(stats_request));
    SIFT_ASSIGN_OR_RETURN(storage::IndexStats shard, index_.Stats(terms));
    if (shard.doc_freqs.size() != terms.size()) {
      return absl::InternalError(
          absl::StrCat("Stats answered ", shard.doc_freqs.size(),
                       " document frequencies for ", terms.size(), " terms"));
    }
    stats->set_doc_count(shard.doc_count);
    stats->set_total_title_terms(shard.total_title_terms);
    stats->set_total_body_terms(shard.total_body_terms);
    for (uint64_t df : shard.doc_freqs) stats->add_doc_freqs(df);
  }
  *request.mutable_query() = std::move(plan.query);
  request.set_limit(k_);
  *request.mutable_scoring() = scoring_;
  // As the storage service runs it: decoded once, then the index.
  SIFT_ASSIGN_OR_RETURN(storage::ShardQuery query,
                        storage::DecodeShardQuery(request));
  SIFT_ASSIGN_OR_RETURN(storage::segment::SearchResult found,
                        index_.Search(query));
  result.total_hits = found.total_hits;
  result.total_hits_is_lower_bound = found.total_hits_is_lower_bound;
  result.ids.reserve(found.hits.size());
  result.scores.reserve(found.hits.size());
  for (storage::segment::SearchHit& hit : found.hits) {
    result.ids.push_back(std::move(hit.id));
    result.scores.push_back(hit.score);
  }
  return result;
}

void AppendTrecRun(absl::string_view qid, const ShardQueryResult& result,
                   absl::string_view tag, std::string* out) {
  for (size_t i = 0; i < result.ids.size(); ++i) {
    absl::StrAppendFormat(out, "%s Q0 %s %d %.6f %s\n", qid, result.ids[i],
                          i + 1, result.scores[i], tag);
  }
}

}  // namespace sift::bench
