#include "common/cluster/cluster_watcher.h"

#include <cstdio>
#include <utility>

#include "absl/time/clock.h"

namespace sift::cluster {

absl::StatusOr<std::unique_ptr<ClusterWatcher>> ClusterWatcher::Start(
    etcd::Client* client, ClusterKeys keys, absl::Duration refresh) {
  absl::StatusOr<ClusterMap> first = ReadClusterMap(client, keys);
  if (!first.ok()) return first.status();
  std::unique_ptr<ClusterWatcher> watcher(new ClusterWatcher(
      client, std::move(keys), refresh,
      std::make_shared<const ClusterMap>(*std::move(first))));
  return watcher;
}

ClusterWatcher::ClusterWatcher(etcd::Client* client, ClusterKeys keys,
                               absl::Duration refresh,
                               std::shared_ptr<const ClusterMap> first)
    : client_(client),
      keys_(std::move(keys)),
      refresh_(refresh),
      map_(std::move(first)) {
  int64_t revision = 0;
  {
    MutexLock lock(&mu_);
    revision = map_->revision;
  }
  // Events only say that something changed: the map is read again whole,
  // which is a few dozen keys.
  watch_ = client_->WatchPrefix(
      keys_.root(), revision + 1,
      [this](const std::vector<etcd::WatchEvent>&) { RefreshSoon(); },
      [this](const absl::Status&) { RefreshSoon(); });
  thread_ = std::thread([this] { Run(); });
}

ClusterWatcher::~ClusterWatcher() {
  watch_.reset();
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    changed_.SignalAll();
  }
  thread_.join();
}

std::shared_ptr<const ClusterMap> ClusterWatcher::Current() const {
  MutexLock lock(&mu_);
  return map_;
}

std::shared_ptr<const ClusterMap> ClusterWatcher::WaitNewer(
    int64_t revision, absl::Time deadline) const {
  MutexLock lock(&mu_);
  while (map_->revision <= revision && !stopping_ && absl::Now() < deadline) {
    changed_.WaitWithDeadline(&mu_, deadline);
  }
  return map_;
}

void ClusterWatcher::RefreshSoon() {
  MutexLock lock(&mu_);
  dirty_ = true;
  changed_.SignalAll();
}

void ClusterWatcher::Run() {
  MutexLock lock(&mu_);
  while (!stopping_) {
    if (!dirty_) changed_.WaitWithTimeout(&mu_, refresh_);
    if (stopping_) return;
    dirty_ = false;
    mu_.Unlock();
    absl::StatusOr<ClusterMap> map = ReadClusterMap(client_, keys_);
    mu_.Lock();
    if (!map.ok()) {
      std::fprintf(stderr, "sift: reading the cluster map from etcd: %s\n",
                   map.status().ToString().c_str());
      // Try again soon, without spinning.
      changed_.WaitWithTimeout(&mu_, absl::Milliseconds(500));
      dirty_ = true;
      continue;
    }
    if (map->revision >= map_->revision) {
      map_ = std::make_shared<const ClusterMap>(*std::move(map));
      changed_.SignalAll();
    }
  }
}

}  // namespace sift::cluster
