#ifndef SIFT_COMMON_STATUS_STATUS_MACROS_H_
#define SIFT_COMMON_STATUS_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Propagates a non-OK absl::Status from `expr` to the caller.
#define SIFT_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::absl::Status sift_status_ = (expr);        \
    if (!sift_status_.ok()) return sift_status_; \
  } while (0)

#define SIFT_STATUS_CONCAT_INNER_(a, b) a##b
#define SIFT_STATUS_CONCAT_(a, b) SIFT_STATUS_CONCAT_INNER_(a, b)

// `SIFT_ASSIGN_OR_RETURN(auto x, F());` declares x from an OK StatusOr, or
// returns its status from the enclosing function.
#define SIFT_ASSIGN_OR_RETURN(lhs, expr)                                     \
  SIFT_ASSIGN_OR_RETURN_IMPL_(SIFT_STATUS_CONCAT_(sift_statusor_, __LINE__), \
                              lhs, expr)

#define SIFT_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)   \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // SIFT_COMMON_STATUS_STATUS_MACROS_H_
