// Runs an external program to the end and returns its exit code and output: the Slurm client
// commands of the Slurm cohort engine. No shell: the arguments are passed as they are.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace healthtwin::simulation {

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal
  std::string out;
  std::string err;
};

// `program` is an absolute path or a name found on PATH. `env` entries ("NAME=value") are added
// to this process's environment. DEADLINE_EXCEEDED (after killing it) when it runs longer than
// `timeout`; INTERNAL when it cannot start.
absl::StatusOr<CommandResult> RunCommand(const std::string& program, const std::vector<std::string>& args,
                                         const std::vector<std::string>& env, std::chrono::milliseconds timeout);

}  // namespace healthtwin::simulation
