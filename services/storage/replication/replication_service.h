#ifndef SIFT_SERVICES_STORAGE_REPLICATION_REPLICATION_SERVICE_H_
#define SIFT_SERVICES_STORAGE_REPLICATION_REPLICATION_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/routing/shard_router.h"
#include "services/storage/index.h"
#include "services/storage/replication/shard_primary.h"
#include "sift/v1/replication.grpc.pb.h"

namespace sift::storage {

// gRPC adapter of ReplicationService, on gRPC's synchronous API: a pull
// waits for writes and a checkpoint streams files, each on a thread of
// gRPC's own pool rather than on the executor of searches and writes.
//
// Pulls go to whichever ShardPrimary `primary` returns now (null: this
// member is not a primary, FAILED_PRECONDITION). Checkpoints come from the
// index `index` returns now, written under `scratch_dir` (on the index's
// file system, so that files are hard links) and removed once sent. Both
// after the shard routing check against `identity`.
class ReplicationServiceImpl final : public v1::ReplicationService::Service {
 public:
  using PrimarySource = std::function<std::shared_ptr<ShardPrimary>()>;
  using IndexSource = std::function<std::shared_ptr<Index>()>;

  ReplicationServiceImpl(PrimarySource primary, IndexSource index,
                         std::string scratch_dir,
                         std::optional<ShardRef> identity)
      : primary_(std::move(primary)),
        index_(std::move(index)),
        scratch_dir_(std::move(scratch_dir)),
        identity_(identity) {}

  grpc::Status PullWrites(grpc::ServerContext* context,
                          const v1::PullWritesRequest* request,
                          v1::PullWritesResponse* response) override;
  grpc::Status FetchCheckpoint(
      grpc::ServerContext* context, const v1::FetchCheckpointRequest* request,
      grpc::ServerWriter<v1::CheckpointChunk>* writer) override;

 private:
  PrimarySource primary_;
  IndexSource index_;
  const std::string scratch_dir_;
  const std::optional<ShardRef> identity_;
  std::atomic<uint64_t> next_checkpoint_{0};
};

// Copies a checkpoint from the member at `address` (its ReplicationService)
// into the new folder `dir`, every file synced; returns the last write it
// holds. The folder opens as an index. On failure the folder is removed.
absl::StatusOr<OpId> DownloadCheckpoint(
    const std::string& address, const v1::FetchCheckpointRequest& request,
    const std::string& dir, absl::Duration timeout);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_REPLICATION_REPLICATION_SERVICE_H_
