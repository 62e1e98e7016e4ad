#include "common/server/server_runner.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sift {
namespace {

// A second server on a port one already listens on must fail to start, not
// share the port: gRPC sets SO_REUSEPORT unless told otherwise, and then the
// kernel would spread new connections over both, so that a shard started
// twice by mistake answered half of its callers with the other's data.
TEST(ServerRunnerTest, APortInUseRefusesASecondServer) {
  absl::StatusOr<std::unique_ptr<RunningServer>> first =
      StartServer("127.0.0.1:0", {});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string address = absl::StrCat("127.0.0.1:", (*first)->port());
  absl::StatusOr<std::unique_ptr<RunningServer>> second =
      StartServer(address, {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(address), std::string::npos)
      << second.status();
}

}  // namespace
}  // namespace sift
