// healthtwin-simulation: treatment what-if on a patient's twin, and researcher cohort jobs.
#include <unistd.h>

#include <iostream>

#include "services/common/audit_checkpointing.h"
#include "services/common/config.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"
#include "services/simulation/engines.h"
#include "services/simulation/job_runner.h"
#include "services/simulation/job_store.h"
#include "services/simulation/simulation_service.h"
#include "services/simulation/slurm_cohort_engine.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  int cohort_threads = 0;
  int whatif_threads = 1;
  std::string worker;
  double lease_s = 60.0;
  simulation::SimulationLimits limits;
  std::string cohort_executor = "in-process";
  simulation::SlurmCohortOptions slurm;
  std::string keyring_dir;
  common::AuditCheckpointFlags checkpoints;
  auto cfg = common::ParseServiceConfigOrExit(argc, argv, "simulation", {}, [&](CLI::App& app) {
    app.add_option("--cohort-threads", cohort_threads, "threads for one cohort job (0: every core)")
        ->check(CLI::Range(0, 256));
    app.add_option("--whatif-concurrency", whatif_threads, "what-if runs computed at the same time")
        ->check(CLI::Range(1, 64));
    app.add_option("--worker-id", worker, "this replica's name in simulation_jobs.worker (default host:pid)");
    app.add_option("--job-lease-seconds", lease_s,
                   "a running job whose worker has not reported for this long is run again elsewhere")
        ->check(CLI::Range(5.0, 3600.0));
    app.add_option("--max-whatif-member-days", limits.max_whatif_member_days,
                   "largest what-if, options x ensemble members x days (default 1000000)")
        ->check(CLI::Range(int64_t{1}, int64_t{7'300'000}));
    app.add_option("--max-active-jobs-per-requester", limits.max_active_jobs_per_requester,
                   "cohort jobs one requester may have queued or running (0: no limit; default 2)")
        ->check(CLI::Range(0, 1000));
    app.add_option("--cohort-executor", cohort_executor,
                   "where cohort jobs run: in-process (default) or slurm (a job array of shards and a merge, "
                   "deploy/slurm)")
        ->check(CLI::IsMember({"in-process", "slurm"}));
    app.add_option("--slurm-submit-script", slurm.submit_script, "deploy/slurm/submit-cohort.sh (executor slurm)")
        ->check(CLI::ExistingFile);
    app.add_option("--slurm-healthtwin", slurm.healthtwin, "the healthtwin CLI the Slurm jobs run (executor slurm)");
    app.add_option("--slurm-work-dir", slurm.work_dir,
                   "directory shared with the Slurm nodes for specs, parts and results (executor slurm)")
        ->check(CLI::ExistingDirectory);
    app.add_option("--slurm-shards", slurm.shards, "shards of one cohort job (executor slurm; default 4)")
        ->check(CLI::Range(1, 10000));
    app.add_option("--slurm-partition", slurm.partition, "Slurm partition (default: the cluster's default)");
    app.add_option("--slurm-shard-retries", slurm.shard_retries,
                   "times a job's failed shards are run again before the job fails (executor slurm; default 1)")
        ->check(CLI::Range(0, 10));
    checkpoints.AddTo(app, &keyring_dir);
  });
  if (cohort_executor == "slurm" &&
      (slurm.submit_script.empty() || slurm.healthtwin.empty() || slurm.work_dir.empty())) {
    std::cerr << "healthtwin-simulation: --cohort-executor slurm needs --slurm-submit-script, --slurm-healthtwin "
                 "and --slurm-work-dir\n";
    return 2;
  }
  if (worker.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    worker = std::string(host) + ":" + std::to_string(getpid());
  }

  common::PgPool pool(cfg.db_conninfo, 6, {}, cfg.db_limits);
  common::Executor executor(4);
  common::Executor compute(whatif_threads, static_cast<std::size_t>(whatif_threads) * simulation::kWhatIfQueuePerThread);
  simulation::JobStore store(pool);
  simulation::JobRunner runner(store,
                               cohort_executor == "slurm" ? simulation::MakeSlurmCohortEngine(slurm)
                                                          : simulation::MakeTreatmentCohortEngine(cohort_threads),
                               {.worker = worker, .lease_s = lease_s});
  simulation::SimulationServiceImpl service(pool, store, &runner, simulation::MakeTreatmentEngines(cohort_threads),
                                            executor, compute, limits, cfg.access);
  auto checkpoint_timer = common::EnableAuditCheckpoints(
      common::LoadAuditCheckpointKeyOrExit("simulation", keyring_dir), checkpoints, {&service.access()});
  return common::RunService(cfg, {&service},
                            {.on_first_healthy = [&] { runner.Start(); },
                             .on_drain = [&] {
                               service.Shutdown();
                               runner.Stop();
                             }});
}
