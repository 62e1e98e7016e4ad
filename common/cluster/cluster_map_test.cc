#include "common/cluster/cluster_map.h"

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "common/cluster/cluster_watcher.h"
#include "common/etcd/client.h"
#include "common/etcd/testing/etcd_server.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::cluster {
namespace {

using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::ClusterConfig Shape(uint32_t shards, uint32_t copies) {
  v1::ClusterConfig config;
  config.set_shards(shards);
  config.set_copies(copies);
  return config;
}

class ClusterMapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = etcd::testing::EtcdServer::Start();
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
    auto client = etcd::Client::Connect(server_->endpoint());
    ASSERT_THAT(client, IsOk());
    client_ = *std::move(client);
    auto keys = ClusterKeys::For("test");
    ASSERT_THAT(keys, IsOk());
    keys_ = std::make_unique<ClusterKeys>(*keys);
  }

  void Put(const std::string& key, const google::protobuf::Message& record) {
    ASSERT_THAT(client_->Put(key, ToJson(record)), IsOk());
  }

  std::unique_ptr<etcd::testing::EtcdServer> server_;
  std::unique_ptr<etcd::Client> client_;
  std::unique_ptr<ClusterKeys> keys_;
};

TEST(ClusterKeysTest, NamesAreCheckedAndKeysNested) {
  EXPECT_THAT(ClusterKeys::For(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ClusterKeys::For("a/b"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto keys = ClusterKeys::For("prod-1");
  ASSERT_THAT(keys, IsOk());
  EXPECT_EQ(keys->Config(), "/sift/prod-1/config");
  EXPECT_EQ(keys->Member(2, "storage-2-a"),
            "/sift/prod-1/shards/2/members/storage-2-a");
  EXPECT_EQ(keys->Primary(0), "/sift/prod-1/shards/0/primary");
}

TEST_F(ClusterMapTest, TheShapeIsWrittenOnceAndAnotherOneIsRefused) {
  EXPECT_THAT(EnsureClusterConfig(client_.get(), *keys_, Shape(3, 2)), IsOk());
  EXPECT_THAT(EnsureClusterConfig(client_.get(), *keys_, Shape(3, 2)), IsOk());
  EXPECT_THAT(EnsureClusterConfig(client_.get(), *keys_, Shape(4, 2)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("has 3 shards of 2 copies"),
                             HasSubstr("started for 4 shards of 2 copies"))));
  EXPECT_THAT(EnsureClusterConfig(client_.get(), *keys_, Shape(0, 2)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(ClusterMapTest, ReadsMembersPrimaryTermAndInSyncSetOfEachShard) {
  ASSERT_THAT(EnsureClusterConfig(client_.get(), *keys_, Shape(2, 3)), IsOk());
  for (const char* name : {"a", "b", "c"}) {
    v1::MemberRecord member;
    member.set_member(name);
    member.set_shard(1);
    member.set_address(std::string(name) + ":7710");
    Put(keys_->Member(1, name), member);
  }
  v1::PrimaryRecord primary;
  primary.set_member("b");
  primary.set_address("b:7710");
  primary.set_term(4);
  Put(keys_->Primary(1), primary);
  ASSERT_THAT(client_->Put(keys_->Term(1), "4"), IsOk());
  v1::InSyncRecord in_sync;
  in_sync.add_members("a");
  in_sync.add_members("b");
  in_sync.add_members("d");  // in sync, but not running
  in_sync.set_term(4);
  Put(keys_->InSync(1), in_sync);
  // Another cluster's keys and a shard past the shape are not this map's.
  ASSERT_THAT(client_->Put("/sift/other/shards/0/term", "9"), IsOk());
  ASSERT_THAT(client_->Put(keys_->Term(7), "9"), IsOk());

  auto map = ReadClusterMap(client_.get(), *keys_);
  ASSERT_THAT(map, IsOk());
  ASSERT_TRUE(map->config.has_value());
  ASSERT_EQ(map->shards.size(), 2u);
  EXPECT_TRUE(map->shards[0].members.empty());
  EXPECT_FALSE(map->shards[0].primary.has_value());
  const ShardState& shard = map->shards[1];
  EXPECT_EQ(shard.members.size(), 3u);
  ASSERT_TRUE(shard.primary.has_value());
  EXPECT_EQ(shard.primary->member(), "b");
  EXPECT_EQ(shard.term, 4u);
  EXPECT_TRUE(shard.IsInSync("a"));
  EXPECT_FALSE(shard.IsInSync("c"));
  // The primary first, then the other running in-sync copies.
  EXPECT_THAT(shard.ReadableAddresses(), ElementsAre("b:7710", "a:7710"));
  auto state = ReadShardState(client_.get(), *keys_, 1);
  ASSERT_THAT(state, IsOk());
  EXPECT_EQ(state->term, 4u);
  EXPECT_EQ(state->members.size(), 3u);
}

TEST_F(ClusterMapTest, ACorruptRecordIsReportedNamingItsKey) {
  ASSERT_THAT(EnsureClusterConfig(client_.get(), *keys_, Shape(1, 1)), IsOk());
  ASSERT_THAT(client_->Put(keys_->Primary(0), "{not json"), IsOk());
  EXPECT_THAT(ReadClusterMap(client_.get(), *keys_),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("/sift/test/shards/0/primary")));
}

TEST_F(ClusterMapTest, TheWatcherSeesEveryChange) {
  auto watcher = ClusterWatcher::Start(client_.get(), *keys_);
  ASSERT_THAT(watcher, IsOk());
  std::shared_ptr<const ClusterMap> map = (*watcher)->Current();
  EXPECT_FALSE(map->config.has_value());
  ASSERT_THAT(EnsureClusterConfig(client_.get(), *keys_, Shape(1, 2)), IsOk());
  map = (*watcher)->WaitNewer(map->revision, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(map->config.has_value());
  v1::PrimaryRecord primary;
  primary.set_member("a");
  primary.set_address("a:1");
  primary.set_term(1);
  Put(keys_->Primary(0), primary);
  map = (*watcher)->WaitNewer(map->revision, absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(map->shards[0].primary.has_value());
  EXPECT_EQ(map->shards[0].primary->member(), "a");
  ASSERT_THAT(client_->Delete(keys_->Primary(0)), IsOk());
  map = (*watcher)->WaitNewer(map->revision, absl::Now() + absl::Seconds(10));
  EXPECT_FALSE(map->shards[0].primary.has_value());
}

}  // namespace
}  // namespace sift::cluster
