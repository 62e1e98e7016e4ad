#ifndef SIFT_SERVICES_INGEST_TESTING_SCRIPTED_SHARD_H_
#define SIFT_SERVICES_INGEST_TESTING_SCRIPTED_SHARD_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/sync/mutex.h"
#include "sift/v1/storage.grpc.pb.h"

namespace sift::ingest::testing {

// A storage shard for ingest tests: answers Write from an in-memory map, and
// fails on request the way a real shard does when it is down, overloaded or
// handed a malformed operation, which a real shard cannot be made to do on
// cue. Only Write is served. Thread-safe.
class ScriptedShard final : public v1::StorageService::CallbackService {
 public:
  // The next `count` writes fail with `status` (nothing applied).
  void FailNext(int count, absl::Status status);
  // Writes that are not failed are answered only after `delay`, as by a
  // shard with a slow disk.
  void DelayWrites(absl::Duration delay);
  // Every write containing an upsert of `id` fails with INVALID_ARGUMENT
  // (nothing applied), as a shard refusing a malformed op would.
  void RefuseId(std::string id);

  // Writes received, successful or not.
  int attempts() const;
  // The ops of every applied write, in order.
  std::vector<v1::WriteRequest> applied() const;
  // The documents stored now, by id.
  std::map<std::string, v1::AnalyzedDocument> documents() const;

  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* context,
                                  const v1::WriteRequest* request,
                                  v1::WriteResponse* response) override;

 private:
  mutable Mutex mu_;
  int attempts_ ABSL_GUARDED_BY(mu_) = 0;
  int failures_left_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> refused_ids_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::WriteRequest> applied_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::AnalyzedDocument> documents_ ABSL_GUARDED_BY(mu_);
};

// A ScriptedShard served on 127.0.0.1 at a free port.
struct RunningShard {
  static std::unique_ptr<RunningShard> Start();
  ~RunningShard();

  std::string address() const;

  ScriptedShard shard;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

// "127.0.0.1:PORT" where nothing listens (a port bound, then released).
std::string UnusedAddress();

}  // namespace sift::ingest::testing

#endif  // SIFT_SERVICES_INGEST_TESTING_SCRIPTED_SHARD_H_
