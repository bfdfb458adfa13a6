#include "tests/slurm/slurm_jobs.h"

#include <filesystem>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "tests/harness/subprocess.h"

namespace healthtwin::testing {

absl::StatusOr<ScriptRun> RunScript(const SlurmCluster& cluster, const std::string& script,
                                    const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                                    std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {script};
  argv.insert(argv.end(), args.begin(), args.end());
  SubprocessOptions options;
  options.extra_env = cluster.Env();
  options.extra_env.insert(options.extra_env.end(), extra_env.begin(), extra_env.end());
  absl::StatusOr<std::unique_ptr<Subprocess>> child = Subprocess::Spawn("/bin/bash", argv, options);
  if (!child.ok()) return child.status();
  absl::StatusOr<ExitInfo> exit = (*child)->Wait(timeout);
  if (!exit.ok()) return exit.status();
  ScriptRun run;
  run.exit_code = exit->exited ? exit->code : -1;
  run.out = (*child)->Stdout();
  run.err = (*child)->Stderr();
  for (absl::string_view line : absl::StrSplit(run.out, '\n', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits('=', 1));
    run.vars[kv.first] = kv.second;
  }
  return run;
}

absl::StatusOr<std::string> JobStates(const SlurmCluster& cluster, const std::string& job) {
  absl::StatusOr<ClientResult> r = cluster.Client("squeue", {"-h", "-t", "all", "-j", job, "-o", "%T %r"});
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) return absl::UnavailableError(absl::StrCat("squeue: ", r->err));
  return std::string(absl::StripAsciiWhitespace(r->out));
}

std::string CohortSpecFromExample(const std::string& example_path, int patients, int days, int arms, bool narrow) {
  std::ifstream in(example_path);
  nlohmann::json spec = nlohmann::json::parse(in);
  spec["patients"] = patients;
  spec["days"] = days;
  spec["arms"].erase(spec["arms"].begin() + arms, spec["arms"].end());
  if (narrow) {
    spec["population"]["sbp_mmhg"] = {{"mean", 147}, {"sd", 2}};
    spec["population"]["dbp_mmhg"] = {{"mean", 90}, {"sd", 4}};
    spec["population"]["female_fraction"] = 0;
  }
  return spec.dump(2);
}

void WriteExecutable(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
  std::filesystem::permissions(path, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                         std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                         std::filesystem::perms::others_exec);
}

}  // namespace healthtwin::testing
