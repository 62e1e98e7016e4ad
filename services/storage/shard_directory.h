#ifndef SIFT_SERVICES_STORAGE_SHARD_DIRECTORY_H_
#define SIFT_SERVICES_STORAGE_SHARD_DIRECTORY_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cluster/cluster_watcher.h"
#include "common/etcd/client.h"
#include "common/sync/mutex.h"
#include "services/storage/storage_client.h"

namespace sift::storage {

// Reads of one shard, spread over its copies: each call starts at a copy
// (the next in turn, or one the caller picked) and, when a copy fails in a way
// another copy may not (UNAVAILABLE, RESOURCE_EXHAUSTED, FAILED_PRECONDITION,
// ABORTED, CANCELLED by a copy that stops), tries the next one, until one
// answers or every copy has failed (the last error). The copies hold the same
// acknowledged documents and score with the statistics the request carries, so
// any of them gives the same answer. Thread-safe.
class ShardReader {
 public:
  explicit ShardReader(std::vector<std::shared_ptr<StorageClient>> copies);

  // The copies' addresses, comma-separated, for messages.
  const std::string& address() const { return address_; }
  const std::vector<std::shared_ptr<StorageClient>>& copies() const {
    return copies_;
  }

  // A copy picked for one search, counted as busy with it until the pick is
  // destroyed. Holds a pointer into the reader, which must outlive it.
  class Pick {
   public:
    Pick() = default;
    Pick(Pick&& other) noexcept
        : index_(other.index_), busy_(std::exchange(other.busy_, nullptr)) {}
    Pick& operator=(Pick&& other) noexcept {
      Release();
      index_ = other.index_;
      busy_ = std::exchange(other.busy_, nullptr);
      return *this;
    }
    ~Pick() { Release(); }
    size_t index() const { return index_; }

   private:
    friend class ShardReader;
    Pick(size_t index, std::atomic<int>* busy) : index_(index), busy_(busy) {}
    void Release() {
      if (busy_ != nullptr) busy_->fetch_sub(1, std::memory_order_relaxed);
      busy_ = nullptr;
    }
    size_t index_ = 0;
    std::atomic<int>* busy_ = nullptr;
  };

  // The copy a search's rounds start at: the one with the fewest searches
  // of this reader in flight, and among those the first from this reader's
  // preferred copy. So a lightly loaded coordinator keeps one copy's caches
  // warm for its terms (a search spread over three idle copies finds each
  // one colder), and load spreads over the copies as it grows.
  // Coordinators prefer different copies (the preference is drawn at
  // random), so that several of them spread too. Searches pass the same
  // pick to each of their rounds.
  Pick PickCopy() const;
  void StatsAsync(size_t first_copy, const v1::StatsRequest& request,
                  absl::Time deadline,
                  StorageClient::Callback<v1::StatsResponse> done) const;
  void SearchAsync(size_t first_copy, const v1::ShardSearchRequest& request,
                   absl::Time deadline,
                   StorageClient::Callback<v1::ShardSearchResponse> done) const;
  void FetchAsync(size_t first_copy, const v1::FetchRequest& request,
                  absl::Time deadline,
                  StorageClient::Callback<v1::FetchResponse> done) const;
  // The same calls, answered on the calling thread (a blocking call saves
  // the thread hand-offs of an asynchronous one when there is nothing to
  // overlap it with: one shard).
  absl::StatusOr<v1::StatsResponse> Stats(size_t first_copy,
                                          const v1::StatsRequest& request,
                                          absl::Time deadline) const;
  absl::StatusOr<v1::ShardSearchResponse> Search(
      size_t first_copy, const v1::ShardSearchRequest& request,
      absl::Time deadline) const;
  absl::StatusOr<v1::FetchResponse> Fetch(size_t first_copy,
                                          const v1::FetchRequest& request,
                                          absl::Time deadline) const;
  // A fetch on its own, starting at PickCopy().
  absl::StatusOr<v1::FetchResponse> Fetch(const v1::FetchRequest& request,
                                          absl::Time deadline) const;

 private:
  std::vector<std::shared_ptr<StorageClient>> copies_;
  std::string address_;
  // The copy PickCopy prefers among equally busy ones.
  size_t preferred_ = 0;
  // Searches in flight on each copy, by copy.
  std::unique_ptr<std::atomic<int>[]> busy_;
};

// Where each shard's copies are: the member that takes its writes and the
// copies that answer its reads. Ingest and query look shards up here for
// every request, so that a failover reaches them as soon as the directory
// knows of it. Thread-safe.
class ShardDirectory {
 public:
  virtual ~ShardDirectory() = default;

  virtual uint32_t shard_count() const = 0;
  // The shard's primary; null while none is known (a failover): callers
  // treat that as UNAVAILABLE and retry.
  virtual std::shared_ptr<StorageClient> Primary(uint32_t shard) const = 0;
  // Every shard's reader, in shard order; a shard with no copy known has
  // a reader with no copies, whose calls fail UNAVAILABLE.
  virtual std::vector<std::shared_ptr<const ShardReader>> Readers() const = 0;
  // Every known copy of every shard (also copies not in sync), by shard, for
  // statistics.
  virtual std::vector<std::vector<std::shared_ptr<StorageClient>>> AllCopies()
      const = 0;
  // A caller found the directory out of date (a member said it is not the
  // primary); look again soon.
  virtual void Refresh() const {}
};

// A fixed list: shard i is the i-th address, one copy each (a single node,
// or a cluster without etcd).
class StaticShardDirectory final : public ShardDirectory {
 public:
  explicit StaticShardDirectory(
      std::vector<std::unique_ptr<StorageClient>> shards);
  // From a comma-separated list of addresses, in shard order.
  static absl::StatusOr<std::unique_ptr<StaticShardDirectory>> FromList(
      const std::string& comma_separated_addresses);

  uint32_t shard_count() const override;
  std::shared_ptr<StorageClient> Primary(uint32_t shard) const override;
  std::vector<std::shared_ptr<const ShardReader>> Readers() const override;
  std::vector<std::vector<std::shared_ptr<StorageClient>>> AllCopies()
      const override;

 private:
  std::vector<std::shared_ptr<StorageClient>> shards_;
  std::vector<std::shared_ptr<const ShardReader>> readers_;
};

// The cluster map in etcd, kept current by a ClusterWatcher: writes go to
// each shard's primary, reads to its registered in-sync copies.
class EtcdShardDirectory final : public ShardDirectory {
 public:
  // Connects to etcd and waits up to `wait_for_cluster` for the cluster to
  // exist (its first storage member creates it); UNAVAILABLE naming the
  // cluster if it does not by then.
  static absl::StatusOr<std::unique_ptr<EtcdShardDirectory>> Start(
      const std::string& etcd_endpoints, const std::string& cluster,
      absl::Duration wait_for_cluster);
  ~EtcdShardDirectory() override;

  uint32_t shard_count() const override { return shard_count_; }
  std::shared_ptr<StorageClient> Primary(uint32_t shard) const override;
  std::vector<std::shared_ptr<const ShardReader>> Readers() const override;
  std::vector<std::vector<std::shared_ptr<StorageClient>>> AllCopies()
      const override;
  void Refresh() const override { watcher_->RefreshSoon(); }

  // The map as last read, for tools and stats.
  std::shared_ptr<const cluster::ClusterMap> Map() const {
    return watcher_->Current();
  }

 private:
  EtcdShardDirectory(std::unique_ptr<etcd::Client> client,
                     std::unique_ptr<cluster::ClusterWatcher> watcher,
                     uint32_t shard_count);
  // One client per address and shard, made once and kept.
  std::shared_ptr<StorageClient> ClientFor(uint32_t shard,
                                           const std::string& address) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<etcd::Client> client_;
  std::unique_ptr<cluster::ClusterWatcher> watcher_;
  const uint32_t shard_count_;

  mutable Mutex mu_;
  mutable std::map<std::pair<uint32_t, std::string>,
                   std::shared_ptr<StorageClient>>
      clients_ ABSL_GUARDED_BY(mu_);
  // The readers of the map of revision readers_revision_, kept so that
  // their turns spread reads across calls.
  mutable int64_t readers_revision_ ABSL_GUARDED_BY(mu_) = -1;
  mutable std::vector<std::shared_ptr<const ShardReader>> readers_
      ABSL_GUARDED_BY(mu_);
};

// The directory a server's flags ask for: the cluster map of `cluster` in
// etcd when `etcd_endpoints` is set (waiting up to `wait_for_cluster` for
// it to exist), the comma-separated `static_list` otherwise.
absl::StatusOr<std::shared_ptr<ShardDirectory>> OpenShardDirectory(
    const std::string& static_list, const std::string& etcd_endpoints,
    const std::string& cluster, absl::Duration wait_for_cluster);

// "4 shards at a:1,b:2" or "cluster sift in etcd at e:2379, 3 shards", for
// servers' start-up lines.
std::string DescribeDirectory(const ShardDirectory& directory);

}  // namespace sift::storage

#endif  // SIFT_SERVICES_STORAGE_SHARD_DIRECTORY_H_
