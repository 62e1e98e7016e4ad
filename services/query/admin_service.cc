#include "services/query/admin_service.h"

#include "common/server/server_runner.h"
#include "common/status/grpc_status.h"

namespace sift::query {

grpc::Status AdminServiceImpl::CreateSnapshot(
    grpc::ServerContext* context, const v1::CreateSnapshotRequest* request,
    v1::SnapshotInfo* response) {
  PublishedBy(this);
  absl::StatusOr<v1::SnapshotInfo> info = snapshots_->Create(request->name());
  if (!info.ok()) return ToGrpcStatus(info.status());
  *response = *std::move(info);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListSnapshots(
    grpc::ServerContext* context, const v1::ListSnapshotsRequest* request,
    v1::ListSnapshotsResponse* response) {
  PublishedBy(this);
  absl::StatusOr<v1::ListSnapshotsResponse> list = snapshots_->List();
  if (!list.ok()) return ToGrpcStatus(list.status());
  *response = *std::move(list);
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::DeleteSnapshot(
    grpc::ServerContext* context, const v1::DeleteSnapshotRequest* request,
    v1::DeleteSnapshotResponse* response) {
  PublishedBy(this);
  return ToGrpcStatus(snapshots_->Delete(request->name()));
}

}  // namespace sift::query
