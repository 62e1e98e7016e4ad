#ifndef SIFT_SERVICES_QUERY_QUERY_SERVICE_H_
#define SIFT_SERVICES_QUERY_QUERY_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "common/server/executor.h"
#include "services/query/query_handler.h"
#include "sift/v1/query.grpc.pb.h"

namespace sift::query {

// The gRPC face of QueryHandler. Each call is handed to `executor`, where
// the handler may block on its shard fan-out; a full executor queue answers
// RESOURCE_EXHAUSTED at once. The deadline of each call is the client's.
// `handler` and `executor` are not owned and must outlive the server.
class QueryServiceImpl final : public v1::QueryService::CallbackService {
 public:
  QueryServiceImpl(const QueryHandler* handler, Executor* executor)
      : handler_(handler), executor_(executor) {}

  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* context,
                                   const v1::SearchRequest* request,
                                   v1::SearchResponse* response) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const v1::GetRequest* request,
                                v1::GetResponse* response) override;
  grpc::ServerUnaryReactor* ClusterStats(
      grpc::CallbackServerContext* context,
      const v1::ClusterStatsRequest* request,
      v1::ClusterStatsResponse* response) override;

 private:
  // Runs `work` and finishes the call with its status: on the gRPC thread
  // that received it when `may_run_here` and a slot is free, else on the
  // executor.
  grpc::ServerUnaryReactor* Run(
      grpc::CallbackServerContext* context, bool may_run_here,
      std::function<absl::Status(absl::Time deadline)> work);

  const QueryHandler* const handler_;
  Executor* const executor_;
  // A search of a single shard makes only blocking calls, which wait for no
  // gRPC callback thread: it may run on one (InlineSlots).
  InlineSlots inline_searches_{1};
};

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_QUERY_SERVICE_H_
