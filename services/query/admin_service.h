#ifndef SIFT_SERVICES_QUERY_ADMIN_SERVICE_H_
#define SIFT_SERVICES_QUERY_ADMIN_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include "services/query/snapshot_admin.h"
#include "sift/v1/query.grpc.pb.h"

namespace sift::query {

// gRPC adapter of AdminService, on gRPC's synchronous API: snapshots take
// as long as the slowest shard's checkpoint, and are rare.
class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  // `snapshots` is not owned and must outlive the service.
  explicit AdminServiceImpl(const SnapshotAdmin* snapshots)
      : snapshots_(snapshots) {}

  grpc::Status CreateSnapshot(grpc::ServerContext* context,
                              const v1::CreateSnapshotRequest* request,
                              v1::SnapshotInfo* response) override;
  grpc::Status ListSnapshots(grpc::ServerContext* context,
                             const v1::ListSnapshotsRequest* request,
                             v1::ListSnapshotsResponse* response) override;
  grpc::Status DeleteSnapshot(grpc::ServerContext* context,
                              const v1::DeleteSnapshotRequest* request,
                              v1::DeleteSnapshotResponse* response) override;

 private:
  const SnapshotAdmin* snapshots_;
};

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_ADMIN_SERVICE_H_
