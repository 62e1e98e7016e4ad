#ifndef SIFT_COMMON_ETCD_INTERNAL_MEMBERS_H_
#define SIFT_COMMON_ETCD_INTERNAL_MEMBERS_H_

// The members a Client talks to, the failover between them, and conversions
// between etcd's protos and the public types. Private to common/etcd.

#include <grpcpp/grpcpp.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/etcd/client.h"
#include "common/sync/mutex.h"
#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "etcd/mvcc/mvccpb/kv.pb.h"

namespace sift::etcd::internal {

// One member's address and the stubs on its channel.
struct Member {
  std::string address;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<etcdserverpb::KV::Stub> kv;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch;
};

// Splits "host:port,host:port" into its addresses; INVALID_ARGUMENT when the
// list is empty or an entry is not host:port with a port in 1..65535.
absl::StatusOr<std::vector<std::string>> ParseEndpoints(
    absl::string_view endpoints);

// One attempt of a call on one member; its deadline is already set in the
// context.
using Attempt =
    std::function<grpc::Status(const Member& member, grpc::ClientContext*)>;

// The members of one cluster, with the one to try first. Thread-safe.
class Members {
 public:
  Members(const std::vector<std::string>& addresses,
          const ClientOptions& options);

  size_t size() const { return members_.size(); }
  const Member& member(size_t i) const { return *members_[i]; }

  // The member to try first: the last one that answered.
  size_t Preferred() const;
  // Moves the preference past member `i` after it failed, unless another
  // thread already did.
  void MarkFailed(size_t i);

  // Waits until member `i` has a connection; UNAVAILABLE when an attempt to
  // connect failed, DEADLINE_EXCEEDED when `deadline` passed first.
  //
  // Calls wait for this themselves rather than leave it to gRPC: a channel
  // that failed once fails every call at once until it is connected again,
  // and with the synchronous API nothing drives the reconnection while no
  // thread waits on the channel (only a poller that runs every 5 s). Waiting
  // here drives it. It also means a call is only sent to a connected member,
  // so when it cannot connect the next member can take any call, a write too.
  absl::Status Connect(size_t i, absl::Time deadline) const;

  // Runs `attempt` on the preferred member and, while it fails UNAVAILABLE,
  // on each next one, all within `timeout`. Returns the first other outcome,
  // or the failures of every member when none answered. `operation` names
  // the call in error messages.
  absl::Status Call(absl::string_view operation, absl::Duration timeout,
                    const Attempt& attempt);

 private:
  std::vector<std::unique_ptr<Member>> members_;
  mutable Mutex mu_;
  size_t preferred_ ABSL_GUARDED_BY(mu_) = 0;
};

// `status` with its code and "etcd ADDRESS: OPERATION: " before its message.
absl::Status MemberError(const grpc::Status& status, absl::string_view address,
                         absl::string_view operation);

// The [key, range_end) of etcd's reads and deletes that covers every key
// with a prefix: range_end is the prefix with its last byte below 0xff
// incremented (and what follows it dropped); "\0" for both means every key.
struct KeyRange {
  std::string key;
  std::string range_end;
};
KeyRange PrefixRange(absl::string_view prefix);

KeyValue FromProto(const mvccpb::KeyValue& kv);

}  // namespace sift::etcd::internal

#endif  // SIFT_COMMON_ETCD_INTERNAL_MEMBERS_H_
