#ifndef SIFT_COMMON_CLUSTER_CLUSTER_MAP_H_
#define SIFT_COMMON_CLUSTER_CLUSTER_MAP_H_

// The cluster as etcd holds it (docs/replication.md): its shape, and per
// shard the registered members, the primary and the in-sync set. Storage
// members write it; ingest, query and siftctl read it.
//
// Keys, under /sift/<cluster>/:
//   config                         ClusterConfig, written once
//   shards/<i>/members/<member>    MemberRecord, under the member's lease
//   shards/<i>/primary             PrimaryRecord, under the primary's lease
//   shards/<i>/term                the last term of the shard, a number
//   shards/<i>/in_sync             InSyncRecord
// Values are the records' JSON (protobuf's JSON mapping).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/etcd/client.h"
#include "google/protobuf/message.h"
#include "sift/v1/replication.pb.h"

namespace sift::cluster {

// The keys of one cluster.
class ClusterKeys {
 public:
  // INVALID_ARGUMENT unless `cluster` is 1-63 letters, digits, '-' or '_'.
  static absl::StatusOr<ClusterKeys> For(absl::string_view cluster);

  const std::string& root() const { return root_; }
  std::string Config() const;
  std::string Shard(uint32_t shard) const;
  std::string Members(uint32_t shard) const;
  std::string Member(uint32_t shard, absl::string_view member) const;
  std::string Primary(uint32_t shard) const;
  std::string Term(uint32_t shard) const;
  std::string InSync(uint32_t shard) const;

 private:
  explicit ClusterKeys(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// A record as stored, and back; DATA_LOSS naming `what` when it is not one.
std::string ToJson(const google::protobuf::Message& record);
absl::Status FromJson(absl::string_view json, absl::string_view what,
                      google::protobuf::Message* record);

// One shard's copies as etcd last said.
struct ShardState {
  // Registered (running) members, by name.
  std::map<std::string, v1::MemberRecord> members;
  std::optional<v1::PrimaryRecord> primary;
  // The primary key's lease and revisions, for transactions on it.
  std::optional<etcd::KeyValue> primary_kv;
  uint64_t term = 0;
  std::optional<etcd::KeyValue> term_kv;
  std::optional<v1::InSyncRecord> in_sync;
  std::optional<etcd::KeyValue> in_sync_kv;

  bool IsInSync(absl::string_view member) const;
  // Addresses of the registered in-sync members, the primary first: the
  // copies that hold every acknowledged write and can answer reads.
  std::vector<std::string> ReadableAddresses() const;
};

struct ClusterMap {
  // Unset until some member has created the cluster.
  std::optional<v1::ClusterConfig> config;
  // One per shard of the config.
  std::vector<ShardState> shards;
  // The etcd revision the map was read at.
  int64_t revision = 0;
};

// The map from the keys under `keys.root()`; keys of shards beyond the
// config's count are ignored. DATA_LOSS for a record that does not parse.
absl::StatusOr<ClusterMap> ParseClusterMap(
    const ClusterKeys& keys, const std::vector<etcd::KeyValue>& kvs,
    int64_t revision);

// Reads the whole map now.
absl::StatusOr<ClusterMap> ReadClusterMap(etcd::Client* client,
                                          const ClusterKeys& keys);

// Reads one shard's state now, with the revision it was read at.
absl::StatusOr<ShardState> ReadShardState(etcd::Client* client,
                                          const ClusterKeys& keys,
                                          uint32_t shard,
                                          int64_t* revision = nullptr);

// Creates the cluster's config when absent; when present, checks that it
// is `wanted` (FAILED_PRECONDITION naming both otherwise). Returns it.
absl::StatusOr<v1::ClusterConfig> EnsureClusterConfig(
    etcd::Client* client, const ClusterKeys& keys,
    const v1::ClusterConfig& wanted);

}  // namespace sift::cluster

#endif  // SIFT_COMMON_CLUSTER_CLUSTER_MAP_H_
