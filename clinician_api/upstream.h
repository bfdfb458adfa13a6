// Calling the owning services from clinician_api's handlers.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/status/status.h"
#include "services/common/access.h"
#include "services/common/grpc_util.h"

namespace healthtwin::clinician {

inline constexpr auto kUpstreamDeadline = std::chrono::seconds(10);

// Calls a unary upstream method synchronously from an executor thread, for `caller`, naming
// the person in kOnBehalfOfHeader so the owning service audits both the relay and the person.
template <typename Stub, typename Req, typename Resp>
absl::Status CallUpstream(const common::Caller& caller, Stub* stub,
                          grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*), const Req& req,
                          Resp* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kUpstreamDeadline);
  ctx.AddMetadata(common::kOnBehalfOfHeader, caller.identity.common_name);
  return common::FromGrpcStatus((stub->*method)(&ctx, req, resp));
}

}  // namespace healthtwin::clinician
