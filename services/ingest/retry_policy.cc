#include "services/ingest/retry_policy.h"

#include <algorithm>

namespace sift::ingest {

absl::Duration BackoffDelay(const RetryPolicy& policy, int retry,
                            double unit_random) {
  absl::Duration base = policy.initial_backoff;
  for (int i = 0; i < retry && base < policy.max_backoff; ++i) {
    base *= policy.multiplier;
  }
  base = std::min(base, policy.max_backoff);
  const double factor = 1.0 - policy.jitter + 2.0 * policy.jitter * unit_random;
  return std::clamp(base * factor, absl::ZeroDuration(), policy.max_backoff);
}

bool IsRetryableShardError(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kResourceExhausted ||
         code == absl::StatusCode::kCancelled;
}

absl::Time WriteDeadline(absl::Time caller_deadline, absl::Time now,
                         absl::Duration max_call_time) {
  const absl::Time own = now + max_call_time;
  if (caller_deadline >= own) return own;
  const absl::Duration margin =
      std::clamp((caller_deadline - now) / 20, absl::Milliseconds(5),
                 absl::Milliseconds(250));
  return caller_deadline - margin;
}

}  // namespace sift::ingest
