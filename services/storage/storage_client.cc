#include "services/storage/storage_client.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <future>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/server/channels.h"
#include "common/status/grpc_status.h"

namespace sift::storage {
namespace {

// Every call carries its deadline and, when the client knows it, the shard
// it is meant for, which the member checks.
void SetUp(grpc::ClientContext& context, absl::Time deadline,
           const std::optional<ShardRef>& shard) {
  if (deadline != absl::InfiniteFuture()) {
    context.set_deadline(absl::ToChronoTime(deadline));
  }
  if (shard) context.AddMetadata(kShardMetadataKey, FormatShardRef(*shard));
}

absl::Status Annotate(const grpc::Status& status, const std::string& address) {
  absl::Status s = FromGrpcStatus(status);
  if (s.ok()) return s;
  return absl::Status(s.code(),
                      absl::StrCat("shard ", address, ": ", s.message()));
}

// Runs one blocking unary call.
template <typename Resp, typename Req, typename Method>
absl::StatusOr<Resp> Call(const std::string& address,
                          const std::optional<ShardRef>& shard, Method method,
                          const Req& request, absl::Time deadline) {
  grpc::ClientContext context;
  SetUp(context, deadline, shard);
  Resp response;
  grpc::Status status = method(&context, request, &response);
  if (!status.ok()) return Annotate(status, address);
  return response;
}

// State of one callback call, freed when it completes.
template <typename Req, typename Resp>
struct AsyncCall {
  grpc::ClientContext context;
  Req request;
  Resp response;
};

template <typename Req, typename Resp, typename Start>
void CallAsync(const std::string& address, const std::optional<ShardRef>& shard,
               Start start, const Req& request, absl::Time deadline,
               StorageClient::Callback<Resp> done) {
  auto* call = new AsyncCall<Req, Resp>;
  call->request = request;
  SetUp(call->context, deadline, shard);
  start(&call->context, &call->request, &call->response,
        [call, address, done = std::move(done)](grpc::Status status) {
          if (status.ok()) {
            done(std::move(call->response));
          } else {
            done(Annotate(status, address));
          }
          delete call;
        });
}

// gRPC 1.51 on Linux serves every channel's callback calls from one
// process-wide completion queue, held by the channels that made such a
// call. When the last of them is destroyed, gRPC shuts the queue down and
// joins its threads, and that teardown races with those threads: an abort
// in grpc_cq_internal_unref ("prior > 0"), seen in tests that drop their
// only client. A coordinator that replaces its shard clients (a new
// cluster map) could do the same. One channel that made a callback call
// and is never destroyed keeps the queue for the life of the process.
void HoldCallbackQueue() {
  static const bool held = [] {
    // Reachable from a static, so no leak report; never destroyed.
    static auto* const keeper =
        new std::shared_ptr<grpc::Channel>(MakeChannel("127.0.0.1:1"));
    auto stub = v1::StorageService::NewStub(*keeper);
    // A call whose deadline has passed fails without a connection, but it
    // still takes the channel's hold on the queue.
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now());
    v1::StatsRequest request;
    v1::StatsResponse response;
    std::promise<void> done;
    stub->async()->Stats(&context, &request, &response,
                         [&done](const grpc::Status&) { done.set_value(); });
    done.get_future().wait();
    return true;
  }();
  (void)held;
}

}  // namespace

StorageClient::StorageClient(std::string address,
                             std::shared_ptr<grpc::Channel> channel,
                             std::optional<ShardRef> shard)
    : address_(std::move(address)),
      shard_(shard),
      stub_(v1::StorageService::NewStub(std::move(channel))) {
  HoldCallbackQueue();
}

std::unique_ptr<StorageClient> StorageClient::Connect(
    const std::string& address, std::optional<ShardRef> shard) {
  grpc::ChannelArguments args = DefaultChannelArguments();
  // Reconnect quickly after a shard restarts.
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  return std::make_unique<StorageClient>(address, MakeChannel(address, args),
                                         shard);
}

absl::StatusOr<v1::WriteResponse> StorageClient::Write(
    const v1::WriteRequest& request, absl::Time deadline) const {
  return Call<v1::WriteResponse>(
      address_, shard_,
      [this](auto* c, const auto& q, auto* r) { return stub_->Write(c, q, r); },
      request, deadline);
}

absl::StatusOr<v1::StatsResponse> StorageClient::Stats(
    const v1::StatsRequest& request, absl::Time deadline) const {
  return Call<v1::StatsResponse>(
      address_, shard_,
      [this](auto* c, const auto& q, auto* r) { return stub_->Stats(c, q, r); },
      request, deadline);
}

absl::StatusOr<v1::ShardSearchResponse> StorageClient::Search(
    const v1::ShardSearchRequest& request, absl::Time deadline) const {
  return Call<v1::ShardSearchResponse>(
      address_, shard_,
      [this](auto* c, const auto& q, auto* r) {
        return stub_->Search(c, q, r);
      },
      request, deadline);
}

absl::StatusOr<v1::FetchResponse> StorageClient::Fetch(
    const v1::FetchRequest& request, absl::Time deadline) const {
  return Call<v1::FetchResponse>(
      address_, shard_,
      [this](auto* c, const auto& q, auto* r) { return stub_->Fetch(c, q, r); },
      request, deadline);
}

absl::StatusOr<v1::ShardSnapshotResponse> StorageClient::Snapshot(
    const v1::ShardSnapshotRequest& request, absl::Time deadline) const {
  return Call<v1::ShardSnapshotResponse>(
      address_, shard_,
      [this](auto* c, const auto& q, auto* r) {
        return stub_->Snapshot(c, q, r);
      },
      request, deadline);
}

void StorageClient::StatsAsync(const v1::StatsRequest& request,
                               absl::Time deadline,
                               Callback<v1::StatsResponse> done) const {
  CallAsync<v1::StatsRequest, v1::StatsResponse>(
      address_, shard_,
      [this](auto* c, auto* q, auto* r, auto cb) {
        stub_->async()->Stats(c, q, r, std::move(cb));
      },
      request, deadline, std::move(done));
}

void StorageClient::SearchAsync(const v1::ShardSearchRequest& request,
                                absl::Time deadline,
                                Callback<v1::ShardSearchResponse> done) const {
  CallAsync<v1::ShardSearchRequest, v1::ShardSearchResponse>(
      address_, shard_,
      [this](auto* c, auto* q, auto* r, auto cb) {
        stub_->async()->Search(c, q, r, std::move(cb));
      },
      request, deadline, std::move(done));
}

void StorageClient::FetchAsync(const v1::FetchRequest& request,
                               absl::Time deadline,
                               Callback<v1::FetchResponse> done) const {
  CallAsync<v1::FetchRequest, v1::FetchResponse>(
      address_, shard_,
      [this](auto* c, auto* q, auto* r, auto cb) {
        stub_->async()->Fetch(c, q, r, std::move(cb));
      },
      request, deadline, std::move(done));
}

void StorageClient::WriteAsync(const v1::WriteRequest& request,
                               absl::Time deadline,
                               Callback<v1::WriteResponse> done) const {
  CallAsync<v1::WriteRequest, v1::WriteResponse>(
      address_, shard_,
      [this](auto* c, auto* q, auto* r, auto cb) {
        stub_->async()->Write(c, q, r, std::move(cb));
      },
      request, deadline, std::move(done));
}

absl::StatusOr<std::vector<std::unique_ptr<StorageClient>>> ConnectShards(
    const std::string& comma_separated_addresses) {
  std::vector<std::string> addresses;
  for (absl::string_view part :
       absl::StrSplit(comma_separated_addresses, ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("shard list \"", comma_separated_addresses,
                       "\" has an empty entry; give host:port,host:port,..."));
    }
    addresses.emplace_back(part);
  }
  std::vector<std::unique_ptr<StorageClient>> clients;
  const auto count = static_cast<uint32_t>(addresses.size());
  for (uint32_t i = 0; i < count; ++i) {
    clients.push_back(StorageClient::Connect(addresses[i], ShardRef{i, count}));
  }
  return clients;
}

}  // namespace sift::storage
