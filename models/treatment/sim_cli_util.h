// Helpers shared by the `healthtwin sim ...` commands (sim_commands.cc, sim_shard_commands.cc):
// reading input files, progress on stderr, and the cohort report (text, JSON, per-patient CSV).
#pragma once

#include <fstream>
#include <iosfwd>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "models/treatment/cohort.h"
#include "models/treatment/parallel.h"

namespace healthtwin::models::treatment::sim_cli {

// The file's bytes, or InvalidArgument "<flag>: cannot read '<path>'".
absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag);

// A one-line progress bar on a terminal, redrawn in place at most ten times a second, prefixed
// by `label` (may be empty). Empty when not enabled.
ProgressFn Bar(std::ostream& err, bool enabled, std::string label = "");
void EndBar(std::ostream& err, bool enabled);
// Progress as lines ("healthtwin: <label>: 40% simulating"), one per tenth and per stage, for
// stderr that is a log file (a batch job's shard).
ProgressFn ProgressLines(std::ostream& err, std::string label);

int ExitCode(const absl::Status& s);  // 2 for InvalidArgument, else 1
std::string Signed(double v, int digits = 1);
std::string Fixed(double v, int digits = 1);

// Opens `path` for the per-patient CSV (nothing when empty); false after printing the error.
bool OpenCsv(const std::string& path, std::ofstream& csv, std::ostream& err);
// Writes the CSV (when open) and prints the report: one JSON object, or the per-arm text table.
// Returns the exit code.
int WriteCohortReport(const CohortSpec& spec, const CohortResult& result, bool json, std::ofstream& csv,
                      const std::string& csv_path, std::ostream& out, std::ostream& err);

}  // namespace healthtwin::models::treatment::sim_cli
