#include "models/calibration/identifiability.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <Eigen/Dense>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/calibration/prior.h"
#include "models/steady_state_map.h"

namespace healthtwin::models::calibration {
namespace {

// Single-reading measurement SD used to scale the observables: cuff SBP/DBP ~5/4 mmHg
// (validation protocols allow +-5 mmHg mean error with SD 8: AAMI/ESH/ISO 81060-2:2018), HR
// from a wearable optical sensor at rest ~3 bpm.
constexpr double kScaleHrBpm = 3.0;
constexpr double kScaleSbpMmhg = 5.0;
constexpr double kScaleDbpMmhg = 4.0;

// Central-difference steps: small against the prior SD, large against the engine's averaging
// noise (8 s of beats).
double Step(Param p) { return p == Param::kSetPointOffset ? 2.0 : 0.04; }

absl::StatusOr<Eigen::Vector3d> Observe(const ModelParams& nominal, Param which, double value) {
  ModelParams p = nominal;
  double volume_ml = nominal.circulation.total_blood_volume_ml;
  double set_point = nominal.baroreflex.set_point_mmhg;
  EffectorModifiers m;
  switch (which) {
    case Param::kLogResistance: m.systemic_resistance_factor = std::exp(value); break;
    case Param::kLogContractility: m.contractility_factor = std::exp(value); break;
    case Param::kLogHeartRate: m.heart_rate_factor = std::exp(value); break;
    case Param::kLogBloodVolume: volume_ml *= std::exp(value); break;
    case Param::kSetPointOffset: set_point += value; break;
    case Param::kLogArterialCompliance: p.circulation.c_sa_ml_per_mmhg *= std::exp(value); break;
  }
  absl::StatusOr<Haemodynamics> h = EngineSteadyState(p, volume_ml, set_point, m);
  if (!h.ok()) return h.status();
  return Eigen::Vector3d(h->heart_rate_bpm, h->sbp_mmhg, h->dbp_mmhg);
}

double CollinearityIndex(const Eigen::MatrixXd& s_normalised_cols) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(s_normalised_cols.transpose() * s_normalised_cols);
  const double lmin = std::max(es.eigenvalues().minCoeff(), 1e-300);
  return 1.0 / std::sqrt(lmin);
}

}  // namespace

absl::StatusOr<IdentifiabilityResult> AnalyseIdentifiability(const ModelParams& nominal, const PriorInputs& prior_inputs) {
  IdentifiabilityResult r;
  r.params.assign(kAllCandidateParams.begin(), kAllCandidateParams.end());
  r.observables = {Vital::kHeartRate, Vital::kSystolic, Vital::kDiastolic};
  const PopulationPrior prior = PriorFor(prior_inputs);
  const Eigen::Vector3d scale(kScaleHrBpm, kScaleSbpMmhg, kScaleDbpMmhg);
  absl::StatusOr<Eigen::Vector3d> y0 = Observe(nominal, Param::kLogResistance, 0.0);
  if (!y0.ok()) return y0.status();
  r.nominal_values = {(*y0)(0), (*y0)(1), (*y0)(2)};
  const int np = kNumCandidateParams;
  Eigen::MatrixXd s(3, np);
  for (int j = 0; j < np; ++j) {
    const Param p = kAllCandidateParams[j];
    absl::StatusOr<Eigen::Vector3d> up = Observe(nominal, p, Step(p));
    absl::StatusOr<Eigen::Vector3d> down = Observe(nominal, p, -Step(p));
    if (!up.ok()) return up.status();
    if (!down.ok()) return down.status();
    const Eigen::Vector3d dy = (*up - *down) / (2.0 * Step(p));
    s.col(j) = dy.cwiseQuotient(scale) * prior.of(p).sd;
  }
  r.sensitivity.assign(3, std::vector<double>(np));
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < np; ++j) r.sensitivity[i][j] = s(i, j);
  }
  for (int j = 0; j < np; ++j) r.importance.push_back(std::sqrt(s.col(j).squaredNorm() / 3.0));
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(s);
  for (int k = 0; k < svd.singularValues().size(); ++k) r.singular_values.push_back(svd.singularValues()(k));
  r.condition_number = r.singular_values.front() / r.singular_values.back();

  Eigen::MatrixXd sn = s;
  for (int j = 0; j < np; ++j) sn.col(j) /= s.col(j).norm();
  for (unsigned mask = 1; mask < (1u << np); ++mask) {
    const int k = __builtin_popcount(mask);
    if (k < 2 || k > 4) continue;
    std::vector<int> cols;
    for (int j = 0; j < np; ++j) {
      if (mask & (1u << j)) cols.push_back(j);
    }
    Eigen::MatrixXd sub(3, k), subn(3, k);
    SubsetIdentifiability si;
    for (int c = 0; c < k; ++c) {
      sub.col(c) = s.col(cols[c]);
      subn.col(c) = sn.col(cols[c]);
      si.params.push_back(kAllCandidateParams[cols[c]]);
    }
    si.collinearity_index = k > 3 ? std::numeric_limits<double>::infinity() : CollinearityIndex(subn);
    const double det = (sub.transpose() * sub).determinant();
    si.determinant_measure = det > 0.0 ? std::pow(det, 1.0 / (2.0 * k)) : 0.0;
    r.subsets.push_back(si);
  }
  std::stable_sort(r.subsets.begin(), r.subsets.end(), [](const auto& a, const auto& b) {
    return a.collinearity_index < b.collinearity_index;
  });
  // The chosen set: among identifiable triples (gamma < 10, Brun's threshold is 10-15), the
  // one with the most information (largest determinant measure).
  const SubsetIdentifiability* best = nullptr;
  for (const SubsetIdentifiability& si : r.subsets) {
    if (si.params.size() != 3 || si.collinearity_index >= 10.0) continue;
    if (best == nullptr || si.determinant_measure > best->determinant_measure) best = &si;
  }
  if (best == nullptr) return absl::FailedPreconditionError("no identifiable parameter triple (all gamma >= 10)");
  r.chosen = best->params;
  // Posterior correlation of the chosen set, prior (unit variance in these scaled coordinates)
  // plus one reading of each observable.
  const int k = static_cast<int>(r.chosen.size());
  Eigen::MatrixXd sub(3, k);
  for (int c = 0; c < k; ++c) sub.col(c) = s.col(static_cast<int>(r.chosen[c]));
  const Eigen::MatrixXd cov = (sub.transpose() * sub + Eigen::MatrixXd::Identity(k, k)).inverse();
  for (int a = 0; a < k; ++a) {
    for (int b = 0; b < k; ++b) r.chosen_correlation.push_back(cov(a, b) / std::sqrt(cov(a, a) * cov(b, b)));
  }
  return r;
}

std::string RenderIdentifiabilityMarkdown(const IdentifiabilityResult& r) {
  std::string md = "| Observable (nominal) |";
  for (Param p : r.params) absl::StrAppend(&md, " `", std::string(ParamName(p)), "` |");
  absl::StrAppend(&md, "\n|---|");
  for (std::size_t j = 0; j < r.params.size(); ++j) absl::StrAppend(&md, "---:|");
  absl::StrAppend(&md, "\n");
  for (std::size_t i = 0; i < r.observables.size(); ++i) {
    absl::StrAppend(&md, "| ", std::string(VitalName(r.observables[i])), " (",
                    absl::StrFormat("%.1f", r.nominal_values[i]), " ", std::string(VitalUnit(r.observables[i])), ") |");
    for (double v : r.sensitivity[i]) absl::StrAppend(&md, absl::StrFormat(" %.2f |", v));
    absl::StrAppend(&md, "\n");
  }
  absl::StrAppend(&md, "| importance δ |");
  for (double v : r.importance) absl::StrAppend(&md, absl::StrFormat(" %.2f |", v));
  absl::StrAppend(&md, "\n\nSingular values of S:");
  for (double v : r.singular_values) absl::StrAppend(&md, absl::StrFormat(" %.3g", v));
  absl::StrAppend(&md, absl::StrFormat(" (rank 3 at most from three level observables; condition number of the "
                                       "first three %.1f).\n\n",
                                       r.condition_number));
  absl::StrAppend(&md, "| Subset | collinearity index γ | determinant ρ |\n|---|---:|---:|\n");
  for (const SubsetIdentifiability& si : r.subsets) {
    if (si.params.size() > 3) continue;
    std::string names;
    for (Param p : si.params) absl::StrAppend(&names, names.empty() ? "" : ", ", std::string(ParamName(p)));
    absl::StrAppend(&md, "| ", names, " | ", absl::StrFormat("%.1f", si.collinearity_index), " | ",
                    absl::StrFormat("%.2f", si.determinant_measure), " |\n");
  }
  absl::StrAppend(&md, "\nEvery subset of four or more is unidentifiable (rank ≤ 3). Chosen: ");
  for (std::size_t c = 0; c < r.chosen.size(); ++c) absl::StrAppend(&md, c ? ", " : "", "`", std::string(ParamName(r.chosen[c])), "`");
  absl::StrAppend(&md, "; posterior correlations after one reading of each observable:");
  const std::size_t k = r.chosen.size();
  for (std::size_t a = 0; a < k; ++a) {
    for (std::size_t b = a + 1; b < k; ++b) {
      absl::StrAppend(&md, absl::StrFormat(" %s/%s %.2f;", std::string(ParamName(r.chosen[a])), std::string(ParamName(r.chosen[b])),
                                           r.chosen_correlation[a * k + b]));
    }
  }
  absl::StrAppend(&md, "\n");
  return md;
}

}  // namespace healthtwin::models::calibration
