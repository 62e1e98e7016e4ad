#ifndef SIFT_COMMON_ETCD_INTERNAL_PREFIX_WATCH_H_
#define SIFT_COMMON_ETCD_INTERNAL_PREFIX_WATCH_H_

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "common/etcd/client.h"
#include "common/etcd/internal/members.h"
#include "common/sync/mutex.h"

namespace sift::etcd::internal {

// Client::WatchPrefix: one Watch stream at a time, on one member, read by a
// thread of its own that calls the callbacks; a new stream on the next member
// when it breaks.
class PrefixWatch final : public Client::Watch {
 public:
  PrefixWatch(std::shared_ptr<Members> members, std::string prefix,
              int64_t start_revision,
              std::function<void(const std::vector<WatchEvent>&)> on_events,
              std::function<void(const absl::Status&)> on_error);
  ~PrefixWatch() override;

 private:
  enum class StreamEnd {
    kBroken,  // Try again, on the next member.
    kDone,    // Stopped, or on_error was told why not.
  };

  void Run();
  // Watches on member `i` until its stream ends; `*created` tells whether
  // etcd accepted the watch on it.
  StreamEnd RunStream(size_t i, bool* created);

  const std::shared_ptr<Members> members_;
  const std::string prefix_;
  const std::function<void(const std::vector<WatchEvent>&)> on_events_;
  const std::function<void(const absl::Status&)> on_error_;
  // The first revision not yet delivered; 0 until etcd says where "now" is.
  // Only the watch thread uses it.
  int64_t next_revision_;

  Mutex mu_;
  // Signalled when stopping_ is set.
  CondVar stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The context of the stream being read, for the destructor to cancel.
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::thread thread_;
};

}  // namespace sift::etcd::internal

#endif  // SIFT_COMMON_ETCD_INTERNAL_PREFIX_WATCH_H_
