#include "services/query/query_service.h"

#include <chrono>
#include <functional>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"

namespace sift::query {
namespace {

// The client's deadline; gRPC reports "none" as the far future.
absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  if (deadline >=
      std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 100)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

// Moves an OK result into `*out`; returns the status either way.
template <typename T>
absl::Status Deliver(absl::StatusOr<T> result, T* out) {
  if (!result.ok()) return result.status();
  *out = *std::move(result);
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* QueryServiceImpl::Run(
    grpc::CallbackServerContext* context, bool may_run_here,
    std::function<absl::Status(absl::Time deadline)> work) {
  PublishedBy(this);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time deadline = DeadlineOf(*context);
  if (may_run_here && inline_searches_.TryAcquire()) {
    const absl::Status status = work(deadline);
    inline_searches_.Release();
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  if (!executor_->TrySchedule([reactor, deadline, work = std::move(work)] {
        // Under load a call may wait past its deadline; the client has
        // given up on it, so spend nothing on it.
        if (absl::Now() >= deadline) {
          reactor->Finish(grpc::Status(
              grpc::StatusCode::DEADLINE_EXCEEDED,
              "the deadline passed while the call waited for a worker"));
          return;
        }
        reactor->Finish(ToGrpcStatus(work(deadline)));
      })) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "the query service is overloaded; retry "
                                 "with backoff"));
  }
  return reactor;
}

grpc::ServerUnaryReactor* QueryServiceImpl::Search(
    grpc::CallbackServerContext* context, const v1::SearchRequest* request,
    v1::SearchResponse* response) {
  return Run(context, handler_->OneShard(),
             [this, request, response](absl::Time deadline) {
               return Deliver(handler_->Search(*request, deadline), response);
             });
}

grpc::ServerUnaryReactor* QueryServiceImpl::Get(
    grpc::CallbackServerContext* context, const v1::GetRequest* request,
    v1::GetResponse* response) {
  return Run(context, /*may_run_here=*/false,
             [this, request, response](absl::Time deadline) {
               return Deliver(handler_->Get(*request, deadline), response);
             });
}

grpc::ServerUnaryReactor* QueryServiceImpl::ClusterStats(
    grpc::CallbackServerContext* context,
    const v1::ClusterStatsRequest* request,
    v1::ClusterStatsResponse* response) {
  return Run(context, /*may_run_here=*/false,
             [this, response](absl::Time deadline) {
               *response = handler_->ClusterStats(deadline);
               return absl::OkStatus();
             });
}

}  // namespace sift::query
