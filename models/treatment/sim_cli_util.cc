#include "models/treatment/sim_cli_util.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "models/treatment/treatment_json.h"

namespace healthtwin::models::treatment::sim_cli {
namespace {

std::string ChangeCell(const MeanChange& m) {
  return absl::StrCat(Fixed(m.baseline_mean), " -> ", Fixed(m.end_mean), "  ", Signed(m.mean_change), " [",
                      Signed(m.ci95_low), ", ", Signed(m.ci95_high), "]");
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read '", path, "'"));
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

ProgressFn Bar(std::ostream& err, bool enabled, std::string label) {
  if (!enabled) return {};
  if (!label.empty()) label += " ";
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [&err, last, label](double fraction, std::string_view stage) {
    const auto now = std::chrono::steady_clock::now();
    if (fraction < 1.0 && now - *last < std::chrono::milliseconds(100)) return true;
    *last = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    err << "\r" << label << "[" << std::string(filled, '#') << std::string(kWidth - filled, ' ') << "] " << std::setw(3)
        << static_cast<int>(fraction * 100.0) << "% " << stage << "\x1b[K" << std::flush;
    return true;
  };
}

void EndBar(std::ostream& err, bool enabled) {
  if (enabled) err << "\r\x1b[K" << std::flush;
}

ProgressFn ProgressLines(std::ostream& err, std::string label) {
  auto last = std::make_shared<std::pair<int, std::string>>(-1, "");
  return [&err, last, label = std::move(label)](double fraction, std::string_view stage) {
    const int tenth = static_cast<int>(fraction * 10.0);
    if (tenth == last->first && stage == last->second) return true;
    *last = {tenth, std::string(stage)};
    err << "healthtwin: " << label << ": " << tenth * 10 << "% " << stage << "\n" << std::flush;
    return true;
  };
}

int ExitCode(const absl::Status& s) { return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1; }

std::string Signed(double v, int digits) {
  if (std::abs(v) < 0.5 * std::pow(10.0, -digits)) v = 0.0;  // no "-0.0"
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.*f", digits, v);
  return buf;
}

std::string Fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

bool OpenCsv(const std::string& path, std::ofstream& csv, std::ostream& err) {
  if (path.empty()) return true;
  csv.open(path, std::ios::binary);
  if (!csv) {
    err << "healthtwin: --csv: cannot write '" << path << "'\n";
    return false;
  }
  return true;
}

int WriteCohortReport(const CohortSpec& spec, const CohortResult& result, bool json, std::ofstream& csv,
                      const std::string& csv_path, std::ostream& out, std::ostream& err) {
  if (csv.is_open()) {
    csv << PerPatientCsv(spec, result);
    if (!csv.flush()) {
      err << "healthtwin: --csv: writing '" << csv_path << "' failed\n";
      return 1;
    }
  }
  if (json) {
    out << CohortResultToJson(spec, result).dump() << "\n";
    return 0;
  }
  out << "cohort: " << spec.patients << " patients, " << spec.arms.size() << " arms, " << spec.days << " days, seed "
      << spec.seed << ", "
      << (spec.allocation == Allocation::kEveryArm ? "every patient in every arm" : "randomized to one arm")
      << "\nend of study = trough on day " << spec.days
      << " (just before the next dose); changes are means with 95 % CI\n";
  const TrialSpec& t = spec.trial;
  if (t.AnyOn()) {
    out << "trial: office BP " << (t.measurement_noise ? "with measurement noise" : "without noise") << ", "
        << (t.visit_schedule ? "visits every " + std::to_string(t.visit_interval_days) + " days"
                             : "one follow-up visit")
        << (t.screening ? ", screening SBP >= " + Fixed(t.screen_sbp_min_mmhg, 0) : "")
        << (t.placebo_response ? ", placebo response " + Signed(t.placebo_sbp_mmhg) + "/" + Signed(t.placebo_dbp_mmhg)
                               : ", no placebo response")
        << (t.dropout
                ? std::string(", dropout analysed ") + (t.analysis == DropoutAnalysis::kLocf ? "LOCF" : "as completers")
                : ", no dropout")
        << (t.adherence ? ", adherence " + Fixed(100.0 * t.adherence_mean, 0) + " % of doses, " +
                              Fixed(100.0 * t.stop_per_year, 0) + " % stop within a year"
                        : ", every dose taken")
        << (t.response_heterogeneity ? ", patient response factor (SD of log " + Fixed(t.response_log_sd, 2) + ")" : "")
        << "\n";
  }
  for (const ArmSummary& a : result.arms) {
    out << "\n"
        << a.name << " (n = " << a.n << ")"
        << (t.AnyOn() ? ": analysed " + std::to_string(a.analysed) + ", dropouts " + std::to_string(a.dropouts) : "")
        << "\n"
        << "  SBP mmHg  " << ChangeCell(a.sbp_mmhg) << ", SD " << Fixed(a.sbp_mmhg.sd_change) << "\n"
        << "  DBP mmHg  " << ChangeCell(a.dbp_mmhg) << ", SD " << Fixed(a.dbp_mmhg.sd_change) << "\n"
        << "  HR /min   " << ChangeCell(a.heart_rate_bpm) << "\n"
        << "  at target (<" << Fixed(spec.target.systolic_below_mmhg, 0) << "/<"
        << Fixed(spec.target.diastolic_below_mmhg, 0) << ") " << Fixed(100.0 * a.target_attainment_fraction)
        << " %; flags: hypotension " << a.hypotension_count << ", bradycardia " << a.bradycardia_count
        << ", volume loss " << a.volume_loss_count << "\n";
    const PlaceboAdjusted& p = a.placebo_adjusted;
    if (p.control_arm >= 0) {
      auto cell = [](const MeanDifference& d) {
        return Signed(d.difference) + " [" + Signed(d.ci95_low) + ", " + Signed(d.ci95_high) + "]";
      };
      out << "  vs " << spec.arms[static_cast<std::size_t>(p.control_arm)].name << ": SBP " << cell(p.sbp_mmhg)
          << ", DBP " << cell(p.dbp_mmhg) << " mmHg\n";
    }
  }
  return 0;
}

}  // namespace healthtwin::models::treatment::sim_cli
