#ifndef SIFT_COMMON_STATUS_GRPC_STATUS_H_
#define SIFT_COMMON_STATUS_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace sift {

// The canonical codes of absl and gRPC are numerically identical; these
// convert at the service edge and nowhere else.
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace sift

#endif  // SIFT_COMMON_STATUS_GRPC_STATUS_H_
