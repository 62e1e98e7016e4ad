#ifndef SIFT_COMMON_SERVER_SERVER_RUNNER_H_
#define SIFT_COMMON_SERVER_SERVER_RUNNER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/server/channels.h"
#include "common/sync/handoff.h"
#include "common/sync/mutex.h"

namespace sift {

// A started gRPC server with the standard health service (reporting
// SERVING) and server reflection. Not copyable; Shutdown is idempotent.
class RunningServer {
 public:
  RunningServer(std::unique_ptr<grpc::Server> server, int port)
      : server_(std::move(server)), port_(port) {}
  ~RunningServer() { Shutdown(absl::Seconds(1)); }

  // The bound port (useful when started on port 0).
  int port() const { return port_; }
  grpc::Server* server() { return server_.get(); }

  // What the health service reports for every service of the server:
  // SERVING when true, NOT_SERVING when false (a server that can answer
  // only some calls, such as a shard that refuses writes). No effect after
  // Shutdown; callers serialise it with Shutdown.
  void SetServing(bool serving);

  // Marks the server NOT_SERVING for health checks, stops accepting calls,
  // lets calls in flight finish for up to `drain`, then cancels the rest.
  void Shutdown(absl::Duration drain);

 private:
  std::unique_ptr<grpc::Server> server_;
  int port_;
  bool shut_down_ = false;
};

// What a server's health service reports, set from any thread, before the
// server starts and after it stops: a component that finds itself unable
// to serve (a shard whose writes are stopped) reports it here, and whoever
// owns the server attaches it. Thread-safe.
class HealthSwitch {
 public:
  // Reports on `server` from now on, starting with the current state.
  void Attach(RunningServer* server);
  // Stops reporting; call before the server shuts down.
  void Detach();
  // SERVING when true, NOT_SERVING when false.
  void Set(bool serving);

 private:
  Mutex mu_;
  RunningServer* server_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool serving_ ABSL_GUARDED_BY(mu_) = true;
};

// Builds and starts a server on `address` ("127.0.0.1:0" picks a port)
// serving `services` (not owned; they must outlive the server).
// UNAVAILABLE when the address cannot be bound.
absl::StatusOr<std::unique_ptr<RunningServer>> StartServer(
    const std::string& address, const std::vector<grpc::Service*>& services);

// Call first in each method of a service started with StartServer: what the
// caller of StartServer did before it happens before the call, which gRPC
// guarantees but ThreadSanitizer cannot see (common/sync/handoff.h). A no-op
// in builds without ThreadSanitizer.
inline void PublishedBy(const grpc::Service* service) { HappensAfter(service); }

// Turns off Abseil's mutex deadlock detection in this process. The Abseil we
// link is Debian's, built without NDEBUG, so every absl::Mutex lock records
// its lock-order edges in a graph that one process-wide lock guards, and
// gRPC's own locks are absl::Mutex: in a profile of a loaded coordinator the
// graph's upkeep took about 2% of its CPU, all of it behind that one lock
// (throughput did not move measurably). Sift's own locks are pthreads
// (common/sync/mutex.h) and do not use it. Servers and load drivers call it
// first in main; tests keep the detection.
void DisableMutexDeadlockDetection();

// Blocks SIGINT and SIGTERM in the calling thread and every thread it
// starts later; call first thing in main, then WaitForTerminationSignal.
void BlockTerminationSignals();

// Waits until SIGINT or SIGTERM arrives; returns the signal number.
int WaitForTerminationSignal();

}  // namespace sift

#endif  // SIFT_COMMON_SERVER_SERVER_RUNNER_H_
