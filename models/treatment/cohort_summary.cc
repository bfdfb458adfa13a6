// Per-arm summaries of a cohort's per-patient rows (cohort.h): shared by RunCohort and by the
// merge of shard parts, so a merged cohort is summarised by exactly the unsharded run's code.
#include <array>
#include <cmath>
#include <utility>

#include "models/treatment/cohort.h"  // IWYU pragma: associated

namespace healthtwin::models::treatment {
namespace {

// Student t 97.5 % quantile.
double T975(int df) {
  static constexpr std::array<double, 30> kTable = {
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
      2.120,  2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return 0.0;
  if (df <= 30) return kTable[static_cast<std::size_t>(df - 1)];
  // Cornish-Fisher expansion around the normal quantile.
  const double z = 1.959963984540054, n = df;
  return z + (z * z * z + z) / (4 * n) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * n * n);
}

MeanChange Summarise(const std::vector<const PatientRow*>& rows, double PatientRow::*base, double PatientRow::*end) {
  MeanChange m;
  const double n = static_cast<double>(rows.size());
  if (rows.empty()) return m;
  double sb = 0, se = 0;
  for (const PatientRow* r : rows) {
    sb += r->*base;
    se += r->*end;
  }
  m.baseline_mean = sb / n;
  m.end_mean = se / n;
  m.mean_change = m.end_mean - m.baseline_mean;
  double ss = 0;
  for (const PatientRow* r : rows) {
    const double dev = (r->*end - r->*base) - m.mean_change;
    ss += dev * dev;
  }
  const double half = rows.size() < 2 ? 0.0 : T975(static_cast<int>(rows.size()) - 1) * std::sqrt(ss / (n - 1) / n);
  m.ci95_low = m.mean_change - half;
  m.ci95_high = m.mean_change + half;
  return m;
}

}  // namespace

std::vector<ArmSummary> SummariseCohort(const CohortSpec& spec, const std::vector<PatientRow>& rows) {
  std::vector<ArmSummary> arms;
  for (int a = 0; a < static_cast<int>(spec.arms.size()); ++a) {
    std::vector<const PatientRow*> in_arm;
    for (const PatientRow& r : rows) {
      if (r.arm == a) in_arm.push_back(&r);
    }
    ArmSummary s;
    s.name = spec.arms[a].name;
    s.n = static_cast<int>(in_arm.size());
    s.sbp_mmhg = Summarise(in_arm, &PatientRow::baseline_sbp_mmhg, &PatientRow::end_sbp_mmhg);
    s.dbp_mmhg = Summarise(in_arm, &PatientRow::baseline_dbp_mmhg, &PatientRow::end_dbp_mmhg);
    s.heart_rate_bpm = Summarise(in_arm, &PatientRow::baseline_heart_rate_bpm, &PatientRow::end_heart_rate_bpm);
    int at_target = 0;
    for (const PatientRow* r : in_arm) {
      at_target += r->at_target;
      s.hypotension_count += r->hypotension;
      s.bradycardia_count += r->bradycardia;
      s.volume_loss_count += r->volume_loss;
    }
    s.target_attainment_fraction = in_arm.empty() ? 0.0 : at_target / static_cast<double>(in_arm.size());
    arms.push_back(std::move(s));
  }
  return arms;
}

}  // namespace healthtwin::models::treatment
