// ClinicianService's break-glass RPCs: the gRPC edge of break_glass.h.
#include "clinician_api/clinician_service.h"
#include "clinician_api/security_notices.h"
#include "services/common/grpc_util.h"
#include "services/common/stream_writer.h"
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

grpc::ServerWriteReactor<v1::SecurityEvent>* ClinicianServiceImpl::WatchSecurityEvents(
    grpc::CallbackServerContext* ctx, const v1::WatchSecurityEventsRequest* /*req*/) {
  auto* writer = new common::QueuedWriter<v1::SecurityEvent>(64);
  executor_.Submit(
      [=, this] {
        auto caller = Identify(*ctx, "WatchSecurityEvents", "break_glass.watch");
        absl::Status refused = caller.status();
        if (refused.ok() && break_glass_ == nullptr) refused = NotEnabled();
        std::unique_ptr<SecurityNotices> notices;
        if (refused.ok()) {
          auto listening = SecurityNotices::Listen(break_glass_->conninfo());
          refused = listening.status();
          if (listening.ok()) notices = *std::move(listening);
        }
        // Recorded once listening, so that any grant after this record reaches the watcher.
        if (refused.ok())
          refused = access_.Audit(*caller, "break_glass.watch", "", "allowed", "watching security events");
        if (!refused.ok()) {
          writer->Close(common::ToGrpcStatus(refused));
          writer->Release();
          return;
        }
        watcher_threads_.Start(
            [this, writer, admin = *caller,
             notices = std::shared_ptr<SecurityNotices>(std::move(notices))](const std::atomic<bool>& stopping) {
              absl::Status end = absl::OkStatus();
              while (end.ok() && !stopping.load() && !writer->done()) {
                auto received = notices->Wait(std::chrono::milliseconds(250));
                if (!received.ok()) end = received.status();
                for (const SecurityNotice& notice : received.value_or(std::vector<SecurityNotice>{})) {
                  auto grant = break_glass_->Notice(admin, notice.grant_id);
                  if (!grant.ok()) {
                    end = grant.status();  // e.g. the audit record could not be written: fail closed
                    break;
                  }
                  v1::SecurityEvent event;
                  event.set_kind(notice.kind == SecurityNotice::Kind::kBreakGlassStarted
                                     ? v1::SecurityEvent::KIND_BREAK_GLASS_STARTED
                                     : v1::SecurityEvent::KIND_BREAK_GLASS_ENDED);
                  ToProto(*grant, event.mutable_grant());
                  writer->Push(std::move(event));
                }
              }
              writer->Close(end.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is stopping")
                                     : common::ToGrpcStatus(end));
              writer->Release();
            });
      },
      [writer] {
        writer->Close(common::ToGrpcStatus(common::ServerBusyError()));
        writer->Release();
      });
  return writer;
}

}  // namespace healthtwin::clinician
