#ifndef SIFT_COMMON_STATUS_STATUS_MATCHERS_H_
#define SIFT_COMMON_STATUS_STATUS_MATCHERS_H_

// Test-only matchers for absl::Status and absl::StatusOr<T>:
//   EXPECT_THAT(s, sift::testing::IsOk());
//   EXPECT_THAT(s, sift::testing::StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(s, sift::testing::StatusIs(absl::StatusCode::kInvalidArgument,
//                                          HasSubstr("id")));

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace sift::testing {
namespace internal {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace internal

MATCHER(IsOk, "is OK") {
  const absl::Status& s = internal::GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s;
  return s.ok();
}

MATCHER_P(StatusIs, code,
          "has code " +
              absl::StatusCodeToString(static_cast<absl::StatusCode>(code))) {
  const absl::Status& s = internal::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has code " +
               absl::StatusCodeToString(static_cast<absl::StatusCode>(code))) {
  const absl::Status& s = internal::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(
             message_matcher, std::string(s.message()), result_listener);
}

// An OK StatusOr whose value matches `value_matcher`.
MATCHER_P(IsOkAndHolds, value_matcher, "is OK and holds a matching value") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace sift::testing

// Asserts that a StatusOr is OK and moves its value into lhs.
#define SIFT_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  SIFT_ASSERT_OK_AND_ASSIGN_IMPL_(           \
      SIFT_STATUS_MATCHERS_CONCAT_(sift_statusor_, __LINE__), lhs, expr)
#define SIFT_STATUS_MATCHERS_CONCAT_INNER_(a, b) a##b
#define SIFT_STATUS_MATCHERS_CONCAT_(a, b) \
  SIFT_STATUS_MATCHERS_CONCAT_INNER_(a, b)
#define SIFT_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                    \
  ASSERT_TRUE(statusor.ok()) << statusor.status();           \
  lhs = std::move(statusor).value()

#endif  // SIFT_COMMON_STATUS_STATUS_MATCHERS_H_
