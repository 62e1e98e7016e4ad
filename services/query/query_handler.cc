#include "services/query/query_handler.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/analysis/utf8.h"
#include "common/highlight/hit_view.h"
#include "common/routing/shard_router.h"
#include "common/status/status_macros.h"
#include "common/sync/mutex.h"
#include "services/query/facets.h"
#include "services/query/hit_merge.h"
#include "services/query/page_token.h"
#include "services/query/query_planner.h"

namespace sift::query {
namespace {

// Same bound as Document.id in document.proto.
constexpr size_t kMaxIdBytes = 512;
// Longest source or tag value the shards accept.
constexpr size_t kMaxKeywordBytes = 4096;
// Limits of HighlightOptions (query.proto), the shards' own
// (common/highlight/highlights.h).
using highlight::kMaxFragmentBytes;
using highlight::kMaxTagBytes;
using highlight::kMinFragmentBytes;

// Shares of the time left that the Stats and the Search phases of a search
// may use; Fetch has whatever remains. A shard that hangs then costs a
// quarter of the budget, not all of it, and the shards that answered still
// have time to search and fetch.
constexpr double kStatsShare = 0.25;
constexpr double kSearchShare = 0.75;
// With several shards, each returns the documents of its first hits with
// them when a page ends this early: the few documents no page shows cost
// less than a fetch round; deeper pages fetch what they show.
constexpr uint64_t kMaxInlineDocumentsRank = 20;

absl::Time PhaseDeadline(absl::Time deadline, double share) {
  const absl::Time now = absl::Now();
  if (deadline <= now) return deadline;
  return now + (deadline - now) * share;
}

// Collects the answers of parallel shard calls. Callbacks may outlive the
// caller's stack frame in principle, so they share the state.
template <typename Resp>
class Gather {
 public:
  explicit Gather(size_t calls) : state_(std::make_shared<State>(calls)) {}

  // The callback for call `i`.
  storage::StorageClient::Callback<Resp> Slot(size_t i) {
    return [state = state_, i](absl::StatusOr<Resp> result) {
      MutexLock lock(&state->mu);
      state->results[i] = std::move(result);
      if (--state->pending == 0) state->all_answered.SignalAll();
    };
  }

  // Blocks until every call has answered; each call carries a deadline, so
  // this returns by then.
  std::vector<absl::StatusOr<Resp>> Wait() {
    MutexLock lock(&state_->mu);
    while (state_->pending != 0) state_->all_answered.Wait(&state_->mu);
    return std::move(state_->results);
  }

 private:
  struct State {
    explicit State(size_t calls)
        : pending(calls),
          results(calls, absl::StatusOr<Resp>(absl::UnknownError(
                             "the shard call did not complete"))) {}
    Mutex mu;
    // Signalled when pending drops to 0.
    CondVar all_answered;
    size_t pending ABSL_GUARDED_BY(mu);
    std::vector<absl::StatusOr<Resp>> results ABSL_GUARDED_BY(mu);
  };
  std::shared_ptr<State> state_;
};

// The answers of `n` shard calls made at once: `async(k, done)` starts
// call k, whose answer comes on a gRPC thread. A single call is made with
// `blocking(0)` instead, answered on this thread: nothing to overlap it
// with, and it saves two thread hand-offs, which on a small virtual machine
// cost more than a one-term search.
template <typename Resp>
std::vector<absl::StatusOr<Resp>> AllAnswers(
    size_t n, absl::FunctionRef<absl::StatusOr<Resp>(size_t)> blocking,
    absl::FunctionRef<void(size_t, storage::StorageClient::Callback<Resp>)>
        async) {
  if (n == 1) {
    std::vector<absl::StatusOr<Resp>> answers;
    answers.push_back(blocking(0));
    return answers;
  }
  Gather<Resp> gather(n);
  for (size_t k = 0; k < n; ++k) async(k, gather.Slot(k));
  return gather.Wait();
}

// Adds a shard's statistics to `stats`, whose terms are those of
// `share.doc_freqs`.
void AddCopyStats(const CopyStats& share, v1::GlobalStats& stats) {
  stats.set_doc_count(stats.doc_count() + share.doc_count);
  stats.set_total_title_terms(stats.total_title_terms() +
                              share.total_title_terms);
  stats.set_total_body_terms(stats.total_body_terms() + share.total_body_terms);
  for (size_t t = 0; t < share.doc_freqs.size(); ++t) {
    const int i = static_cast<int>(t);
    stats.set_doc_freqs(i, stats.doc_freqs(i) + share.doc_freqs[t]);
  }
}

// Whether two sets of statistics for the same terms count the same.
bool SameCounts(const v1::GlobalStats& a, const v1::GlobalStats& b) {
  return a.doc_count() == b.doc_count() &&
         a.total_title_terms() == b.total_title_terms() &&
         a.total_body_terms() == b.total_body_terms() &&
         std::equal(a.doc_freqs().begin(), a.doc_freqs().end(),
                    b.doc_freqs().begin(), b.doc_freqs().end());
}

// A shard's statistics as a Stats call (StatsResponse) or a stale search
// answer (GlobalStats) carries them: the same fields.
template <typename Stats>
CopyStats CopyStatsOf(const Stats& stats, uint64_t version) {
  CopyStats share;
  share.version = version;
  share.doc_count = stats.doc_count();
  share.total_title_terms = stats.total_title_terms();
  share.total_body_terms = stats.total_body_terms();
  share.doc_freqs.assign(stats.doc_freqs().begin(), stats.doc_freqs().end());
  return share;
}

std::string ShardError(size_t shard, const absl::Status& status) {
  return absl::StrCat("shard ", shard, ": ",
                      absl::StatusCodeToString(status.code()), ": ",
                      status.message());
}

// The error for a search no shard answered: the code all shards agree on
// when retrying would not help, UNAVAILABLE otherwise.
absl::Status NoShardAnswered(const std::map<size_t, absl::Status>& errors) {
  std::vector<std::string> parts;
  absl::StatusCode code = errors.begin()->second.code();
  for (const auto& [shard, status] : errors) {
    parts.push_back(ShardError(shard, status));
    if (status.code() != code) code = absl::StatusCode::kUnavailable;
  }
  if (code == absl::StatusCode::kDeadlineExceeded ||
      code == absl::StatusCode::kCancelled ||
      code == absl::StatusCode::kUnknown) {
    code = absl::StatusCode::kUnavailable;
  }
  return absl::Status(
      code, absl::StrCat("no shard answered: ", absl::StrJoin(parts, "; ")));
}

bool IsValidTimestamp(const google::protobuf::Timestamp& t) {
  // The range of google.protobuf.Timestamp: 0001-01-01 to 9999-12-31.
  return t.seconds() >= -62135596800 && t.seconds() <= 253402300799 &&
         t.nanos() >= 0 && t.nanos() <= 999999999;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FormatTime(
      "%Y-%m-%dT%H:%M:%E*SZ",
      absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos()),
      absl::UTCTimeZone());
}

bool IsDateOrder(v1::SortOrder sort) {
  return sort == v1::SORT_ORDER_PUBLISHED_DESC ||
         sort == v1::SORT_ORDER_PUBLISHED_ASC;
}

// The sort key of `hit` in `sort` order, for resuming after it.
v1::SearchAfter SortKeyOf(const v1::ShardHit& hit, v1::SortOrder sort) {
  v1::SearchAfter after;
  after.set_id(hit.id());
  if (!IsDateOrder(sort)) {
    after.set_score(hit.score());
  } else if (hit.has_published_at()) {
    *after.mutable_published_at() = hit.published_at();
  } else {
    after.set_undated(true);
  }
  return after;
}

bool TimestampLess(const google::protobuf::Timestamp& a,
                   const google::protobuf::Timestamp& b) {
  return a.seconds() != b.seconds() ? a.seconds() < b.seconds()
                                    : a.nanos() < b.nanos();
}

// Normalises keyword filter values as the shards index them.
absl::Status NormalizeKeywords(
    const analysis::Analyzer& analyzer, absl::string_view field,
    google::protobuf::RepeatedPtrField<std::string>* values) {
  for (int i = 0; i < values->size(); ++i) {
    absl::StatusOr<std::string> value =
        analyzer.NormalizeKeyword(values->Get(i));
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "filters.", field, "[", i, "]: ", value.status().message()));
    }
    if (value->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("filters.", field, "[", i, "]: empty value"));
    }
    if (value->size() > kMaxKeywordBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("filters.", field, "[", i, "]: ", value->size(),
                       " bytes is over the limit of ", kMaxKeywordBytes));
    }
    *values->Mutable(i) = *std::move(value);
  }
  return absl::OkStatus();
}

// Whether a shard's answer holds one count per facet asked for, in order.
bool AnswersFacets(const std::vector<v1::FacetRequest>& facets,
                   const v1::ShardSearchResponse& answer) {
  if (static_cast<size_t>(answer.facets_size()) != facets.size()) return false;
  for (size_t f = 0; f < facets.size(); ++f) {
    if (!FacetAnswers(facets[f], answer.facets(static_cast<int>(f)))) {
      return false;
    }
  }
  return true;
}

// One marker of HighlightOptions, `field` naming it in errors.
absl::Status ValidateHighlightTag(absl::string_view field,
                                  const std::string& tag) {
  if (tag.size() > kMaxTagBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("highlight_options.", field, ": ", tag.size(),
                     " bytes is over the limit of ", kMaxTagBytes));
  }
  absl::Status utf8 = analysis::ValidateUtf8(tag);
  if (!utf8.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("highlight_options.", field, ": ", utf8.message()));
  }
  return absl::OkStatus();
}

// The snippet options a request asks for, over the server's defaults.
absl::StatusOr<highlight::SnippetOptions> ValidateHighlightOptions(
    const v1::HighlightOptions& request, size_t default_fragment_bytes) {
  highlight::SnippetOptions options;
  options.fragment_bytes = default_fragment_bytes;
  if (request.has_pre_tag()) {
    SIFT_RETURN_IF_ERROR(ValidateHighlightTag("pre_tag", request.pre_tag()));
    options.pre_tag = request.pre_tag();
  }
  if (request.has_post_tag()) {
    SIFT_RETURN_IF_ERROR(ValidateHighlightTag("post_tag", request.post_tag()));
    options.post_tag = request.post_tag();
  }
  options.html_escape = request.html_escape();
  if (request.fragment_bytes() != 0) {
    if (request.fragment_bytes() < kMinFragmentBytes ||
        request.fragment_bytes() > kMaxFragmentBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "highlight_options.fragment_bytes: ", request.fragment_bytes(),
          " is outside ", kMinFragmentBytes, " to ", kMaxFragmentBytes,
          " (0 means the server's default)"));
    }
    options.fragment_bytes = request.fragment_bytes();
  }
  return options;
}

// Moves what `view` shows into `hit`.
void FillHit(v1::HitView& view, v1::Hit* hit) {
  hit->set_title(std::move(*view.mutable_title()));
  hit->set_source(std::move(*view.mutable_source()));
  if (view.has_published_at()) {
    *hit->mutable_published_at() = view.published_at();
  }
  hit->mutable_tags()->Swap(view.mutable_tags());
  hit->set_url(std::move(*view.mutable_url()));
  if (view.has_title_snippet()) {
    hit->mutable_title_snippet()->Swap(view.mutable_title_snippet());
  }
  if (view.has_snippet()) hit->mutable_snippet()->Swap(view.mutable_snippet());
}

// The views of `results` (whole documents, from a shard that predates
// views), as such a shard would have made them.
void AddViewsOf(
    const google::protobuf::RepeatedPtrField<v1::FetchResult>& results,
    const highlight::HitViewOptions& options,
    const analysis::Analyzer& analyzer,
    absl::flat_hash_map<std::string, v1::HitView>& views) {
  for (const v1::FetchResult& result : results) {
    views.emplace(result.id(),
                  highlight::MakeHitView(result, options, analyzer));
  }
}

void AddViews(google::protobuf::RepeatedPtrField<v1::HitView>& from,
              absl::flat_hash_map<std::string, v1::HitView>& views) {
  for (v1::HitView& view : from) {
    std::string id = view.id();
    views.emplace(std::move(id), std::move(view));
  }
}

}  // namespace

QueryHandler::QueryHandler(
    std::vector<std::unique_ptr<storage::StorageClient>> shards,
    const analysis::Analyzer* analyzer, QueryOptions options)
    : QueryHandler(
          std::make_shared<storage::StaticShardDirectory>(std::move(shards)),
          analyzer, std::move(options)) {}

QueryHandler::QueryHandler(
    std::shared_ptr<const storage::ShardDirectory> directory,
    const analysis::Analyzer* analyzer, QueryOptions options)
    : directory_(std::move(directory)),
      analyzer_(analyzer),
      options_(std::move(options)) {}

absl::Time QueryHandler::DeadlineFrom(absl::Time incoming) const {
  const absl::Time now = absl::Now();
  // Shards must give up a little before the client does, so that there is
  // still time to send the client what the other shards found.
  const absl::Duration margin =
      std::min((incoming - now) / 10, absl::Milliseconds(100));
  return std::min(incoming - std::max(margin, absl::ZeroDuration()),
                  now + options_.timeout);
}

absl::StatusOr<QueryHandler::Page> QueryHandler::Validate(
    const v1::SearchRequest& request) const {
  Page page;
  page.page_size = request.page_size() == 0 ? options_.default_page_size
                                            : request.page_size();
  if (page.page_size > options_.max_page_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: ", request.page_size(),
                     " is over the limit of ", options_.max_page_size));
  }
  if (request.explain() && page.page_size > kMaxExplainHits) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: ", page.page_size, " is over the limit of ",
                     kMaxExplainHits, " with explain"));
  }
  if (!v1::SortOrder_IsValid(request.sort())) {
    return absl::InvalidArgumentError(
        absl::StrCat("sort: unknown value ", request.sort(),
                     "; use SORT_ORDER_RELEVANCE, SORT_ORDER_PUBLISHED_DESC or "
                     "SORT_ORDER_PUBLISHED_ASC"));
  }
  if (request.sort() != v1::SORT_ORDER_UNSPECIFIED) page.sort = request.sort();
  if (!v1::DefaultOperator_IsValid(request.default_operator())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "default_operator: unknown value ", request.default_operator(),
        "; use DEFAULT_OPERATOR_OR or DEFAULT_OPERATOR_AND"));
  }
  if (request.default_operator() == v1::DEFAULT_OPERATOR_AND) {
    page.default_operator = DefaultOperator::kAnd;
  }

  page.filters = request.filters();
  v1::Filters& filters = page.filters;
  auto check_time = [](absl::string_view name, bool present,
                       const google::protobuf::Timestamp& time) {
    if (!present || IsValidTimestamp(time)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("filters.", name,
                     ": not a valid timestamp (seconds must lie in years 1 "
                     "to 9999 and nanos in 0 to 999999999)"));
  };
  SIFT_RETURN_IF_ERROR(check_time("published_from",
                                  filters.has_published_from(),
                                  filters.published_from()));
  SIFT_RETURN_IF_ERROR(check_time("published_to", filters.has_published_to(),
                                  filters.published_to()));
  if (filters.has_published_from() && filters.has_published_to() &&
      TimestampLess(filters.published_to(), filters.published_from())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "filters.published_from (", FormatTimestamp(filters.published_from()),
        ") is after filters.published_to (",
        FormatTimestamp(filters.published_to()), ")"));
  }
  SIFT_RETURN_IF_ERROR(
      NormalizeKeywords(*analyzer_, "sources", filters.mutable_sources()));
  SIFT_RETURN_IF_ERROR(
      NormalizeKeywords(*analyzer_, "tags", filters.mutable_tags()));
  SIFT_ASSIGN_OR_RETURN(page.facets, ValidateFacets(request.facets()));
  SIFT_ASSIGN_OR_RETURN(page.snippet,
                        ValidateHighlightOptions(request.highlight_options(),
                                                 options_.snippet_bytes));

  page.fingerprint = SearchFingerprint(request, page.page_size);
  if (!request.page_token().empty()) {
    SIFT_ASSIGN_OR_RETURN(PageCursor cursor,
                          DecodePageToken(request.page_token()));
    if (cursor.fingerprint != page.fingerprint) {
      return absl::InvalidArgumentError(
          "page_token: belongs to a different search; query, filters, sort, "
          "default_operator and page_size must equal those of the first "
          "request");
    }
    if (request.offset() != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "offset: must be 0 with a page_token, got ", request.offset(),
          "; the token already says where the next page starts"));
    }
    const bool date_key =
        cursor.after.has_published_at() || cursor.after.undated();
    if (date_key != IsDateOrder(page.sort)) {
      return absl::InvalidArgumentError(
          "page_token: damaged (its sort key does not fit the sort order)");
    }
    // No depth limit: the shards return the hits after the cursor, so a
    // deep page costs what the first does.
    page.cursor = std::move(cursor);
  } else {
    page.offset = request.offset();
    if (page.offset + page.page_size > options_.max_result_window) {
      return absl::InvalidArgumentError(absl::StrCat(
          "offset: offset + page_size is ", page.offset + page.page_size,
          ", over the limit of ", options_.max_result_window,
          "; page further with next_page_token, or narrow the query with "
          "filters"));
    }
    if (request.explain() && page.offset + page.page_size > kMaxExplainHits) {
      return absl::InvalidArgumentError(absl::StrCat(
          "offset: offset + page_size is ", page.offset + page.page_size,
          ", over the limit of ", kMaxExplainHits,
          " with explain; page further with next_page_token"));
    }
  }
  return page;
}

absl::StatusOr<v1::SearchResponse> QueryHandler::Search(
    const v1::SearchRequest& request, absl::Time incoming_deadline) const {
  const absl::Time start = absl::Now();
  // Where each shard's copies are now: one lookup for the whole search.
  const std::vector<std::shared_ptr<const storage::ShardReader>> shards =
      directory_->Readers();
  // Each shard's rounds of this search start at one copy.
  std::vector<storage::ShardReader::Pick> picks(shards.size());
  std::vector<size_t> copy(shards.size());
  for (size_t s = 0; s < shards.size(); ++s) {
    picks[s] = shards[s]->PickCopy();
    copy[s] = picks[s].index();
  }
  const absl::Time deadline = DeadlineFrom(incoming_deadline);
  SIFT_ASSIGN_OR_RETURN(Page page, Validate(request));
  ParserOptions parser;
  parser.default_operator = page.default_operator;
  parser.max_query_bytes = options_.max_query_bytes;
  parser.max_clauses = options_.max_clauses;
  parser.max_depth = options_.max_depth;
  PlanOptions plan_options;
  plan_options.drop_stop_words = options_.drop_stop_words;
  SIFT_ASSIGN_OR_RETURN(QueryPlan plan, ParseAndPlan(request.query(), parser,
                                                     *analyzer_, plan_options));

  v1::SearchResponse response;
  auto finish = [&response, start] {
    response.set_elapsed_micros(
        static_cast<uint64_t>(absl::ToInt64Microseconds(absl::Now() - start)));
  };
  if (plan.matches_nothing) {
    // Facets of no match: every count zero, one result per facet still.
    for (size_t f = 0; f < page.facets.size(); ++f) {
      SIFT_ASSIGN_OR_RETURN(
          *response.add_facets(),
          MergeFacet(page.facets[f], {}, absl::StrCat("facets[", f, "]")));
    }
    finish();
    return response;
  }
  if (shards.empty()) {
    return absl::UnavailableError("no storage shards are configured");
  }

  // Shards that failed so far, by number; a shard that fails one phase is
  // left out of the later ones.
  std::map<size_t, absl::Status> errors;
  std::vector<size_t> live(shards.size());
  for (size_t i = 0; i < live.size(); ++i) live[i] = i;

  // Global statistics, so that a document scores the same however the
  // collection is sharded. A match-all query scores nothing and skips this;
  // pages after the first reuse the first page's, which their token holds.
  v1::GlobalStats stats;
  // The address of the copy a shard's rounds start at: what its kept
  // statistics are filed under.
  auto copy_address = [&](size_t shard) -> absl::string_view {
    const auto& copies = shards[shard]->copies();
    return copy[shard] < copies.size() ? copies[copy[shard]]->address()
                                       : absl::string_view();
  };
  // With statistics from the cache: each shard's share of them, by shard.
  std::vector<CopyStats> kept;
  // Every shard's kept statistics for the plan's terms; none unless every
  // shard has them.
  auto kept_stats = [&]() {
    std::vector<CopyStats> found;
    const absl::Time now = absl::Now();
    for (size_t shard = 0; shard < shards.size(); ++shard) {
      const absl::string_view address = copy_address(shard);
      std::optional<CopyStats> share =
          address.empty() ? std::nullopt
                          : stats_cache_.Find(address, plan.stats_terms, now);
      if (!share) return std::vector<CopyStats>();
      found.push_back(*std::move(share));
    }
    return found;
  };
  // The statistics round: every live shard's counts for plan.stats_terms,
  // summed into `stats` (whose terms are set); a shard that fails is left
  // out of the later rounds.
  auto gather_stats = [&]() -> absl::Status {
    v1::StatsRequest stats_request;
    for (const v1::TermRef& term : plan.stats_terms) {
      *stats_request.add_terms() = term;
    }
    for (int t = 0; t < stats.doc_freqs_size(); ++t) stats.set_doc_freqs(t, 0);
    stats.set_doc_count(0);
    stats.set_total_title_terms(0);
    stats.set_total_body_terms(0);
    const absl::Time stats_deadline = PhaseDeadline(deadline, kStatsShare);
    std::vector<absl::StatusOr<v1::StatsResponse>> answers =
        AllAnswers<v1::StatsResponse>(
            live.size(),
            [&](size_t k) {
              return shards[live[k]]->Stats(copy[live[k]], stats_request,
                                            stats_deadline);
            },
            [&](size_t k,
                storage::StorageClient::Callback<v1::StatsResponse> done) {
              shards[live[k]]->StatsAsync(copy[live[k]], stats_request,
                                          stats_deadline, std::move(done));
            });
    std::vector<size_t> answered;
    for (size_t k = 0; k < live.size(); ++k) {
      absl::StatusOr<v1::StatsResponse>& answer = answers[k];
      if (answer.ok() &&
          answer->doc_freqs_size() != stats_request.terms_size()) {
        answer = absl::InternalError(
            absl::StrCat("Stats answered ", answer->doc_freqs_size(),
                         " document frequencies for ",
                         stats_request.terms_size(), " terms"));
      }
      if (!answer.ok()) {
        errors.emplace(live[k], answer.status());
        continue;
      }
      stats.set_doc_count(stats.doc_count() + answer->doc_count());
      stats.set_total_title_terms(stats.total_title_terms() +
                                  answer->total_title_terms());
      stats.set_total_body_terms(stats.total_body_terms() +
                                 answer->total_body_terms());
      for (int t = 0; t < answer->doc_freqs_size(); ++t) {
        stats.set_doc_freqs(t, stats.doc_freqs(t) + answer->doc_freqs(t));
      }
      if (options_.cache_stats) {
        stats_cache_.Store(copy_address(live[k]), plan.stats_terms,
                           CopyStatsOf(*answer, answer->stats_version()));
      }
      answered.push_back(live[k]);
    }
    live = std::move(answered);
    if (live.empty()) return NoShardAnswered(errors);
    return absl::OkStatus();
  };
  if (page.cursor) {
    const std::optional<FrozenStats>& frozen = page.cursor->stats;
    const size_t frozen_terms = frozen ? frozen->doc_freqs.size() : 0;
    if (frozen.has_value() != !plan.stats_terms.empty() ||
        frozen_terms != plan.stats_terms.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "page_token: its statistics cover ", frozen_terms,
          " terms, the query has ", plan.stats_terms.size(),
          "; was the server upgraded? Start again from the first page"));
    }
    if (frozen) {
      stats.set_doc_count(frozen->doc_count);
      stats.set_total_title_terms(frozen->total_title_terms);
      stats.set_total_body_terms(frozen->total_body_terms);
      for (size_t t = 0; t < frozen_terms; ++t) {
        *stats.add_terms() = plan.stats_terms[t];
        stats.add_doc_freqs(frozen->doc_freqs[t]);
      }
    }
  } else if (!plan.stats_terms.empty()) {
    for (const v1::TermRef& term : plan.stats_terms) {
      *stats.add_terms() = term;
      stats.add_doc_freqs(0);
    }
    // A single shard's statistics are the collection's: it scores with its
    // own, in the search round (shard_stats), unless it predates that.
    if (shards.size() > 1) {
      if (options_.cache_stats) kept = kept_stats();
      if (kept.empty()) {
        SIFT_RETURN_IF_ERROR(gather_stats());
      } else {
        for (const CopyStats& share : kept) AddCopyStats(share, stats);
      }
    }
  }

  // Each shard's top offset + page_size, after the cursor if there is one
  // (then the offset is 0), and one more: whether the merge finds a hit
  // past the page says whether there is a next page.
  const uint64_t page_end = page.offset + page.page_size;
  v1::ShardSearchRequest search;
  *search.mutable_query() = plan.query;
  *search.mutable_filters() = page.filters;
  search.set_limit(static_cast<uint32_t>(page_end + 1));
  search.set_sort(page.sort);
  if (page.cursor) *search.mutable_search_after() = page.cursor->after;
  *search.mutable_stats() = stats;
  *search.mutable_scoring() = options_.scoring;
  search.set_explain(request.explain());
  for (const v1::FacetRequest& facet : page.facets) {
    *search.add_facets() = facet;
  }
  // The shards return the documents a page may show with their hits,
  // which saves the fetch round: with one shard, exactly the page's; with
  // several, each its first page_end when that is small.
  const bool one_shard = shards.size() == 1;
  if (one_shard) {
    search.set_documents_from(static_cast<uint32_t>(page.offset));
    search.set_documents_count(static_cast<uint32_t>(page.page_size));
  } else if (page_end <= kMaxInlineDocumentsRank) {
    search.set_documents_count(static_cast<uint32_t>(page_end));
  }
  search.set_shard_stats(one_shard && !page.cursor &&
                         !plan.stats_terms.empty());
  // What the page's hits show, made by the shards that hold them: no body
  // travels, and each shard highlights its own hits.
  highlight::HitViewOptions view_options;
  view_options.highlight = !request.has_highlight() || request.highlight();
  if (view_options.highlight) {
    view_options.title = plan.title_highlights;
    view_options.body = plan.body_highlights;
    view_options.snippet = page.snippet;
  }
  const v1::HitViewRequest view = highlight::ToProto(view_options);
  if (search.documents_count() > 0) *search.mutable_view() = view;
  std::vector<ShardHitRef> candidates;
  // The facet counts of each shard that answered, by facet.
  std::vector<std::vector<v1::ShardFacetCounts>> shard_facets(
      page.facets.size());
  uint64_t total_hits = 0;
  bool total_is_lower_bound = false;
  // What the page's hits show, as the shards returned it, by id.
  absl::flat_hash_map<std::string, v1::HitView> views;
  {
    const absl::Time search_deadline = PhaseDeadline(deadline, kSearchShare);
    // With kept statistics, each shard's request names the version its
    // share came from; otherwise every shard gets `search`.
    std::vector<v1::ShardSearchRequest> versioned;
    if (!kept.empty()) {
      versioned.assign(shards.size(), search);
      for (size_t shard = 0; shard < shards.size(); ++shard) {
        versioned[shard].set_stats_version(kept[shard].version);
      }
    }
    auto request_for = [&](size_t shard) -> const v1::ShardSearchRequest& {
      return versioned.empty() ? search : versioned[shard];
    };
    // Answers by position in `live`.
    std::vector<absl::StatusOr<v1::ShardSearchResponse>> answers(
        live.size(), absl::UnknownError("not asked"));
    // Searches the shards live[k], for k in `which`.
    auto search_some = [&](const std::vector<size_t>& which) {
      std::vector<absl::StatusOr<v1::ShardSearchResponse>> got =
          AllAnswers<v1::ShardSearchResponse>(
              which.size(),
              [&](size_t i) {
                const size_t shard = live[which[i]];
                return shards[shard]->Search(copy[shard], request_for(shard),
                                             search_deadline);
              },
              [&](size_t i,
                  storage::StorageClient::Callback<v1::ShardSearchResponse>
                      done) {
                const size_t shard = live[which[i]];
                shards[shard]->SearchAsync(copy[shard], request_for(shard),
                                           search_deadline, std::move(done));
              });
      for (size_t i = 0; i < which.size(); ++i) {
        answers[which[i]] = std::move(got[i]);
      }
    };
    std::vector<size_t> every(live.size());
    for (size_t k = 0; k < every.size(); ++k) every[k] = k;
    search_some(every);
    if (search.shard_stats() && answers[0].ok() && !answers[0]->has_stats()) {
      // A shard of an earlier version scored with no statistics: ask for
      // them, then search again with them.
      search.set_shard_stats(false);
      SIFT_RETURN_IF_ERROR(gather_stats());
      *search.mutable_stats() = stats;
      search_some(every);
    }
    if (!versioned.empty()) {
      // A shard whose statistics changed since they were kept searched
      // nothing and answered its statistics as they are now: search again
      // with those, as after a statistics round.
      std::vector<size_t> stale;
      std::vector<CopyStats> shares = std::move(kept);
      for (size_t k = 0; k < live.size(); ++k) {
        absl::StatusOr<v1::ShardSearchResponse>& answer = answers[k];
        if (!answer.ok() || !answer->stale_stats()) continue;
        if (answer->stats().doc_freqs_size() != stats.terms_size()) {
          answer = absl::InternalError(absl::StrCat(
              "Search answered ", answer->stats().doc_freqs_size(),
              " document frequencies for ", stats.terms_size(), " terms"));
          continue;
        }
        CopyStats share = CopyStatsOf(answer->stats(), answer->stats_version());
        const absl::string_view address = copy_address(live[k]);
        stats_cache_.Store(address, plan.stats_terms, share);
        stats_cache_.MarkChanged(address, absl::Now());
        shares[live[k]] = std::move(share);
        stale.push_back(k);
      }
      versioned.clear();
      if (!stale.empty()) {
        v1::GlobalStats fresh = stats;
        fresh.set_doc_count(0);
        fresh.set_total_title_terms(0);
        fresh.set_total_body_terms(0);
        for (int t = 0; t < fresh.doc_freqs_size(); ++t)
          fresh.set_doc_freqs(t, 0);
        for (const CopyStats& share : shares) AddCopyStats(share, fresh);
        if (SameCounts(fresh, stats)) {
          // The changes left the statistics as they were (a flush, say):
          // the other shards' hits stand.
          search_some(stale);
        } else {
          stats = std::move(fresh);
          *search.mutable_stats() = stats;
          search_some(every);
        }
      }
    }
    std::vector<size_t> answered;
    for (size_t k = 0; k < live.size(); ++k) {
      if (answers[k].ok() && !AnswersFacets(page.facets, *answers[k])) {
        answers[k] = absl::InternalError(
            absl::StrCat("Search answered ", answers[k]->facets_size(),
                         " facets that do not match the ", page.facets.size(),
                         " asked for"));
      }
      if (answers[k].ok() && search.shard_stats() &&
          answers[k]->stats().doc_freqs_size() != stats.terms_size()) {
        answers[k] = absl::InternalError(absl::StrCat(
            "Search answered ", answers[k]->stats().doc_freqs_size(),
            " document frequencies for ", stats.terms_size(), " terms"));
      }
      if (!answers[k].ok()) {
        errors.emplace(live[k], answers[k].status());
        continue;
      }
      if (search.shard_stats()) {
        // What the page token freezes for the next pages.
        *search.mutable_stats() = std::move(*answers[k]->mutable_stats());
      }
      for (size_t f = 0; f < page.facets.size(); ++f) {
        shard_facets[f].push_back(
            std::move(*answers[k]->mutable_facets(static_cast<int>(f))));
      }
      total_hits += answers[k]->total_hits();
      total_is_lower_bound |= answers[k]->total_hits_is_lower_bound();
      for (v1::ShardHit& hit : *answers[k]->mutable_hits()) {
        candidates.push_back({static_cast<uint32_t>(live[k]), std::move(hit)});
      }
      AddViews(*answers[k]->mutable_views(), views);
      AddViewsOf(*answers[k]->mutable_documents(), view_options, *analyzer_,
                 views);
      answered.push_back(live[k]);
    }
    live = std::move(answered);
    if (live.empty()) return NoShardAnswered(errors);
  }
  for (size_t f = 0; f < page.facets.size(); ++f) {
    std::vector<const v1::ShardFacetCounts*> counts;
    for (const v1::ShardFacetCounts& c : shard_facets[f]) counts.push_back(&c);
    SIFT_ASSIGN_OR_RETURN(
        *response.add_facets(),
        MergeFacet(page.facets[f], counts, absl::StrCat("facets[", f, "]")));
  }
  // Every shard answered the search, so the merged order has no holes
  // and a cursor taken from it skips nothing.
  const bool search_complete = errors.empty();
  std::vector<ShardHitRef> merged =
      MergeShardHits(std::move(candidates), page.sort, page_end + 1);
  const bool more = merged.size() > page_end;
  if (more) merged.pop_back();
  const size_t first = std::min<size_t>(page.offset, merged.size());
  const std::vector<ShardHitRef> hits(merged.begin() + first, merged.end());

  // The page's documents the search did not return, from the shards that
  // hold them.
  std::map<uint32_t, v1::FetchRequest> fetches;
  for (const ShardHitRef& ref : hits) {
    if (!views.contains(ref.hit.id())) {
      v1::FetchRequest& fetch = fetches[ref.shard];
      if (fetch.ids_size() == 0) *fetch.mutable_view() = view;
      fetch.add_ids(ref.hit.id());
    }
  }
  absl::flat_hash_set<uint32_t> fetch_failed;
  if (!fetches.empty()) {
    std::vector<std::pair<uint32_t, const v1::FetchRequest*>> calls;
    for (const auto& [shard, fetch] : fetches)
      calls.emplace_back(shard, &fetch);
    std::vector<absl::StatusOr<v1::FetchResponse>> answers =
        AllAnswers<v1::FetchResponse>(
            calls.size(),
            [&](size_t k) {
              const auto [shard, fetch] = calls[k];
              return shards[shard]->Fetch(copy[shard], *fetch, deadline);
            },
            [&](size_t k,
                storage::StorageClient::Callback<v1::FetchResponse> done) {
              const auto [shard, fetch] = calls[k];
              shards[shard]->FetchAsync(copy[shard], *fetch, deadline,
                                        std::move(done));
            });
    size_t k = 0;
    for (const auto& [shard, fetch] : fetches) {
      absl::StatusOr<v1::FetchResponse>& answer = answers[k++];
      if (!answer.ok()) {
        errors.emplace(shard, answer.status());
        fetch_failed.insert(shard);
        continue;
      }
      AddViews(*answer->mutable_views(), views);
      AddViewsOf(*answer->mutable_results(), view_options, *analyzer_, views);
    }
  }

  for (const ShardHitRef& ref : hits) {
    if (fetch_failed.contains(ref.shard)) {
      // Keep what the shard's search gave rather than lose the hit; the
      // response is marked partial.
      v1::Hit* hit = response.add_hits();
      hit->set_id(ref.hit.id());
      hit->set_score(ref.hit.score());
      if (ref.hit.has_published_at()) {
        *hit->mutable_published_at() = ref.hit.published_at();
      }
      if (ref.hit.has_explanation()) {
        *hit->mutable_explanation() = ref.hit.explanation();
      }
      continue;
    }
    auto it = views.find(ref.hit.id());
    // Deleted between the search and the fetch: no longer a hit.
    if (it == views.end() || !it->second.found()) continue;
    v1::Hit* hit = response.add_hits();
    hit->set_id(ref.hit.id());
    hit->set_score(ref.hit.score());
    if (ref.hit.has_explanation()) {
      *hit->mutable_explanation() = ref.hit.explanation();
    }
    FillHit(it->second, hit);
  }

  response.set_total_hits(total_hits);
  response.set_total_hits_is_lower_bound(total_is_lower_bound);
  // The next page starts after the last hit the shards returned for this
  // one, even if it was deleted before the fetch and is not in `response`.
  // With a shard missing, its hits before that key would be lost for good;
  // without a token the client retries this page instead.
  if (more && search_complete && !hits.empty()) {
    PageCursor next;
    next.fingerprint = page.fingerprint;
    next.after = SortKeyOf(hits.back().hit, page.sort);
    if (search.stats().terms_size() > 0) {
      FrozenStats& frozen = next.stats.emplace();
      frozen.doc_count = search.stats().doc_count();
      frozen.total_title_terms = search.stats().total_title_terms();
      frozen.total_body_terms = search.stats().total_body_terms();
      frozen.doc_freqs.assign(search.stats().doc_freqs().begin(),
                              search.stats().doc_freqs().end());
    }
    response.set_next_page_token(EncodePageToken(next));
  }
  response.set_partial(!errors.empty());
  for (const auto& [shard, status] : errors) {
    response.add_shard_errors(ShardError(shard, status));
  }
  finish();
  return response;
}

absl::StatusOr<v1::GetResponse> QueryHandler::Get(const v1::GetRequest& request,
                                                  absl::Time deadline) const {
  const std::string& id = request.id();
  if (id.empty()) return absl::InvalidArgumentError("id: required");
  const std::vector<std::shared_ptr<const storage::ShardReader>> shards =
      directory_->Readers();
  if (id.size() > kMaxIdBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "id: ", id.size(), " bytes is over the limit of ", kMaxIdBytes));
  }
  if (shards.empty()) {
    return absl::UnavailableError("no storage shards are configured");
  }
  const uint32_t shard = ShardForId(id, static_cast<uint32_t>(shards.size()));
  v1::FetchRequest fetch;
  fetch.add_ids(id);
  SIFT_ASSIGN_OR_RETURN(v1::FetchResponse fetched,
                        shards[shard]->Fetch(fetch, DeadlineFrom(deadline)));
  for (v1::FetchResult& result : *fetched.mutable_results()) {
    if (result.id() == id && result.found()) {
      v1::GetResponse response;
      *response.mutable_document() = std::move(*result.mutable_document());
      return response;
    }
  }
  return absl::NotFoundError(absl::StrCat("no document with id \"", id, "\""));
}

v1::ClusterStatsResponse QueryHandler::ClusterStats(
    absl::Time incoming_deadline) const {
  const absl::Time deadline = DeadlineFrom(incoming_deadline);
  const std::vector<std::vector<std::shared_ptr<storage::StorageClient>>>
      copies = directory_->AllCopies();
  struct Copy {
    uint32_t shard;
    std::shared_ptr<storage::StorageClient> client;
  };
  std::vector<Copy> all;
  for (size_t i = 0; i < copies.size(); ++i) {
    for (const auto& client : copies[i]) {
      all.push_back({static_cast<uint32_t>(i), client});
    }
  }
  Gather<v1::StatsResponse> gather(all.size());
  for (size_t k = 0; k < all.size(); ++k) {
    all[k].client->StatsAsync(v1::StatsRequest(), deadline, gather.Slot(k));
  }
  std::vector<absl::StatusOr<v1::StatsResponse>> answers = gather.Wait();
  v1::ClusterStatsResponse response;
  // Each shard counts once in the totals: its primary's figures, or any
  // copy's when the primary did not answer.
  std::vector<const v1::StatsResponse*> counted(copies.size(), nullptr);
  for (size_t k = 0; k < all.size(); ++k) {
    v1::ShardStats* shard = response.add_shards();
    shard->set_shard(all[k].shard);
    shard->set_address(all[k].client->address());
    if (!answers[k].ok()) {
      shard->set_error(ShardError(all[k].shard, answers[k].status()));
      continue;
    }
    const v1::StatsResponse& answer = *answers[k];
    shard->set_documents(answer.doc_count());
    shard->set_disk_bytes(answer.disk_bytes());
    shard->set_background_error(answer.background_error());
    if (answer.has_replication()) {
      *shard->mutable_replication() = answer.replication();
    }
    const v1::StatsResponse*& chosen = counted[all[k].shard];
    if (chosen == nullptr || answer.replication().role() == "primary") {
      chosen = &answer;
    }
  }
  for (size_t i = 0; i < copies.size(); ++i) {
    if (copies[i].empty()) {
      v1::ShardStats* shard = response.add_shards();
      shard->set_shard(static_cast<uint32_t>(i));
      shard->set_error(ShardError(
          i, absl::UnavailableError("no copy of the shard is registered")));
    }
    if (counted[i] == nullptr) continue;
    response.set_total_documents(response.total_documents() +
                                 counted[i]->doc_count());
    response.set_total_disk_bytes(response.total_disk_bytes() +
                                  counted[i]->disk_bytes());
  }
  return response;
}

}  // namespace sift::query
