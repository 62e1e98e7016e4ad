#include "common/etcd/testing/etcd_server.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/etcd/client.h"
#include "common/status/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sift::etcd::testing {
namespace {

using ::sift::testing::IsOk;
using ::sift::testing::StatusIs;
using ::testing::AnyOf;
using ::testing::StartsWith;

TEST(EtcdServerTest, RestartKeepsTheDataAndTheDestructorRemovesIt) {
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<EtcdServer> server,
                            EtcdServer::Start());
  EXPECT_THAT(server->endpoint(), StartsWith("127.0.0.1:"));
  EXPECT_TRUE(server->running());
  const std::string dir = server->dir();
  EXPECT_TRUE(std::filesystem::exists(server->log_path()));

  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client,
                            Client::Connect(server->endpoint()));
  ASSERT_THAT(client->Put("k", "kept"), IsOk());
  ASSERT_THAT(server->Stop(), IsOk());
  EXPECT_FALSE(server->running());
  EXPECT_THAT(server->Stop(), StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(server->Restart(), IsOk());
  absl::StatusOr<std::optional<KeyValue>> kv = client->Get("k");
  ASSERT_THAT(kv, IsOk());
  ASSERT_TRUE(kv->has_value());
  EXPECT_EQ((*kv)->value, "kept");

  // A crash keeps what was written too.
  ASSERT_THAT(server->Kill(), IsOk());
  ASSERT_THAT(server->Restart(), IsOk());
  EXPECT_THAT(client->Get("k"), IsOk());

  server.reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(EtcdServerTest, APausedServerDoesNotAnswerUntilResumed) {
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<EtcdServer> server,
                            EtcdServer::Start());
  ClientOptions options;
  options.call_timeout = absl::Milliseconds(500);
  SIFT_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Client> client,
                            Client::Connect(server->endpoint(), options));
  ASSERT_THAT(client->Put("k", "v"), IsOk());
  ASSERT_THAT(server->Pause(), IsOk());
  EXPECT_TRUE(server->paused());
  EXPECT_THAT(client->Get("k"), StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_THAT(server->Resume(), IsOk());
  EXPECT_THAT(client->Get("k"), IsOk());
}

}  // namespace
}  // namespace sift::etcd::testing
