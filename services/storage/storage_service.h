#ifndef SIFT_SERVICES_STORAGE_STORAGE_SERVICE_H_
#define SIFT_SERVICES_STORAGE_STORAGE_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <optional>

#include "common/routing/shard_router.h"
#include "common/server/executor.h"
#include "services/storage/storage_handler.h"
#include "sift/v1/storage.grpc.pb.h"

namespace sift::storage {

// gRPC adapter of StorageService: every call runs on `executor` so that no
// gRPC thread waits for the disk. When the executor's queue is full the call
// fails RESOURCE_EXHAUSTED at once and the client backs off. A call whose
// client has already gone is dropped with CANCELLED before doing its work.
class StorageServiceImpl final : public v1::StorageService::CallbackService {
 public:
  // Neither is owned; both must outlive the service, and the executor must
  // keep running until the server has shut down.
  StorageServiceImpl(StorageHandler* handler, Executor* executor,
                     std::optional<ShardRef> identity = std::nullopt)
      : handler_(handler), executor_(executor), identity_(identity) {}

  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* context,
                                  const v1::WriteRequest* request,
                                  v1::WriteResponse* response) override;
  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* context,
                                  const v1::StatsRequest* request,
                                  v1::StatsResponse* response) override;
  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* context,
                                   const v1::ShardSearchRequest* request,
                                   v1::ShardSearchResponse* response) override;
  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* context,
                                  const v1::FetchRequest* request,
                                  v1::FetchResponse* response) override;
  grpc::ServerUnaryReactor* Snapshot(
      grpc::CallbackServerContext* context,
      const v1::ShardSnapshotRequest* request,
      v1::ShardSnapshotResponse* response) override;

 private:
  // Runs `work` and finishes the call with its result: on the executor,
  // or for a read (`read`) on the calling gRPC thread while no other read
  // runs there (see inline_reads_).
  template <typename Request, typename Response, typename Work>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context,
                                const Request* request, Response* response,
                                bool read, Work work);

  StorageHandler* handler_;
  Executor* executor_;
  const std::optional<ShardRef> identity_;
  // Reads may run on gRPC's own thread (one at a time); writes never do,
  // as they wait for a synced commit.
  InlineSlots inline_reads_{1};
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_STORAGE_SERVICE_H_
