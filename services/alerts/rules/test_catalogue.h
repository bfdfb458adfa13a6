// A catalogue for tests and harnesses whose heart-rate episodes must fit in seconds or minutes
// of wall clock (the evaluator's integration test, the chaos run, the alert latency bench):
// the shipped deploy/config/alert_rules.toml with only hr_high's min_duration_s and
// clear_duration_s replaced. Production loads the shipped file unchanged.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::alerts::rules {

// The text of `shipped_path` with hr_high's delays replaced; NotFound when the file cannot be
// read, FailedPrecondition when its hr_high lines are not the shipped ones.
inline absl::StatusOr<std::string> ShortHrHighToml(const std::string& shipped_path, int min_duration_s,
                                                   int clear_duration_s) {
  std::ifstream f(shipped_path);
  if (!f) return absl::NotFoundError(shipped_path + ": cannot be read");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string toml = ss.str();
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"min_duration_s = 600           # [Bonafide]",
                                            absl::StrCat("min_duration_s = ", min_duration_s, "  # test: [Bonafide]")},
        std::pair<std::string, std::string>{"clear_duration_s = 300         # ... held 5 min",
                                            absl::StrCat("clear_duration_s = ", clear_duration_s, "  # test")}}) {
    const auto at = toml.find(from);  // the first: hr_high is the catalogue's first rule
    if (at == std::string::npos) return absl::FailedPreconditionError(shipped_path + ": no '" + from + "'");
    toml.replace(at, from.size(), to);
  }
  return toml;
}

}  // namespace healthtwin::alerts::rules
