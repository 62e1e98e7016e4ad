#include "services/storage/storage_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"
#include "services/storage/shard_identity.h"

namespace sift::storage {
namespace {

// Runs `work(request)` on the executor and finishes the call with its
// result.
template <typename Request, typename Response, typename Work>
grpc::ServerUnaryReactor* RunOnExecutor(const grpc::Service* service,
                                        grpc::CallbackServerContext* context,
                                        const Request* request,
                                        Response* response, Executor* executor,
                                        Work work) {
  PublishedBy(service);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const bool scheduled = executor->TrySchedule(
      [context, request, response, reactor, work = std::move(work)] {
        if (context->IsCancelled()) {
          reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                       "the call was cancelled before it ran"));
          return;
        }
        absl::StatusOr<Response> result = work(*request);
        if (result.ok()) {
          *response = *std::move(result);
          reactor->Finish(grpc::Status::OK);
        } else {
          reactor->Finish(ToGrpcStatus(result.status()));
        }
      });
  if (!scheduled) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("storage shard overloaded: all ", executor->num_threads(),
                     " workers busy and the queue full; retry with backoff")));
  }
  return reactor;
}

// The request's kShardMetadataKey value, if it has one.
std::optional<absl::string_view> RoutedShard(
    const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kShardMetadataKey);
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

}  // namespace

template <typename Request, typename Response, typename Work>
grpc::ServerUnaryReactor* StorageServiceImpl::Run(
    grpc::CallbackServerContext* context, const Request* request,
    Response* response, bool read, Work work) {
  const absl::Status routed = CheckRouting(identity_, RoutedShard(*context));
  if (!routed.ok()) {
    PublishedBy(this);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(ToGrpcStatus(routed));
    return reactor;
  }
  if (read && inline_reads_.TryAcquire()) {
    PublishedBy(this);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    absl::StatusOr<Response> result = work(*request);
    inline_reads_.Release();
    if (result.ok()) {
      *response = *std::move(result);
      reactor->Finish(grpc::Status::OK);
    } else {
      reactor->Finish(ToGrpcStatus(result.status()));
    }
    return reactor;
  }
  return RunOnExecutor(this, context, request, response, executor_,
                       std::move(work));
}

grpc::ServerUnaryReactor* StorageServiceImpl::Write(
    grpc::CallbackServerContext* context, const v1::WriteRequest* request,
    v1::WriteResponse* response) {
  return Run(context, request, response, /*read=*/false,
             [this](const v1::WriteRequest& r) { return handler_->Write(r); });
}

grpc::ServerUnaryReactor* StorageServiceImpl::Stats(
    grpc::CallbackServerContext* context, const v1::StatsRequest* request,
    v1::StatsResponse* response) {
  return Run(context, request, response, /*read=*/true,
             [this](const v1::StatsRequest& r) { return handler_->Stats(r); });
}

grpc::ServerUnaryReactor* StorageServiceImpl::Search(
    grpc::CallbackServerContext* context, const v1::ShardSearchRequest* request,
    v1::ShardSearchResponse* response) {
  return Run(
      context, request, response, /*read=*/true,
      [this](const v1::ShardSearchRequest& r) { return handler_->Search(r); });
}

grpc::ServerUnaryReactor* StorageServiceImpl::Fetch(
    grpc::CallbackServerContext* context, const v1::FetchRequest* request,
    v1::FetchResponse* response) {
  return Run(context, request, response, /*read=*/true,
             [this](const v1::FetchRequest& r) { return handler_->Fetch(r); });
}

grpc::ServerUnaryReactor* StorageServiceImpl::Snapshot(
    grpc::CallbackServerContext* context,
    const v1::ShardSnapshotRequest* request,
    v1::ShardSnapshotResponse* response) {
  return Run(context, request, response, /*read=*/false,
             [this](const v1::ShardSnapshotRequest& r) {
               return handler_->Snapshot(r);
             });
}

}  // namespace sift::storage
