#ifndef SIFT_SERVICES_QUERY_FAKE_SHARD_H_
#define SIFT_SERVICES_QUERY_FAKE_SHARD_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "common/server/server_runner.h"
#include "common/sync/mutex.h"
#include "sift/v1/storage.grpc.pb.h"

namespace sift::query::testing {

// A storage shard for the coordinator's tests that answers from a fixed
// list of documents and can be told to fail or to hang, which a real shard
// cannot be made to do on demand. Search ignores the query: every document
// matches with its preset score, in the requested order (after
// search_after when it is set), and the shard reports them all in
// total_hits; with `explain`, each hit's explanation is a single node, its
// preset score. Facets count every document: sources and tags lower-cased,
// dates bucketed in UTC, with no cap. Stats gives every term a document
// frequency equal to the number of documents, and so does Search asked for
// shard_stats; Search returns the documents of the ranks asked for, except
// in kFailFetch mode (a shard that cannot read its documents) or as an
// earlier version. Thread-safe.
class FakeShard final : public v1::StorageService::CallbackService {
 public:
  // kFailFetch answers Stats and Search but fails Fetch.
  enum class Mode { kAnswer, kFail, kHang, kFailFetch };

  struct StoredDoc {
    v1::Document document;
    double score = 0;
  };

  explicit FakeShard(std::vector<StoredDoc> docs) : docs_(std::move(docs)) {}

  // kFail answers every call with `code`; kHang answers only when the
  // caller gives up (deadline or cancellation).
  void SetMode(Mode mode,
               grpc::StatusCode code = grpc::StatusCode::UNAVAILABLE);
  // Fetch reports `id` as not found, as if it were deleted after a search.
  void ForgetOnFetch(const std::string& id);
  // Stats reports `error` as the shard's background error, as a shard whose
  // flush or merge failed does ("" for none).
  void SetBackgroundError(const std::string& error);

  // As a shard that predates shard_stats and documents in searches: Search
  // ignores them.
  void SetEarlierVersion(bool earlier);
  // As a shard that predates views: Search and Fetch answer whole documents
  // even when asked for views.
  void SetWithoutViews(bool without);
  // The state the shard's statistics are of (StatsResponse.stats_version;
  // 0, the default, as a shard that predates versions), and documents
  // added to every term's document frequency, as writes of matching
  // documents would. A search that names another version is answered
  // stale_stats, with the statistics, as a real shard does.
  void SetStatsVersion(uint64_t version, uint64_t extra_doc_freq = 0);

  int calls() const;
  std::vector<v1::ShardSearchRequest> searches() const;
  std::vector<v1::StatsRequest> stats_requests() const;
  std::vector<v1::FetchRequest> fetches() const;

  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* context,
                                  const v1::StatsRequest* request,
                                  v1::StatsResponse* response) override;
  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* context,
                                   const v1::ShardSearchRequest* request,
                                   v1::ShardSearchResponse* response) override;
  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* context,
                                  const v1::FetchRequest* request,
                                  v1::FetchResponse* response) override;

 private:
  // Counts the call; nullptr when the call should proceed, else the reactor
  // already answering it (failure or hang).
  grpc::ServerUnaryReactor* Intercept(grpc::CallbackServerContext* context,
                                      bool is_fetch = false);

  const std::vector<StoredDoc> docs_;
  mutable Mutex mu_;
  Mode mode_ ABSL_GUARDED_BY(mu_) = Mode::kAnswer;
  grpc::StatusCode code_ ABSL_GUARDED_BY(mu_) = grpc::StatusCode::UNAVAILABLE;
  std::vector<std::string> forgotten_ ABSL_GUARDED_BY(mu_);
  std::string background_error_ ABSL_GUARDED_BY(mu_);
  bool earlier_version_ ABSL_GUARDED_BY(mu_) = false;
  bool without_views_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t stats_version_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t extra_doc_freq_ ABSL_GUARDED_BY(mu_) = 0;
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<v1::ShardSearchRequest> searches_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::StatsRequest> stats_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::FetchRequest> fetches_ ABSL_GUARDED_BY(mu_);
};

// `count` fake shards on 127.0.0.1 port 0, holding `docs` routed by
// ShardForId like real ones.
class FakeCluster {
 public:
  FakeCluster(int count, const std::vector<FakeShard::StoredDoc>& docs);
  ~FakeCluster();

  FakeShard& shard(int i) { return *shards_[i]; }
  const std::vector<std::string>& addresses() const { return addresses_; }
  int total_calls() const;

 private:
  std::vector<std::unique_ptr<FakeShard>> shards_;
  std::vector<std::unique_ptr<RunningServer>> servers_;
  std::vector<std::string> addresses_;
};

}  // namespace sift::query::testing

#endif  // SIFT_SERVICES_QUERY_FAKE_SHARD_H_
