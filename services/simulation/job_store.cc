#include "services/simulation/job_store.h"

#include "absl/strings/str_cat.h"
#include "services/common/ids.h"

namespace healthtwin::simulation {
namespace {

constexpr const char* kColumns =
    "job_id::text, state, requested_by, requested_role,"
    " (extract(epoch FROM submitted_at) * 1000000)::bigint, progress_fraction, progress_stage, error,"
    " cancel_requested, attempts";

JobRecord RowToRecord(const pqxx::row& r) {
  JobRecord j;
  j.job_id = r[0].as<std::string>();
  j.state = static_cast<JobState>(r[1].as<int>());
  j.requested_by = r[2].as<std::string>();
  j.requested_role = r[3].as<std::string>();
  j.submitted_at_us = r[4].as<int64_t>();
  j.progress_fraction = r[5].as<double>();
  j.progress_stage = r[6].as<std::string>();
  j.error = r[7].as<std::string>();
  j.cancel_requested = r[8].as<bool>();
  j.attempts = r[9].as<int>();
  return j;
}

absl::Status CheckId(const std::string& job_id) {
  if (!common::IsUuid(job_id)) return absl::InvalidArgumentError(absl::StrCat("job_id: '", job_id, "' is not a job id (a UUID)"));
  return absl::OkStatus();
}

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

bool IsTerminal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed || state == JobState::kCancelled;
}

absl::StatusOr<JobRecord> JobStore::Submit(const std::string& spec_json, const std::string& requested_by,
                                           const std::string& requested_role, int max_active) {
  JobRecord out;
  int64_t active = 0;
  auto s = pool_.WithTransaction("submit cohort job", [&](pqxx::work& tx) {
    active = 0;
    if (max_active > 0) {
      tx.exec_params("SELECT pg_advisory_xact_lock(hashtext('simulation_jobs/' || $1))", requested_by);
      active = tx.exec_params("SELECT count(*) FROM simulation_jobs WHERE requested_by = $1 AND state IN ($2, $3)",
                              requested_by, static_cast<int>(JobState::kQueued), static_cast<int>(JobState::kRunning))
                   [0][0]
                       .as<int64_t>();
      if (active >= max_active) return;
    }
    auto r = tx.exec_params(absl::StrCat("INSERT INTO simulation_jobs (state, requested_by, requested_role, spec)"
                                         " VALUES ($1, $2, $3, $4::jsonb) RETURNING ",
                                         kColumns),
                            static_cast<int>(JobState::kQueued), requested_by, requested_role, spec_json);
    out = RowToRecord(r[0]);
    active = -1;  // stored
  });
  if (!s.ok()) return s;
  if (active >= 0) {
    return absl::ResourceExhaustedError(absl::StrCat(requested_by, " already has ", active,
                                                     " cohort jobs queued or running; at most ", max_active,
                                                     " at once (wait for one to finish or cancel one)"));
  }
  return out;
}

absl::StatusOr<JobRecord> JobStore::Get(const std::string& job_id) {
  if (auto s = CheckId(job_id); !s.ok()) return s;
  std::optional<JobRecord> out;
  auto s = pool_.WithTransaction("read cohort job", [&](pqxx::work& tx) {
    auto r = tx.exec_params(absl::StrCat("SELECT ", kColumns, " FROM simulation_jobs WHERE job_id = $1::uuid"), job_id);
    if (!r.empty()) out = RowToRecord(r[0]);
  });
  if (!s.ok()) return s;
  if (!out) return absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist"));
  return *out;
}

absl::StatusOr<std::vector<JobRecord>> JobStore::ListNewest(const std::string& requested_by, int limit) {
  std::vector<JobRecord> out;
  auto s = pool_.WithTransaction("list cohort jobs", [&](pqxx::work& tx) {
    out.clear();
    auto r = tx.exec_params(absl::StrCat("SELECT ", kColumns,
                                         " FROM simulation_jobs WHERE ($1 = '' OR requested_by = $1)"
                                         " ORDER BY submitted_at DESC, job_id LIMIT $2"),
                            requested_by, limit);
    for (const auto& row : r) out.push_back(RowToRecord(row));
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<JobRecord>> JobStore::GetMany(const std::vector<std::string>& job_ids) {
  std::vector<JobRecord> out;
  if (job_ids.empty()) return out;
  std::string array = "{";
  for (const std::string& id : job_ids) {
    if (auto s = CheckId(id); !s.ok()) return s;
    if (array.size() > 1) array += ',';
    array += id;
  }
  array += '}';
  auto s = pool_.WithTransaction("read cohort jobs", [&](pqxx::work& tx) {
    out.clear();
    auto r = tx.exec_params(absl::StrCat("SELECT ", kColumns, " FROM simulation_jobs WHERE job_id = ANY($1::uuid[])"),
                            array);
    for (const auto& row : r) out.push_back(RowToRecord(row));
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<ClaimedJob>> JobStore::ClaimNext(const std::string& worker, double lease_s,
                                                               int max_attempts) {
  std::optional<ClaimedJob> out;
  auto s = pool_.WithTransaction("claim cohort job", [&](pqxx::work& tx) {
    out.reset();
    // Jobs that keep killing their workers are failed rather than retried for ever.
    tx.exec_params(
        "UPDATE simulation_jobs SET state = $1, finished_at = now(),"
        " error = 'the job was interrupted ' || attempts || ' times (worker lost); giving up'"
        " WHERE state = $2 AND heartbeat_at < now() - $3::double precision * interval '1 second'"
        " AND attempts >= $4",
        static_cast<int>(JobState::kFailed), static_cast<int>(JobState::kRunning), lease_s, max_attempts);
    auto r = tx.exec_params(
        absl::StrCat("UPDATE simulation_jobs SET state = $1, worker = $2, attempts = attempts + 1,"
                     " started_at = coalesce(started_at, now()), heartbeat_at = now()"
                     " WHERE job_id = (SELECT job_id FROM simulation_jobs"
                     "   WHERE (state = $3 OR (state = $1 AND heartbeat_at < now() - $4::double precision * interval '1 second'))"
                     "   ORDER BY submitted_at FOR UPDATE SKIP LOCKED LIMIT 1)"
                     " RETURNING ",
                     kColumns, ", spec::text"),
        static_cast<int>(JobState::kRunning), worker, static_cast<int>(JobState::kQueued), lease_s);
    if (!r.empty()) out = ClaimedJob{RowToRecord(r[0]), r[0][10].as<std::string>()};
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<bool> JobStore::Heartbeat(const std::string& job_id, const std::string& worker, double fraction,
                                         const std::string& stage) {
  std::optional<bool> cancel;
  auto s = pool_.WithTransaction("record job progress", [&](pqxx::work& tx) {
    auto r = tx.exec_params(
        "UPDATE simulation_jobs SET heartbeat_at = now(), progress_fraction = $3, progress_stage = $4"
        " WHERE job_id = $1::uuid AND worker = $2 AND state = $5 RETURNING cancel_requested",
        job_id, worker, fraction, stage, static_cast<int>(JobState::kRunning));
    cancel.reset();
    if (!r.empty()) cancel = r[0][0].as<bool>();
  });
  if (!s.ok()) return s;
  if (!cancel) return absl::AbortedError(absl::StrCat("job ", job_id, " is no longer held by ", worker));
  return *cancel;
}

absl::Status JobStore::EndRunning(const std::string& job_id, const std::string& worker, JobState state,
                                  const std::string& error, const std::string* result_json, const std::string* csv) {
  bool updated = false;
  auto s = pool_.WithTransaction("finish cohort job", [&](pqxx::work& tx) {
    auto r = tx.exec_params(
        "UPDATE simulation_jobs SET state = $3::smallint, finished_at = now(), error = $4,"
        " progress_fraction = CASE WHEN $3::smallint = 3 THEN 1 ELSE progress_fraction END,"
        " result = $5::jsonb, per_patient_csv = $6"
        " WHERE job_id = $1::uuid AND worker = $2 AND state = 2",
        job_id, worker, static_cast<int>(state), error,
        result_json ? std::optional<std::string>(*result_json) : std::nullopt,
        csv ? std::optional<std::string>(*csv) : std::nullopt);
    updated = r.affected_rows() == 1;
  });
  if (!s.ok()) return s;
  if (!updated) return absl::AbortedError(absl::StrCat("job ", job_id, " is no longer held by ", worker));
  return absl::OkStatus();
}

absl::Status JobStore::Complete(const std::string& job_id, const std::string& worker, const std::string& result_json,
                                const std::string& per_patient_csv) {
  return EndRunning(job_id, worker, JobState::kSucceeded, "", &result_json, &per_patient_csv);
}

absl::Status JobStore::Fail(const std::string& job_id, const std::string& worker, const std::string& error) {
  return EndRunning(job_id, worker, JobState::kFailed, error, nullptr, nullptr);
}

absl::Status JobStore::MarkCancelled(const std::string& job_id, const std::string& worker) {
  return EndRunning(job_id, worker, JobState::kCancelled, "cancelled on request", nullptr, nullptr);
}

absl::Status JobStore::Requeue(const std::string& job_id, const std::string& worker) {
  return pool_.WithTransaction("requeue cohort job", [&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE simulation_jobs SET state = 1, worker = NULL, heartbeat_at = NULL, attempts = greatest(attempts - 1, 0)"
        " WHERE job_id = $1::uuid AND worker = $2 AND state = 2",
        job_id, worker);
  });
}

absl::StatusOr<JobRecord> JobStore::RequestCancel(const std::string& job_id) {
  if (auto s = CheckId(job_id); !s.ok()) return s;
  std::optional<JobRecord> out;
  auto s = pool_.WithTransaction("cancel cohort job", [&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE simulation_jobs SET"
        " state = CASE WHEN state = 1 THEN 5 ELSE state END,"
        " finished_at = CASE WHEN state = 1 THEN now() ELSE finished_at END,"
        " error = CASE WHEN state = 1 THEN 'cancelled on request' ELSE error END,"
        " cancel_requested = CASE WHEN state IN (1, 2) THEN true ELSE cancel_requested END"
        " WHERE job_id = $1::uuid",
        job_id);
    auto r = tx.exec_params(absl::StrCat("SELECT ", kColumns, " FROM simulation_jobs WHERE job_id = $1::uuid"), job_id);
    if (!r.empty()) out = RowToRecord(r[0]);
  });
  if (!s.ok()) return s;
  if (!out) return absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist"));
  return *out;
}

absl::StatusOr<JobResults> JobStore::LoadResults(const std::string& job_id) {
  if (auto s = CheckId(job_id); !s.ok()) return s;
  std::optional<JobResults> out;
  auto s = pool_.WithTransaction("read cohort results", [&](pqxx::work& tx) {
    auto r = tx.exec_params(absl::StrCat("SELECT ", kColumns,
                                         ", coalesce(result::text, ''), coalesce(per_patient_csv, '')"
                                         " FROM simulation_jobs WHERE job_id = $1::uuid"),
                            job_id);
    if (!r.empty()) out = JobResults{RowToRecord(r[0]), r[0][10].as<std::string>(), r[0][11].as<std::string>()};
  });
  if (!s.ok()) return s;
  if (!out) return absl::NotFoundError(absl::StrCat("job ", job_id, " does not exist"));
  return *out;
}

}  // namespace healthtwin::simulation
