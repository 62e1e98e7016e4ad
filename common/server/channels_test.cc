#include "common/server/channels.h"

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/server/server_runner.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"

namespace sift {
namespace {

// A channel from MakeChannel reaches a server started with StartServer:
// the two sides' credentials (ChannelCredentials, ServerCredentials) agree.
TEST(ChannelsTest, AChannelReachesAServerOfThisProcess) {
  absl::StatusOr<std::unique_ptr<RunningServer>> server =
      StartServer("127.0.0.1:0", {});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = grpc::health::v1::Health::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", (*server)->port())));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

// Callers add their own arguments to the defaults, and the message limits
// stay those of Sift's servers.
TEST(ChannelsTest, DefaultArgumentsCarrySiftsMessageLimit) {
  grpc::ChannelArguments args = DefaultChannelArguments();
  grpc_channel_args c_args = args.c_channel_args();
  int found = 0;
  for (size_t i = 0; i < c_args.num_args; ++i) {
    const std::string key = c_args.args[i].key;
    if (key == GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH ||
        key == GRPC_ARG_MAX_SEND_MESSAGE_LENGTH) {
      EXPECT_EQ(c_args.args[i].value.integer, kMaxGrpcMessageBytes) << key;
      ++found;
    }
  }
  EXPECT_EQ(found, 2);
}

}  // namespace
}  // namespace sift
