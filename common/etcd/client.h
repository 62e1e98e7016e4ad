#ifndef SIFT_COMMON_ETCD_CLIENT_H_
#define SIFT_COMMON_ETCD_CLIENT_H_

// A client for etcd's v3 API (KV, Lease and Watch) over gRPC, speaking to one
// member or to any member of a cluster.
//
// Errors: every call returns the gRPC status it got, with the same canonical
// code, and a message that names the member and the operation
// ("etcd 127.0.0.1:2379: Txn: ..."). UNAVAILABLE when no member could be
// reached (or none had a leader), DEADLINE_EXCEEDED when a member did not
// answer within ClientOptions::call_timeout, OUT_OF_RANGE for a compacted
// revision. A call that fails UNAVAILABLE on one member is tried on the next
// one, so a cluster keeps working while a minority of its members is down.
//
// A mutation (Put, Delete, Txn, RevokeLease) that fails UNAVAILABLE or
// DEADLINE_EXCEEDED may still have been applied: the connection can break
// after etcd received it, and then it is also tried again on the next member.
// Make such writes safe to repeat, e.g. a create-if-absent Txn whose failure
// branch reads the key, so that a retry finds its own earlier write.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sift::etcd {

namespace internal {
class Members;
}  // namespace internal

// A key and its value as etcd stores them, with its revisions: create and
// mod revisions are the cluster revisions of the key's creation and last
// change, version counts changes since creation (1 after the first put), and
// lease is the id of the attached lease (0 for none).
struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;

  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// One comparison of a Txn; the Txn takes its success branch when all of them
// hold.
struct Compare {
  enum class Target { kValue, kVersion, kCreateRevision, kModRevision };

  // The key holds `value` (false when the key is absent).
  static Compare ValueEquals(std::string key, std::string value);
  // The key's version is `version`; 0 means the key is absent.
  static Compare VersionEquals(std::string key, int64_t version);
  // The key was created at `rev`; 0 means the key is absent.
  static Compare CreateRevisionEquals(std::string key, int64_t rev);
  // The key was last changed at `rev` (compare-and-swap on a read).
  static Compare ModRevisionEquals(std::string key, int64_t rev);

  Target target = Target::kValue;
  std::string key;
  std::string value;   // For kValue.
  int64_t number = 0;  // For every other target.
};

// One operation of a Txn branch.
struct Op {
  enum class Type { kPut, kDelete, kDeletePrefix, kGet, kGetPrefix };

  static Op Put(std::string key, std::string value, int64_t lease = 0);
  static Op Delete(std::string key);
  static Op DeletePrefix(std::string prefix);
  static Op Get(std::string key);
  static Op GetPrefix(std::string prefix);

  Type type = Type::kGet;
  std::string key;  // The key, or the prefix for the *Prefix types.
  std::string value;
  int64_t lease = 0;
};

struct TxnResult {
  // Whether the compares held and the success branch ran.
  bool succeeded = false;
  // The cluster revision after the Txn.
  int64_t revision = 0;
  // One entry per Get or GetPrefix op of the branch that ran, in the order
  // of the ops; each in key order (empty when nothing matched).
  std::vector<std::vector<KeyValue>> gets;
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  // For kDelete: the key, and mod_revision is the revision of the delete.
  KeyValue kv;
};

struct ClientOptions {
  // Deadline of every unary call, across all the members it is tried on.
  absl::Duration call_timeout = absl::Seconds(5);
  // How often an idle connection with a call in flight (a watch) is pinged,
  // and how long a ping may go unanswered before the connection counts as
  // broken. etcd refuses pings more often than every 5 s by default
  // (--grpc-keepalive-min-time).
  absl::Duration keepalive_time = absl::Seconds(10);
  absl::Duration keepalive_timeout = absl::Seconds(5);
};

// A client for an etcd cluster. Thread-safe: any thread may call any method
// at any time. It connects lazily, on the first call, and reconnects by
// itself. Watches keep what they need of the client alive; a LeaseKeeper does
// not, so the Client must outlive every LeaseKeeper started with it.
class Client {
 public:
  // A running watch; destroying it stops it.
  class Watch {
   public:
    // Stops the watch and waits for its thread: no callback runs once the
    // destructor returns. Must not run on the watch's own thread (inside
    // one of its callbacks).
    virtual ~Watch() = default;
  };

  // `endpoints` is a comma-separated list of host:port ("127.0.0.1:2379" or
  // "10.0.0.1:2379,10.0.0.2:2379,[::1]:2379"); INVALID_ARGUMENT when it is
  // empty or an entry is not host:port. Does not connect.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(
      const std::string& endpoints, ClientOptions options = {});

  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The key's current value; nullopt when the key is absent.
  absl::StatusOr<std::optional<KeyValue>> Get(const std::string& key);

  // Every key with the prefix ("" for every key), in key order, and in
  // `*revision` (when not null) the cluster revision they were read at.
  absl::StatusOr<std::vector<KeyValue>> GetPrefix(const std::string& prefix,
                                                  int64_t* revision = nullptr);

  // Sets the key, attached to `lease` when not 0; returns the revision of
  // the change. NOT_FOUND when the lease does not exist (any more).
  absl::StatusOr<int64_t> Put(const std::string& key, const std::string& value,
                              int64_t lease = 0);

  // Deletes the key; OK when it was already absent.
  absl::Status Delete(const std::string& key);

  // Runs `on_success` when every compare holds, else `on_failure`,
  // atomically. INVALID_ARGUMENT when etcd refuses the Txn (such as two puts
  // of one key, or more ops than its --max-txn-ops).
  absl::StatusOr<TxnResult> Txn(const std::vector<Compare>& compares,
                                const std::vector<Op>& on_success,
                                const std::vector<Op>& on_failure = {});

  // Drops the history before `revision`: reads and watches of older
  // revisions fail OUT_OF_RANGE afterwards. OUT_OF_RANGE when `revision` is
  // already compacted or in the future.
  absl::Status Compact(int64_t revision);

  // Grants a lease of `ttl` (rounded up to whole seconds; etcd raises it to
  // its minimum, about 1.5 election timeouts) and returns its id.
  absl::StatusOr<int64_t> GrantLease(absl::Duration ttl);

  // Revokes the lease and deletes every key attached to it. NOT_FOUND when
  // the lease has expired or was revoked.
  absl::Status RevokeLease(int64_t lease);

  // Sends one keep-alive and returns the TTL the lease has again; NOT_FOUND
  // when the lease has expired or was revoked.
  absl::StatusOr<absl::Duration> KeepAliveOnce(int64_t lease);

  // Calls `on_events` for every change of a key with `prefix` after
  // `start_revision`, from revision `start_revision` on (0: from now). The
  // callbacks run on a thread of the watch, one at a time, in revision
  // order; the events of one revision come in one call. When the connection
  // breaks the watch reconnects (to the next member) and resumes after the
  // last revision it delivered, so no event is lost or repeated. When the
  // revisions it needs have been compacted, `on_error` (when not null) gets
  // OUT_OF_RANGE and the watch stops; it stops as well, with the status in
  // `on_error`, when etcd cancels it for another reason. Callbacks must not
  // destroy the Watch.
  std::unique_ptr<Watch> WatchPrefix(
      const std::string& prefix, int64_t start_revision,
      std::function<void(const std::vector<WatchEvent>&)> on_events,
      std::function<void(const absl::Status&)> on_error = nullptr);

  const ClientOptions& options() const { return options_; }

 private:
  friend class LeaseKeeper;

  struct Grant {
    int64_t id = 0;
    absl::Duration ttl;
  };

  Client(std::shared_ptr<internal::Members> members, ClientOptions options);

  // GrantLease, with the TTL etcd granted.
  absl::StatusOr<Grant> GrantLeaseWithTtl(absl::Duration ttl);
  // KeepAliveOnce with its own deadline.
  absl::StatusOr<absl::Duration> KeepAliveOnce(int64_t lease,
                                               absl::Duration timeout);

  const std::shared_ptr<internal::Members> members_;
  const ClientOptions options_;
};

}  // namespace sift::etcd

#endif  // SIFT_COMMON_ETCD_CLIENT_H_
