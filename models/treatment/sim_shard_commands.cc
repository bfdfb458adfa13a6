// `healthtwin sim cohort --shard I/N --out part-I.json` and `healthtwin sim merge PART...`
// (sim_commands.h); the part file and the merge are in cohort_part.h.
#include <filesystem>
#include <fstream>
#include <ostream>
#include <system_error>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "models/treatment/cohort_part.h"
#include "models/treatment/sim_cli_util.h"
#include "models/treatment/sim_commands.h"
#include "models/treatment/treatment_json.h"

namespace healthtwin::models::treatment {
namespace {

absl::StatusOr<CohortShard> ParseShard(const std::string& text) {
  const std::vector<std::string> parts = absl::StrSplit(text, '/');
  CohortShard s;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &s.index) || !absl::SimpleAtoi(parts[1], &s.count)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shard: expected I/N (shard I of N, 0 <= I < N), got '", text, "'"));
  }
  return s;
}

}  // namespace

absl::StatusOr<CohortSpec> SimCommands::ReadSpec(std::ostream& err) const {
  absl::StatusOr<std::string> text = sim_cli::ReadFile(spec_path_, "--spec");
  if (!text.ok()) {
    err << "healthtwin: " << text.status().message() << "\n";
    return text.status();
  }
  absl::StatusOr<CohortSpec> spec = ParseCohortSpec(*text);
  if (!spec.ok()) err << "healthtwin: --spec " << spec_path_ << ": " << spec.status().message() << "\n";
  return spec;
}

int SimCommands::RunShard(std::ostream& out, std::ostream& err, bool progress_bar) const {
  absl::StatusOr<CohortSpec> spec = ReadSpec(err);
  if (!spec.ok()) return 2;
  absl::StatusOr<CohortShard> shard = ParseShard(shard_);
  absl::Status valid = shard.ok() ? ValidateCohortShard(*spec, *shard) : shard.status();
  if (!valid.ok()) {
    err << "healthtwin: " << valid.message() << "\n";
    return 2;
  }
  // Written beside --out and renamed at the end, so a failed shard leaves no part to merge.
  const std::string partial = out_path_ + ".partial";
  std::ofstream file(partial, std::ios::binary);
  if (!file) {
    err << "healthtwin: --out: cannot write '" << out_path_ << "'\n";
    return 2;
  }
  const std::string label = absl::StrCat("shard ", shard->index, "/", shard->count);
  absl::StatusOr<CohortShardResult> r =
      RunCohortShard(*spec, *shard,
                     {.threads = threads_,
                      .progress = progress_bar ? sim_cli::Bar(err, true, label) : sim_cli::ProgressLines(err, label)});
  sim_cli::EndBar(err, progress_bar);
  std::error_code ec;
  if (!r.ok()) {
    file.close();
    std::filesystem::remove(partial, ec);
    err << "healthtwin: cohort " << label << ": " << r.status().message() << "\n";
    return sim_cli::ExitCode(r.status());
  }
  file << CohortPartText(*spec, *r);
  file.close();
  if (!file || (std::filesystem::rename(partial, out_path_, ec), ec)) {
    err << "healthtwin: --out: writing '" << out_path_ << "' failed\n";
    return 1;
  }
  out << label << ": patients " << r->range.begin << ".." << r->range.end - 1 << " of " << spec->patients << ", "
      << r->rows.size() << " rows -> " << out_path_ << "\n";
  return 0;
}

int SimCommands::RunMerge(std::ostream& out, std::ostream& err) const {
  std::vector<NamedPart> parts;
  for (const std::string& path : part_paths_) {
    absl::StatusOr<std::string> text = sim_cli::ReadFile(path, "merge");
    if (!text.ok()) {
      err << "healthtwin: " << text.status().message() << "\n";
      return 2;
    }
    parts.push_back({path, *std::move(text)});
  }
  std::ofstream csv;
  if (!sim_cli::OpenCsv(csv_path_, csv, err)) return 2;
  absl::StatusOr<MergedCohort> m = MergeCohortParts(parts);
  if (!m.ok()) {
    err << "healthtwin: merge: " << m.status().message() << "\n";
    return sim_cli::ExitCode(m.status());
  }
  return sim_cli::WriteCohortReport(m->spec, m->result, json_, csv, csv_path_, out, err);
}

}  // namespace healthtwin::models::treatment
