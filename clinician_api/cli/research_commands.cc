#include "clinician_api/cli/research_commands.h"

#include <iostream>
#include <optional>

#include "absl/time/time.h"
#include "clinician_api/deid.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "services/common/time_util.h"

namespace healthtwin::cli {
namespace {

namespace clin = healthtwin::clinician::v1;
namespace reg = healthtwin::registry::v1;

// The check of a study id the schema makes (migration 0021), so a bad one exits 2 here.
bool IsStudyId(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

// An RFC 3339 time, or nullopt after one line naming `flag` on `err`.
std::optional<google::protobuf::Timestamp> ParseTimeArg(const char* flag, const std::string& text, std::ostream& err) {
  absl::Time t;
  std::string why;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &why)) {
    err << "healthtwin: " << flag << ": expected an RFC 3339 time like 2026-01-31T12:00:00Z, got '" << text << "'\n";
    return std::nullopt;
  }
  return common::FromUnixMicros(absl::ToUnixMicros(t));
}

void PrintStudy(std::ostream& out, const reg::Study& s, bool json) {
  if (json) {
    out << ProtoToJson(s).dump() << "\n";
    return;
  }
  std::string researchers;
  for (const auto& r : s.researchers()) researchers += (researchers.empty() ? "" : ",") + r;
  out << s.study_id() << "  \"" << s.title() << "\"  " << s.patient_count()
      << " patient(s)  researchers: " << (researchers.empty() ? "none" : researchers) << "\n";
}

}  // namespace

ResearchCommands::ResearchCommands(CLI::App& app, CLI::App& admin, ApiAccess api, ApiAccess registry)
    : api_(std::move(api)), registry_(std::move(registry)) {
  auto* study = admin.add_subcommand("study", "research studies: consenting patients and their researchers");
  study->require_subcommand(1);
  create_ = study->add_subcommand("create", "create a study");
  create_->add_option("--study", study_, "study id: 1-64 of letters, digits, . _ -")->required();
  create_->add_option("--title", title_, "title (no identifying data)")->required();
  add_patient_ = study->add_subcommand("add-patient", "record a patient's consent to the study");
  add_patient_->add_option("--study", study_, "study id")->required();
  add_patient_->add_option("--patient", patient_, "patient id")->required();
  add_patient_->add_option("--consented-at", consented_at_, "when the patient consented, RFC 3339 (default: now)");
  add_researcher_ = study->add_subcommand("add-researcher", "put a researcher on the study");
  add_researcher_->add_option("--study", study_, "study id")->required();
  add_researcher_->add_option("--researcher", researcher_, "the researcher's certificate name")->required();
  list_ = study->add_subcommand("list", "every study");
  for (auto* c : {create_, add_patient_, add_researcher_, list_}) c->add_flag("--json", json_, "JSON output");

  auto* research = app.add_subcommand("research", "de-identified study data (researcher certificate)");
  research->require_subcommand(1);
  patients_ = research->add_subcommand("patients", "the study's subjects (pseudonyms)");
  vitals_ = research->add_subcommand("vitals", "a subject's vitals, times shifted");
  twin_ = research->add_subcommand("twin", "a subject's twin, times shifted");
  for (auto* c : {patients_, vitals_, twin_}) {
    c->add_option("--study", study_, "study id")->required();
    c->add_flag("--json", json_, "JSON output");
  }
  for (auto* c : {vitals_, twin_}) c->add_option("--subject", subject_, "the subject's pseudonym, sp-...")->required();
  // Its own --json (in the what-if flags), so it is not in the loops above.
  whatif_ = research->add_subcommand("whatif", "compare treatment options on a subject's twin");
  whatif_->add_option("--study", study_, "study id")->required();
  whatif_->add_option("--subject", subject_, "the subject's pseudonym, sp-...")->required();
  AddWhatIfFlags(*whatif_, whatif_flags_);
  vitals_->add_option("--start", start_, "window start in shifted time, RFC 3339 (inclusive)")->required();
  vitals_->add_option("--end", end_, "window end in shifted time, RFC 3339 (exclusive)")->required();
  vitals_->add_option("--bucket-s", bucket_s_, "seconds per min/max/mean bucket (default: raw samples)")
      ->check(CLI::Range(1, 86400));
  twin_->add_option("--as-of", as_of_, "what the twin believed then, in shifted time, RFC 3339 (default: now)");
}

bool ResearchCommands::parsed() const {
  for (auto* c : {create_, add_patient_, add_researcher_, list_, patients_, vitals_, twin_, whatif_}) {
    if (c->parsed()) return true;
  }
  return false;
}

int ResearchCommands::Run(std::ostream& out, std::ostream& err) const {
  if (!list_->parsed() && !IsStudyId(study_)) {
    err << "healthtwin: --study: expected 1-64 letters, digits, '.', '_' or '-', got '" << study_ << "'\n";
    return 2;
  }
  if ((vitals_->parsed() || twin_->parsed() || whatif_->parsed()) && !clinician::deid::IsPseudonym(subject_)) {
    err << "healthtwin: --subject: expected a study pseudonym like sp-abcdefghijklmnop, got '" << subject_ << "'\n";
    return 2;
  }
  if (patients_->parsed()) return Patients(out);
  if (vitals_->parsed()) return Vitals(out, err);
  if (twin_->parsed()) return Twin(out, err);
  if (whatif_->parsed()) return WhatIf(out, err);
  return Admin(out, err);
}

int ResearchCommands::Admin(std::ostream& out, std::ostream& err) const {
  using Stub = reg::RegistryService::Stub;
  if (list_->parsed()) {
    reg::ListStudiesResponse resp;
    if (int rc = CallUnary(registry_, &Stub::ListStudies, reg::ListStudiesRequest(), &resp); rc != 0) return rc;
    for (const auto& s : resp.studies()) PrintStudy(out, s, json_);
    return 0;
  }
  reg::Study resp;
  int rc = 0;
  if (create_->parsed()) {
    reg::CreateStudyRequest req;
    req.set_study_id(study_);
    req.set_title(title_);
    rc = CallUnary(registry_, &Stub::CreateStudy, req, &resp);
  } else if (add_patient_->parsed()) {
    reg::AddStudyPatientRequest req;
    req.set_study_id(study_);
    req.set_patient_id(patient_);
    if (!consented_at_.empty()) {
      auto at = ParseTimeArg("--consented-at", consented_at_, err);
      if (!at) return 2;
      *req.mutable_consented_at() = *at;
    }
    rc = CallUnary(registry_, &Stub::AddStudyPatient, req, &resp);
  } else {
    reg::AddStudyResearcherRequest req;
    req.set_study_id(study_);
    req.set_researcher(researcher_);
    rc = CallUnary(registry_, &Stub::AddStudyResearcher, req, &resp);
  }
  if (rc != 0) return rc;
  PrintStudy(out, resp, json_);
  return 0;
}

int ResearchCommands::Patients(std::ostream& out) const {
  clin::ListStudyPatientsRequest req;
  req.set_study_id(study_);
  clin::ListStudyPatientsResponse resp;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::ListStudyPatients, req, &resp); rc != 0) return rc;
  if (json_) {
    out << ProtoToJson(resp).dump() << "\n";
    return 0;
  }
  for (const auto& s : resp.subjects()) {
    out << s.subject() << "  consented " << common::FormatTimestamp(s.consented_at()) << "\n";
  }
  return 0;
}

int ResearchCommands::Vitals(std::ostream& out, std::ostream& err) const {
  clin::GetDeidentifiedVitalsRequest req;
  req.set_study_id(study_);
  req.set_subject(subject_);
  auto start = ParseTimeArg("--start", start_, err);
  if (!start) return 2;
  auto end = ParseTimeArg("--end", end_, err);
  if (!end) return 2;
  *req.mutable_start() = *start;
  *req.mutable_end() = *end;
  req.set_bucket_s(bucket_s_);
  clin::GetDeidentifiedVitalsResponse resp;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::GetDeidentifiedVitals, req, &resp); rc != 0) return rc;
  if (json_) {
    out << ProtoToJson(resp).dump() << "\n";
    return 0;
  }
  for (const auto& s : resp.samples()) {
    out << common::FormatTimestamp(s.measured_at()) << "  " << vitals::v1::VitalType_Name(s.type()) << "  " << s.value()
        << " " << s.ucum_unit() << "\n";
  }
  for (const auto& b : resp.buckets()) {
    out << common::FormatTimestamp(b.bucket_start()) << "  " << vitals::v1::VitalType_Name(b.type()) << "  min "
        << b.min() << " max " << b.max() << " mean " << b.mean() << " n " << b.count() << "\n";
  }
  if (resp.truncated()) err << "healthtwin: more samples match; narrow the window\n";
  return 0;
}

int ResearchCommands::Twin(std::ostream& out, std::ostream& err) const {
  clin::GetDeidentifiedTwinRequest req;
  req.set_study_id(study_);
  req.set_subject(subject_);
  if (!as_of_.empty()) {
    auto at = ParseTimeArg("--as-of", as_of_, err);
    if (!at) return 2;
    *req.mutable_as_of() = *at;
  }
  twin::v1::TwinSnapshot resp;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::GetDeidentifiedTwin, req, &resp); rc != 0) return rc;
  if (json_) {
    out << ProtoToJson(resp).dump() << "\n";
    return 0;
  }
  out << "subject " << resp.patient_id() << "  version " << resp.version() << "  model " << resp.model_version()
      << "  state time " << common::FormatTimestamp(resp.state_time()) << "\n";
  for (const auto& p : resp.parameters()) out << "  " << p.name() << " = " << p.value() << "\n";
  return 0;
}

int ResearchCommands::WhatIf(std::ostream& out, std::ostream& err) const {
  std::optional<simulation::v1::WhatIfRequest> whatif = WhatIfRequestOf(whatif_flags_, err);
  if (!whatif) return 2;
  clin::RunDeidentifiedWhatIfRequest req;
  req.set_study_id(study_);
  req.set_subject(subject_);
  *req.mutable_whatif() = *whatif;
  clin::ClinicianService::Stub stub(api_.open());
  grpc::ClientContext ctx;
  // A what-if runs an ensemble over days of simulated time: the server allows it 300 s.
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(330));
  auto reader = stub.RunDeidentifiedWhatIf(&ctx, req);
  clin::DeidentifiedWhatIfEvent ev;
  std::optional<simulation::v1::WhatIfResult> result;
  std::string subject;
  while (reader->Read(&ev)) {
    subject = ev.subject();
    if (ev.event().has_result()) result = ev.event().result();
  }
  if (auto s = reader->Finish(); !s.ok()) return api_.fail(s);
  if (!result) {
    err << "healthtwin: the server ended the what-if without a result\n";
    return 1;
  }
  PrintWhatIfResult(*whatif, *result, "subject " + subject, whatif_flags_.json, out);
  return 0;
}

}  // namespace healthtwin::cli
