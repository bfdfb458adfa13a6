#include "services/simulation/simulation_service.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/grpc_util.h"
#include "services/common/logging.h"
#include "services/common/time_util.h"

namespace healthtwin::simulation {
namespace {

using common::Role;

// Cohorts are virtual patients: researchers run them, admins may oversee (cancel) them. A what-if
// runs on a real patient's twin: clinicians only, on their care team, directly or through
// clinician_api (WhatIfPolicy), which also relays a researcher's what-if on a study subject. No other service needs either (ADR 0003: admins read patient
// data only through the clinicians' path).
constexpr std::initializer_list<Role> kCohortCallers = {Role::kResearcher, Role::kAdmin};
constexpr std::size_t kMaxSpecBytes = 1 << 20;
constexpr uint32_t kDefaultCsvRows = 5000;
constexpr uint32_t kMaxCsvRows = 20000;
constexpr auto kWatchPollInterval = std::chrono::milliseconds(300);
constexpr uint32_t kDefaultJobList = 50;
constexpr uint32_t kMaxJobList = 200;
// The relay that may read cohort jobs for the person it names (the dashboard's researcher view).
constexpr std::string_view kCohortRelay = "clinician_api";

void ToProto(const JobRecord& j, v1::CohortJob* out) {
  out->set_job_id(j.job_id);
  out->set_state(static_cast<v1::JobState>(static_cast<int>(j.state)));
  out->set_requested_by(j.requested_by);
  *out->mutable_submitted_at() = common::FromUnixMicros(j.submitted_at_us);
  out->mutable_progress()->set_fraction_done(j.progress_fraction);
  out->mutable_progress()->set_stage(j.progress_stage);
  out->set_error(j.error);
}

// A researcher sees only their own jobs; the job's existence is not revealed to others.
absl::Status CheckVisible(const common::PeerIdentity& caller, const JobRecord& job) {
  if (caller.role == Role::kResearcher && caller.common_name != job.requested_by) {
    return absl::NotFoundError(absl::StrCat("job ", job.job_id, " does not exist"));
  }
  return absl::OkStatus();
}

// Who a cohort read is for: a researcher or admin calling directly, or clinician_api relaying
// for the person it names in kOnBehalfOfHeader. A relayed caller is treated as a researcher of
// that name whatever the person's role, so a relay only ever sees the person's own jobs (the
// relay has checked the role). Any other peer, or a relay naming no one, is refused.
absl::StatusOr<common::PeerIdentity> CohortReader(const grpc::CallbackServerContext& ctx) {
  auto caller = common::CallerOf(ctx);
  if (!caller.ok()) return caller.status();
  const common::PeerIdentity& peer = caller->identity;
  if (peer.role == Role::kResearcher || peer.role == Role::kAdmin) return peer;
  if (peer.role == Role::kService && peer.common_name == kCohortRelay) {
    if (caller->on_behalf_of.empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat(common::kOnBehalfOfHeader, ": required on a relayed cohort read"));
    }
    common::PeerIdentity person = peer;
    person.common_name = caller->on_behalf_of;
    person.role = Role::kResearcher;
    return person;
  }
  return absl::PermissionDeniedError(absl::StrCat("role ", std::string(common::RoleName(peer.role)), " (",
                                                  peer.common_name, ") may not read cohort jobs"));
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

}  // namespace

std::string CsvPage(const std::string& csv, uint32_t offset, uint32_t limit, uint32_t& total) {
  total = 0;
  std::size_t header_end = csv.find('\n');
  if (header_end == std::string::npos) return csv;
  std::string out = csv.substr(0, header_end + 1);
  std::size_t pos = header_end + 1;
  uint32_t row = 0;
  while (pos < csv.size()) {
    std::size_t end = csv.find('\n', pos);
    if (end == std::string::npos) end = csv.size() - 1;
    // row - offset, not offset + limit: the sum of two uint32 request fields can wrap.
    if (row >= offset && row - offset < limit) out.append(csv, pos, end - pos + 1);
    ++row;
    pos = end + 1;
  }
  total = row;
  return out;
}

const common::CallerPolicy::Rules& SimulationServiceImpl::WhatIfPolicy() {
  static const common::CallerPolicy::Rules kRules = {{"RunWhatIf", {"clinician", "service:clinician_api"}}};
  return kRules;
}

SimulationServiceImpl::SimulationServiceImpl(common::PgPool& pool, JobStore& store, JobRunner* runner,
                                             SimulationEngines engines, common::Executor& executor,
                                             common::Executor& compute, SimulationLimits limits,
                                             const common::CallerPolicy::Rules& access)
    : pool_(pool),
      store_(store),
      runner_(runner),
      engines_(std::move(engines)),
      limits_(limits),
      executor_(executor),
      compute_(compute),
      access_(pool),
      whatif_policy_(common::PolicyOrExit("simulation", WhatIfPolicy(), access)),
      patients_(pool) {
  poller_ = std::thread([this] { PollWatches(); });
}

SimulationServiceImpl::~SimulationServiceImpl() { Shutdown(); }

void SimulationServiceImpl::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (poller_.joinable()) poller_.join();
  std::lock_guard lock(mu_);
  for (auto& [id, w] : watches_) {
    w.first->Close(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the simulation service is shutting down"));
    w.first->Release();
  }
  watches_.clear();
}

grpc::ServerUnaryReactor* SimulationServiceImpl::SubmitCohort(grpc::CallbackServerContext* ctx,
                                                              const v1::SubmitCohortRequest* req, v1::CohortJob* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto peer = common::RequireRole(*ctx, kCohortCallers);
    if (!peer.ok()) return peer.status();
    if (req->spec_json().empty()) return absl::InvalidArgumentError("spec_json: required");
    if (req->spec_json().size() > kMaxSpecBytes) {
      return absl::InvalidArgumentError(absl::StrCat("spec_json: ", req->spec_json().size(), " bytes; at most ",
                                                     kMaxSpecBytes));
    }
    if (auto s = engines_.validate_cohort_spec(req->spec_json()); !s.ok()) return s;
    absl::StatusOr<JobRecord> job =
        store_.Submit(req->spec_json(), peer->common_name, std::string(common::RoleName(peer->role)),
                      limits_.max_active_jobs_per_requester);
    if (!job.ok()) return job.status();
    common::LogInfo("simulation.job_submitted", {{"job_id", job->job_id}, {"requested_by", peer->common_name}});
    if (runner_ != nullptr) runner_->Wake();
    ToProto(*job, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SimulationServiceImpl::CancelCohort(grpc::CallbackServerContext* ctx,
                                                              const v1::JobRequest* req, v1::CohortJob* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto peer = common::RequireRole(*ctx, kCohortCallers);
    if (!peer.ok()) return peer.status();
    absl::StatusOr<JobRecord> job = store_.Get(req->job_id());
    if (!job.ok()) return job.status();
    if (auto s = CheckVisible(*peer, *job); !s.ok()) return s;
    job = store_.RequestCancel(req->job_id());
    if (!job.ok()) return job.status();
    common::LogInfo("simulation.job_cancel_requested", {{"job_id", job->job_id}, {"by", peer->common_name}});
    ToProto(*job, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SimulationServiceImpl::ListCohortJobs(grpc::CallbackServerContext* ctx,
                                                                const v1::ListCohortJobsRequest* req,
                                                                v1::ListCohortJobsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto peer = CohortReader(*ctx);
    if (!peer.ok()) return peer.status();
    if (req->page_size() > kMaxJobList) {
      return absl::InvalidArgumentError(absl::StrCat("page_size: at most ", kMaxJobList));
    }
    const uint32_t limit = req->page_size() == 0 ? kDefaultJobList : req->page_size();
    // An admin oversees every job; a researcher (or a relayed person) lists their own.
    const std::string whose = peer->role == Role::kAdmin ? std::string() : peer->common_name;
    absl::StatusOr<std::vector<JobRecord>> jobs = store_.ListNewest(whose, static_cast<int>(limit));
    if (!jobs.ok()) return jobs.status();
    for (const JobRecord& j : *jobs) ToProto(j, resp->add_jobs());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SimulationServiceImpl::GetCohortResults(grpc::CallbackServerContext* ctx,
                                                                  const v1::JobRequest* req, v1::CohortResults* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto peer = CohortReader(*ctx);
    if (!peer.ok()) return peer.status();
    if (req->per_patient_limit() > kMaxCsvRows) {
      return absl::InvalidArgumentError(absl::StrCat("per_patient_limit: at most ", kMaxCsvRows));
    }
    absl::StatusOr<JobResults> r = store_.LoadResults(req->job_id());
    if (!r.ok()) return r.status();
    if (auto s = CheckVisible(*peer, r->record); !s.ok()) return s;
    if (r->record.state != JobState::kSucceeded) {
      return absl::FailedPreconditionError(
          absl::StrFormat("job %s is %s (%.0f %% done)%s: no results", r->record.job_id,
                          JobStateName(r->record.state), 100.0 * r->record.progress_fraction,
                          r->record.error.empty() ? "" : ": " + r->record.error));
    }
    ToProto(r->record, resp->mutable_job());
    if (auto s = engines_.parse_cohort_result(r->result_json, *resp); !s.ok()) return s;
    const uint32_t limit = req->per_patient_limit() == 0 ? kDefaultCsvRows : req->per_patient_limit();
    uint32_t total = 0;
    resp->set_per_patient_csv(CsvPage(r->per_patient_csv, req->per_patient_offset(), limit, total));
    resp->set_per_patient_total(total);
    resp->set_per_patient_offset(req->per_patient_offset());
    return absl::OkStatus();
  });
}

grpc::ServerWriteReactor<v1::CohortJob>* SimulationServiceImpl::WatchCohort(grpc::CallbackServerContext* ctx,
                                                                            const v1::JobRequest* req) {
  auto* writer = new Watcher(16);
  // Copies: the call (ctx, req) may end before the task runs.
  auto peer = common::RequireRole(*ctx, kCohortCallers);
  executor_.Submit([this, writer, peer, job_id = req->job_id()] {
    absl::Status s = [&]() -> absl::Status {
      if (!peer.ok()) return peer.status();
      absl::StatusOr<JobRecord> job = store_.Get(job_id);
      if (!job.ok()) return job.status();
      return CheckVisible(*peer, *job);
    }();
    std::lock_guard lock(mu_);
    if (!s.ok() || stop_) {
      writer->Close(common::ToGrpcStatus(s.ok() ? absl::UnavailableError("shutting down") : s));
      writer->Release();
      return;
    }
    watches_.emplace(job_id, std::make_pair(writer, std::string()));
    cv_.notify_all();
  }, [writer] {
    writer->Close(common::ToGrpcStatus(common::ServerBusyError()));
    writer->Release();
  });
  return writer;
}

void SimulationServiceImpl::PollWatches() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, kWatchPollInterval, [this] { return stop_; });
    if (stop_ || watches_.empty()) continue;
    std::vector<std::string> ids;
    for (auto it = watches_.begin(); it != watches_.end(); it = watches_.upper_bound(it->first)) {
      ids.push_back(it->first);
    }
    lock.unlock();
    absl::StatusOr<std::vector<JobRecord>> jobs = store_.GetMany(ids);
    lock.lock();
    if (!jobs.ok()) {
      common::LogWarn("simulation.watch_poll_failed", {{"error", std::string(jobs.status().message())}});
      continue;
    }
    for (const JobRecord& job : *jobs) {
      v1::CohortJob proto;
      ToProto(job, &proto);
      const std::string bytes = proto.SerializeAsString();
      auto [begin, end] = watches_.equal_range(job.job_id);
      for (auto it = begin; it != end; ++it) {
        if (it->second.second == bytes) continue;
        it->second.second = bytes;
        it->second.first->Push(proto, /*coalescable=*/!IsTerminal(job.state));
        if (IsTerminal(job.state)) it->second.first->Close(grpc::Status::OK);
      }
    }
    for (auto it = watches_.begin(); it != watches_.end();) {
      if (it->second.first->done()) {
        it->second.first->Release();
        it = watches_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

grpc::ServerWriteReactor<v1::WhatIfEvent>* SimulationServiceImpl::RunWhatIf(grpc::CallbackServerContext* ctx,
                                                                            const v1::WhatIfRequest* req) {
  auto* writer = new common::QueuedWriter<v1::WhatIfEvent>(16);
  // Copies: the call (ctx, req) may end before the task runs.
  auto caller = common::CallerOf(*ctx);
  compute_.Submit(
      [this, writer, caller, request = *req] {
        absl::StatusOr<v1::WhatIfResult> result = [&]() -> absl::StatusOr<v1::WhatIfResult> {
          if (!caller.ok()) return caller.status();
          if (auto s = whatif_policy_.Check("RunWhatIf", caller->identity); !s.ok()) {
            (void)access_.Audit(*caller, "simulation.whatif", request.patient_id(), "denied", std::string(s.message()));
            return s;
          }
          if (request.patient_id().empty()) return absl::InvalidArgumentError("patient_id: required");
          const bool relayed = caller->identity.role == Role::kService;
          if (relayed) {
            // A relay acts for a person, who is named: the run is theirs, the relay checked their care team.
            if (caller->on_behalf_of.empty()) {
              const std::string why = absl::StrCat(common::kOnBehalfOfHeader, ": required on a relayed what-if");
              (void)access_.Audit(*caller, "simulation.whatif", request.patient_id(), "denied", why);
              return absl::PermissionDeniedError(why);
            }
            if (!access_
                     .Audit(*caller, "simulation.whatif", request.patient_id(), "allowed",
                            "access (care team, break-glass or study) checked by " + caller->identity.common_name)
                     .ok()) {
              return absl::UnavailableError("access refused: the audit record could not be written");
            }
          } else if (auto allowed = access_.CheckAndAudit(*caller, "simulation.whatif", request.patient_id());
                     !allowed.ok()) {
            return allowed;
          }
          // Whose run it is, for the clinical record: the person, and by which path.
          const std::string requested_by = relayed ? caller->on_behalf_of : caller->identity.common_name;
          const std::string requested_role =
              relayed ? std::string(common::RoleName(caller->identity.role)) + ":" + caller->identity.common_name
                      : std::string(common::RoleName(caller->identity.role));
          absl::StatusOr<WhatIfPatient> patient = patients_.Load(request.patient_id());
          if (!patient.ok()) return patient.status();
          if (auto s = CheckWhatIfSize(request.options_size(), request.ensemble_size(), request.days(),
                                       limits_.max_whatif_member_days);
              !s.ok()) {
            return s;
          }
          ProgressFn progress = [writer](double fraction, std::string_view stage) {
            v1::WhatIfEvent ev;
            ev.mutable_progress()->set_fraction_done(fraction);
            ev.mutable_progress()->set_stage(std::string(stage));
            writer->Push(std::move(ev), /*coalescable=*/true);
            return !writer->done();
          };
          absl::StatusOr<v1::WhatIfResult> r = engines_.run_whatif(*patient, request, progress);
          // Keep the run for the clinical record, failed ones included (not a cancelled one).
          if (r.ok() || !absl::IsCancelled(r.status())) {
            auto stored = pool_.WithTransaction("record what-if run", [&](pqxx::work& tx) {
              tx.exec_params(
                  "INSERT INTO simulation_whatif_runs (patient_id, requested_by, requested_role, twin_version,"
                  " request, result, error) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)",
                  request.patient_id(), requested_by, requested_role, static_cast<int64_t>(patient->twin_version),
                  ToJson(request), r.ok() ? std::optional<std::string>(ToJson(*r)) : std::nullopt,
                  r.ok() ? std::string() : std::string(r.status().message()));
            });
            if (!stored.ok() && r.ok()) return absl::UnavailableError("the what-if result could not be recorded");
          }
          return r;
        }();
        if (result.ok()) {
          v1::WhatIfEvent ev;
          *ev.mutable_result() = std::move(*result);
          writer->Push(std::move(ev));
          writer->Close(grpc::Status::OK);
        } else {
          writer->Close(common::ToGrpcStatus(result.status()));
        }
        writer->Release();
      },
      [writer] {
        writer->Close(common::ToGrpcStatus(common::ServerBusyError()));
        writer->Release();
      });
  return writer;
}

}  // namespace healthtwin::simulation
