// gRPC adapter for healthtwin.simulation.v1.SimulationService.
//
// Cohort jobs (researchers): SubmitCohort validates the spec synchronously (INVALID_ARGUMENT
// naming the field) and commits a queued job, which a JobRunner on any replica then runs;
// WatchCohort streams the job's state until it ends; GetCohortResults pages the per-patient
// CSV; CancelCohort cancels; ListCohortJobs lists the newest. A researcher sees only the jobs
// they submitted; an admin sees all. The reads (ListCohortJobs, GetCohortResults) also admit
// clinician_api relaying for the person it names in kOnBehalfOfHeader (the dashboard's
// researcher view): it then sees exactly that person's jobs, as a researcher would.
//
// What-if (clinicians): RunWhatIf checks the care team and audits the access, builds the
// patient's twin from the database, streams progress and then the ranked result, and keeps the
// run in simulation_whatif_runs. Who may call it is WhatIfPolicy() (with the config's [access]
// override): a clinician directly, or clinician_api relaying for the person it names in
// kOnBehalfOfHeader (the dashboard's what-if, and a researcher's de-identified what-if);
// clinician_api has checked that person's care team, break-glass grant or study and audited
// it, as it does for the twin service.
//
// The engines are injected (see SimulationEngines) so this file sees no model internals.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "healthtwin/simulation/v1/simulation.grpc.pb.h"
#include "services/common/access.h"
#include "services/common/caller_policy.h"
#include "services/common/executor.h"
#include "services/common/pg.h"
#include "services/common/stream_writer.h"
#include "services/simulation/job_runner.h"
#include "services/simulation/job_store.h"
#include "services/simulation/limits.h"
#include "services/simulation/patient_source.h"

namespace healthtwin::simulation {

namespace v1 = healthtwin::simulation::v1;

struct SimulationEngines {
  // INVALID_ARGUMENT naming the field for a malformed spec; OK otherwise.
  std::function<absl::Status(const std::string& spec_json)> validate_cohort_spec;
  // Validates the request (INVALID_ARGUMENT naming the field) and runs it on the patient.
  std::function<absl::StatusOr<v1::WhatIfResult>(const WhatIfPatient& patient, const v1::WhatIfRequest& request,
                                                 const ProgressFn& progress)>
      run_whatif;
  // Renders the stored per-arm JSON into the proto summaries.
  std::function<absl::Status(const std::string& result_json, v1::CohortResults& out)> parse_cohort_result;
};

// Rows [offset, offset + limit) of a per-patient CSV with a header line, header included;
// `total` is its number of rows. Exposed for tests.
std::string CsvPage(const std::string& csv, uint32_t offset, uint32_t limit, uint32_t& total);

class SimulationServiceImpl final : public v1::SimulationService::CallbackService {
 public:
  // `compute` runs what-if simulations (CPU bound); `executor` the short database calls.
  // `access` replaces RunWhatIf's allow-list (the config's [access] table); exits with code 2
  // on a malformed entry, like every service's policy.
  SimulationServiceImpl(common::PgPool& pool, JobStore& store, JobRunner* runner, SimulationEngines engines,
                        common::Executor& executor, common::Executor& compute, SimulationLimits limits = {},
                        const common::CallerPolicy::Rules& access = {});
  // Who may call RunWhatIf by default. Cohort RPCs are for researchers and admins (fixed; the
  // reads also for clinician_api relaying for a named person, see above).
  static const common::CallerPolicy::Rules& WhatIfPolicy();
  ~SimulationServiceImpl() override;

  grpc::ServerWriteReactor<v1::WhatIfEvent>* RunWhatIf(grpc::CallbackServerContext* ctx,
                                                       const v1::WhatIfRequest* req) override;
  grpc::ServerUnaryReactor* SubmitCohort(grpc::CallbackServerContext* ctx, const v1::SubmitCohortRequest* req,
                                         v1::CohortJob* resp) override;
  grpc::ServerWriteReactor<v1::CohortJob>* WatchCohort(grpc::CallbackServerContext* ctx,
                                                       const v1::JobRequest* req) override;
  grpc::ServerUnaryReactor* GetCohortResults(grpc::CallbackServerContext* ctx, const v1::JobRequest* req,
                                             v1::CohortResults* resp) override;
  grpc::ServerUnaryReactor* CancelCohort(grpc::CallbackServerContext* ctx, const v1::JobRequest* req,
                                         v1::CohortJob* resp) override;
  grpc::ServerUnaryReactor* ListCohortJobs(grpc::CallbackServerContext* ctx, const v1::ListCohortJobsRequest* req,
                                           v1::ListCohortJobsResponse* resp) override;

  // Stops the watch poller and ends every open watch (drain).
  void Shutdown();

  // For start-up wiring: audit checkpoints (services/common/audit_checkpointing.h).
  common::Access& access() { return access_; }

 private:
  using Watcher = common::QueuedWriter<v1::CohortJob>;
  void PollWatches();

  common::PgPool& pool_;
  JobStore& store_;
  JobRunner* runner_;
  const SimulationEngines engines_;
  const SimulationLimits limits_;
  common::Executor& executor_;
  common::Executor& compute_;
  common::Access access_;
  const common::CallerPolicy whatif_policy_;
  PatientSource patients_;

  std::mutex mu_;
  std::multimap<std::string, std::pair<Watcher*, std::string>> watches_;  // job id -> (writer, last sent)
  bool stop_ = false;
  std::condition_variable cv_;
  std::thread poller_;
};

}  // namespace healthtwin::simulation
