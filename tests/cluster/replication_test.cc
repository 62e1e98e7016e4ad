// Replicated shards through the real binaries and a real etcd on loopback:
// election, failover, fencing of a deposed primary, copies rejoining from
// the op log and from a checkpoint, misrouted requests and a wrong shape.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/routing/shard_router.h"
#include "common/server/channels.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sift/v1/storage.grpc.pb.h"
#include "tests/cluster/replicated_cluster.h"

namespace sift::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::UnorderedElementsAreArray;

std::vector<v1::Document> Documents(const std::string& prefix, int from,
                                    int count) {
  std::vector<v1::Document> out;
  for (int i = from; i < from + count; ++i) {
    out.push_back(MakeDocument(
        absl::StrCat(prefix, i), absl::StrCat("replicated report ", i),
        absl::StrCat("copies keep every acknowledged ", "write, number ", i)));
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every id a search for "replicated" finds, through query.
std::vector<std::string> SearchIds(ReplicatedCluster& cluster) {
  auto response = SearchCluster(cluster.query(), "replicated", 1000);
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return {};
  EXPECT_FALSE(response->partial());
  std::vector<std::string> ids;
  for (const v1::Hit& hit : response->hits()) {
    ids.push_back(hit.id());
  }
  return ids;
}

// Waits until every running copy of `shard` has applied the same number of
// documents as `expected`.
void ExpectCopiesHold(ReplicatedCluster& cluster, int shard,
                      const std::vector<int>& copies, uint64_t expected) {
  const absl::Time end = absl::Now() + TestTime(absl::Seconds(30));
  for (int copy : copies) {
    uint64_t last = 0;
    while (absl::Now() < end) {
      auto stats = cluster.MemberStats(shard, copy);
      if (stats.ok()) last = stats->doc_count();
      if (last == expected) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(last, expected) << "copy " << copy << " of shard " << shard;
  }
}

class ReplicationClusterTest : public ::testing::Test {
 protected:
  void Start(ReplicatedClusterOptions options) {
    auto cluster = ReplicatedCluster::Start(dir_.path(), std::move(options));
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }

  TempDir dir_;
  std::unique_ptr<ReplicatedCluster> cluster_;
};

TEST_F(ReplicationClusterTest, EachShardElectsOnePrimaryAndEveryCopyHoldsIt) {
  Start({.shards = 2, .copies = 3});
  auto map = cluster_->Map();
  ASSERT_TRUE(map.ok()) << map.status();
  ASSERT_EQ(map->shards.size(), 2u);
  for (int shard = 0; shard < 2; ++shard) {
    const cluster::ShardState& state = map->shards[shard];
    ASSERT_TRUE(state.primary.has_value());
    EXPECT_GE(state.term, 1u);
    EXPECT_EQ(state.members.size(), 3u);
    EXPECT_EQ(state.in_sync->members_size(), 3);
  }
  auto accepted = cluster_->Index(Documents("d", 0, 200));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  ASSERT_EQ(accepted->size(), 200u);
  EXPECT_THAT(SearchIds(*cluster_), UnorderedElementsAreArray(*accepted));
  uint64_t total = 0;
  for (int shard = 0; shard < 2; ++shard) {
    uint64_t on_shard = 0;
    for (const std::string& id : *accepted) {
      if (ShardForId(id, 2) == static_cast<uint32_t>(shard)) ++on_shard;
    }
    total += on_shard;
    ExpectCopiesHold(*cluster_, shard, {0, 1, 2}, on_shard);
    // Every copy knows its role and term.
    int primaries = 0;
    for (int copy = 0; copy < 3; ++copy) {
      auto stats = cluster_->MemberStats(shard, copy);
      ASSERT_TRUE(stats.ok()) << stats.status();
      const v1::ReplicationStatus& status = stats->replication();
      EXPECT_EQ(status.member(), ReplicatedCluster::MemberName(shard, copy));
      EXPECT_EQ(status.term(), map->shards[shard].term);
      EXPECT_TRUE(status.in_sync());
      if (status.role() == "primary") ++primaries;
    }
    EXPECT_EQ(primaries, 1);
  }
  EXPECT_EQ(total, 200u);
}

TEST_F(ReplicationClusterTest, APrimaryKilledLosesNoAcknowledgedWrite) {
  Start({.shards = 1, .copies = 3});
  std::vector<std::string> acknowledged;
  auto first = cluster_->Index(Documents("a", 0, 100));
  ASSERT_TRUE(first.ok()) << first.status();
  acknowledged = *first;
  auto primary = cluster_->PrimaryCopy(0);
  ASSERT_TRUE(primary.ok() && primary->has_value());
  const int old = **primary;
  cluster_->StopMember(0, old, SIGKILL);
  // Ingest retries across the failover within the call's deadline.
  auto during = cluster_->Index(Documents("b", 0, 50));
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(during->size(), 50u) << cluster_->Logs();
  acknowledged.insert(acknowledged.end(), during->begin(), during->end());
  auto next = cluster_->WaitForPrimary(0, old, absl::Seconds(30));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_NE(*next, old);
  // Searches answer completely from the copies left.
  EXPECT_THAT(SearchIds(*cluster_), UnorderedElementsAreArray(acknowledged));

  // The old primary comes back as a copy of the new one and catches up.
  ASSERT_TRUE(cluster_->StartMember(0, old).ok());
  ASSERT_TRUE(cluster_->WaitForInSync(0, 3, absl::Seconds(60)).ok());
  auto after = cluster_->Index(Documents("c", 0, 20));
  ASSERT_TRUE(after.ok()) << after.status();
  acknowledged.insert(acknowledged.end(), after->begin(), after->end());
  ExpectCopiesHold(*cluster_, 0, {0, 1, 2}, acknowledged.size());
  auto stats = cluster_->MemberStats(0, old);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->replication().role(), "replica");
}

TEST_F(ReplicationClusterTest, APrimaryHandsOverOnSigtermWithoutFailingAWrite) {
  Start({.shards = 1, .copies = 3});
  auto primary = cluster_->PrimaryCopy(0);
  ASSERT_TRUE(primary.ok() && primary->has_value());
  const int old = **primary;
  cluster_->StopMember(0, old, SIGTERM);
  auto next = cluster_->WaitForPrimary(0, old, absl::Seconds(10));
  ASSERT_TRUE(next.ok()) << next.status();
  auto accepted = cluster_->Index(Documents("h", 0, 30));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->size(), 30u);
  EXPECT_THAT(ReadFile(cluster_->member_log(0, old)),
              HasSubstr("stopped cleanly"));
}

TEST_F(ReplicationClusterTest, ADeposedPrimaryCannotAcknowledgeAWrite) {
  Start({.shards = 1, .copies = 3, .lease_ttl_seconds = 2});
  auto base = cluster_->Index(Documents("a", 0, 10));
  ASSERT_TRUE(base.ok()) << base.status();
  auto primary = cluster_->PrimaryCopy(0);
  ASSERT_TRUE(primary.ok() && primary->has_value());
  const int old = **primary;
  // Frozen past its lease: the others elect a new primary.
  cluster_->SignalMember(0, old, SIGSTOP);
  auto next = cluster_->WaitForPrimary(0, old, absl::Seconds(30));
  ASSERT_TRUE(next.ok()) << next.status();
  auto during = cluster_->Index(Documents("b", 0, 10));
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(during->size(), 10u);

  // Thawed, it still believes it is the primary until it looks; a write
  // sent to it straight away must not be acknowledged.
  cluster_->SignalMember(0, old, SIGCONT);
  auto stub = v1::StorageService::NewStub(
      MakeChannel(cluster_->member_address(0, old)));
  v1::WriteRequest write;
  v1::AnalyzedDocument* doc = write.add_ops()->mutable_upsert();
  doc->mutable_document()->set_id("fenced");
  doc->mutable_body()->add_vocabulary("replicated");
  doc->mutable_body()->add_term_ids(0);
  grpc::ClientContext context;
  context.set_deadline(
      absl::ToChronoTime(absl::Now() + TestTime(absl::Seconds(20))));
  v1::WriteResponse response;
  const grpc::Status status = stub->Write(&context, write, &response);
  EXPECT_FALSE(status.ok()) << "a deposed primary acknowledged a write";
  // Nobody has the fenced write, and the old primary follows the new one.
  std::vector<std::string> expected = *base;
  expected.insert(expected.end(), during->begin(), during->end());
  EXPECT_THAT(SearchIds(*cluster_), UnorderedElementsAreArray(expected));
  ASSERT_TRUE(cluster_->WaitForInSync(0, 3, absl::Seconds(60)).ok());
  ExpectCopiesHold(*cluster_, 0, {0, 1, 2}, expected.size());
  auto stats = cluster_->MemberStats(0, old);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->replication().role(), "replica");
}

TEST_F(ReplicationClusterTest, ACopyRejoinsFromTheOpLog) {
  Start({.shards = 1, .copies = 3});
  auto primary = cluster_->PrimaryCopy(0);
  ASSERT_TRUE(primary.ok() && primary->has_value());
  const int replica = (**primary + 1) % 3;
  cluster_->StopMember(0, replica, SIGTERM);
  std::vector<std::string> acknowledged;
  for (int batch = 0; batch < 5; ++batch) {
    auto accepted =
        cluster_->Index(Documents(absl::StrCat("r", batch, "-"), 0, 20));
    ASSERT_TRUE(accepted.ok()) << accepted.status();
    acknowledged.insert(acknowledged.end(), accepted->begin(), accepted->end());
  }
  ASSERT_TRUE(cluster_->StartMember(0, replica).ok());
  ASSERT_TRUE(cluster_->WaitForInSync(0, 3, absl::Seconds(60)).ok());
  ExpectCopiesHold(*cluster_, 0, {replica}, acknowledged.size());
  EXPECT_THAT(ReadFile(cluster_->member_log(0, replica)),
              ::testing::Not(HasSubstr("checkpoint")));
}

TEST_F(ReplicationClusterTest, AWipedCopyRejoinsFromACheckpoint) {
  // A short op log, so that the writes it missed are gone from it (the log
  // keeps what memory segments restore from until they are flushed: small
  // ones are flushed after every write here).
  Start({.shards = 1,
         .copies = 3,
         .storage_flags = {"--op_log_writes=4", "--flush_documents=10"}});
  auto primary = cluster_->PrimaryCopy(0);
  ASSERT_TRUE(primary.ok() && primary->has_value());
  const int replica = (**primary + 2) % 3;
  cluster_->StopMember(0, replica, SIGKILL);
  std::filesystem::remove_all(cluster_->member_data(0, replica));
  std::vector<std::string> acknowledged;
  for (int batch = 0; batch < 20; ++batch) {
    auto accepted =
        cluster_->Index(Documents(absl::StrCat("w", batch, "-"), 0, 10));
    ASSERT_TRUE(accepted.ok()) << accepted.status();
    acknowledged.insert(acknowledged.end(), accepted->begin(), accepted->end());
  }
  ASSERT_TRUE(cluster_->StartMember(0, replica).ok());
  ASSERT_TRUE(cluster_->WaitForInSync(0, 3, absl::Seconds(60)).ok());
  ExpectCopiesHold(*cluster_, 0, {replica}, acknowledged.size());
  EXPECT_THAT(ReadFile(cluster_->member_log(0, replica)),
              HasSubstr("copies a checkpoint"));
  // It serves reads like the others.
  cluster_->StopMember(0, (replica + 1) % 3, SIGKILL);
  cluster_->StopMember(0, (replica + 2) % 3, SIGKILL);
  auto alone = cluster_->WaitForPrimary(0, **primary, absl::Seconds(30));
  ASSERT_TRUE(alone.ok()) << alone.status();
  EXPECT_EQ(*alone, replica);
  EXPECT_THAT(SearchIds(*cluster_), UnorderedElementsAreArray(acknowledged));
}

TEST_F(ReplicationClusterTest, MisroutedRequestsAndWrongMembersAreRefused) {
  Start({.shards = 2, .copies = 1});
  // A write routed for shard 1 sent to shard 0's member.
  auto stub =
      v1::StorageService::NewStub(MakeChannel(cluster_->member_address(0, 0)));
  grpc::ClientContext context;
  context.AddMetadata(kShardMetadataKey, "1/2");
  v1::WriteRequest write;
  write.add_ops()->set_delete_id("x");
  v1::WriteResponse response;
  const grpc::Status status = stub->Write(&context, write, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("holds shard 0 of 2"));
  EXPECT_THAT(status.error_message(), HasSubstr("routed to shard 1 of 2"));

  // Shard 1's data folder given to a member started as shard 0.
  cluster_->StopMember(1, 0, SIGTERM);
  const std::string bin = SIFT_BIN_DIR;
  const std::string log = dir_.path() + "/wrong-shard.log";
  {
    auto p = Process::Start(
        bin + "/sift-storage",
        {absl::StrCat("--listen=127.0.0.1:", PickFreePort()),
         "--data_dir=" + cluster_->member_data(1, 0), "--shard=0", "--shards=2",
         "--copies=1", "--member=wrong",
         "--etcd=" + std::string("127.0.0.1:1")},
        log);
    ASSERT_TRUE(p.ok());
    absl::SleepFor(TestTime(absl::Seconds(2)));
    (*p)->Stop(SIGKILL);
  }
  EXPECT_THAT(ReadFile(log), HasSubstr("holds shard 1 of 2"));

  // A member whose flags give the cluster another shape.
  const std::string shape_log = dir_.path() + "/wrong-shape.log";
  {
    auto p =
        Process::Start(bin + "/sift-storage",
                       {absl::StrCat("--listen=127.0.0.1:", PickFreePort()),
                        "--data_dir=" + dir_.path() + "/fresh", "--shard=0",
                        "--shards=2", "--copies=3", "--member=other-shape",
                        "--etcd=" + cluster_->etcd_endpoint()},
                       shape_log);
    ASSERT_TRUE(p.ok());
    absl::SleepFor(TestTime(absl::Seconds(2)));
    (*p)->Stop(SIGKILL);
  }
  EXPECT_THAT(ReadFile(shape_log), HasSubstr("has 2 shards of 1 copies"));
}

}  // namespace
}  // namespace sift::testing
