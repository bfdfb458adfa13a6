// PostgreSQL repository for researcher cohort jobs (table simulation_jobs, migration 0003).
//
// A job is acknowledged once Submit() has committed its row. Workers on any replica claim
// queued jobs with FOR UPDATE SKIP LOCKED, heartbeat while running, and a running job whose
// heartbeat is older than the lease is claimed again (its worker died, e.g. kill -9), so an
// acknowledged job always ends in a terminal state. Every method maps libpqxx errors to
// absl::Status once (see PgPool). Thread-safe: it holds only the pool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/pg.h"

namespace healthtwin::simulation {

// Values match healthtwin.simulation.v1.JobState.
enum class JobState : int { kQueued = 1, kRunning = 2, kSucceeded = 3, kFailed = 4, kCancelled = 5 };
std::string_view JobStateName(JobState state);
bool IsTerminal(JobState state);

struct JobRecord {
  std::string job_id;
  JobState state = JobState::kQueued;
  std::string requested_by;
  std::string requested_role;
  int64_t submitted_at_us = 0;
  double progress_fraction = 0.0;
  std::string progress_stage;
  std::string error;
  bool cancel_requested = false;
  int attempts = 0;
};

struct ClaimedJob {
  JobRecord record;
  std::string spec_json;
};

struct JobResults {
  JobRecord record;
  std::string result_json;      // per-arm summaries, as the engine rendered them
  std::string per_patient_csv;  // header + one line per patient and arm
};

class JobStore {
 public:
  explicit JobStore(common::PgPool& pool) : pool_(pool) {}

  // Stores a queued job. `spec_json` must already be validated. RESOURCE_EXHAUSTED when
  // `requested_by` already has `max_active` jobs queued or running (0: no limit); checked under
  // a per-requester advisory lock, so concurrent submits on any replica cannot both pass.
  absl::StatusOr<JobRecord> Submit(const std::string& spec_json, const std::string& requested_by,
                                   const std::string& requested_role, int max_active = 0);
  // NOT_FOUND for an unknown id, INVALID_ARGUMENT for one that is not a UUID.
  absl::StatusOr<JobRecord> Get(const std::string& job_id);
  // The newest `limit` jobs of `requested_by` (every requester's when empty), newest first.
  absl::StatusOr<std::vector<JobRecord>> ListNewest(const std::string& requested_by, int limit);
  // The jobs among `job_ids` that exist (ids must be valid UUIDs).
  absl::StatusOr<std::vector<JobRecord>> GetMany(const std::vector<std::string>& job_ids);

  // Claims the oldest queued job, or a running one whose heartbeat is older than `lease_s`.
  // Jobs already attempted `max_attempts` times are failed instead of claimed again.
  absl::StatusOr<std::optional<ClaimedJob>> ClaimNext(const std::string& worker, double lease_s, int max_attempts);
  // Records progress and renews the lease. Returns whether a cancel was requested; NOT_FOUND
  // (ABORTED) when the job is no longer ours, e.g. it was reclaimed after a long stall.
  absl::StatusOr<bool> Heartbeat(const std::string& job_id, const std::string& worker, double fraction,
                                 const std::string& stage);
  absl::Status Complete(const std::string& job_id, const std::string& worker, const std::string& result_json,
                        const std::string& per_patient_csv);
  absl::Status Fail(const std::string& job_id, const std::string& worker, const std::string& error);
  absl::Status MarkCancelled(const std::string& job_id, const std::string& worker);
  // Gives a running job back to the queue (graceful shutdown of its worker).
  absl::Status Requeue(const std::string& job_id, const std::string& worker);

  // A queued job is cancelled at once; a running one is flagged and its worker stops at its
  // next heartbeat; a finished one is returned unchanged.
  absl::StatusOr<JobRecord> RequestCancel(const std::string& job_id);

  absl::StatusOr<JobResults> LoadResults(const std::string& job_id);

 private:
  absl::Status EndRunning(const std::string& job_id, const std::string& worker, JobState state,
                          const std::string& error, const std::string* result_json, const std::string* csv);
  common::PgPool& pool_;
};

}  // namespace healthtwin::simulation
