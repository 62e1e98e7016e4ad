#include "common/server/server_runner.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/sync/handoff.h"
#include "grpc/health/v1/health.pb.h"

namespace sift {

void RunningServer::SetServing(bool serving) {
  if (shut_down_ || server_ == nullptr) return;
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(serving);
  }
}

void RunningServer::Shutdown(absl::Duration drain) {
  if (shut_down_ || server_ == nullptr) return;
  shut_down_ = true;
  if (auto* health = server_->GetHealthCheckService()) {
    health->SetServingStatus(false);
  }
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(drain));
  server_->Wait();
}

void HealthSwitch::Attach(RunningServer* server) {
  MutexLock lock(&mu_);
  server_ = server;
  server_->SetServing(serving_);
}

void HealthSwitch::Detach() {
  MutexLock lock(&mu_);
  server_ = nullptr;
}

void HealthSwitch::Set(bool serving) {
  MutexLock lock(&mu_);
  serving_ = serving;
  if (server_ != nullptr) server_->SetServing(serving);
}

absl::StatusOr<std::unique_ptr<RunningServer>> StartServer(
    const std::string& address, const std::vector<grpc::Service*>& services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // Referencing the descriptor links health.proto into the reflection pool
  // so that clients can describe the health service too.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, ServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(kMaxGrpcMessageBytes);
  builder.SetMaxSendMessageSize(kMaxGrpcMessageBytes);
  // gRPC sets SO_REUSEPORT by default: a second process started on a port
  // in use would then start too, and the kernel would spread connections
  // over both. An address belongs to one server.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  for (grpc::Service* service : services) {
    builder.RegisterService(service);
    // gRPC runs every call after the server started; see PublishedBy.
    HappensBefore(service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address,
                     " (address in use or not a local address?)"));
  }
  if (auto* health = server->GetHealthCheckService()) {
    health->SetServingStatus(true);
  }
  return std::make_unique<RunningServer>(std::move(server), port);
}

void DisableMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

void BlockTerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

}  // namespace sift
