#ifndef SIFT_SERVICES_STORAGE_STORAGE_HANDLER_H_
#define SIFT_SERVICES_STORAGE_STORAGE_HANDLER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/analysis/analyzer.h"
#include "common/highlight/hit_view.h"
#include "services/storage/index.h"
#include "services/storage/shard_limits.h"
#include "services/storage/shard_query.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage {

// Each returns OK or INVALID_ARGUMENT whose message names the offending
// field by its path in the request (e.g. "ops[3].upsert.title.vocabulary[7]")
// and says what is wrong with it. Searches and statistics requests are
// checked as they are decoded (shard_query.h).
absl::Status ValidateWriteRequest(const v1::WriteRequest& request);
absl::Status ValidateFetchRequest(const v1::FetchRequest& request);

// The shard's answer to a search, as the wire has it: hits in order, and
// each facet's counts, the most frequent first (date buckets in time order)
// up to segment::kMaxShardFacetValues values.
v1::ShardSearchResponse EncodeSearchResponse(const ShardQuery& query,
                                             segment::SearchResult result);

// The storage service's logic without gRPC: checks and decodes each
// request, hands it to the index, and encodes the answer. Errors:
// INVALID_ARGUMENT from the checks (nothing is applied), otherwise whatever
// the index returns. Thread-safe as the index is; blocks for as long as the
// index does (a write waits for its fsync), so call it off gRPC threads.
class StorageHandler {
 public:
  using IndexSource = std::function<std::shared_ptr<Index>()>;
  using WritePath =
      std::function<absl::StatusOr<v1::WriteResponse>(const v1::WriteRequest&)>;
  using StatusSource = std::function<v1::ReplicationStatus()>;

  // A shard on its own: `index` is not owned and must outlive the handler.
  explicit StorageHandler(Index* index)
      : StorageHandler(
            [index] { return std::shared_ptr<Index>(index, [](Index*) {}); },
            [index](const v1::WriteRequest& request) {
              return index->Apply(request);
            },
            nullptr) {}
  // A member of a replicated shard: reads go to whatever index `index`
  // returns now (null while a checkpoint replaces it: UNAVAILABLE), checked
  // writes to `write`, and Stats carries `status` (when not null).
  StorageHandler(IndexSource index, WritePath write, StatusSource status)
      : index_(std::move(index)),
        write_(std::move(write)),
        status_(std::move(status)) {}

  absl::StatusOr<v1::WriteResponse> Write(const v1::WriteRequest& request);
  absl::StatusOr<v1::StatsResponse> Stats(const v1::StatsRequest& request);
  absl::StatusOr<v1::ShardSearchResponse> Search(
      const v1::ShardSearchRequest& request);
  absl::StatusOr<v1::FetchResponse> Fetch(const v1::FetchRequest& request);
  // A checkpoint of the index as this shard's part of snapshot
  // request.name, under the folder set_snapshots gave.
  absl::StatusOr<v1::ShardSnapshotResponse> Snapshot(
      const v1::ShardSnapshotRequest& request);

  // Where Snapshot writes, and the shard it writes for; without it Snapshot
  // fails FAILED_PRECONDITION. Call before serving.
  void set_snapshots(std::string root, uint32_t shard) {
    snapshot_root_ = std::move(root);
    snapshot_shard_ = shard;
  }

 private:
  absl::StatusOr<std::shared_ptr<Index>> CurrentIndex() const;
  // `documents` (a Fetch's results) as what their hits show.
  google::protobuf::RepeatedPtrField<v1::HitView> ViewsOf(
      const google::protobuf::RepeatedPtrField<v1::FetchResult>& documents,
      const highlight::HitViewOptions& options) const;

  // Snippets are made here, for the hits this shard returns, with the
  // analyzer that analyzed the documents at ingest and the queries at the
  // query service (all three use the default one).
  const analysis::Analyzer analyzer_;
  IndexSource index_;
  WritePath write_;
  StatusSource status_;
  std::string snapshot_root_;
  uint32_t snapshot_shard_ = 0;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_STORAGE_HANDLER_H_
