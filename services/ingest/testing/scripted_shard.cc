#include "services/ingest/testing/scripted_shard.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "absl/time/clock.h"
#include "common/server/channels.h"
#include "common/status/grpc_status.h"

namespace sift::ingest::testing {

void ScriptedShard::FailNext(int count, absl::Status status) {
  MutexLock lock(&mu_);
  failures_left_ = count;
  failure_ = std::move(status);
}

void ScriptedShard::DelayWrites(absl::Duration delay) {
  MutexLock lock(&mu_);
  delay_ = delay;
}

void ScriptedShard::RefuseId(std::string id) {
  MutexLock lock(&mu_);
  refused_ids_.push_back(std::move(id));
}

int ScriptedShard::attempts() const {
  MutexLock lock(&mu_);
  return attempts_;
}

std::vector<v1::WriteRequest> ScriptedShard::applied() const {
  MutexLock lock(&mu_);
  return applied_;
}

std::map<std::string, v1::AnalyzedDocument> ScriptedShard::documents() const {
  MutexLock lock(&mu_);
  return documents_;
}

grpc::ServerUnaryReactor* ScriptedShard::Write(
    grpc::CallbackServerContext* context, const v1::WriteRequest* request,
    v1::WriteResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Duration delay;
  {
    MutexLock lock(&mu_);
    ++attempts_;
    if (failures_left_ > 0) {
      --failures_left_;
      reactor->Finish(ToGrpcStatus(failure_));
      return reactor;
    }
    delay = delay_;
  }
  // Blocking a gRPC thread is acceptable in a test double; the tests that
  // use it keep the delay short.
  absl::SleepFor(delay);
  MutexLock lock(&mu_);
  for (const v1::WriteOp& op : request->ops()) {
    if (op.has_upsert() && std::count(refused_ids_.begin(), refused_ids_.end(),
                                      op.upsert().document().id()) > 0) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   "malformed operation"));
      return reactor;
    }
  }
  for (const v1::WriteOp& op : request->ops()) {
    if (op.has_upsert()) {
      const std::string& id = op.upsert().document().id();
      response->add_results()->set_existed(documents_.count(id) > 0);
      documents_[id] = op.upsert();
    } else {
      response->add_results()->set_existed(documents_.erase(op.delete_id()) >
                                           0);
    }
  }
  applied_.push_back(*request);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

std::unique_ptr<RunningShard> RunningShard::Start() {
  auto running = std::make_unique<RunningShard>();
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", ServerCredentials(), &running->port);
  builder.RegisterService(&running->shard);
  running->server = builder.BuildAndStart();
  if (running->server == nullptr || running->port == 0) return nullptr;
  return running;
}

RunningShard::~RunningShard() {
  if (server != nullptr) {
    server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(100));
    server->Wait();
  }
}

std::string RunningShard::address() const {
  return "127.0.0.1:" + std::to_string(port);
}

std::string UnusedAddress() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return "127.0.0.1:" + std::to_string(port);
}

}  // namespace sift::ingest::testing
