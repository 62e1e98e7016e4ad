#ifndef SIFT_SERVICES_INGEST_RETRY_POLICY_H_
#define SIFT_SERVICES_INGEST_RETRY_POLICY_H_

#include "absl/status/status.h"
#include "absl/time/time.h"

// How ingest retries a storage shard that is briefly away, and how long it
// may keep trying. Pure functions; thread-safe.
namespace sift::ingest {

// Exponential backoff with jitter: the n-th retry (counting from 0) waits
// initial_backoff * multiplier^n, capped at max_backoff, scaled by a random
// factor in [1 - jitter, 1 + jitter] (and capped again) so that ingest
// servers retrying one shard do not all come back at the same instant.
struct RetryPolicy {
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
  double multiplier = 2.0;
  double jitter = 0.2;
  // The longest one attempt of a shard write may take before it is tried
  // again (within the call's deadline): a primary that hangs (frozen,
  // partitioned) answers nothing, and its copies take over meanwhile.
  absl::Duration attempt_timeout = absl::Seconds(10);
};

// The wait before retry number `retry` (0 for the first retry), where
// `unit_random` is uniform in [0, 1).
absl::Duration BackoffDelay(const RetryPolicy& policy, int retry,
                            double unit_random);

// Whether a shard's error may go away if the same write is sent again:
// UNAVAILABLE (shard down, restarting, unreachable, not the primary),
// RESOURCE_EXHAUSTED (shard overloaded) and CANCELLED (the shard's server
// cancelled the call as it stopped: ingest never cancels its own shard
// calls, and a caller's cancellation is handled before this). Writes are
// upserts and deletes by id, so sending one again is safe. Other codes are
// final.
bool IsRetryableShardError(absl::StatusCode code);

// The deadline of the shard writes that serve a call whose own deadline is
// `caller_deadline`: never later than now + `max_call_time` (callers
// without a deadline get that), and ending a little before the caller's
// deadline (5% of the time left, between 5 ms and 250 ms) so that the
// per-document answer reaches the caller before it gives up.
absl::Time WriteDeadline(absl::Time caller_deadline, absl::Time now,
                         absl::Duration max_call_time);

}  // namespace sift::ingest

#endif  // SIFT_SERVICES_INGEST_RETRY_POLICY_H_
