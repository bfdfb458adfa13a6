#include "services/simulation/slurm_cohort_engine.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/simulation/command_runner.h"

namespace healthtwin::simulation {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kCommandTimeout{60000};
// squeue may fail while slurmctld restarts; give up after this many failures in a row.
constexpr int kMaxSqueueFailures = 30;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string LogTail(const std::string& path) {
  std::string text = ReadAll(path);
  if (text.size() > 600) text = "..." + text.substr(text.size() - 600);
  return absl::StrCat(path, ": ", absl::StripTrailingAsciiWhitespace(text));
}

bool IsFailedState(absl::string_view state) {
  return state == "FAILED" || state == "CANCELLED" || state == "TIMEOUT" || state == "NODE_FAIL" ||
         state == "OUT_OF_MEMORY" || state == "BOOT_FAIL" || state == "DEADLINE" || state == "PREEMPTED";
}

// What squeue says about the array and the merge.
struct Snapshot {
  int done = 0, running = 0;
  std::vector<int> failed;  // shard indices
  std::string merge_state;  // empty: not listed
  bool array_listed = false;
  bool array_active = false;  // some task pending or running
};

Snapshot Parse(const std::string& squeue_out, const std::string& array, const std::string& merge) {
  Snapshot s;
  for (absl::string_view line : absl::StrSplit(squeue_out, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> f = absl::StrSplit(absl::StripAsciiWhitespace(line), ' ', absl::SkipEmpty());
    if (f.size() != 2) continue;
    if (f[0] == merge) {
      s.merge_state = std::string(f[1]);
      continue;
    }
    absl::string_view id = f[0];
    if (!absl::ConsumePrefix(&id, array + "_")) continue;
    s.array_listed = true;
    int task = -1;
    const bool single = absl::SimpleAtoi(id, &task);  // "A_[2-3]" is a pending range
    if (f[1] == "COMPLETED") ++s.done;
    if (f[1] == "RUNNING" || f[1] == "COMPLETING") ++s.running;
    if (single && IsFailedState(f[1])) s.failed.push_back(task);
    if (f[1] != "COMPLETED" && !IsFailedState(f[1])) s.array_active = true;
  }
  return s;
}

class SlurmRun {
 public:
  SlurmRun(const SlurmCohortOptions& o, const ProgressFn& progress)
      : o_(o), progress_(progress), retries_left_(o.shard_retries) {
    if (!o_.slurm_conf.empty()) env_.push_back("SLURM_CONF=" + o_.slurm_conf);
  }

  absl::StatusOr<CohortOutcome> Run(const std::string& spec_json) {
    if (progress_ && !progress_(0.0, "submitting to slurm")) return absl::CancelledError("cancelled");
    std::string dir = o_.work_dir + "/cohort-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) return absl::InternalError(absl::StrCat("cannot create ", dir));
    dir_ = dir;
    std::ofstream(dir_ + "/spec.json", std::ios::binary) << spec_json;
    if (absl::Status s = Submit(false); !s.ok()) return s;
    absl::StatusOr<CohortOutcome> outcome = Follow();
    if (outcome.ok()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
    return outcome;
  }

 private:
  // submit-cohort.sh; with `resume`, only the shards whose part is missing.
  absl::Status Submit(bool resume) {
    std::vector<std::string> args = {o_.submit_script, dir_ + "/spec.json", std::to_string(o_.shards),
                                     "--out",          dir_ + "/run",       "--healthtwin",
                                     o_.healthtwin};
    if (!o_.partition.empty()) args.insert(args.end(), {"--partition", o_.partition});
    if (resume) args.push_back("--resume");
    absl::StatusOr<CommandResult> submit = RunCommand("/bin/bash", args, env_, kCommandTimeout);
    if (!submit.ok()) return submit.status();
    if (submit->exit_code != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("slurm submission failed: ", absl::StripTrailingAsciiWhitespace(submit->err)));
    }
    array_.clear();
    merge_.clear();
    for (absl::string_view line : absl::StrSplit(submit->out, '\n', absl::SkipEmpty())) {
      if (absl::ConsumePrefix(&line, "ARRAY_JOB=")) array_ = std::string(line);
      if (absl::ConsumePrefix(&line, "MERGE_JOB=")) merge_ = std::string(line);
    }
    if (merge_.empty()) return absl::InternalError("submit-cohort.sh printed no job ids: " + submit->out);
    return absl::OkStatus();
  }

  absl::StatusOr<CohortOutcome> Follow() {
    int squeue_failures = 0;
    int done_before = 0;  // shards finished by an earlier array of this job
    for (;;) {
      const std::string jobs = array_.empty() ? merge_ : array_ + "," + merge_;
      absl::StatusOr<CommandResult> q =
          RunCommand("squeue", {"-h", "-t", "all", "-j", jobs, "-o", "%i %T"}, env_, kCommandTimeout);
      if (!q.ok() || q->exit_code != 0) {
        if (++squeue_failures >= kMaxSqueueFailures) {
          Cancel();
          return absl::UnavailableError(
              absl::StrCat("squeue keeps failing: ", q.ok() ? q->err : q.status().ToString()));
        }
      } else {
        squeue_failures = 0;
        const Snapshot s = Parse(q->out, array_, merge_);
        if (s.merge_state == "COMPLETED") return Outcome();
        if (!s.failed.empty() && !s.array_active) {
          // Every other shard has ended: run the failed ones again, or give up.
          if (retries_left_ == 0) {
            Cancel();
            return absl::InternalError(absl::StrCat(
                "slurm shard ", absl::StrJoin(s.failed, ", "), " of array ", array_, " failed (", o_.shard_retries,
                " retries); ", LogTail(absl::StrCat(dir_, "/run/logs/shard-", s.failed[0], ".out"))));
          }
          --retries_left_;
          Cancel();  // the old merge, if Slurm has not cancelled it yet
          for (int shard : s.failed) {
            std::error_code ec;
            fs::remove(absl::StrCat(dir_, "/run/part-", shard, ".json"), ec);  // a partial part must not count
          }
          done_before = o_.shards - static_cast<int>(s.failed.size());
          const std::string stage =
              absl::StrCat("slurm job ", array_, ": ", done_before, "/", o_.shards,
                           " shards done, running failed shard ", absl::StrJoin(s.failed, ", "), " again (retry ",
                           o_.shard_retries - retries_left_, " of ", o_.shard_retries, ")");
          if (progress_ && !progress_(0.95 * done_before / o_.shards, stage)) return absl::CancelledError("cancelled");
          if (absl::Status r = Submit(true); !r.ok()) return r;
          continue;
        }
        if (IsFailedState(s.merge_state) && s.failed.empty()) {
          return absl::InternalError(absl::StrCat("slurm merge job ", merge_, " ended ", s.merge_state, "; ",
                                                  LogTail(dir_ + "/run/logs/merge.err")));
        }
        if (s.merge_state.empty() && !s.array_listed) {
          return absl::InternalError(absl::StrCat("slurm no longer lists jobs ", jobs));
        }
        const int done = done_before + s.done;
        std::string stage = absl::StrCat("slurm job ", array_.empty() ? merge_ : array_, ": ", done, "/", o_.shards,
                                         " shards done, ", s.running, " running, ",
                                         o_.shards - done - s.running - static_cast<int>(s.failed.size()), " pending");
        if (!s.failed.empty()) absl::StrAppend(&stage, ", ", s.failed.size(), " failed");
        if (progress_ && !progress_(0.95 * done / o_.shards, stage)) {
          Cancel();
          return absl::CancelledError("cancelled");
        }
      }
      std::this_thread::sleep_for(o_.poll_interval);
    }
  }

  void Cancel() {
    std::vector<std::string> jobs = {merge_};
    if (!array_.empty()) jobs.push_back(array_);
    (void)RunCommand("scancel", jobs, env_, kCommandTimeout);
  }

  absl::StatusOr<CohortOutcome> Outcome() {
    CohortOutcome out{ReadAll(dir_ + "/run/summary.json"), ReadAll(dir_ + "/run/per_patient.csv")};
    // `sim merge --json` ends its line; the in-process engine's JSON has no newline.
    if (!out.result_json.empty() && out.result_json.back() == '\n') out.result_json.pop_back();
    if (out.result_json.empty() || out.per_patient_csv.empty()) {
      return absl::InternalError(absl::StrCat("slurm merge job ", merge_, " completed but left no results in ", dir_));
    }
    return out;
  }

  const SlurmCohortOptions& o_;
  const ProgressFn& progress_;
  int retries_left_;
  std::vector<std::string> env_;
  std::string dir_, array_, merge_;
};

}  // namespace

CohortEngine MakeSlurmCohortEngine(SlurmCohortOptions options) {
  return [options](const std::string& spec_json, const ProgressFn& progress) -> absl::StatusOr<CohortOutcome> {
    return SlurmRun(options, progress).Run(spec_json);
  };
}

}  // namespace healthtwin::simulation
