// ClinicianService's research RPCs: the gRPC edge of research.h and deid.h. A researcher on a
// study reads its subjects' vitals and twins de-identified: the subject's pseudonym for the
// patient, every time shifted by the subject's whole days, no device id, no ingest sequence
// number, no free text that could name anyone. A researcher also runs the clinicians' what-if
// on a subject's twin (RunDeidentifiedWhatIf), relayed to the simulation service in their name.
#include "absl/strings/str_cat.h"
#include "clinician_api/clinician_service.h"
#include "clinician_api/deid.h"
#include "clinician_api/upstream.h"
#include "services/common/grpc_util.h"
#include "services/common/time_util.h"

namespace healthtwin::clinician {
namespace {

namespace twin_v1 = healthtwin::twin::v1;
namespace vitals_v1 = healthtwin::vitals::v1;
namespace sim_v1 = healthtwin::simulation::v1;

constexpr uint32_t kDefaultPageSize = 500;
constexpr uint32_t kMaxPageSize = 10000;

absl::Status NotEnabled() {
  return absl::FailedPreconditionError("research is not enabled on this server (no pseudonym key)");
}

google::protobuf::Timestamp Shifted(const google::protobuf::Timestamp& ts, int days) {
  google::protobuf::Timestamp out = ts;
  out.set_seconds(ts.seconds() + int64_t{days} * 86'400);
  return out;
}

// The snapshot as a researcher may see it: the subject for the patient, times shifted, no
// events (they carry alert text) and no calibration error text.
void Deidentify(const std::string& subject, int days, twin_v1::TwinSnapshot* snap) {
  snap->set_patient_id(subject);
  for (auto* ts : {snap->mutable_created_at(), snap->mutable_data_window_start(), snap->mutable_data_window_end(),
                   snap->mutable_state_time()}) {
    if (ts->seconds() != 0 || ts->nanos() != 0) *ts = Shifted(*ts, days);
  }
  snap->clear_events();
  snap->clear_last_calibration_error();
}

// `text` with every mention of the patient id replaced by the subject.
void Pseudonymize(const StudySubject& subject, std::string* text) {
  for (auto at = text->find(subject.patient_id); at != std::string::npos;
       at = text->find(subject.patient_id, at + subject.subject.size())) {
    text->replace(at, subject.patient_id.size(), subject.subject);
  }
}

// An upstream refusal as the researcher may see it: the patient id replaced by the subject.
absl::Status Scrubbed(const absl::Status& s, const StudySubject& subject) {
  if (s.ok()) return s;
  std::string message(s.message());
  Pseudonymize(subject, &message);
  return absl::Status(s.code(), message);
}

// A what-if event as the researcher may see it. It carries no time (days count from the start
// of the run) and no patient id; its free text (stage, assumptions, the ensemble's source) is
// the simulation's own, rewritten in case it ever names the patient.
void Deidentify(const StudySubject& subject, sim_v1::WhatIfEvent* ev) {
  if (ev->has_progress()) Pseudonymize(subject, ev->mutable_progress()->mutable_stage());
  if (!ev->has_result()) return;
  auto* result = ev->mutable_result();
  for (auto& a : *result->mutable_assumptions()) Pseudonymize(subject, &a);
  Pseudonymize(subject, result->mutable_ensemble_source());
}

// At most this many de-identified what-ifs relay at once: each holds an executor thread.
constexpr int kMaxResearchWhatIfs = 2;

}  // namespace

absl::StatusOr<std::optional<int>> ClinicianServiceImpl::CappedAge(const Caller& caller, const StudySubject& subject) {
  if (up_.registry == nullptr) return std::nullopt;
  // The registry decrypts the identity for clinician_api and audits the relay naming the
  // researcher; only the capped age leaves this function.
  healthtwin::registry::v1::GetPatientIdentityRequest req;
  req.set_patient_id(subject.patient_id);
  healthtwin::registry::v1::PatientIdentity identity;
  auto s = CallUpstream(caller, up_.registry.get(),
                        &healthtwin::registry::v1::RegistryService::Stub::GetPatientIdentity, req, &identity);
  if (absl::IsNotFound(s) || absl::IsFailedPrecondition(s)) return std::nullopt;  // no identity, or no keyring
  if (!s.ok()) return Scrubbed(s, subject);
  if (identity.birth_date().empty()) return std::nullopt;
  auto age = deid::CappedAgeYears(identity.birth_date(), common::NowUnixMicros());
  if (!age.ok()) return std::nullopt;  // the registry validated it; a date after today cannot be aged
  return *age;
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::ListStudyPatients(grpc::CallbackServerContext* ctx,
                                                                  const v1::ListStudyPatientsRequest* req,
                                                                  v1::ListStudyPatientsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Identify(*ctx, "ListStudyPatients", "research.subjects.list");
    if (!caller.ok()) return caller.status();
    if (research_ == nullptr) return NotEnabled();
    auto subjects = research_->Subjects(*caller, req->study_id(), "research.subjects.list");
    if (!subjects.ok()) return subjects.status();
    for (const auto& s : *subjects) {
      auto* out = resp->add_subjects();
      out->set_subject(s.subject);
      *out->mutable_consented_at() = common::FromUnixMicros(deid::ShiftMicros(s.consented_at_unix_us, s.shift_days));
      auto age = CappedAge(*caller, s);
      if (!age.ok()) return age.status();
      if (*age) out->set_age_years(static_cast<uint32_t>(**age));
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::GetDeidentifiedVitals(grpc::CallbackServerContext* ctx,
                                                                      const v1::GetDeidentifiedVitalsRequest* req,
                                                                      v1::GetDeidentifiedVitalsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Identify(*ctx, "GetDeidentifiedVitals", "research.vitals.read");
    if (!caller.ok()) return caller.status();
    if (research_ == nullptr) return NotEnabled();
    if (!req->has_start() || !req->has_end()) return absl::InvalidArgumentError("start, end: both required");
    if (req->page_size() > kMaxPageSize) {
      return absl::InvalidArgumentError("page_size: at most " + std::to_string(kMaxPageSize));
    }
    auto subject = research_->Resolve(*caller, req->study_id(), req->subject(), "research.vitals.read");
    if (!subject.ok()) return subject.status();
    vitals_v1::QueryVitalsRequest upstream;
    upstream.set_patient_id(subject->patient_id);
    *upstream.mutable_types() = req->types();
    *upstream.mutable_start() = Shifted(req->start(), -subject->shift_days);
    *upstream.mutable_end() = Shifted(req->end(), -subject->shift_days);
    upstream.set_bucket_s(req->bucket_s());
    upstream.set_page_size(req->page_size() == 0 ? kDefaultPageSize : req->page_size());
    vitals_v1::QueryVitalsResponse got;
    if (auto s =
            CallUpstream(*caller, up_.vitals.get(), &vitals_v1::VitalsQueryService::Stub::QueryVitals, upstream, &got);
        !s.ok()) {
      return Scrubbed(s, *subject);
    }
    resp->set_subject(subject->subject);
    for (const auto& in : got.samples()) {
      auto* out = resp->add_samples();
      out->set_type(in.type());
      out->set_value(in.value());
      out->set_ucum_unit(in.ucum_unit());
      *out->mutable_measured_at() = Shifted(in.measured_at(), subject->shift_days);
      *out->mutable_flags() = in.flags();
    }
    for (const auto& in : got.buckets()) {
      auto* out = resp->add_buckets();
      *out = in;
      *out->mutable_bucket_start() = Shifted(in.bucket_start(), subject->shift_days);
    }
    resp->set_truncated(!got.next_page_token().empty());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ClinicianServiceImpl::GetDeidentifiedTwin(grpc::CallbackServerContext* ctx,
                                                                    const v1::GetDeidentifiedTwinRequest* req,
                                                                    twin_v1::TwinSnapshot* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto caller = Identify(*ctx, "GetDeidentifiedTwin", "research.twin.read");
    if (!caller.ok()) return caller.status();
    if (research_ == nullptr) return NotEnabled();
    auto subject = research_->Resolve(*caller, req->study_id(), req->subject(), "research.twin.read");
    if (!subject.ok()) return subject.status();
    twin_v1::GetTwinRequest upstream;
    upstream.set_patient_id(subject->patient_id);
    if (req->has_as_of()) *upstream.mutable_as_of() = Shifted(req->as_of(), -subject->shift_days);
    if (auto s = CallTwin(*caller, subject->patient_id, &TwinRouter::Stub::GetTwin, upstream, resp); !s.ok()) {
      return Scrubbed(s, *subject);
    }
    Deidentify(subject->subject, subject->shift_days, resp);
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::DeidentifiedWhatIfEvent>* ClinicianServiceImpl::RunDeidentifiedWhatIf(
    grpc::CallbackServerContext* ctx, const v1::RunDeidentifiedWhatIfRequest* req) {
  auto* writer = new common::QueuedWriter<v1::DeidentifiedWhatIfEvent>(16);
  // The check needs the database and the relay blocks: both run on the executor.
  executor_.Submit(
      [=, this, request = *req] {
        writer->Close(common::ToGrpcStatus(RelayDeidentifiedWhatIf(*ctx, request, *writer)));
        writer->Release();
      },
      [writer] {
        writer->Close(common::ToGrpcStatus(common::ServerBusyError()));
        writer->Release();
      });
  return writer;
}

absl::Status ClinicianServiceImpl::RelayDeidentifiedWhatIf(const grpc::CallbackServerContext& ctx,
                                                           const v1::RunDeidentifiedWhatIfRequest& req,
                                                           common::QueuedWriter<v1::DeidentifiedWhatIfEvent>& writer) {
  auto caller = Identify(ctx, "RunDeidentifiedWhatIf", "research.whatif");
  if (!caller.ok()) return caller.status();
  if (research_ == nullptr) return NotEnabled();
  if (!req.whatif().patient_id().empty()) {
    return absl::InvalidArgumentError("whatif.patient_id: must be empty; the subject names the patient");
  }
  auto subject = research_->Resolve(*caller, req.study_id(), req.subject(), "research.whatif");
  if (!subject.ok()) return subject.status();
  if (up_.simulation == nullptr) {
    return absl::UnimplementedError("what-if: this clinician_api has no simulation service (--simulation-addr)");
  }
  if (research_whatifs_.fetch_add(1) >= kMaxResearchWhatIfs) {
    research_whatifs_.fetch_sub(1);
    return absl::ResourceExhaustedError(
        absl::StrCat(kMaxResearchWhatIfs, " de-identified what-ifs are running; try again when one ends"));
  }
  struct Slot {
    std::atomic<int>& n;
    ~Slot() { n.fetch_sub(1); }
  } slot{research_whatifs_};
  // The simulation service validates the options and audits the relay naming the researcher.
  sim_v1::WhatIfRequest upstream = req.whatif();
  upstream.set_patient_id(subject->patient_id);
  WhatIfStream stream(*caller, up_.simulation.get(), &sim_v1::SimulationService::Stub::RunWhatIf, upstream,
                      kWhatIfDeadline);
  v1::DeidentifiedWhatIfEvent out;
  out.set_subject(subject->subject);
  while (stream.Read(out.mutable_event())) {
    Deidentify(*subject, out.mutable_event());
    const bool progress = out.event().has_progress();
    if (!writer.Push(out, /*coalescable=*/progress)) {
      stream.Cancel();
      return absl::CancelledError("the researcher left the what-if");
    }
  }
  return Scrubbed(stream.Finish(), *subject);
}

}  // namespace healthtwin::clinician
