#ifndef SIFT_SERVICES_STORAGE_REPLICATION_REPLICATION_SERVICE_H_
#define SIFT_SERVICES_STORAGE_REPLICATION_REPLICATION_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <optional>

#include "common/routing/shard_router.h"
#include "common/server/executor.h"
#include "services/storage/replication/shard_primary.h"
#include "sift/v1/replication.grpc.pb.h"

namespace sift::storage {

// gRPC adapter of ReplicationService. A pull waits for writes, so pulls run
// on their own executor, never on the one of searches and writes. Calls go
// to whichever ShardPrimary `primary` returns now (null: this member is not
// a primary, FAILED_PRECONDITION), after the shard routing check.
class ReplicationServiceImpl final
    : public v1::ReplicationService::CallbackService {
 public:
  using PrimarySource = std::function<std::shared_ptr<ShardPrimary>()>;

  // The executor is not owned and must keep running until the server has
  // shut down.
  ReplicationServiceImpl(PrimarySource primary, Executor* executor,
                         std::optional<ShardRef> identity)
      : primary_(std::move(primary)),
        executor_(executor),
        identity_(identity) {}

  grpc::ServerUnaryReactor* PullWrites(
      grpc::CallbackServerContext* context,
      const v1::PullWritesRequest* request,
      v1::PullWritesResponse* response) override;

 private:
  PrimarySource primary_;
  Executor* executor_;
  const std::optional<ShardRef> identity_;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_REPLICATION_REPLICATION_SERVICE_H_
