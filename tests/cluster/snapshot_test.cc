// Snapshots of a replicated cluster through the real binaries and etcd:
// create, list, delete; wipe everything, restore, and find the same
// documents with the same ranking.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/storage/replication/restore.h"
#include "tests/cluster/replicated_cluster.h"

namespace sift::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Ids and scores of the top hits of each query.
using Ranking =
    std::map<std::string, std::vector<std::pair<std::string, double>>>;

Ranking Rank(ReplicatedCluster& cluster) {
  Ranking out;
  for (const char* query : {"snapshot", "river delta", "\"flood warning\"",
                            "copies OR restore", "river NOT flood"}) {
    auto response = SearchCluster(cluster.query(), query, 20);
    EXPECT_TRUE(response.ok()) << query << ": " << response.status();
    if (!response.ok()) continue;
    EXPECT_FALSE(response->partial());
    for (const v1::Hit& hit : response->hits()) {
      out[query].emplace_back(hit.id(), hit.score());
    }
  }
  return out;
}

std::vector<v1::Document> Corpus() {
  const char* words[] = {"river",   "delta",    "flood",   "warning", "copies",
                         "restore", "snapshot", "harbour", "levee",   "rain"};
  std::vector<v1::Document> docs;
  for (int i = 0; i < 300; ++i) {
    std::string body;
    for (int w = 0; w < 12; ++w) {
      absl::StrAppend(&body, words[(i * 7 + w * w + i / 13) % 10], " ");
    }
    docs.push_back(MakeDocument(absl::StrCat("doc-", i),
                                absl::StrCat(words[i % 10], " report ", i),
                                body));
  }
  return docs;
}

grpc::Status CreateSnapshot(ReplicatedCluster& cluster, const std::string& name,
                            v1::SnapshotInfo* info) {
  v1::CreateSnapshotRequest request;
  request.set_name(name);
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + TestTime(absl::Seconds(60))));
  return cluster.admin().CreateSnapshot(&context, request, info);
}

TEST(SnapshotTest, RestoringASnapshotGivesTheSameDocumentsAndRanking) {
  TempDir dir;
  const std::string snapshots = dir.path() + "/snapshots";
  const std::string root = dir.path() + "/before";
  const std::string flag = "--snapshot_dir=" + snapshots;
  ReplicatedClusterOptions options{
      .shards = 2, .copies = 2, .storage_flags = {flag}, .query_flags = {flag}};
  Ranking before;
  v1::SnapshotInfo info;
  {
    std::filesystem::create_directories(root);
    auto cluster = ReplicatedCluster::Start(root, options);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    auto accepted = (*cluster)->Index(Corpus());
    ASSERT_TRUE(accepted.ok()) << accepted.status();
    ASSERT_EQ(accepted->size(), 300u);
    before = Rank(**cluster);
    ASSERT_EQ(before.size(), 5u);

    const grpc::Status created = CreateSnapshot(**cluster, "nightly-1", &info);
    ASSERT_TRUE(created.ok()) << created.error_message();
    EXPECT_EQ(info.shard_count(), 2u);
    EXPECT_EQ(info.documents(), 300u);
    ASSERT_EQ(info.shards_size(), 2);
    // A second one of the same name is refused; a bad name too.
    v1::SnapshotInfo again;
    EXPECT_EQ(CreateSnapshot(**cluster, "nightly-1", &again).error_code(),
              grpc::StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(CreateSnapshot(**cluster, "../x", &again).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
    // Writes after the snapshot are not in it.
    ASSERT_TRUE((*cluster)
                    ->Index({MakeDocument("late", "snapshot", "latecomer")})
                    .ok());
    ASSERT_TRUE(CreateSnapshot(**cluster, "spare", &again).ok());
    {
      grpc::ClientContext context;
      v1::ListSnapshotsResponse list;
      ASSERT_TRUE(
          (*cluster)
              ->admin()
              .ListSnapshots(&context, v1::ListSnapshotsRequest(), &list)
              .ok());
      std::vector<std::string> names;
      for (const auto& s : list.snapshots()) names.push_back(s.name());
      EXPECT_THAT(names, ElementsAre("nightly-1", "spare"));
    }
    {
      grpc::ClientContext context;
      v1::DeleteSnapshotRequest request;
      request.set_name("spare");
      v1::DeleteSnapshotResponse response;
      ASSERT_TRUE((*cluster)
                      ->admin()
                      .DeleteSnapshot(&context, request, &response)
                      .ok());
      EXPECT_FALSE(std::filesystem::exists(snapshots + "/spare"));
    }
  }
  // Everything is gone: every member's data and etcd.
  std::filesystem::remove_all(root);

  // Each shard's first copy gets the snapshot; the others start empty and
  // copy it from the primary.
  const std::string after = dir.path() + "/after";
  for (int shard = 0; shard < 2; ++shard) {
    auto restored = storage::RestoreShardSnapshot(
        snapshots, "nightly-1", shard,
        after + "/" + ReplicatedCluster::MemberName(shard, 0),
        storage::DataLayout::kMember);
    ASSERT_TRUE(restored.ok()) << restored.status();
    EXPECT_EQ(restored->seq, info.shards(shard).last_seq());
  }
  auto cluster = ReplicatedCluster::Start(after, options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  EXPECT_EQ(Rank(**cluster), before);
  auto late = SearchCluster((*cluster)->query(), "latecomer", 10);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->hits_size(), 0);
  for (int shard = 0; shard < 2; ++shard) {
    auto primary = (*cluster)->PrimaryCopy(shard);
    ASSERT_TRUE(primary.ok() && primary->has_value());
    EXPECT_EQ(**primary, 0) << "the restored copy leads shard " << shard;
    auto stats = (*cluster)->MemberStats(shard, 1);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->doc_count(), info.shards(shard).documents());
  }
  // Restoring into a folder in use is refused.
  EXPECT_THAT(storage::RestoreShardSnapshot(
                  snapshots, "nightly-1", 0,
                  after + "/" + ReplicatedCluster::MemberName(0, 0),
                  storage::DataLayout::kMember)
                  .status()
                  .message(),
              HasSubstr("not empty"));
}

}  // namespace
}  // namespace sift::testing
