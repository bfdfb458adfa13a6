// ClinicianService's break-glass RPCs: the gRPC edge of break_glass.h.
#include "clinician_api/clinician_service.h"
#include "services/common/grpc_util.h"
#include "services/common/time_util.h"

namespace healthtwin::clinician {
namespace {

v1::BreakGlassReview ToProto(GrantReview review) {
  switch (review) {
    case GrantReview::kJustified:
      return v1::BREAK_GLASS_REVIEW_JUSTIFIED;
    case GrantReview::kUnjustified:
      return v1::BREAK_GLASS_REVIEW_UNJUSTIFIED;
    case GrantReview::kNone:
      break;
  }
  return v1::BREAK_GLASS_REVIEW_UNSPECIFIED;
}

void ToProto(const BreakGlassGrant& g, v1::BreakGlassGrant* out) {
  out->set_grant_id(g.grant_id);
  out->set_patient_id(g.patient_id);
  out->set_grantee(g.grantee);
  out->set_reason_code(g.reason_code);
  out->set_reason_text(g.reason_text);
  *out->mutable_started_at() = common::FromUnixMicros(g.started_at_unix_us);
  *out->mutable_expires_at() = common::FromUnixMicros(g.expires_at_unix_us);
  out->set_active(g.active);
  out->set_review(ToProto(g.review));
  out->set_review_note(g.review_note);
  out->set_reviewed_by(g.reviewed_by);
  if (g.reviewed_at_unix_us != 0) *out->mutable_reviewed_at() = common::FromUnixMicros(g.reviewed_at_unix_us);
}

absl::Status NotEnabled() { return absl::UnimplementedError("break-glass is not enabled on this server"); }

}  // namespace

grpc::ServerUnaryReactor* ClinicianServiceImpl::BreakGlass(grpc::CallbackServerContext* ctx,
                                                           const v1::BreakGlassRequest* req,
                                                           v1::BreakGlassGrant* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Identify(*ctx, "BreakGlass", "break_glass.request", {req->patient_id()});
    if (!caller.ok()) return caller.status();
    if (break_glass_ == nullptr) return NotEnabled();
    std::optional<absl::Duration> duration;
    if (req->has_duration()) {
      duration = absl::Seconds(req->duration().seconds()) + absl::Nanoseconds(req->duration().nanos());
    }
    auto grant = break_glass_->Open(*caller, req->patient_id(), req->reason_code(), req->reason_text(), duration);
    if (!grant.ok()) return grant.status();
    ToProto(*grant, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::ListBreakGlassGrants(grpc::CallbackServerContext* ctx,
                                                                     const v1::ListBreakGlassGrantsRequest* req,
                                                                     v1::ListBreakGlassGrantsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Identify(*ctx, "ListBreakGlassGrants", "break_glass.list");
    if (!caller.ok()) return caller.status();
    if (break_glass_ == nullptr) return NotEnabled();
    auto grants = break_glass_->List(*caller, req->open_only());
    if (!grants.ok()) return grants.status();
    for (const auto& g : *grants) ToProto(g, resp->add_grants());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::ReviewBreakGlassGrant(grpc::CallbackServerContext* ctx,
                                                                      const v1::ReviewBreakGlassGrantRequest* req,
                                                                      v1::BreakGlassGrant* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Identify(*ctx, "ReviewBreakGlassGrant", "break_glass.review");
    if (!caller.ok()) return caller.status();
    if (break_glass_ == nullptr) return NotEnabled();
    GrantReview review = GrantReview::kNone;
    if (req->review() == v1::BREAK_GLASS_REVIEW_JUSTIFIED) review = GrantReview::kJustified;
    if (req->review() == v1::BREAK_GLASS_REVIEW_UNJUSTIFIED) review = GrantReview::kUnjustified;
    auto grant = break_glass_->Review(*caller, req->grant_id(), review, req->note());
    if (!grant.ok()) return grant.status();
    ToProto(*grant, resp);
    return absl::OkStatus();
  });
}

}  // namespace healthtwin::clinician
