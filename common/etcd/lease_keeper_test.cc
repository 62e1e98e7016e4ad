#include "common/etcd/lease_keeper.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/etcd/client.h"
#include "common/etcd/testing/etcd_server.h"
#include "common/etcd/testing/poll.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::etcd {
namespace {

using ::sift::etcd::testing::EtcdServer;
using ::sift::etcd::testing::PollUntil;
using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;

constexpr absl::Duration kPatience = absl::Seconds(20);
// etcd's shortest lease with the test servers' election timeout is 1 s.
constexpr absl::Duration kTtl = absl::Seconds(1);

class EtcdLeaseKeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SIFT_ASSERT_OK_AND_ASSIGN(server_, EtcdServer::Start());
    ClientOptions options;
    options.call_timeout = absl::Seconds(2);
    SIFT_ASSERT_OK_AND_ASSIGN(client_,
                              Client::Connect(server_->endpoint(), options));
  }

  bool KeyExists(const std::string& key) {
    absl::StatusOr<std::optional<KeyValue>> kv = client_->Get(key);
    return kv.ok() && kv->has_value();
  }

  std::unique_ptr<EtcdServer> server_;
  std::unique_ptr<Client> client_;
  std::atomic<int> lost_calls_{0};
};

TEST_F(EtcdLeaseKeeperTest, KeepsAKeyAlivePastSeveralTtls) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<LeaseKeeper> keeper,
      LeaseKeeper::Start(client_.get(), kTtl, [&] { ++lost_calls_; }));
  ASSERT_THAT(client_->Put("primary", "me", keeper->id()), IsOk());

  const absl::Time until = absl::Now() + 4 * kTtl;
  while (absl::Now() < until) {
    // Certainly valid now, and for no longer than one TTL from now.
    const absl::Time now = absl::Now();
    EXPECT_GT(keeper->ValidUntil(), now);
    EXPECT_LE(keeper->ValidUntil(), now + kTtl + absl::Milliseconds(50));
    EXPECT_GT(keeper->Remaining(), absl::ZeroDuration());
    absl::SleepFor(kTtl / 4);
  }
  EXPECT_TRUE(KeyExists("primary"));
  EXPECT_FALSE(keeper->lost());
  EXPECT_EQ(lost_calls_, 0);
}

TEST_F(EtcdLeaseKeeperTest, RevokeDeletesTheKeysAndStops) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<LeaseKeeper> keeper,
      LeaseKeeper::Start(client_.get(), kTtl, [&] { ++lost_calls_; }));
  ASSERT_THAT(client_->Put("primary", "me", keeper->id()), IsOk());
  EXPECT_THAT(keeper->Revoke(), IsOk());
  EXPECT_FALSE(KeyExists("primary"));
  EXPECT_EQ(keeper->ValidUntil(), absl::InfinitePast());
  EXPECT_LE(keeper->Remaining(), absl::ZeroDuration());
  EXPECT_THAT(keeper->Revoke(), StatusIs(absl::StatusCode::kNotFound));
  keeper.reset();
  EXPECT_EQ(lost_calls_, 0);
}

TEST_F(EtcdLeaseKeeperTest, CallsOnLostWhenTheLeaseIsRevokedElsewhere) {
  SIFT_ASSERT_OK_AND_ASSIGN(
      std::unique_ptr<LeaseKeeper> keeper,
      LeaseKeeper::Start(client_.get(), kTtl, [&] { ++lost_calls_; }));
  ASSERT_THAT(client_->RevokeLease(keeper->id()), IsOk());
  // The next keep-alive, a third of a TTL later, finds it gone.
  EXPECT_TRUE(PollUntil([&] { return lost_calls_ > 0; }, kPatience));
  EXPECT_TRUE(keeper->lost());
  EXPECT_EQ(keeper->ValidUntil(), absl::InfinitePast());
  absl::SleepFor(kTtl / 2);
  EXPECT_EQ(lost_calls_, 1);
}

TEST_F(EtcdLeaseKeeperTest, CallsOnLostOnceValidityPassesWithoutKeepAlives) {
  std::atomic<int64_t> lost_at_nanos{0};
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<LeaseKeeper> keeper,
                            LeaseKeeper::Start(client_.get(), kTtl, [&] {
                              lost_at_nanos = absl::ToUnixNanos(absl::Now());
                              ++lost_calls_;
                            }));
  ASSERT_THAT(server_->Pause(), IsOk());
  // Nothing answers from here on, so no keep-alive extends this (one sent
  // just before the pause may still land, and extend it by at most a TTL).
  const absl::Time valid_until = keeper->ValidUntil();
  const absl::Time paused_at = absl::Now();
  EXPECT_TRUE(PollUntil([&] { return lost_calls_ > 0; }, kPatience));
  EXPECT_TRUE(keeper->lost());
  const absl::Time lost_at = absl::FromUnixNanos(lost_at_nanos);
  // Not lost while it was certainly valid, and not long after it could have
  // expired.
  EXPECT_GE(lost_at, valid_until - absl::Milliseconds(5));
  EXPECT_LE(lost_at, paused_at + kTtl + absl::Seconds(3));
  EXPECT_EQ(keeper->ValidUntil(), absl::InfinitePast());
  ASSERT_THAT(server_->Resume(), IsOk());
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(lost_calls_, 1);
}

}  // namespace
}  // namespace sift::etcd
