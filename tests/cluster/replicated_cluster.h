#ifndef SIFT_TESTS_CLUSTER_REPLICATED_CLUSTER_H_
#define SIFT_TESTS_CLUSTER_REPLICATED_CLUSTER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/cluster/cluster_map.h"
#include "common/etcd/client.h"
#include "common/etcd/testing/etcd_server.h"
#include "sift/v1/ingest.grpc.pb.h"
#include "sift/v1/query.grpc.pb.h"
#include "sift/v1/storage.grpc.pb.h"
#include "tests/integration/cluster.h"

namespace sift::testing {

struct ReplicatedClusterOptions {
  int shards = 1;
  int copies = 3;
  int lease_ttl_seconds = 2;
  // Extra flags for every storage member, and for sift-query.
  std::vector<std::string> storage_flags = {};
  std::vector<std::string> query_flags = {};
};

// A replicated Sift cluster as separate processes on loopback: a real etcd,
// shards x copies sift-storage members (member "s<shard>-<copy>", data under
// root/s<shard>-<copy>), one sift-ingest and one sift-query that read the
// cluster map from etcd.
class ReplicatedCluster {
 public:
  static absl::StatusOr<std::unique_ptr<ReplicatedCluster>> Start(
      const std::string& root, ReplicatedClusterOptions options);
  ~ReplicatedCluster();

  static std::string MemberName(int shard, int copy);

  v1::IngestService::Stub& ingest() { return *ingest_stub_; }
  v1::QueryService::Stub& query() { return *query_stub_; }
  v1::AdminService::Stub& admin() { return *admin_stub_; }
  etcd::Client& etcd() { return *etcd_; }
  std::string etcd_endpoint() const { return etcd_server_->endpoint(); }
  const std::string& query_address() const { return query_address_; }
  const std::string& member_address(int shard, int copy) const;
  const std::string& member_data(int shard, int copy) const;
  const std::string& member_log(int shard, int copy) const;
  const ReplicatedClusterOptions& options() const { return options_; }

  // The member processes: stop with a signal (SIGKILL: crash; SIGTERM:
  // hand over and drain), send one without waiting (SIGSTOP, SIGCONT),
  // start again on the same port and data (waiting until it serves).
  void StopMember(int shard, int copy, int signal);
  void SignalMember(int shard, int copy, int signal);
  absl::Status StartMember(int shard, int copy);

  // The cluster map as etcd has it now.
  absl::StatusOr<cluster::ClusterMap> Map();
  // The copy number of the shard's primary now, if any.
  absl::StatusOr<std::optional<int>> PrimaryCopy(int shard);
  // Waits until the shard has a primary other than `not_copy` and returns
  // its copy number.
  absl::StatusOr<int> WaitForPrimary(int shard, std::optional<int> not_copy,
                                     absl::Duration timeout);
  // Waits until `count` members of the shard are in its in-sync set and
  // registered.
  absl::Status WaitForInSync(int shard, int count, absl::Duration timeout);

  // Indexes the documents through ingest in one call; the ids it accepted.
  absl::StatusOr<std::vector<std::string>> Index(
      const std::vector<v1::Document>& documents,
      absl::Duration timeout = absl::Seconds(30));
  // The member's own statistics (documents, replication status).
  absl::StatusOr<v1::StatsResponse> MemberStats(int shard, int copy);

  std::string Logs() const;

 private:
  ReplicatedCluster() = default;
  int Index(int shard, int copy) const {
    return shard * options_.copies + copy;
  }

  std::string root_;
  ReplicatedClusterOptions options_;
  std::unique_ptr<etcd::testing::EtcdServer> etcd_server_;
  std::unique_ptr<etcd::Client> etcd_;
  std::optional<cluster::ClusterKeys> keys_;
  std::vector<std::string> addresses_;
  std::vector<std::string> data_;
  std::vector<std::string> logs_;
  std::vector<std::unique_ptr<Process>> members_;
  std::unique_ptr<Process> ingest_process_;
  std::unique_ptr<Process> query_process_;
  std::string ingest_address_;
  std::string query_address_;
  std::unique_ptr<v1::IngestService::Stub> ingest_stub_;
  std::unique_ptr<v1::QueryService::Stub> query_stub_;
  std::unique_ptr<v1::AdminService::Stub> admin_stub_;
};

// A document with a title and a body.
v1::Document MakeDocument(const std::string& id, const std::string& title,
                          const std::string& body);

// Searches through query; the call's status and the answer.
absl::StatusOr<v1::SearchResponse> SearchCluster(
    v1::QueryService::Stub& query, const std::string& text, int page_size,
    absl::Duration timeout = absl::Seconds(30));

}  // namespace sift::testing

#endif  // SIFT_TESTS_CLUSTER_REPLICATED_CLUSTER_H_
