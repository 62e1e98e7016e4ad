#include "services/storage/replication/replication_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "services/storage/shard_identity.h"

namespace sift::storage {

grpc::ServerUnaryReactor* ReplicationServiceImpl::PullWrites(
    grpc::CallbackServerContext* context, const v1::PullWritesRequest* request,
    v1::PullWritesResponse* response) {
  PublishedBy(this);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Status routed = CheckRouting(
      identity_,
      FormatShardRef(ShardRef{request->shard(), request->shard_count()}));
  if (!routed.ok()) {
    reactor->Finish(ToGrpcStatus(routed));
    return reactor;
  }
  const bool scheduled =
      executor_->TrySchedule([this, request, response, reactor] {
        std::shared_ptr<ShardPrimary> primary = primary_();
        if (primary == nullptr) {
          reactor->Finish(
              grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                           "this member is not the shard's primary; ask etcd "
                           "which member is"));
          return;
        }
        absl::StatusOr<v1::PullWritesResponse> result = primary->Pull(*request);
        if (result.ok()) {
          *response = *std::move(result);
          reactor->Finish(grpc::Status::OK);
        } else {
          reactor->Finish(ToGrpcStatus(result.status()));
        }
      });
  if (!scheduled) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                     "too many copies pulling at once; retry with backoff"));
  }
  return reactor;
}

}  // namespace sift::storage
