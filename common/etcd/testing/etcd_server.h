#ifndef SIFT_COMMON_ETCD_TESTING_ETCD_SERVER_H_
#define SIFT_COMMON_ETCD_TESTING_ETCD_SERVER_H_

// Real etcd servers for tests: child processes of the test on free loopback
// ports, each with a fresh data folder that is removed afterwards.
//
// The etcd binary is /usr/bin/etcd (Debian's etcd-server), or the one named
// by $SIFT_ETCD_BINARY. Data folders go under $TEST_TMPDIR, else $TMPDIR,
// else /tmp. Each member logs to etcd.log in its folder; failures to start
// quote its end.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sift::etcd::testing {

class EtcdCluster;

// One etcd member run as a child process. The child gets SIGKILL when the
// thread that started it exits, so a crashed test leaves no etcd behind:
// start (and Restart) it from a thread that outlives it, such as the test's
// main thread. Not thread-safe.
class EtcdServer {
 public:
  // Starts a single-member cluster and waits until it answers reads (it has
  // elected itself leader). FAILED_PRECONDITION when the etcd binary is
  // missing; UNAVAILABLE when etcd did not start, with its log's end.
  static absl::StatusOr<std::unique_ptr<EtcdServer>> Start();

  // Kills the process and removes the data folder.
  ~EtcdServer();

  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // "127.0.0.1:PORT", for Client::Connect.
  std::string endpoint() const;
  int client_port() const { return client_port_; }
  int peer_port() const { return peer_port_; }
  const std::string& name() const { return name_; }
  // The folder holding the data (data/) and the log (etcd.log).
  const std::string& dir() const { return dir_; }
  std::string log_path() const;
  bool running() const { return pid_ > 0; }
  bool paused() const { return paused_; }

  // Stops the process with SIGTERM (SIGKILL after 10 s), keeping its data.
  absl::Status Stop();
  // Kills the process with SIGKILL, keeping its data (what a crash leaves).
  absl::Status Kill();
  // Starts a stopped member again on the same ports with the same data and
  // waits until it answers reads (for a cluster member: once a quorum runs).
  // UNAVAILABLE when a port was taken meanwhile or etcd did not come up.
  absl::Status Restart();

  // Freezes the process (SIGSTOP): its ports stay open but nothing answers,
  // as with a hung machine. Resume (SIGCONT) thaws it.
  absl::Status Pause();
  absl::Status Resume();

 private:
  friend class EtcdCluster;

  EtcdServer(std::string name, std::string dir, int client_port, int peer_port);

  // Starts the process with `initial_cluster` ("name=http://..." for every
  // member) and the cluster's token; does not wait.
  absl::Status Spawn(const std::string& initial_cluster,
                     const std::string& cluster_token);
  // Waits until the member answers a linearizable read, or its process
  // exits, or `timeout` passes.
  absl::Status WaitUntilServing(absl::Duration timeout);
  // Whether the process exited (and reaps it).
  bool Exited();
  // The end of the log, to quote in errors.
  std::string LogTail() const;

  const std::string name_;
  const std::string dir_;
  int client_port_;
  int peer_port_;
  std::string initial_cluster_;
  std::string cluster_token_;
  pid_t pid_ = -1;
  bool paused_ = false;
};

// Several etcd members forming one cluster, for failover tests. Not
// thread-safe.
class EtcdCluster {
 public:
  // Starts `size` members and waits until each answers reads.
  static absl::StatusOr<std::unique_ptr<EtcdCluster>> Start(int size);

  // "127.0.0.1:P1,127.0.0.1:P2,...", for Client::Connect.
  std::string endpoints() const;
  int size() const { return static_cast<int>(members_.size()); }
  EtcdServer& member(int i) { return *members_[i]; }

 private:
  explicit EtcdCluster(std::vector<std::unique_ptr<EtcdServer>> members)
      : members_(std::move(members)) {}

  std::vector<std::unique_ptr<EtcdServer>> members_;
};

// A loopback TCP port that was free a moment ago (bound to port 0, then
// closed); 0 when none could be bound. Someone else may take it before use.
int PickFreePort();

}  // namespace sift::etcd::testing

#endif  // SIFT_COMMON_ETCD_TESTING_ETCD_SERVER_H_
