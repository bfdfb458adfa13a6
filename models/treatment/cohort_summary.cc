// Per-arm summaries of a cohort's per-patient rows (cohort.h): shared by RunCohort and by the
// merge of shard parts, so a merged cohort is summarised by exactly the unsharded run's code.
#include <array>
#include <cmath>
#include <map>
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
  m.sd_change = rows.size() < 2 ? 0.0 : std::sqrt(ss / (n - 1));
  return m;
}

using Field = double PatientRow::*;

double Change(const PatientRow& r, Field base, Field end) { return r.*end - r.*base; }

// Paired: the same patients in both arms (every_arm), matched by patient index.
MeanDifference Paired(const std::vector<const PatientRow*>& arm, const std::vector<const PatientRow*>& control,
                      Field base, Field end) {
  std::map<int, double> control_change;
  for (const PatientRow* r : control) control_change[r->patient] = Change(*r, base, end);
  std::vector<double> d;
  for (const PatientRow* r : arm) {
    auto it = control_change.find(r->patient);
    if (it != control_change.end()) d.push_back(Change(*r, base, end) - it->second);
  }
  MeanDifference m;
  if (d.empty()) return m;
  const double n = static_cast<double>(d.size());
  double sum = 0, ss = 0;
  for (double x : d) sum += x;
  m.difference = sum / n;
  for (double x : d) ss += (x - m.difference) * (x - m.difference);
  const double half = d.size() < 2 ? 0.0 : T975(static_cast<int>(d.size()) - 1) * std::sqrt(ss / (n - 1) / n);
  m.ci95_low = m.difference - half;
  m.ci95_high = m.difference + half;
  return m;
}

// Independent groups (randomized): pooled SD, n1 + n2 - 2 df.
MeanDifference Independent(const MeanChange& arm, int n1, const MeanChange& control, int n2) {
  MeanDifference m;
  m.difference = arm.mean_change - control.mean_change;
  if (n1 < 2 || n2 < 2) {
    m.ci95_low = m.ci95_high = m.difference;
    return m;
  }
  const double pooled =
      ((n1 - 1) * arm.sd_change * arm.sd_change + (n2 - 1) * control.sd_change * control.sd_change) / (n1 + n2 - 2);
  const double half = T975(n1 + n2 - 2) * std::sqrt(pooled * (1.0 / n1 + 1.0 / n2));
  m.ci95_low = m.difference - half;
  m.ci95_high = m.difference + half;
  return m;
}

}  // namespace

std::vector<ArmSummary> SummariseCohort(const CohortSpec& spec, const std::vector<PatientRow>& rows) {
  const int n_arms = static_cast<int>(spec.arms.size());
  // Analysed patients per arm: all (LOCF), or those who attended the last visit (completers).
  std::vector<std::vector<const PatientRow*>> all(n_arms), analysed(n_arms);
  const bool completers = spec.trial.dropout && spec.trial.analysis == DropoutAnalysis::kCompleters;
  for (const PatientRow& r : rows) {
    if (r.arm < 0 || r.arm >= n_arms) continue;
    all[r.arm].push_back(&r);
    if (!completers || r.completed) analysed[r.arm].push_back(&r);
  }
  int control = -1;
  for (int a = 0; a < n_arms && control < 0; ++a) {
    if (spec.arms[a].treatments.empty()) control = a;
  }
  std::vector<ArmSummary> arms;
  for (int a = 0; a < n_arms; ++a) {
    const std::vector<const PatientRow*>& in_arm = all[a];
    ArmSummary s;
    s.name = spec.arms[a].name;
    s.n = static_cast<int>(in_arm.size());
    s.analysed = static_cast<int>(analysed[a].size());
    for (const PatientRow* r : in_arm) s.dropouts += r->completed ? 0 : 1;
    s.sbp_mmhg = Summarise(analysed[a], &PatientRow::office_baseline_sbp_mmhg, &PatientRow::office_end_sbp_mmhg);
    s.dbp_mmhg = Summarise(analysed[a], &PatientRow::office_baseline_dbp_mmhg, &PatientRow::office_end_dbp_mmhg);
    s.heart_rate_bpm = Summarise(analysed[a], &PatientRow::baseline_heart_rate_bpm, &PatientRow::end_heart_rate_bpm);
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
  if (control < 0) return arms;
  for (int a = 0; a < n_arms; ++a) {
    if (a == control) continue;
    PlaceboAdjusted& p = arms[a].placebo_adjusted;
    p.control_arm = control;
    if (spec.allocation == Allocation::kEveryArm) {
      p.sbp_mmhg = Paired(analysed[a], analysed[control], &PatientRow::office_baseline_sbp_mmhg,
                          &PatientRow::office_end_sbp_mmhg);
      p.dbp_mmhg = Paired(analysed[a], analysed[control], &PatientRow::office_baseline_dbp_mmhg,
                          &PatientRow::office_end_dbp_mmhg);
    } else {
      p.sbp_mmhg = Independent(arms[a].sbp_mmhg, arms[a].analysed, arms[control].sbp_mmhg, arms[control].analysed);
      p.dbp_mmhg = Independent(arms[a].dbp_mmhg, arms[a].analysed, arms[control].dbp_mmhg, arms[control].analysed);
    }
  }
  return arms;
}

}  // namespace healthtwin::models::treatment
