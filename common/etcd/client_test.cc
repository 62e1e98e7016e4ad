#include "common/etcd/client.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/etcd/testing/etcd_server.h"
#include "common/etcd/testing/poll.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::etcd {
namespace {

using ::sift::etcd::testing::EtcdCluster;
using ::sift::etcd::testing::EtcdServer;
using ::sift::etcd::testing::PickFreePort;
using ::sift::etcd::testing::PollUntil;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Far longer than anything here takes on a healthy machine; only a bug
// waits this long.
constexpr absl::Duration kPatience = absl::Seconds(20);

// The value at `key`, "(absent)", or the error, for one-line expectations.
std::string ValueOf(Client& client, const std::string& key) {
  absl::StatusOr<std::optional<KeyValue>> kv = client.Get(key);
  if (!kv.ok()) return kv.status().ToString();
  return kv->has_value() ? (*kv)->value : "(absent)";
}

std::vector<std::string> Keys(const std::vector<KeyValue>& kvs) {
  std::vector<std::string> keys;
  for (const KeyValue& kv : kvs) keys.push_back(kv.key);
  return keys;
}

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SIFT_ASSERT_OK_AND_ASSIGN(server_, EtcdServer::Start());
    SIFT_ASSERT_OK_AND_ASSIGN(client_, Client::Connect(server_->endpoint()));
  }

  std::unique_ptr<EtcdServer> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(EtcdClientTest, PutGetDelete) {
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t first, client_->Put("k", "v1"));
  SIFT_ASSERT_OK_AND_ASSIGN(std::optional<KeyValue> kv, client_->Get("k"));
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->key, "k");
  EXPECT_EQ(kv->value, "v1");
  EXPECT_EQ(kv->create_revision, first);
  EXPECT_EQ(kv->mod_revision, first);
  EXPECT_EQ(kv->version, 1);
  EXPECT_EQ(kv->lease, 0);

  SIFT_ASSERT_OK_AND_ASSIGN(int64_t second, client_->Put("k", "v2"));
  EXPECT_GT(second, first);
  SIFT_ASSERT_OK_AND_ASSIGN(kv, client_->Get("k"));
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->value, "v2");
  EXPECT_EQ(kv->create_revision, first);
  EXPECT_EQ(kv->mod_revision, second);
  EXPECT_EQ(kv->version, 2);

  EXPECT_THAT(client_->Delete("k"), IsOk());
  EXPECT_EQ(ValueOf(*client_, "k"), "(absent)");
  // Deleting what is absent is not an error.
  EXPECT_THAT(client_->Delete("k"), IsOk());
  EXPECT_EQ(ValueOf(*client_, "never-written"), "(absent)");
}

TEST_F(EtcdClientTest, GetPrefixReturnsKeysInKeyOrderAtTheirRevision) {
  for (const char* key : {"b/2", "b/10", "a/1", "b/1", "b0", "c"}) {
    ASSERT_THAT(client_->Put(key, absl::StrCat("value of ", key)), IsOk());
  }
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t last, client_->Put("b/3", "value of b/3"));

  int64_t revision = 0;
  SIFT_ASSERT_OK_AND_ASSIGN(std::vector<KeyValue> kvs,
                            client_->GetPrefix("b/", &revision));
  // Byte order, and "b0" sorts after every "b/" key.
  EXPECT_THAT(Keys(kvs), ElementsAre("b/1", "b/10", "b/2", "b/3"));
  EXPECT_EQ(kvs[2].value, "value of b/2");
  EXPECT_EQ(revision, last);

  SIFT_ASSERT_OK_AND_ASSIGN(kvs, client_->GetPrefix(""));
  EXPECT_THAT(Keys(kvs),
              ElementsAre("a/1", "b/1", "b/10", "b/2", "b/3", "b0", "c"));
  SIFT_ASSERT_OK_AND_ASSIGN(kvs, client_->GetPrefix("nothing/"));
  EXPECT_THAT(kvs, IsEmpty());

  // A prefix of 0xff bytes has no successor; its range runs to the end.
  ASSERT_THAT(client_->Put("\xff\xff", "high"), IsOk());
  SIFT_ASSERT_OK_AND_ASSIGN(kvs, client_->GetPrefix("\xff"));
  EXPECT_THAT(Keys(kvs), ElementsAre("\xff\xff"));

  SIFT_ASSERT_OK_AND_ASSIGN(
      TxnResult txn,
      client_->Txn({}, {Op::DeletePrefix("b/"), Op::GetPrefix("")}));
  EXPECT_TRUE(txn.succeeded);
  ASSERT_EQ(txn.gets.size(), 1u);
  EXPECT_THAT(Keys(txn.gets[0]), ElementsAre("a/1", "b0", "c", "\xff\xff"));
}

TEST_F(EtcdClientTest, TxnCreateIfAbsentSucceedsOnlyOnce) {
  auto create = [&](const std::string& holder) {
    return client_->Txn({Compare::CreateRevisionEquals("leader", 0)},
                        {Op::Put("leader", holder)}, {Op::Get("leader")});
  };
  SIFT_ASSERT_OK_AND_ASSIGN(TxnResult first, create("node-a"));
  EXPECT_TRUE(first.succeeded);
  EXPECT_GT(first.revision, 0);
  EXPECT_THAT(first.gets, IsEmpty());

  SIFT_ASSERT_OK_AND_ASSIGN(TxnResult second, create("node-b"));
  EXPECT_FALSE(second.succeeded);
  EXPECT_EQ(second.revision, first.revision);
  ASSERT_EQ(second.gets.size(), 1u);
  ASSERT_EQ(second.gets[0].size(), 1u);
  EXPECT_EQ(second.gets[0][0].value, "node-a");
  EXPECT_EQ(second.gets[0][0].create_revision, first.revision);
}

TEST_F(EtcdClientTest, TxnComparesModRevisionValueAndVersion) {
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t read_at, client_->Put("config", "1"));
  // Compare-and-swap against the revision that was read.
  SIFT_ASSERT_OK_AND_ASSIGN(
      TxnResult swap,
      client_->Txn({Compare::ModRevisionEquals("config", read_at)},
                   {Op::Put("config", "2")}));
  EXPECT_TRUE(swap.succeeded);
  // The same swap again is stale, and its failure branch sees the winner.
  SIFT_ASSERT_OK_AND_ASSIGN(
      TxnResult stale,
      client_->Txn({Compare::ModRevisionEquals("config", read_at)},
                   {Op::Put("config", "3")}, {Op::Get("config")}));
  EXPECT_FALSE(stale.succeeded);
  ASSERT_EQ(stale.gets.size(), 1u);
  ASSERT_EQ(stale.gets[0].size(), 1u);
  EXPECT_EQ(stale.gets[0][0].value, "2");
  EXPECT_EQ(stale.gets[0][0].mod_revision, swap.revision);

  SIFT_ASSERT_OK_AND_ASSIGN(TxnResult wrong_value,
                            client_->Txn({Compare::ValueEquals("config", "1")},
                                         {Op::Delete("config")}));
  EXPECT_FALSE(wrong_value.succeeded);
  // Every compare must hold; gets come from the ops of the branch that ran,
  // in order.
  SIFT_ASSERT_OK_AND_ASSIGN(
      TxnResult both, client_->Txn({Compare::ValueEquals("config", "2"),
                                    Compare::VersionEquals("config", 2)},
                                   {Op::Get("config"), Op::Delete("config"),
                                    Op::Get("config")}));
  EXPECT_TRUE(both.succeeded);
  ASSERT_EQ(both.gets.size(), 2u);
  EXPECT_EQ(both.gets[0].size(), 1u);
  EXPECT_THAT(both.gets[1], IsEmpty());
  SIFT_ASSERT_OK_AND_ASSIGN(
      TxnResult absent,
      client_->Txn({Compare::VersionEquals("config", 0)}, {}));
  EXPECT_TRUE(absent.succeeded);
}

TEST_F(EtcdClientTest, RevokingALeaseDeletesItsKeys) {
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t lease,
                            client_->GrantLease(absl::Seconds(2)));
  ASSERT_THAT(client_->Put("owned", "x", lease), IsOk());
  SIFT_ASSERT_OK_AND_ASSIGN(std::optional<KeyValue> kv, client_->Get("owned"));
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->lease, lease);

  SIFT_ASSERT_OK_AND_ASSIGN(absl::Duration ttl, client_->KeepAliveOnce(lease));
  EXPECT_EQ(ttl, absl::Seconds(2));

  EXPECT_THAT(client_->RevokeLease(lease), IsOk());
  EXPECT_EQ(ValueOf(*client_, "owned"), "(absent)");
  EXPECT_THAT(
      client_->KeepAliveOnce(lease),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("LeaseKeepAlive")));
  EXPECT_THAT(client_->RevokeLease(lease),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(client_->Put("owned", "y", lease),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(EtcdClientTest, LeaseThatIsNotKeptAliveExpires) {
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t lease,
                            client_->GrantLease(absl::Seconds(2)));
  ASSERT_THAT(client_->Put("ephemeral", "x", lease), IsOk());
  EXPECT_EQ(ValueOf(*client_, "ephemeral"), "x");
  EXPECT_TRUE(PollUntil(
      [&] { return ValueOf(*client_, "ephemeral") == "(absent)"; }, kPatience));
  EXPECT_THAT(client_->KeepAliveOnce(lease),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(EtcdClientConnectTest, RejectsMalformedEndpointLists) {
  for (const char* endpoints :
       {"", ",", " ", "127.0.0.1", "127.0.0.1:", ":2379", "127.0.0.1:http",
        "127.0.0.1:0", "127.0.0.1:70000", "http://127.0.0.1:2379", "::1:2379",
        "[::1]2379", "127.0.0.1:2379,", "127.0.0.1:2379,,127.0.0.1:2380"}) {
    EXPECT_THAT(Client::Connect(endpoints),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "\"" << endpoints << "\"";
  }
  for (const char* endpoints :
       {"127.0.0.1:2379", "localhost:2379, 127.0.0.1:22379", "[::1]:2379"}) {
    EXPECT_THAT(Client::Connect(endpoints), IsOk()) << endpoints;
  }
}

TEST_F(EtcdClientTest, CallToAStoppedServerFailsNamingTheEndpoint) {
  ClientOptions options;
  options.call_timeout = absl::Seconds(2);
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client,
                            Client::Connect(server_->endpoint(), options));
  ASSERT_THAT(client->Put("k", "v"), IsOk());
  ASSERT_THAT(server_->Stop(), IsOk());

  absl::StatusOr<int64_t> put = client->Put("k", "w");
  EXPECT_THAT(put, AnyOf(StatusIs(absl::StatusCode::kUnavailable),
                         StatusIs(absl::StatusCode::kDeadlineExceeded)));
  EXPECT_THAT(std::string(put.status().message()),
              HasSubstr(absl::StrCat("etcd ", server_->endpoint(), ": Put: ")));
}

TEST_F(EtcdClientTest, FailsOverFromADeadEndpoint) {
  // Nothing listens on a port that was free a moment ago.
  const std::string dead = absl::StrCat("127.0.0.1:", PickFreePort());
  SIFT_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Client> client,
      Client::Connect(absl::StrCat(dead, ",", server_->endpoint())));
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(client->Put("k", absl::StrCat(i)), IsOk());
    EXPECT_EQ(ValueOf(*client, "k"), absl::StrCat(i));
  }
  SIFT_ASSERT_OK_AND_ASSIGN(int64_t lease,
                            client->GrantLease(absl::Seconds(5)));
  EXPECT_THAT(client->KeepAliveOnce(lease), IsOk());
  EXPECT_THAT(client->RevokeLease(lease), IsOk());

  // With every member dead the error names each of them.
  SIFT_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<Client> hopeless,
      Client::Connect(absl::StrCat(dead, ",127.0.0.1:", PickFreePort())));
  absl::Status status = hopeless->Put("k", "v").status();
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kUnavailable,
                               HasSubstr(absl::StrCat("etcd ", dead))));
}

TEST(EtcdClusterClientTest, KeepsWorkingWithAMemberDown) {
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<EtcdCluster> cluster,
                            EtcdCluster::Start(3));
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client,
                            Client::Connect(cluster->endpoints()));
  ASSERT_THAT(client->Put("k", "before"), IsOk());

  // The first member is the one the client prefers, maybe the leader too.
  ASSERT_THAT(cluster->member(0).Stop(), IsOk());
  // Until the others elect a leader, calls may fail UNAVAILABLE.
  EXPECT_TRUE(
      PollUntil([&] { return client->Put("k", "during").ok(); }, kPatience));
  for (int i = 0; i < 3; ++i) {
    SIFT_ASSERT_OK_AND_ASSIGN(
        TxnResult txn, client->Txn({Compare::ValueEquals("k", "during")},
                                   {Op::Put("k", "during"), Op::Get("k")}));
    EXPECT_TRUE(txn.succeeded);
  }

  ASSERT_THAT(cluster->member(0).Restart(), IsOk());
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> rejoined,
                            Client::Connect(cluster->member(0).endpoint()));
  EXPECT_EQ(ValueOf(*rejoined, "k"), "during");
}

}  // namespace
}  // namespace sift::etcd
