#include "clinician_api/cli/simulation_client.h"

#include <google/protobuf/util/json_util.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "healthtwin/simulation/v1/simulation.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "services/common/status.h"

namespace healthtwin::cli {
namespace {

namespace v1 = healthtwin::simulation::v1;

constexpr uint32_t kCsvPage = 20000;

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

int Fail(const grpc::Status& s, std::ostream& err) {
  if (common::IsTlsHandshakeFailure(s)) {
    err << "healthtwin: TLS handshake refused: the server and this certificate do not share a CA\n";
    return 2;
  }
  err << "healthtwin: " << common::FromGrpcStatus(s).ToString() << "\n";
  return 1;
}

std::string StateName(v1::JobState s) { return v1::JobState_Name(s).substr(std::string("JOB_STATE_").size()); }

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string FormatChange(const v1::MeanChange& m) {
  return absl::StrFormat("%6.1f -> %6.1f  %+5.1f [%+5.1f, %+5.1f]", m.baseline_mean(), m.end_mean(), m.mean_change(),
                         m.change_ci95_low(), m.change_ci95_high());
}

std::unique_ptr<grpc::ClientContext> Context(std::chrono::seconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

}  // namespace

SimulationClientCommands::SimulationClientCommands(CLI::App& app, ChannelFactory open) : open_(std::move(open)) {
  if (const char* env = std::getenv("HEALTHTWIN_SIMULATION")) address_ = env;
  app.add_option("--simulation", address_, "simulation service address (HEALTHTWIN_SIMULATION)");
  job_ = app.add_subcommand("job", "researcher cohort jobs on the simulation service");
  job_->require_subcommand(1);
  submit_ = job_->add_subcommand("submit", "submit a cohort spec (docs/simulation-specs.md)");
  submit_->add_option("--spec", spec_path_, "cohort spec JSON file")->required();
  submit_->add_flag("--wait", wait_, "follow the job to its end and print the results");
  submit_->add_flag("--json", json_, "print JSON");
  watch_ = job_->add_subcommand("watch", "follow a job's progress until it ends");
  watch_->add_option("job_id", job_id_, "job id")->required();
  results_ = job_->add_subcommand("results", "per-arm summary of a finished job");
  results_->add_option("job_id", job_id_, "job id")->required();
  results_->add_option("--csv", csv_path_, "write every per-patient row to this CSV file");
  results_->add_flag("--json", json_, "print JSON");
  cancel_ = job_->add_subcommand("cancel", "cancel a queued or running job");
  cancel_->add_option("job_id", job_id_, "job id")->required();

  whatif_ = app.add_subcommand("whatif", "compare treatment options on a registered patient's twin (server)");
  whatif_->add_option("--patient", patient_, "patient id")->required();
  AddWhatIfFlags(*whatif_, whatif_flags_);
}

bool SimulationClientCommands::parsed() const { return job_->parsed() || whatif_->parsed(); }

int SimulationClientCommands::Run(std::ostream& out, std::ostream& err) const {
  if (submit_->parsed()) return Submit(out, err);
  if (watch_->parsed()) return Watch(job_id_, out, err);
  if (results_->parsed()) return Results(out, err);
  if (cancel_->parsed()) return Cancel(out, err);
  return WhatIf(out, err);
}

int SimulationClientCommands::Submit(std::ostream& out, std::ostream& err) const {
  v1::SubmitCohortRequest req;
  if (!ReadFile(spec_path_, *req.mutable_spec_json())) {
    err << "healthtwin: --spec: cannot read '" << spec_path_ << "'\n";
    return 2;
  }
  auto stub = v1::SimulationService::NewStub(open_(address_, "--simulation"));
  v1::CohortJob job;
  grpc::Status s = stub->SubmitCohort(Context(std::chrono::seconds(30)).get(), req, &job);
  if (!s.ok()) return Fail(s, err);
  if (!wait_) {
    if (json_) {
      out << ToJson(job) << "\n";
    } else {
      out << job.job_id() << "\n";
    }
    return 0;
  }
  err << "job " << job.job_id() << " submitted\n";
  if (int rc = Watch(job.job_id(), json_ ? err : out, err); rc != 0) return rc;
  auto* self = const_cast<SimulationClientCommands*>(this);
  self->job_id_ = job.job_id();
  return Results(out, err);
}

int SimulationClientCommands::Watch(const std::string& job_id, std::ostream& out, std::ostream& err) const {
  auto stub = v1::SimulationService::NewStub(open_(address_, "--simulation"));
  grpc::ClientContext ctx;  // no deadline: a cohort may run for a long time
  v1::JobRequest req;
  req.set_job_id(job_id);
  auto reader = stub->WatchCohort(&ctx, req);
  v1::CohortJob job;
  v1::JobState last = v1::JOB_STATE_UNSPECIFIED;
  while (reader->Read(&job)) {
    last = job.state();
    out << absl::StrFormat("%-9s %5.1f %%  %s\n", StateName(job.state()), 100.0 * job.progress().fraction_done(),
                           job.progress().stage());
    if (!job.error().empty()) out << "  " << job.error() << "\n";
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, err);
  return last == v1::JOB_STATE_SUCCEEDED ? 0 : 1;
}

int SimulationClientCommands::Results(std::ostream& out, std::ostream& err) const {
  auto stub = v1::SimulationService::NewStub(open_(address_, "--simulation"));
  v1::JobRequest req;
  req.set_job_id(job_id_);
  req.set_per_patient_limit(csv_path_.empty() ? 1 : kCsvPage);
  v1::CohortResults first;
  grpc::Status s = stub->GetCohortResults(Context(std::chrono::seconds(60)).get(), req, &first);
  if (!s.ok()) return Fail(s, err);
  if (!csv_path_.empty()) {
    std::ofstream csv(csv_path_, std::ios::binary);
    if (!csv) {
      err << "healthtwin: --csv: cannot write '" << csv_path_ << "'\n";
      return 2;
    }
    csv << first.per_patient_csv();
    for (uint32_t offset = kCsvPage; offset < first.per_patient_total(); offset += kCsvPage) {
      req.set_per_patient_offset(offset);
      v1::CohortResults page;
      s = stub->GetCohortResults(Context(std::chrono::seconds(60)).get(), req, &page);
      if (!s.ok()) return Fail(s, err);
      const std::string& text = page.per_patient_csv();
      csv << text.substr(text.find('\n') + 1);  // the header only once
    }
    if (!csv) {
      err << "healthtwin: --csv: write to '" << csv_path_ << "' failed\n";
      return 1;
    }
  }
  first.clear_per_patient_csv();
  if (json_) {
    out << ToJson(first) << "\n";
    return 0;
  }
  out << absl::StrFormat("job %s: %u days, seed %u, %u per-patient rows\n", first.job().job_id(), first.days(),
                         first.seed(), first.per_patient_total());
  out << absl::StrFormat("%-24s %6s  %-40s %-40s %-40s %8s\n", "arm", "n", "SBP baseline -> end  change [95 % CI]",
                         "DBP", "HR", "at goal");
  for (const v1::ArmSummary& a : first.arms()) {
    out << absl::StrFormat("%-24s %6u  %-40s %-40s %-40s %7.0f %%\n", a.arm(), a.patients(),
                           FormatChange(a.systolic_mmhg()), FormatChange(a.diastolic_mmhg()),
                           FormatChange(a.heart_rate_bpm()), 100.0 * a.target_attainment_fraction());
  }
  return 0;
}

int SimulationClientCommands::Cancel(std::ostream& out, std::ostream& err) const {
  auto stub = v1::SimulationService::NewStub(open_(address_, "--simulation"));
  v1::JobRequest req;
  req.set_job_id(job_id_);
  v1::CohortJob job;
  grpc::Status s = stub->CancelCohort(Context(std::chrono::seconds(30)).get(), req, &job);
  if (!s.ok()) return Fail(s, err);
  out << job.job_id() << " " << StateName(job.state()) << (job.state() == v1::JOB_STATE_RUNNING ? " (stopping)" : "")
      << "\n";
  return 0;
}

int SimulationClientCommands::WhatIf(std::ostream& out, std::ostream& err) const {
  std::optional<v1::WhatIfRequest> req = WhatIfRequestOf(whatif_flags_, err);
  if (!req) return 2;
  req->set_patient_id(patient_);
  auto stub = v1::SimulationService::NewStub(open_(address_, "--simulation"));
  auto ctx = Context(std::chrono::seconds(600));
  auto reader = stub->RunWhatIf(ctx.get(), *req);
  v1::WhatIfEvent ev;
  std::optional<v1::WhatIfResult> result;
  while (reader->Read(&ev)) {
    if (ev.has_result()) result = ev.result();
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return Fail(s, err);
  if (!result) {
    err << "healthtwin: the server ended the what-if without a result\n";
    return 1;
  }
  PrintWhatIfResult(*req, *result, "patient " + patient_, whatif_flags_.json, out);
  return 0;
}

}  // namespace healthtwin::cli
