#ifndef SIFT_SERVICES_QUERY_QUERY_HANDLER_H_
#define SIFT_SERVICES_QUERY_QUERY_HANDLER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/analysis/analyzer.h"
#include "common/highlight/highlights.h"
#include "services/query/page_token.h"
#include "services/query/query_parser.h"
#include "services/query/stats_cache.h"
#include "services/storage/shard_directory.h"
#include "services/storage/storage_client.h"
#include "sift/v1/query.pb.h"
#include "sift/v1/storage.pb.h"

namespace sift::query {

// Most hits a search with `explain` may reach (offset + page_size): each
// shard explains every hit it returns, so this bounds the work and the size
// of its answer. Deeper pages come with page tokens.
inline constexpr uint32_t kMaxExplainHits = 100;

// Limits and defaults of the coordinator; each is a flag of sift-query.
struct QueryOptions {
  // Longest a request may take when the client sets no shorter deadline.
  // The request's budget ends at min(client deadline less a margin for
  // answering (a tenth of the time left, at most 100 ms), now + timeout);
  // the statistics phase may use a quarter of it and the search phase three
  // quarters of what then remains, so that a hung shard cannot use it all.
  // Every shard call carries its phase's deadline.
  absl::Duration timeout = absl::Seconds(10);
  // Page size when the request says 0.
  uint32_t default_page_size = 10;
  uint32_t max_page_size = 1000;
  // Deepest hit a search can reach: offset + page_size at most this.
  uint32_t max_result_window = 10000;
  // Query language limits (ParserOptions).
  size_t max_query_bytes = 4096;
  size_t max_clauses = 256;
  size_t max_depth = 32;
  // Leave English stop words out of queries where the language allows it
  // (PlanOptions).
  bool drop_stop_words = true;
  // Target length of body snippets, in bytes, when the request's
  // highlight_options.fragment_bytes is 0.
  size_t snippet_bytes = 200;
  // BM25F parameters sent to the shards; zeros mean the shards' defaults.
  v1::ScoringParams scoring;
  // Over several shards, keep the statistics shards answer and search with
  // them, each shard checking that its own are still of the state they
  // came from (StatsCache): a search of known terms on a collection that
  // is not changing then makes one round of calls instead of two.
  bool cache_stats = true;
};

// The query coordinator's logic: validates requests, plans queries, fans
// them out to every storage shard with a deadline, and merges the answers.
// Shard i is the shard that ShardForId(id, shards.size()) names.
//
// Thread-safe: every method is const and may run on any number of threads
// at once. Methods block until their shard calls finish (at the latest at
// the deadline), so call them from an executor, never from a gRPC reaction.
class QueryHandler {
 public:
  // `analyzer` is not owned and must outlive the handler.
  QueryHandler(std::vector<std::unique_ptr<storage::StorageClient>> shards,
               const analysis::Analyzer* analyzer, QueryOptions options);
  // Shards as `directory` says, looked up for every request: reads go to
  // any in-sync copy of a shard, and to another when one fails.
  QueryHandler(std::shared_ptr<const storage::ShardDirectory> directory,
               const analysis::Analyzer* analyzer, QueryOptions options);

  QueryHandler(const QueryHandler&) = delete;
  QueryHandler& operator=(const QueryHandler&) = delete;

  // Runs a search. `deadline` is the client's (absl::InfiniteFuture() for
  // none). Errors: INVALID_ARGUMENT naming the field (query, with a column;
  // page_size; offset; page_token; filters.*; sort; default_operator;
  // facets[i].*, also for a date histogram with too many buckets;
  // highlight_options.pre_tag, .post_tag (over 64 bytes or not UTF-8) and
  // .fragment_bytes (not 0 and outside 16 to 4096); page_size or offset
  // when `explain` asks for more than kMaxExplainHits);
  // UNAVAILABLE when no shard answers (or the code every shard failed with,
  // when they agree on one that retrying will not fix). When only some
  // shards answer, the response has `partial` set and one entry in
  // `shard_errors` per shard that failed.
  //
  // Paging: a first page may skip `offset` hits (offset + page_size at most
  // max_result_window). Its next_page_token, and every later one, holds the
  // sort key of the page's last hit and the first page's statistics; pages
  // from a token ask the shards for the hits after that key, scored with
  // those statistics, so they cost the same at any depth and keep their
  // order while documents are added (docs/paging.md). `explain` changes
  // neither the hits nor the tokens: each hit then carries the explanation
  // its shard computed. No token is issued
  // when a shard's hits are missing from the page (it failed in the stats
  // or search phase): retrying the same request resumes where it was.
  absl::StatusOr<v1::SearchResponse> Search(const v1::SearchRequest& request,
                                            absl::Time deadline) const;
  // True when the collection is one shard: then a search makes only
  // blocking calls, each answered on the calling thread.
  bool OneShard() const { return directory_->shard_count() == 1; }

  // The stored document with the request's id, from the shard that owns it.
  // INVALID_ARGUMENT for a missing or over-long id; NOT_FOUND when there is
  // no such document; the shard's error (UNAVAILABLE, DEADLINE_EXCEEDED...)
  // when it does not answer.
  absl::StatusOr<v1::GetResponse> Get(const v1::GetRequest& request,
                                      absl::Time deadline) const;

  // Documents and disk bytes of every shard; a shard that does not answer
  // is listed with its error and left out of the totals. Never fails.
  v1::ClusterStatsResponse ClusterStats(absl::Time deadline) const;

  size_t num_shards() const { return directory_->shard_count(); }

 private:
  // What validation makes of a request.
  struct Page {
    uint32_t page_size = 0;
    // Hits to skip: the request's offset on a first page, 0 with a token.
    uint64_t offset = 0;
    uint64_t fingerprint = 0;
    // From the page token: where the page starts, and the statistics to
    // score with.
    std::optional<PageCursor> cursor;
    v1::SortOrder sort = v1::SORT_ORDER_RELEVANCE;
    DefaultOperator default_operator = DefaultOperator::kOr;
    // The request's filters with keyword values normalised.
    v1::Filters filters;
    // The request's facets with defaults filled in (ValidateFacets).
    std::vector<v1::FacetRequest> facets;
    // The request's highlight_options over the server's defaults.
    highlight::SnippetOptions snippet;
  };

  absl::StatusOr<Page> Validate(const v1::SearchRequest& request) const;
  absl::Time DeadlineFrom(absl::Time incoming) const;

  std::shared_ptr<const storage::ShardDirectory> directory_;
  const analysis::Analyzer* const analyzer_;
  const QueryOptions options_;
  mutable StatsCache stats_cache_;
};

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_QUERY_HANDLER_H_
