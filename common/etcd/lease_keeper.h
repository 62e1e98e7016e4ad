#ifndef SIFT_COMMON_ETCD_LEASE_KEEPER_H_
#define SIFT_COMMON_ETCD_LEASE_KEEPER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/etcd/client.h"
#include "common/sync/mutex.h"

namespace sift::etcd {

// An etcd lease kept alive from a background thread, which knows until when
// the lease is certainly still valid. Whoever holds something tied to the
// lease (a primary's key) must stop acting on it once ValidUntil() has
// passed, even if its process was paused and never heard that it was lost.
// Thread-safe.
class LeaseKeeper {
 public:
  // Grants a lease of `ttl` (see Client::GrantLease for the rounding) and
  // keeps it alive, sending a keep-alive every third of the TTL. `on_lost`
  // (may be null) runs once, on the keeper's thread, when a keep-alive finds
  // the lease gone (expired or revoked by someone else) or when ValidUntil()
  // passes without a successful keep-alive; the keeper stops then. It must
  // not destroy the keeper nor call Revoke. `client` must outlive the keeper.
  static absl::StatusOr<std::unique_ptr<LeaseKeeper>> Start(
      Client* client, absl::Duration ttl, std::function<void()> on_lost);

  // Stops the keep-alives and waits for the thread; does not revoke the
  // lease, which expires after its TTL (call Revoke first to end it now).
  ~LeaseKeeper();

  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  int64_t id() const { return id_; }

  // The time the last successful keep-alive (or the grant) was sent plus the
  // TTL etcd granted then: etcd cannot have let the lease expire before it,
  // as its clock started later. Measured on the steady clock, so that a
  // step of the wall clock does not stretch it, and returned on absl::Now()'s
  // clock, for comparing with absl::Now(). InfinitePast once lost or revoked.
  absl::Time ValidUntil() const;
  // How much longer the lease is certainly valid; zero or less once it is
  // not (or lost, or revoked).
  absl::Duration Remaining() const;

  // Whether on_lost has run (or is about to).
  bool lost() const;

  // Stops the keep-alives and revokes the lease, which deletes the keys
  // attached to it; NOT_FOUND when it had already expired. on_lost does not
  // run afterwards.
  absl::Status Revoke();

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  LeaseKeeper(Client* client, int64_t id, absl::Duration ttl,
              SteadyTime valid_until, std::function<void()> on_lost);

  void Run();
  // Asks the thread to stop and waits for it.
  void Stop();

  Client* const client_;
  const int64_t id_;
  const std::function<void()> on_lost_;

  mutable Mutex mu_;
  // Signalled when stopping_ is set.
  CondVar stop_cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_ ABSL_GUARDED_BY(mu_) = false;
  bool revoked_ ABSL_GUARDED_BY(mu_) = false;
  // The TTL etcd granted last.
  absl::Duration ttl_ ABSL_GUARDED_BY(mu_);
  SteadyTime valid_until_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace sift::etcd

#endif  // SIFT_COMMON_ETCD_LEASE_KEEPER_H_
