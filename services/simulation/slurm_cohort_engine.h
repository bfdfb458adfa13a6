// A CohortEngine that runs a cohort job on Slurm instead of in this process (issue 15 item 2):
// `healthtwin-simulation --cohort-executor slurm`.
//
// The job's spec is written to a directory of its own under `work_dir` (a file system the
// Slurm nodes share), deploy/slurm/submit-cohort.sh submits it as a job array of `shards` shards
// plus a merge job (afterok), and the engine follows the jobs with `squeue` every
// `poll_interval`. Progress is the fraction of shards done; the stage names the array and its
// shards' states ("slurm job 41: 2/4 shards done, 1 running, 1 pending"), and JobRunner stores
// both in simulation_jobs. A cancel (progress returning false) runs `scancel` on the array and
// the merge. Failed shards are submitted again, alone, up to `shard_retries` times once the
// other shards have ended (submit-cohort.sh --resume, with a new merge); then the job fails
// naming the shard and the end of its log. On success the
// merge's JSON summary and per-patient CSV are the outcome, byte-identical to the in-process
// engine's, and the directory is removed; after a failure it is kept for its logs.
#pragma once

#include <chrono>
#include <string>

#include "services/simulation/job_runner.h"

namespace healthtwin::simulation {

struct SlurmCohortOptions {
  std::string submit_script;  // deploy/slurm/submit-cohort.sh
  std::string healthtwin;     // the healthtwin CLI the jobs run (on every node)
  std::string work_dir;       // shared directory for specs, parts, results and logs
  int shards = 4;
  // Times the failed shards of a job are submitted again (only those, once the others have
  // ended, with submit-cohort.sh --resume) before the job fails.
  int shard_retries = 1;
  std::string partition;   // empty: the cluster's default
  std::string slurm_conf;  // SLURM_CONF for sbatch/squeue/scancel; empty: inherited
  std::chrono::milliseconds poll_interval{1000};
};

CohortEngine MakeSlurmCohortEngine(SlurmCohortOptions options);

}  // namespace healthtwin::simulation
