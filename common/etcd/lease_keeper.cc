#include "common/etcd/lease_keeper.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "common/status/status_macros.h"

namespace sift::etcd {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::chrono::nanoseconds ToChrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

absl::Duration FromChrono(SteadyClock::duration d) {
  return absl::FromChrono(d);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LeaseKeeper>> LeaseKeeper::Start(
    Client* client, absl::Duration ttl, std::function<void()> on_lost) {
  // etcd starts the lease's clock when it gets the grant, which is after
  // this.
  const SteadyTime sent = SteadyClock::now();
  SIFT_ASSIGN_OR_RETURN(Client::Grant grant, client->GrantLeaseWithTtl(ttl));
  return std::unique_ptr<LeaseKeeper>(
      new LeaseKeeper(client, grant.id, grant.ttl, sent + ToChrono(grant.ttl),
                      std::move(on_lost)));
}

LeaseKeeper::LeaseKeeper(Client* client, int64_t id, absl::Duration ttl,
                         SteadyTime valid_until, std::function<void()> on_lost)
    : client_(client),
      id_(id),
      on_lost_(std::move(on_lost)),
      ttl_(ttl),
      valid_until_(valid_until) {
  thread_ = std::thread([this] { Run(); });
}

LeaseKeeper::~LeaseKeeper() { Stop(); }

void LeaseKeeper::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  stop_cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

absl::Time LeaseKeeper::ValidUntil() const {
  MutexLock lock(&mu_);
  if (lost_ || revoked_) return absl::InfinitePast();
  return absl::Now() + FromChrono(valid_until_ - SteadyClock::now());
}

absl::Duration LeaseKeeper::Remaining() const {
  MutexLock lock(&mu_);
  if (lost_ || revoked_) return absl::ZeroDuration();
  return FromChrono(valid_until_ - SteadyClock::now());
}

bool LeaseKeeper::lost() const {
  MutexLock lock(&mu_);
  return lost_;
}

absl::Status LeaseKeeper::Revoke() {
  Stop();
  {
    MutexLock lock(&mu_);
    revoked_ = true;
  }
  return client_->RevokeLease(id_);
}

void LeaseKeeper::Run() {
  SteadyTime next_send;
  {
    MutexLock lock(&mu_);
    // The grant counts as the first keep-alive.
    next_send = valid_until_ - ToChrono(ttl_) + ToChrono(ttl_ / 3);
  }
  while (true) {
    SteadyTime sent;
    absl::Duration timeout;
    {
      MutexLock lock(&mu_);
      while (!stopping_ && !lost_) {
        sent = SteadyClock::now();
        if (sent >= valid_until_) {
          lost_ = true;
        } else if (sent >= next_send) {
          break;
        } else {
          stop_cv_.WaitWithTimeout(
              &mu_, FromChrono(std::min(next_send, valid_until_) - sent));
        }
      }
      if (stopping_) return;
      // A member that does not answer must not hold the keep-alive past the
      // lease's validity, nor so long that no time is left to try another.
      timeout = std::min({client_->options().call_timeout, ttl_ / 3,
                          FromChrono(valid_until_ - sent)});
    }
    if (!lost()) {
      absl::StatusOr<absl::Duration> ttl = client_->KeepAliveOnce(id_, timeout);
      MutexLock lock(&mu_);
      if (stopping_) return;
      if (ttl.ok()) {
        ttl_ = *ttl;
        valid_until_ = std::max(valid_until_, sent + ToChrono(*ttl));
        next_send = sent + ToChrono(*ttl / 3);
      } else if (absl::IsNotFound(ttl.status())) {
        lost_ = true;
      } else {
        // Another member may answer; the failure took its time already.
        next_send = SteadyClock::now() +
                    ToChrono(std::min(ttl_ / 10, absl::Milliseconds(200)));
      }
    }
    if (lost()) {
      if (on_lost_) on_lost_();
      return;
    }
  }
}

}  // namespace sift::etcd
