#ifndef SIFT_SERVICES_STORAGE_REPLICATION_SHARD_MEMBER_H_
#define SIFT_SERVICES_STORAGE_REPLICATION_SHARD_MEMBER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cluster/cluster_map.h"
#include "common/etcd/client.h"
#include "common/etcd/lease_keeper.h"
#include "common/routing/shard_router.h"
#include "common/sync/mutex.h"
#include "services/storage/index.h"
#include "services/storage/replication/shard_follower.h"
#include "services/storage/replication/shard_primary.h"
#include "sift/v1/storage.pb.h"

namespace sift::storage {

struct MemberOptions {
  // Unique in the cluster; the pod's name in Kubernetes.
  std::string member;
  // Where the other members, ingest and query reach this one.
  std::string address;
  ShardRef shard;
  // The cluster's copies of each shard (with the shard count, its shape).
  uint32_t copies = 1;
  // The member's folder: its identity, its index, scratch space.
  std::string data_dir;
  // The index's tuning; a member keeps an op log whatever op_log_writes
  // says (at least one write; kDefaultOpLogWrites when it is 0).
  IndexOptions index;
  // The etcd lease of the member's keys: a member that stops answering is
  // taken for dead after this long, and its shard fails over.
  absl::Duration lease_ttl = absl::Seconds(3);
  // A copy that holds a write up this long leaves the in-sync set.
  absl::Duration copy_timeout = absl::Seconds(2);
};

// The op log a replicated member keeps by default: minutes of writes of a
// busy shard, so that a copy restarted within them catches up from the log
// rather than from a checkpoint.
inline constexpr size_t kDefaultOpLogWrites = 100000;

// One member of a replicated shard (docs/replication.md): its index, its
// registration in etcd, and its role, which it takes from etcd and keeps
// up to date on its own thread. With no primary, a member of the in-sync
// set (any member, for a new shard) runs for it in an etcd transaction that
// also raises the shard's term; the winner becomes the ShardPrimary, the
// others follow it (ShardFollower), and a copy the primary's log no longer
// covers starts over from a checkpoint of the primary. A member whose lease
// is lost stops being primary, registers again and follows whoever won.
class ShardMember {
 public:
  // Opens the index under options.data_dir, registers the member and starts
  // its thread. FAILED_PRECONDITION when the cluster in etcd has another
  // shape. `etcd` must outlive the member.
  static absl::StatusOr<std::unique_ptr<ShardMember>> Start(
      etcd::Client* etcd, cluster::ClusterKeys keys, MemberOptions options);
  // Stops without handing over (Leave first for that).
  ~ShardMember();
  ShardMember(const ShardMember&) = delete;
  ShardMember& operator=(const ShardMember&) = delete;

  // The index reads use now; null while a checkpoint replaces it.
  std::shared_ptr<Index> index() const;
  // This member's ShardPrimary while it is the primary; null otherwise.
  std::shared_ptr<ShardPrimary> primary() const;

  // A write sent to this member: applied through the ShardPrimary, or
  // UNAVAILABLE naming the primary when this member is not it (ingest then
  // looks the primary up again and retries).
  absl::StatusOr<v1::WriteResponse> Write(const v1::WriteRequest& request);

  v1::ReplicationStatus Status() const;

  // Leaves the cluster gracefully: a primary stops taking writes, lets its
  // copies catch up (for up to `grace`) and gives up the primary key so
  // that one of them takes over at once; then the member's keys go.
  void Leave(absl::Duration grace);

 private:
  ShardMember(etcd::Client* etcd, cluster::ClusterKeys keys,
              MemberOptions options, std::shared_ptr<Index> index,
              int generation);

  void Run();
  // One look at the shard in etcd and what follows from it; the next look
  // waits for a change or `*wait`.
  absl::Status Step(absl::Duration* wait);
  absl::Status Register();
  absl::Status Campaign(const cluster::ShardState& state);
  // Gives up the primary key if this member holds it.
  void Resign();
  // Replaces the index with a checkpoint of the primary's.
  absl::Status Recover(const v1::PrimaryRecord& primary);
  std::string PrimaryJson(uint64_t term) const;

  etcd::Client* const etcd_;
  const cluster::ClusterKeys keys_;
  const MemberOptions options_;

  mutable Mutex mu_;
  CondVar wake_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool leaving_ ABSL_GUARDED_BY(mu_) = false;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<Index> index_ ABSL_GUARDED_BY(mu_);
  // The index folder's number: index-<generation>.
  int generation_ ABSL_GUARDED_BY(mu_) = 1;
  std::shared_ptr<ShardPrimary> primary_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ShardFollower> follower_ ABSL_GUARDED_BY(mu_);
  std::string role_ ABSL_GUARDED_BY(mu_) = "candidate";
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  bool in_sync_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t term_ ABSL_GUARDED_BY(mu_) = 0;

  std::unique_ptr<etcd::LeaseKeeper> lease_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<etcd::Client::Watch> watch_;
  std::thread thread_;
};

// Points the INDEX file of `data_dir` at index-<generation>, durably.
absl::Status WriteIndexPointer(const std::string& data_dir, int generation);

// Opens the index of a member's data folder: the folder its INDEX file
// names (index-1 for a new member), with the op log on. Returns the folder's
// generation in `*generation`.
absl::StatusOr<std::shared_ptr<Index>> OpenMemberIndex(
    const std::string& data_dir, const IndexOptions& options, int* generation);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_REPLICATION_SHARD_MEMBER_H_
