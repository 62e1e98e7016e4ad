#include "services/query/fake_shard.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/analysis/analyzer.h"
#include "common/highlight/hit_view.h"
#include "common/routing/shard_router.h"
#include "gtest/gtest.h"
#include "services/query/hit_merge.h"

namespace sift::query::testing {
namespace {

// Answers only when the client goes away.
class HangingReactor final : public grpc::ServerUnaryReactor {
 public:
  void OnCancel() override {
    Finish(grpc::Status(grpc::StatusCode::CANCELLED, "caller gave up"));
  }
  void OnDone() override { delete this; }
};

// `documents` as a current shard answers them when asked for views.
google::protobuf::RepeatedPtrField<v1::HitView> ViewsOf(
    const google::protobuf::RepeatedPtrField<v1::FetchResult>& documents,
    const v1::HitViewRequest& request) {
  static const analysis::Analyzer* const analyzer = new analysis::Analyzer();
  absl::StatusOr<highlight::HitViewOptions> options =
      highlight::FromProto(request, "view");
  EXPECT_TRUE(options.ok()) << options.status();
  google::protobuf::RepeatedPtrField<v1::HitView> views;
  if (!options.ok()) return views;
  for (const v1::FetchResult& result : documents) {
    *views.Add() = highlight::MakeHitView(result, *options, *analyzer);
  }
  return views;
}

int64_t BucketStart(int64_t seconds, v1::DateInterval interval) {
  const absl::CivilDay epoch(1970, 1, 1);
  const absl::CivilDay day =
      epoch + (seconds / 86400 - (seconds % 86400 < 0 ? 1 : 0));
  absl::CivilDay first = day;
  if (interval == v1::DATE_INTERVAL_MONTH) {
    first = absl::CivilDay(absl::CivilMonth(day));
  } else if (interval == v1::DATE_INTERVAL_YEAR) {
    first = absl::CivilDay(absl::CivilYear(day));
  }
  return (first - epoch) * 86400;
}

// The counts of one facet over `docs`, keywords lower-cased (the fake's
// stand-in for normalisation), in no particular order.
v1::ShardFacetCounts CountFacet(const v1::FacetRequest& facet,
                                const std::vector<FakeShard::StoredDoc>& docs) {
  v1::ShardFacetCounts out;
  out.set_field(facet.field());
  out.set_interval(facet.interval());
  std::map<std::string, uint64_t> values;
  std::map<int64_t, uint64_t> buckets;
  for (const FakeShard::StoredDoc& stored : docs) {
    const v1::Document& doc = stored.document;
    switch (facet.field()) {
      case v1::FACET_FIELD_SOURCE:
        if (doc.source().empty()) {
          out.set_missing_count(out.missing_count() + 1);
        } else {
          ++values[absl::AsciiStrToLower(doc.source())];
        }
        break;
      case v1::FACET_FIELD_TAGS:
        if (doc.tags().empty()) out.set_missing_count(out.missing_count() + 1);
        for (const std::string& tag : doc.tags()) {
          ++values[absl::AsciiStrToLower(tag)];
        }
        break;
      default:
        if (!doc.has_published_at()) {
          out.set_missing_count(out.missing_count() + 1);
        } else {
          ++buckets[BucketStart(doc.published_at().seconds(),
                                facet.interval())];
        }
        break;
    }
  }
  for (const auto& [value, count] : values) {
    v1::ShardFacetCount* c = out.add_counts();
    c->set_value(value);
    c->set_count(count);
    out.set_total_count(out.total_count() + count);
  }
  for (const auto& [start, count] : buckets) {
    v1::ShardFacetCount* c = out.add_counts();
    c->set_start_seconds(start);
    c->set_count(count);
    out.set_total_count(out.total_count() + count);
  }
  return out;
}

}  // namespace

void FakeShard::SetMode(Mode mode, grpc::StatusCode code) {
  MutexLock lock(&mu_);
  mode_ = mode;
  code_ = code;
}

void FakeShard::SetBackgroundError(const std::string& error) {
  MutexLock lock(&mu_);
  background_error_ = error;
}

void FakeShard::ForgetOnFetch(const std::string& id) {
  MutexLock lock(&mu_);
  forgotten_.push_back(id);
}

void FakeShard::SetWithoutViews(bool without) {
  MutexLock lock(&mu_);
  without_views_ = without;
}

void FakeShard::SetEarlierVersion(bool earlier) {
  MutexLock lock(&mu_);
  earlier_version_ = earlier;
}

void FakeShard::SetStatsVersion(uint64_t version, uint64_t extra_doc_freq) {
  MutexLock lock(&mu_);
  stats_version_ = version;
  extra_doc_freq_ = extra_doc_freq;
}

int FakeShard::calls() const {
  MutexLock lock(&mu_);
  return calls_;
}

std::vector<v1::ShardSearchRequest> FakeShard::searches() const {
  MutexLock lock(&mu_);
  return searches_;
}

std::vector<v1::StatsRequest> FakeShard::stats_requests() const {
  MutexLock lock(&mu_);
  return stats_requests_;
}

std::vector<v1::FetchRequest> FakeShard::fetches() const {
  MutexLock lock(&mu_);
  return fetches_;
}

grpc::ServerUnaryReactor* FakeShard::Intercept(
    grpc::CallbackServerContext* context, bool is_fetch) {
  MutexLock lock(&mu_);
  ++calls_;
  switch (mode_) {
    case Mode::kAnswer:
      return nullptr;
    case Mode::kFailFetch:
      if (!is_fetch) return nullptr;
      [[fallthrough]];
    case Mode::kFail: {
      grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
      reactor->Finish(grpc::Status(code_, "fake shard told to fail"));
      return reactor;
    }
    case Mode::kHang:
      return new HangingReactor;
  }
  return nullptr;
}

grpc::ServerUnaryReactor* FakeShard::Stats(grpc::CallbackServerContext* context,
                                           const v1::StatsRequest* request,
                                           v1::StatsResponse* response) {
  if (grpc::ServerUnaryReactor* r = Intercept(context)) return r;
  uint64_t extra = 0;
  {
    MutexLock lock(&mu_);
    stats_requests_.push_back(*request);
    response->set_background_error(background_error_);
    response->set_stats_version(stats_version_);
    extra = extra_doc_freq_;
  }
  response->set_doc_count(docs_.size());
  response->set_total_title_terms(docs_.size() * 2);
  response->set_total_body_terms(docs_.size() * 10);
  response->set_disk_bytes(1000 * docs_.size());
  for (int i = 0; i < request->terms_size(); ++i) {
    response->add_doc_freqs(docs_.size() + extra);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* FakeShard::Search(
    grpc::CallbackServerContext* context, const v1::ShardSearchRequest* request,
    v1::ShardSearchResponse* response) {
  if (grpc::ServerUnaryReactor* r = Intercept(context)) return r;
  uint64_t extra = 0;
  {
    MutexLock lock(&mu_);
    searches_.push_back(*request);
    extra = extra_doc_freq_;
    if (request->stats_version() != 0 &&
        request->stats_version() != stats_version_) {
      response->set_stale_stats(true);
      response->set_stats_version(stats_version_);
    }
  }
  // The statistics of this shard for the request's terms.
  auto own_stats = [&](v1::GlobalStats* stats) {
    stats->set_doc_count(docs_.size());
    stats->set_total_title_terms(docs_.size() * 2);
    stats->set_total_body_terms(docs_.size() * 10);
    *stats->mutable_terms() = request->stats().terms();
    for (int i = 0; i < request->stats().terms_size(); ++i) {
      stats->add_doc_freqs(docs_.size() + extra);
    }
  };
  if (response->stale_stats()) {
    own_stats(response->mutable_stats());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  // The cursor as a hit, to compare in the same order.
  std::optional<v1::ShardHit> after;
  if (request->has_search_after()) {
    after.emplace();
    after->set_id(request->search_after().id());
    after->set_score(request->search_after().score());
    if (request->search_after().has_published_at()) {
      *after->mutable_published_at() = request->search_after().published_at();
    }
  }
  std::vector<v1::ShardHit> hits;
  for (const StoredDoc& doc : docs_) {
    v1::ShardHit hit;
    hit.set_id(doc.document.id());
    hit.set_score(doc.score);
    if (doc.document.has_published_at()) {
      *hit.mutable_published_at() = doc.document.published_at();
    }
    if (after && !HitBefore(*after, hit, request->sort())) continue;
    hits.push_back(std::move(hit));
  }
  std::sort(
      hits.begin(), hits.end(),
      [sort = request->sort()](const v1::ShardHit& a, const v1::ShardHit& b) {
        return HitBefore(a, b, sort);
      });
  if (hits.size() > request->limit()) hits.resize(request->limit());
  for (v1::ShardHit& hit : hits) {
    if (request->explain()) {
      hit.mutable_explanation()->set_value(hit.score());
      hit.mutable_explanation()->set_description(
          absl::StrCat("preset score of ", hit.id()));
    }
    *response->add_hits() = std::move(hit);
  }
  bool answers_rounds = false;
  bool views = false;
  std::vector<std::string> forgotten;
  {
    MutexLock lock(&mu_);
    answers_rounds = !earlier_version_ && mode_ != Mode::kFailFetch;
    views = answers_rounds && !without_views_ && request->has_view();
    forgotten = forgotten_;
  }
  if (answers_rounds && request->shard_stats()) {
    own_stats(response->mutable_stats());
  }
  if (answers_rounds) {
    const int from = static_cast<int>(request->documents_from());
    const int to = std::min<int>(response->hits_size(),
                                 static_cast<int>(request->documents_from() +
                                                  request->documents_count()));
    for (int i = from; i < to; ++i) {
      v1::FetchResult* result = response->add_documents();
      result->set_id(response->hits(i).id());
      if (std::find(forgotten.begin(), forgotten.end(), result->id()) !=
          forgotten.end()) {
        continue;
      }
      for (const StoredDoc& doc : docs_) {
        if (doc.document.id() == result->id()) {
          result->set_found(true);
          *result->mutable_document() = doc.document;
        }
      }
    }
  }
  if (views) {
    *response->mutable_views() =
        ViewsOf(response->documents(), request->view());
    response->clear_documents();
  }
  response->set_total_hits(docs_.size());
  for (const v1::FacetRequest& facet : request->facets()) {
    *response->add_facets() = CountFacet(facet, docs_);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* FakeShard::Fetch(grpc::CallbackServerContext* context,
                                           const v1::FetchRequest* request,
                                           v1::FetchResponse* response) {
  if (grpc::ServerUnaryReactor* r = Intercept(context, /*is_fetch=*/true)) {
    return r;
  }
  std::vector<std::string> forgotten;
  bool views = false;
  {
    MutexLock lock(&mu_);
    fetches_.push_back(*request);
    forgotten = forgotten_;
    views = !without_views_ && request->has_view();
  }
  for (const std::string& id : request->ids()) {
    v1::FetchResult* result = response->add_results();
    result->set_id(id);
    if (std::find(forgotten.begin(), forgotten.end(), id) != forgotten.end()) {
      continue;
    }
    for (const StoredDoc& doc : docs_) {
      if (doc.document.id() == id) {
        result->set_found(true);
        *result->mutable_document() = doc.document;
      }
    }
  }
  if (views) {
    *response->mutable_views() = ViewsOf(response->results(), request->view());
    response->clear_results();
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

FakeCluster::FakeCluster(int count,
                         const std::vector<FakeShard::StoredDoc>& docs) {
  std::vector<std::vector<FakeShard::StoredDoc>> split(count);
  for (const FakeShard::StoredDoc& doc : docs) {
    split[ShardForId(doc.document.id(), count)].push_back(doc);
  }
  for (int i = 0; i < count; ++i) {
    shards_.push_back(std::make_unique<FakeShard>(std::move(split[i])));
    absl::StatusOr<std::unique_ptr<RunningServer>> server =
        StartServer("127.0.0.1:0", {shards_.back().get()});
    if (!server.ok()) {
      ADD_FAILURE_AT(__FILE__, __LINE__) << server.status();
      continue;
    }
    addresses_.push_back(absl::StrCat("127.0.0.1:", (*server)->port()));
    servers_.push_back(*std::move(server));
  }
}

FakeCluster::~FakeCluster() {
  for (auto& server : servers_) server->Shutdown(absl::ZeroDuration());
}

int FakeCluster::total_calls() const {
  int calls = 0;
  for (const auto& shard : shards_) calls += shard->calls();
  return calls;
}

}  // namespace sift::query::testing
