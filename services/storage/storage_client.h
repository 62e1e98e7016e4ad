#ifndef SIFT_SERVICES_STORAGE_STORAGE_CLIENT_H_
#define SIFT_SERVICES_STORAGE_STORAGE_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/routing/shard_router.h"
#include "sift/v1/storage.grpc.pb.h"

namespace sift::storage {

// The client side of one storage shard's StorageService, as ingest and the
// query coordinator use it. Every call carries `deadline`; gRPC failures come
// back as absl::Status with the same code and a message naming the shard.
// Thread-safe; cheap to share (one HTTP/2 channel per shard).
class StorageClient {
 public:
  template <typename T>
  using Callback = std::function<void(absl::StatusOr<T>)>;

  // Connects lazily; never fails here, calls fail UNAVAILABLE instead. With
  // `shard`, every call says which shard it is meant for, and a member
  // holding another one refuses it (FAILED_PRECONDITION).
  StorageClient(std::string address, std::shared_ptr<grpc::Channel> channel,
                std::optional<ShardRef> shard = std::nullopt);
  static std::unique_ptr<StorageClient> Connect(
      const std::string& address, std::optional<ShardRef> shard = std::nullopt);

  const std::string& address() const { return address_; }
  const std::optional<ShardRef>& shard() const { return shard_; }

  // Blocking calls.
  absl::StatusOr<v1::WriteResponse> Write(const v1::WriteRequest& request,
                                          absl::Time deadline) const;
  absl::StatusOr<v1::StatsResponse> Stats(const v1::StatsRequest& request,
                                          absl::Time deadline) const;
  absl::StatusOr<v1::ShardSearchResponse> Search(
      const v1::ShardSearchRequest& request, absl::Time deadline) const;
  absl::StatusOr<v1::FetchResponse> Fetch(const v1::FetchRequest& request,
                                          absl::Time deadline) const;
  absl::StatusOr<v1::ShardSnapshotResponse> Snapshot(
      const v1::ShardSnapshotRequest& request, absl::Time deadline) const;

  // Non-blocking calls for fan-out: `done` runs once, on a gRPC thread, so
  // it must be quick and must not block. `request` is copied.
  void StatsAsync(const v1::StatsRequest& request, absl::Time deadline,
                  Callback<v1::StatsResponse> done) const;
  void SearchAsync(const v1::ShardSearchRequest& request, absl::Time deadline,
                   Callback<v1::ShardSearchResponse> done) const;
  void FetchAsync(const v1::FetchRequest& request, absl::Time deadline,
                  Callback<v1::FetchResponse> done) const;
  void WriteAsync(const v1::WriteRequest& request, absl::Time deadline,
                  Callback<v1::WriteResponse> done) const;

 private:
  std::string address_;
  std::optional<ShardRef> shard_;
  std::unique_ptr<v1::StorageService::Stub> stub_;
};

// Clients for a comma-separated list of shard addresses, in shard order:
// the i-th of n is shard i of n.
// INVALID_ARGUMENT for an empty list or an empty entry.
absl::StatusOr<std::vector<std::unique_ptr<StorageClient>>> ConnectShards(
    const std::string& comma_separated_addresses);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_STORAGE_CLIENT_H_
