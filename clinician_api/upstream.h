// Calling the owning services from clinician_api's handlers.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>

#include "absl/status/status.h"
#include "services/common/access.h"
#include "services/common/grpc_util.h"

namespace healthtwin::clinician {

inline constexpr auto kUpstreamDeadline = std::chrono::seconds(10);
// A what-if runs an ensemble over days of simulated time: longer than a unary call, bounded
// by the simulation service's member-day limit (services/simulation/limits.h).
inline constexpr auto kWhatIfDeadline = std::chrono::seconds(300);

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

// A server-streaming upstream call made for `caller` (named in kOnBehalfOfHeader) and read
// synchronously from the calling thread, for edges that hold a thread per call. Cancel (from
// any thread) ends a blocked or later Read. Destroying it cancels and finishes the call.
template <typename Event>
class UpstreamStream {
 public:
  template <typename Stub, typename Req>
  UpstreamStream(const common::Caller& caller, Stub* stub,
                 std::unique_ptr<grpc::ClientReader<Event>> (Stub::*method)(grpc::ClientContext*, const Req&),
                 const Req& req, std::chrono::seconds deadline) {
    ctx_.set_deadline(std::chrono::system_clock::now() + deadline);
    ctx_.AddMetadata(common::kOnBehalfOfHeader, caller.identity.common_name);
    reader_ = (stub->*method)(&ctx_, req);
  }
  ~UpstreamStream() {
    if (finished_) return;
    ctx_.TryCancel();
    Event drain;
    while (reader_->Read(&drain)) {
    }
    (void)reader_->Finish();
  }
  UpstreamStream(const UpstreamStream&) = delete;
  UpstreamStream& operator=(const UpstreamStream&) = delete;

  // False when the stream has ended (Finish() then tells how).
  bool Read(Event* event) { return !finished_ && reader_->Read(event); }
  void Cancel() { ctx_.TryCancel(); }
  absl::Status Finish() {
    if (finished_) return absl::CancelledError("stream: already finished");
    finished_ = true;
    return common::FromGrpcStatus(reader_->Finish());
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<Event>> reader_;
  bool finished_ = false;
};

}  // namespace healthtwin::clinician
