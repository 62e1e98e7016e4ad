#ifndef SIFT_COMMON_ETCD_TESTING_POLL_H_
#define SIFT_COMMON_ETCD_TESTING_POLL_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sift::etcd::testing {

// Calls `done` every few milliseconds until it returns true (then true) or
// `timeout` passes (then false). For tests that wait on etcd's clocks, such
// as a lease's expiry, without assuming how fast the machine is.
inline bool PollUntil(const std::function<bool()>& done,
                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

}  // namespace sift::etcd::testing

#endif  // SIFT_COMMON_ETCD_TESTING_POLL_H_
