#ifndef SIFT_TESTS_INTEGRATION_CLUSTER_H_
#define SIFT_TESTS_INTEGRATION_CLUSTER_H_

#include <grpcpp/support/status.h>
#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sift/v1/ingest.grpc.pb.h"
#include "sift/v1/query.grpc.pb.h"

namespace sift::testing {

// A child process running one of Sift's binaries, its output in a log file.
// Killed with SIGKILL on destruction if still running.
class Process {
 public:
  static absl::StatusOr<std::unique_ptr<Process>> Start(
      const std::string& binary, const std::vector<std::string>& args,
      const std::string& log_path);
  ~Process();

  // Sends `signal` and waits for the process to exit.
  void Stop(int signal);
  // Sends `signal` without waiting (SIGSTOP, SIGCONT).
  void Signal(int signal);
  bool running() const { return pid_ > 0; }
  const std::string& log_path() const { return log_path_; }

 private:
  Process(pid_t pid, std::string log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
};

// A free TCP port on 127.0.0.1 (bound, then released).
int PickFreePort();

// Blocks until the gRPC health service at `address` reports SERVING.
absl::Status WaitForServing(const std::string& address, absl::Duration timeout);

// The real Sift services as separate processes on loopback: `num_shards`
// sift-storage processes with their data under `root`, one sift-ingest and
// one sift-query. Binaries come from SIFT_BIN_DIR.
class Cluster {
 public:
  // `query_flags` go to sift-query as well.
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(
      int num_shards, const std::string& root,
      const std::vector<std::string>& query_flags = {});
  ~Cluster();

  v1::IngestService::Stub& ingest() { return *ingest_stub_; }
  v1::QueryService::Stub& query() { return *query_stub_; }
  const std::string& ingest_address() const { return ingest_address_; }
  const std::string& query_address() const { return query_address_; }
  int num_shards() const { return static_cast<int>(shard_addresses_.size()); }

  // QueryService.Search with a deadline of `timeout`. Returns the call's
  // status; `response` holds the answer only when it is OK.
  grpc::Status Search(const v1::SearchRequest& request,
                      v1::SearchResponse* response,
                      absl::Duration timeout = absl::Seconds(30));

  // Stops shard `i` with `signal` (SIGTERM: clean drain; SIGKILL: crash).
  void StopShard(int i, int signal);
  // Starts shard `i` again on the same port and data, waiting until serving.
  absl::Status StartShard(int i);

  // Concatenated logs of every process, for failure messages.
  std::string Logs() const;

 private:
  Cluster() = default;

  std::string root_;
  std::vector<std::string> shard_addresses_;
  std::vector<std::unique_ptr<Process>> shards_;
  std::unique_ptr<Process> ingest_process_;
  std::unique_ptr<Process> query_process_;
  std::string ingest_address_;
  std::string query_address_;
  std::unique_ptr<v1::IngestService::Stub> ingest_stub_;
  std::unique_ptr<v1::QueryService::Stub> query_stub_;
};

// A fresh temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Reads the shared corpus file `relative` (under SIFT_SHARED_DIR), one
// string per line. NOT_FOUND, with a message saying so, when it is missing.
absl::StatusOr<std::vector<std::string>> ReadSharedLines(
    const std::string& relative);

// The whole shared file `relative`, or NOT_FOUND as above.
absl::StatusOr<std::string> ReadSharedFile(const std::string& relative);

// The 1,400 documents of the Cranfield collection as JSON inputs, in the
// order of the shared file; NOT_FOUND as above when it is missing.
absl::StatusOr<std::vector<v1::DocumentInput>> CranfieldInputs();

// `d` times SIFT_TEST_TIME_SCALE from the environment (1 when unset or not
// a number of at least 1): scripts/sanitize.sh sets it, because the
// instrumented servers run many times slower. Every deadline and timeout
// of these tests, and of the servers Cluster starts, goes through it.
absl::Duration TestTime(absl::Duration d);

// Grpc deadline helper: now + TestTime(`d`).
std::chrono::system_clock::time_point DeadlineIn(absl::Duration d);

// Sends `inputs` to the cluster's ingest service in batches of 500, each
// call with a deadline of `per_batch`. Returns how many documents were
// accepted, or the status of the first call that failed.
absl::StatusOr<int> IndexAll(Cluster& cluster,
                             const std::vector<v1::DocumentInput>& inputs,
                             absl::Duration per_batch = absl::Seconds(120));

}  // namespace sift::testing

#endif  // SIFT_TESTS_INTEGRATION_CLUSTER_H_
