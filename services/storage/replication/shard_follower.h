#ifndef SIFT_SERVICES_STORAGE_REPLICATION_SHARD_FOLLOWER_H_
#define SIFT_SERVICES_STORAGE_REPLICATION_SHARD_FOLLOWER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/routing/shard_router.h"
#include "common/sync/mutex.h"
#include "services/storage/index.h"
#include "sift/v1/replication.grpc.pb.h"

namespace sift::storage {

struct FollowerOptions {
  // This member's name and shard.
  std::string member;
  ShardRef shard;
  // The primary to follow: its address and term.
  std::string primary_address;
  uint64_t term = 0;
  // How long one pull waits for writes.
  absl::Duration pull_wait = absl::Seconds(1);
  size_t max_pull_bytes = size_t{4} << 20;
};

// What a follower has seen of its primary.
struct FollowerState {
  uint64_t primary_last_seq = 0;
  uint64_t commit_seq = 0;
  // The last failure to pull or apply; OK after a success.
  absl::Status last_error;
  // The primary said this copy must start from a checkpoint.
  bool needs_checkpoint = false;
};

// A copy's side of a shard's replication (docs/replication.md): pulls the
// primary's op log from where its own ends, appends what comes (synced:
// the next pull acknowledges it) and applies up to the primary's commit
// point. A tail logged from an earlier primary that the current one does
// not have is dropped. Runs on its own thread until destroyed; failures
// are retried with backoff and kept in State().
class ShardFollower {
 public:
  // `index` must outlive the follower.
  ShardFollower(Index* index, FollowerOptions options);
  ~ShardFollower();
  ShardFollower(const ShardFollower&) = delete;
  ShardFollower& operator=(const ShardFollower&) = delete;

  const FollowerOptions& options() const { return options_; }
  FollowerState State() const;

 private:
  void Run();
  // One pull and what follows from it.
  absl::Status Step(uint64_t* known_commit);
  // Applies the log up to apply_target_ whenever it rises, on its own
  // thread, so that a pull never waits for an apply: the next pull is what
  // tells the primary that this copy logged a write, and a write is
  // acknowledged only then.
  void ApplyLoop();
  // Lets the running apply finish and starts no other until apply_target_
  // rises again: before the log's tail is dropped.
  void StopApplying();

  Index* const index_;
  const FollowerOptions options_;
  std::unique_ptr<v1::ReplicationService::Stub> stub_;

  Mutex apply_mu_ ABSL_ACQUIRED_AFTER(mu_);
  CondVar apply_cv_;
  bool apply_stopping_ ABSL_GUARDED_BY(apply_mu_) = false;
  bool applying_ ABSL_GUARDED_BY(apply_mu_) = false;
  // Applied through this committed write once the applier gets to it.
  uint64_t apply_target_ ABSL_GUARDED_BY(apply_mu_) = 0;
  // Writes appended and prepared, not yet applied.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Index::PreparedWrite>> prepared_
      ABSL_GUARDED_BY(apply_mu_);
  // The last apply's failure; OK after one succeeds.
  absl::Status apply_error_ ABSL_GUARDED_BY(apply_mu_);

  mutable Mutex mu_;
  CondVar stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* call_ ABSL_GUARDED_BY(mu_) = nullptr;
  FollowerState state_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;
  std::thread applier_;
};

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_REPLICATION_SHARD_FOLLOWER_H_
