#include "clinician_api/cli/break_glass_commands.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "clinician_api/cli/time_args.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "services/common/time_util.h"

namespace healthtwin::cli {
namespace {

namespace clin = healthtwin::clinician::v1;

std::string ReviewName(clin::BreakGlassReview review) {
  switch (review) {
    case clin::BREAK_GLASS_REVIEW_JUSTIFIED:
      return "justified";
    case clin::BREAK_GLASS_REVIEW_UNJUSTIFIED:
      return "unjustified";
    default:
      return "unreviewed";
  }
}

// One grant per line: id, state, who, which patient, why and until when.
void Print(std::ostream& out, const clin::BreakGlassGrant& g, bool json) {
  if (json) {
    out << ProtoToJson(g).dump() << "\n";
    return;
  }
  out << "grant " << g.grant_id() << "  " << (g.active() ? "ACTIVE" : "ended") << "  " << ReviewName(g.review()) << "  "
      << g.grantee() << " -> " << g.patient_id() << "  " << g.reason_code() << " \"" << g.reason_text() << "\"  "
      << common::FormatTimestamp(g.started_at()) << " .. " << common::FormatTimestamp(g.expires_at());
  if (!g.reviewed_by().empty()) {
    out << "  reviewed by " << g.reviewed_by();
    if (!g.review_note().empty()) out << ": " << g.review_note();
  }
  out << "\n";
}

}  // namespace

BreakGlassCommands::BreakGlassCommands(CLI::App& app, CLI::App& admin, ApiAccess api) : api_(std::move(api)) {
  request_ = app.add_subcommand("break-glass",
                                "emergency access to a patient outside your care team (audited; admins review it)");
  request_->add_option("--patient", patient_, "patient id")->required();
  request_
      ->add_option("--reason-code", reason_code_,
                   "HL7 v3 ActReason code: ETREAT (emergency treatment) or BTG (break the glass)")
      ->required();
  request_->add_option("--reason", reason_, "why, for the reviewer")->required();
  request_->add_option("--for", for_, "how long, e.g. 30m (default 60m; at most the server's maximum)");
  request_->add_flag("--json", json_, "the grant as one JSON object");

  auto* group = admin.add_subcommand("break-glass", "review emergency access grants (admin certificate)");
  group->require_subcommand(1);
  list_ = group->add_subcommand("list", "grants, newest first");
  auto* open = list_->add_flag("--open", open_, "only grants not reviewed yet (the default)");
  list_->add_flag("--all", all_, "every grant")->excludes(open);
  list_->add_flag("--json", json_, "one JSON object per grant");
  review_ = group->add_subcommand("review", "mark a grant justified or unjustified");
  review_->add_option("--grant", grant_, "grant id")->required()->check(CLI::PositiveNumber);
  auto* yes = review_->add_flag("--justified", justified_, "the emergency access was justified");
  auto* no = review_->add_flag("--unjustified", unjustified_, "the emergency access was not justified");
  yes->excludes(no);
  review_->add_option("--note", note_, "note for the record");
  review_->add_flag("--json", json_, "the grant as one JSON object");
  watch_ = group->add_subcommand("watch", "print each grant started or ended as it happens, until interrupted");
  watch_->add_option("--count", count_, "stop after this many events")->check(CLI::PositiveNumber);
  watch_->add_flag("--json", json_, "one JSON object per event");
}

bool BreakGlassCommands::parsed() const {
  return request_->parsed() || list_->parsed() || review_->parsed() || watch_->parsed();
}

int BreakGlassCommands::Run(std::ostream& out, std::ostream& err) const {
  if (request_->parsed()) return Request(out, err);
  if (list_->parsed()) return List(out);
  if (watch_->parsed()) return Watch(out);
  return Review(out, err);
}

int BreakGlassCommands::Request(std::ostream& out, std::ostream& err) const {
  clin::BreakGlassRequest req;
  req.set_patient_id(patient_);
  req.set_reason_code(reason_code_);
  req.set_reason_text(reason_);
  if (!for_.empty()) {
    auto span = ParseSpanArg("--for", for_);
    if (!span.ok()) {
      err << "healthtwin: " << span.status().message() << "\n";
      return 2;
    }
    req.mutable_duration()->set_seconds(absl::ToInt64Seconds(*span));
  }
  clin::BreakGlassGrant resp;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::BreakGlass, req, &resp); rc != 0) return rc;
  if (!json_) out << "break-glass granted (audited; admins are notified and will review it):\n";
  Print(out, resp, json_);
  return 0;
}

int BreakGlassCommands::List(std::ostream& out) const {
  clin::ListBreakGlassGrantsRequest req;
  req.set_open_only(!all_);
  clin::ListBreakGlassGrantsResponse resp;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::ListBreakGlassGrants, req, &resp); rc != 0) return rc;
  for (const auto& g : resp.grants()) Print(out, g, json_);
  if (resp.grants().empty() && !json_) out << (all_ ? "no break-glass grants\n" : "no grants awaiting review\n");
  return 0;
}

int BreakGlassCommands::Review(std::ostream& out, std::ostream& err) const {
  if (!justified_ && !unjustified_) {
    err << "healthtwin: --justified or --unjustified: one is required\n";
    return 2;
  }
  clin::ReviewBreakGlassGrantRequest req;
  req.set_grant_id(grant_);
  req.set_review(justified_ ? clin::BREAK_GLASS_REVIEW_JUSTIFIED : clin::BREAK_GLASS_REVIEW_UNJUSTIFIED);
  req.set_note(note_);
  clin::BreakGlassGrant resp;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::ReviewBreakGlassGrant, req, &resp); rc != 0) return rc;
  Print(out, resp, json_);
  return 0;
}

int BreakGlassCommands::Watch(std::ostream& out) const {
  auto stub = clin::ClinicianService::NewStub(api_.open());
  grpc::ClientContext ctx;  // no deadline: until interrupted, or --count events
  std::unique_ptr<grpc::ClientReader<clin::SecurityEvent>> reader =
      stub->WatchSecurityEvents(&ctx, clin::WatchSecurityEventsRequest{});
  clin::SecurityEvent event;
  int seen = 0;
  while ((count_ == 0 || seen < count_) && reader->Read(&event)) {
    ++seen;
    if (json_) {
      out << ProtoToJson(event).dump() << std::endl;
      continue;
    }
    out << (event.kind() == clin::SecurityEvent::KIND_BREAK_GLASS_ENDED ? "break-glass ended    "
                                                                        : "break-glass started  ");
    Print(out, event.grant(), false);
    out.flush();
  }
  if (count_ > 0 && seen == count_) {
    ctx.TryCancel();
    (void)reader->Finish();  // CANCELLED, as asked
    return 0;
  }
  const grpc::Status s = reader->Finish();
  return s.ok() ? 0 : api_.fail(s);
}

}  // namespace healthtwin::cli
