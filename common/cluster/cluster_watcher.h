#ifndef SIFT_COMMON_CLUSTER_CLUSTER_WATCHER_H_
#define SIFT_COMMON_CLUSTER_CLUSTER_WATCHER_H_

#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cluster/cluster_map.h"
#include "common/etcd/client.h"
#include "common/sync/mutex.h"

namespace sift::cluster {

// The cluster map, kept current: read once, then read again whenever etcd
// reports a change under the cluster's keys (and at least every
// `refresh`, in case a watch was lost). Thread-safe.
class ClusterWatcher {
 public:
  // Reads the map (failing as ReadClusterMap does) and starts watching.
  // `client` must outlive the watcher.
  static absl::StatusOr<std::unique_ptr<ClusterWatcher>> Start(
      etcd::Client* client, ClusterKeys keys,
      absl::Duration refresh = absl::Seconds(5));
  ~ClusterWatcher();
  ClusterWatcher(const ClusterWatcher&) = delete;
  ClusterWatcher& operator=(const ClusterWatcher&) = delete;

  // The latest map read.
  std::shared_ptr<const ClusterMap> Current() const;
  // Waits until a map newer than `revision` is read, or `deadline`; returns
  // the latest map either way.
  std::shared_ptr<const ClusterMap> WaitNewer(int64_t revision,
                                              absl::Time deadline) const;
  // Reads the map again now (a caller that found it stale: a primary that
  // says it is not one).
  void RefreshSoon();

 private:
  ClusterWatcher(etcd::Client* client, ClusterKeys keys, absl::Duration refresh,
                 std::shared_ptr<const ClusterMap> first);
  void Run();

  etcd::Client* const client_;
  const ClusterKeys keys_;
  const absl::Duration refresh_;

  mutable Mutex mu_;
  mutable CondVar changed_;
  std::shared_ptr<const ClusterMap> map_ ABSL_GUARDED_BY(mu_);
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::unique_ptr<etcd::Client::Watch> watch_;
  std::thread thread_;
};

}  // namespace sift::cluster

#endif  // SIFT_COMMON_CLUSTER_CLUSTER_WATCHER_H_
