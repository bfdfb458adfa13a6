// One place that maps between absl::Status (our code) and grpc::Status (the wire).
// Abseil's canonical codes are the gRPC codes, so the mapping is one-to-one.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace healthtwin::common {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace healthtwin::common
