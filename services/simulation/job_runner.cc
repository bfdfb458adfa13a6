#include "services/simulation/job_runner.h"

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"

namespace healthtwin::simulation {

JobRunner::JobRunner(JobStore& store, CohortEngine engine, JobRunnerOptions options)
    : store_(store), engine_(std::move(engine)), options_(std::move(options)) {}

JobRunner::~JobRunner() { Stop(); }

void JobRunner::Start() { thread_ = std::thread([this] { Loop(); }); }

void JobRunner::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void JobRunner::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (stop_) return;
    }
    absl::StatusOr<std::optional<ClaimedJob>> job = store_.ClaimNext(options_.worker, options_.lease_s,
                                                                     options_.max_attempts);
    if (!job.ok()) {
      common::LogWarn("simulation.claim_failed", {{"error", std::string(job.status().message())}});
    } else if (job->has_value()) {
      RunOne(**job);
      continue;  // look for the next one at once
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.poll_interval, [this] { return stop_ || woken_; });
    woken_ = false;
  }
}

void JobRunner::RunOne(const ClaimedJob& job) {
  const std::string& id = job.record.job_id;
  common::LogInfo("simulation.job_started", {{"job_id", id},
                                             {"requested_by", job.record.requested_by},
                                             {"attempt", std::to_string(job.record.attempts)}});
  auto last = std::chrono::steady_clock::now() - options_.progress_interval;
  bool cancel = false;
  bool lost = false;
  ProgressFn progress = [&](double fraction, std::string_view stage) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return false;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last < options_.progress_interval) return !cancel && !lost;
    last = now;
    absl::StatusOr<bool> c = store_.Heartbeat(id, options_.worker, fraction, std::string(stage));
    if (c.ok()) {
      cancel = *c;
    } else if (absl::IsAborted(c.status())) {
      lost = true;  // reclaimed by another worker: stop, never write over its results
    }  // a transient database error keeps the job running; the lease covers short outages
    return !cancel && !lost;
  };
  absl::StatusOr<CohortOutcome> outcome = engine_(job.spec_json, progress);
  absl::Status stored;
  if (lost) {
    common::LogWarn("simulation.job_lost", {{"job_id", id}});
    return;
  }
  if (outcome.ok()) {
    stored = store_.Complete(id, options_.worker, outcome->result_json, outcome->per_patient_csv);
  } else if (absl::IsCancelled(outcome.status())) {
    {
      std::lock_guard lock(mu_);
      if (stop_) {
        // Shutdown, not a user cancel: give it back to the queue for the next worker (if
        // even that fails, the lease expires and it is claimed again).
        absl::Status requeued = store_.Requeue(id, options_.worker);
        common::LogInfo("simulation.job_requeued", {{"job_id", id}, {"ok", requeued.ok()}});
        return;
      }
    }
    stored = store_.MarkCancelled(id, options_.worker);
  } else {
    stored = store_.Fail(id, options_.worker, std::string(outcome.status().message()));
  }
  common::LogInfo("simulation.job_finished",
                  {{"job_id", id}, {"outcome", outcome.ok() ? "succeeded" : std::string(outcome.status().message())}});
  if (!stored.ok()) {
    common::LogWarn("simulation.job_store_failed", {{"job_id", id}, {"error", std::string(stored.message())}});
  }
}

}  // namespace healthtwin::simulation
