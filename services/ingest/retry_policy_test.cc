#include "services/ingest/retry_policy.h"

#include "gtest/gtest.h"

namespace sift::ingest {
namespace {

TEST(RetryPolicyTest, DoublesFrom50MsAndCapsAt2s) {
  const RetryPolicy policy;
  const int64_t expected_ms[] = {50, 100, 200, 400, 800, 1600, 2000, 2000};
  for (int retry = 0; retry < 8; ++retry) {
    // 0.5 is the middle of the jitter range: no jitter.
    EXPECT_EQ(BackoffDelay(policy, retry, 0.5),
              absl::Milliseconds(expected_ms[retry]))
        << "retry " << retry;
  }
  EXPECT_EQ(BackoffDelay(policy, 1'000'000, 0.5), absl::Seconds(2));
}

TEST(RetryPolicyTest, JitterSpreadsDelaysByTwentyPercent) {
  const RetryPolicy policy;
  EXPECT_EQ(BackoffDelay(policy, 0, 0.0), absl::Milliseconds(40));
  EXPECT_EQ(BackoffDelay(policy, 0, 1.0), absl::Milliseconds(60));
  EXPECT_EQ(BackoffDelay(policy, 3, 0.0), absl::Milliseconds(320));
  // Never past the cap, even with jitter.
  EXPECT_EQ(BackoffDelay(policy, 10, 0.99), absl::Seconds(2));
  EXPECT_EQ(BackoffDelay(policy, 10, 0.0), absl::Milliseconds(1600));
}

TEST(RetryPolicyTest, FollowsItsParameters) {
  RetryPolicy policy;
  policy.initial_backoff = absl::Milliseconds(10);
  policy.max_backoff = absl::Milliseconds(25);
  policy.multiplier = 3;
  policy.jitter = 0;
  EXPECT_EQ(BackoffDelay(policy, 0, 0.9), absl::Milliseconds(10));
  EXPECT_EQ(BackoffDelay(policy, 1, 0.9), absl::Milliseconds(25));
}

TEST(RetryPolicyTest, RetriesOnlyWhatMaySucceedLater) {
  EXPECT_TRUE(IsRetryableShardError(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(IsRetryableShardError(absl::StatusCode::kResourceExhausted));
  // A server that stops cancels the calls it still has.
  EXPECT_TRUE(IsRetryableShardError(absl::StatusCode::kCancelled));
  for (absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument, absl::StatusCode::kInternal,
        absl::StatusCode::kDeadlineExceeded,
        absl::StatusCode::kFailedPrecondition,
        absl::StatusCode::kUnimplemented}) {
    EXPECT_FALSE(IsRetryableShardError(code)) << code;
  }
}

TEST(RetryPolicyTest, WriteDeadlineLeavesTimeToAnswer) {
  const absl::Time now = absl::FromUnixSeconds(1'000'000);
  const absl::Duration max = absl::Seconds(30);
  // No deadline, or a later one: the server's own limit.
  EXPECT_EQ(WriteDeadline(absl::InfiniteFuture(), now, max), now + max);
  EXPECT_EQ(WriteDeadline(now + absl::Hours(1), now, max), now + max);
  // Otherwise a margin of 5% of the time left, within [5 ms, 250 ms].
  EXPECT_EQ(WriteDeadline(now + absl::Seconds(20), now, max),
            now + absl::Seconds(20) - absl::Milliseconds(250));
  EXPECT_EQ(WriteDeadline(now + absl::Seconds(2), now, max),
            now + absl::Seconds(2) - absl::Milliseconds(100));
  EXPECT_EQ(WriteDeadline(now + absl::Milliseconds(40), now, max),
            now + absl::Milliseconds(35));
  // A deadline already past stays past.
  EXPECT_LT(WriteDeadline(now - absl::Seconds(1), now, max), now);
}

}  // namespace
}  // namespace sift::ingest
