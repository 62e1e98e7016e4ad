#ifndef SIFT_SERVICES_QUERY_SNAPSHOT_ADMIN_H_
#define SIFT_SERVICES_QUERY_SNAPSHOT_ADMIN_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/storage/shard_directory.h"
#include "sift/v1/query.pb.h"

namespace sift::query {

// Cluster snapshots (docs/replication.md, "Snapshots"): every shard's
// primary checkpoints its index into the snapshot folder `root` (shared
// with the storage members: the same folder on one machine, a mounted
// volume in Kubernetes), then the manifest is written last, so that a
// snapshot without one is incomplete and not listed. Thread-safe.
class SnapshotAdmin {
 public:
  // `root` empty: every call fails FAILED_PRECONDITION.
  SnapshotAdmin(std::shared_ptr<const storage::ShardDirectory> directory,
                std::string root, absl::Duration timeout)
      : directory_(std::move(directory)),
        root_(std::move(root)),
        timeout_(timeout) {}

  absl::StatusOr<v1::SnapshotInfo> Create(const std::string& name) const;
  absl::StatusOr<v1::ListSnapshotsResponse> List() const;
  absl::Status Delete(const std::string& name) const;

 private:
  absl::Status CheckRoot() const;

  std::shared_ptr<const storage::ShardDirectory> directory_;
  const std::string root_;
  const absl::Duration timeout_;
};

}  // namespace sift::query

#endif  // SIFT_SERVICES_QUERY_SNAPSHOT_ADMIN_H_
